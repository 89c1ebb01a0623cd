//! The API's one error type, [`ApiError`], and the [`AppJson`] extractor whose rejections use it.
//!
//! Every error answers with a [`shared::ErrorBody`] (`{"code": "…", "message": "…"}`) and the matching status.
//! The cause of a 500 or 503 never reaches the client: it rides along in the response's extensions as an
//! [`ErrorCause`], and the application's middleware logs it inside the request's span.

use std::error::Error as StdError;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::{ErrorBody, ErrorCode};

/// The cause of a 500 or 503, kept for the log only.
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// An error the API answers with. The variants are the answers, not the causes: a cause is carried only
/// where it must be logged.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no valid session or bearer token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// 401: a valid token that is bound to no tenant member (a client-credentials token, for instance).
    #[error("token not bound to a tenant member")]
    NotATenantMember,
    /// 401: a valid token of a sign-in that has ended (signed out, revoked, or the member deactivated since).
    #[error("sign-in revoked")]
    SignInRevoked,
    /// 429: too many requests from this client; `retry_after_secs` says when to try again.
    #[error("too many requests")]
    TooManyRequests {
        /// Whole seconds until a request will be accepted again (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// 403: the caller lacks the scope the route requires.
    #[error("insufficient scope")]
    InsufficientScope,
    /// 403: the member behind the token or session is deactivated or gone.
    #[error("member inactive")]
    MemberInactive,
    /// 403: the platform's operators suspended the caller's tenant.
    #[error("tenant suspended")]
    TenantSuspended,
    /// 403: the caller holds the route's scope but may not act on this resource (e.g. another member's report).
    #[error("not permitted")]
    NotPermitted,
    /// 403: the tenant's plan allows no more of this resource.
    #[error("plan limit reached")]
    PlanLimitReached,
    /// 403: the caller may not do this here, for the reason given (shown to the client).
    #[error("not permitted: {0}")]
    NotPermittedBecause(String),
    /// 403: the tenant stores as much as its plan allows.
    #[error("storage quota exceeded")]
    StorageQuotaExceeded,
    /// 403: the tenant's plan does not include the feature (CSV export on `basic`).
    #[error("plan feature unavailable")]
    PlanFeatureUnavailable,
    /// 403: a state-changing request failed the cross-site request forgery check.
    #[error("cross-site request rejected")]
    CsrfRejected,
    /// 409: the change would leave the tenant without an active admin.
    #[error("last active admin")]
    LastAdmin,
    /// 409: the change would leave no active admin who keeps the role at their next sign-in; the message says
    /// why and what to do.
    #[error("last lasting admin: {0}")]
    LastAdminBecause(String),
    /// 409: the thing to create already exists; the message says what.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A refusal with its own code, status and message for the client (a domain another tenant proved, a
    /// DNS record not found, a set-up link no longer valid, ...).
    #[error("{code}: {message}")]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// The stable code.
        code: ErrorCode,
        /// A message for people, without internal detail.
        message: String,
    },
    /// 404: nothing here, or it belongs to another tenant.
    #[error("not found")]
    NotFound,
    /// 400 or 422 (the status given): the request is invalid; the message says why and is shown to the client.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// 400 for unreadable input, 422 for well-formed input with invalid values.
        status: StatusCode,
        /// A message for people, without internal detail.
        message: String,
    },
    /// 413: the body is larger than the route accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 503: a dependency (database, identity provider) is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// 500: anything unexpected.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// A 422 with a message for the client.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }

    /// A 400 with a message for the client.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A refusal with `code` and a message for the client.
    pub fn refused(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Refused {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 503 caused by `cause`.
    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        ApiError::Unavailable(cause.into())
    }

    /// A 500 caused by `cause`.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        ApiError::Internal(cause.into())
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthenticated | ApiError::NotATenantMember | ApiError::SignInRevoked => {
                ErrorCode::Unauthenticated
            }
            ApiError::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            ApiError::InsufficientScope => ErrorCode::InsufficientScope,
            ApiError::MemberInactive => ErrorCode::MemberInactive,
            ApiError::TenantSuspended => ErrorCode::TenantSuspended,
            ApiError::CsrfRejected => ErrorCode::CsrfRejected,
            ApiError::NotPermitted | ApiError::NotPermittedBecause(_) => ErrorCode::NotPermitted,
            ApiError::StorageQuotaExceeded => ErrorCode::StorageQuotaExceeded,
            ApiError::PlanLimitReached => ErrorCode::PlanLimitReached,
            ApiError::PlanFeatureUnavailable => ErrorCode::PlanFeatureUnavailable,
            ApiError::LastAdmin | ApiError::LastAdminBecause(_) => ErrorCode::LastAdmin,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::Refused { code, .. } => *code,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::Unavailable(_) => ErrorCode::ServiceUnavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::NotATenantMember | ApiError::SignInRevoked => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InsufficientScope
            | ApiError::MemberInactive
            | ApiError::TenantSuspended
            | ApiError::CsrfRejected
            | ApiError::NotPermitted
            | ApiError::PlanLimitReached
            | ApiError::PlanFeatureUnavailable
            | ApiError::NotPermittedBecause(_)
            | ApiError::StorageQuotaExceeded => StatusCode::FORBIDDEN,
            ApiError::LastAdmin | ApiError::LastAdminBecause(_) | ApiError::Conflict(_) => {
                StatusCode::CONFLICT
            }
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::InvalidRequest { status, .. } | ApiError::Refused { status, .. } => *status,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = self.status();
        let cause = match &self {
            ApiError::Internal(cause) | ApiError::Unavailable(cause) => {
                Some(ErrorCause(ChainDisplay(cause.as_ref()).to_string()))
            }
            _ => None,
        };
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let body = match self {
            ApiError::InvalidRequest { message, .. }
            | ApiError::Refused { message, .. }
            | ApiError::Conflict(message)
            | ApiError::NotPermittedBecause(message)
            | ApiError::LastAdminBecause(message) => {
                ErrorBody { code, message }
            }
            ApiError::NotATenantMember => ErrorBody {
                code,
                message: "This token is not bound to a member of an organisation (tokens issued to a client \
                          rather than a user cannot call this API)."
                    .to_owned(),
            },
            ApiError::SignInRevoked => ErrorBody {
                code,
                message: "This sign-in has ended (signed out, revoked, or the membership was deactivated). \
                          Sign in again."
                    .to_owned(),
            },
            _ => ErrorBody::new(code),
        };

        let mut response = (status, Json(body)).into_response();
        if let Some(cause) = cause {
            response.extensions_mut().insert(cause);
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: tell bearer clients how to authenticate.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Database errors: an unreachable or exhausted database is a 503, anything else a 500.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            ApiError::unavailable(err)
        } else {
            ApiError::internal(err)
        }
    }
}

