//! The API's two transports and the live membership check: bearer access tokens from the user pool, what
//! is not an access token, and a deactivated member.

use backend::db::members::MemberStatus;
use reqwest::StatusCode;
use serde_json::json;
use shared::{ErrorBody, ErrorCode, Scope};

use crate::helpers::{ALICE, BOB, CAROL, DAVE, FlowEnd, PASSWORD, TestApp, browser};

async fn error_of(response: reqwest::Response) -> (StatusCode, ErrorCode) {
    let status = response.status();
    let body: ErrorBody = response.json().await.unwrap();
    (status, body.code)
}

#[tokio::test]
async fn a_user_pool_access_token_works_as_a_bearer_token() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&CAROL).await;
    let response = app
        .get_with_bearer("/api/v1/me", &tokens.access_token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: shared::api::Me = response.json().await.unwrap();
    assert_eq!(me.tenant.slug, "globex");
    assert_eq!(me.user.email, CAROL.email);
    assert_eq!(me.scopes, vec![Scope::Read, Scope::Write, Scope::Admin]);
}

#[tokio::test]
async fn an_id_token_is_not_accepted_as_a_bearer_token() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&ALICE).await;
    let response = app.get_with_bearer("/api/v1/me", &tokens.id_token).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated)
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_accepted_as_a_bearer_token() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&ALICE).await;
    let refresh_token = tokens
        .refresh_token
        .expect("the web client gets a refresh token");
    let response = app.get_with_bearer("/api/v1/me", &refresh_token).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated)
    );
}

#[tokio::test]
async fn garbage_bearer_tokens_are_401_never_500() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    for header in [
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "Bearer ",
        "Basic YWxpY2U6UGFzc3cwcmQh",
        "Bearer a b",
        "bearer ....",
    ] {
        let response = client
            .get(app.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(response).await,
            (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            "{header}"
        );
    }
}

#[tokio::test]
async fn a_bad_bearer_header_does_not_fall_back_to_the_session_cookie() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let response = signed_in
        .browser
        .get(app.url("/api/v1/me"))
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_signed_by_the_pool_for_a_member_of_no_tenant_is_refused() {
    let app = TestApp::spawn().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = app.aws.sign_access_token(&json!({
        "sub": "5f0c7b9e-0000-4000-8000-000000000001",
        "iss": app.aws.issuer(),
        "client_id": app.config.cognito_client_id,
        "token_use": "access",
        "scope": "saas-api/read",
        "iat": now,
        "exp": now + 600,
        "tenant_id": "6b1f6c43-0000-4000-8000-000000000000",
        "member_id": "6b1f6c43-0000-4000-8000-000000000001",
        "origin_jti": "6b1f6c43-0000-4000-8000-0000000000aa",
        "auth_time": now,
    }));
    let response = app.get_with_bearer("/api/v1/me", &token).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::FORBIDDEN, ErrorCode::MemberInactive)
    );
}

#[tokio::test]
async fn a_client_credentials_token_without_a_tenant_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let token = app.machine_token().await;
    let response = app.get_with_bearer("/api/v1/me", &token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: ErrorBody = response.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::Unauthenticated);
    assert!(
        body.message.contains("not bound to a member"),
        "{}",
        body.message
    );
}

#[tokio::test]
async fn a_deactivated_member_is_refused_on_the_very_next_request_by_session_and_bearer() {
    let app = TestApp::spawn().await;
    let signed_in = app.sign_in(&BOB).await;
    let tokens = app.pool_tokens(&BOB).await;
    let me = signed_in.me().await;
    assert_eq!(
        app.get_with_bearer("/api/v1/me", &tokens.access_token)
            .await
            .status(),
        StatusCode::OK
    );

    app.set_member_status(&me, MemberStatus::Deactivated).await;
    assert_eq!(
        error_of(signed_in.me_response().await).await,
        (StatusCode::FORBIDDEN, ErrorCode::MemberInactive)
    );
    let response = app
        .get_with_bearer("/api/v1/me", &tokens.access_token)
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::FORBIDDEN, ErrorCode::MemberInactive)
    );

    // A new sign-in is refused by the trigger, and the app says why.
    let browser = browser();
    let callback = match app
        .walk(&browser, "email=bob@acme.example", BOB.email, PASSWORD)
        .await
    {
        FlowEnd::Callback(url) => url,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        app.finish(&browser, &callback).await,
        "/?error=membership_deactivated"
    );
    assert_eq!(
        browser
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Reactivated, the same member signs in again.
    app.set_member_status(&me, MemberStatus::Active).await;
    assert_eq!(app.sign_in(&BOB).await.me().await.user.id, me.user.id);
}

#[tokio::test]
async fn a_viewer_holds_only_the_read_scope_whatever_the_token_asked_for() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&DAVE).await;
    let me: shared::api::Me = app
        .get_with_bearer("/api/v1/me", &tokens.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me.scopes, vec![Scope::Read]);
}

#[tokio::test]
async fn the_scope_guard_refuses_a_route_whose_scope_the_role_does_not_allow() {
    use backend::auth::{Principal, ScopedRouter};
    use backend::state::AppState;
    use tower::ServiceExt as _;

    let app = TestApp::spawn().await;
    let state = AppState::new(app.config.clone()).await.unwrap();
    let router = ScopedRouter::new(state.clone())
        .get(
            "/admin-only",
            Scope::Admin,
            |principal: Principal| async move { principal.email },
        )
        .into_router()
        .with_state(state);
    let call = |token: String| {
        let router = router.clone();
        async move {
            let request = axum::http::Request::get("/admin-only")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            (status, body)
        }
    };

    let (status, body) = call(app.pool_tokens(&DAVE).await.access_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_slice::<ErrorBody>(&body).unwrap().code,
        ErrorCode::InsufficientScope
    );

    let (status, body) = call(app.pool_tokens(&ALICE).await.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        &body[..],
        ALICE.email.as_bytes(),
        "the handler receives the guard's principal"
    );

    let (status, _) = call("garbage".to_owned()).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "authentication comes before the scope check"
    );
}

#[tokio::test]
async fn a_token_carrying_another_tenants_id_with_alices_member_id_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await.me().await;
    let globex = app.db.tenant_id("globex").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = app.aws.sign_access_token(&json!({
        "sub": "5f0c7b9e-0000-4000-8000-00000000a11c",
        "iss": app.aws.issuer(),
        "client_id": app.config.cognito_client_id,
        "token_use": "access",
        "scope": "saas-api/read saas-api/write saas-api/admin",
        "iat": now,
        "exp": now + 600,
        "tenant_id": globex.to_string(),
        "member_id": alice.user.id,
        "origin_jti": "6b1f6c43-0000-4000-8000-0000000000bb",
        "auth_time": now,
    }));
    let response = app.get_with_bearer("/api/v1/me", &token).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::FORBIDDEN, ErrorCode::MemberInactive),
        "Alice is no member of Globex, whatever a token says"
    );
}
