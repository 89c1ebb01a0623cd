//! Nothing secret in the logs: a whole sign-in, API calls, a token refresh and a sign-out are run with every
//! log event of the backend and the stand-ins captured at the most verbose level, and none of the secrets
//! involved appears in them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::helpers::{ALICE, PASSWORD, TestApp};

/// Every formatted log line, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_token_cookie_password_or_secret_reaches_the_logs() {
    let captured = Captured::default();
    // The test runs on one thread (the default test runtime), and so do the backend and the stand-ins it
    // spawns: a thread-local subscriber sees all of their events without affecting other tests.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let cookie = alice.session_cookie().unwrap();
    let response = alice
        .send(
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": "Logged?", "body": "No."})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let tokens = app.pool_tokens(&ALICE).await;
    let bearer = app
        .get_with_bearer("/api/v1/me", &tokens.access_token)
        .await;
    assert_eq!(bearer.status(), StatusCode::OK);
    let refused = app
        .get_with_bearer("/api/v1/me", &format!("{}x", tokens.access_token))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let response = alice
        .send(reqwest::Method::POST, "/auth/logout", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("signed out"),
        "the capture works and saw the backend's events"
    );
    let web = app.aws.client("web").unwrap();
    let refresh_token = tokens.refresh_token.clone().unwrap();
    let secrets = [
        ("the session cookie", cookie.as_str()),
        ("an access token", tokens.access_token.as_str()),
        ("an ID token", tokens.id_token.as_str()),
        ("a refresh token", refresh_token.as_str()),
        ("the web client secret", web.client_secret.as_str()),
        (
            "the backend's AWS secret key",
            app.config
                .aws_credentials
                .as_ref()
                .unwrap()
                .secret_access_key
                .expose(),
        ),
        ("the demo password", PASSWORD),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        // A token's signature is its secret part; its header alone would match every token of the pool.
        let needle = secret.rsplit('.').next().unwrap_or(secret);
        assert!(!logs.contains(needle), "{what} appears in the logs");
    }
}
