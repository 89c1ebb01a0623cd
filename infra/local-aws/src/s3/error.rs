//! S3's XML error answers for the refusals the stand-in makes itself, before a request reaches `s3s` (which
//! writes its own errors in the same shape).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An S3 error: status, code, message and the extra elements some codes carry (`AWSAccessKeyId`, `Region`,
/// `Method`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XmlError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) details: Vec<(&'static str, String)>,
}

impl XmlError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> XmlError {
        XmlError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds an element after `Message`.
    pub(crate) fn with(mut self, element: &'static str, value: impl Into<String>) -> XmlError {
        self.details.push((element, value.into()));
        self
    }

    /// `AccessDenied` with S3's generic message.
    pub(crate) fn access_denied() -> XmlError {
        XmlError::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }

    /// `InternalError`, without any detail of the cause.
    pub(crate) fn internal() -> XmlError {
        XmlError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// The XML document.
    pub(crate) fn body(&self) -> String {
        let mut body = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        body.push_str("<Error>");
        let mut element = |name: &str, value: &str| {
            body.push_str(&format!(
                "<{name}>{}</{name}>",
                html_escape::encode_text(value)
            ));
        };
        element("Code", self.code);
        element("Message", &self.message);
        for (name, value) in &self.details {
            element(name, value);
        }
        body.push_str("</Error>");
        body
    }
}

impl IntoResponse for XmlError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_s3_error_documents_with_escaped_text() {
        let error = XmlError::new(StatusCode::BAD_REQUEST, "InvalidArgument", "a < b & c")
            .with("ArgumentName", "x-amz-<name>");
        assert_eq!(
            error.body(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code>\
             <Message>a &lt; b &amp; c</Message><ArgumentName>x-amz-&lt;name&gt;</ArgumentName></Error>"
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/xml");
    }
}
