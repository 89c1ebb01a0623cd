//! `POST /internal/cognito/pre-token-generation`: the user pool's pre-token-generation trigger over HTTP,
//! answered the way Lambda's Invoke API answers (see ARCHITECTURE.md).
//!
//! The route exists only when `TRIGGER_SHARED_SECRET` is set. The caller proves itself with the
//! `x-trigger-secret` header, compared in constant time; the route takes no cookies and needs no CSRF check.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use shared::ErrorCode;
use subtle::ConstantTimeEq as _;

use crate::app::AppState;
use crate::config::Config;
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
    if config.trigger_shared_secret.is_none() {
        return Router::new();
    }
    Router::new()
        .route(PATH, post(pre_token_generation))
        .layer(DefaultBodyLimit::max(EVENT_BODY_LIMIT))
}

/// Checks the secret, runs [`trigger::pre_token_generation`] and answers Lambda-style: 200 with the event
/// on success; 200 with `X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage"}` on failure,
/// where a refusal's message is its [`ErrorCode`], which the user pool passes on to the sign-in callback.
async fn pre_token_generation(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = state
        .config
        .trigger_shared_secret
        .as_ref()
        .map(|secret| secret.expose().as_bytes());
    let presented = headers.get(SECRET_HEADER).map(HeaderValue::as_bytes);
    let authentic = match (expected, presented) {
        (Some(expected), Some(presented)) => bool::from(expected.ct_eq(presented)),
        _ => false,
    };
    if !authentic {
        tracing::warn!("pre-token-generation call with a missing or wrong secret");
        return ApiError::Unauthenticated.into_response();
    }

    let event: PreTokenGenerationEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "pre-token-generation event could not be parsed");
            return function_error("InvalidEvent", ErrorCode::InvalidRequest);
        }
    };
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

/// A Lambda function error: 200, `X-Amz-Function-Error: Unhandled`, `{"errorType", "errorMessage"}`.
fn function_error(error_type: &'static str, code: ErrorCode) -> Response {
    let body = json!({ "errorType": error_type, "errorMessage": code.as_str() });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(FUNCTION_ERROR_HEADER, HeaderValue::from_static("Unhandled"));
    response
}
