//! The federated sign-in over HTTP: home-realm discovery, the code flow through the user pool and the tenant's
//! identity provider, and every way a callback can be forged, replayed or mixed up.

use reqwest::StatusCode;
use shared::{Plan, Role, Scope};

use backend::auth::pending;
use backend::auth::tokens::TokenCipher;

use crate::helpers::{
    ALICE, BOB, CAROL, DAVE, DemoUser, ERIN, FlowEnd, MALLORY, PASSWORD, TestApp, browser,
    browser_with_jar, error_code, location, pending_cookie,
};

async fn assert_no_session(app: &TestApp, browser: &reqwest::Client) {
    let response = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_demo_user_signs_in_and_sees_their_tenant_plan_role_and_scopes() {
    let app = TestApp::spawn().await;
    let cases: [(DemoUser, &str, Plan, &[Scope]); 5] = [
        (
            ALICE,
            "Acme Corp",
            Plan::Pro,
            &[Scope::Read, Scope::Write, Scope::Admin],
        ),
        (BOB, "Acme Corp", Plan::Pro, &[Scope::Read, Scope::Write]),
        (ERIN, "Acme Corp", Plan::Pro, &[Scope::Read]),
        (
            CAROL,
            "Globex",
            Plan::Basic,
            &[Scope::Read, Scope::Write, Scope::Admin],
        ),
        (DAVE, "Globex", Plan::Basic, &[Scope::Read]),
    ];
    for (user, tenant_name, plan, scopes) in cases {
        let me = app.sign_in(&user).await.me().await;
        assert_eq!(me.user.email, user.email);
        assert_eq!(me.user.name, user.name);
        assert_eq!(me.tenant.slug, user.tenant, "{}", user.email);
        assert_eq!(me.tenant.name, tenant_name);
        assert_eq!(me.tenant.plan, plan);
        assert_eq!(me.role, user.role, "{}", user.email);
        assert_eq!(me.scopes, scopes, "{}", user.email);
    }
}

#[tokio::test]
async fn a_directory_user_in_a_group_named_with_a_comma_and_saas_admin_does_not_become_admin() {
    let app = TestApp::spawn().await;
    // An Okta group whose name merely contains ", saas-admin" is one group, mapped to nothing (its name starts
    // with `saas-`, so the demo org's groups claim filter releases it).
    assert!(app.aws.update_okta_user(DAVE.email, |dave| {
        dave.groups = vec!["saas-x, saas-admin".to_owned()];
    }));
    let me = app.sign_in(&DAVE).await.me().await;
    assert_eq!(me.role, Role::Viewer);
    assert_eq!(me.scopes, [Scope::Read]);
    // The same for an Entra app role value.
    assert!(app.aws.update_entra_user(ERIN.email, |erin| {
        erin.app_roles = vec!["Staff, SaaS-Admins".to_owned()];
    }));
    let me = app.sign_in(&ERIN).await.me().await;
    assert_eq!(me.role, Role::Viewer);
}

#[tokio::test]
async fn mallory_signing_in_through_globex_lands_in_globex_never_acme() {
    let app = TestApp::spawn().await;
    let me = app
        .sign_in_with_query("org=globex", &MALLORY)
        .await
        .me()
        .await;
    assert_eq!(me.tenant.slug, "globex");
    assert_eq!(
        me.user.email, "mallory@acme.example",
        "the email is informational only"
    );
    assert_eq!(me.role, Role::Admin);
}

#[tokio::test]
async fn mallory_signing_in_by_her_acme_email_is_sent_to_acme_entra_which_refuses_her() {
    let app = TestApp::spawn().await;
    let browser = browser();
    let first = browser
        .get(app.url("/auth/login?email=mallory@acme.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let authorize = location(&first);
    assert!(
        authorize
            .query_pairs()
            .any(|(k, v)| k == "identity_provider" && v == "acme-entra"),
        "home-realm discovery routes by domain: {authorize}"
    );
    let end = app
        .walk(
            &browser,
            "email=mallory@acme.example",
            MALLORY.email,
            PASSWORD,
        )
        .await;
    assert!(
        matches!(end, FlowEnd::LoginRefused(_)),
        "Acme's Entra ID does not know Mallory: {end:?}"
    );
    assert_no_session(&app, &browser).await;
}

#[tokio::test]
async fn an_unknown_email_domain_is_sent_back_with_no_sign_in_for_domain() {
    let app = TestApp::spawn().await;
    let response = browser()
        .get(app.url("/auth/login?email=someone@unknown.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_str(),
        app.url("/?error=no_sign_in_for_domain")
    );
    let response = browser()
        .get(app.url("/auth/login?org=no-such-org"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&response).as_str(),
        app.url("/?error=no_sign_in_for_domain")
    );
    // Nothing was started: the walk ends back in the app before any identity provider.
    let end = app
        .walk(
            &browser(),
            "email=someone@unknown.example",
            "someone@unknown.example",
            PASSWORD,
        )
        .await;
    assert!(
        matches!(&end, FlowEnd::App(url) if url.query() == Some("error=no_sign_in_for_domain")),
        "{end:?}"
    );
}

#[tokio::test]
async fn an_invalid_email_is_sent_back_with_invalid_email() {
    let app = TestApp::spawn().await;
    for query in [
        "email=not-an-email",
        "email=alice%40",
        "email=%40acme.example",
        "email=",
        "",
    ] {
        let response = browser()
            .get(app.url(&format!("/auth/login?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(
            location(&response).as_str(),
            app.url("/?error=invalid_email"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn the_email_domain_is_matched_case_insensitively() {
    let app = TestApp::spawn().await;
    let response = browser()
        .get(app.url("/auth/login?email=Alice%40ACME.Example"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response)
            .query_pairs()
            .any(|(k, v)| k == "identity_provider" && v == "acme-entra")
    );
}

#[tokio::test]
async fn the_authorize_request_uses_the_code_flow_with_pkce_state_nonce_and_the_api_scopes() {
    let app = TestApp::spawn().await;
    let response = browser()
        .get(app.url("/auth/login?email=alice@acme.example"))
        .send()
        .await
        .unwrap();
    let authorize = location(&response);
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/oauth2/authorize?", app.aws.auth_domain()))
    );
    let params: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], app.config.cognito_client_id);
    assert_eq!(params["redirect_uri"], app.url("/auth/callback"));
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(params["code_challenge"].len() >= 43);
    assert!(params["state"].len() >= 16 && params["nonce"].len() >= 16);
    let scopes: Vec<&str> = params["scope"].split(' ').collect();
    for scope in [
        "openid",
        "email",
        "profile",
        "saas-api/read",
        "saas-api/write",
        "saas-api/admin",
    ] {
        assert!(scopes.contains(&scope), "{scope} requested");
    }
}

#[tokio::test]
async fn the_typed_email_is_the_login_hint_and_an_organisation_sign_in_sends_none() {
    let app = TestApp::spawn().await;
    let by_email = location(
        &browser()
            .get(app.url("/auth/login?email=%20alice@acme.example%20"))
            .send()
            .await
            .unwrap(),
    );
    let hint: Vec<String> = by_email
        .query_pairs()
        .filter(|(name, _)| name == "login_hint")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(hint, ["alice@acme.example"]);

    let by_org = location(
        &browser()
            .get(app.url("/auth/login?org=globex"))
            .send()
            .await
            .unwrap(),
    );
    assert!(
        !by_org.query_pairs().any(|(name, _)| name == "login_hint"),
        "{by_org}"
    );
}

#[tokio::test]
async fn a_wrong_password_creates_no_session() {
    let app = TestApp::spawn().await;
    let (browser, _) = browser_with_jar();
    let end = app
        .walk(
            &browser,
            "email=alice@acme.example",
            ALICE.email,
            "wrong-password",
        )
        .await;
    assert!(
        matches!(&end, FlowEnd::LoginRefused(page) if page.contains("role=\"alert\"")),
        "{end:?}"
    );
    assert_no_session(&app, &browser).await;
}

#[tokio::test]
async fn a_callback_without_a_pending_sign_in_or_state_is_refused_as_expired() {
    let app = TestApp::spawn().await;
    let browser = browser();
    let callback = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    // The code without its state, in the browser that started the sign-in.
    let mut without_state = url::Url::parse(&app.url("/auth/callback")).unwrap();
    without_state.query_pairs_mut().append_pair("code", &code);
    assert_eq!(
        error_code(&app.finish(&browser, &without_state).await).as_deref(),
        Some("sign_in_expired")
    );
    assert_no_session(&app, &browser).await;
    // A browser that never started a sign-in.
    assert_eq!(
        error_code(&app.finish(&crate::helpers::browser(), &callback).await).as_deref(),
        Some("sign_in_expired")
    );
}

#[tokio::test]
async fn a_callback_with_a_mismatched_state_is_refused_and_consumes_the_pending_sign_in() {
    let app = TestApp::spawn().await;
    let browser = browser();
    let callback = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    let mut forged = callback.clone();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "forged-state");
    assert_eq!(
        error_code(&app.finish(&browser, &forged).await).as_deref(),
        Some("sign_in_expired")
    );
    // The real callback now fails too: the pending sign-in was single use.
    assert_eq!(
        error_code(&app.finish(&browser, &callback).await).as_deref(),
        Some("sign_in_expired")
    );
    assert_no_session(&app, &browser).await;
}

#[tokio::test]
async fn a_callback_delivered_to_another_browser_is_refused() {
    let app = TestApp::spawn().await;
    let victim = browser();
    let callback = match app
        .walk(&victim, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    let attacker = browser();
    assert_eq!(
        error_code(&app.finish(&attacker, &callback).await).as_deref(),
        Some("sign_in_expired")
    );
    assert_no_session(&app, &attacker).await;
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let app = TestApp::spawn().await;
    let (browser, _) = browser_with_jar();
    let callback = match app
        .walk(&browser, "email=erin@acme.example", ERIN.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.finish(&browser, &callback).await, "/");
    assert_eq!(
        error_code(&app.finish(&browser, &callback).await).as_deref(),
        Some("sign_in_expired")
    );
    // A second browser replaying it gets nothing either.
    let other = crate::helpers::browser();
    assert_eq!(
        error_code(&app.finish(&other, &callback).await).as_deref(),
        Some("sign_in_expired")
    );
    assert_no_session(&app, &other).await;
}

#[tokio::test]
async fn a_pending_sign_in_cookie_copied_before_the_callback_signs_no_one_in_a_second_time() {
    let app = TestApp::spawn().await;
    let (browser, jar) = browser_with_jar();
    let callback = match app
        .walk(&browser, "email=erin@acme.example", ERIN.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    let copied = pending_cookie(&jar, &app.address).unwrap();
    assert_eq!(app.finish(&browser, &callback).await, "/");
    assert_eq!(
        pending_cookie(&jar, &app.address),
        None,
        "the callback cleared the pending sign-in"
    );

    // Another browser presents the copied cookie with the same callback: the state matches, but the code
    // was single use at the pool.
    let (thief, thief_jar) = browser_with_jar();
    thief_jar.add_cookie_str(
        &format!("saas_sign_in={copied}; Path=/"),
        &url::Url::parse(&app.address).unwrap(),
    );
    assert_eq!(
        error_code(&app.finish(&thief, &callback).await).as_deref(),
        Some("sign_in_failed")
    );
    assert_no_session(&app, &thief).await;
}

#[tokio::test]
async fn a_code_replayed_at_the_backend_under_a_fresh_state_is_refused_by_the_pool() {
    let app = TestApp::spawn().await;
    let (browser, _) = browser_with_jar();
    let first = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.finish(&browser, &first).await, "/");

    // A fresh browser starts its own sign-in (so it holds a valid pending state) and presents the used code.
    let replayer = crate::helpers::browser();
    let start = replayer
        .get(app.url("/auth/login?email=bob@acme.example"))
        .send()
        .await
        .unwrap();
    let state = location(&start)
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let code = first
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let mut replay = url::Url::parse(&app.url("/auth/callback")).unwrap();
    replay
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    assert_eq!(
        error_code(&app.finish(&replayer, &replay).await).as_deref(),
        Some("sign_in_failed")
    );
    assert_no_session(&app, &replayer).await;
}

#[tokio::test]
async fn a_code_from_another_pending_sign_in_fails_pkce_and_creates_no_session() {
    let app = TestApp::spawn().await;
    let (browser, _) = browser_with_jar();
    // Sign-in 1 runs to the callback but is not delivered; sign-in 2 in the same browser replaces it.
    let first = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    let second = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    // Code 1 under state 2: the state matches the pending sign-in, but code 1 was issued for another PKCE
    // challenge (and another nonce), so the exchange must fail.
    let code = first
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let state = second
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut mixed = url::Url::parse(&app.url("/auth/callback")).unwrap();
    mixed
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    assert_eq!(
        error_code(&app.finish(&browser, &mixed).await).as_deref(),
        Some("sign_in_failed")
    );
    assert_no_session(&app, &browser).await;
}

#[tokio::test]
async fn return_to_sends_the_user_back_to_a_relative_path_only() {
    let app = TestApp::spawn().await;
    let cases = [
        ("%2Freports%3Fpage%3D2", "/reports?page=2"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example%2F", "/"),
        ("%2F%5Cevil.example%2F", "/"),
        ("javascript%3Aalert(1)", "/"),
    ];
    for (return_to, expected) in cases {
        let (browser, _) = browser_with_jar();
        let query = format!("email=carol@globex.example&return_to={return_to}");
        let callback = match app.walk(&browser, &query, CAROL.email, PASSWORD).await {
            FlowEnd::Callback(url) => url,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            app.finish(&browser, &callback).await,
            expected,
            "return_to={return_to}"
        );
    }
}

#[tokio::test]
async fn an_error_from_the_pool_is_mapped_to_a_known_code_and_never_reflected() {
    let app = TestApp::spawn().await;
    for (description, expected) in [
        (
            "PreTokenGeneration failed with error membership_deactivated.",
            "membership_deactivated",
        ),
        ("<script>alert(1)</script>", "sign_in_failed"),
        (
            "PreTokenGeneration failed with error you-have-been-hacked.",
            "sign_in_failed",
        ),
    ] {
        let browser = browser();
        let start = browser
            .get(app.url("/auth/login?email=alice@acme.example"))
            .send()
            .await
            .unwrap();
        let state = location(&start)
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let mut callback = url::Url::parse(&app.url("/auth/callback")).unwrap();
        callback
            .query_pairs_mut()
            .append_pair("error", "invalid_request")
            .append_pair("error_description", description)
            .append_pair("state", &state);
        let landing = app.finish(&browser, &callback).await;
        assert_eq!(
            error_code(&landing).as_deref(),
            Some(expected),
            "{description}"
        );
        assert!(!landing.contains("script") && !landing.contains("hacked"));
    }
}

#[tokio::test]
async fn a_pending_sign_in_older_than_ten_minutes_is_refused_at_the_callback() {
    let app = TestApp::spawn().await;
    let (browser, jar) = browser_with_jar();
    let callback = match app
        .walk(&browser, "email=erin@acme.example", ERIN.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    // The user took eleven minutes at the identity provider: the browser's pending sign-in says it started
    // then (sealed again with the app's key, as only the app can).
    let cipher = TokenCipher::new(&app.config.session_encryption_key);
    let address = url::Url::parse(&app.address).unwrap();
    let mut pending = pending::SIGN_IN
        .open(&cipher, &pending_cookie(&jar, &app.address).unwrap())
        .expect("the browser holds the pending sign-in");
    pending.created_at -= 660;
    jar.add_cookie_str(
        &format!(
            "saas_sign_in={}; Path=/",
            pending::SIGN_IN.seal(&cipher, &pending).unwrap()
        ),
        &address,
    );
    assert_eq!(
        error_code(&app.finish(&browser, &callback).await).as_deref(),
        Some("sign_in_expired")
    );
    assert_no_session(&app, &browser).await;
}

#[tokio::test]
async fn a_database_failure_after_the_code_exchange_redirects_with_service_unavailable() {
    let app = TestApp::spawn().await;
    let (browser, _) = browser_with_jar();
    let callback = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    // The membership check after the exchange fails: the application role lost its grant on members.
    sqlx::raw_sql("REVOKE SELECT ON members FROM saas_app")
        .execute(&app.db.owner)
        .await
        .unwrap();
    let response = browser.get(callback).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a redirect, never JSON"
    );
    assert_eq!(
        location(&response).as_str(),
        app.url("/?error=service_unavailable")
    );
    sqlx::raw_sql("GRANT SELECT ON members TO saas_app")
        .execute(&app.db.owner)
        .await
        .unwrap();
    assert_no_session(&app, &browser).await;
}

/// Starts `user`'s sign-in at the backend and returns the user pool authorize URL it redirects to, with the
/// browser holding the pending sign-in.
async fn authorize_url(app: &TestApp, browser: &reqwest::Client, user: &DemoUser) -> url::Url {
    let response = browser
        .get(app.url(&format!("/auth/login?email={}", user.email)))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    location(&response)
}

/// `url` with the query parameter `name` set to `value`.
fn with_param(url: &url::Url, name: &str, value: &str) -> url::Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

#[tokio::test]
async fn an_id_token_whose_nonce_is_not_the_browsers_fails_the_sign_in_even_with_valid_state_and_pkce()
 {
    let app = TestApp::spawn().await;
    let (browser, _jar) = browser_with_jar();
    let authorize = authorize_url(&app, &browser, &BOB).await;
    assert!(authorize.query_pairs().any(|(k, _)| k == "nonce"));
    // Only the nonce changes: the state cookie, the state and the PKCE challenge are the browser's own, so
    // nothing but the ID token's nonce check can refuse this sign-in.
    let forged = with_param(&authorize, "nonce", "a-nonce-this-browser-never-made");
    let callback = match app.walk_from(&browser, forged, BOB.email, PASSWORD).await {
        FlowEnd::Callback(url) => url,
        other => panic!("the pool should issue a code: {other:?}"),
    };
    let landing = app.finish(&browser, &callback).await;
    assert_eq!(
        error_code(&landing).as_deref(),
        Some("sign_in_failed"),
        "{landing}"
    );
    assert_no_session(&app, &browser).await;

    // The control: the same walk with the nonce untouched succeeds.
    let (browser, _jar) = browser_with_jar();
    let authorize = authorize_url(&app, &browser, &BOB).await;
    let callback = match app
        .walk_from(&browser, authorize, BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("the pool should issue a code: {other:?}"),
    };
    assert_eq!(app.finish(&browser, &callback).await, "/");
}
