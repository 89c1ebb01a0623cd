//! Self-serve SSO set-up: set-up links (one-time, expiring, revocable, one open per tenant), the wizard's
//! session, and email domains proven by a DNS TXT record, including the attempts to take another tenant's
//! domain.

use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use shared::ErrorCode;
use shared::api::{
    AuditPage, CreatedSetupLink, Domain, DomainStatus, DomainVerification, PlatformAuditAction,
    PlatformAuditPage, SetupLinkList, SetupLinkState, SetupSession,
};

use crate::console::{Console, error_body};
use crate::helpers::{ALICE, BOB, CAROL, PASSWORD, PETER, SAMIR, SignedIn, TestApp, location};
use crate::tenant_lifecycle::{console, json};

mod races;
mod refusals;

/// Creates Initech (no sign-in set up yet) and answers its id.
async fn create_initech(console: &Console) -> String {
    let created: serde_json::Value = json(
        console
            .send_json(
                Method::POST,
                "/operator/api/v1/tenants",
                Some(json!({
                    "name": "Initech", "slug": "initech", "plan": "basic",
                    "admin_email": "peter@initech.example",
                })),
            )
            .await,
    )
    .await;
    created["id"].as_str().unwrap().to_owned()
}

async fn create_link(console: &Console, tenant: &str) -> CreatedSetupLink {
    let response = console
        .send_json(
            Method::POST,
            &format!("/operator/api/v1/tenants/{tenant}/setup-links"),
            Some(json!({})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The IT admin's browser: no account, a cookie jar, requests sent as the wizard's page sends them.
struct Wizard {
    browser: Client,
    address: String,
}

impl Wizard {
    fn new(app: &TestApp) -> Wizard {
        let jar = Arc::new(Jar::default());
        let browser = Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Wizard {
            browser,
            address: app.address.clone(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .browser
            .request(method, format!("{}{path}", self.address))
            .header("origin", &self.address);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Sends as [`Wizard::send`] does and reads the answer, which must be a success.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> T {
        json(self.send(method, path, body).await).await
    }

    /// Opens the link at `url` as the wizard's page does: the token after `#` posted to the API.
    async fn open(&self, url: &str) -> reqwest::Response {
        let token = url.split_once('#').unwrap().1;
        self.send(
            Method::POST,
            "/setup/api/v1/session",
            Some(json!({ "token": token })),
        )
        .await
    }
}

async fn opened_wizard(app: &TestApp, console: &Console, tenant: &str) -> Wizard {
    opened_link(app, console, tenant).await.0
}

/// A wizard opened from a new link, and that link's id.
async fn opened_link(app: &TestApp, console: &Console, tenant: &str) -> (Wizard, String) {
    let link = create_link(console, tenant).await;
    let wizard = Wizard::new(app);
    assert_eq!(wizard.open(&link.url).await.status(), StatusCode::OK);
    (wizard, link.link.id)
}

async fn publish(app: &TestApp, domain: &Domain) {
    app.aws
        .dns()
        .set_txt(&domain.record_name, vec![domain.record_value.clone()])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_set_up_link_opens_once_into_a_session_that_ends_when_the_link_is_revoked() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;

    let link = create_link(&console, &initech).await;
    assert!(
        link.url.starts_with(&format!("{}/setup#", app.address)),
        "the secret travels after #, never to a server log: {}",
        link.url
    );
    assert_eq!(link.link.state, SetupLinkState::Pending);

    let wizard = Wizard::new(&app);
    let opened = wizard.open(&link.url).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let cookie = opened
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/setup"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let session: SetupSession = opened.json().await.unwrap();
    assert_eq!(session.tenant_name, "Initech");
    assert!(session.domains.is_empty());

    // The link is spent: nobody else opens it, not even the same browser.
    let again = Wizard::new(&app).open(&link.url).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(again).await.code, ErrorCode::SetupLinkInvalid);

    // The session resumes after a reload.
    let resumed: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert_eq!(resumed.tenant_name, "Initech");
    let links: SetupLinkList = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/tenants/{initech}/setup-links"),
            )
            .await,
    )
    .await;
    assert_eq!(links.items[0].state, SetupLinkState::Opened);

    // Revoked: the session ends at once.
    let revoked = console
        .send(
            Method::POST,
            &format!(
                "/operator/api/v1/tenants/{initech}/setup-links/{}/revoke",
                link.link.id
            ),
        )
        .await;
    assert_eq!(
        json::<shared::api::SetupLink>(revoked).await.state,
        SetupLinkState::Revoked
    );
    let after = wizard
        .send(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(after).await.code, ErrorCode::SetupLinkInvalid);

    // Every step is in the platform log, the IT admin's as the link's.
    let audit: PlatformAuditPage =
        json(console.send(Method::GET, "/operator/api/v1/audit").await).await;
    let steps: Vec<(PlatformAuditAction, String)> = audit
        .items
        .iter()
        .filter(|event| event.tenant.as_ref().is_some_and(|t| t.slug == "initech"))
        .map(|event| (event.action, event.actor_kind.clone()))
        .collect();
    for step in [
        (PlatformAuditAction::SetupLinkCreated, "operator"),
        (PlatformAuditAction::SetupLinkOpened, "setup_link"),
        (PlatformAuditAction::SetupLinkRevoked, "operator"),
    ] {
        assert!(
            steps.contains(&(step.0, step.1.to_owned())),
            "{step:?} missing from {steps:?}"
        );
    }
}

#[tokio::test]
async fn a_new_link_replaces_the_open_one_and_malformed_or_unknown_tokens_open_nothing() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let first = create_link(&console, &initech).await;
    let second = create_link(&console, &initech).await;

    let links: SetupLinkList = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/tenants/{initech}/setup-links"),
            )
            .await,
    )
    .await;
    let states: Vec<SetupLinkState> = links.items.iter().map(|link| link.state).collect();
    assert_eq!(states, [SetupLinkState::Pending, SetupLinkState::Revoked]);
    assert_eq!(
        Wizard::new(&app).open(&first.url).await.status(),
        StatusCode::UNAUTHORIZED,
        "the replaced link opens nothing"
    );
    for token in ["", "short", &"A".repeat(43), &"é".repeat(43)] {
        let response = Wizard::new(&app)
            .send(
                Method::POST,
                "/setup/api/v1/session",
                Some(json!({ "token": token })),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
    }
    assert_eq!(
        Wizard::new(&app).open(&second.url).await.status(),
        StatusCode::OK
    );

    // Out-of-range validity is refused; the link's lifetime is bounded.
    let too_long = console
        .send_json(
            Method::POST,
            &format!("/operator/api/v1/tenants/{initech}/setup-links"),
            Some(json!({ "valid_days": 31 })),
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // An unknown tenant has no links.
    let unknown = console
        .send_json(
            Method::POST,
            "/operator/api/v1/tenants/00000000-0000-4000-8000-000000000000/setup-links",
            Some(json!({})),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_link_opens_nothing() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let link = create_link(&console, &initech).await;
    sqlx::query(
        "UPDATE sso_setup_links SET created_at = now() - interval '8 days', \
         expires_at = now() - interval '1 day' WHERE id = $1::uuid",
    )
    .bind(&link.link.id)
    .execute(&app.db.owner)
    .await
    .unwrap();
    let response = Wizard::new(&app).open(&link.url).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let links: SetupLinkList = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/tenants/{initech}/setup-links"),
            )
            .await,
    )
    .await;
    assert_eq!(links.items[0].state, SetupLinkState::Expired);
}

#[tokio::test]
async fn the_it_admin_proves_a_domain_by_publishing_its_txt_record() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;

    let claimed = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": " Initech.Example. " })),
        )
        .await;
    assert_eq!(claimed.status(), StatusCode::CREATED);
    let domain: Domain = claimed.json().await.unwrap();
    assert_eq!(domain.domain, "initech.example");
    assert_eq!(domain.status, DomainStatus::Pending);
    assert_eq!(domain.record_name, "_saas-verification.initech.example");
    assert!(domain.record_value.starts_with("saas-verification="));

    // Nothing published yet.
    let verify = "/setup/api/v1/domains/initech.example/verify";
    let missing = wizard.send(Method::POST, verify, None).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(missing).await;
    assert_eq!(body.code, ErrorCode::DomainNotVerified);
    assert!(
        body.message.contains("No TXT record was found"),
        "{}",
        body.message
    );

    // A wrong value: the answer says what it found.
    app.aws
        .dns()
        .set_txt(
            &domain.record_name,
            vec!["saas-verification=typo".to_owned()],
        )
        .await
        .unwrap();
    let wrong = error_body(wizard.send(Method::POST, verify, None).await).await;
    assert_eq!(wrong.code, ErrorCode::DomainNotVerified);
    assert!(
        wrong.message.contains("\"saas-verification=typo\""),
        "{}",
        wrong.message
    );

    publish(&app, &domain).await;
    let verified: DomainVerification = wizard.call(Method::POST, verify, None).await;
    assert!(verified.verified);
    assert_eq!(verified.domain.status, DomainStatus::Verified);
    assert!(verified.domain.verified_at.is_some());

    // Both logs record the claim and the proof; the tenant's names the set-up link as the actor.
    let audit: PlatformAuditPage =
        json(console.send(Method::GET, "/operator/api/v1/audit").await).await;
    let actions: Vec<PlatformAuditAction> = audit.items.iter().map(|event| event.action).collect();
    assert!(
        actions.contains(&PlatformAuditAction::DomainClaimed),
        "{actions:?}"
    );
    assert!(
        actions.contains(&PlatformAuditAction::DomainVerified),
        "{actions:?}"
    );
    let tenant_log: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT action, details FROM audit_events WHERE tenant_id = $1::uuid ORDER BY at",
    )
    .bind(&initech)
    .fetch_all(&app.db.owner)
    .await
    .unwrap();
    let actions: Vec<&str> = tenant_log
        .iter()
        .map(|(action, _)| action.as_str())
        .collect();
    for action in [
        "setup_link_created",
        "setup_link_opened",
        "domain_claimed",
        "domain_verified",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(
        tenant_log
            .iter()
            .any(|(action, details)| action == "domain_verified" && details["by"] == "setup_link")
    );

    // The operators see it; without an identity provider it routes nothing yet.
    let listed: shared::api::DomainList = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/tenants/{initech}/domains"),
            )
            .await,
    )
    .await;
    assert_eq!(listed.items[0].status, DomainStatus::Verified);
    assert_routes_nowhere(&app, "peter@initech.example").await;
}