/// Whether a database error means "the database is not there right now" rather than "the query is wrong".
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
    ) || matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| is_unavailable_sqlstate(&code)))
}

/// SQLSTATE classes 08 (connection exception), 53 (insufficient resources: too many connections, out of
/// memory or disk), 57P (operator intervention: shutdown, cannot connect now) and 57014 (statement timeout
/// or cancellation): the database cannot answer right now, and the same request may well succeed later.
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "57014"
}

/// Middleware (`map_response`): gives every error answer the app's JSON body. Errors produced by
/// [`ApiError`] already have it; this covers the answers that layers and extractors outside our handlers
/// make with a plain or empty body (a body over the size limit, an unknown method), keeping their status.
pub async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || has_json_body(&response) {
        return response;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            ErrorCode::ServiceUnavailable
        }
        status if status.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::InvalidRequest,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut response = (parts, Json(ErrorBody::new(code))).into_response();
    *response.status_mut() = status;
    response
}

/// Whether a response already carries a JSON body.
pub fn has_json_body(response: &Response) -> bool {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// Query-string extractor whose rejections are the app's own [`ApiError`] bodies (axum's [`Query`]
/// answers a malformed query with plain text).
///
/// [`Query`]: axum::extract::Query
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(AppQuery(value)),
            Err(rejection) => {
                tracing::debug!(error = %rejection.body_text(), "malformed query string");
                Err(ApiError::bad_request(
                    "The query string is not valid for this route.",
                ))
            }
        }
    }
}

/// The cause of a 500 or 503 (the error and its sources, as text), attached to the response for the log.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// Displays an error with its chain of sources, for logs.
struct ChainDisplay<'a>(&'a (dyn StdError + 'static));

impl std::fmt::Display for ChainDisplay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// JSON body extractor and response whose rejections are the app's own [`ApiError`] bodies
/// (axum's [`Json`] answers malformed input with plain text).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(ApiError::from(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => ApiError::unprocessable(format!(
                "The request body does not have the expected shape: {}",
                err.body_text()
            )),
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::bad_request("The request body is not valid JSON.")
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::InvalidRequest {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "The request body must be JSON (Content-Type: application/json)."
                    .to_owned(),
            },
            JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            other => ApiError::bad_request(format!(
                "The request body could not be read ({}).",
                other.status()
            )),
        }
    }
}

