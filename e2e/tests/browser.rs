#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Browser end-to-end tests: a person signs in through their organisation's identity provider, lands in
//! the right tenant (and only that one), sees clear errors, and signs out for good.
//!
//! Run with the web app built (`cargo xtask build-web`), a container engine for Postgres, Chromium and
//! chromedriver: `DOCKER_HOST=tcp://127.0.0.1:2375 POSTGRES_IMAGE=local/postgres:15 cargo test -p e2e`.

use backend::db::members::MemberStatus;
use e2e::{ALICE, Browser, CAROL, DEMO_PASSWORD, MALLORY, Page, Stack};
use shared::api::Me;
use shared::{ErrorBody, ErrorCode};

/// Signs `email` in from the sign-in page through whichever identity provider the app routes to, and
/// returns the URL of that provider's login page.
async fn sign_in(browser: &Browser, stack: &Stack, email: &str) -> anyhow::Result<url::Url> {
    browser.open(&stack.app_url()).await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    browser.continue_with_email(email).await?;
    let login_page = browser.wait_for_identity_provider().await?;
    browser
        .sign_in_at_identity_provider(email, DEMO_PASSWORD)
        .await?;
    Ok(login_page)
}

/// `GET /api/v1/me` outside the browser, with exactly the cookies given: the status and the body.
async fn me_with_cookies(stack: &Stack, cookies: &str) -> anyhow::Result<(u16, String)> {
    let response = reqwest::Client::new()
        .get(stack.url("/api/v1/me"))
        .header(reqwest::header::COOKIE, cookies)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// The status of `GET /api/v1/me` with exactly the cookies given.
async fn me_status_with_cookies(stack: &Stack, cookies: &str) -> anyhow::Result<u16> {
    Ok(me_with_cookies(stack, cookies).await?.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn alice_signs_in_through_acmes_entra_id_and_sees_her_acme_profile() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("alice_signs_in").await?;

    browser.open(&stack.app_url()).await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    browser.screenshot("sign-in-page").await?;
    browser.continue_with_email(ALICE).await?;
    let login_page = browser.wait_for_identity_provider().await?;
    assert!(
        login_page.as_str().starts_with(&stack.entra_base()),
        "Acme's users must be sent to Acme's Entra ID, not to {login_page}"
    );
    browser.screenshot("entra-login").await?;
    browser
        .sign_in_at_identity_provider(ALICE, DEMO_PASSWORD)
        .await?;

    let profile = browser.wait_for_profile().await?;
    browser.screenshot("profile").await?;
    assert!(profile.name.contains("Alice"), "{profile:?}");
    assert_eq!(profile.email, ALICE);
    assert_eq!(profile.tenant_name, "Acme Corp");
    assert_eq!(profile.plan, "pro");
    assert_eq!(profile.role, "admin");
    assert_eq!(profile.scopes, ["read", "write", "admin"]);
    assert!(
        browser
            .current_url()
            .await?
            .as_str()
            .starts_with(&stack.app_url())
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn carol_signs_in_through_globex_okta_and_sees_her_globex_profile() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("carol_signs_in").await?;

    let login_page = sign_in(&browser, &stack, CAROL).await?;
    assert!(
        login_page.as_str().starts_with(&stack.okta_base()),
        "Globex's users must be sent to Globex's Okta, not to {login_page}"
    );

    let profile = browser.wait_for_profile().await?;
    browser.screenshot("profile").await?;
    assert!(profile.name.contains("Carol"), "{profile:?}");
    assert_eq!(profile.email, CAROL);
    assert_eq!(profile.tenant_name, "Globex");
    assert_eq!(profile.plan, "basic");
    assert_eq!(profile.role, "admin");
    assert_eq!(profile.scopes, ["read", "write", "admin"]);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn mallory_with_an_acme_address_from_globex_okta_is_refused_by_acme_and_lands_only_in_globex()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("mallory_lands_in_globex").await?;

    // Her email's domain routes her to Acme's Entra ID, which does not know her.
    browser.open(&stack.app_url()).await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    assert!(!browser.page_text().await?.contains("Acme Corp"));
    browser.continue_with_email(MALLORY).await?;
    let login_page = browser.wait_for_identity_provider().await?;
    assert!(
        login_page.as_str().starts_with(&stack.entra_base()),
        "{login_page}"
    );
    browser
        .sign_in_at_identity_provider(MALLORY, DEMO_PASSWORD)
        .await?;
    let refusal = browser.identity_provider_error().await?;
    browser.screenshot("refused-by-acme-entra").await?;
    assert!(!refusal.trim().is_empty());
    assert!(
        browser
            .current_url()
            .await?
            .as_str()
            .starts_with(&stack.entra_base())
    );

    // Through her own organisation's sign-in she lands in Globex, whatever her email says.
    browser.open(&stack.url("/auth/login?org=globex")).await?;
    let login_page = browser.wait_for_identity_provider().await?;
    assert!(
        login_page.as_str().starts_with(&stack.okta_base()),
        "{login_page}"
    );
    browser
        .sign_in_at_identity_provider(MALLORY, DEMO_PASSWORD)
        .await?;
    let profile = browser.wait_for_profile().await?;
    browser.screenshot("profile-in-globex").await?;
    assert_eq!(profile.tenant_name, "Globex");
    assert_eq!(profile.email, MALLORY);
    assert!(profile.name.contains("Mallory"), "{profile:?}");
    assert!(!browser.page_text().await?.contains("Acme Corp"));

    // A reload asks the server again; the session is still Globex's.
    browser.reload().await?;
    assert_eq!(browser.wait_for_profile().await?.tenant_name, "Globex");
    assert!(!browser.page_text().await?.contains("Acme Corp"));
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_shows_the_identity_providers_error_and_creates_no_session()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("wrong_password").await?;

    browser.open(&stack.app_url()).await?;
    browser.continue_with_email(ALICE).await?;
    browser
        .sign_in_at_identity_provider(ALICE, "not-her-password")
        .await?;
    let error = browser.identity_provider_error().await?;
    browser.screenshot("entra-error").await?;
    assert!(error.contains("incorrect"), "{error}");
    assert!(
        browser
            .current_url()
            .await?
            .as_str()
            .starts_with(&stack.entra_base())
    );

    browser.open(&stack.app_url()).await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    browser.screenshot("still-signed-out").await?;
    assert_eq!(
        me_status_with_cookies(&stack, &browser.cookie_header().await?).await?,
        401
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_domain_no_organisation_has_set_up_shows_a_clear_message() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("unknown_domain").await?;

    browser.open(&stack.app_url()).await?;
    browser
        .continue_with_email("someone@initech.example")
        .await?;
    let banner = browser.error_banner().await?;
    browser.screenshot("unknown-domain").await?;
    assert_eq!(banner, ErrorCode::NoSignInForDomain.default_message());
    assert!(!banner.contains("initech"));
    assert!(
        browser
            .current_url()
            .await?
            .as_str()
            .starts_with(&stack.app_url())
    );
    assert!(
        browser.has("#email").await?,
        "the sign-in form stays available to try again"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn after_sign_out_a_reload_shows_the_sign_in_page_and_the_old_cookie_is_dead()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("sign_out").await?;

    sign_in(&browser, &stack, ALICE).await?;
    assert_eq!(browser.wait_for_profile().await?.tenant_name, "Acme Corp");
    let cookies = browser.cookie_header().await?;
    assert_eq!(
        me_status_with_cookies(&stack, &cookies).await?,
        200,
        "the captured cookies carry the session"
    );

    browser.sign_out().await?;
    browser.screenshot("signed-out").await?;
    assert!(
        browser
            .current_url()
            .await?
            .as_str()
            .starts_with(&stack.app_url())
    );

    browser.reload().await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    assert!(!browser.has("#user-name").await?);
    browser.screenshot("reloaded").await?;
    assert_eq!(
        me_status_with_cookies(&stack, &cookies).await?,
        401,
        "the old session cookie must be revoked"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_member_sees_why_and_gets_back_in_with_try_again_once_reactivated()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("deactivated_member").await?;

    sign_in(&browser, &stack, ALICE).await?;
    browser.wait_for_profile().await?;
    let cookies = browser.cookie_header().await?;
    let (_, body) = me_with_cookies(&stack, &cookies).await?;
    let me: Me = serde_json::from_str(&body)?;

    stack
        .set_member_status(&me.tenant.id, &me.user.id, MemberStatus::Deactivated)
        .await?;
    let (status, body) = me_with_cookies(&stack, &cookies).await?;
    assert_eq!(status, 403);
    let refusal: ErrorBody = serde_json::from_str(&body)?;
    assert_eq!(refusal.code, ErrorCode::MemberInactive);

    browser.reload().await?;
    assert_eq!(browser.wait_for_app().await?, Page::LoadError);
    browser.screenshot("membership-deactivated").await?;
    assert_eq!(
        browser.text_of("#problem-message").await?,
        refusal.message,
        "the server's own message is shown"
    );
    assert!(browser.has("#retry").await?);
    assert!(
        browser.has("#sign-out").await?,
        "a deactivated member can still sign out"
    );
    assert!(!browser.has("#user-name").await?);

    stack
        .set_member_status(&me.tenant.id, &me.user.id, MemberStatus::Active)
        .await?;
    browser.retry().await?;
    let profile = browser.wait_for_profile().await?;
    browser.screenshot("reactivated").await?;
    assert_eq!(profile.tenant_name, "Acme Corp");
    browser.close().await
}