#[tokio::test]
async fn domains_nobody_may_claim_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    for (input, status, code) in [
        (
            "gmail.com",
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DomainNotAllowed,
        ),
        (
            "Outlook.com",
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DomainNotAllowed,
        ),
        (
            "co.uk",
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DomainNotAllowed,
        ),
        (
            "initech",
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
        ),
        (
            "peter@initech.example",
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
        ),
        (
            "10.0.0.1",
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
        ),
        ("acme.example", StatusCode::CONFLICT, ErrorCode::DomainTaken),
    ] {
        let response = wizard
            .send(
                Method::POST,
                "/setup/api/v1/domains",
                Some(json!({ "domain": input })),
            )
            .await;
        assert_eq!(response.status(), status, "{input}");
        assert_eq!(error_body(response).await.code, code, "{input}");
    }
    let twice = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
    assert_eq!(twice.status(), StatusCode::CREATED);
    let again = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "INITECH.example" })),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(error_body(again).await.code, ErrorCode::Conflict);
}

/// A tenant admin's request to the SSO settings, from their signed-in browser.
async fn admin_send(
    admin: &SignedIn,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    admin
        .send(method, &format!("/api/v1/tenant/sso{path}"), body)
        .await
}

#[tokio::test]
async fn globex_cannot_claim_or_prove_acme_example() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    let claim = admin_send(
        &carol,
        Method::POST,
        "/domains",
        Some(json!({ "domain": "acme.example" })),
    )
    .await;
    assert_eq!(claim.status(), StatusCode::CONFLICT);
    assert_eq!(error_body(claim).await.code, ErrorCode::DomainTaken);
    // Nor a sub-domain trick of case or a trailing dot.
    let claim = admin_send(
        &carol,
        Method::POST,
        "/domains",
        Some(json!({ "domain": "ACME.example." })),
    )
    .await;
    assert_eq!(error_body(claim).await.code, ErrorCode::DomainTaken);
    // Acme still signs in to Acme.
    assert_eq!(app.sign_in(&ALICE).await.me().await.tenant.slug, "acme");
}