/// The answer for any path under `/api` that names no route.
pub async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, ErrorBody) {
        let response = error.into_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn each_error_answers_with_its_status_and_stable_code() {
        let cases = [
            (
                ApiError::Unauthenticated,
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
            ),
            (
                ApiError::NotATenantMember,
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
            ),
            (
                ApiError::InsufficientScope,
                StatusCode::FORBIDDEN,
                ErrorCode::InsufficientScope,
            ),
            (
                ApiError::MemberInactive,
                StatusCode::FORBIDDEN,
                ErrorCode::MemberInactive,
            ),
            (
                ApiError::TenantSuspended,
                StatusCode::FORBIDDEN,
                ErrorCode::TenantSuspended,
            ),
            (
                ApiError::CsrfRejected,
                StatusCode::FORBIDDEN,
                ErrorCode::CsrfRejected,
            ),
            (
                ApiError::NotPermitted,
                StatusCode::FORBIDDEN,
                ErrorCode::NotPermitted,
            ),
            (
                ApiError::PlanLimitReached,
                StatusCode::FORBIDDEN,
                ErrorCode::PlanLimitReached,
            ),
            (
                ApiError::NotFound,
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
            ),
            (
                ApiError::PlanFeatureUnavailable,
                StatusCode::FORBIDDEN,
                ErrorCode::PlanFeatureUnavailable,
            ),
            (
                ApiError::LastAdmin,
                StatusCode::CONFLICT,
                ErrorCode::LastAdmin,
            ),
            (
                ApiError::Conflict("exists".into()),
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
            ),
            (
                ApiError::PayloadTooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
            ),
            (
                ApiError::unprocessable("bad"),
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidRequest,
            ),
        ];
        for (error, status, code) in cases {
            let (got_status, body) = body_of(error).await;
            assert_eq!((got_status, body.code), (status, code));
        }
    }

    #[tokio::test]
    async fn internal_and_unavailable_errors_hide_their_cause() {
        let response =
            ApiError::internal("secret connection string postgres://x:y@db").into_response();
        let logged = response
            .extensions()
            .get::<ErrorCause>()
            .map(|cause| cause.0.clone());
        assert_eq!(
            logged.as_deref(),
            Some("secret connection string postgres://x:y@db")
        );
        let (status, body) = body_of(ApiError::internal(
            "secret connection string postgres://x:y@db",
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, ErrorBody::new(ErrorCode::Internal));
        let (status, body) = body_of(ApiError::from(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, ErrorBody::new(ErrorCode::ServiceUnavailable));
    }

    /// A route that echoes a JSON body through [`AppJson`], behind a 64-byte body limit.
    fn echo_router() -> axum::Router {
        use axum::extract::DefaultBodyLimit;
        use axum::routing::post;
        axum::Router::new()
            .route(
                "/echo",
                post(|AppJson(value): AppJson<serde_json::Value>| async move { AppJson(value) }),
            )
            .layer(DefaultBodyLimit::max(64))
    }

    async fn post_echo(content_type: &str, body: &'static str) -> (StatusCode, axum::body::Bytes) {
        use tower::ServiceExt as _;
        let request = axum::http::Request::post("/echo")
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = echo_router().oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 1 << 16).await.unwrap(),
        )
    }

    #[tokio::test]
    async fn malformed_or_oversized_json_gets_the_apps_own_error_body() {
        let (status, body) = post_echo("application/json", "{\"a\": 1}").await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"{\"a\":1}"[..]));

        for (content_type, body, expected_status, expected_code) in [
            (
                "application/json",
                "{not json",
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
            ),
            (
                "text/plain",
                "{}",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::InvalidRequest,
            ),
            (
                "application/json",
                "[\"0123456789\", \"0123456789\", \"0123456789\", \"0123456789\", \"0123456789\"]",
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
            ),
        ] {
            let (status, bytes) = post_echo(content_type, body).await;
            let error: ErrorBody = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                (status, error.code),
                (expected_status, expected_code),
                "{body}"
            );
        }
    }

    #[test]
    fn only_connection_failures_count_as_unavailable() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        for code in ["08006", "53300", "53200", "57P01", "57P03", "57014"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        for code in ["42501", "23505", "57000", "XX000", "40001"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
