//! Why a token was rejected, why the verifier could not be built, and why a JWKS could not be fetched.

use std::fmt;

/// Which part of a compact JWS an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    /// The first part, the JOSE header.
    Header,
    /// The second part, the claims.
    Payload,
    /// The third part, the signature.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPart::Header => "header",
            TokenPart::Payload => "payload",
            TokenPart::Signature => "signature",
        })
    }
}

/// Why a token was not accepted. Messages never repeat values taken from the token, so they are safe to
/// log; the API answers 401 for every variant except the one for which [`VerifyError::is_unavailable`]
/// is true.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token is longer than any access token the verifier accepts.
    #[error("the token is longer than {max} bytes")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The token is not three non-empty base64url parts separated by dots.
    #[error("the token is not three base64url parts separated by dots")]
    NotThreeParts,
    /// A part is not valid unpadded base64url.
    #[error("the token {part} is not valid base64url")]
    InvalidBase64 {
        /// The offending part.
        part: TokenPart,
    },
    /// The header or payload is not a JSON object.
    #[error("the token {part} is not a JSON object")]
    NotJsonObject {
        /// The offending part.
        part: TokenPart,
    },
    /// A header parameter or registered claim has the wrong JSON type.
    #[error("`{name}` must be {expected}")]
    InvalidType {
        /// The parameter or claim name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A required claim is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// The token's `iss` is not one of the configured issuers.
    #[error("the token's issuer is not a configured issuer")]
    UnknownIssuer,
    /// The header's `alg` is missing or not in the allowlist (RS256 only): `none`, HMAC and the rest.
    #[error("the token's signature algorithm is not allowed (only RS256 is)")]
    AlgorithmNotAllowed,
    /// The header lists critical extensions (`crit`), none of which this verifier understands.
    #[error("the token header has critical extensions (`crit`), which are not supported")]
    UnsupportedCriticalHeader,
    /// The header has no `kid`.
    #[error("the token header has no `kid`")]
    MissingKid,
    /// `token_use` is not `access` (an ID token, for example).
    #[error("the token is not an access token (`token_use` is not `access`)")]
    NotAnAccessToken,
    /// `client_id` is not one of the issuer's allowed app clients.
    #[error("the token's `client_id` is not an allowed client")]
    ClientIdNotAllowed,
    /// The issuer's JWKS has no key with the token's `kid` (after a refetch, or within the penalty
    /// window that follows one).
    #[error("the issuer's JWKS has no key with the token's `kid`")]
    UnknownKid,
    /// The JWKS could not be fetched and no cached key could decide.
    #[error("the issuer's JWKS is unavailable")]
    JwksUnavailable(#[source] JwksFetchError),
    /// The JWK selected by `kid` is not an RSA key.
    #[error("the key for the token's `kid` is not an RSA key")]
    KeyNotRsa,
    /// The JWK selected by `kid` has a `use` other than `sig`.
    #[error("the key for the token's `kid` is not meant for signatures")]
    KeyNotForSignatures,
    /// The JWK selected by `kid` names an `alg` other than the token's.
    #[error("the token's `alg` differs from the `alg` of the key for its `kid`")]
    KeyAlgorithmMismatch,
    /// The JWK selected by `kid` has a missing or malformed modulus or exponent.
    #[error("the key for the token's `kid` has an invalid modulus or exponent")]
    InvalidKey,
    /// The signature does not verify with the issuer's key.
    #[error("the token's signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the token was issued in the future")]
    IssuedInFuture,
}

impl VerifyError {
    /// True only when the JWKS could not be fetched and no cached key could decide: the caller should
    /// answer 503 (retry later). Every other error means the token is unacceptable (401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VerifyError::JwksUnavailable(_))
    }
}

/// Why an [`AccessTokenVerifier`](super::AccessTokenVerifier) could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum VerifierSetupError {
    /// No issuer is configured, so no token could ever be accepted.
    #[error("no token issuer is configured")]
    NoIssuers,
    /// The same issuer is configured twice.
    #[error("issuer {issuer} is configured more than once")]
    DuplicateIssuer {
        /// The issuer.
        issuer: String,
    },
    /// The leeway would accept tokens long expired.
    #[error("the leeway must be at most {max_secs} seconds")]
    LeewayTooLarge {
        /// The limit, in seconds.
        max_secs: u64,
    },
    /// An issuer allows no client, so none of its tokens could ever be accepted.
    #[error("issuer {issuer} has no allowed client ids")]
    NoClientIds {
        /// The issuer.
        issuer: String,
    },
    /// An issuer without an explicit JWKS URI is not an http(s) URL to derive one from.
    #[error("issuer {issuer} is not an http(s) URL; configure its jwks_uri explicitly")]
    IssuerNotAUrl {
        /// The issuer.
        issuer: String,
    },
    /// An issuer's JWKS URI is not an http(s) URL.
    #[error("the jwks_uri of issuer {issuer} is not an http(s) URL")]
    InvalidJwksUri {
        /// The issuer.
        issuer: String,
    },
    /// The HTTP client for JWKS requests could not be built.
    #[error("the HTTP client for JWKS requests could not be built")]
    HttpClient(#[source] reqwest::Error),
}

/// Why a JWKS request failed.
#[derive(Debug, thiserror::Error)]
pub enum JwksFetchError {
    /// The request failed: connection refused, timeout, TLS, or an interrupted body.
    #[error("the JWKS request failed")]
    Request(#[source] reqwest::Error),
    /// The server answered with a status other than 2xx (redirects are not followed).
    #[error("the JWKS endpoint answered HTTP {0}")]
    Status(u16),
    /// The document is larger than any JWKS the verifier accepts.
    #[error("the JWKS document is larger than {max} bytes")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The document is not a JWKS (`{"keys": [...]}` with string-valued key fields).
    #[error("the JWKS document is invalid")]
    InvalidDocument(#[source] serde_json::Error),
    /// The last request failed less than a penalty window ago, so none was made this time.
    #[error("the last JWKS request failed and the refetch penalty window has not ended")]
    RecentFailure,
}
