//! OAuth 2.0 building blocks shared by the user pool and the mock IdPs: PKCE and client authentication.

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::web::{basic_credentials, secrets_equal};

/// A PKCE transformation (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    /// `BASE64URL(SHA256(verifier)) == challenge`.
    S256,
    /// `verifier == challenge` (the IdP mocks accept it where the real IdP does; the pool refuses it).
    Plain,
}

impl PkceMethod {
    /// Parses `code_challenge_method`; a missing method means `plain` per RFC 7636.
    pub(crate) fn parse(method: Option<&str>) -> Option<PkceMethod> {
        match method {
            Some("S256") => Some(PkceMethod::S256),
            Some("plain") | None => Some(PkceMethod::Plain),
            Some(_) => None,
        }
    }
}

/// Whether a challenge or verifier has RFC 7636's shape: 43 to 128 unreserved characters.
pub(crate) fn valid_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` answers `challenge`.
pub(crate) fn pkce_matches(method: PkceMethod, verifier: &str, challenge: &str) -> bool {
    if !valid_pkce_value(verifier) {
        return false;
    }
    match method {
        PkceMethod::S256 => secrets_equal(
            &URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            challenge,
        ),
        PkceMethod::Plain => secrets_equal(verifier, challenge),
    }
}

/// How a client authenticated at a token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresentedClient {
    /// The client id it claims.
    pub client_id: String,
    /// The secret it presented, if any.
    pub client_secret: Option<String>,
}

/// Reads client credentials from `client_secret_basic` or `client_secret_post`. Using both at once, or a body
/// `client_id` that disagrees with the Basic one, is refused (RFC 6749 §2.3.1). `None` means no usable
/// credentials.
pub(crate) fn presented_client(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Option<PresentedClient> {
    match basic_credentials(headers) {
        Some(Ok((client_id, secret))) => {
            if params.contains_key("client_secret") {
                return None;
            }
            if params
                .get("client_id")
                .is_some_and(|body_id| body_id != &client_id)
            {
                return None;
            }
            Some(PresentedClient {
                client_id,
                client_secret: Some(secret),
            })
        }
        Some(Err(())) => None,
        None => {
            let client_id = params.get("client_id")?.clone();
            Some(PresentedClient {
                client_id,
                client_secret: params.get("client_secret").cloned(),
            })
        }
    }
}

impl PresentedClient {
    /// Whether the presented secret is the expected one; a public client (`expected` is `None`) must present
    /// none.
    pub(crate) fn secret_matches(&self, expected: Option<&str>) -> bool {
        match (expected, self.client_secret.as_deref()) {
            (Some(expected), Some(presented)) => secrets_equal(expected, presented),
            (None, None) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(PkceMethod::S256, verifier, challenge));
        assert!(!pkce_matches(
            PkceMethod::S256,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!pkce_matches(PkceMethod::Plain, verifier, challenge));
    }

    #[test]
    fn pkce_values_need_43_to_128_unreserved_characters() {
        assert!(valid_pkce_value(&"a".repeat(43)));
        assert!(!valid_pkce_value(&"a".repeat(42)));
        assert!(!valid_pkce_value(&"a".repeat(129)));
        assert!(!valid_pkce_value(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn both_basic_and_post_secrets_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::AUTHORIZATION,
            "Basic aWQ6c2VjcmV0".parse().unwrap(),
        );
        let mut params = HashMap::new();
        assert_eq!(
            presented_client(&headers, &params),
            Some(PresentedClient {
                client_id: "id".into(),
                client_secret: Some("secret".into())
            })
        );
        params.insert("client_secret".to_owned(), "secret".to_owned());
        assert_eq!(presented_client(&headers, &params), None);
    }
}