#[tokio::test]
async fn a_domain_proven_by_one_tenant_is_never_proven_by_another() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    let carol = app.sign_in(&CAROL).await;

    // Both claim the same new domain while it is unproven.
    let initech_claim: Domain = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "labs.initech.example" })),
        )
        .await;
    let globex_claim: Domain = json(
        admin_send(
            &carol,
            Method::POST,
            "/domains",
            Some(json!({ "domain": "labs.initech.example" })),
        )
        .await,
    )
    .await;
    assert_ne!(
        initech_claim.record_value, globex_claim.record_value,
        "each claim has its own token"
    );

    // A record holding Initech's token proves nothing for Globex.
    publish(&app, &initech_claim).await;
    let borrowed = admin_send(
        &carol,
        Method::POST,
        "/domains/labs.initech.example/verify",
        None,
    )
    .await;
    assert_eq!(borrowed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_body(borrowed).await.code,
        ErrorCode::DomainNotVerified
    );

    // Initech proves it.
    let proven: DomainVerification = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains/labs.initech.example/verify",
            None,
        )
        .await;
    assert!(proven.verified);

    // Even with both tokens published, Globex's pending claim can no longer be proven.
    app.aws
        .dns()
        .set_txt(
            &globex_claim.record_name,
            vec![
                initech_claim.record_value.clone(),
                globex_claim.record_value.clone(),
            ],
        )
        .await
        .unwrap();
    let late = admin_send(
        &carol,
        Method::POST,
        "/domains/labs.initech.example/verify",
        None,
    )
    .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(error_body(late).await.code, ErrorCode::DomainTaken);
    // And a new claim is refused up front.
    let dave_domain = admin_send(
        &carol,
        Method::DELETE,
        "/domains/labs.initech.example",
        None,
    )
    .await;
    assert_eq!(dave_domain.status(), StatusCode::NO_CONTENT);
    let reclaim = admin_send(
        &carol,
        Method::POST,
        "/domains",
        Some(json!({ "domain": "labs.initech.example" })),
    )
    .await;
    assert_eq!(error_body(reclaim).await.code, ErrorCode::DomainTaken);
}

