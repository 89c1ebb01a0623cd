//! `/api/v1/reports`: the reports of a tenant, who may do what with them, tenant isolation, validation, the
//! `basic` plan's limit, and row-level security on the `reports` table.

use backend::db::{self, MemberId, TenantId};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shared::api::{Report, ReportPage};
use shared::{ErrorBody, ErrorCode};
use testkit::{TestDatabase, fresh_database};
use uuid::Uuid;

use crate::helpers::{ALICE, BOB, CAROL, ERIN, SignedIn, TestApp};

/// Sends a request as a signed-in browser of the app's own origin (state-changing requests need it).
async fn send(user: &SignedIn, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = user
        .browser
        .request(method, format!("{}{path}", user.address))
        .header("origin", &user.address);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Creates a report, which must succeed.
async fn create(user: &SignedIn, title: &str, body: &str) -> Report {
    let response = send(
        user,
        Method::POST,
        "/api/v1/reports",
        Some(json!({"title": title, "body": body})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED, "creating {title:?}");
    response.json().await.unwrap()
}

/// Reads a report, which must exist.
async fn read(user: &SignedIn, id: &str) -> Report {
    let response = send(user, Method::GET, &format!("/api/v1/reports/{id}"), None).await;
    assert_eq!(response.status(), StatusCode::OK, "reading {id}");
    response.json().await.unwrap()
}

/// The status and error body of a failed request.
async fn error_of(response: Response) -> (StatusCode, ErrorBody) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn members_create_read_and_edit_their_own_reports_and_admins_edit_and_delete_any() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let alice_me = alice.me().await;
    let bob_me = bob.me().await;

    let response = send(
        &alice,
        Method::POST,
        "/api/v1/reports",
        Some(json!({"title": "  Q3 numbers ", "body": "Up and to the right."})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let alices: Report = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/reports/{}", alices.id));
    assert_eq!(alices.title, "Q3 numbers", "the title is stored trimmed");
    assert_eq!(alices.body, "Up and to the right.");
    assert_eq!(
        (alices.author.id.as_str(), alices.author.name.as_str()),
        (alice_me.user.id.as_str(), alice_me.user.name.as_str())
    );
    assert_eq!(alices.created_at, alices.updated_at);
    assert!(
        time::OffsetDateTime::parse(
            &alices.created_at,
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert_eq!(read(&alice, &alices.id).await, alices);

    let bobs = create(&bob, "Bob's notes", "").await;
    assert_eq!(bobs.author.id, bob_me.user.id);
    assert_eq!(
        read(&alice, &bobs.id).await,
        bobs,
        "the tenant's reports are shared"
    );

    // The author edits their own report; absent fields keep their value.
    let response = send(
        &bob,
        Method::PATCH,
        &format!("/api/v1/reports/{}", bobs.id),
        Some(json!({"body": "Revised."})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let revised: Report = response.json().await.unwrap();
    assert_eq!(
        (revised.title.as_str(), revised.body.as_str()),
        ("Bob's notes", "Revised.")
    );
    assert!(revised.updated_at > bobs.updated_at);
    assert_eq!(revised.created_at, bobs.created_at);

    // A member may not edit another member's report.
    let response = send(
        &bob,
        Method::PATCH,
        &format!("/api/v1/reports/{}", alices.id),
        Some(json!({"title": "Mine now"})),
    )
    .await;
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::FORBIDDEN, ErrorCode::NotPermitted)
    );
    assert_eq!(read(&alice, &alices.id).await, alices);

    // An admin may edit anyone's report.
    let response = send(
        &alice,
        Method::PATCH,
        &format!("/api/v1/reports/{}", bobs.id),
        Some(json!({"title": "Bob's notes (reviewed)"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let reviewed: Report = response.json().await.unwrap();
    assert_eq!(reviewed.title, "Bob's notes (reviewed)");
    assert_eq!(
        reviewed.author.id, bob_me.user.id,
        "editing keeps the author"
    );

    // Only admins delete.
    let response = send(
        &bob,
        Method::DELETE,
        &format!("/api/v1/reports/{}", bobs.id),
        None,
    )
    .await;
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::FORBIDDEN, ErrorCode::InsufficientScope)
    );
    let response = send(
        &alice,
        Method::DELETE,
        &format!("/api/v1/reports/{}", bobs.id),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = send(
        &alice,
        Method::GET,
        &format!("/api/v1/reports/{}", bobs.id),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = send(
        &alice,
        Method::DELETE,
        &format!("/api/v1/reports/{}", bobs.id),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "deleting twice");

    let response = send(&alice, Method::GET, "/api/v1/reports", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: ReportPage = response.json().await.unwrap();
    assert_eq!(page.items, vec![alices]);
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn viewers_read_reports_but_cannot_create_edit_or_delete_them() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let erin = app.sign_in(&ERIN).await;
    let report = create(&alice, "For everyone", "").await;

    assert_eq!(read(&erin, &report.id).await, report);
    let response = send(&erin, Method::GET, "/api/v1/reports", None).await;
    assert_eq!(response.status(), StatusCode::OK);

    let path = format!("/api/v1/reports/{}", report.id);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": "Mine", "body": ""})),
        ),
        (Method::PATCH, path.as_str(), Some(json!({"title": "Mine"}))),
        (Method::DELETE, path.as_str(), None),
    ] {
        let response = send(&erin, method.clone(), path, body).await;
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code),
            (StatusCode::FORBIDDEN, ErrorCode::InsufficientScope),
            "{method} {path}"
        );
    }
    assert_eq!(read(&alice, &report.id).await, report);
}

#[tokio::test]
async fn the_listing_pages_newest_first_with_an_opaque_cursor() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(create(&alice, &format!("Report {n}"), "").await);
    }
    let newest_first: Vec<String> = created.iter().rev().map(|r| r.id.clone()).collect();

    let mut seen = Vec::new();
    let mut path = "/api/v1/reports?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = send(&alice, Method::GET, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page: ReportPage = response.json().await.unwrap();
        assert!(page.items.len() <= 2);
        pages += 1;
        seen.extend(page.items.into_iter().map(|r| r.id));
        match page.next_cursor {
            Some(cursor) => path = format!("/api/v1/reports?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
    assert_eq!(pages, 3);

    let response = send(&alice, Method::GET, "/api/v1/reports", None).await;
    let page: ReportPage = response.json().await.unwrap();
    assert_eq!(
        page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        newest_first,
        "the default page holds them all"
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("cursor=%21%21", "cursor"),
    ] {
        let response = send(
            &alice,
            Method::GET,
            &format!("/api/v1/reports?{query}"),
            None,
        )
        .await;
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code),
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest),
            "{query}"
        );
        assert!(error.message.contains(field), "{query}: {}", error.message);
    }
}

#[tokio::test]
async fn another_tenants_report_answers_exactly_like_a_missing_one_and_stays_unchanged() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let carol = app.sign_in(&CAROL).await;
    let acme_report = create(&alice, "Acme secrets", "Do not share.").await;
    let other_tenant = format!("/api/v1/reports/{}", acme_report.id);
    let missing = format!("/api/v1/reports/{}", Uuid::new_v4());

    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"title": "Pwned"}))),
        (Method::DELETE, None),
    ] {
        let response = send(&carol, method.clone(), &other_tenant, body.clone()).await;
        let status = response.status();
        let other_body = response.bytes().await.unwrap();
        let response = send(&carol, method.clone(), &missing, body.clone()).await;
        let missing_status = response.status();
        let missing_body = response.bytes().await.unwrap();
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} another tenant's report"
        );
        assert_eq!(
            missing_status,
            StatusCode::NOT_FOUND,
            "{method} a random id"
        );
        assert_eq!(other_body, missing_body, "{method}: identical bodies");
        let error: ErrorBody = serde_json::from_slice(&other_body).unwrap();
        assert_eq!(error.code, ErrorCode::NotFound);

        let response = send(&carol, method.clone(), "/api/v1/reports/not-a-uuid", body).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{method} a malformed id"
        );
        assert_eq!(response.bytes().await.unwrap(), missing_body);
    }

    let response = send(&carol, Method::GET, "/api/v1/reports", None).await;
    let page: ReportPage = response.json().await.unwrap();
    assert!(page.items.is_empty(), "Globex lists none of Acme's reports");
    assert_eq!(
        read(&alice, &acme_report.id).await,
        acme_report,
        "unchanged"
    );
}

