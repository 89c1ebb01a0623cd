//! HTTP helpers shared by every listener: form parsing, client credentials, redirects and HTML pages.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

/// Largest request body any endpoint accepts; OAuth requests are small.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a form body or query string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FormError {
    /// RFC 6749 §3.1: request parameters must not be included more than once.
    #[error("parameter {0} is repeated")]
    Repeated(String),
}

/// Parses `application/x-www-form-urlencoded` text (a body or a query string), refusing repeated parameters.
pub(crate) fn parse_form(input: &[u8]) -> Result<HashMap<String, String>, FormError> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(input) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(FormError::Repeated(name.into_owned()));
        }
    }
    Ok(params)
}

/// How a browser-facing page refuses a request whose form it cannot read: each service has its own error
/// page (the user pool's, Entra ID's `AADSTS…` page, Okta's).
pub(crate) trait FormPage {
    /// The page answering `error`.
    fn refuse(error: &FormError) -> Response;
}

/// The parameters of a browser-facing page's request: the query string of a `GET`, the form body of anything
/// else, with repeated parameters refused by the service's own error page `P`.
pub(crate) struct PageForm<P>(pub HashMap<String, String>, pub PhantomData<P>);

impl<S: Send + Sync, P: FormPage> FromRequest<S> for PageForm<P> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let input = if request.method() == Method::GET {
            Bytes::copy_from_slice(request.uri().query().unwrap_or_default().as_bytes())
        } else {
            Bytes::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?
        };
        parse_form(&input)
            .map(|params| PageForm(params, PhantomData))
            .map_err(|error| P::refuse(&error))
    }
}

/// Client credentials from an `Authorization: Basic` header, form-urldecoded as RFC 6749 §2.3.1 requires.
/// `None` when there is no Basic header; `Some(Err(()))` when there is one and it is malformed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ());
    let pair = decoded
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| ()))
        .and_then(|text| {
            let (id, secret) = text.split_once(':').ok_or(())?;
            let id = url::form_urlencoded::parse(format!("a={id}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned());
            let secret = url::form_urlencoded::parse(format!("a={secret}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned());
            Ok((id.unwrap_or_default(), secret.unwrap_or_default()))
        });
    Some(pair)
}

/// The bearer token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Compares secrets in constant time so response timing does not leak how much of a guess was right.
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `base` with `params` appended to its query string (existing parameters are kept).
pub(crate) fn with_query<'a>(
    base: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        // Callers only pass URLs they validated or built themselves; keep the base unchanged otherwise.
        Err(_) => base.to_owned(),
    }
}

/// A `302 Found` to `location`, the status Cognito, Entra and Okta use for browser redirects.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(LOCATION, value)]).into_response(),
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "The redirect address is not valid.",
        ),
    }
}

/// A JSON body with `Cache-Control: no-store`, as OAuth token responses require.
pub(crate) fn no_store_json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=UTF-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        body.to_string(),
    )
        .into_response()
}

/// An OAuth error body `{"error": "<code>"}` with status 400, the way Cognito's token endpoint answers.
pub(crate) fn oauth_error(error: &str) -> Response {
    no_store_json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": error }),
    )
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

/// A complete HTML document with the shared look.
pub(crate) fn page(title: &str, style: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <style>{BASE_STYLE}{style}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        title = esc(title),
    )
}

/// Hidden form fields carrying `fields` (names and values escaped), one per line.
pub(crate) fn hidden_inputs<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    fields
        .into_iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                esc(name),
                esc(value)
            )
        })
        .collect()
}

/// A form's error message, announced to screen readers; nothing when there is none.
pub(crate) fn error_paragraph(error: Option<&str>) -> String {
    error
        .map(|message| format!("<p class=\"error\" role=\"alert\">{}</p>\n", esc(message)))
        .unwrap_or_default()
}

/// An error page shown instead of redirecting, used when no redirect target can be trusted.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<main class=\"card\"><h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>\
         <p class=\"hint\">An error was encountered with the requested page.</p></main>",
        esc(title),
        esc(message)
    );
    (status, Html(page(title, "", &body))).into_response()
}

const BASE_STYLE: &str = "*{box-sizing:border-box}body{margin:0;min-height:100vh;display:flex;align-items:center;\
justify-content:center;font-family:'Segoe UI',system-ui,-apple-system,sans-serif;background:#f2f2f2;color:#1b1b1b}\
.card{background:#fff;width:100%;max-width:440px;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}\
h1{font-size:1.5rem;font-weight:600;margin:0 0 16px}label{display:block;font-size:.9rem;margin:12px 0 4px}\
input[type=text],input[type=email],input[type=password]{width:100%;padding:8px 4px;font-size:1rem;border:0;\
border-bottom:1px solid #666;outline:none}input:focus{border-bottom-color:#0067b8}\
button{margin-top:24px;min-width:108px;padding:8px 16px;font-size:1rem;border:0;color:#fff;background:#0067b8;\
cursor:pointer}.error{color:#e81123;margin:8px 0}.hint{color:#666;font-size:.85rem}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(parse_form(b"a=1&a=2"), Err(FormError::Repeated("a".into())));
        assert_eq!(parse_form(b"a=1&b=x%20y").unwrap()["b"], "x y");
    }

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        assert_eq!(
            basic_credentials(&headers),
            Some(Ok(("my id".into(), "s:cret".into())))
        );
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query("http://a/cb?x=1", [("state", "a b&c")]),
            "http://a/cb?x=1&state=a+b%26c"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<a href=\"x\">'"), "&lt;a href=&quot;x&quot;&gt;&#x27;");
    }
}
