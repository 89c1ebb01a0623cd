//! The tenants as operators run them from the console: creating one (its first admin invited), changing its
//! plan (its limits apply at once), suspending and resuming it (its sign-ins, sessions and tokens end at once),
//! and the platform audit log that records each of those.

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::api::{PlatformAuditAction, PlatformAuditPage, TenantList, TenantSummary};
use shared::{ErrorCode, Plan, TenantStatus};
use uuid::Uuid;

use crate::console::{Console, OPS, error_body, invite_operator, sign_in_operator};
use crate::helpers::{ALICE, BOB, CAROL, TestApp, error_code};

/// An operator signed in to the console.
pub(crate) async fn console(app: &TestApp) -> Console {
    let credentials = invite_operator(app, OPS).await;
    sign_in_operator(app, &credentials, "").await.0
}

async fn tenant_id(app: &TestApp, slug: &str) -> String {
    app.db.tenant_id(slug).await.0.to_string()
}

/// The JSON body of a successful answer (the answer's status and text otherwise).
pub(crate) async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    assert!(
        response.status().is_success(),
        "{}: {}",
        response.status(),
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

async fn audit(console: &Console) -> PlatformAuditPage {
    json(console.send(Method::GET, "/operator/api/v1/audit").await).await
}

#[tokio::test]
async fn an_operator_creates_a_tenant_and_its_first_admin_is_invited() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    app.sign_in(&ALICE).await;

    let created = console
        .send_json(
            Method::POST,
            "/operator/api/v1/tenants",
            Some(json!({
                "name": " Initech ",
                "slug": "initech",
                "plan": "basic",
                "admin_email": "Peter@Initech.example",
            })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let initech: TenantSummary = created.json().await.unwrap();
    assert_eq!(
        (
            initech.name.as_str(),
            initech.slug.as_str(),
            initech.plan,
            initech.status
        ),
        ("Initech", "initech", Plan::Basic, TenantStatus::Active)
    );
    assert_eq!(initech.active_members, 0);
    assert_eq!(
        (
            initech.sign_in.identity_providers,
            initech.sign_in.verified_domains
        ),
        (0, 0),
        "nobody can sign in yet: its sign-in is set up next"
    );

    // The first admin's invitation, by the platform's operators (no member invited them).
    let invitations: Vec<(String, String, Option<Uuid>)> = sqlx::query_as(
        "SELECT email, role, invited_by FROM invitations WHERE tenant_id = $1::uuid",
    )
    .bind(&initech.id)
    .fetch_all(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(
        invitations,
        vec![("peter@initech.example".to_owned(), "admin".to_owned(), None)]
    );

    let all: TenantList = json(console.send(Method::GET, "/operator/api/v1/tenants").await).await;
    let slugs: Vec<&str> = all.items.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["acme", "globex", "initech"], "by name");
    let acme = &all.items[0];
    assert_eq!(acme.active_members, 1, "Alice joined at her sign-in");
    assert_eq!(acme.sign_in.identity_providers, 1);
    let found: TenantList = json(
        console
            .send(Method::GET, "/operator/api/v1/tenants?q=INIT")
            .await,
    )
    .await;
    assert_eq!(found.items, vec![initech.clone()]);
    let one: TenantSummary = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/tenants/{}", initech.id),
            )
            .await,
    )
    .await;
    assert_eq!(one, initech);

    let page = audit(&console).await;
    let newest = &page.items[0];
    assert_eq!(newest.action, PlatformAuditAction::TenantCreated);
    assert_eq!(newest.operator.email.as_deref(), Some(OPS));
    assert_eq!(
        newest.tenant.as_ref().map(|t| t.slug.as_str()),
        Some("initech")
    );
    assert_eq!(newest.details["admin_email"], "peter@initech.example");
    assert!(
        page.items
            .iter()
            .any(|event| event.action == PlatformAuditAction::OperatorSignedIn),
        "the operator's sign-in is in the log too"
    );
}