#[tokio::test]
async fn invalid_fields_answer_422_naming_the_field_and_oversized_bodies_413() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let report = create(&alice, "Valid", "").await;
    let path = format!("/api/v1/reports/{}", report.id);

    let long_title = "t".repeat(201);
    let long_body = "b".repeat(20_001);
    let cases = [
        (
            Method::POST,
            "/api/v1/reports",
            json!({"title": "", "body": ""}),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/reports",
            json!({"title": "   ", "body": ""}),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/reports",
            json!({"title": long_title, "body": ""}),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/reports",
            json!({"title": "Ok", "body": long_body}),
            "body",
        ),
        (
            Method::POST,
            "/api/v1/reports",
            json!({"body": "no title"}),
            "title",
        ),
        (Method::PATCH, path.as_str(), json!({"title": ""}), "title"),
        (
            Method::PATCH,
            path.as_str(),
            json!({"body": long_body}),
            "body",
        ),
    ];
    for (method, path, body, field) in cases {
        let response = send(&alice, method.clone(), path, Some(body)).await;
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code),
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest),
            "{method} {path} ({field})"
        );
        assert!(error.message.contains(field), "{field}: {}", error.message);
    }

    let huge = "x".repeat(backend::api::API_BODY_LIMIT + 1);
    let response = send(
        &alice,
        Method::POST,
        "/api/v1/reports",
        Some(json!({"title": "Huge", "body": huge})),
    )
    .await;
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.code),
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
    );

    assert_eq!(read(&alice, &report.id).await, report);
    let response = send(&alice, Method::GET, "/api/v1/reports", None).await;
    let page: ReportPage = response.json().await.unwrap();
    assert_eq!(page.items.len(), 1, "nothing invalid was stored");
}

