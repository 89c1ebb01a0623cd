//! The operators' console: operators sign in through their own pool (new password and authenticator at the
//! first sign-in), reach `/operator/api/v1/*` with a session of their own or a bearer token of their pool,
//! and sign out; operators and tenant members never cross, in either direction, by token or by session.

use std::sync::Arc;

use backend::api;
use backend::auth::session::{OPERATOR_SIGNED_IN_KEY, SIGNED_IN_KEY};
use backend::config::AwsKey;
use backend::console::principal::OperatorSignedIn;
use backend::operators::{OperatorAccounts, OperatorAdminSettings};
use backend::state::AppState;
use backend::verifier::VerifyError;
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::{Client, Method, StatusCode};
use shared::api::OperatorMe;
use shared::{ErrorBody, ErrorCode};
use testkit::sign_in::{OperatorCredentials, walk_operator};
use tower_sessions::SessionStore as _;
use tower_sessions::session::Id;
use url::Url;

use crate::helpers::{ALICE, FlowEnd, TestApp, browser_with_jar, location};

pub const OPS: &str = "ops@example.com";
const NEW_PASSWORD: &str = "Correct-Horse-Battery-9";

/// A browser signed in to the console.
pub struct Console {
    browser: Client,
    jar: Arc<Jar>,
    address: String,
}

impl Console {
    pub async fn send(&self, method: Method, path: &str) -> reqwest::Response {
        self.send_json(method, path, None).await
    }

    /// Sends a request as the console's pages do (with the app's `Origin`), with `body` as JSON if given.
    pub async fn send_json(
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

    /// The console session cookie, which the browser sends to `/operator` paths only.
    fn session_cookie(&self) -> Option<String> {
        cookie_at(
            &self.jar,
            &format!("{}/operator/api/v1/me", self.address),
            "saas_operator_session",
        )
    }
}

/// The value of the cookie `name` that `jar` would send to `url`.
fn cookie_at(jar: &Jar, url: &str, name: &str) -> Option<String> {
    let header = jar.cookies(&Url::parse(url).unwrap())?;
    let prefix = format!("{name}=");
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|pair| pair.strip_prefix(prefix.as_str()))
        .map(str::to_owned)
}

/// Invites `email` as an operator with the operator administrators' key, as `backend operators add` does;
/// the credentials carry the emailed temporary password.
pub async fn invite_operator(app: &TestApp, email: &str) -> OperatorCredentials {
    let (key, secret) = app.aws.operator_admin_key();
    let settings = OperatorAdminSettings {
        user_pool_id: app
            .aws
            .user_pool("operators")
            .unwrap()
            .user_pool_id()
            .to_owned(),
        endpoint: Some(Url::parse(&app.aws.user_pool_endpoint()).unwrap()),
        credentials: Some(AwsKey::long_term(key, secret)),
    };
    OperatorAccounts::new(&settings)
        .await
        .add(email)
        .await
        .unwrap();
    let invitation = app
        .aws
        .outbox()
        .messages_to(email)
        .pop()
        .expect("an invitation");
    let temporary = invitation
        .body
        .split("temporary password is ")
        .nth(1)
        .and_then(|rest| rest.split(". ").next())
        .unwrap()
        .to_owned();
    OperatorCredentials {
        email: email.to_owned(),
        password: temporary,
        new_password: NEW_PASSWORD.to_owned(),
        totp_secret: None,
    }
}

/// Walks the console's sign-in from `/operator/auth/login?<query>` to the callback and follows it; returns
/// the signed-in browser, where the backend sent it, and the enrolled authenticator's secret.
pub async fn sign_in_operator(
    app: &TestApp,
    credentials: &OperatorCredentials,
    query: &str,
) -> (Console, Url, Option<String>) {
    let (browser, jar) = browser_with_jar();
    let start = Url::parse(&app.url(&format!("/operator/auth/login{query}"))).unwrap();
    let flow = walk_operator(&browser, start, &app.address, credentials)
        .await
        .unwrap();
    let FlowEnd::Callback(callback) = flow.end else {
        panic!(
            "the operator's sign-in did not reach the callback: {:?}",
            flow.end
        );
    };
    let landing = browser.get(callback).send().await.unwrap();
    assert!(landing.status().is_redirection(), "{}", landing.status());
    let console = Console {
        browser,
        jar,
        address: app.address.clone(),
    };
    (console, location(&landing), flow.totp_secret)
}

/// The operator's access token, as the backend keeps it in the console session.
async fn operator_access_token(state: &AppState, cookie: &str) -> String {
    let id: Id = cookie.parse().unwrap();
    let record = state.sessions.load(&id).await.unwrap().unwrap();
    let signed_in: OperatorSignedIn =
        serde_json::from_value(record.data[OPERATOR_SIGNED_IN_KEY].clone()).unwrap();
    state
        .tokens
        .decrypt(&signed_in.tokens.access_token, &id)
        .unwrap()
}

