#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Browser end-to-end tests: a person signs in through their organisation's identity provider, lands in
//! the right tenant (and only that one), sees clear errors, and signs out for good; in the workspace each
//! role is offered exactly the controls it may use, and an admin's changes land in the audit log.
//!
//! Run with the web app built (`cargo xtask build-web`), a container engine for Postgres, Chromium and
//! chromedriver: `DOCKER_HOST=tcp://127.0.0.1:2375 POSTGRES_IMAGE=local/postgres:15 cargo test -p e2e`.

use backend::db::members::MemberStatus;
use e2e::{ALICE, BOB, Browser, CAROL, DEMO_PASSWORD, ERIN, MALLORY, Nav, Page, Stack};
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

/// Writes `count` reports through the API with the browser session's cookies, as the app would (the
/// `Origin` header is what the CSRF check looks at).
async fn write_reports_through_the_api(
    stack: &Stack,
    cookies: &str,
    count: usize,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for number in 1..=count {
        let response = client
            .post(stack.url("/api/v1/reports"))
            .header(reqwest::header::COOKIE, cookies)
            .header(reqwest::header::ORIGIN, stack.app_url())
            .json(&serde_json::json!({
                "title": format!("Weekly note {number:02}"),
                "body": "Nothing to report.",
            }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::CREATED,
            "creating a report answered {}",
            response.status()
        );
    }
    Ok(())
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
    browser.readme_screenshot("sign-in-page", "sign-in").await?;
    browser.continue_with_email(ALICE).await?;
    let login_page = browser.wait_for_identity_provider().await?;
    assert!(
        login_page.as_str().starts_with(&stack.entra_base()),
        "Acme's users must be sent to Acme's Entra ID, not to {login_page}"
    );
    browser
        .readme_screenshot("entra-login", "entra-login")
        .await?;
    browser
        .sign_in_at_identity_provider(ALICE, DEMO_PASSWORD)
        .await?;

    let profile = browser.wait_for_profile().await?;
    browser.readme_screenshot("profile", "signed-in").await?;
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
    assert_eq!(
        browser.value_of("#email").await?,
        "someone@initech.example",
        "the sign-in form keeps what was typed, to be corrected rather than typed anew"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_link_is_kept_through_sign_in_and_the_typed_email_is_filled_in_at_the_identity_provider()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("deep_link").await?;

    browser.open(&stack.url("/members")).await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    browser.continue_with_email(ALICE).await?;
    browser.wait_for_identity_provider().await?;
    assert_eq!(
        browser.value_of("input[name=username]").await?,
        ALICE,
        "the email typed in the app reaches Entra ID as login_hint"
    );
    browser
        .sign_in_at_identity_provider(ALICE, DEMO_PASSWORD)
        .await?;

    browser.wait_for_page(Nav::Members).await?;
    assert_eq!(browser.current_url().await?.path(), "/members");
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

    browser.go_to(Nav::Members).await?;
    assert!(browser.page_text().await?.contains(ALICE));

    browser.sign_out().await?;
    browser.screenshot("signed-out").await?;
    assert!(
        browser
            .current_url()
            .await?
            .as_str()
            .starts_with(&stack.app_url())
    );

    // Back leads to the members page's address, but nothing of it comes back from a cache.
    browser.back().await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    assert_eq!(browser.current_url().await?.path(), "/members");
    assert!(!browser.has("#member-table").await?);
    assert!(!browser.page_text().await?.contains(ALICE));
    browser.screenshot("back-after-sign-out").await?;

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
async fn bob_signs_his_phone_out_alice_ends_his_last_session_and_sign_out_everywhere_ends_them_all()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let laptop = Browser::launch("sessions_laptop").await?;
    let phone = Browser::launch("sessions_phone").await?;
    for browser in [&laptop, &phone] {
        sign_in(browser, &stack, BOB).await?;
        browser.wait_for_page(Nav::Dashboard).await?;
    }

    // Bob's profile lists both browsers, this one marked, and signs the other one out.
    laptop.open(&stack.url("/profile")).await?;
    laptop.wait_for_element("#session-table").await?;
    assert_eq!(
        laptop.attrs_of(".session-row", "data-current").await?.len(),
        2
    );
    let this = laptop
        .text_of(".session-row[data-current='true'] .session-device")
        .await?;
    assert!(
        this.contains("Chrome") && this.contains("on Linux") && this.contains("This device"),
        "{this}"
    );
    assert!(
        !laptop
            .has(".session-row[data-current='true'] .end-session")
            .await?,
        "this browser signs out with the top bar's Sign out"
    );
    laptop.readme_screenshot("own-sessions", "sessions").await?;
    laptop
        .click(".session-row[data-current='false'] .end-session")
        .await?;
    laptop.wait_for_text("#notice", "Signed out Chrome").await?;
    laptop
        .wait_until_gone(".session-row[data-current='false']")
        .await?;

    // The phone is signed out at its very next step.
    phone.open(&stack.url("/reports")).await?;
    assert_eq!(phone.wait_for_app().await?, Page::SignIn);

    // Alice finds Bob's remaining session from the members page and ends it.
    sign_in(&phone, &stack, ALICE).await?;
    phone.go_to(Nav::Members).await?;
    phone
        .click("#member-table .member-row[data-member-email='bob@acme.example'] .member-sessions")
        .await?;
    phone.wait_for_element("#session-table").await?;
    assert_eq!(
        phone.text_of("#session-owner-email").await?,
        BOB,
        "{}",
        phone.page_text().await?
    );
    assert_eq!(
        phone.attrs_of(".session-row", "data-current").await?,
        ["false"]
    );
    phone.click("#end-all-sessions").await?;
    assert!(
        phone
            .confirmation_asked()
            .await?
            .contains("End all sessions of Bob")
    );
    phone.confirm().await?;
    phone.wait_for_text("#notice", "1 session of Bob").await?;
    phone.wait_for_element("#no-sessions").await?;
    phone.screenshot("bobs-sessions-ended").await?;
    laptop.open(&stack.url("/profile")).await?;
    assert_eq!(laptop.wait_for_app().await?, Page::SignIn);

    // Signed in again in both, Bob signs out everywhere from the laptop.
    phone.sign_out().await?;
    for browser in [&laptop, &phone] {
        sign_in(browser, &stack, BOB).await?;
        browser.wait_for_page(Nav::Dashboard).await?;
    }
    let laptop_cookies = laptop.cookie_header().await?;
    laptop.open(&stack.url("/profile")).await?;
    laptop.wait_for_element("#session-table").await?;
    laptop.click("#sign-out-everywhere").await?;
    laptop.confirm().await?;
    laptop.wait_for_element("#email").await?;
    assert_eq!(laptop.wait_for_app().await?, Page::SignIn);
    assert_eq!(me_status_with_cookies(&stack, &laptop_cookies).await?, 401);
    phone.open(&stack.url("/")).await?;
    assert_eq!(phone.wait_for_app().await?, Page::SignIn);
    phone.close().await?;
    laptop.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_survives_a_session_that_ends_and_is_saved_after_signing_in_again_at_the_same_page()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("draft_survives").await?;
    sign_in(&browser, &stack, BOB).await?;
    browser.wait_for_page(Nav::Dashboard).await?;
    browser.open(&stack.url("/reports/new")).await?;
    browser.fill("#report-title", "Quarterly numbers").await?;
    browser
        .fill("#report-body", "Revenue is up; costs are flat.")
        .await?;

    stack.end_all_sessions().await?;
    browser.click("#save-report").await?;
    let said = browser
        .wait_for_text("#session-ended", "session has ended")
        .await?;
    browser.screenshot("session-ended").await?;
    assert!(said.contains("kept"), "{said}");
    assert_eq!(browser.current_url().await?.path(), "/reports/new");

    browser.continue_with_email(BOB).await?;
    browser
        .sign_in_at_identity_provider(BOB, DEMO_PASSWORD)
        .await?;
    browser.wait_for_element("#draft-restored").await?;
    assert_eq!(browser.current_url().await?.path(), "/reports/new");
    assert_eq!(
        browser.value_of("#report-title").await?,
        "Quarterly numbers"
    );
    assert_eq!(
        browser.value_of("#report-body").await?,
        "Revenue is up; costs are flat."
    );
    browser.screenshot("draft-restored").await?;

    browser.click("#save-report").await?;
    browser.wait_for_report("Quarterly numbers").await?;
    // Saved, the draft is gone: a new report starts empty.
    browser.open(&stack.url("/reports/new")).await?;
    browser.wait_for_element("#report-title").await?;
    assert_eq!(browser.value_of("#report-title").await?, "");
    assert!(!browser.has("#draft-restored").await?);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keyboard_moves_through_sign_in_and_members_in_order_with_a_visible_focus_ring()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("keyboard").await?;
    // The ring's colour, indigo 700: about 7.9:1 against the white page.
    const RING: &str = "rgb(67, 56, 202)";

    browser.open(&stack.app_url()).await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    assert_eq!(
        browser.focused_id().await?,
        "email",
        "the email field starts focused"
    );
    browser.fill("#email", ALICE).await?;
    browser.press_tab().await?;
    assert_eq!(browser.focused_id().await?, "continue");
    let ring = browser.focus_indicator().await?;
    assert!(
        ring.style == "solid" && ring.width_px >= 2.0 && ring.color == RING && ring.in_view,
        "{ring:?}"
    );
    browser.press_enter().await?;
    browser
        .sign_in_at_identity_provider(ALICE, DEMO_PASSWORD)
        .await?;

    browser.wait_for_page(Nav::Dashboard).await?;
    browser.open(&stack.url("/members")).await?;
    browser.wait_for_page(Nav::Members).await?;
    // The first stop is "Skip to content", shown while it has the focus.
    browser.press_tab().await?;
    assert_eq!(browser.focused_id().await?, "skip-link");
    let ring = browser.focus_indicator().await?;
    assert!(ring.in_view && ring.style == "solid", "{ring:?}");
    browser.screenshot("skip-link").await?;
    browser.press_enter().await?;
    assert_eq!(browser.focused_id().await?, "main");
    // From the page itself, Tab reaches its own controls, each with the ring, and then leaves the page.
    let mut reached = Vec::new();
    for (id, ring) in browser.tab_stops(12, None).await? {
        assert!(
            ring.style == "solid" && ring.width_px >= 2.0 && ring.color == RING,
            "{ring:?}"
        );
        reached.push(id);
    }
    assert!(
        reached.iter().any(|id| id == "invite-from-members"),
        "the page's controls are reached: {reached:?}"
    );
    assert!(
        !reached.iter().any(|id| id.starts_with("nav-")),
        "after skipping, the navigation is behind: {reached:?}"
    );
    browser.screenshot("members-focus").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn at_phone_width_no_page_scrolls_sideways_and_the_top_bar_keeps_to_one_line()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("phone_width").await?;
    sign_in(&browser, &stack, ALICE).await?;
    browser.wait_for_page(Nav::Dashboard).await?;
    browser.set_window_size(390, 844).await?;

    let pages = [
        ("/", Some(Nav::Dashboard), "dashboard"),
        ("/reports", Some(Nav::Reports), "reports"),
        ("/reports/new", None, "new-report"),
        ("/files", Some(Nav::Files), "files"),
        ("/members", Some(Nav::Members), "members"),
        ("/invitations", Some(Nav::Invitations), "invitations"),
        ("/settings", Some(Nav::SignInSettings), "sign-in-settings"),
        ("/audit", Some(Nav::AuditLog), "audit-log"),
        ("/profile", None, "profile"),
    ];
    let alice_id = {
        let cookies = browser.cookie_header().await?;
        let (_, body) = me_with_cookies(&stack, &cookies).await?;
        serde_json::from_str::<Me>(&body)?.user.id
    };
    let alice_sessions = format!("/members/{alice_id}/sessions");
    let pages = pages
        .into_iter()
        .chain([(alice_sessions.as_str(), None, "member-sessions")]);
    let mut faults = Vec::new();
    for (path, nav, name) in pages {
        browser.open(&stack.url(path)).await?;
        match nav {
            Some(nav) => browser.wait_for_page(nav).await?,
            None => browser.wait_for_element("main h1").await?,
        }
        if name == "members" {
            browser
                .readme_screenshot("members-phone", "members-phone")
                .await?;
        } else {
            browser.screenshot(name).await?;
        }
        let overflow = browser.horizontal_overflow().await?;
        if overflow != 0 {
            let past = browser.elements_past_the_right_edge().await?;
            faults.push(format!("{path} scrolls {overflow} px sideways: {past:?}"));
        }
        let top_bar = browser.element_height(".topbar").await?;
        if top_bar > 64.0 {
            faults.push(format!("{path}: the top bar wraps ({top_bar} px high)"));
        }
    }
    assert!(faults.is_empty(), "at 390 px: {faults:#?}");

    // Back at the desktop width, nothing is left hidden that the phone layout hid.
    browser.set_window_size(1280, 900).await?;
    browser.open(&stack.url("/members")).await?;
    browser.wait_for_page(Nav::Members).await?;
    assert_eq!(browser.horizontal_overflow().await?, 0);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_or_export_after_the_session_ended_or_the_file_went_is_explained_in_the_app()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("downloads_in_the_app").await?;
    sign_in(&browser, &stack, ALICE).await?;
    browser.wait_for_page(Nav::Dashboard).await?;
    let cookies = browser.cookie_header().await?;
    let (_, body) = me_with_cookies(&stack, &cookies).await?;
    let me: Me = serde_json::from_str(&body)?;
    stack
        .record_earlier_upload(&me.tenant.id, &me.user.id, "minutes.pdf", 1_000)
        .await?;
    stack
        .record_earlier_upload(&me.tenant.id, &me.user.id, "agenda.pdf", 1_000)
        .await?;

    // Deleting asks first, then says it is done.
    browser.go_to(Nav::Files).await?;
    let agenda = "#file-list .file-item[data-file-name='agenda.pdf']";
    browser.click(&format!("{agenda} .file-delete")).await?;
    browser
        .click(&format!("{agenda} .file-confirm-delete"))
        .await?;
    browser
        .wait_for_text("#notice", "agenda.pdf was deleted for everyone.")
        .await?;
    browser.wait_until_gone(agenda).await?;

    // Someone deletes a file while it is on Alice's screen.
    let row = "#file-list .file-item[data-file-name='minutes.pdf']";
    let id = browser
        .attr_of(row, "data-file-id")
        .await?
        .expect("the row names its file");
    let deleted = reqwest::Client::new()
        .delete(stack.url(&format!("/api/v1/files/{id}")))
        .header(reqwest::header::COOKIE, &cookies)
        .header(reqwest::header::ORIGIN, stack.app_url())
        .send()
        .await?;
    assert_eq!(deleted.status(), reqwest::StatusCode::NO_CONTENT);
    browser.click(&format!("{row} .file-download")).await?;
    let said = browser
        .wait_for_text("#file-download-error", "no longer there")
        .await?;
    browser.screenshot("file-gone").await?;
    assert!(!said.contains('{'), "never the API's raw answer: {said}");
    assert_eq!(browser.current_url().await?.path(), "/files");

    // The session ends; the export leads to the sign-in page, which says so.
    write_reports_through_the_api(&stack, &cookies, 1).await?;
    browser.go_to(Nav::Reports).await?;
    stack.end_all_sessions().await?;
    browser.click("#export-csv").await?;
    browser
        .wait_for_text("#session-ended", "session has ended")
        .await?;
    assert_eq!(browser.current_url().await?.path(), "/reports");
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

#[tokio::test(flavor = "multi_thread")]
async fn alice_writes_edits_and_deletes_reports_and_erin_the_viewer_can_only_read_them()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("reports").await?;

    sign_in(&browser, &stack, ALICE).await?;
    let dashboard = browser.wait_for_dashboard().await?;
    assert_eq!(dashboard.plan, "pro");
    assert_eq!(dashboard.usage, "0 reports");
    assert!(dashboard.offers_new_report && dashboard.offers_csv_export);
    assert!(browser.offers_administration().await?);

    browser.go_to(Nav::Reports).await?;
    assert!(browser.has("#no-reports").await?);
    browser.click("#new-report").await?;
    // A title of spaces passes the browser's own check; the server refuses it and its message names the field.
    browser.submit_report("   ", "Numbers to follow.").await?;
    let refusal = browser.wait_for_text("#form-error", "title").await?;
    assert!(refusal.contains("200 characters"), "{refusal}");
    browser
        .submit_report("Q3 results", "Revenue is up.\nCosts are flat.")
        .await?;
    assert_eq!(
        browser.wait_for_report("Q3 results").await?,
        "Revenue is up.\nCosts are flat."
    );
    assert!(browser.has("#edit-report").await? && browser.has("#delete-report").await?);

    // The list links to the report, and the browser's back button returns to the list.
    browser.go_to(Nav::Reports).await?;
    assert_eq!(browser.report_titles().await?, ["Q3 results"]);
    browser.open_report("Q3 results").await?;
    assert!(browser.current_url().await?.path().starts_with("/reports/"));
    browser.back().await?;
    assert_eq!(browser.report_titles().await?, ["Q3 results"]);
    assert_eq!(browser.current_url().await?.path(), "/reports");

    browser.open_report("Q3 results").await?;
    browser.click("#edit-report").await?;
    assert_eq!(browser.value_of("#report-title").await?, "Q3 results");
    browser
        .submit_report("Q3 results (final)", "Revenue is up 12 %.")
        .await?;
    assert_eq!(
        browser.wait_for_report("Q3 results (final)").await?,
        "Revenue is up 12 %."
    );

    browser.go_to(Nav::Reports).await?;
    browser.click("#new-report").await?;
    browser
        .submit_report("Q4 plan", "Hire two engineers.")
        .await?;
    browser.wait_for_report("Q4 plan").await?;
    browser.go_to(Nav::Reports).await?;
    assert_eq!(
        browser.report_titles().await?,
        ["Q4 plan", "Q3 results (final)"],
        "newest first"
    );
    browser.readme_screenshot("reports", "reports").await?;

    // The export is fetched by the app and handed to the browser under the server's file name.
    browser.capture_downloads().await?;
    browser.click("#export-csv").await?;
    let saved = browser.saved_downloads().await?;
    assert_eq!(saved.len(), 1);
    let (name, csv) = &saved[0];
    assert!(
        name.starts_with("reports-acme-") && name.ends_with(".csv"),
        "{name}"
    );
    assert!(
        csv.contains("Q4 plan") && csv.contains("Q3 results (final)"),
        "{csv}"
    );

    browser.open_report("Q3 results (final)").await?;
    browser.click("#delete-report").await?;
    browser.click("#cancel-delete").await?;
    assert!(browser.has("#report").await?, "cancelling keeps the report");
    browser.click("#delete-report").await?;
    browser.click("#confirm-delete").await?;
    browser.wait_for_text("#notice", "was deleted").await?;
    assert_eq!(browser.report_titles().await?, ["Q4 plan"]);

    browser.go_to(Nav::Dashboard).await?;
    let dashboard = browser.wait_for_dashboard().await?;
    assert_eq!(dashboard.reports, "1");
    assert_eq!(dashboard.usage, "1 report");
    assert_eq!(
        dashboard.recent_titles.first().map(String::as_str),
        Some("Q4 plan")
    );
    browser.readme_screenshot("dashboard", "dashboard").await?;
    // Twenty more, so that the list has a second page.
    write_reports_through_the_api(&stack, &browser.cookie_header().await?, 20).await?;
    browser.sign_out().await?;

    // Erin, a viewer of the same organisation, reads the reports and is offered nothing else.
    sign_in(&browser, &stack, ERIN).await?;
    let dashboard = browser.wait_for_dashboard().await?;
    assert_eq!(dashboard.reports, "21");
    assert!(!dashboard.offers_new_report);
    assert!(!browser.offers_administration().await?);
    browser.go_to(Nav::Reports).await?;
    let first_page = browser.report_titles().await?;
    assert_eq!(first_page.len(), 20);
    assert_eq!(first_page[0], "Weekly note 20", "newest first");
    assert!(!first_page.contains(&"Q4 plan".to_owned()));
    browser.click("#load-more").await?;
    browser
        .wait_for_element("#report-list .report-item:nth-child(21)")
        .await?;
    let titles = browser.report_titles().await?;
    assert_eq!(titles.len(), 21);
    assert_eq!(titles[..20], first_page[..]);
    assert_eq!(titles[20], "Q4 plan");
    assert!(
        !browser.has("#load-more").await?,
        "the last page has no Load more"
    );
    assert!(!browser.has("#new-report").await?);
    assert_eq!(browser.open_report("Q4 plan").await?, "Hire two engineers.");
    assert!(!browser.has("#edit-report").await?);
    assert!(!browser.has("#delete-report").await?);
    browser.screenshot("viewer-report").await?;

    // Addresses typed by hand say why there is nothing to do there, never a blank page.
    for path in ["/reports/new", "/members", "/audit"] {
        browser.open(&stack.url(path)).await?;
        browser.wait_for_element("#not-allowed").await?;
        assert!(
            !browser
                .has("#report-form, #member-table, #audit-table")
                .await?
        );
    }
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn carol_on_the_basic_plan_sees_how_much_of_her_report_limit_is_used_and_no_csv_export()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("basic_plan").await?;

    sign_in(&browser, &stack, CAROL).await?;
    let dashboard = browser.wait_for_dashboard().await?;
    assert_eq!(dashboard.plan, "basic");
    assert_eq!(dashboard.usage, "0 of 10 reports");
    assert!(browser.has("#plan-meter").await?);
    // Every limit of the plan shows with its use before it is hit, and what the plan lacks says so.
    assert_eq!(
        browser.text_of("#plan-storage").await?,
        "0 B of 100.0 MB used"
    );
    assert!(browser.has("#storage-meter").await?);
    assert_eq!(browser.text_of("#plan-csv").await?, "Not on this plan");
    assert!(!dashboard.offers_csv_export);
    assert!(dashboard.offers_new_report);

    browser.go_to(Nav::Reports).await?;
    assert!(!browser.has("#export-csv").await?);
    assert_eq!(
        browser.text_of("#csv-not-on-plan").await?,
        "CSV export is not part of the basic plan"
    );
    browser.click("#new-report").await?;
    browser.submit_report("Globex weekly", "All quiet.").await?;
    browser.wait_for_report("Globex weekly").await?;
    assert!(!browser.has("#export-csv").await?);

    browser.go_to(Nav::Dashboard).await?;
    let dashboard = browser.wait_for_dashboard().await?;
    assert_eq!(dashboard.usage, "1 of 10 reports");
    assert_eq!(dashboard.recent_titles, ["Globex weekly"]);
    assert!(!dashboard.offers_csv_export);
    browser.screenshot("basic-plan-dashboard").await?;

    // When the session ends under an open workspace, the next page's API call leads to the sign-in page.
    browser.delete_cookies().await?;
    browser.click("#nav-reports").await?;
    assert_eq!(browser.wait_for_app().await?, Page::SignIn);
    assert!(!browser.has("#workspace").await?);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn alice_changes_bobs_role_handles_invitations_and_just_in_time_and_finds_it_all_in_the_audit_log()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("administration").await?;

    // Members exist from their first sign-in on.
    sign_in(&browser, &stack, BOB).await?;
    browser.wait_for_dashboard().await?;
    assert!(!browser.offers_administration().await?, "Bob is a member");
    browser.sign_out().await?;
    sign_in(&browser, &stack, ALICE).await?;
    browser.wait_for_dashboard().await?;

    browser.go_to(Nav::Members).await?;
    let bob = browser.member_row(BOB).await?;
    assert_eq!(bob.role, "member");
    assert_eq!(bob.role_source, "Identity provider groups");
    assert_eq!(bob.status, "active");
    assert_eq!(browser.member_row(ALICE).await?.role, "admin");

    // Alice is the only admin: demoting herself is refused with the server's reason, and her row still
    // says admin.
    browser.change_role(ALICE, "member").await?;
    let refusal = browser
        .wait_for_text("#members-error", "at least one active admin")
        .await?;
    assert_eq!(refusal, ErrorCode::LastAdmin.default_message());
    assert_eq!(browser.shown_role(ALICE).await?, "admin");
    assert_eq!(browser.member_row(ALICE).await?.role, "admin");

    // Granting admin and deactivating are asked about first; cancelling changes nothing.
    browser
        .choose(
            &format!("#member-table .member-row[data-member-email='{BOB}'] .member-role"),
            "admin",
        )
        .await?;
    assert_eq!(
        browser.confirmation_asked().await?,
        "Make Bob Brown an admin?"
    );
    browser.cancel_confirmation().await?;
    assert_eq!(browser.shown_role(BOB).await?, "member");
    browser.press_deactivate(BOB).await?;
    assert_eq!(browser.confirmation_asked().await?, "Deactivate Bob Brown?");
    browser.screenshot("confirm-deactivation").await?;
    browser.cancel_confirmation().await?;
    assert_eq!(browser.member_row(BOB).await?.status, "active");

    browser.change_role(BOB, "admin").await?;
    browser.wait_for_member_role(BOB, "admin").await?;
    browser
        .wait_for_text("#members-notice", "Bob Brown is now an admin.")
        .await?;
    assert!(!browser.has("#members-error").await?);
    assert_eq!(
        browser.member_row(BOB).await?.role_source,
        "Set by an admin"
    );
    browser.readme_screenshot("members", "members").await?;
    browser.reload().await?;
    browser.wait_for_member_role(BOB, "admin").await?;

    // The list is searched, filtered and sorted on the server.
    let emails =
        |rows: Vec<e2e::MemberRow>| rows.into_iter().map(|row| row.email).collect::<Vec<_>>();
    browser.fill("#member-search", "BROWN").await?;
    browser
        .wait_until_gone(&format!(
            "#member-table .member-row[data-member-email='{ALICE}']"
        ))
        .await?;
    assert_eq!(emails(browser.member_rows().await?), [BOB]);
    browser.fill("#member-search", "").await?;
    browser
        .choose("#member-status-filter", "deactivated")
        .await?;
    browser.wait_until_gone("#member-table .member-row").await?;
    browser.choose("#member-status-filter", "").await?;
    browser.choose("#member-role-filter", "admin").await?;
    browser.choose("#member-sort", "name").await?;
    browser
        .wait_for_element(&format!(
            "#member-table .member-row[data-member-email='{BOB}']"
        ))
        .await?;
    assert_eq!(emails(browser.member_rows().await?), [ALICE, BOB]);

    browser.go_to(Nav::Invitations).await?;
    assert!(browser.pending_invitations().await?.is_empty());
    browser
        .wait_for_text("#invite-domains", "acme.example")
        .await?;
    // An address that could never sign in here is refused, saying which domains can be invited.
    browser.invite("dana@gmail.com", "viewer").await?;
    let refusal = browser
        .wait_for_text("#invitation-error", "gmail.com")
        .await?;
    assert!(
        refusal.contains("Invite addresses in acme.example"),
        "{refusal}"
    );
    browser.invite("dana@acme.example", "viewer").await?;
    let sent = browser
        .wait_for_text("#invitation-sent", "dana@acme.example")
        .await?;
    assert!(sent.contains("No email is sent"), "{sent}");
    assert_eq!(browser.pending_invitations().await?, ["dana@acme.example"]);
    assert_eq!(
        browser.invitation_link("dana@acme.example").await?,
        stack.url("/auth/login?email=dana%40acme%2Eexample")
    );
    browser
        .readme_screenshot("invitations", "invitations")
        .await?;
    // A second open invitation for the same person is refused, in the server's words.
    browser.invite("dana@acme.example", "member").await?;
    browser
        .wait_for_text("#invitation-error", "open invitation")
        .await?;
    browser.withdraw_invitation("dana@acme.example").await?;
    browser.wait_for_element("#no-invitations").await?;
    browser
        .wait_for_text("#invitation-withdrawn", "dana@acme.example")
        .await?;

    browser.go_to(Nav::SignInSettings).await?;
    assert!(browser.is_checked("#just-in-time").await?, "on by default");
    assert_eq!(
        browser.texts_of(".verified-domain").await?,
        ["acme.example"]
    );
    browser.save_just_in_time(false).await?;
    browser.reload().await?;
    browser.wait_for_page(Nav::SignInSettings).await?;
    assert!(!browser.is_checked("#just-in-time").await?, "saved off");
    browser.save_just_in_time(true).await?;
    browser.reload().await?;
    browser.wait_for_page(Nav::SignInSettings).await?;
    assert!(browser.is_checked("#just-in-time").await?, "saved on again");

    // The group mapping editor: a row added and saved stays; removed and saved, it is gone.
    assert_eq!(
        browser.mapped_groups("acme-entra").await?,
        ["SaaS-Admins", "SaaS-Users"]
    );
    browser
        .add_mapping("acme-entra", "SaaS-Readers", "viewer")
        .await?;
    browser.save_settings().await?;
    browser.screenshot("sign-in-settings").await?;
    browser.reload().await?;
    browser.wait_for_page(Nav::SignInSettings).await?;
    assert_eq!(
        browser.mapped_groups("acme-entra").await?,
        ["SaaS-Admins", "SaaS-Readers", "SaaS-Users"]
    );
    browser.remove_mapping("acme-entra", "SaaS-Readers").await?;
    browser.save_settings().await?;
    browser.reload().await?;
    browser.wait_for_page(Nav::SignInSettings).await?;
    assert_eq!(
        browser.mapped_groups("acme-entra").await?,
        ["SaaS-Admins", "SaaS-Users"]
    );

    browser.go_to(Nav::AuditLog).await?;
    let rows = browser.audit_rows().await?;
    browser.readme_screenshot("audit-log", "audit-log").await?;
    let has = |action: &str, check: &dyn Fn(&e2e::AuditRow) -> bool| {
        rows.iter().any(|row| row.action == action && check(row))
    };
    assert!(
        has("sign_in", &|row| row.actor.contains("Alice Anderson")
            && row.details.contains("acme-entra")),
        "{rows:#?}"
    );
    assert!(
        !rows
            .iter()
            .any(|row| row.details.contains("client id")
                || row.details.contains("identity_provider")),
        "no internals in the log: {rows:#?}"
    );
    assert!(
        has("member_role_changed", &|row| row.target.contains(BOB)
            && row.details.contains("admin")),
        "{rows:#?}"
    );
    assert!(has("invitation_created", &|row| row
        .target
        .contains("dana@acme.example")));
    assert!(has("invitation_revoked", &|row| row
        .target
        .contains("dana@acme.example")));
    assert_eq!(
        rows.iter()
            .filter(|row| row.action == "settings_changed")
            .count(),
        4,
        "{rows:#?}"
    );
    assert!(has("settings_changed", &|row| row
        .details
        .contains("SaaS-Readers: viewer")));
    assert_eq!(rows[0].action, "settings_changed", "newest first");

    // Filters: by action, and by a range of days no event falls in.
    browser
        .choose("#audit-action", "member_role_changed")
        .await?;
    browser
        .wait_until_gone("#audit-table .audit-event:not([data-action='member_role_changed'])")
        .await?;
    let filtered = browser.audit_rows().await?;
    assert_eq!(filtered.len(), 1, "{filtered:#?}");
    browser.click("#clear-filters").await?;
    browser.set_value("#audit-until", "2000-01-01").await?;
    browser.wait_for_element("#no-events").await?;
    browser.click("#clear-filters").await?;
    browser.set_value("#audit-since", "2000-01-01").await?;
    browser.wait_until_gone("#no-events").await?;
    assert_eq!(browser.audit_rows().await?.len(), rows.len());

    // By target and by person; the filtered log exports as CSV; each event's whole record opens in place.
    browser.click("#clear-filters").await?;
    browser.set_value("#audit-target", "dana").await?;
    browser
        .wait_until_gone("#audit-table .audit-event:not([data-action^='invitation_'])")
        .await?;
    let about_dana = browser.audit_rows().await?;
    assert_eq!(
        about_dana.len(),
        2,
        "invited and withdrawn: {about_dana:#?}"
    );
    browser.capture_downloads().await?;
    browser.click("#export-audit-csv").await?;
    let saved = browser.saved_downloads().await?;
    let (name, csv) = &saved[0];
    assert!(
        name.starts_with("audit-acme-") && name.ends_with(".csv"),
        "{name}"
    );
    assert_eq!(
        csv.lines().count(),
        3,
        "a header and Dana's two events: {csv}"
    );
    browser
        .click("#audit-table .audit-event .audit-more")
        .await?;
    let record = browser.text_of("#audit-table .audit-record").await?;
    assert!(
        record.contains("invitation") && record.contains("dana@acme.example"),
        "{record}"
    );
    browser.click("#clear-filters").await?;
    let bob = browser.member_option_value("#audit-actor", BOB).await?;
    browser.choose("#audit-actor", &bob).await?;
    browser
        .wait_until_gone(&format!(
            "#audit-table .audit-event:not([data-actor-email='{BOB}'])"
        ))
        .await?;
    let by_bob = browser.audit_rows().await?;
    assert!(
        !by_bob.is_empty() && by_bob.iter().all(|row| row.actor.contains("Bob Brown")),
        "{by_bob:#?}"
    );
    assert!(browser.has("#audit-retention").await?);
    browser.close().await
}

/// `len` bytes that no compression or lucky alignment could pass off as another file's.
fn file_content(len: usize) -> Vec<u8> {
    testkit::rng::bytes(0x9e37_79b9_7f4a_7c15, len)
}

/// Follows a file's download link with the browser's cookies, as the browser does: a 303 from the app to a
/// short-lived presigned link on the bucket, then the bytes from there.
async fn download_through_the_app(
    stack: &Stack,
    browser: &Browser,
    href: &str,
) -> anyhow::Result<Vec<u8>> {
    let cookies = browser.cookie_header().await?;
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .get(stack.url(href))
        .header(reqwest::header::COOKIE, &cookies)
        .send()
        .await?;
    assert_eq!(answer.status(), reqwest::StatusCode::SEE_OTHER);
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with(&stack.s3_endpoint()) && location.contains("X-Amz-Signature="),
        "{location}"
    );
    let downloaded = reqwest::get(&location).await?;
    assert_eq!(downloaded.status(), reqwest::StatusCode::OK);
    Ok(downloaded.bytes().await?.to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn alice_uploads_twenty_megabytes_straight_to_storage_carol_never_sees_them_and_erin_cannot_upload()
-> anyhow::Result<()> {
    const NAME: &str = "site survey (raw).bin";
    const SIZE: usize = 20 * 1024 * 1024;
    let stack = Stack::start().await?;
    let browser = Browser::launch("files").await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(NAME);
    let content = file_content(SIZE);
    tokio::fs::write(&path, &content).await?;

    sign_in(&browser, &stack, ALICE).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;
    assert!(browser.has("#no-files").await?);
    assert!(browser.has("#upload-input").await? && browser.has("#upload-drop").await?);

    // At 5 MB/s the upload takes about four seconds: long enough to watch its progress bar.
    browser.limit_upload_speed(5_000_000).await?;
    browser.sample_upload_progress().await?;
    browser.choose_files(&[&path]).await?;
    browser
        .wait_for_element(".upload-item[data-status=\"uploading\"]")
        .await?;
    // A picture of the bar part-way (the page's own samples below are the proof it advances).
    browser
        .wait_for_progress_past(NAME, 4.0 * 1024.0 * 1024.0)
        .await?;
    browser.readme_screenshot("uploading", "files").await?;
    assert_eq!(browser.wait_for_upload(NAME).await?, "done");
    let samples = browser.progress_samples().await?;
    let between: Vec<f64> = samples
        .iter()
        .copied()
        .filter(|sent| *sent > 0.0 && *sent < SIZE as f64)
        .collect();
    assert!(
        between.len() >= 5,
        "the progress bar must advance through the upload, not jump to the end: {samples:?}"
    );
    assert_eq!(samples.last().copied(), Some(SIZE as f64), "{samples:?}");

    browser
        .wait_for_element(&format!(".file-item[data-file-name=\"{NAME}\"]"))
        .await?;
    browser.screenshot("uploaded").await?;
    let rows = browser.file_rows().await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.name, NAME);
    assert_eq!(row.size, "21.0 MB");
    assert!(row.uploader.contains("Alice"), "{row:?}");
    assert!(row.deletable);
    assert_eq!(row.href, format!("/api/v1/files/{}/download", row.id));
    assert_eq!(
        browser.text_of("#storage-usage").await?,
        "21.0 MB used",
        "Acme's pro plan has no quota"
    );

    let downloaded = download_through_the_app(&stack, &browser, &row.href).await?;
    assert!(
        downloaded.len() == content.len() && downloaded[..] == content[..],
        "the download must be byte-identical to the upload ({} of {} bytes)",
        downloaded.len(),
        content.len()
    );
    browser.sign_out().await?;

    // Carol, at Globex, sees only Globex's (empty) files.
    sign_in(&browser, &stack, CAROL).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;
    assert!(browser.has("#no-files").await?);
    assert!(browser.file_rows().await?.is_empty());
    assert!(!browser.page_text().await?.contains("site survey"));
    browser.sign_out().await?;

    // Erin, a viewer at Acme, sees and may download the file but is offered no upload, and the credentials
    // call the app would make is refused.
    sign_in(&browser, &stack, ERIN).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;
    let rows = browser.file_rows().await?;
    assert_eq!(
        rows.iter().map(|row| row.name.as_str()).collect::<Vec<_>>(),
        [NAME]
    );
    assert!(!rows[0].deletable);
    assert!(!browser.has("#upload-input").await? && !browser.has("#upload-drop").await?);
    assert!(
        browser
            .text_of("#upload-not-allowed")
            .await?
            .contains("Uploading needs the member or admin role"),
        "a viewer is told why there is nothing to upload with"
    );
    browser.screenshot("viewer").await?;
    assert_eq!(
        browser
            .fetch_from_page("POST", "/api/v1/storage/credentials")
            .await?,
        (403, Some(ErrorCode::InsufficientScope.as_str().to_owned()))
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_upload_leaves_nothing_a_short_outage_is_retried_and_a_long_one_says_so_and_resumes_with_retry()
-> anyhow::Result<()> {
    const DRAFT: &str = "draft.bin";
    const NOTES: &str = "notes.txt";
    const VIDEO: &str = "walkthrough.mp4";
    const SPEED: u32 = 5_000_000;
    let stack = Stack::start().await?;
    let browser = Browser::launch("files_resilience").await?;
    let dir = tempfile::tempdir()?;
    let draft = dir.path().join(DRAFT);
    tokio::fs::write(&draft, file_content(12 * 1024 * 1024)).await?;
    // Five parts: three go at once, two wait for their turn.
    let video = dir.path().join(VIDEO);
    let content = file_content(40 * 1024 * 1024 + 123);
    tokio::fs::write(&video, &content).await?;

    sign_in(&browser, &stack, BOB).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;
    browser.limit_upload_speed(SPEED).await?;

    // Cancelled part-way: nothing is recorded.
    browser.choose_files(&[&draft]).await?;
    browser
        .wait_for_progress_past(DRAFT, 1024.0 * 1024.0)
        .await?;
    browser.press_upload_button(DRAFT, "cancel").await?;
    let (status, shown) = browser.wait_for_upload_end(DRAFT).await?;
    assert_eq!(
        (status.as_str(), shown.as_str()),
        ("cancelled", "Cancelled")
    );
    browser.press_upload_button(DRAFT, "dismiss").await?;
    browser
        .wait_until_gone(&format!(".upload-item[data-upload-name=\"{DRAFT}\"]"))
        .await?;

    // A short outage: the request is tried again by itself and the file arrives without anyone pressing Retry.
    let notes = dir.path().join(NOTES);
    tokio::fs::write(&notes, b"Notes taken offline.").await?;
    browser.set_offline(true, SPEED).await?;
    browser.choose_files(&[&notes]).await?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        browser
            .attr_of(
                &format!(".upload-item[data-upload-name=\"{NOTES}\"]"),
                "data-status"
            )
            .await?
            .as_deref(),
        Some("uploading"),
        "offline, the first attempts fail and the upload waits to try again"
    );
    browser.set_offline(false, SPEED).await?;
    assert_eq!(browser.wait_for_upload(NOTES).await?, "done");

    // Cut off for longer, part-way: each request is tried again, then the file stops with the reason and a
    // way on.
    browser.choose_files(&[&video]).await?;
    browser
        .wait_for_progress_past(VIDEO, 1024.0 * 1024.0)
        .await?;
    browser.set_offline(true, SPEED).await?;
    let (status, shown) = browser.wait_for_upload_end(VIDEO).await?;
    browser.screenshot("cut-off").await?;
    assert_eq!(status, "failed");
    assert!(shown.contains("could not reach storage"), "{shown}");
    assert!(browser.has(".upload-retry").await?);

    // Back online, Retry sends what is missing and the file arrives whole.
    browser.set_offline(false, SPEED).await?;
    browser.press_upload_button(VIDEO, "retry").await?;
    assert_eq!(browser.wait_for_upload(VIDEO).await?, "done");
    browser
        .wait_for_element(&format!(".file-item[data-file-name=\"{VIDEO}\"]"))
        .await?;
    let rows = browser.file_rows().await?;
    assert_eq!(
        rows.iter().map(|row| row.name.as_str()).collect::<Vec<_>>(),
        [VIDEO, NOTES],
        "newest first; the cancelled draft was never recorded"
    );
    let downloaded = download_through_the_app(&stack, &browser, &rows[0].href).await?;
    assert!(
        downloaded == content,
        "the resumed upload must be byte-identical ({} of {} bytes)",
        downloaded.len(),
        content.len()
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_identity_pool_is_down_uploads_wait_then_say_so_and_go_up_once_it_is_back()
-> anyhow::Result<()> {
    const PLAN: &str = "plan.txt";
    const BRIEF: &str = "brief.txt";
    let stack = Stack::start().await?;
    let browser = Browser::launch("identity_pool_outage").await?;
    let dir = tempfile::tempdir()?;
    let plan = dir.path().join(PLAN);
    tokio::fs::write(&plan, b"The plan, written while Cognito Identity was down.").await?;
    let brief = dir.path().join(BRIEF);
    tokio::fs::write(&brief, b"A brief, sent through a short outage.").await?;

    sign_in(&browser, &stack, BOB).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;

    // Down for longer than the upload waits: it stops, says why, and offers Retry.
    stack.set_identity_pool_down(true).await?;
    browser.count_credential_requests().await?;
    browser.choose_files(&[&plan]).await?;
    let (status, shown) = browser.wait_for_upload_end(PLAN).await?;
    browser.screenshot("identity-pool-down").await?;
    assert_eq!(status, "failed");
    assert_eq!(
        shown,
        "Uploads are unavailable right now: the server could not get access to storage. Press Retry in \
         a moment."
    );
    assert!(
        browser.credential_requests().await? > 1,
        "the credentials were asked for again before the upload gave up"
    );
    assert!(browser.has(".upload-retry").await?);

    // Back: Retry sends the file.
    stack.set_identity_pool_down(false).await?;
    browser.press_upload_button(PLAN, "retry").await?;
    assert_eq!(browser.wait_for_upload(PLAN).await?, "done");

    // A short outage passes unnoticed: on a fresh page (no credentials yet), the upload waits for the
    // identity pool and goes up when it is back.
    browser.reload().await?;
    browser.wait_for_page(Nav::Files).await?;
    stack.set_identity_pool_down(true).await?;
    browser.choose_files(&[&brief]).await?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        browser
            .attr_of(
                &format!(".upload-item[data-upload-name=\"{BRIEF}\"]"),
                "data-status"
            )
            .await?
            .as_deref(),
        Some("uploading"),
        "the upload waits while the identity pool is down"
    );
    stack.set_identity_pool_down(false).await?;
    assert_eq!(browser.wait_for_upload(BRIEF).await?, "done");
    browser
        .wait_for_element(&format!(".file-item[data-file-name=\"{BRIEF}\"]"))
        .await?;
    let rows = browser.file_rows().await?;
    assert_eq!(
        rows.iter().map(|row| row.name.as_str()).collect::<Vec<_>>(),
        [BRIEF, PLAN]
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_larger_than_the_storage_left_is_refused_before_a_byte_is_sent_with_the_real_numbers()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let browser = Browser::launch("files_quota").await?;

    sign_in(&browser, &stack, CAROL).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;
    // Globex's basic plan stores 100 MB, none of it used yet.
    assert_eq!(
        browser.text_of("#storage-usage").await?,
        "0 B of 100.0 MB used"
    );
    browser
        .wait_for_text("#upload-limits", "100.0 MB of storage left")
        .await?;
    browser.count_credential_requests().await?;

    browser
        .drop_blank_file("recording.mp4", 106_000_000)
        .await?;
    let (status, shown) = browser.wait_for_upload_end("recording.mp4").await?;
    browser.screenshot("over-quota").await?;
    assert_eq!(status, "refused");
    assert_eq!(
        shown,
        "This file is 106.0 MB, more than the 100.0 MB of storage your plan has left (0 B of 100.0 MB \
         used). Delete files or ask your admin about a larger plan."
    );
    assert_eq!(
        browser.credential_requests().await?,
        0,
        "not a byte was sent"
    );
    let row = ".upload-item[data-upload-name=\"recording.mp4\"]";
    assert!(
        !browser.has(&format!("{row} .upload-retry")).await?,
        "retrying would not help"
    );
    browser.click(&format!("{row} .upload-dismiss")).await?;

    // With the quota used up by earlier uploads, even a small file is refused, with the numbers.
    let (_, body) = me_with_cookies(&stack, &browser.cookie_header().await?).await?;
    let me: Me = serde_json::from_str(&body)?;
    stack
        .record_earlier_upload(&me.tenant.id, &me.user.id, "archive.zip", 100_000_000)
        .await?;
    browser.reload().await?;
    browser.wait_for_page(Nav::Files).await?;
    browser
        .wait_for_text("#storage-usage", "100.0 MB of 100.0 MB used")
        .await?;
    browser
        .drop_file("minutes.txt", "Minutes of the board meeting.")
        .await?;
    let (status, shown) = browser.wait_for_upload_end("minutes.txt").await?;
    assert_eq!(status, "refused");
    assert!(
        shown.contains("more than the 0 B of storage your plan has left"),
        "{shown}"
    );
    assert_eq!(
        browser
            .file_rows()
            .await?
            .iter()
            .map(|row| row.name.as_str())
            .collect::<Vec<_>>(),
        ["archive.zip"]
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_close_to_expiry_are_renewed_before_the_next_part_goes_up() -> anyhow::Result<()>
{
    const VIDEO: &str = "onboarding.mp4";
    // Credentials that last five minutes and four seconds: the app renews them five minutes before they
    // expire, so from four seconds in. At 5 MB/s the first three parts take about five seconds, so the last two
    // need new ones.
    let stack = Stack::start_with(|aws| {
        aws.identity_pool.session_duration = std::time::Duration::from_secs(5 * 60 + 4);
    })
    .await?;
    let browser = Browser::launch("files_renewal").await?;
    let dir = tempfile::tempdir()?;
    let video = dir.path().join(VIDEO);
    let content = file_content(40 * 1024 * 1024);
    tokio::fs::write(&video, &content).await?;

    sign_in(&browser, &stack, BOB).await?;
    browser.wait_for_dashboard().await?;
    browser.go_to(Nav::Files).await?;
    browser.limit_upload_speed(5_000_000).await?;
    browser.count_credential_requests().await?;
    browser.choose_files(&[&video]).await?;
    assert_eq!(browser.wait_for_upload(VIDEO).await?, "done");
    let requests = browser.credential_requests().await?;
    assert!(
        requests >= 2,
        "the upload must have renewed its credentials before they ran out ({requests} request)"
    );
    browser
        .wait_for_element(&format!(".file-item[data-file-name=\"{VIDEO}\"]"))
        .await?;
    let rows = browser.file_rows().await?;
    let downloaded = download_through_the_app(&stack, &browser, &rows[0].href).await?;
    assert!(downloaded == content, "byte-identical after the renewal");
    browser.close().await
}

/// The pages a first visit does not need come as wasm modules of their own, fetched when first opened; one
/// that cannot be fetched (the connection dropped, or a new version of the app replaced the files the tab
/// started from) says so and leaves the rest of the app working, and Reload brings it once it is there.
#[tokio::test(flavor = "multi_thread")]
async fn pages_come_on_demand_and_one_that_cannot_be_fetched_says_so_and_comes_with_reload()
-> anyhow::Result<()> {
    let web_app = e2e::copy_of_the_web_app("on_demand")?;
    let stack = Stack::start_serving(web_app.clone(), |_| {}).await?;
    let browser = Browser::launch("on_demand").await?;
    sign_in(&browser, &stack, ALICE).await?;
    browser.wait_for_dashboard().await?;

    // The dashboard needs no on-demand module; the files page brings its own, with the upload code.
    let is_module = |name: &String| name.ends_with(".wasm") && name != "frontend_bg.wasm";
    let fetched = browser.fetched_file_names().await?;
    assert!(
        fetched.contains(&"frontend_bg.wasm".to_owned()),
        "{fetched:?}"
    );
    assert!(!fetched.iter().any(is_module), "{fetched:?}");
    browser.go_to(Nav::Files).await?;
    let fetched = browser.fetched_file_names().await?;
    assert!(
        fetched.contains(&"split_files.wasm".to_owned()),
        "{fetched:?}"
    );
    assert!(
        !fetched.contains(&"split_admin.wasm".to_owned()),
        "{fetched:?}"
    );

    // The administration pages' module is gone from the server.
    let app_dir = std::fs::read_dir(web_app.join("assets"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .expect("the app's directory of assets");
    let module_files: Vec<_> = ["", ".gz", ".br"]
        .iter()
        .map(|suffix| app_dir.join(format!("split_admin.wasm{suffix}")))
        .collect();
    let aside = |file: &std::path::PathBuf| {
        let mut name = file.as_os_str().to_owned();
        name.push(".aside");
        std::path::PathBuf::from(name)
    };
    for file in &module_files {
        std::fs::rename(file, aside(file))?;
    }
    browser.click("#nav-audit").await?;
    let said = browser
        .wait_for_text("#page-not-loaded", "could not be loaded")
        .await?;
    assert!(said.contains("Reload"), "{said}");
    assert_eq!(browser.current_url().await?.path(), "/audit");

    // The rest of the app goes on.
    browser.go_to(Nav::Reports).await?;
    browser.back().await?;
    browser.wait_for_element("#page-not-loaded").await?;

    // Back on the server: Reload shows the audit log.
    for file in &module_files {
        std::fs::rename(aside(file), file)?;
    }
    browser.click("#reload-app").await?;
    browser.wait_for_page(Nav::AuditLog).await?;
    assert!(!browser.has("#page-not-loaded").await?);
    browser.close().await?;
    drop(stack);
    std::fs::remove_dir_all(&web_app)?;
    Ok(())
}

/// The operator of the console journey.
const OPERATOR: &str = "ops@example.com";

/// Invites [`OPERATOR`] and walks their first sign-in in `console`: the temporary password from the invitation,
/// a new password, then the authenticator, whose code is computed from the secret the page shows, as an
/// authenticator app would.
async fn enrol_operator(stack: &Stack, console: &Browser) -> anyhow::Result<()> {
    let temporary = stack.invite_operator(OPERATOR).await?;
    console.open(&stack.url("/operator")).await?;
    console.click("#operator-sign-in").await?;
    console.fill("#username", OPERATOR).await?;
    console.fill("#password", &temporary).await?;
    console.click("form button[type=submit]").await?;
    console.wait_for_element("#password_confirmation").await?;
    let new_password = "Correct-Horse-Battery-9";
    console.fill("#password", new_password).await?;
    console.fill("#password_confirmation", new_password).await?;
    console.click("form button[type=submit]").await?;
    let secret = console.wait_for_text("#totp-secret", "").await?;
    let code = local_aws::totp_code(secret.trim(), std::time::SystemTime::now())
        .expect("the page shows a base32 secret");
    console.fill("#code", &code).await?;
    console.click("form button[type=submit]").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_enrols_then_creates_initech_suspends_acme_under_alice_and_deletes_initech()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let console = Browser::launch("operator_console").await?;
    enrol_operator(&stack, &console).await?;
    console.wait_for_text("#operator-email", OPERATOR).await?;
    console
        .wait_for_element("tr[data-tenant-slug=acme]")
        .await?;

    // Initech, with its first admin invited.
    console.fill("#tenant-name", "Initech").await?;
    assert_eq!(console.value_of("#tenant-slug").await?, "initech");
    console
        .fill("#tenant-admin-email", "peter@initech.example")
        .await?;
    console.click("#create-tenant").await?;
    console.wait_for_text("#tenant-title", "Initech").await?;
    assert!(
        console
            .text_of("#notice")
            .await?
            .contains("peter@initech.example")
    );
    assert_eq!(
        console.text_of("#tenant-sign-in-value").await?,
        "Not set up"
    );

    // Acme suspended while Alice is signed in: she is out at her next request, and cannot sign in again.
    let alice = Browser::launch("operator_console_alice").await?;
    sign_in(&alice, &stack, ALICE).await?;
    assert_eq!(alice.wait_for_app().await?, Page::Workspace);
    console.click("#console-home").await?;
    console
        .click("tr[data-tenant-slug=acme] a.tenant-link")
        .await?;
    console.click("#suspend-tenant").await?;
    console.click("#confirm-action").await?;
    console.wait_for_element("#resume-tenant").await?;
    alice.reload().await?;
    assert_eq!(alice.wait_for_app().await?, Page::SignIn);
    sign_in(&alice, &stack, ALICE).await?;
    assert_eq!(alice.wait_for_app().await?, Page::SignIn);
    assert!(alice.error_banner().await?.contains("suspended"));
    console.click("#resume-tenant").await?;
    console.wait_for_element("#suspend-tenant").await?;

    // Initech deleted after typing its slug; nothing of it remains.
    console.click("#console-home").await?;
    console
        .click("tr[data-tenant-slug=initech] a.tenant-link")
        .await?;
    console.wait_for_text("#tenant-title", "Initech").await?;
    let initech_id = console
        .current_url()
        .await?
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    console.fill("#delete-confirm", "initech").await?;
    console.click("#delete-tenant").await?;
    console
        .wait_for_text("#notice", "Initech was deleted")
        .await?;
    console
        .wait_until_gone("tr[data-tenant-slug=initech]")
        .await?;
    assert_eq!(stack.traces_of(&initech_id).await?, 0);

    // Every step is in the platform audit log.
    console.click("#nav-platform-audit").await?;
    console
        .wait_for_element(".platform-audit-row[data-action=tenant_deleted]")
        .await?;
    let actions = console
        .attrs_of(".platform-audit-row", "data-action")
        .await?;
    for action in [
        "operator_signed_in",
        "tenant_created",
        "tenant_suspended",
        "tenant_resumed",
        "tenant_deletion_started",
        "tenant_deleted",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }

    // Signing out of the console ends its session.
    console.click("#operator-sign-out").await?;
    console.wait_for_element("#operator-sign-in").await?;
    alice.close().await?;
    console.close().await
}

/// An operator (in a browser named after `test_name`) creates Initech, with Peter as its first admin, and a
/// set-up link for its IT admin; answers the link.
async fn initech_with_a_set_up_link(stack: &Stack, test_name: &str) -> anyhow::Result<String> {
    let console = Browser::launch(test_name).await?;
    enrol_operator(stack, &console).await?;
    console
        .wait_for_element("tr[data-tenant-slug=acme]")
        .await?;
    console.fill("#tenant-name", "Initech").await?;
    console
        .fill("#tenant-admin-email", "peter@initech.example")
        .await?;
    console.click("#create-tenant").await?;
    console.wait_for_text("#tenant-title", "Initech").await?;
    console.click("#new-setup-link").await?;
    console.wait_for_element("#setup-link-url").await?;
    let link = console.value_of("#setup-link-url").await?;
    assert!(link.contains("/setup#"), "{link}");
    console
        .wait_for_element(".setup-link[data-state=pending]")
        .await?;
    console.close().await?;
    Ok(link)
}

/// The set-up wizard by keyboard alone: Tab reaches its controls in the order of its steps, each showing the
/// focus ring; the arrow keys choose the provider's kind; Enter submits a step's form.
#[tokio::test(flavor = "multi_thread")]
async fn the_set_up_wizard_works_from_the_keyboard_with_a_visible_focus_ring() -> anyhow::Result<()>
{
    let stack = Stack::start().await?;
    let link = initech_with_a_set_up_link(&stack, "wizard_keyboard_operator").await?;
    let admin = Browser::launch("wizard_keyboard").await?;
    admin.open(&link).await?;
    admin.wait_for_element("#redirect-uri").await?;

    // Tab from the top of the page through steps 1 to 4.
    let mut reached = Vec::new();
    for (id, ring) in admin.tab_stops(30, Some("add-domain")).await? {
        assert!(
            ring.style == "solid" && ring.width_px >= 2.0 && ring.in_view,
            "{ring:?}"
        );
        reached.push(if id.is_empty() && ring.element.contains("copy-button") {
            "copy".to_owned()
        } else {
            id
        });
    }
    let expected = [
        "kind-okta",
        "redirect-uri",
        "copy",
        "org-url",
        "authorization-server",
        "client-id",
        "client-secret",
        "save-provider",
        "new-domain",
        "add-domain",
    ];
    let mut order = reached.iter();
    for stop in expected {
        assert!(
            order.any(|id| id == stop),
            "{stop} is reached in its step's order: {reached:?}"
        );
    }

    // The provider's kind by the arrow keys: the next choice is another OpenID Connect provider, whose
    // settings are its issuer.
    admin.click("#kind-okta").await?;
    admin.press_down().await?;
    assert_eq!(admin.focused_id().await?, "kind-oidc");
    assert!(admin.is_checked("#kind-oidc").await?);
    admin.wait_for_element("#issuer").await?;
    admin.click("#issuer").await?;
    admin.type_text("https://login.initech.example").await?;

    // A domain typed and submitted with Enter is claimed, and what step 3 holds unsaved is kept.
    admin.click("#new-domain").await?;
    admin.type_text("initech.example").await?;
    admin.press_enter().await?;
    admin
        .wait_for_element("li[data-domain='initech.example'][data-status=pending]")
        .await?;
    assert!(admin.is_checked("#kind-oidc").await?);
    assert_eq!(
        admin.value_of("#issuer").await?,
        "https://login.initech.example"
    );
    admin.screenshot("wizard-keyboard").await?;
    admin.close().await
}

/// The self-serve SSO journey: the operator hands Initech's IT admin a set-up link; the IT admin, without an
/// account, configures the `initech` Okta org, proves `initech.example` by DNS, runs a test sign-in and
/// activates; then Peter (Initech's first admin, invited when the tenant was created) signs in by email and
/// lands in Initech as its admin.
#[tokio::test]
async fn an_it_admin_sets_up_initechs_okta_from_a_link_and_peter_signs_in_to_initech()
-> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let link = initech_with_a_set_up_link(&stack, "self_serve_sso_operator").await?;

    // The IT admin opens it: no account, no session of the app.
    let admin = Browser::launch("self_serve_sso_it_admin").await?;
    admin.open(&link).await?;
    admin.wait_for_element("#step-kind").await?;
    assert!(
        !admin.current_url().await?.as_str().contains('#'),
        "the secret leaves the address bar"
    );
    admin.readme_screenshot("wizard", "sso-wizard").await?;

    // The provider: the initech Okta org, checked and saved for a test.
    admin.click("#kind-okta").await?;
    admin.wait_for_element("#redirect-uri").await?;
    assert!(
        admin
            .value_of("#redirect-uri")
            .await?
            .ends_with("/oauth2/idpresponse")
    );
    let org = stack
        .okta_org_base("initech")
        .expect("the initech org listens");
    admin.fill("#org-url", &org).await?;
    admin.fill("#authorization-server", "default").await?;
    admin.fill("#client-id", "0oainitech0client0id").await?;
    admin
        .fill("#client-secret", "local-demo-initech-okta-secret")
        .await?;
    admin.click("#save-provider").await?;
    admin
        .wait_for_element("#provider-saved[data-status=testing]")
        .await?;
    // A reload resumes with the saved settings shown (the secret excepted).
    admin.reload().await?;
    admin
        .wait_for_element("#provider-saved[data-status=testing]")
        .await?;
    assert_eq!(admin.value_of("#org-url").await?, org);
    assert_eq!(admin.value_of("#client-id").await?, "0oainitech0client0id");
    assert_eq!(admin.value_of("#client-secret").await?, "");

    // The domain, proven by the TXT record the page shows.
    admin.fill("#new-domain", "initech.example").await?;
    admin.click("#add-domain").await?;
    admin
        .wait_for_element("li[data-domain='initech.example'][data-status=pending]")
        .await?;
    let record_name = admin
        .value_of("li[data-domain='initech.example'] .record-name")
        .await?;
    let record_value = admin
        .value_of("li[data-domain='initech.example'] .record-value")
        .await?;
    // Verified before the record is published: the row says what the lookup found, and the domain waits.
    admin
        .click("li[data-domain='initech.example'] .verify-domain")
        .await?;
    admin
        .wait_for_text(
            "li[data-domain='initech.example'] [role=alert]",
            "No TXT record was found at _saas-verification.initech.example",
        )
        .await?;
    stack.publish_txt(&record_name, &record_value).await?;
    admin
        .click("li[data-domain='initech.example'] .verify-domain")
        .await?;
    admin
        .wait_for_element("li[data-domain='initech.example'][data-status=verified]")
        .await?;

    // A test sign-in as Peter: back in the wizard with what Okta sent; nobody joined.
    admin.click("#run-test").await?;
    admin
        .sign_in_at_identity_provider("peter@initech.example", DEMO_PASSWORD)
        .await?;
    admin
        .wait_for_text("#test-email", "peter@initech.example")
        .await?;
    assert!(admin.text_of("#test-groups").await?.contains("saas-admins"));
    admin
        .readme_screenshot("wizard-tested", "sso-wizard-tested")
        .await?;

    // saas-admins → admin: the test's result shows the role Peter would get; then activation.
    let saas_admins = "#test-groups li[data-group='saas-admins'] .group-role";
    assert_eq!(admin.text_of(saas_admins).await?, "viewer");
    assert!(admin.text_of("#test-role").await?.starts_with("viewer"));
    admin
        .choose(".mapping-row:first-child .mapping-role", "admin")
        .await?;
    admin.wait_for_text(saas_admins, "admin").await?;
    admin.wait_for_text("#test-role", "admin").await?;
    admin.click("#activate").await?;
    admin
        .wait_for_text("#setup-complete", "initech.example")
        .await?;

    // Peter signs in by email and lands in Initech, as its admin.
    let peter = Browser::launch("self_serve_sso_peter").await?;
    sign_in(&peter, &stack, "peter@initech.example").await?;
    let profile = peter.wait_for_profile().await?;
    assert_eq!(profile.tenant_name, "Initech");
    assert_eq!(profile.role, "admin");

    // His sign-in settings show the domain verified; removing it, which would stop his people's sign-in,
    // asks first, and Cancel keeps it.
    peter.click("#nav-settings").await?;
    let domain = "#domains li[data-domain='initech.example'][data-status=verified]";
    peter.wait_for_element(domain).await?;
    peter.click(&format!("{domain} .remove-domain")).await?;
    peter
        .wait_for_text("#confirm-title", "Remove initech.example?")
        .await?;
    assert!(
        peter
            .text_of("#confirm-message")
            .await?
            .contains("can no longer sign in")
    );
    peter.click("#cancel-action").await?;
    peter.wait_for_element(domain).await?;
    Ok(())
}