#[tokio::test]
async fn a_new_tenant_needs_a_free_slug_a_name_and_a_valid_admin_email() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let create = |body: serde_json::Value| {
        let console = &console;
        async move {
            console
                .send_json(Method::POST, "/operator/api/v1/tenants", Some(body))
                .await
        }
    };
    let taken = create(
        json!({"name": "Acme 2", "slug": "acme", "plan": "pro", "admin_email": "a@b.example"}),
    )
    .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(error_body(taken).await.code, ErrorCode::Conflict);
    for (body, field) in [
        (
            json!({"name": "X", "slug": "Bad Slug", "plan": "pro", "admin_email": "a@b.example"}),
            "slug",
        ),
        (
            json!({"name": "  ", "slug": "blank", "plan": "pro", "admin_email": "a@b.example"}),
            "name",
        ),
        (
            json!({"name": "X", "slug": "mail", "plan": "pro", "admin_email": "not-an-address"}),
            "admin_email",
        ),
    ] {
        let refused = create(body).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        assert!(
            error_body(refused).await.message.starts_with(field),
            "{field}"
        );
    }
    let unknown_plan =
        create(json!({"name": "X", "slug": "gold", "plan": "gold", "admin_email": "a@b.example"}))
            .await;
    assert!(unknown_plan.status().is_client_error());
    assert_eq!(
        error_body(unknown_plan).await.code,
        ErrorCode::InvalidRequest
    );

    let tenants: TenantList =
        json(console.send(Method::GET, "/operator/api/v1/tenants").await).await;
    assert_eq!(tenants.items.len(), 2, "nothing was created");
    let unknown = format!("/operator/api/v1/tenants/{}", Uuid::new_v4());
    assert_eq!(
        console.send(Method::GET, &unknown).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        console
            .send(Method::POST, &format!("{unknown}/suspend"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_plan_change_applies_at_the_tenants_next_request() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let alice = app.sign_in(&ALICE).await;
    let acme = tenant_id(&app, "acme").await;
    let export = "/api/v1/reports/export.csv";
    assert_eq!(
        alice.send(Method::GET, export, None).await.status(),
        StatusCode::OK
    );

    let plan = format!("/operator/api/v1/tenants/{acme}/plan");
    let changed: TenantSummary = json(
        console
            .send_json(Method::PUT, &plan, Some(json!({"plan": "basic"})))
            .await,
    )
    .await;
    assert_eq!(changed.plan, Plan::Basic);
    let refused = alice.send(Method::GET, export, None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error_body(refused).await.code,
        ErrorCode::PlanFeatureUnavailable
    );

    json::<TenantSummary>(
        console
            .send_json(Method::PUT, &plan, Some(json!({"plan": "pro"})))
            .await,
    )
    .await;
    assert_eq!(
        alice.send(Method::GET, export, None).await.status(),
        StatusCode::OK
    );
    let log = audit(&console).await;
    let changes: Vec<(&str, &str)> = log
        .items
        .iter()
        .filter(|event| event.action == PlatformAuditAction::TenantPlanChanged)
        .map(|event| {
            (
                event.details["from"].as_str().unwrap(),
                event.details["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [("basic", "pro"), ("pro", "basic")],
        "newest first"
    );
}

#[tokio::test]
async fn suspending_a_tenant_ends_its_sign_ins_at_once_and_refuses_new_ones_until_it_is_resumed() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let alice = app.sign_in(&ALICE).await;
    let bob_token = app.pool_tokens(&BOB).await.access_token;
    let carol = app.sign_in(&CAROL).await;
    let acme = tenant_id(&app, "acme").await;

    let suspended: TenantSummary = json(
        console
            .send(
                Method::POST,
                &format!("/operator/api/v1/tenants/{acme}/suspend"),
            )
            .await,
    )
    .await;
    assert_eq!(suspended.status, TenantStatus::Suspended);
    assert!(suspended.status_changed_at.is_some());

    // Alice's browser session is gone; Bob's token is refused by the live check, upload credentials too.
    assert_eq!(alice.me_response().await.status(), StatusCode::UNAUTHORIZED);
    let bearer = app.get_with_bearer("/api/v1/me", &bob_token).await;
    assert_eq!(bearer.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_body(bearer).await.code, ErrorCode::TenantSuspended);
    let credentials = reqwest::Client::new()
        .post(app.url("/api/v1/storage/credentials"))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap();
    assert_eq!(credentials.status(), StatusCode::FORBIDDEN);
    // Another tenant is untouched.
    assert_eq!(carol.me_response().await.status(), StatusCode::OK);
    // A new sign-in is refused with a page that says why.
    let landing = app.sign_in_landing(&ALICE).await;
    assert_eq!(error_code(&landing).as_deref(), Some("tenant_suspended"));
    // Suspending again changes nothing.
    let again = console
        .send(
            Method::POST,
            &format!("/operator/api/v1/tenants/{acme}/suspend"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    let resumed: TenantSummary = json(
        console
            .send(
                Method::POST,
                &format!("/operator/api/v1/tenants/{acme}/resume"),
            )
            .await,
    )
    .await;
    assert_eq!(resumed.status, TenantStatus::Active);
    // The cut-off refuses sign-ins of the suspension's very second too (tokens carry whole seconds): a new
    // sign-in starts in the next one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let alice = app.sign_in(&ALICE).await;
    assert_eq!(alice.me().await.user.email, ALICE.email);
    // Sign-ins from before the suspension stay ended.
    let old = app.get_with_bearer("/api/v1/me", &bob_token).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    let actions: Vec<PlatformAuditAction> = audit(&console)
        .await
        .items
        .iter()
        .map(|event| event.action)
        .filter(|action| *action != PlatformAuditAction::OperatorSignedIn)
        .collect();
    assert_eq!(
        actions,
        [
            PlatformAuditAction::TenantResumed,
            PlatformAuditAction::TenantSuspended
        ],
        "one entry per change, newest first"
    );
}

#[tokio::test]
async fn the_platform_audit_log_is_append_only_and_paged() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let acme = tenant_id(&app, "acme").await;
    for plan in ["basic", "pro", "basic"] {
        json::<TenantSummary>(
            console
                .send_json(
                    Method::PUT,
                    &format!("/operator/api/v1/tenants/{acme}/plan"),
                    Some(json!({ "plan": plan })),
                )
                .await,
        )
        .await;
    }
    let first: PlatformAuditPage = json(
        console
            .send(Method::GET, "/operator/api/v1/audit?limit=2")
            .await,
    )
    .await;
    assert_eq!(first.items.len(), 2);
    let cursor = first.next_cursor.clone().expect("another page");
    let second: PlatformAuditPage = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/audit?limit=2&cursor={cursor}"),
            )
            .await,
    )
    .await;
    assert_eq!(
        second.items.len(),
        2,
        "two plan changes and the sign-in remain"
    );
    assert!(
        second
            .items
            .iter()
            .all(|event| !first.items.contains(event))
    );

    // Not even the application's role can change or remove an entry.
    let app_pool = app.backend_state().db.clone();
    for statement in [
        "UPDATE platform_audit_events SET operator_email = 'someone@else.example'",
        "DELETE FROM platform_audit_events",
    ] {
        let refused = sqlx::query(statement).execute(&app_pool).await;
        assert!(refused.is_err(), "{statement}");
    }
}

/// Globex with something in every kind of place: two members who signed in, a report, a recorded file, an
/// upload not recorded yet, an invitation, a revoked sign-in and audit entries. Returns Carol's session.
async fn globex_with_data(app: &TestApp) -> crate::helpers::SignedIn {
    let carol = app.sign_in(&CAROL).await;
    app.sign_in(&crate::helpers::DAVE).await;
    let report = carol
        .send(
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": "Globex numbers", "body": "Confidential."})),
        )
        .await;
    assert_eq!(report.status(), StatusCode::CREATED);
    crate::files::upload_and_record(&carol, "globex-figures.pdf", b"%PDF globex").await;
    crate::files::upload(&carol, "not-recorded-yet.txt", b"pending").await;
    let invited = carol
        .send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"email": "newcomer@globex.example", "role": "member"})),
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CREATED);
    let signed_out = app.sign_in(&CAROL).await;
    signed_out.send(Method::POST, "/auth/logout", None).await;
    carol
}