#[tokio::test]
async fn a_removed_domain_stops_routing_at_once_and_members_cannot_manage_domains() {
    let app = TestApp::spawn().await;
    let bob = app.sign_in(&BOB).await;
    let refused = admin_send(&bob, Method::GET, "/domains", None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let alice = app.sign_in(&ALICE).await;
    let domains: shared::api::DomainList =
        json(admin_send(&alice, Method::GET, "/domains", None).await).await;
    assert_eq!(
        domains
            .items
            .iter()
            .map(|d| (d.domain.as_str(), d.status))
            .collect::<Vec<_>>(),
        [("acme.example", DomainStatus::Verified)]
    );
    let removed = admin_send(&alice, Method::DELETE, "/domains/acme.example", None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_routes_nowhere(&app, "bob@acme.example").await;

    // An admin creates a set-up link for their own IT admin; it is listed in both logs.
    let created = admin_send(
        &alice,
        Method::POST,
        "/setup-links",
        Some(json!({ "valid_days": 2 })),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: CreatedSetupLink = created.json().await.unwrap();
    assert_eq!(created.link.created_by_kind, "member");
    let log: AuditPage = alice.get_json("/api/v1/audit").await;
    let actions: Vec<&str> = log
        .items
        .iter()
        .map(|event| event.action.as_str())
        .collect();
    assert!(actions.contains(&"setup_link_created"), "{actions:?}");
    assert!(actions.contains(&"domain_removed"), "{actions:?}");
}

/// Claims `domain` from the wizard, publishes its record and verifies it.
async fn prove(app: &TestApp, wizard: &Wizard, domain: &str) {
    claim_and_publish(app, wizard, domain).await;
    let verified: DomainVerification = wizard
        .call(
            Method::POST,
            &format!("/setup/api/v1/domains/{domain}/verify"),
            None,
        )
        .await;
    assert!(verified.verified, "{domain}: {verified:?}");
}

/// Claims `domain` from the wizard and publishes its record, leaving it to be verified.
async fn claim_and_publish(app: &TestApp, wizard: &Wizard, domain: &str) {
    let claimed: Domain = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": domain })),
        )
        .await;
    publish(app, &claimed).await;
}

/// Home-realm discovery sends `email` back to the app with `no_sign_in_for_domain`.
async fn assert_routes_nowhere(app: &TestApp, email: &str) {
    let response = crate::helpers::browser()
        .get(app.url(&format!("/auth/login?email={email}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&response).as_str(),
        app.url("/?error=no_sign_in_for_domain"),
        "{email}"
    );
}

/// The wizard's provider form for the `initech` Okta org.
fn initech_okta(app: &TestApp) -> serde_json::Value {
    json!({
        "kind": "okta",
        "org_url": app.aws.okta_org_base("initech").unwrap(),
        "authorization_server": "default",
        "client_id": "0oainitech0client0id",
        "client_secret": "local-demo-initech-okta-secret",
    })
}

/// Runs a test sign-in as `user` from the wizard's browser; answers where the callback sent the browser.
async fn test_sign_in(app: &TestApp, wizard: &Wizard, user: &crate::helpers::DemoUser) -> String {
    let start = reqwest::Url::parse(&app.url("/setup/auth/test")).unwrap();
    let end = testkit::sign_in::walk(&wizard.browser, start, &app.address, user.email, PASSWORD)
        .await
        .unwrap();
    let testkit::sign_in::FlowEnd::App(callback) = end else {
        panic!("the test sign-in did not come back: {end:?}");
    };
    assert_eq!(callback.path(), "/setup/auth/callback");
    let back = wizard.browser.get(callback).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    location(&back).to_string()
}

#[tokio::test]
async fn the_it_admin_sets_up_okta_tests_it_and_activates_then_initech_signs_in_by_email() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;

    // Step 2: what to register at Okta.
    let instructions: shared::api::ProviderInstructions = wizard
        .call(
            Method::GET,
            "/setup/api/v1/provider/instructions?kind=okta",
            None,
        )
        .await;
    assert_eq!(
        instructions.redirect_uri,
        format!("{}/oauth2/idpresponse", app.aws.auth_domain())
    );
    assert!(instructions.scopes.contains(&"groups".to_owned()));

    // Step 4: the domain, proven.
    let domain: Domain = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
    publish(&app, &domain).await;
    let verified: DomainVerification = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains/initech.example/verify",
            None,
        )
        .await;
    assert!(verified.verified);

    // Step 3: the provider's settings, checked by discovery, then saved for a test.
    let saved: shared::api::SetupProvider = wizard
        .call(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_okta(&app)),
        )
        .await;
    assert_eq!(
        (saved.name.as_str(), saved.status.as_str()),
        ("initech-okta", "testing")
    );
    assert_eq!(saved.issuer, app.aws.okta_org_issuer("initech").unwrap());
    let in_pool = app
        .cognito()
        .describe_identity_provider()
        .user_pool_id(app.aws.user_pool_id())
        .provider_name("initech-okta")
        .send()
        .await
        .unwrap();
    assert!(
        in_pool.identity_provider().is_some(),
        "the secret went to the user pool"
    );
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenant_identity_providers WHERE provider_name = 'initech-okta' \
         AND to_jsonb(tenant_identity_providers)::text LIKE '%local-demo-initech-okta-secret%'",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(stored, 0, "the secret is stored nowhere in the database");
    // Under test, it routes nothing and cannot be activated untested.
    assert_routes_nowhere(&app, "peter@initech.example").await;
    let untested = wizard
        .send(
            Method::POST,
            "/setup/api/v1/activate",
            Some(json!({ "group_mapping": [{ "group": "saas-admins", "role": "admin" }] })),
        )
        .await;
    assert_eq!(untested.status(), StatusCode::CONFLICT);

    // Step 5: a test sign-in shows the claims and creates no member.
    let landing = test_sign_in(&app, &wizard, &PETER).await;
    assert!(landing.ends_with("/setup?test=done"), "{landing}");
    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    let test = session.test.expect("the test sign-in's result");
    assert_eq!(test.email, "peter@initech.example");
    assert_eq!(test.email_verified, Some(true));
    assert_eq!(test.groups, ["saas-admins"]);
    assert!(!test.subject.is_empty());
    let members: i64 =
        sqlx::query_scalar("SELECT count(*) FROM members WHERE tenant_id = $1::uuid")
            .bind(&initech)
            .fetch_one(&app.db.owner)
            .await
            .unwrap();
    assert_eq!(members, 0, "a test sign-in creates no member");

    // Step 6: the mapping, and activation.
    let activated: shared::api::Activated = wizard.call(Method::POST, "/setup/api/v1/activate", Some(json!({ "group_mapping": [ { "group": "saas-admins", "role": "admin" }, { "group": "saas-users", "role": "member" }, ] }))).await;
    assert_eq!(activated.routed_domains, ["initech.example"]);
    assert_eq!(activated.provider.status, "active");
    // The link is completed: its session is over.
    let after = wizard
        .send(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // Peter, invited as Initech's first admin, signs in by email and lands in Initech; Samir joins as member.
    let peter = app.sign_in(&PETER).await.me().await;
    assert_eq!(
        (peter.tenant.slug.as_str(), peter.role),
        ("initech", shared::Role::Admin)
    );
    let samir = app.sign_in(&SAMIR).await.me().await;
    assert_eq!(
        (samir.tenant.slug.as_str(), samir.role),
        ("initech", shared::Role::Member)
    );

    // Every step is in the platform log as the IT admin's.
    let audit: PlatformAuditPage =
        json(console.send(Method::GET, "/operator/api/v1/audit").await).await;
    for action in [
        PlatformAuditAction::SsoProviderSaved,
        PlatformAuditAction::SsoTestSignIn,
        PlatformAuditAction::SsoActivated,
    ] {
        assert!(
            audit
                .items
                .iter()
                .any(|event| event.action == action && event.actor_kind == "setup_link"),
            "{action:?}"
        );
    }
}

/// Initech's Entra ID directory (tenant) in the mock Entra ID, and the app registered there.
const INITECH_DIRECTORY: &str = "7b2e3c4d-5f60-4a1b-9c2d-1a17ec000002";

fn initech_entra(directory_id: &str) -> serde_json::Value {
    json!({
        "kind": "entra",
        "directory_id": directory_id,
        "client_id": "5e6f7a8b-9c0d-4e1f-a2b3-1a17ec00c11e",
        "client_secret": "local-demo-initech-entra-secret",
    })
}

#[tokio::test]
async fn the_it_admin_sets_up_entra_id_by_its_directory_id_and_initech_signs_in_with_its_app_roles()
{
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;

    // What to register in Entra ID: the same redirect URI, and the app roles released as `roles`.
    let instructions: shared::api::ProviderInstructions = wizard
        .call(
            Method::GET,
            "/setup/api/v1/provider/instructions?kind=entra",
            None,
        )
        .await;
    assert_eq!(
        instructions.redirect_uri,
        format!("{}/oauth2/idpresponse", app.aws.auth_domain())
    );
    assert!(
        instructions
            .claims
            .iter()
            .any(|claim| claim.contains("roles")),
        "{:?}",
        instructions.claims
    );

    // A directory the authority does not know fails the check, and nothing is saved.
    let unknown = wizard
        .send(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_entra("00000000-0000-4000-8000-00000000dead")),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_body(unknown).await.code,
        ErrorCode::ProviderCheckFailed
    );

    prove(&app, &wizard, "initech.example").await;
    // The issuer is Entra's v2.0 issuer of the directory, under the configured authority.
    let saved: shared::api::SetupProvider = wizard
        .call(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_entra(INITECH_DIRECTORY)),
        )
        .await;
    assert_eq!(
        (saved.name.as_str(), saved.status.as_str()),
        ("initech-entra", "testing")
    );
    assert_eq!(saved.issuer, app.aws.entra_issuer(INITECH_DIRECTORY));

    // The test sign-in shows Peter's app roles as his groups, and whether Entra vouches for his email.
    let landing = test_sign_in(&app, &wizard, &PETER).await;
    assert!(landing.ends_with("/setup?test=done"), "{landing}");
    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    let test = session.test.expect("the test sign-in's result");
    assert_eq!(test.email, "peter@initech.example");
    assert_eq!(test.groups, ["SaaS-Admins"]);

    let activated: shared::api::Activated = wizard.call(Method::POST, "/setup/api/v1/activate", Some(json!({ "group_mapping": [ { "group": "SaaS-Admins", "role": "admin" }, { "group": "SaaS-Users", "role": "member" }, ] }))).await;
    assert_eq!(activated.routed_domains, ["initech.example"]);

    // Initech's people sign in by email through Entra ID with the roles their app roles map to.
    for (user, role) in [
        (&PETER, shared::Role::Admin),
        (&SAMIR, shared::Role::Member),
    ] {
        let me = app.sign_in(user).await.me().await;
        assert_eq!(
            (me.tenant.slug.as_str(), me.role),
            ("initech", role),
            "{}",
            user.email
        );
    }
    let providers: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT m.provider, p.kind FROM members m \
         JOIN tenant_identity_providers p ON p.provider_name = m.provider \
         WHERE m.tenant_id = $1::uuid",
    )
    .bind(&initech)
    .fetch_all(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(
        providers,
        [("initech-entra".to_owned(), "entra".to_owned())]
    );
}

