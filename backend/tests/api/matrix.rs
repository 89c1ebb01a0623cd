//! Matrices over the API's own route list (`backend::api::v1(state).routes()`), so that a new route cannot
//! escape them: who may call what (viewer, member, admin × every route), what a member of another tenant gets
//! (404 for every id of ours, only their own data elsewhere, our data unchanged afterwards), and the body
//! size limit on every route that takes a body.

use std::collections::BTreeSet;

use backend::api;
use backend::auth::RouteSpec;
use backend::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api::{MemberPage, Report, SessionList};
use shared::{ErrorBody, ErrorCode, Role, Scope};
use uuid::Uuid;

use crate::files::{upload, upload_and_record};
use crate::helpers::{ALICE, BOB, CAROL, DemoUser, ERIN, SignedIn, TestApp};

/// Every route (method, path relative to `/api/v1`), the least role that may call it, and the status it
/// answers on success. The tests check this table against the router's own list in both directions.
const EXPECTED: [(&str, &str, Role, u16); 38] = [
    ("GET", "/me", Role::Viewer, 200),
    ("GET", "/dashboard", Role::Viewer, 200),
    ("GET", "/reports", Role::Viewer, 200),
    ("POST", "/reports", Role::Member, 201),
    ("GET", "/reports/export.csv", Role::Viewer, 200),
    ("GET", "/reports/{id}", Role::Viewer, 200),
    ("PATCH", "/reports/{id}", Role::Member, 200),
    ("DELETE", "/reports/{id}", Role::Admin, 204),
    ("GET", "/members", Role::Admin, 200),
    ("PATCH", "/members/{id}", Role::Admin, 200),
    ("GET", "/members/{id}/sessions", Role::Admin, 200),
    ("DELETE", "/members/{id}/sessions", Role::Admin, 200),
    (
        "DELETE",
        "/members/{id}/sessions/{session_id}",
        Role::Admin,
        204,
    ),
    ("GET", "/me/sessions", Role::Viewer, 200),
    ("DELETE", "/me/sessions", Role::Viewer, 200),
    ("DELETE", "/me/sessions/{id}", Role::Viewer, 204),
    ("GET", "/invitations", Role::Admin, 200),
    ("POST", "/invitations", Role::Admin, 201),
    ("DELETE", "/invitations/{id}", Role::Admin, 204),
    ("GET", "/tenant/settings", Role::Admin, 200),
    ("PUT", "/tenant/settings", Role::Admin, 200),
    ("GET", "/tenant/sso/setup-links", Role::Admin, 200),
    ("POST", "/tenant/sso/setup-links", Role::Admin, 201),
    (
        "POST",
        "/tenant/sso/setup-links/{id}/revoke",
        Role::Admin,
        200,
    ),
    ("GET", "/tenant/sso/domains", Role::Admin, 200),
    ("POST", "/tenant/sso/domains", Role::Admin, 201),
    (
        "POST",
        "/tenant/sso/domains/{domain}/verify",
        Role::Admin,
        200,
    ),
    ("DELETE", "/tenant/sso/domains/{domain}", Role::Admin, 204),
    ("GET", "/tenant/sso/provider", Role::Admin, 200),
    ("POST", "/tenant/sso/provider/secret", Role::Admin, 204),
    ("GET", "/audit", Role::Admin, 200),
    ("GET", "/audit/export", Role::Admin, 200),
    ("POST", "/storage/credentials", Role::Member, 200),
    ("GET", "/files", Role::Viewer, 200),
    ("POST", "/files", Role::Member, 201),
    ("GET", "/files/{id}/download", Role::Viewer, 303),
    ("GET", "/files/{id}/link", Role::Viewer, 200),
    ("DELETE", "/files/{id}", Role::Member, 204),
];

/// The API's routes, as the router lists them, except that "sign out everywhere" (`DELETE /me/sessions`)
/// comes last: it ends the caller's session, and with it the caller's part of a test.
async fn routes(app: &TestApp) -> Vec<RouteSpec> {
    let state = AppState::new(app.config.clone()).await.unwrap();
    let mut routes = api::v1(state).routes().to_vec();
    routes.sort_by_key(|route| route.method == Method::DELETE && route.path == "/me/sessions");
    routes
}