pub async fn error_body(response: reqwest::Response) -> ErrorBody {
    response.json::<ErrorBody>().await.unwrap()
}

#[tokio::test]
async fn an_invited_operator_sets_a_password_and_an_authenticator_and_lands_in_the_console() {
    let app = TestApp::spawn().await;
    let credentials = invite_operator(&app, OPS).await;

    let (console, landing, secret) =
        sign_in_operator(&app, &credentials, "?return_to=/operator/tenants").await;
    assert_eq!(landing.as_str(), app.url("/operator/tenants"));
    assert!(secret.is_some(), "the authenticator was set up");
    let me: OperatorMe = console
        .send(Method::GET, "/operator/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me.email.as_deref(), Some(OPS));
    assert!(!me.id.is_empty());

    // The console's cookie is the console's alone: sent to /operator, never to the tenant app.
    assert!(console.session_cookie().is_some());
    assert_eq!(
        cookie_at(
            &console.jar,
            &app.url("/api/v1/me"),
            "saas_operator_session"
        ),
        None
    );
    let tenant_api = console.send(Method::GET, "/api/v1/me").await;
    assert_eq!(tenant_api.status(), StatusCode::UNAUTHORIZED);

    // A later sign-in asks for the password and a code from the authenticator.
    let returning = OperatorCredentials {
        password: NEW_PASSWORD.to_owned(),
        totp_secret: secret,
        ..credentials
    };
    let (_, landing, _) = sign_in_operator(&app, &returning, "?return_to=/reports").await;
    assert_eq!(
        landing.as_str(),
        app.url("/operator"),
        "an operator's sign-in never lands in the tenant app"
    );
}

#[tokio::test]
async fn signing_out_ends_the_console_session_and_every_token_of_it() {
    let app = TestApp::spawn().await;
    let credentials = invite_operator(&app, OPS).await;
    let (console, _, _) = sign_in_operator(&app, &credentials, "").await;
    let state = app.backend_state();
    let token = operator_access_token(&state, &console.session_cookie().unwrap()).await;
    let bearer = app.get_with_bearer("/operator/api/v1/me", &token).await;
    assert_eq!(bearer.status(), StatusCode::OK);
    let me: OperatorMe = bearer.json().await.unwrap();
    assert_eq!(me.email, None, "a bearer token carries no email");

    let signed_out = console.send(Method::POST, "/operator/auth/logout").await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let to = location(&signed_out);
    assert_eq!(
        to.as_str().split('?').next(),
        Some(
            format!(
                "{}/logout",
                app.aws.user_pool("operators").unwrap().auth_domain()
            )
            .as_str()
        )
    );
    let params: std::collections::HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], app.config.operators.client_id);
    assert_eq!(params["logout_uri"], app.url("/operator"));

    let after = console.send(Method::GET, "/operator/api/v1/me").await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let revoked = app.get_with_bearer("/operator/api/v1/me", &token).await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    let body = error_body(revoked).await;
    assert_eq!(body.code, ErrorCode::Unauthenticated);
    assert!(
        body.message.contains("This sign-in has ended"),
        "{}",
        body.message
    );
}