#[tokio::test]
async fn a_basic_plan_tenant_holds_at_most_ten_reports() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    assert_eq!(carol.me().await.tenant.plan, shared::Plan::Basic);
    for n in 0..10 {
        create(&carol, &format!("Report {n}"), "").await;
    }
    let response = send(
        &carol,
        Method::POST,
        "/api/v1/reports",
        Some(json!({"title": "Eleventh", "body": ""})),
    )
    .await;
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.code),
        (StatusCode::FORBIDDEN, ErrorCode::PlanLimitReached)
    );

    // Deleting one makes room again.
    let response = send(&carol, Method::GET, "/api/v1/reports?limit=1", None).await;
    let page: ReportPage = response.json().await.unwrap();
    let response = send(
        &carol,
        Method::DELETE,
        &format!("/api/v1/reports/{}", page.items[0].id),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    create(&carol, "Replacement", "").await;
}

#[tokio::test]
async fn concurrent_creates_never_exceed_the_basic_plan_limit() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    let globex = app.db.tenant_id("globex").await;
    let mut attempts = tokio::task::JoinSet::new();
    for n in 0..20 {
        let browser = carol.browser.clone();
        let address = carol.address.clone();
        attempts.spawn(async move {
            let response = browser
                .post(format!("{address}/api/v1/reports"))
                .header("origin", &address)
                .json(&json!({"title": format!("Race {n}"), "body": ""}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let mut created = 0;
    while let Some(outcome) = attempts.join_next().await {
        let (status, body) = outcome.unwrap();
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("plan_limit_reached")),
                "{body}"
            );
        }
    }
    assert_eq!(created, 10);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE tenant_id = $1")
        .bind(globex.0)
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(stored, 10);
}

/// Inserts, as the owner, a member and one report of `tenant`.
async fn seed_report(db: &TestDatabase, tenant: TenantId, provider: &str, title: &str) -> Uuid {
    let member = MemberId(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO members (id, tenant_id, provider, subject, name, role) \
         VALUES ($1, $2, $3, $4, 'Seeded', 'member')",
    )
    .bind(member.0)
    .bind(tenant.0)
    .bind(provider)
    .bind(format!("subject-{}", member.0))
    .execute(&db.owner)
    .await
    .unwrap();
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO reports (id, tenant_id, author_id, title) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(tenant.0)
        .bind(member.0)
        .bind(title)
        .execute(&db.owner)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn row_level_security_hides_other_tenants_reports_and_refuses_queries_without_a_tenant() {
    let db = fresh_database().await;
    db.seed_demo_world().await;
    let acme = db.tenant_id("acme").await;
    let globex = db.tenant_id("globex").await;
    let acme_report = seed_report(&db, acme, "acme-entra", "Acme's").await;
    seed_report(&db, globex, "globex-okta", "Globex's").await;

    let mut tx = db::tenant_tx(&db.app, acme).await.unwrap();
    // Deliberately no tenant filter: row-level security alone must hide Globex.
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as("SELECT id, tenant_id FROM reports")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert_eq!(rows, vec![(acme_report, acme.0)]);
    // Writing a report into Globex from Acme's transaction fails the WITH CHECK policy.
    let error = sqlx::query("UPDATE reports SET tenant_id = $1 WHERE id = $2")
        .bind(globex.0)
        .bind(acme_report)
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();

    let error = sqlx::query("SELECT * FROM reports")
        .fetch_all(&db.app)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("app.tenant_id"),
        "without a tenant the query fails: {error}"
    );
}

#[tokio::test]
async fn the_csv_export_quotes_every_field_and_neutralises_formulas_after_separators_and_line_breaks()
 {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let body = "Costs - Q3, down -5%\n=1+1\r\n+1;@SUM(1+1)*cmd|' /C calc'!A0\tx,-2+3+cmd|' /C calc'!E2\n\
                \t=cmd|' /C calc'!A0\n\r@x";
    let report = create(&alice, "a;=1+1", body).await;

    let response = send(&alice, Method::GET, "/api/v1/reports/export.csv", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.unwrap();
    assert!(
        csv.starts_with("\"id\",\"title\",\"body\",\"author\",\"created_at\",\"updated_at\"\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("\n\"{}\",\"a;'=1+1\",\"", report.id)),
        "every field of the row is quoted: {csv}"
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "a;'=1+1");
    assert_eq!(
        &rows[0][2],
        "Costs - Q3, down -5%\n'=1+1\r\n'+1;'@SUM(1+1)*cmd|' /C calc'!A0\tx,'-2+3+cmd|' /C calc'!E2\n\
         '\t'=cmd|' /C calc'!A0\n'\r'@x",
        "ordinary text stays as written; every formula start that could begin a cell is quoted"
    );
    // However a spreadsheet splits the cells (another delimiter, line breaks), no piece starts a formula.
    for cell in rows[0].iter() {
        for piece in cell.split([';', ',', '\t', '\r', '\n']) {
            assert!(
                !piece
                    .trim_start_matches(' ')
                    .starts_with(['=', '+', '-', '@']),
                "{piece:?} of {cell:?}"
            );
        }
    }
}
