//! `POST /internal/cognito/pre-token-generation`: the user pool's pre-token-generation trigger over HTTP,
//! answered the way Lambda's Invoke API answers (see ARCHITECTURE.md).
//!
//! The route exists only when `TRIGGER_SHARED_SECRET` is set. The caller proves itself with the
//! `x-trigger-secret` header, compared in constant time by a layer before the body is read; the route takes
//! no cookies and needs no CSRF check. An authentic call must still be about the configured user pool and
//! the configured web client, or it is refused as an invalid event.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use shared::ErrorCode;
use subtle::ConstantTimeEq as _;

use crate::app::AppState;
use crate::config::{Config, Secret};
use crate::error::ApiError;
use crate::trigger::event::PreTokenGenerationEvent;
use crate::trigger::{self, TriggerError};

/// The trigger's path.
pub const PATH: &str = "/internal/cognito/pre-token-generation";
/// The header carrying the shared secret.
pub const SECRET_HEADER: &str = "x-trigger-secret";
/// Lambda's header marking a function error.
const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";
/// The largest event accepted (events are a few kilobytes).
const EVENT_BODY_LIMIT: usize = 256 * 1024;

/// The trigger route, mounted only when a shared secret is configured.
pub fn router(config: &Config) -> Router<AppState> {
    let Some(secret) = config.trigger_shared_secret.clone() else {
        return Router::new();
    };
    Router::new()
        .route(PATH, post(pre_token_generation))
        .layer(DefaultBodyLimit::max(EVENT_BODY_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            Arc::new(secret),
            require_secret,
        ))
}

/// Middleware: refuses a call without the right `x-trigger-secret` (401) before its body is read, so an
/// unauthenticated caller cannot make the backend buffer or parse anything.
async fn require_secret(
    State(expected): State<Arc<Secret>>,
    request: Request,
    next: Next,
) -> Response {
    let authentic = request
        .headers()
        .get(SECRET_HEADER)
        .map(HeaderValue::as_bytes)
        .is_some_and(|presented| bool::from(expected.expose().as_bytes().ct_eq(presented)));
    if !authentic {
        tracing::warn!("pre-token-generation call with a missing or wrong secret");
        return ApiError::Unauthenticated.into_response();
    }
    next.run(request).await
}

/// Runs [`trigger::pre_token_generation`] and answers Lambda-style: 200 with the event on success; 200 with
/// `X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage"}` on failure, where a refusal's
/// message is its [`ErrorCode`], which the user pool passes on to the sign-in callback.
async fn pre_token_generation(State(state): State<AppState>, body: Bytes) -> Response {
    let event: PreTokenGenerationEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "pre-token-generation event could not be parsed");
            return function_error("InvalidEvent", ErrorCode::InvalidRequest);
        }
    };
    if let Err(reason) = check_origin(&state.config, &event) {
        tracing::warn!(
            reason,
            "pre-token-generation event for another pool or client refused"
        );
        return function_error("InvalidEvent", ErrorCode::InvalidRequest);
    }
    let resource_server = &state.config.resource_server_id;
    match trigger::pre_token_generation(&state.db, resource_server, event).await {
        Ok(answered) => (StatusCode::OK, axum::Json(answered)).into_response(),
        Err(TriggerError::Refused(code)) => function_error("SignInRefused", code),
        Err(TriggerError::InvalidEvent(reason)) => {
            tracing::warn!(reason = %reason, "invalid pre-token-generation event");
            function_error("InvalidEvent", ErrorCode::InvalidRequest)
        }
        Err(TriggerError::Database(err)) => {
            tracing::warn!(error = %err, "pre-token-generation failed: database error");
            function_error("ServiceUnavailable", ErrorCode::ServiceUnavailable)
        }
    }
}

/// The event must come from the configured user pool (the last path segment of `COGNITO_ISSUER`) and be
/// for the configured web client: tokens for any other pool or client are none of this backend's business,
/// and a shared secret that leaked to another deployment must not mint tenant claims for it.
fn check_origin(config: &Config, event: &PreTokenGenerationEvent) -> Result<(), &'static str> {
    if config.user_pool_id() != Some(event.user_pool_id.as_str()) {
        return Err("userPoolId is not the configured user pool");
    }
    if event.caller_context.client_id.as_deref() != Some(config.cognito_client_id.as_str()) {
        return Err("callerContext.clientId is not the configured web client");
    }
    Ok(())
}

/// A Lambda function error: 200, `X-Amz-Function-Error: Unhandled`, `{"errorType", "errorMessage"}`.
fn function_error(error_type: &'static str, code: ErrorCode) -> Response {
    let body = json!({ "errorType": error_type, "errorMessage": code.as_str() });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(FUNCTION_ERROR_HEADER, HeaderValue::from_static("Unhandled"));
    response
}