fn expected(route: &RouteSpec) -> (Role, StatusCode) {
    let (_, _, role, status) = EXPECTED
        .iter()
        .find(|(method, path, _, _)| *method == route.method.as_str() && *path == route.path)
        .unwrap_or_else(|| {
            panic!(
                "{} {} is not in the matrix: add it to EXPECTED",
                route.method, route.path
            )
        });
    (*role, StatusCode::from_u16(*status).unwrap())
}

/// The ids of Acme's things that requests name, some made fresh for requests that consume them.
struct Acme {
    bob_report: String,
    bob_member: String,
    bob_file: String,
    /// A sub-domain Acme claimed and whose proof is published, so that verifying it succeeds every time.
    proven_domain: String,
}

impl Acme {
    async fn prepare(app: &TestApp, alice: &SignedIn, bob: &SignedIn) -> Acme {
        let bob_report = create_report(bob, "Bob's quarterly report").await;
        let page: MemberPage = alice.get_json("/api/v1/members?limit=100").await;
        let bob_member = page
            .items
            .iter()
            .find(|m| m.email == BOB.email)
            .unwrap()
            .id
            .clone();
        let bob_file = upload_and_record(bob, "Bob's figures.pdf", b"%PDF")
            .await
            .id;
        let proven_domain = claim_domain(alice).await;
        let claimed: Value = alice.get_json("/api/v1/tenant/sso/domains").await;
        let record = claimed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|domain| domain["domain"] == proven_domain.as_str())
            .unwrap();
        app.aws
            .dns()
            .set_txt(
                record["record_name"].as_str().unwrap(),
                vec![record["record_value"].as_str().unwrap().to_owned()],
            )
            .await
            .unwrap();
        Acme {
            bob_report,
            bob_member,
            bob_file,
            proven_domain,
        }
    }

    /// The concrete path of `route` against Acme's data; a `DELETE` gets something fresh to delete (a file
    /// of `caller`'s own when `caller` may upload, since members delete only their own files; a session
    /// signed in just for it).
    async fn path(
        &self,
        app: &TestApp,
        route: &RouteSpec,
        alice: &SignedIn,
        caller: &SignedIn,
    ) -> String {
        let domain = match (route.method.as_str(), route.path.as_str()) {
            ("DELETE", "/tenant/sso/domains/{domain}") => Some(claim_domain(alice).await),
            (_, path) if path.contains("{domain}") => Some(self.proven_domain.clone()),
            _ => None,
        };
        if let Some(domain) = domain {
            return format!("/api/v1{}", route.path.replace("{domain}", &domain));
        }
        let id = match (route.method.as_str(), route.path.as_str()) {
            (_, path) if !path.contains("{id}") => return format!("/api/v1{path}"),
            ("POST", "/tenant/sso/setup-links/{id}/revoke") => {
                let created: Value = alice
                    .send(
                        Method::POST,
                        "/api/v1/tenant/sso/setup-links",
                        Some(json!({})),
                    )
                    .await
                    .json()
                    .await
                    .unwrap();
                created["link"]["id"].as_str().unwrap().to_owned()
            }
            ("DELETE", "/members/{id}/sessions/{session_id}") => {
                let session = fresh_session(app, &BOB).await;
                let path = route
                    .path
                    .replace("{id}", &self.bob_member)
                    .replace("{session_id}", &session);
                return format!("/api/v1{path}");
            }
            ("DELETE", "/me/sessions/{id}") => {
                let email = caller.me().await.user.email;
                let user = [&ALICE, &BOB, &ERIN, &CAROL]
                    .into_iter()
                    .find(|user| user.email == email)
                    .unwrap();
                fresh_session(app, user).await
            }
            (_, "/members/{id}/sessions") => self.bob_member.clone(),
            ("DELETE", "/reports/{id}") => create_report(alice, "To be deleted").await,
            ("DELETE", "/files/{id}") => {
                let owner = if may_upload(caller).await {
                    caller
                } else {
                    alice
                };
                upload_and_record(owner, "to-delete.pdf", b"x").await.id
            }
            (_, "/files/{id}/download" | "/files/{id}/link") => self.bob_file.clone(),
            (_, "/reports/{id}") => self.bob_report.clone(),
            (_, "/members/{id}") => self.bob_member.clone(),
            ("DELETE", "/invitations/{id}") => create_invitation(alice).await,
            (method, path) => panic!("no Acme id for {method} {path}: extend Acme::path"),
        };
        format!("/api/v1{}", route.path.replace("{id}", &id))
    }
}

