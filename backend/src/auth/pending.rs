//! The sign-in in progress between `GET /auth/login` and `GET /auth/callback`, kept in the browser that
//! started it rather than in the database: an HttpOnly cookie holding the PKCE verifier, state, nonce and
//! return path, sealed with AES-256-GCM under the session encryption key (associated data of its own, so
//! neither a session token nor anything else sealed with the key opens as a pending sign-in).
//!
//! Anonymous sign-in starts therefore write nothing on the server. The cookie lives 10 minutes (`Max-Age`,
//! and the start time inside it is checked too), is `__Host-` prefixed when Secure (no sibling subdomain can
//! plant one), SameSite=Lax (sent on the top-level redirect back from the user pool), and single use: the
//! callback clears it whatever the outcome, so the same browser cannot present the state twice, and a
//! browser without it is refused.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::cookie::{Cookie, SameSite};

use super::tokens::{EncryptError, TokenCipher};

/// The pending sign-in cookie's name over plain http (local development).
pub const COOKIE_NAME: &str = "saas_sign_in";
/// The pending sign-in cookie's name when it is `Secure` (see [`super::session::SECURE_COOKIE_NAME`]).
pub const SECURE_COOKIE_NAME: &str = "__Host-saas_sign_in";

/// How long a sign-in may take between `/auth/login` and `/auth/callback` (the user logs in at their
/// identity provider in between).
pub const PENDING_LOGIN_TTL: time::Duration = time::Duration::minutes(10);

/// The associated data of a sealed pending sign-in.
const PURPOSE: &[u8] = b"saas-reference/pending-sign-in/v1";

/// A sign-in in progress.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The OAuth `state`: the callback must present it (compared in constant time).
    pub state: String,
    /// The OpenID Connect `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
    /// Where to go after sign-in: a validated same-site relative path.
    pub return_to: Option<String>,
    /// When the sign-in started, in seconds since the Unix epoch.
    pub created_at: i64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("return_to", &self.return_to)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    /// Whether the sign-in started too long ago (or in the future, which only a forged value could claim).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        let age = now.unix_timestamp() - self.created_at;
        !(0..=PENDING_LOGIN_TTL.whole_seconds()).contains(&age)
    }
}

/// The pending sign-in cookie's name for a `Secure` (or not) cookie.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

/// `pending` sealed into a cookie value.
pub fn seal(cipher: &TokenCipher, pending: &PendingLogin) -> Result<String, EncryptError> {
    let json = serde_json::to_vec(pending).map_err(|_| EncryptError)?;
    cipher.seal(&json, PURPOSE)
}

/// The pending sign-in sealed in `value`, or `None` when it does not open (another key, tampered, forged).
pub fn open(cipher: &TokenCipher, value: &str) -> Option<PendingLogin> {
    let json = cipher.open(value, PURPOSE).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The `Set-Cookie` value that stores `pending` in the browser for [`PENDING_LOGIN_TTL`].
pub fn set_cookie(
    cipher: &TokenCipher,
    pending: &PendingLogin,
    secure: bool,
) -> Result<HeaderValue, EncryptError> {
    let cookie = Cookie::build((cookie_name(secure), seal(cipher, pending)?))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(PENDING_LOGIN_TTL);
    HeaderValue::from_str(&cookie.to_string()).map_err(|_| EncryptError)
}

/// The `Set-Cookie` value that removes the pending sign-in from the browser.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(secure), ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time::Duration::ZERO);
    // The name and attributes are fixed ASCII; a value that cannot be a header would be a bug here.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The pending sign-in the request's cookies carry, if one of them opens.
pub fn from_headers(
    cipher: &TokenCipher,
    headers: &HeaderMap,
    secure: bool,
) -> Option<PendingLogin> {
    let name = cookie_name(secure);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse(value.to_owned()))
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name)
        .find_map(|cookie| open(cipher, cookie.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionKey;

    fn pending(created_at: i64) -> PendingLogin {
        PendingLogin {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: Some("/reports".into()),
            created_at,
        }
    }

    #[test]
    fn a_pending_login_expires_after_ten_minutes() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        assert!(!pending(1_000_000).is_expired(now));
        assert!(!pending(1_000_000 - 599).is_expired(now));
        assert!(pending(1_000_000 - 601).is_expired(now));
        assert!(
            pending(1_000_000 + 60).is_expired(now),
            "a start time in the future is not trusted"
        );
    }

    #[test]
    fn debug_output_of_a_pending_login_hides_its_secrets() {
        let printed = format!("{:?}", pending(0));
        assert!(
            !printed.contains("pkce_verifier")
                && !printed.contains("nonce")
                && !printed.contains("state")
        );
    }

    #[test]
    fn the_cookie_is_sealed_http_only_lax_host_prefixed_and_short_lived() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let header = set_cookie(&cipher, &pending(5), true).unwrap();
        let cookie = Cookie::parse(header.to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cookie.name(), "__Host-saas_sign_in");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.max_age(), Some(time::Duration::minutes(10)));
        assert!(!cookie.value().contains("/reports"), "sealed, not in clear");

        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {}={}", cookie.name(), cookie.value()))
                .unwrap(),
        );
        let opened = from_headers(&cipher, &headers, true).unwrap();
        assert_eq!(opened.state, "s");
        assert_eq!(opened.return_to.as_deref(), Some("/reports"));
        assert!(
            from_headers(&cipher, &headers, false).is_none(),
            "the other name"
        );
    }

    #[test]
    fn a_cookie_sealed_with_another_key_or_as_a_session_token_does_not_open() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let other = TokenCipher::new(&SessionKey::random());
        assert!(open(&cipher, &seal(&other, &pending(5)).unwrap()).is_none());
        let json = serde_json::to_vec(&pending(5)).unwrap();
        let wrong_purpose = cipher
            .seal(&json, b"saas-reference/session-token/v2\n")
            .unwrap();
        assert!(open(&cipher, &wrong_purpose).is_none());
        assert!(open(&cipher, "garbage").is_none());
    }

    #[test]
    fn the_clearing_cookie_expires_at_once() {
        let cookie = Cookie::parse(clear_cookie(false).to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cookie.name(), "saas_sign_in");
        assert_eq!(cookie.value(), "");
        assert_eq!(cookie.max_age(), Some(time::Duration::ZERO));
    }
}