#[tokio::test]
async fn provider_settings_are_checked_at_once_and_each_failure_says_what_is_wrong() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    let okta = app.aws.okta_org_base("initech").unwrap();
    let cases = [
        (
            json!({ "kind": "saml", "client_id": "c", "client_secret": "s" }),
            ErrorCode::InvalidRequest,
            "kind",
        ),
        (
            json!({ "kind": "okta", "org_url": format!("{okta}/some/path"), "authorization_server": "default",
                    "client_id": "c", "client_secret": "s" }),
            ErrorCode::InvalidRequest,
            "org_url",
        ),
        (
            json!({ "kind": "entra", "directory_id": "initech.example", "client_id": "c", "client_secret": "s" }),
            ErrorCode::InvalidRequest,
            "directory_id",
        ),
        (
            json!({ "kind": "okta", "org_url": okta, "authorization_server": "default", "client_id": "c",
                    "client_secret": "" }),
            ErrorCode::InvalidRequest,
            "client_secret",
        ),
        (
            json!({ "kind": "oidc", "issuer": format!("{okta}/oauth2/no-such-server"), "client_id": "c",
                    "client_secret": "s" }),
            ErrorCode::ProviderCheckFailed,
            "404",
        ),
        (
            json!({ "kind": "oidc", "issuer": format!("{okta}/oauth2/default/"), "client_id": "c",
                    "client_secret": "s" }),
            ErrorCode::ProviderCheckFailed,
            "issuer",
        ),
        (
            json!({ "kind": "oidc", "issuer": crate::helpers::closed_port_url().await, "client_id": "c",
                    "client_secret": "s" }),
            ErrorCode::ProviderCheckFailed,
            "",
        ),
    ];
    for (form, code, mentions) in cases {
        let response = wizard
            .send(Method::POST, "/setup/api/v1/provider", Some(form.clone()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form}"
        );
        let body = error_body(response).await;
        assert_eq!(body.code, code, "{form}: {}", body.message);
        assert!(body.message.contains(mentions), "{form}: {}", body.message);
    }
    let providers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenant_identity_providers WHERE tenant_id = $1::uuid",
    )
    .bind(&initech)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(providers, 0, "nothing failed halfway");
}

