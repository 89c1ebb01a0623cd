//! Revoked sign-ins: a browser's sign-out, `POST /auth/revoke` for bearer clients and a tenant-wide cut-off make
//! every access token of the sign-in refused at once, cached by the verifier or not, by every backend instance;
//! the same user's other sign-ins keep working.

use reqwest::StatusCode;
use reqwest::header::ORIGIN;
use shared::{ErrorBody, ErrorCode};
use tower_sessions::session::Id;

use crate::helpers::{ALICE, BOB, CAROL, ExtraBackend, SignedIn, TestApp};
use crate::sessions::redeem_refresh_token;

const ME: &str = "/api/v1/me";

/// The status and error code of an answer.
async fn error_of(response: reqwest::Response) -> (StatusCode, ErrorCode) {
    let status = response.status();
    let body: ErrorBody = response.json().await.unwrap();
    (status, body.code)
}

/// `POST /auth/revoke` with `token` as the bearer token.
async fn revoke(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/auth/revoke"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The access token kept (encrypted) in a browser's session, as someone who obtained it would hold it.
pub(crate) async fn session_access_token(app: &TestApp, signed_in: &SignedIn) -> String {
    let cookie = signed_in.session_cookie().unwrap();
    let data: serde_json::Value = sqlx::query_scalar(
        "SELECT data FROM tower_sessions.session WHERE id = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&cookie)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    let sealed = serde_json::from_value(data["signed_in"]["access_token"].clone()).unwrap();
    backend::auth::tokens::TokenCipher::new(&app.config.session_encryption_key)
        .decrypt(&sealed, &cookie.parse::<Id>().unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_revoked_sign_ins_bearer_tokens_are_refused_at_once_even_cached_and_refreshed_while_another_sign_in_works()
 {
    let app = TestApp::spawn().await;
    let revoked = app.pool_tokens(&ALICE).await;
    let other = app.pool_tokens(&ALICE).await;
    // Both tokens are verified, and so sit in the verifier's cache.
    for tokens in [&revoked, &other] {
        assert_eq!(
            app.get_with_bearer(ME, &tokens.access_token).await.status(),
            StatusCode::OK
        );
    }

    assert_eq!(
        revoke(&app, &revoked.access_token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        error_of(app.get_with_bearer(ME, &revoked.access_token).await).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
        "the cached token of the revoked sign-in"
    );
    assert_eq!(
        app.get_with_bearer(ME, &other.access_token).await.status(),
        StatusCode::OK,
        "the same user's other sign-in"
    );

    // The refresh token still works at the pool, but what it issues belongs to the revoked sign-in.
    let (status, body) =
        redeem_refresh_token(&app, revoked.refresh_token.as_deref().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refreshed = body["access_token"].as_str().unwrap();
    assert_ne!(refreshed, revoked.access_token);
    assert_eq!(
        error_of(app.get_with_bearer(ME, refreshed).await).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
        "a token refreshed from the revoked sign-in"
    );

    // Revoking again is harmless; revoking needs a token that verifies.
    assert_eq!(
        revoke(&app, &revoked.access_token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(revoke(&app, "not-a-token").await, StatusCode::UNAUTHORIZED);
    let without_token = reqwest::Client::new()
        .post(app.url("/auth/revoke"))
        .header(ORIGIN, &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(without_token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_browser_sessions_access_token_is_refused_as_a_bearer_token_once_the_browser_signs_out() {
    let app = TestApp::spawn().await;
    let browser = app.sign_in(&BOB).await;
    let token = session_access_token(&app, &browser).await;
    let elsewhere = app.pool_tokens(&BOB).await;
    assert_eq!(
        app.get_with_bearer(ME, &token).await.status(),
        StatusCode::OK
    );

    let response = browser
        .send(reqwest::Method::POST, "/auth/logout", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        error_of(app.get_with_bearer(ME, &token).await).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated)
    );
    assert_eq!(
        app.get_with_bearer(ME, &elsewhere.access_token)
            .await
            .status(),
        StatusCode::OK,
        "Bob's sign-in elsewhere is not signed out"
    );
}

#[tokio::test]
async fn a_revocation_recorded_by_one_backend_instance_is_enforced_by_another() {
    let app = TestApp::spawn().await;
    let other_instance = ExtraBackend::spawn(app.config.clone()).await.unwrap();
    let tokens = app.pool_tokens(&ALICE).await;
    let at_other = || async {
        reqwest::Client::new()
            .get(other_instance.url(ME))
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(at_other().await.status(), StatusCode::OK);

    assert_eq!(
        revoke(&app, &tokens.access_token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        error_of(at_other().await).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
        "the other instance had the token cached as verified"
    );
}

#[tokio::test]
async fn a_tenant_wide_cut_off_refuses_the_tenants_earlier_sign_ins_and_no_other_tenants() {
    let app = TestApp::spawn().await;
    let alice = app.pool_tokens(&ALICE).await;
    let carol = app.pool_tokens(&CAROL).await;
    // What suspending a tenant will do: every sign-in of Acme so far ends.
    sqlx::query("UPDATE tenants SET sign_ins_revoked_before = now() WHERE slug = 'acme'")
        .execute(&app.db.owner)
        .await
        .unwrap();

    assert_eq!(
        error_of(app.get_with_bearer(ME, &alice.access_token).await).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated)
    );
    assert_eq!(
        app.get_with_bearer(ME, &carol.access_token).await.status(),
        StatusCode::OK,
        "Globex is untouched"
    );
}

#[tokio::test]
async fn expired_revocations_are_purged_when_the_tenant_records_another() {
    let app = TestApp::spawn().await;
    let first = app.pool_tokens(&ALICE).await;
    let second = app.pool_tokens(&BOB).await;
    assert_eq!(
        revoke(&app, &first.access_token).await,
        StatusCode::NO_CONTENT
    );
    // The first entry outlived every token of its sign-in.
    sqlx::query("UPDATE revoked_sign_ins SET expires_at = now() - INTERVAL '1 second'")
        .execute(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(
        revoke(&app, &second.access_token).await,
        StatusCode::NO_CONTENT
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM revoked_sign_ins")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(left, 1, "only the live revocation is kept");
}