/// The id of a browser session of `user` signed in just now.
async fn fresh_session(app: &TestApp, user: &DemoUser) -> String {
    let fresh = app.sign_in(user).await;
    let list: SessionList = fresh.get_json("/api/v1/me/sessions").await;
    list.sessions
        .into_iter()
        .find(|session| session.current)
        .unwrap()
        .id
}

/// Whether `user` gets upload credentials (members and admins).
async fn may_upload(user: &SignedIn) -> bool {
    user.send(Method::POST, "/api/v1/storage/credentials", None)
        .await
        .status()
        == StatusCode::OK
}

/// A valid body for `route` as `caller` sends it (one that succeeds for a caller allowed to call it), if it
/// takes one.
async fn body(route: &RouteSpec, caller: &SignedIn) -> Option<Value> {
    match (route.method.as_str(), route.path.as_str()) {
        ("GET" | "DELETE", _)
        | (
            "POST",
            "/storage/credentials"
            | "/tenant/sso/setup-links/{id}/revoke"
            | "/tenant/sso/domains/{domain}/verify",
        ) => None,
        ("POST", "/files") => {
            // A fresh object of the caller's own; a caller who may not upload sends any key (refused by scope).
            let key = if may_upload(caller).await {
                upload(caller, "matrix.pdf", b"m").await
            } else {
                "not/yours/uploads/x.pdf".to_owned()
            };
            Some(json!({ "key": key }))
        }
        ("POST", "/reports") => Some(json!({"title": "From the matrix", "body": ""})),
        ("PATCH", "/reports/{id}") => Some(json!({"body": "Edited by the matrix."})),
        ("PATCH", "/members/{id}") => Some(json!({"status": "active"})),
        ("POST", "/invitations") => Some(json!({
            // An address in the caller's own organisation's verified domain (the one of their own email).
            "email": format!("matrix-{}@{}", Uuid::new_v4().simple(), own_domain(caller).await),
            "role": "viewer"
        })),
        ("PUT", "/tenant/settings") => Some(json!({"just_in_time": true, "group_mappings": []})),
        ("POST", "/tenant/sso/setup-links") => Some(json!({})),
        // The demo providers' own secrets (the mock IdPs accept nothing else), handed over again.
        ("POST", "/tenant/sso/provider/secret") => Some(json!({
            "client_secret": match own_domain(caller).await.as_str() {
                "acme.example" => "local-demo-acme-entra-secret",
                "initech.example" => "local-demo-initech-okta-secret",
                _ => "local-demo-globex-okta-secret",
            }
        })),
        ("POST", "/tenant/sso/domains") => Some(json!({
            // A fresh sub-domain of the caller's own organisation's domain.
            "domain": format!("m-{}.{}", Uuid::new_v4().simple(), own_domain(caller).await)
        })),
        (method, path) => panic!("no body for {method} {path}: extend matrix::body"),
    }
}

