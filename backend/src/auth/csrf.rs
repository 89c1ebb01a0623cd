//! Cross-site request forgery defence for cookie-authenticated requests: a state-changing request must come
//! from the app's own origin.
//!
//! Browsers send `Origin` on every cross-origin request and on same-origin POST/PUT/PATCH/DELETE, and a page
//! cannot forge it. Without `Origin`, `Sec-Fetch-Site: same-origin` (also set only by the browser) is
//! accepted. Requests whose `Authorization` header is a syntactically valid `Bearer` token are exempt: the
//! principal then comes from that header alone, never from the cookie, and a cross-site page cannot add
//! the header without a CORS preflight. Any other `Authorization` (`Basic`, which a browser may attach by
//! itself, or garbage) is no exemption.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::principal::bearer_token;
use crate::error::ApiError;
use crate::state::AppState;

/// Middleware: rejects cross-site state-changing requests with 403 `csrf_rejected`.
pub async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let allowed = is_allowed(
        request.method(),
        request.headers(),
        &state.config.public_origin(),
    );
    pass_if(allowed, request, next).await
}

/// Middleware for routes that authenticate by cookie alone (the set-up wizard's API): as
/// [`reject_cross_site`], without the bearer exemption, which holds only where a bearer token, not the cookie,
/// is what the request is authorised by.
pub async fn reject_cross_site_cookie_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let allowed = is_same_site(
        request.method(),
        request.headers(),
        &state.config.public_origin(),
    );
    pass_if(allowed, request, next).await
}

/// Runs `request` when `allowed`; 403 `csrf_rejected` otherwise.
async fn pass_if(allowed: bool, request: Request, next: Next) -> Result<Response, ApiError> {
    if allowed {
        Ok(next.run(request).await)
    } else {
        tracing::info!(method = %request.method(), "cross-site request rejected");
        Err(ApiError::CsrfRejected)
    }
}

/// The decision: safe methods and well-formed bearer requests pass; others need the app's origin.
fn is_allowed(method: &Method, headers: &HeaderMap, public_origin: &str) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| bearer_token(value.as_bytes()))
        .is_some()
        || is_same_site(method, headers, public_origin)
}

/// Safe methods pass; others need the app's origin (or, without `Origin`, `Sec-Fetch-Site: same-origin`).
fn is_same_site(method: &Method, headers: &HeaderMap, public_origin: &str) -> bool {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return true;
    }
    match headers.get(ORIGIN) {
        Some(origin) => origin.as_bytes() == public_origin.as_bytes(),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"same-origin"),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const APP: &str = "http://localhost:3000";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn safe_methods_pass_without_an_origin() {
        assert!(is_allowed(&Method::GET, &headers(&[]), APP));
        assert!(is_allowed(
            &Method::HEAD,
            &headers(&[("origin", "https://evil.example")]),
            APP
        ));
    }

    #[test]
    fn state_changing_requests_need_the_apps_origin() {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_allowed(
                &method,
                &headers(&[("origin", "http://localhost:3000")]),
                APP
            ));
            assert!(!is_allowed(&method, &headers(&[]), APP));
            assert!(!is_allowed(
                &method,
                &headers(&[("origin", "https://evil.example")]),
                APP
            ));
            assert!(!is_allowed(&method, &headers(&[("origin", "null")]), APP));
            assert!(!is_allowed(
                &method,
                &headers(&[("origin", "http://localhost:3000.evil.example")]),
                APP
            ));
            assert!(!is_allowed(
                &method,
                &headers(&[("origin", "http://localhost:3001")]),
                APP
            ));
        }
    }

    #[test]
    fn sec_fetch_site_same_origin_counts_only_without_an_origin_header() {
        assert!(is_allowed(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-origin")]),
            APP
        ));
        assert!(!is_allowed(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-site")]),
            APP
        ));
        assert!(!is_allowed(
            &Method::POST,
            &headers(&[("sec-fetch-site", "cross-site")]),
            APP
        ));
        assert!(!is_allowed(
            &Method::POST,
            &headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            APP
        ));
    }

    #[test]
    fn bearer_requests_are_exempt() {
        assert!(is_allowed(
            &Method::POST,
            &headers(&[("authorization", "Bearer x")]),
            APP
        ));
    }

    #[test]
    fn for_cookie_only_routes_a_bearer_header_is_no_exemption() {
        let bearer = headers(&[
            ("authorization", "Bearer a.b.c"),
            ("origin", "https://evil.example"),
        ]);
        assert!(is_allowed(&Method::POST, &bearer, APP));
        assert!(!is_same_site(&Method::POST, &bearer, APP));
        assert!(is_same_site(
            &Method::POST,
            &headers(&[("authorization", "Bearer a.b.c"), ("origin", APP)]),
            APP
        ));
    }

    #[test]
    fn other_authorization_schemes_and_malformed_bearer_headers_are_not_exempt() {
        for value in [
            "Basic YWxpY2U6UGFzc3cwcmQh",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Negotiate abc",
            "garbage",
        ] {
            let mut map = headers(&[("origin", "https://evil.example")]);
            map.insert(AUTHORIZATION, HeaderValue::from_static(value));
            assert!(!is_allowed(&Method::POST, &map, APP), "{value}");
        }
    }
}
