//! Server-side sessions: the cookie's flags, id rotation at sign-in, sign-out, the CSRF check, idle and
//! absolute expiry, and token refresh.

use std::time::Duration;

use backend::auth::session::SessionStore;
use backend::db::members::MemberStatus;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ORIGIN, SET_COOKIE};
use shared::{ErrorBody, ErrorCode};
use testkit::fresh_database;
use tower_sessions::SessionStore as _;
use tower_sessions::session::{Id, Record};

use crate::helpers::{
    ALICE, BOB, CAROL, DAVE, ERIN, FlowEnd, PASSWORD, TestApp, browser_with_jar, location,
    session_cookie,
};

/// A request for `path` that carries only the given session cookie.
async fn me_with_cookie(app: &TestApp, cookie: &str) -> StatusCode {
    me_at(&app.address, cookie).await
}

/// `GET /api/v1/me` on the backend at `address` with only the given session cookie.
async fn me_at(address: &str, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{address}/api/v1/me"))
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
    assert_eq!(
        session_cookie(&jar, &app.address),
        None,
        "a sign-in in progress lives in its own cookie, not in a session"
    );

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

    let before = session_cookie(&jar, &app.address).unwrap();
    assert_eq!(me_with_cookie(&app, &before).await, StatusCode::OK);
    // Signing in again in the same browser gives the session a new id and kills the old one.
    let again = match app
        .walk(&browser, "email=alice@acme.example", ALICE.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.finish(&browser, &again).await, "/");
    let after = session_cookie(&jar, &app.address).unwrap();
    assert_ne!(before, after, "the session id changes at sign-in");
    assert_eq!(me_with_cookie(&app, &after).await, StatusCode::OK);
    assert_eq!(
        me_with_cookie(&app, &before).await,
        StatusCode::UNAUTHORIZED,
        "the previous id is dead"
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
        .to_owned();
    // Starting a sign-in sets the pending sign-in cookie; the session cookie follows the same rules
    // (`auth::session::cookie_name`).
    assert!(
        set_cookie.starts_with("__Host-saas_sign_in="),
        "a Secure cookie carries the __Host- prefix: {set_cookie}"
    );
    let attributes: Vec<String> = set_cookie
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"secure".to_owned()), "{set_cookie}");
    assert!(attributes.contains(&"path=/".to_owned()), "{set_cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn sign_out_deletes_the_session_and_redirects_to_the_pools_logout() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let cookie = signed_in.session_cookie().unwrap();

    let response = signed_in
        .send(reqwest::Method::POST, "/auth/logout", None)
        .await;
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
        aws.user_pool
            .clients
            .get_mut("web")
            .unwrap()
            .access_token_validity = Duration::from_secs(8);
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

#[tokio::test]
async fn a_save_after_the_session_was_deleted_does_not_bring_it_back() {
    let db = fresh_database().await;
    let store = SessionStore::new(db.app.clone());
    let mut record = Record {
        id: Id::default(),
        data: [("k".to_owned(), serde_json::json!("v"))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.unwrap();
    // A request that loaded the session before sign-out finishes after it.
    let in_flight = store.load(&record.id).await.unwrap().unwrap();
    store.delete(&record.id).await.unwrap();
    store.save(&in_flight).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(rows, 0, "nothing was written back");

    // An expired session is not revived by a save either.
    let mut expired = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(1),
    };
    store.create(&mut expired).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    expired.expiry_date = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    store.save(&expired).await.unwrap();
    assert_eq!(store.load(&expired.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_request_in_flight_during_sign_out_does_not_revive_the_session() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&CAROL).await;
    let cookie = signed_in.session_cookie().unwrap();
    let store = SessionStore::new(app.db.app.clone());
    let id: Id = cookie.parse().unwrap();
    let in_flight = store
        .load(&id)
        .await
        .unwrap()
        .expect("the session is stored");

    let response = signed_in
        .send(reqwest::Method::POST, "/auth/logout", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    store.save(&in_flight).await.unwrap();
    assert_eq!(
        me_with_cookie(&app, &cookie).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_session_table_holds_neither_the_cookie_nor_any_token_in_clear() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&ALICE).await;
    let cookie = signed_in.session_cookie().unwrap();
    let tokens = app.pool_tokens(&ALICE).await;

    let rows: Vec<(Vec<u8>, String)> =
        sqlx::query_as("SELECT id, data::text FROM tower_sessions.session")
            .fetch_all(&app.db.owner)
            .await
            .unwrap();
    assert!(!rows.is_empty());
    let keyed_by_hash: bool = sqlx::query_scalar(
        "SELECT EXISTS(SELECT 1 FROM tower_sessions.session WHERE id = sha256(convert_to($1, 'UTF8')))",
    )
    .bind(&cookie)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert!(
        keyed_by_hash,
        "the session is stored under the SHA-256 of its id"
    );
    for (id, data) in &rows {
        assert_ne!(id.as_slice(), cookie.as_bytes());
        assert!(!String::from_utf8_lossy(id).contains(&cookie));
        assert!(
            !data.contains(&cookie),
            "the cookie value is not in the data"
        );
        assert!(!contains_a_jwt(data), "no JWT in clear: {data}");
        let refresh_token = tokens.refresh_token.as_deref().unwrap_or("-");
        for token in [
            tokens.access_token.as_str(),
            tokens.id_token.as_str(),
            refresh_token,
        ] {
            assert!(!data.contains(token));
        }
    }
    let text_of_table: String = sqlx::query_scalar(
        "SELECT coalesce(string_agg(encode(id, 'escape') || data::text, ''), '') FROM tower_sessions.session",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert!(!text_of_table.contains(&cookie));
}

#[tokio::test]
async fn an_unreadable_session_is_ended_and_answers_401_not_503() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&ERIN).await;
    let cookie = signed_in.session_cookie().unwrap();
    // Session data another version of the backend wrote, or that was tampered with.
    let changed = sqlx::query(
        "UPDATE tower_sessions.session SET data = jsonb_set(data, '{signed_in}', '{\"member_id\": 42}') \
         WHERE id = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&cookie)
    .execute(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    // A backend that just started, with no copy of the session in memory.
    app.forget_session(&cookie);

    let response = signed_in.me_response().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::Unauthenticated
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tower_sessions.session WHERE id = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&cookie)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(left, 0, "the unreadable session was deleted");
}

#[tokio::test]
async fn a_signed_in_request_does_not_read_its_session_from_the_database() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let cookie = signed_in.session_cookie().unwrap();
    // The session table becomes unreadable for the application: only a copy in memory can answer.
    sqlx::query("REVOKE SELECT ON tower_sessions.session FROM saas_app")
        .execute(&app.db.owner)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(signed_in.me_response().await.status(), StatusCode::OK);
    }
    // An instance that has not seen the session has to read it, and cannot.
    let other = app.another_instance().await;
    assert_eq!(
        me_at(&other.address, &cookie).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn a_session_kept_in_memory_by_another_instance_ends_there_too_at_sign_out() {
    let app = TestApp::spawn().await;
    let other = app.another_instance().await;
    let signed_in = app.sign_in(&BOB).await;
    let cookie = signed_in.session_cookie().unwrap();
    assert_eq!(me_at(&other.address, &cookie).await, StatusCode::OK);
    assert_eq!(me_at(&other.address, &cookie).await, StatusCode::OK);

    let response = signed_in
        .send(reqwest::Method::POST, "/auth/logout", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me_at(&other.address, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "the other instance's copy is of a revoked sign-in"
    );
}

#[tokio::test]
async fn a_basic_authorization_header_is_no_exemption_from_the_csrf_check() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let response = signed_in
        .browser
        .post(app.url("/auth/logout"))
        .header(ORIGIN, "https://evil.example")
        .header(AUTHORIZATION, "Basic YWxpY2U6UGFzc3cwcmQh")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::CsrfRejected
    );
    assert_eq!(signed_in.me_response().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn put_patch_and_delete_with_the_cookie_from_a_foreign_origin_are_rejected() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&ALICE).await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        for path in ["/api/v1/me", "/api/v1/anything", "/auth/logout"] {
            let response = signed_in
                .browser
                .request(method.clone(), app.url(path))
                .header(ORIGIN, "https://evil.example")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(
                response.json::<ErrorBody>().await.unwrap().code,
                ErrorCode::CsrfRejected,
                "{method} {path}"
            );
        }
    }
    assert_eq!(signed_in.me_response().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refreshed_access_token_that_does_not_verify_ends_the_session() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    let app = TestApp::spawn_with(Box::new(|_, aws| {
        aws.user_pool
            .clients
            .get_mut("web")
            .unwrap()
            .access_token_validity = Duration::from_secs(8);
    }))
    .await;
    let signed_in = app.sign_in(&BOB).await;
    signed_in.me().await;
    // A token naming an unknown key makes the backend re-read the JWKS now; for the next ten seconds it
    // will not re-read it again. The pool then signs with a key the backend has not seen.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = B64.encode(r#"{"alg":"RS256","kid":"made-up-kid","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": app.aws.issuer(), "token_use": "access", "client_id": app.config.cognito_client_id,
        "sub": "x", "scope": "saas-api/read", "iat": now, "exp": now + 600,
    });
    let forged = format!(
        "{header}.{}.{}",
        B64.encode(claims.to_string()),
        B64.encode("sig")
    );
    assert_eq!(
        app.get_with_bearer("/api/v1/me", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.aws.keys().rotate_access_key();

    tokio::time::sleep(Duration::from_secs(4)).await;
    let response = signed_in.me_response().await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the refreshed token fails verification"
    );
    let cookie = signed_in.session_cookie();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(
        left, 0,
        "the session was ended, not kept for another refresh"
    );
    assert!(cookie.is_none(), "the cookie was cleared");
}

/// Redeems `refresh_token` at the pool with the web client's credentials: the status and JSON answer.
pub(crate) async fn redeem_refresh_token(
    app: &TestApp,
    refresh_token: &str,
) -> (StatusCode, serde_json::Value) {
    let web = app.aws.client("web").unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", app.aws.auth_domain()))
        .basic_auth(&web.client_id, Some(&web.client_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn sign_out_revokes_the_sessions_refresh_token_at_the_pool() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let cookie = signed_in.session_cookie().unwrap();
    let data: String = sqlx::query_scalar(
        "SELECT data::text FROM tower_sessions.session WHERE id = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&cookie)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let sealed = serde_json::from_value(data["signed_in"]["refresh_token"].clone()).unwrap();
    let refresh_token = backend::auth::tokens::TokenCipher::new(&app.config.session_encryption_key)
        .decrypt(&sealed, &cookie.parse::<Id>().unwrap())
        .unwrap();
    let (status, _) = redeem_refresh_token(&app, &refresh_token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session's refresh token works while signed in"
    );

    let response = signed_in
        .send(reqwest::Method::POST, "/auth/logout", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let (status, body) = redeem_refresh_token(&app, &refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

/// Whether `text` holds something shaped like a JWT: a base64url JSON header (`eyJ…`) followed by a dot. The
/// sealed session data is base64url too, where `eyJ` alone turns up by chance, but never a dot.
fn contains_a_jwt(text: &str) -> bool {
    text.match_indices("eyJ").any(|(at, _)| {
        text[at..]
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            == Some('.')
    })
}

#[test]
fn a_jwt_is_told_apart_from_sealed_data_that_happens_to_hold_eyj() {
    assert!(contains_a_jwt(
        r#"{"t": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}"#
    ));
    assert!(!contains_a_jwt(
        r#"{"t": "uM9feyJanBE_bWDb6Qu30BaVMxlGvdjW"}"#
    ));
}
