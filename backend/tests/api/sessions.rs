//! Server-side sessions: the cookie's flags, id rotation at sign-in, sign-out, the CSRF check, idle and
//! absolute expiry, and token refresh.

use std::time::Duration;

use backend::db::members::MemberStatus;
use reqwest::StatusCode;
use reqwest::header::{ORIGIN, SET_COOKIE};

use crate::helpers::{
    ALICE, BOB, DAVE, ERIN, FlowEnd, PASSWORD, TestApp, browser_with_jar, location, session_cookie,
};

/// A request for `path` that carries only the given session cookie.
async fn me_with_cookie(app: &TestApp, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("saas_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_rotated_at_sign_in() {
    let app = TestApp::spawn().await;
    let (browser, jar) = browser_with_jar();
    let callback = match app
        .walk(&browser, "email=alice@acme.example", ALICE.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    let before =
        session_cookie(&jar, &app.address).expect("the pending sign-in lives in a session");

    let response = browser.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("saas_session="))
        .expect("the sign-in sets the session cookie");
    let attributes: Vec<String> = set_cookie
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"httponly".to_owned()), "{set_cookie}");
    assert!(
        attributes.contains(&"samesite=lax".to_owned()),
        "{set_cookie}"
    );
    assert!(attributes.contains(&"path=/".to_owned()), "{set_cookie}");
    assert!(
        !attributes.contains(&"secure".to_owned()),
        "plain-http localhost gets no Secure flag: {set_cookie}"
    );
    assert!(!set_cookie.contains("eyJ"), "no token in the cookie");

    let after = session_cookie(&jar, &app.address).unwrap();
    assert_ne!(before, after, "the session id changes at sign-in");
    assert_eq!(me_with_cookie(&app, &after).await, StatusCode::OK);
    assert_eq!(
        me_with_cookie(&app, &before).await,
        StatusCode::UNAUTHORIZED,
        "the pre-sign-in id is dead"
    );
}

#[tokio::test]
async fn secure_cookies_are_set_when_configured() {
    let app = TestApp::spawn_with(Box::new(|config, _| config.cookie_secure = true)).await;
    let (browser, _) = browser_with_jar();
    let response = browser
        .get(app.url("/auth/login?email=alice@acme.example"))
        .send()
        .await
        .unwrap();
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        set_cookie.split(';').any(|a| a.trim() == "secure"),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn sign_out_deletes_the_session_and_redirects_to_the_pools_logout() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let cookie = signed_in.session_cookie().unwrap();

    let response = signed_in
        .browser
        .post(app.url("/auth/logout"))
        .header(ORIGIN, &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = location(&response);
    assert_eq!(
        target.as_str().split('?').next().unwrap(),
        format!("{}/logout", app.aws.auth_domain())
    );
    let params: std::collections::HashMap<String, String> =
        target.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], app.config.cognito_client_id);
    assert_eq!(params["logout_uri"], format!("{}/", app.address));
    let cleared = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        cleared.starts_with("saas_session=") && cleared.contains("max-age=0"),
        "cookie cleared: {cleared}"
    );

    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_with_cookie(&app, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "the old cookie is worthless"
    );
    // The pool's logout endpoint accepts where we sent the browser.
    let pool_logout = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = pool_logout.get(target).send().await.unwrap();
    assert!(
        answer.status().is_redirection(),
        "the pool accepts the logout: {}",
        answer.status()
    );
}

#[tokio::test]
async fn sign_out_without_the_apps_origin_is_rejected_as_cross_site() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&ERIN).await;
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let mut request = signed_in.browser.post(app.url("/auth/logout"));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "origin {origin:?}"
        );
        let body: shared::ErrorBody = response.json().await.unwrap();
        assert_eq!(body.code, shared::ErrorCode::CsrfRejected);
    }
    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::OK,
        "the session survives"
    );
    // Without Origin, the browser's Sec-Fetch-Site: same-origin is accepted.
    let response = signed_in
        .browser
        .post(app.url("/auth/logout"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = TestApp::spawn_with(Box::new(|config, _| {
        config.session_idle = time::Duration::seconds(3)
    }))
    .await;
    let signed_in = app.sign_in(&DAVE).await;
    let cookie = signed_in.session_cookie().unwrap();
    assert_eq!(signed_in.me_response().await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::OK,
        "activity keeps the session alive"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::OK,
        "activity keeps the session alive"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::UNAUTHORIZED,
        "idle too long"
    );
    assert_eq!(
        me_with_cookie(&app, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "expired server-side too"
    );
}

#[tokio::test]
async fn a_session_expires_at_its_absolute_limit_however_active() {
    let app = TestApp::spawn_with(Box::new(|config, _| {
        config.session_absolute = time::Duration::seconds(4)
    }))
    .await;
    let signed_in = app.sign_in(&DAVE).await;
    let cookie = signed_in.session_cookie().unwrap();
    for _ in 0..2 {
        assert_eq!(signed_in.me_response().await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_with_cookie(&app, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "deleted server-side"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_a_refused_refresh_ends_the_session() {
    // Access tokens live 8 s; the backend refreshes them 5 s before expiry.
    let app = TestApp::spawn_with(Box::new(|_, aws| {
        aws.clients.get_mut("web").unwrap().access_token_validity = Duration::from_secs(8);
    }))
    .await;
    let signed_in = app.sign_in(&BOB).await;
    let me = signed_in.me().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        signed_in.me().await,
        me,
        "the session refreshed its access token"
    );

    app.set_member_status(&me, MemberStatus::Deactivated).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let response = signed_in.me_response().await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "refresh refused by the trigger"
    );
    let body: shared::ErrorBody = response.json().await.unwrap();
    assert_eq!(body.code, shared::ErrorCode::MemberInactive);
    app.set_member_status(&me, MemberStatus::Active).await;
    assert_eq!(
        signed_in.me_response().await.status(),
        StatusCode::UNAUTHORIZED,
        "the session was ended"
    );
}