#[tokio::test]
async fn a_proven_domain_whose_record_disappears_lapses_after_the_grace_period_and_comes_back_with_it()
 {
    let app = TestApp::spawn().await;
    let state = app.backend_state();
    let now = time::OffsetDateTime::now_utc();
    let every = std::time::Duration::ZERO;
    let grace = time::Duration::days(7);
    let recheck = |at: time::OffsetDateTime| {
        let state = state.clone();
        async move {
            backend::sso::claims::recheck(&state, at, every, grace, 100)
                .await
                .unwrap()
        }
    };

    // The demo domains' proofs are published by the DNS stand-in.
    let first = recheck(now).await;
    assert!(
        first.found.contains(&"acme.example".to_owned()),
        "{first:?}"
    );
    assert!(
        first.found.contains(&"globex.example".to_owned()),
        "{first:?}"
    );

    // Acme's record is gone: within the grace period the domain still routes.
    app.aws
        .dns()
        .clear_txt("_saas-verification.acme.example")
        .await
        .unwrap();
    let missing = recheck(now + time::Duration::hours(1)).await;
    assert_eq!(missing.missing, ["acme.example"]);
    assert_eq!(app.sign_in(&BOB).await.me().await.tenant.slug, "acme");
    // Verifying by hand meanwhile fails, says the domain stays verified, and lapses nothing; nor does it count
    // as the domain's check, which would put off its next periodic re-check.
    let checks = || async {
        sqlx::query_as::<_, (Option<time::OffsetDateTime>, Option<time::OffsetDateTime>)>(
            "SELECT last_checked_at, failing_since FROM tenant_domains WHERE domain = 'acme.example'",
        )
        .fetch_one(&app.db.owner)
        .await
        .unwrap()
    };
    let before = checks().await;
    let alice = app.sign_in(&ALICE).await;
    let by_hand = admin_send(&alice, Method::POST, "/domains/acme.example/verify", None).await;
    assert_eq!(by_hand.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(by_hand).await;
    assert_eq!(body.code, ErrorCode::DomainNotVerified);
    assert!(
        body.message
            .contains("acme.example stays verified meanwhile"),
        "{}",
        body.message
    );
    assert_eq!(checks().await, before);
    assert_eq!(app.sign_in(&BOB).await.me().await.tenant.slug, "acme");

    // Missing for longer than the grace period: it lapses and routes nothing, and both logs say so.
    let lapsed = recheck(now + time::Duration::days(8)).await;
    assert_eq!(lapsed.lapsed, ["acme.example"]);
    assert_routes_nowhere(&app, "bob@acme.example").await;
    let (actor_kind,): (String,) = sqlx::query_as(
        "SELECT actor_kind FROM platform_audit_events WHERE action = 'domain_lapsed'",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(actor_kind, "system");
    // Nobody else can take it meanwhile.
    let carol = app.sign_in(&CAROL).await;
    let claim = admin_send(
        &carol,
        Method::POST,
        "/domains",
        Some(json!({ "domain": "acme.example" })),
    )
    .await;
    assert_eq!(error_body(claim).await.code, ErrorCode::DomainTaken);

    // The record is back: verified again, routing again.
    app.aws
        .dns()
        .set_txt(
            "_saas-verification.acme.example",
            vec![format!(
                "saas-verification={}",
                backend::seed::demo_proof_token("acme.example")
            )],
        )
        .await
        .unwrap();
    let back = recheck(now + time::Duration::days(9)).await;
    assert!(back.found.contains(&"acme.example".to_owned()), "{back:?}");
    assert_eq!(app.sign_in(&BOB).await.me().await.tenant.slug, "acme");
}

/// Initech, set up end to end through the wizard (the `initech` Okta org, `initech.example` proven, tested
/// as Peter, saas-admins → admin, saas-users → member), for tests that need a third tenant made the
/// self-serve way.
pub async fn set_up_initech(app: &TestApp) {
    let console = console(app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(app, &console, &initech).await;
    prove(app, &wizard, "initech.example").await;
    let _: shared::api::SetupProvider = wizard
        .call(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_okta(app)),
        )
        .await;
    test_sign_in(app, &wizard, &PETER).await;
    let _: shared::api::Activated = wizard.call(Method::POST, "/setup/api/v1/activate", Some(json!({ "group_mapping": [ { "group": "saas-admins", "role": "admin" }, { "group": "saas-users", "role": "member" }, ] }))).await;
}

#[tokio::test]
async fn a_cross_site_request_with_the_set_up_cookie_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    let forged = wizard
        .browser
        .post(app.url("/setup/api/v1/domains"))
        .header("origin", "https://evil.example")
        .json(&json!({ "domain": "initech.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_body(forged).await.code, ErrorCode::CsrfRejected);
    // The wizard's API is authorised by the cookie alone: a bearer header exempts nothing there.
    let with_bearer = wizard
        .browser
        .post(app.url("/setup/api/v1/domains"))
        .header("origin", "https://evil.example")
        .bearer_auth("a.b.c")
        .json(&json!({ "domain": "initech.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_body(with_bearer).await.code, ErrorCode::CsrfRejected);
    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert!(session.domains.is_empty(), "nothing was claimed");
}

#[tokio::test]
async fn a_test_sign_in_callback_needs_its_own_state_and_the_set_up_session() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    let _: shared::api::SetupProvider = wizard
        .call(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_okta(&app)),
        )
        .await;
    let start = reqwest::Url::parse(&app.url("/setup/auth/test")).unwrap();
    let end = testkit::sign_in::walk(&wizard.browser, start, &app.address, PETER.email, PASSWORD)
        .await
        .unwrap();
    let testkit::sign_in::FlowEnd::App(callback) = end else {
        panic!("the test sign-in did not come back: {end:?}");
    };

    // Another browser with the code but neither the set-up session nor the pending state gets nothing.
    let stranger = Wizard::new(&app)
        .browser
        .get(callback.clone())
        .send()
        .await
        .unwrap();
    assert!(
        location(&stranger)
            .as_str()
            .ends_with("/setup?error=setup_link_invalid"),
        "{}",
        location(&stranger)
    );
    // The session's own browser with a state it did not start with: refused too.
    let mut forged = callback.clone();
    let code = callback
        .query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    forged.set_query(Some(&format!("code={code}&state=forged")));
    let refused = wizard.browser.get(forged).send().await.unwrap();
    assert!(
        location(&refused)
            .as_str()
            .ends_with("/setup?error=sign_in_expired"),
        "{}",
        location(&refused)
    );
    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert!(session.test.is_none(), "no test result was recorded");
}
