//! What each step of the self-serve SSO set-up refuses, and why: the activation's group mapping and what it
//! waits for, a second set-up of an active provider, the secret's rotation, the test sign-in's failures,
//! domain requests beyond what the tenant claims, DNS that does not answer, an operator freeing a lapsed
//! domain, and the links' lifecycle at its edges.

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::ErrorCode;
use shared::api::{Domain, DomainList, SetupLinkList, SetupSession};

use super::{
    Wizard, admin_send, create_initech, create_link, initech_okta, opened_wizard, publish,
    test_sign_in,
};
use crate::console::error_body;
use crate::helpers::{ALICE, CAROL, PETER, TestApp, browser, location};
use crate::tenant_lifecycle::{console, json};

/// Posts `mapping` to the activation and answers the refusal, which must be a 422 `invalid_request`.
async fn refused_mapping(wizard: &Wizard, mapping: serde_json::Value) -> String {
    let response = wizard
        .send(
            Method::POST,
            "/setup/api/v1/activate",
            Some(json!({ "group_mapping": mapping })),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{mapping}"
    );
    let body = error_body(response).await;
    assert_eq!(body.code, ErrorCode::InvalidRequest, "{mapping}");
    body.message
}

/// Posts a good mapping to the activation and answers the refusal's message, which must be a 409.
async fn activation_conflict(wizard: &Wizard) -> String {
    let response = wizard
        .send(
            Method::POST,
            "/setup/api/v1/activate",
            Some(json!({ "group_mapping": [{ "group": "saas-admins", "role": "admin" }] })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    error_body(response).await.message
}

#[tokio::test]
async fn activation_refuses_a_bad_group_mapping_and_waits_for_a_provider_a_test_and_a_proven_domain()
 {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;

    // Nothing saved yet: neither a test sign-in (the browser is sent back to the wizard, which says why) nor
    // an activation.
    let untestable = wizard.send(Method::GET, "/setup/auth/test", None).await;
    assert_eq!(untestable.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&untestable).as_str(),
        app.url("/setup?error=unknown_identity_provider")
    );
    // Without the set-up session, the same: a page to show, not a JSON error.
    let stranger = browser()
        .get(app.url("/setup/auth/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&stranger).as_str(),
        app.url("/setup?error=setup_link_invalid")
    );
    assert!(
        activation_conflict(&wizard)
            .await
            .contains("Save your identity provider first")
    );

    let _: shared::api::SetupProvider = wizard
        .call(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_okta(&app)),
        )
        .await;
    test_sign_in(&app, &wizard, &PETER).await;

    // Each malformed mapping says which entry is wrong and why.
    let many: Vec<serde_json::Value> = (0..101)
        .map(|n| json!({ "group": format!("group-{n}"), "role": "admin" }))
        .collect();
    let cases = [
        (json!([]), "map at least one group to admin"),
        (
            json!([{ "group": "saas-users", "role": "member" }]),
            "map at least one group to admin",
        ),
        (
            json!([{ "group": "", "role": "admin" }]),
            "group_mapping[0].group",
        ),
        (
            json!([{ "group": "saas-users", "role": "member" }, { "group": " saas-admins", "role": "admin" }]),
            "group_mapping[1].group",
        ),
        (
            json!([{ "group": "a".repeat(257), "role": "admin" }]),
            "group_mapping[0].group: 1 to 256 characters",
        ),
        (
            json!([{ "group": "saas-admins", "role": "admin" }, { "group": "saas-admins", "role": "viewer" }]),
            "\"saas-admins\" is listed twice",
        ),
        (json!(many), "at most 100 groups"),
    ];
    for (mapping, says) in cases {
        let message = refused_mapping(&wizard, mapping.clone()).await;
        assert!(message.contains(says), "{mapping}: {message}");
    }
    // A role that does not exist is refused by the request's schema.
    let owner = wizard
        .send(
            Method::POST,
            "/setup/api/v1/activate",
            Some(json!({ "group_mapping": [{ "group": "saas-admins", "role": "owner" }] })),
        )
        .await;
    assert_eq!(owner.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A good mapping waits for a proven domain: a claimed one is not enough.
    let claimed: Domain = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
    assert!(
        activation_conflict(&wizard)
            .await
            .contains("Verify at least one email domain first")
    );

    // Saving the provider again asks for a new test: the last one went through other settings.
    publish(&app, &claimed).await;
    let _: shared::api::DomainVerification = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains/initech.example/verify",
            None,
        )
        .await;
    let _: shared::api::SetupProvider = wizard
        .call(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_okta(&app)),
        )
        .await;
    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert!(session.test.is_none(), "the earlier test no longer counts");
    assert!(
        activation_conflict(&wizard)
            .await
            .contains("Run a test sign-in")
    );

    // None of the refusals changed anything: the provider is still under test and routes nothing, and with
    // a new test the same session activates.
    let status: String = sqlx::query_scalar(
        "SELECT status FROM tenant_identity_providers WHERE tenant_id = $1::uuid",
    )
    .bind(&initech)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(status, "testing");
    super::assert_routes_nowhere(&app, "peter@initech.example").await;
    test_sign_in(&app, &wizard, &PETER).await;
    let activated: shared::api::Activated = wizard
        .call(
            Method::POST,
            "/setup/api/v1/activate",
            Some(json!({ "group_mapping": [{ "group": "saas-admins", "role": "admin" }] })),
        )
        .await;
    assert_eq!(activated.routed_domains, ["initech.example"]);
}