/// Every row in any table of the database whose text mentions `needle` (an id, a provider name), by table;
/// read as the database's superuser, which row-level security does not restrict.
async fn rows_mentioning(app: &TestApp, needle: &str) -> Vec<(String, i64)> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables \
         WHERE table_type = 'BASE TABLE' AND table_schema IN ('public', 'tower_sessions') \
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&app.db.owner)
    .await
    .unwrap();
    assert!(tables.len() >= 12, "the scan sees the tables: {tables:?}");
    let mut found = Vec::new();
    for (schema, table) in tables {
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{schema}\".\"{table}\" AS t WHERE t::text LIKE '%' || $1 || '%'"
        ))
        .bind(needle)
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
        if count > 0 {
            found.push((table, count));
        }
    }
    found
}

/// Every key in both buckets.
async fn all_keys(app: &TestApp) -> Vec<String> {
    let storage = &app.backend_state().storage;
    let mut keys = Vec::new();
    for bucket in [
        backend::storage::Bucket::Uploads,
        backend::storage::Bucket::Files,
    ] {
        keys.extend(
            storage
                .list(bucket, "")
                .await
                .unwrap()
                .into_iter()
                .map(|object| object.key),
        );
    }
    keys
}

/// The identity providers the user pool has.
async fn pool_providers(app: &TestApp) -> Vec<String> {
    app.cognito()
        .list_identity_providers()
        .user_pool_id(app.aws.user_pool_id())
        .send()
        .await
        .unwrap()
        .providers()
        .iter()
        .filter_map(|provider| provider.provider_name().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_deleted_tenant_leaves_nothing_behind_after_its_export() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let alice = app.sign_in(&ALICE).await;
    let carol = globex_with_data(&app).await;
    let globex = tenant_id(&app, "globex").await;
    assert!(!rows_mentioning(&app, &globex).await.is_empty());
    assert!(
        all_keys(&app)
            .await
            .iter()
            .any(|key| key.starts_with(&globex))
    );
    assert!(
        pool_providers(&app)
            .await
            .contains(&"globex-okta".to_owned())
    );

    // The export: every row of the tenant, and its objects.
    let export = console
        .send(
            Method::GET,
            &format!("/operator/api/v1/tenants/{globex}/export"),
        )
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(
        export.headers()["content-disposition"],
        "attachment; filename=\"globex-export.json\""
    );
    let document: serde_json::Value = export.json().await.unwrap();
    assert_eq!(document["format"], "saas-reference tenant export v1");
    let tables = &document["tables"];
    assert_eq!(tables["tenants"][0]["slug"], "globex");
    let emails: Vec<&str> = tables["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&CAROL.email), "{emails:?}");
    assert_eq!(tables["reports"][0]["title"], "Globex numbers");
    assert_eq!(tables["invitations"].as_array().unwrap().len(), 1);
    assert!(!tables["audit_events"].as_array().unwrap().is_empty());
    assert_eq!(tables["revoked_sign_ins"].as_array().unwrap().len(), 1);
    assert_eq!(
        document["objects"]["files"]["objects"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        document["objects"]["uploads"]["objects"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "recording moved the recorded file's upload; the other waits"
    );
    assert!(
        document.to_string().find("\"tenant_id\":\"").is_some()
            && !document
                .to_string()
                .contains(&tenant_id(&app, "acme").await),
        "nothing of another tenant"
    );

    // A confirmation that is not the slug changes nothing.
    let wrong = console
        .send_json(
            Method::DELETE,
            &format!("/operator/api/v1/tenants/{globex}"),
            Some(json!({"confirm": "acme"})),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(carol.me_response().await.status(), StatusCode::OK);

    let deleted = console
        .send_json(
            Method::DELETE,
            &format!("/operator/api/v1/tenants/{globex}"),
            Some(json!({"confirm": "globex"})),
        )
        .await;
    let report: shared::api::TenantDeleted = json(deleted).await;
    assert_eq!(report.rows["tenants"], 1);
    assert_eq!(report.rows["members"], 2);
    assert_eq!((report.files_removed, report.uploads_removed), (1, 1));
    assert!(report.identity_providers_removed);

    // Nothing of it remains: no row anywhere mentions it (but the platform log, the operators' record of what
    // they did), no object, no identity provider, no session.
    assert_eq!(
        rows_mentioning(&app, &globex).await,
        [("platform_audit_events".to_owned(), 3)],
        "export, deletion started, deleted"
    );
    assert!(rows_mentioning(&app, "globex-okta").await.is_empty());
    assert!(!all_keys(&app).await.iter().any(|key| key.contains(&globex)));
    assert!(
        !pool_providers(&app)
            .await
            .contains(&"globex-okta".to_owned())
    );
    assert_eq!(carol.me_response().await.status(), StatusCode::UNAUTHORIZED);
    let landing = app.sign_in_landing(&CAROL).await;
    assert!(
        error_code(&landing).is_some(),
        "Carol cannot sign in: {landing}"
    );

    // Acme is untouched; the deleted tenant is gone for the console too.
    assert_eq!(alice.me().await.tenant.slug, "acme");
    assert_eq!(alice.me_response().await.status(), StatusCode::OK);
    let again = console
        .send_json(
            Method::DELETE,
            &format!("/operator/api/v1/tenants/{globex}"),
            Some(json!({"confirm": "globex"})),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let tenants: TenantList =
        json(console.send(Method::GET, "/operator/api/v1/tenants").await).await;
    assert_eq!(tenants.items.len(), 1);
}

#[tokio::test]
async fn a_deletion_cut_short_is_finished_by_running_it_again() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    globex_with_data(&app).await;
    let globex = tenant_id(&app, "globex").await;
    // The backend stopped right after the first step: the tenant is marked, nothing is removed yet.
    sqlx::query("UPDATE tenants SET status = 'deleting' WHERE id = $1::uuid")
        .bind(&globex)
        .execute(&app.db.owner)
        .await
        .unwrap();
    let summary: TenantSummary = json(
        console
            .send(Method::GET, &format!("/operator/api/v1/tenants/{globex}"))
            .await,
    )
    .await;
    assert_eq!(summary.status, TenantStatus::Deleting);
    // Meanwhile it is refused like a suspended tenant, and cannot be resumed.
    let landing = app.sign_in_landing(&CAROL).await;
    assert_eq!(error_code(&landing).as_deref(), Some("tenant_suspended"));
    let resume = console
        .send(
            Method::POST,
            &format!("/operator/api/v1/tenants/{globex}/resume"),
        )
        .await;
    assert_eq!(resume.status(), StatusCode::CONFLICT);

    let finished: shared::api::TenantDeleted = json(
        console
            .send_json(
                Method::DELETE,
                &format!("/operator/api/v1/tenants/{globex}"),
                Some(json!({"confirm": "globex"})),
            )
            .await,
    )
    .await;
    assert_eq!(finished.rows["tenants"], 1);
    assert_eq!(
        rows_mentioning(&app, &globex).await,
        [("platform_audit_events".to_owned(), 1)],
        "only the log's entry of the deletion that finished"
    );
    assert!(!all_keys(&app).await.iter().any(|key| key.contains(&globex)));
}
