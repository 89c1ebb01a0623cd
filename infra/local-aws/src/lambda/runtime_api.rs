//! The Runtime API (`2018-06-01`) of one instance: `GET /runtime/invocation/next`, `POST
//! /runtime/invocation/<id>/response`, `POST /runtime/invocation/<id>/error`, `POST /runtime/init/error`,
//! with the documented status codes: 202 `{"status": "OK"}` when accepted, and `{"errorMessage",
//! "errorType"}` errors: 400 `InvalidRequestID` for a request id that is not the runtime's current
//! invocation, 403 `InvalidStateTransition` for a call its state does not allow (a second answer to one
//! invocation, `init/error` after init), 413 `RequestEntityTooLarge` for a response over 6 MB, and 500
//! "container error" once the instance has stopped (the runtime should exit).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::instance::{Instance, Poll, RuntimeState};
use super::{FunctionError, MAX_RESPONSE_BYTES, Outcome, Pending, lock};

/// The most of a runtime's post that is read: enough to tell an oversized response by its size.
const READ_LIMIT: usize = 64 * 1024 * 1024;

/// Why the Runtime API refuses a call.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 500: the instance stopped; the runtime should exit promptly.
    ContainerError,
    /// 400 `InvalidRequestID`: not the invocation the runtime holds.
    InvalidRequestId,
    /// 403 `InvalidStateTransition`.
    Transition {
        from: RuntimeState,
        to: &'static str,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::ContainerError => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Container error. Non-recoverable state. Runtime should exit promptly.".to_owned(),
            ),
            Refusal::InvalidRequestId => error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                "Invalid request ID".to_owned(),
            ),
            Refusal::Transition { from, to } => error(
                StatusCode::FORBIDDEN,
                "InvalidStateTransition",
                format!(
                    "State transition from {} to {to} failed for runtime. Error: State transition is not allowed",
                    from.name()
                ),
            ),
        }
    }
}

fn error(status: StatusCode, error_type: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "errorMessage": message, "errorType": error_type })),
    )
        .into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

/// The instance's Runtime API.
pub(crate) fn router(instance: Arc<Instance>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(instance)
}

/// `GET /runtime/invocation/next`: long-polls for the next invocation.
async fn next(State(instance): State<Arc<Instance>>) -> Response {
    let waiting = match instance.poll() {
        Poll::Deliver(pending) => return event(&instance, &pending),
        Poll::Refuse(refusal) => return refusal.into_response(),
        Poll::Wait(waiting) => waiting,
    };
    match waiting.await {
        Ok(pending) => event(&instance, &pending),
        // The instance stopped while the runtime waited.
        Err(_) => Refusal::ContainerError.into_response(),
    }
}

/// The event as `next` answers it: the payload as the body, the invocation's data in headers (the client
/// context and Cognito identity only when the invocation has them).
fn event(instance: &Instance, pending: &Pending) -> Response {
    let deadline_ms = lock(&pending.deadline)
        .and_then(|deadline| {
            deadline
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .ok()
        })
        .map_or(0, |since_epoch| since_epoch.as_millis());
    let invocation = &pending.invocation;
    let mut headers = vec![
        (
            "lambda-runtime-aws-request-id",
            pending.request_id().to_owned(),
        ),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            instance.function().arn.clone(),
        ),
        ("lambda-runtime-trace-id", pending.trace_id.clone()),
    ];
    if let Some(client_context) = &invocation.client_context {
        headers.push(("lambda-runtime-client-context", client_context.clone()));
    }
    if let Some(identity) = &invocation.cognito_identity {
        headers.push((
            "lambda-runtime-cognito-identity",
            serde_json::to_string(identity).unwrap_or_default(),
        ));
    }
    let mut response = (StatusCode::OK, Body::from(invocation.payload.clone())).into_response();
    let map = response.headers_mut();
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                map.insert(HeaderName::from_static(name), value);
            }
            Err(_) => tracing::warn!(
                header = name,
                "a header value is not valid in HTTP; left out"
            ),
        }
    }
    response
}

/// Reads a runtime's post: `Ok` within [`MAX_RESPONSE_BYTES`], else `Err` with its size (or at least the
/// read limit).
async fn read(body: Body) -> Result<Bytes, usize> {
    match axum::body::to_bytes(body, READ_LIMIT).await {
        Ok(bytes) if bytes.len() <= MAX_RESPONSE_BYTES => Ok(bytes),
        Ok(bytes) => Err(bytes.len()),
        Err(_) => Err(READ_LIMIT),
    }
}