#[tokio::test]
async fn a_set_up_link_cannot_replace_an_active_provider_whose_secret_the_admin_rotates_instead() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;

    // Acme's admin makes a link (the validity bounded here too) and the IT admin opens it.
    let too_short = admin_send(
        &alice,
        Method::POST,
        "/setup-links",
        Some(json!({ "valid_days": 0 })),
    )
    .await;
    assert_eq!(too_short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let created: shared::api::CreatedSetupLink = json(
        admin_send(
            &alice,
            Method::POST,
            "/setup-links",
            Some(json!({ "valid_days": 2 })),
        )
        .await,
    )
    .await;
    let wizard = Wizard::new(&app);
    assert_eq!(wizard.open(&created.url).await.status(), StatusCode::OK);

    // Settings that pass every check still cannot replace the provider Acme signs in through.
    let replace = wizard
        .send(
            Method::POST,
            "/setup/api/v1/provider",
            Some(initech_okta(&app)),
        )
        .await;
    assert_eq!(replace.status(), StatusCode::CONFLICT);
    assert!(
        error_body(replace)
            .await
            .message
            .contains("rotated from the sign-in settings")
    );
    let providers: Vec<String> = sqlx::query_scalar(
        "SELECT p.provider_name FROM tenant_identity_providers p JOIN tenants t ON t.id = p.tenant_id \
         WHERE t.slug = 'acme'",
    )
    .fetch_all(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(providers, ["acme-entra"]);

    // The rotation's secret is checked, handed to the user pool, and recorded nowhere.
    for bad in [
        json!(""),
        json!("   "),
        json!("a".repeat(1025)),
        json!("new\u{7}secret"),
    ] {
        let response = admin_send(
            &alice,
            Method::POST,
            "/provider/secret",
            Some(json!({ "client_secret": bad })),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            error_body(response)
                .await
                .message
                .starts_with("client_secret:")
        );
    }
    let rotated = admin_send(
        &alice,
        Method::POST,
        "/provider/secret",
        Some(json!({ "client_secret": "acme-rotated-secret-2027" })),
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::NO_CONTENT);
    let in_pool = app
        .cognito()
        .describe_identity_provider()
        .user_pool_id(app.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    let details = in_pool.identity_provider().unwrap().provider_details();
    assert_eq!(
        details
            .and_then(|d| d.get("client_secret"))
            .map(String::as_str),
        Some("acme-rotated-secret-2027")
    );
    let recorded: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM audit_events WHERE details::text LIKE '%acme-rotated-secret-2027%') \
              + (SELECT count(*) FROM platform_audit_events WHERE details::text LIKE '%acme-rotated-secret-2027%') \
              + (SELECT count(*) FROM tenant_identity_providers \
                 WHERE to_jsonb(tenant_identity_providers)::text LIKE '%acme-rotated-secret-2027%')",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(recorded, 0);
    // The rotation is in both logs, Alice's.
    let (details,): (serde_json::Value,) =
        sqlx::query_as("SELECT details FROM audit_events WHERE action = 'sso_secret_rotated'")
            .fetch_one(&app.db.owner)
            .await
            .unwrap();
    assert_eq!(details["provider"], "acme-entra");
    let actor: (String, String) = sqlx::query_as(
        "SELECT actor_kind, operator_email FROM platform_audit_events WHERE action = 'sso_secret_rotated'",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(actor, ("tenant_admin".to_owned(), ALICE.email.to_owned()));
}

#[tokio::test]
async fn a_test_sign_in_the_provider_refuses_or_that_lost_its_state_records_nothing() {
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

    // Started, then refused by the provider (the user cancelled, say): back in the wizard with a reason.
    let started = wizard.send(Method::GET, "/setup/auth/test", None).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let authorize = location(&started);
    let state = authorize
        .query_pairs()
        .find(|(key, _)| key == "state")
        .map(|(_, value)| value.into_owned())
        .expect("the authorize request carries a state");
    let callback = |query: &str| app.url(&format!("/setup/auth/callback?{query}"));
    let refused = wizard
        .browser
        .get(callback(&format!(
            "error=access_denied&error_description=cancelled&state={state}"
        )))
        .send()
        .await
        .unwrap();
    assert!(
        location(&refused)
            .as_str()
            .ends_with("/setup?error=sign_in_failed"),
        "{}",
        location(&refused)
    );
    // The pending state was single use: the same answer again finds none.
    let replayed = wizard
        .browser
        .get(callback(&format!("code=anything&state={state}")))
        .send()
        .await
        .unwrap();
    assert!(
        location(&replayed)
            .as_str()
            .ends_with("/setup?error=sign_in_expired"),
        "{}",
        location(&replayed)
    );
    // A code the user pool never issued fails the exchange.
    let started = wizard.send(Method::GET, "/setup/auth/test", None).await;
    let state = location(&started)
        .query_pairs()
        .find(|(key, _)| key == "state")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let forged = wizard
        .browser
        .get(callback(&format!("code=never-issued&state={state}")))
        .send()
        .await
        .unwrap();
    assert!(
        location(&forged)
            .as_str()
            .ends_with("/setup?error=sign_in_failed"),
        "{}",
        location(&forged)
    );

    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert!(session.test.is_none(), "no test result was recorded");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform_audit_events WHERE action = 'sso_test_sign_in'",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(audited, 0);
}

#[tokio::test]
async fn domain_requests_answer_404_for_what_the_tenant_does_not_claim_and_it_claims_at_most_20() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;

    // Acme's domain, a domain nobody claims and a name that is no domain: Initech claims none of them.
    for domain in ["acme.example", "nobody.example", "not%20a%20domain"] {
        for (method, path) in [
            (
                Method::POST,
                format!("/setup/api/v1/domains/{domain}/verify"),
            ),
            (Method::DELETE, format!("/setup/api/v1/domains/{domain}")),
        ] {
            let response = wizard.send(method.clone(), &path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
    assert_eq!(app.sign_in(&ALICE).await.me().await.tenant.slug, "acme");

    for n in 0..20 {
        let _: Domain = wizard
            .call(
                Method::POST,
                "/setup/api/v1/domains",
                Some(json!({ "domain": format!("office-{n}.initech.example") })),
            )
            .await;
    }
    let one_more = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
    assert_eq!(one_more.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_body(one_more)
            .await
            .message
            .contains("at most 20 domains")
    );
    // Removing one makes room.
    let removed = wizard
        .send(
            Method::DELETE,
            "/setup/api/v1/domains/office-0.initech.example",
            None,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let _: Domain = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
}

#[tokio::test]
async fn a_verification_dns_does_not_answer_is_a_503_that_changes_nothing() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    // The DNS stand-in serves the demo zones only: for any other name it answers REFUSED, as an
    // authoritative server that does not recurse does, which is no answer.
    let _: Domain = wizard
        .call(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.org" })),
        )
        .await;
    let response = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains/initech.org/verify",
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = error_body(response).await;
    assert_eq!(body.code, ErrorCode::ServiceUnavailable);
    assert!(
        body.message
            .contains("_saas-verification.initech.org did not answer"),
        "{}",
        body.message
    );
    let session: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert_eq!(
        session.domains[0].status,
        shared::api::DomainStatus::Pending
    );
}

#[tokio::test]
async fn an_operator_frees_a_lapsed_domain_for_the_organisation_that_now_owns_it() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let acme: String = sqlx::query_scalar("SELECT id::text FROM tenants WHERE slug = 'acme'")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    // acme.example lapsed (its record gone for longer than the grace period): it routes nothing, and nobody
    // else may claim it while Acme holds it.
    sqlx::query("UPDATE tenant_domains SET status = 'lapsed' WHERE domain = 'acme.example'")
        .execute(&app.db.owner)
        .await
        .unwrap();
    let carol = app.sign_in(&CAROL).await;
    let claim = || {
        admin_send(
            &carol,
            Method::POST,
            "/domains",
            Some(json!({ "domain": "acme.example" })),
        )
    };
    assert_eq!(error_body(claim().await).await.code, ErrorCode::DomainTaken);

    // An operator removes it from Acme.
    let path =
        |tenant: &str, domain: &str| format!("/operator/api/v1/tenants/{tenant}/domains/{domain}");
    for (tenant, domain) in [
        ("00000000-0000-4000-8000-000000000000", "acme.example"),
        ("not-a-tenant", "acme.example"),
        (acme.as_str(), "nobody.example"),
        (acme.as_str(), "not%20a%20domain"),
    ] {
        let response = console.send(Method::DELETE, &path(tenant, domain)).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{tenant} {domain}"
        );
    }
    let removed = console
        .send(Method::DELETE, &path(&acme, "acme.example"))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let left: DomainList = json(
        console
            .send(
                Method::GET,
                &format!("/operator/api/v1/tenants/{acme}/domains"),
            )
            .await,
    )
    .await;
    assert!(left.items.iter().all(|d| d.domain != "acme.example"));
    let (actor_kind,): (String,) = sqlx::query_as(
        "SELECT actor_kind FROM platform_audit_events WHERE action = 'domain_removed'",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(actor_kind, "operator");

    // Globex, which now publishes the record, proves it.
    let claimed: Domain = json(claim().await).await;
    publish(&app, &claimed).await;
    let verified: shared::api::DomainVerification =
        json(admin_send(&carol, Method::POST, "/domains/acme.example/verify", None).await).await;
    assert!(verified.verified);
}

#[tokio::test]
async fn set_up_links_at_the_edges_of_their_lifecycle() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let link = create_link(&console, &initech).await;
    let wizard = Wizard::new(&app);
    assert_eq!(wizard.open(&link.url).await.status(), StatusCode::OK);

    // The session ends when its link expires, as when it is revoked.
    sqlx::query(
        "UPDATE sso_setup_links SET created_at = now() - interval '8 days', \
         expires_at = now() - interval '1 day' WHERE id = $1::uuid",
    )
    .bind(&link.link.id)
    .execute(&app.db.owner)
    .await
    .unwrap();
    let after = wizard
        .send(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(after).await.code, ErrorCode::SetupLinkInvalid);
    let claim = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
    assert_eq!(claim.status(), StatusCode::UNAUTHORIZED);

    // Revoking a link the tenant does not have, or that is no id, answers 404 on both sides.
    let alice = app.sign_in(&ALICE).await;
    let acme_link: shared::api::CreatedSetupLink =
        json(admin_send(&alice, Method::POST, "/setup-links", Some(json!({}))).await).await;
    for id in [acme_link.link.id.to_string(), "not-an-id".to_owned()] {
        let operator = console
            .send(
                Method::POST,
                &format!("/operator/api/v1/tenants/{initech}/setup-links/{id}/revoke"),
            )
            .await;
        assert_eq!(operator.status(), StatusCode::NOT_FOUND, "{id}");
    }
    for id in [link.link.id.to_string(), "not-an-id".to_owned()] {
        let admin = admin_send(
            &alice,
            Method::POST,
            &format!("/setup-links/{id}/revoke"),
            None,
        )
        .await;
        assert_eq!(admin.status(), StatusCode::NOT_FOUND, "{id}");
    }
    let acme_links: SetupLinkList =
        json(admin_send(&alice, Method::GET, "/setup-links", None).await).await;
    assert_eq!(
        acme_links.items[0].state,
        shared::api::SetupLinkState::Pending
    );

    // A tenant being deleted gets no new link.
    sqlx::query("UPDATE tenants SET status = 'deleting' WHERE id = $1::uuid")
        .bind(&initech)
        .execute(&app.db.owner)
        .await
        .unwrap();
    let refused = console
        .send_json(
            Method::POST,
            &format!("/operator/api/v1/tenants/{initech}/setup-links"),
            Some(json!({})),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(error_body(refused).await.message.contains("being deleted"));
}

#[tokio::test]
async fn a_suspended_tenants_set_up_link_neither_opens_nor_acts_until_it_is_resumed() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    let status = |action: &'static str| {
        let console = &console;
        let initech = &initech;
        async move {
            let response = console
                .send(
                    Method::POST,
                    &format!("/operator/api/v1/tenants/{initech}/{action}"),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{action}");
        }
    };

    // Suspended: the open session acts no more.
    status("suspend").await;
    let session = wizard
        .send(Method::GET, "/setup/api/v1/session", None)
        .await;
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);
    let claim = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        )
        .await;
    assert_eq!(claim.status(), StatusCode::UNAUTHORIZED);
    let claims: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tenant_domains WHERE tenant_id = $1::uuid")
            .bind(&initech)
            .fetch_one(&app.db.owner)
            .await
            .unwrap();
    assert_eq!(claims, 0);
    // Resumed: the same session goes on.
    status("resume").await;
    let _: SetupSession = wizard
        .call(Method::GET, "/setup/api/v1/session", None)
        .await;

    // A link not yet opened does not open while its tenant is suspended, and is not spent by trying.
    let link = create_link(&console, &initech).await;
    status("suspend").await;
    assert_eq!(
        Wizard::new(&app).open(&link.url).await.status(),
        StatusCode::UNAUTHORIZED
    );
    status("resume").await;
    assert_eq!(
        Wizard::new(&app).open(&link.url).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn as_in_production_provider_urls_leading_into_the_backends_own_network_are_refused_unfetched()
 {
    let app = TestApp::spawn_with(Box::new(|config, _| {
        config.sso.allow_private_addresses = false;
    }))
    .await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    let oidc = |issuer: &str| json!({ "kind": "oidc", "issuer": issuer, "client_id": "c", "client_secret": "s" });
    let okta = app.aws.okta_org_base("initech").unwrap();
    for (form, says) in [
        // The stand-in itself, reachable but on this machine.
        (
            oidc(&format!("{okta}/oauth2/default")),
            "must start with https://, not http://",
        ),
        (
            oidc("https://127.0.0.1:9/oauth2/default"),
            "127.0.0.1 is a private, loopback",
        ),
        // The cloud's instance metadata service.
        (
            oidc("https://169.254.169.254/latest"),
            "169.254.169.254 is a private, loopback",
        ),
        (oidc("https://[::ffff:10.0.0.1]/"), "is a private, loopback"),
        (oidc("https://localhost:9/"), "names this server itself"),
    ] {
        let response = wizard
            .send(Method::POST, "/setup/api/v1/provider", Some(form.clone()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form}"
        );
        let body = error_body(response).await;
        assert!(
            matches!(
                body.code,
                ErrorCode::ProviderCheckFailed | ErrorCode::InvalidRequest
            ),
            "{form}: {body:?}"
        );
        assert!(body.message.contains(says), "{form}: {}", body.message);
    }
    let providers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tenant_identity_providers WHERE tenant_id = $1::uuid",
    )
    .bind(&initech)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(providers, 0);
}

#[tokio::test]
async fn the_wizards_requests_are_bounded_and_its_instructions_need_a_known_kind() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;

    let unknown = wizard
        .send(
            Method::GET,
            "/setup/api/v1/provider/instructions?kind=saml",
            None,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_body(unknown).await.message.contains("kind"));

    // Secrets are bounded and single-line.
    let okta = app.aws.okta_org_base("initech").unwrap();
    for secret in ["a".repeat(1025), "line\nbreak".to_owned(), "   ".to_owned()] {
        let response = wizard
            .send(
                Method::POST,
                "/setup/api/v1/provider",
                Some(
                    json!({ "kind": "okta", "org_url": okta, "authorization_server": "default",
                             "client_id": "0oainitech0client0id", "client_secret": secret }),
                ),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error_body(response)
                .await
                .message
                .starts_with("client_secret:")
        );
    }

    // A body beyond the wizard's limit is refused before it is read.
    let huge = wizard
        .send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "a".repeat(64 * 1024) })),
        )
        .await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_body(huge).await.code, ErrorCode::PayloadTooLarge);
}