/// Claims a fresh sub-domain of `admin`'s organisation's domain and answers it.
async fn claim_domain(admin: &SignedIn) -> String {
    let domain = format!("d-{}.{}", Uuid::new_v4().simple(), own_domain(admin).await);
    let response = admin
        .send(
            Method::POST,
            "/api/v1/tenant/sso/domains",
            Some(json!({ "domain": domain })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    domain
}

async fn create_report(user: &SignedIn, title: &str) -> String {
    let response = user
        .send(
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": title, "body": "Numbers."})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Report>().await.unwrap().id
}

/// The domain of the signed-in user's own email, which their organisation has verified.
async fn own_domain(user: &SignedIn) -> String {
    let email = user.me().await.user.email;
    email.rsplit_once('@').unwrap().1.to_owned()
}

async fn create_invitation(admin: &SignedIn) -> String {
    let response = admin
        .send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({
                "email": format!("fresh-{}@{}", Uuid::new_v4().simple(), own_domain(admin).await),
                "role": "member"
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let invitation: Value = response.json().await.unwrap();
    invitation["id"].as_str().unwrap().to_owned()
}

/// Everything the database holds for `slug`'s tenant, as the owner reads it.
async fn snapshot(app: &TestApp, slug: &str) -> String {
    let mut out = String::new();
    for (table, column) in [
        ("tenants", "id"),
        ("tenant_identity_providers", "tenant_id"),
        ("members", "tenant_id"),
        ("reports", "tenant_id"),
        ("invitations", "tenant_id"),
        ("audit_events", "tenant_id"),
        ("files", "tenant_id"),
        ("member_sessions", "tenant_id"),
        ("tenant_domains", "tenant_id"),
        ("sso_setup_links", "tenant_id"),
    ] {
        let rows: Option<String> = sqlx::query_scalar(&format!(
            "SELECT json_agg(t ORDER BY t::text)::text FROM {table} t \
             WHERE t.{column} = (SELECT id FROM tenants WHERE slug = $1)"
        ))
        .bind(slug)
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
        out.push_str(&format!("{table}: {}\n", rows.unwrap_or_default()));
    }
    out
}

#[tokio::test]
async fn the_matrix_lists_exactly_the_routers_routes_with_the_scope_each_role_needs() {
    let app = TestApp::spawn().await;
    let routes = routes(&app).await;
    let listed: BTreeSet<(String, String)> = routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    let in_matrix: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(listed, in_matrix, "the matrix and the router agree");
    assert_eq!(listed.len(), routes.len(), "no route is added twice");
    for route in &routes {
        let (least, _) = expected(route);
        let scope = match least {
            Role::Viewer => Scope::Read,
            Role::Member => Scope::Write,
            Role::Admin => Scope::Admin,
        };
        assert_eq!(route.scope, scope, "{} {}", route.method, route.path);
    }
}

#[tokio::test]
async fn each_role_may_call_exactly_the_routes_its_scopes_allow() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let erin = app.sign_in(&ERIN).await;
    let acme = Acme::prepare(&app, &alice, &bob).await;
    let routes = routes(&app).await;

    for (user, role) in [
        (&erin, Role::Viewer),
        (&bob, Role::Member),
        (&alice, Role::Admin),
    ] {
        for route in &routes {
            let (least, success) = expected(route);
            let path = acme.path(&app, route, &alice, user).await;
            let response = user
                .send(route.method.clone(), &path, body(route, user).await)
                .await;
            let status = response.status();
            let text = response.text().await.unwrap();
            if role >= least {
                assert_eq!(status, success, "{role} {} {path}: {text}", route.method);
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} {} {path}: {text}",
                    route.method
                );
                let error: ErrorBody = serde_json::from_str(&text).unwrap();
                assert_eq!(error.code, ErrorCode::InsufficientScope, "{role} {path}");
            }
        }
    }
}

#[tokio::test]
async fn another_tenants_admin_gets_404_for_every_id_of_ours_sees_only_their_own_data_and_changes_nothing()
 {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    another_tenants_admin_sees_nothing_of_acme(&app, &carol).await;
}

/// The same for Initech, a tenant whose sign-in its IT admin set up through the self-serve wizard: its admin
/// (Peter, through Initech's own Okta org) gets nothing of Acme's either.
#[tokio::test]
async fn a_tenant_set_up_through_the_wizard_gets_404_for_every_id_of_ours_and_changes_nothing() {
    let app = TestApp::spawn().await;
    crate::sso::set_up_initech(&app).await;
    let peter = app.sign_in(&crate::helpers::PETER).await;
    assert_eq!(peter.me().await.tenant.slug, "initech");
    another_tenants_admin_sees_nothing_of_acme(&app, &peter).await;
}

/// `other`, an admin of a basic-plan tenant other than Acme, calls every route with Acme's ids: 404 for every id
/// of Acme's, their own data elsewhere, no Acme secret in any answer, Acme's data unchanged.
async fn another_tenants_admin_sees_nothing_of_acme(app: &TestApp, other: &SignedIn) {
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let acme = Acme::prepare(app, &alice, &bob).await;
    let routes = routes(app).await;

    // Every DELETE target is made before the snapshot, so that the snapshot covers them.
    let mut paths = Vec::new();
    for route in &routes {
        paths.push(acme.path(app, route, &alice, &alice).await);
    }
    let acme_id: String = sqlx::query_scalar("SELECT id::text FROM tenants WHERE slug = 'acme'")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    let secrets = [
        acme_id.as_str(),
        acme.bob_report.as_str(),
        acme.bob_member.as_str(),
        acme.bob_file.as_str(),
        "Bob's quarterly report",
        "Bob's figures.pdf",
        ALICE.email,
        BOB.email,
        "acme-entra",
    ];
    let before = snapshot(app, "acme").await;

    for (route, path) in routes.iter().zip(&paths) {
        let response = other
            .send(route.method.clone(), path, body(route, other).await)
            .await;
        let status = response.status();
        let text = response.text().await.unwrap();
        if route.path.contains("{id}") || route.path.contains("{domain}") {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{} {path}: {text}",
                route.method
            );
            // Exactly the answer for an id that names nothing at all.
            let unknown = route
                .path
                .replace("{id}", &Uuid::new_v4().to_string())
                .replace(
                    "{domain}",
                    &format!("nothing-{}.example", Uuid::new_v4().simple()),
                );
            let control = other
                .send(
                    route.method.clone(),
                    &format!("/api/v1{unknown}"),
                    body(route, other).await,
                )
                .await;
            assert_eq!(control.status(), StatusCode::NOT_FOUND);
            assert_eq!(
                control.text().await.unwrap(),
                text,
                "{} {path}",
                route.method
            );
        } else if route.path == "/reports/export.csv" {
            // Globex is on the basic plan.
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {text}");
        } else {
            let (_, success) = expected(route);
            assert_eq!(status, success, "{} {path}: {text}", route.method);
        }
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{} {path} leaks {secret:?}: {text}",
                route.method
            );
        }
    }
    assert_eq!(
        snapshot(app, "acme").await,
        before,
        "Acme's data is unchanged"
    );
}

#[tokio::test]
async fn every_route_that_takes_a_body_refuses_an_oversized_one_with_413() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let acme = Acme::prepare(&app, &alice, &bob).await;
    let oversized = json!({"title": "x", "body": "x".repeat(api::API_BODY_LIMIT + 1)});
    for route in routes(&app).await {
        if body(&route, &alice).await.is_none() {
            continue;
        }
        let path = acme.path(&app, &route, &alice, &alice).await;
        let response = alice
            .send(route.method.clone(), &path, Some(oversized.clone()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{} {path}",
            route.method
        );
        let error: ErrorBody = response.json().await.unwrap();
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
    }
}

#[tokio::test]
async fn the_openapi_document_is_served_without_sign_in_and_documents_every_route_with_its_scope() {
    let app = TestApp::spawn().await;
    let response = reqwest::get(app.url("/api/openapi.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    for route in routes(&app).await {
        let operation =
            &doc["paths"][format!("/api/v1{}", route.path)][route.method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} is documented",
            route.method,
            route.path
        );
        assert_eq!(
            operation["security"][0]["bearer"][0],
            format!("saas-api/{}", route.scope.as_str()),
            "{} {}",
            route.method,
            route.path
        );
    }
}
