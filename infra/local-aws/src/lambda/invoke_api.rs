//! Lambda's `Invoke` over HTTP (`POST /2015-03-31/functions/<FunctionName>/invocations`), as the user pool
//! calls it for its triggers: 200 with the function's response, or 200 with `X-Amz-Function-Error: Unhandled`
//! and the error payload; invocation errors as restJson errors (`x-amzn-ErrorType` and
//! `{"Type", "message"}`): 404 `ResourceNotFoundException`, 413 `RequestTooLargeException`, 400
//! `InvalidRequestContentException`, 429 `TooManyRequestsException`, 500 `ServiceException`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::json;

use super::{
    FUNCTION_VERSION, Invocation, InvokeError, InvokeResult, MAX_REQUEST_BYTES, Service,
    function_arn,
};

/// The `Invoke` route.
pub(crate) fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        .with_state(service)
}

/// A restJson error: `x-amzn-ErrorType` names it, the body says why.
fn error(status: StatusCode, error_type: &str, message: String) -> Response {
    let kind = if status.is_server_error() {
        "Service"
    } else {
        "User"
    };
    let mut body = json!({ "Type": kind, "message": message });
    if status == StatusCode::TOO_MANY_REQUESTS {
        body["Reason"] = json!("ReservedFunctionConcurrentInvocationLimitExceeded");
    }
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(error_type) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn invoke_error(refusal: &InvokeError) -> Response {
    let (status, error_type) = match refusal {
        InvokeError::FunctionNotFound { .. } => {
            (StatusCode::NOT_FOUND, "ResourceNotFoundException")
        }
        InvokeError::RequestTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException"),
        InvokeError::InvalidRequestContent { .. } => {
            (StatusCode::BAD_REQUEST, "InvalidRequestContentException")
        }
        InvokeError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException"),
        InvokeError::Service { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException"),
    };
    error(status, error_type, refusal.to_string())
}

/// The function a path names: its name, or its ARN in this region and account (with `$LATEST` as the only
/// qualifier there is).
fn function_name<'a>(service: &Service, path: &'a str) -> Option<&'a str> {
    let Some(arn) = path.strip_prefix("arn:") else {
        return Some(path);
    };
    let prefix = format!(
        "aws:lambda:{}:{}:function:",
        service.region, service.account_id
    );
    let rest = arn.strip_prefix(&prefix)?;
    match rest.split_once(':') {
        None => Some(rest),
        Some((name, FUNCTION_VERSION)) => Some(name),
        Some(_) => None,
    }
}

async fn invoke(
    State(service): State<Arc<Service>>,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let not_found = || {
        invoke_error(&InvokeError::FunctionNotFound {
            arn: function_arn(&service.region, &service.account_id, &function),
        })
    };
    let Some(name) = function_name(&service, &function) else {
        return not_found();
    };
    if query
        .get("Qualifier")
        .is_some_and(|qualifier| qualifier != FUNCTION_VERSION)
        || !service.functions.contains_key(name)
    {
        return not_found();
    }
    match headers
        .get("x-amz-invocation-type")
        .map(|value| value.to_str().unwrap_or_default())
    {
        None | Some("RequestResponse") => {}
        Some("DryRun") => return StatusCode::NO_CONTENT.into_response(),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                format!(
                    "The stand-in runs synchronous invocations only (RequestResponse, DryRun), not {other:?}"
                ),
            );
        }
    }
    let client_context = match headers.get("x-amz-client-context") {
        None => None,
        Some(value) => {
            let decoded = value
                .to_str()
                .ok()
                .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .filter(|text| serde_json::from_str::<serde_json::Value>(text).is_ok());
            let Some(decoded) = decoded else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValueException",
                    "Client context must be a valid Base64-encoded JSON object.".to_owned(),
                );
            };
            Some(decoded)
        }
    };
    let payload = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(payload) => payload,
        Err(_) => return invoke_error(&InvokeError::RequestTooLarge),
    };
    let invocation = Invocation {
        payload,
        client_context,
        cognito_identity: None,
    };
    match service.invoke(name, invocation).await {
        Ok(output) => {
            let (function_error, payload) = match output.result {
                InvokeResult::Response(body) => (false, body),
                InvokeResult::FunctionError(error) => (true, error.payload),
            };
            let mut response = (StatusCode::OK, Body::from(payload)).into_response();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(
                "x-amz-executed-version",
                HeaderValue::from_static(FUNCTION_VERSION),
            );
            if let Ok(request_id) = HeaderValue::from_str(&output.request_id) {
                headers.insert("x-amzn-requestid", request_id);
            }
            if function_error {
                headers.insert(
                    "x-amz-function-error",
                    HeaderValue::from_static("Unhandled"),
                );
            }
            response
        }
        Err(error) => invoke_error(&error),
    }
}
