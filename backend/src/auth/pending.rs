//! The sign-in in progress between `GET /auth/login` and `GET /auth/callback` (or the operators'
//! `/operator/auth/login` and `/operator/auth/callback`), kept in the browser that started it rather than in
//! the database: an HttpOnly cookie holding the PKCE verifier, state, nonce and
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

/// Which pending sign-in cookie: the tenants' sign-in ([`SIGN_IN`]) and the operators' ([`OPERATOR_SIGN_IN`])
/// have their own names, paths and associated data, so neither opens as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingCookie {
    /// The name over plain http (local development).
    pub name: &'static str,
    /// The name when it is `Secure`.
    pub secure_name: &'static str,
    /// The cookie's path: only the callback that consumes it needs it.
    pub path: &'static str,
    /// The associated data it is sealed with.
    pub purpose: &'static [u8],
}

/// The tenants' pending sign-in, between `/auth/login` and `/auth/callback`. Its `Secure` name is `__Host-`
/// prefixed (see [`super::session::SECURE_COOKIE_NAME`]), which requires `Path=/`.
pub const SIGN_IN: PendingCookie = PendingCookie {
    name: "saas_sign_in",
    secure_name: "__Host-saas_sign_in",
    path: "/",
    purpose: b"saas-reference/pending-sign-in/v1",
};

/// The operators' pending sign-in, between `/operator/auth/login` and `/operator/auth/callback`, sent only to
/// `/operator/auth`; `__Secure-` prefixed when Secure (a `__Host-` cookie must have `Path=/`).
pub const OPERATOR_SIGN_IN: PendingCookie = PendingCookie {
    name: "saas_operator_sign_in",
    secure_name: "__Secure-saas_operator_sign_in",
    path: "/operator/auth",
    purpose: b"saas-reference/pending-operator-sign-in/v1",
};

/// How long a sign-in may take between `/auth/login` and `/auth/callback` (the user logs in at their
/// identity provider in between).
pub const PENDING_LOGIN_TTL: time::Duration = time::Duration::minutes(10);

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

impl PendingCookie {
    /// The cookie's name for a `Secure` (or not) cookie.
    pub fn cookie_name(&self, secure: bool) -> &'static str {
        if secure { self.secure_name } else { self.name }
    }

    /// `pending` sealed into a cookie value.
    pub fn seal(
        &self,
        cipher: &TokenCipher,
        pending: &PendingLogin,
    ) -> Result<String, EncryptError> {
        let json = serde_json::to_vec(pending).map_err(|_| EncryptError)?;
        cipher.seal(&json, self.purpose)
    }

    /// The pending sign-in sealed in `value`, or `None` when it does not open (another key, tampered, forged,
    /// or sealed as the other kind of pending sign-in).
    pub fn open(&self, cipher: &TokenCipher, value: &str) -> Option<PendingLogin> {
        let json = cipher.open(value, self.purpose).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// The `Set-Cookie` value that stores `pending` in the browser for [`PENDING_LOGIN_TTL`].
    pub fn set_cookie(
        &self,
        cipher: &TokenCipher,
        pending: &PendingLogin,
        secure: bool,
    ) -> Result<HeaderValue, EncryptError> {
        let cookie = Cookie::build((self.cookie_name(secure), self.seal(cipher, pending)?))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .path(self.path)
            .max_age(PENDING_LOGIN_TTL);
        HeaderValue::from_str(&cookie.to_string()).map_err(|_| EncryptError)
    }

    /// The `Set-Cookie` value that removes the pending sign-in from the browser.
    pub fn clear_cookie(&self, secure: bool) -> HeaderValue {
        let cookie = Cookie::build((self.cookie_name(secure), ""))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .path(self.path)
            .max_age(time::Duration::ZERO);
        // The name and attributes are fixed ASCII; a value that cannot be a header would be a bug here.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
    }

    /// The pending sign-in the request's cookies carry, if one of them opens.
    pub fn from_headers(
        &self,
        cipher: &TokenCipher,
        headers: &HeaderMap,
        secure: bool,
    ) -> Option<PendingLogin> {
        let name = self.cookie_name(secure);
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| Cookie::split_parse(value.to_owned()))
            .filter_map(Result::ok)
            .filter(|cookie| cookie.name() == name)
            .find_map(|cookie| self.open(cipher, cookie.value()))
    }
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
        let header = SIGN_IN.set_cookie(&cipher, &pending(5), true).unwrap();
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
        let opened = SIGN_IN.from_headers(&cipher, &headers, true).unwrap();
        assert_eq!(opened.state, "s");
        assert_eq!(opened.return_to.as_deref(), Some("/reports"));
        assert!(
            SIGN_IN.from_headers(&cipher, &headers, false).is_none(),
            "the other name"
        );
    }

    #[test]
    fn a_cookie_sealed_with_another_key_or_as_a_session_token_does_not_open() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let other = TokenCipher::new(&SessionKey::random());
        assert!(
            SIGN_IN
                .open(&cipher, &SIGN_IN.seal(&other, &pending(5)).unwrap())
                .is_none()
        );
        let json = serde_json::to_vec(&pending(5)).unwrap();
        let wrong_purpose = cipher
            .seal(&json, b"saas-reference/session-token/v2\n")
            .unwrap();
        assert!(SIGN_IN.open(&cipher, &wrong_purpose).is_none());
        assert!(SIGN_IN.open(&cipher, "garbage").is_none());
    }

    #[test]
    fn an_operator_sign_in_and_a_tenant_sign_in_never_open_as_each_other() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let tenant = SIGN_IN.seal(&cipher, &pending(5)).unwrap();
        let operator = OPERATOR_SIGN_IN.seal(&cipher, &pending(5)).unwrap();
        assert!(OPERATOR_SIGN_IN.open(&cipher, &tenant).is_none());
        assert!(SIGN_IN.open(&cipher, &operator).is_none());
        assert!(OPERATOR_SIGN_IN.open(&cipher, &operator).is_some());

        let header = OPERATOR_SIGN_IN
            .set_cookie(&cipher, &pending(5), true)
            .unwrap();
        let cookie = Cookie::parse(header.to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cookie.name(), "__Secure-saas_operator_sign_in");
        assert_eq!(cookie.path(), Some("/operator/auth"));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
    }

    #[test]
    fn the_clearing_cookie_expires_at_once() {
        let cookie =
            Cookie::parse(SIGN_IN.clear_cookie(false).to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cookie.name(), "saas_sign_in");
        assert_eq!(cookie.value(), "");
        assert_eq!(cookie.max_age(), Some(time::Duration::ZERO));
    }
}