#[tokio::test]
async fn a_console_callback_without_this_browsers_sign_in_returns_to_the_console_with_a_code() {
    let app = TestApp::spawn().await;
    let (browser, _) = browser_with_jar();
    let response = browser
        .get(app.url("/operator/auth/callback?code=stolen&state=guessed"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&response).as_str(),
        app.url("/operator?error=sign_in_expired")
    );

    // A tenant's pending sign-in is no operator's: started at /auth/login, it does not complete here.
    let (tenant_browser, jar) = browser_with_jar();
    let started = tenant_browser
        .get(app.url("/auth/login?email=alice@acme.example"))
        .send()
        .await
        .unwrap();
    assert!(started.status().is_redirection());
    let pending = crate::helpers::pending_cookie(&jar, &app.address).unwrap();
    let forged = crate::helpers::browser()
        .get(app.url("/operator/auth/callback?code=x&state=y"))
        .header("cookie", format!("saas_operator_sign_in={pending}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&forged).as_str(),
        app.url("/operator?error=sign_in_expired")
    );
}

#[tokio::test]
async fn operators_and_tenant_members_never_cross_by_token_or_by_session() {
    let app = TestApp::spawn().await;
    let state = app.backend_state();
    let credentials = invite_operator(&app, OPS).await;
    let (console, _, _) = sign_in_operator(&app, &credentials, "").await;
    let operator_cookie = console.session_cookie().unwrap();
    let operator_token = operator_access_token(&state, &operator_cookie).await;
    let alice = app.sign_in(&ALICE).await;
    let alice_cookie = alice.session_cookie().unwrap();
    let alice_token = app.pool_tokens(&ALICE).await.access_token;

    // Each side's verifier knows only its own pool: the other's tokens stop at the issuer check, before any
    // key is fetched (a member token's missing operator scope, or an operator token's missing tenant, is not
    // what keeps them out).
    assert!(matches!(
        state.verifier.verify(&operator_token).await,
        Err(VerifyError::UnknownIssuer)
    ));
    assert!(matches!(
        state.console.verifier.verify(&alice_token).await,
        Err(VerifyError::UnknownIssuer)
    ));

    let operator_routes = backend::console::api::v1(state.clone()).routes().to_vec();
    assert!(!operator_routes.is_empty());
    // Positive control: the operator's own token and session work.
    for auth in [
        Auth::Bearer(&operator_token),
        Auth::Cookie("saas_operator_session", &operator_cookie),
    ] {
        let own = request(&app, &Method::GET, "/operator/api/v1/me", auth).await;
        assert_eq!(own.status(), StatusCode::OK);
    }
    for route in &operator_routes {
        let path = format!(
            "/operator/api/v1{}",
            route
                .path
                .replace("{id}", "00000000-0000-4000-8000-000000000000")
        );
        for (what, auth) in [
            ("a member's bearer token", Auth::Bearer(&alice_token)),
            (
                "a member's session cookie",
                Auth::Cookie("saas_session", &alice_cookie),
            ),
            (
                "a member's session id as the console's cookie",
                Auth::Cookie("saas_operator_session", &alice_cookie),
            ),
        ] {
            let response = request(&app, &route.method, &path, auth).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{} {path} with {what}",
                route.method
            );
        }
    }

    // Every tenant route refuses the operator, by token and by session, before it looks at any id.
    for route in api::v1(state.clone()).routes() {
        let path = format!(
            "/api/v1{}",
            route
                .path
                .replace("{id}", "00000000-0000-4000-8000-000000000000")
                .replace("{session_id}", "00000000-0000-4000-8000-000000000000")
        );
        for (what, auth) in [
            ("an operator's bearer token", Auth::Bearer(&operator_token)),
            (
                "the console's session id as a member's cookie",
                Auth::Cookie("saas_session", &operator_cookie),
            ),
        ] {
            let response = request(&app, &route.method, &path, auth).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{} {path} with {what}",
                route.method
            );
        }
    }

    // Both sessions are still what they were: nothing above ended or changed them.
    let record = state
        .sessions
        .load(&alice_cookie.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(record.data.contains_key(SIGNED_IN_KEY));
    assert!(!record.data.contains_key(OPERATOR_SIGNED_IN_KEY));
    assert_eq!(alice.me_response().await.status(), StatusCode::OK);
    let still = console.send(Method::GET, "/operator/api/v1/me").await;
    assert_eq!(still.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_cross_site_request_with_the_console_cookie_changes_nothing() {
    let app = TestApp::spawn().await;
    let credentials = invite_operator(&app, OPS).await;
    let (console, _, _) = sign_in_operator(&app, &credentials, "").await;
    let cookie = console.session_cookie().unwrap();
    let acme = app.db.tenant_id("acme").await;
    for path in [
        format!("/operator/api/v1/tenants/{acme}/suspend"),
        "/operator/auth/logout".to_owned(),
    ] {
        let forged = Client::new()
            .post(app.url(&path))
            .header("origin", "https://evil.example")
            .header("cookie", format!("saas_operator_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            error_body(forged).await.code,
            ErrorCode::CsrfRejected,
            "{path}"
        );
    }
    // Still signed in, and Acme still active.
    let me = console.send(Method::GET, "/operator/api/v1/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let status: String = sqlx::query_scalar("SELECT status FROM tenants WHERE id = $1")
        .bind(acme.0)
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn an_unknown_console_api_path_is_a_json_404() {
    let app = TestApp::spawn().await;
    let response = Client::new()
        .get(app.url("/operator/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_body(response).await.code, ErrorCode::NotFound);
}

/// How a matrix request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Bearer(&'a str),
    Cookie(&'static str, &'a str),
}

/// `method path` with `auth`, from the app's origin, with an empty JSON object as the body of a request that
/// takes one.
async fn request(app: &TestApp, method: &Method, path: &str, auth: Auth<'_>) -> reqwest::Response {
    let mut request = Client::new()
        .request(method.clone(), app.url(path))
        .header("origin", &app.address);
    request = match auth {
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Cookie(name, value) => request.header("cookie", format!("{name}={value}")),
    };
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        request = request.json(&serde_json::json!({}));
    }
    request.send().await.unwrap()
}
