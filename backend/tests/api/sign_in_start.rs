//! What an anonymous client can make the server keep: starting a sign-in writes nothing (the pending sign-in
//! is a sealed cookie), starts are rate-limited per client address, and the tokens in a session row are bound
//! to that session.

use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, SET_COOKIE};
use shared::{ErrorBody, ErrorCode};

use crate::helpers::{ALICE, BOB, TestApp};

const START: &str = "/auth/login?email=alice@acme.example";

async fn session_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&app.db.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_thousand_anonymous_sign_in_starts_write_no_session_row() {
    // The tests' backend allows 10,000 starts a minute from one address.
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..1000 {
        let response = client.get(app.url(START)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookies: Vec<&str> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect();
        assert!(
            cookies.len() == 1 && cookies[0].starts_with("saas_sign_in="),
            "only the pending sign-in cookie: {cookies:?}"
        );
    }
    assert_eq!(session_rows(&app).await, 0);
}

#[tokio::test]
async fn sign_in_starts_beyond_the_limit_of_one_address_are_refused_with_429_and_retry_after() {
    let app = TestApp::spawn_with(Box::new(|config, _| {
        config.sign_in_starts_per_minute = 3;
    }))
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..3 {
        let response = client.get(app.url(START)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let refused = client.get(app.url(START)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let body: ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::TooManyRequests);
    // Invalid addresses count as well: probing domains costs the same allowance.
    let invalid = client
        .get(app.url("/auth/login?email=nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn tokens_copied_from_one_session_row_into_another_do_not_decrypt_there() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let mallory = app.sign_in(&BOB).await;
    // Someone who can write the session table gives their own session Alice's sealed tokens and identity.
    let copied = sqlx::query(
        "UPDATE tower_sessions.session SET data = \
           (SELECT data FROM tower_sessions.session WHERE id = sha256(convert_to($1, 'UTF8'))) \
         WHERE id = sha256(convert_to($2, 'UTF8'))",
    )
    .bind(alice.session_cookie().unwrap())
    .bind(mallory.session_cookie().unwrap())
    .execute(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(copied.rows_affected(), 1);
    // The row as it now is, read by a backend that has no copy of the session in memory (a restart, or
    // another instance).
    app.forget_session(&mallory.session_cookie().unwrap());

    let response = mallory.me_response().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::Unauthenticated
    );
    assert_eq!(
        alice.me().await.user.name,
        ALICE.name,
        "Alice's own session is untouched"
    );
}
