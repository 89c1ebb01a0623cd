//! The user-pool API's errors: awsJson `{"__type", "message"}` bodies with the exception types of the service
//! model, and the awsJson response itself.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::sigv4::SigV4Error;

/// The awsJson 1.1 content type, of requests and responses.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error the API answers with. Cognito answers client errors, IAM and signature refusals included, with
/// 400; only its own failures are 500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceError {
    pub kind: &'static str,
    pub message: String,
    pub status: StatusCode,
}

impl ServiceError {
    fn client(kind: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError {
            kind,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> ServiceError {
        ServiceError::client("InvalidParameterException", message)
    }

    pub(crate) fn resource_not_found(message: impl Into<String>) -> ServiceError {
        ServiceError::client("ResourceNotFoundException", message)
    }

    pub(crate) fn duplicate_provider(message: impl Into<String>) -> ServiceError {
        ServiceError::client("DuplicateProviderException", message)
    }

    pub(crate) fn unsupported_identity_provider(message: impl Into<String>) -> ServiceError {
        ServiceError::client("UnsupportedIdentityProviderException", message)
    }

    pub(crate) fn scope_does_not_exist(message: impl Into<String>) -> ServiceError {
        ServiceError::client("ScopeDoesNotExistException", message)
    }

    pub(crate) fn invalid_oauth_flow(message: impl Into<String>) -> ServiceError {
        ServiceError::client("InvalidOAuthFlowException", message)
    }

    pub(crate) fn username_exists(message: impl Into<String>) -> ServiceError {
        ServiceError::client("UsernameExistsException", message)
    }

    pub(crate) fn invalid_password(message: impl Into<String>) -> ServiceError {
        ServiceError::client("InvalidPasswordException", message)
    }

    pub(crate) fn user_not_found(message: impl Into<String>) -> ServiceError {
        ServiceError::client("UserNotFoundException", message)
    }

    pub(crate) fn unsupported_user_state(message: impl Into<String>) -> ServiceError {
        ServiceError::client("UnsupportedUserStateException", message)
    }

    /// The service's own failure (500), with no detail.
    pub(crate) fn internal() -> ServiceError {
        ServiceError {
            kind: "InternalErrorException",
            message: "Internal error".to_owned(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> ServiceError {
        ServiceError::client("AccessDeniedException", message)
    }

    /// A body that is not a JSON object of the operation's shape.
    pub(crate) fn serialization(message: impl Into<String>) -> ServiceError {
        ServiceError::client("SerializationException", message)
    }

    pub(crate) fn unknown_operation() -> ServiceError {
        ServiceError::client("UnknownOperationException", "")
    }

    /// The user pool in the request is not this pool.
    pub(crate) fn pool_not_found(user_pool_id: &str) -> ServiceError {
        ServiceError::resource_not_found(format!("User pool {user_pool_id} does not exist."))
    }
}

impl From<SigV4Error> for ServiceError {
    fn from(error: SigV4Error) -> ServiceError {
        ServiceError::client(error.kind(), error.to_string())
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        aws_json(
            self.status,
            &json!({"__type": self.kind, "message": self.message}),
        )
    }
}

/// An awsJson response with a request id, as the service sends it.
pub(crate) fn aws_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