/// The function error `Invoke` returns for a response over the limit, and the runtime's 413.
fn too_large(instance: &Instance, request_id: &str, to: &'static str, size: usize) -> Response {
    let error = FunctionError::lambda(
        "Function.ResponseSizeTooLarge",
        format!(
            "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        ),
    );
    if let Err(refusal) = instance.complete(request_id, to, Outcome::Error(error)) {
        return refusal.into_response();
    }
    error_response_too_large()
}

fn error_response_too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

/// `POST /runtime/invocation/<id>/response`.
async fn response(
    State(instance): State<Arc<Instance>>,
    Path(request_id): Path<String>,
    body: Body,
) -> Response {
    const TO: &str = "InvocationResponse";
    if let Err(refusal) = instance.check_completion(&request_id, TO) {
        return refusal.into_response();
    }
    match read(body).await {
        Ok(bytes) => match instance.complete(&request_id, TO, Outcome::Response(bytes)) {
            Ok(()) => accepted(),
            Err(refusal) => refusal.into_response(),
        },
        Err(size) => too_large(&instance, &request_id, TO, size),
    }
}

/// `POST /runtime/invocation/<id>/error`: the payload goes to the invoker as it is; without one, Lambda
/// makes one from `Lambda-Runtime-Function-Error-Type`.
async fn invocation_error(
    State(instance): State<Arc<Instance>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    const TO: &str = "InvocationErrorResponse";
    if let Err(refusal) = instance.check_completion(&request_id, TO) {
        return refusal.into_response();
    }
    match read(body).await {
        Ok(bytes) => {
            let error = posted_error(&headers, bytes);
            match instance.complete(&request_id, TO, Outcome::Error(error)) {
                Ok(()) => accepted(),
                Err(refusal) => refusal.into_response(),
            }
        }
        Err(size) => too_large(&instance, &request_id, TO, size),
    }
}

/// `POST /runtime/init/error`: the invocation waiting for this instance gets the error.
async fn init_error(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read(body).await {
        Ok(bytes) => bytes,
        Err(_) => return error_response_too_large(),
    };
    match instance.init_error(posted_error(&headers, bytes)) {
        Ok(()) => accepted(),
        Err(refusal) => refusal.into_response(),
    }
}

/// The error a runtime posted: its body as it is, or, when it sent none, the one Lambda makes from the error
/// type header.
fn posted_error(headers: &HeaderMap, body: Bytes) -> FunctionError {
    if body.iter().all(u8::is_ascii_whitespace) {
        let error_type = headers
            .get("lambda-runtime-function-error-type")
            .and_then(|value| value.to_str().ok())
            .map_or("Runtime.Unknown", reported_error_type);
        return FunctionError::lambda(error_type, "Unknown application error occurred".to_owned());
    }
    FunctionError::from_payload(body)
}

/// The error type Lambda keeps from `Lambda-Runtime-Function-Error-Type`: `Runtime.<Name>` or
/// `Function.<Name>` as given, anything else as `Function.Unknown` or `Runtime.Unknown`.
fn reported_error_type(header: &str) -> &str {
    for category in ["Runtime.", "Function."] {
        if let Some(name) = header.strip_prefix(category) {
            let mut chars = name.chars();
            let well_formed = chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && name.len() >= 2
                && name.chars().all(|c| c.is_ascii_alphabetic());
            if well_formed {
                return header;
            }
        }
    }
    if header.starts_with("Function.") {
        "Function.Unknown"
    } else {
        "Runtime.Unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_outside_the_runtime_and_function_categories_are_scrubbed() {
        assert_eq!(
            reported_error_type("Runtime.NoSuchHandler"),
            "Runtime.NoSuchHandler"
        );
        assert_eq!(reported_error_type("Function.MyError"), "Function.MyError");
        assert_eq!(reported_error_type("Function.my error"), "Function.Unknown");
        assert_eq!(reported_error_type("Unhandled"), "Runtime.Unknown");
    }

    #[test]
    fn an_empty_error_body_is_made_from_the_error_type_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "lambda-runtime-function-error-type",
            HeaderValue::from_static("Runtime.ConfigInvalid"),
        );
        let error = posted_error(&headers, Bytes::new());
        assert_eq!(error.error_type, "Runtime.ConfigInvalid");
        assert_eq!(error.error_message, "Unknown application error occurred");
        let error = posted_error(
            &headers,
            Bytes::from_static(br#"{"errorType":"Mine","errorMessage":"boom","stackTrace":[]}"#),
        );
        assert_eq!(
            (error.error_type.as_str(), error.error_message.as_str()),
            ("Mine", "boom")
        );
    }
}
