//! Verification of Cognito access tokens, with the behaviour of awslabs/aws-jwt-verify's `CognitoJwtVerifier`.
//!
//! The unverified `iss` only selects one of the configured issuers; keys come only from that issuer's
//! configured JWKS URL; only RS256 is accepted; `token_use` must be `access` and `client_id` must be one of
//! the issuer's allowed clients. The RS256 signature is checked with `aws-lc-rs` over the parts already decoded,
//! with the issuer's key parsed once; the times are checked here, with the configured leeway.
//!
//! Checks on the unverified token (shape, claim types, issuer, algorithm, `kid`, `token_use`, `client_id`)
//! run before any network call, so a token failing them never makes the verifier contact the identity
//! provider. They only ever reject: nothing is trusted until the signature has been verified.
//!
//! Tokens that passed are kept in a bounded cache keyed by the SHA-256 of the whole token (`cache.rs`), so
//! a client sending the same token on every request pays for the signature check once; an entry is served
//! only until the token's `exp` and only while its issuer's keys are the ones it was verified with.

mod cache;
mod claims;
mod error;
mod jwks;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest::{Digest, SHA256, digest};
use url::Url;

use self::cache::{TokenCache, TokenKey};
use self::claims::{DecodedToken, MAX_TOKEN_BYTES, UnverifiedToken};
pub use self::error::{JwksFetchError, TokenPart, VerifierSetupError, VerifyError};
use self::jwks::IssuerKeys;

/// The only signature algorithm accepted: Cognito user pools sign with RS256.
const ALLOWED_ALGORITHM: &str = "RS256";

/// The `token_use` value of an access token (ID tokens carry `id`).
const ACCESS_TOKEN_USE: &str = "access";

/// The largest clock-skew leeway accepted: more would quietly extend every token's lifetime.
const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Settings of an [`AccessTokenVerifier`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The issuers whose access tokens are accepted. A token's `iss` must equal one of them exactly.
    pub issuers: Vec<IssuerConfig>,
    /// After a JWKS request (successful or not), no further request is made to the same issuer for this
    /// long, however many tokens with unknown `kid`s arrive. Defaults to 10 seconds.
    pub jwks_refetch_penalty: Duration,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`, in whole seconds, at most 5 minutes. Defaults to
    /// 5 seconds.
    pub leeway: Duration,
    /// Connect and total timeout of a JWKS request. Defaults to 3 seconds.
    pub fetch_timeout: Duration,
    /// How many verified tokens are kept so that the same token is not verified again on every request
    /// (about 2 KB each; 0 turns the cache off). A cached token is served only until its `exp` and only
    /// while its issuer's keys are unchanged. Defaults to 10 000.
    pub token_cache_capacity: usize,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            jwks_refetch_penalty: Duration::from_secs(10),
            leeway: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(3),
            token_cache_capacity: 10_000,
        }
    }
}

/// One trusted token issuer (a Cognito user pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The exact `iss` value, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC` or
    /// `http://127.0.0.1:9229/eu-west-1_L0caLP00l`.
    pub issuer: String,
    /// Where the issuer publishes its keys. `None` means `<issuer>/.well-known/jwks.json`, as for Cognito.
    pub jwks_uri: Option<Url>,
    /// The `client_id` values accepted (Cognito access tokens carry `client_id` and no `aud`).
    pub client_ids: Vec<String>,
}

impl IssuerConfig {
    /// A Cognito user pool issuer: keys at `<issuer>/.well-known/jwks.json`, tokens of the given app clients.
    pub fn cognito(
        issuer: impl Into<String>,
        client_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_uri: None,
            client_ids: client_ids.into_iter().map(Into::into).collect(),
        }
    }

    /// The JWKS URL: the configured one, or the issuer's well-known path (aws-jwt-verify's derivation).
    fn resolved_jwks_uri(&self) -> Result<Url, VerifierSetupError> {
        if let Some(uri) = &self.jwks_uri {
            return match uri.scheme() {
                "http" | "https" => Ok(uri.clone()),
                _ => Err(VerifierSetupError::InvalidJwksUri {
                    issuer: self.issuer.clone(),
                }),
            };
        }
        let invalid = || VerifierSetupError::IssuerNotAUrl {
            issuer: self.issuer.clone(),
        };
        let mut uri = Url::parse(&self.issuer).map_err(|_| invalid())?;
        if !matches!(uri.scheme(), "http" | "https") || uri.cannot_be_a_base() {
            return Err(invalid());
        }
        let path = format!("{}/.well-known/jwks.json", uri.path().trim_end_matches('/'));
        uri.set_path(&path);
        uri.set_query(None);
        uri.set_fragment(None);
        Ok(uri)
    }
}

/// Verifies access tokens of the configured issuers. Cheap to clone: clones share the key cache.
#[derive(Debug, Clone)]
pub struct AccessTokenVerifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Issuers by their exact `iss` value.
    issuers: HashMap<String, TrustedIssuer>,
    http: reqwest::Client,
    refetch_penalty: Duration,
    leeway_secs: u64,
    /// Tokens that passed [`AccessTokenVerifier::verify`], by digest.
    verified: TokenCache,
}

#[derive(Debug)]
struct TrustedIssuer {
    issuer: String,
    client_ids: HashSet<String>,
    keys: IssuerKeys,
}

/// A verified access token: the signature, issuer, time window, token use and client have all been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAccessToken {
    /// The issuer (the user pool), equal to the configured issuer string.
    pub issuer: String,
    /// The user's (or, for client credentials, the client's) subject in the user pool.
    pub sub: String,
    /// The app client the token was issued to.
    pub client_id: String,
    /// The user pool user name; absent from client-credentials tokens.
    pub username: Option<String>,
    /// The space-separated `scope` claim, split (empty when the claim is absent).
    pub scopes: Vec<String>,
    /// `exp`, in seconds since the Unix epoch.
    pub expires_at: i64,
    /// `iat`, in seconds since the Unix epoch.
    pub issued_at: i64,
    /// The token's unique id, when present.
    pub jti: Option<String>,
    /// Cognito's `origin_jti`, the same in every token of one sign-in and its refreshes, when present and
    /// a string.
    pub origin_jti: Option<String>,
    /// Cognito's `auth_time` (when the user signed in), in seconds since the Unix epoch, when present and a
    /// whole number.
    pub auth_time: Option<i64>,
    /// The tenant the pre-token-generation trigger bound the token to (`tenant_id`), when present and a
    /// string. Whether it is a valid id is for the caller to check.
    pub tenant_id: Option<String>,
    /// The member the trigger bound the token to (`member_id`), when present and a string.
    pub member_id: Option<String>,
}

impl VerifiedAccessToken {
    /// Whether the token grants exactly this scope (whole scope names, never prefixes).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}

impl AccessTokenVerifier {
    /// Checks the configuration and builds the HTTP client used for JWKS requests (short timeouts, no
    /// redirects: keys come from the configured URL and nowhere else).
    pub fn new(config: VerifierConfig) -> Result<Self, VerifierSetupError> {
        if config.issuers.is_empty() {
            return Err(VerifierSetupError::NoIssuers);
        }
        if config.leeway > MAX_LEEWAY {
            return Err(VerifierSetupError::LeewayTooLarge {
                max_secs: MAX_LEEWAY.as_secs(),
            });
        }
        let mut issuers = HashMap::with_capacity(config.issuers.len());
        for issuer_config in &config.issuers {
            if issuer_config.client_ids.is_empty() {
                return Err(VerifierSetupError::NoClientIds {
                    issuer: issuer_config.issuer.clone(),
                });
            }
            let jwks_uri = issuer_config.resolved_jwks_uri()?;
            let trusted = TrustedIssuer {
                issuer: issuer_config.issuer.clone(),
                client_ids: issuer_config.client_ids.iter().cloned().collect(),
                keys: IssuerKeys::new(jwks_uri),
            };
            if issuers
                .insert(issuer_config.issuer.clone(), trusted)
                .is_some()
            {
                return Err(VerifierSetupError::DuplicateIssuer {
                    issuer: issuer_config.issuer.clone(),
                });
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.fetch_timeout)
            .timeout(config.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(VerifierSetupError::HttpClient)?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuers,
                http,
                refetch_penalty: config.jwks_refetch_penalty,
                leeway_secs: config.leeway.as_secs(),
                verified: TokenCache::new(config.token_cache_capacity),
            }),
        })
    }

    /// Verifies an access token (the compact JWS, without any `Bearer ` prefix).
    ///
    /// Fails with an error for which [`VerifyError::is_unavailable`] is true only when the issuer's
    /// JWKS could not be fetched and no cached key could decide; every other error means the token is
    /// not acceptable.
    ///
    /// A token verified before is answered from the cache of verified tokens (see `verifier/cache.rs`)
    /// while its `exp` has not passed and its issuer's keys have not changed.
    ///
    /// The answer is shared with the cache (an `Arc`): a cached check costs a hash and a lookup, not a copy
    /// of the claims.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedAccessToken>, VerifyError> {
        // Oversized input is refused by the decomposition below without being hashed first.
        let key = (token.len() <= MAX_TOKEN_BYTES)
            .then(|| TokenKey::of(token))
            .flatten();
        if let Some(key) = &key {
            let cached = self.inner.verified.get(key, now(), |issuer| {
                self.inner
                    .issuers
                    .get(issuer)
                    .map(|trusted| trusted.keys.generation())
            });
            if let Some(verified) = cached {
                return Ok(verified);
            }
        }
        let verified = self
            .verify_uncached(token, key.as_ref().map(TokenKey::signed_digest))
            .await?;
        let token = Arc::new(verified.token);
        if let Some(key) = &key {
            self.inner
                .verified
                .insert(key, Arc::clone(&token), verified.key_generation);
        }
        Ok(token)
    }

    /// Forgets `token` if it was verified before, when its sign-in ends: a signed-out session's token has no
    /// further use, and without this each sign-in would occupy the cache until its capacity pushed it out.
    pub fn forget(&self, token: &str) {
        if token.len() <= MAX_TOKEN_BYTES
            && let Some(key) = TokenKey::of(token)
        {
            self.inner.verified.remove(&key);
        }
    }

    /// The full verification, and the issuer's key generation it was done under. `signed_digest` is the
    /// SHA-256 of the token up to its last dot when the caller has it already.
    async fn verify_uncached(
        &self,
        token: &str,
        signed_digest: Option<&Digest>,
    ) -> Result<FreshlyVerified, VerifyError> {
        let decoded = DecodedToken::decode(token)?;
        let unverified = decoded.parse()?;
        let claims = &unverified.claims;

        // The unverified issuer only selects among configured issuers, before any network call.
        let iss = claims.iss().ok_or(VerifyError::MissingClaim("iss"))?;
        let issuer = self
            .inner
            .issuers
            .get(iss)
            .ok_or(VerifyError::UnknownIssuer)?;

        if unverified.header.alg.as_deref() != Some(ALLOWED_ALGORITHM) {
            return Err(VerifyError::AlgorithmNotAllowed);
        }
        if unverified.header.has_crit {
            return Err(VerifyError::UnsupportedCriticalHeader);
        }
        let kid = unverified
            .header
            .kid
            .as_deref()
            .ok_or(VerifyError::MissingKid)?;
        let prechecked = issuer.check_access_token_claims(&unverified)?;

        let (jwk, key_generation) = issuer
            .keys
            .key(kid, &self.inner.http, self.inner.refetch_penalty)
            .await?;
        let key = jwk.rs256_key_for(ALLOWED_ALGORITHM)?;

        // The signature over the parts decomposed above, with the key parsed when it was first used. Not
        // `jsonwebtoken::decode`, which would decode and parse the whole token a second time only to repeat
        // checks made here (the issuer is the configured one it was selected by, the required claims and
        // their types were checked by `parse` and `check_access_token_claims`), nor
        // `jsonwebtoken::crypto::verify`, which decodes the key's modulus and builds the key anew for each
        // token. The times are checked below.
        //
        // A token that passed `decode` has exactly two dots, so the digest of the part before its last dot is
        // the digest of its signed part.
        let computed;
        let signed_digest = match signed_digest {
            Some(signed_digest) => signed_digest,
            None => {
                computed = digest(&SHA256, &token.as_bytes()[..unverified.signed_len]);
                &computed
            }
        };
        key.verify_digest_sig(signed_digest, unverified.signature)
            .map_err(|_| VerifyError::InvalidSignature)?;

        // `exp` in the past, `nbf` or `iat` in the future, each beyond the leeway (a token minted in the
        // future means a broken or lying issuer).
        let now = now();
        let leeway = i64::try_from(self.inner.leeway_secs).unwrap_or(i64::MAX);
        if prechecked.expires_at < now.saturating_sub(leeway) {
            return Err(VerifyError::Expired);
        }
        if claims
            .nbf()
            .is_some_and(|not_before| not_before > now.saturating_add(leeway))
        {
            return Err(VerifyError::NotYetValid);
        }
        if prechecked.issued_at > now.saturating_add(leeway) {
            return Err(VerifyError::IssuedInFuture);
        }

        let scopes = claims
            .scope()
            .map(|scope| {
                scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let token = VerifiedAccessToken {
            issuer: issuer.issuer.clone(),
            sub: prechecked.sub,
            client_id: prechecked.client_id,
            username: claims.username().map(String::from),
            scopes,
            expires_at: prechecked.expires_at,
            issued_at: prechecked.issued_at,
            jti: claims.jti().map(String::from),
            origin_jti: claims.origin_jti().map(String::from),
            auth_time: claims.auth_time(),
            tenant_id: claims.tenant_id().map(String::from),
            member_id: claims.member_id().map(String::from),
        };
        Ok(FreshlyVerified {
            token,
            key_generation,
        })
    }
}

/// The outcome of a full verification: the token, and the generation of the issuer's key set the key came
/// from.
struct FreshlyVerified {
    token: VerifiedAccessToken,
    key_generation: u64,
}

/// Now, in seconds since the Unix epoch (`exp`, `nbf` and `iat` are checked against it).
fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// Claims checked on the unverified token, kept for the verified result.
struct PrecheckedClaims {
    sub: String,
    client_id: String,
    expires_at: i64,
    issued_at: i64,
}

impl TrustedIssuer {
    /// The Cognito-specific checks (aws-jwt-verify's `validateCognitoJwtFields` for access tokens) and the
    /// presence of the claims the result needs. They cost nothing, so they run before any key lookup.
    fn check_access_token_claims(
        &self,
        token: &UnverifiedToken<'_>,
    ) -> Result<PrecheckedClaims, VerifyError> {
        let claims = &token.claims;
        match claims.token_use() {
            Some(ACCESS_TOKEN_USE) => {}
            Some(_) => return Err(VerifyError::NotAnAccessToken),
            None => return Err(VerifyError::MissingClaim("token_use")),
        }
        let client_id = claims
            .client_id()
            .ok_or(VerifyError::MissingClaim("client_id"))?;
        if !self.client_ids.contains(client_id) {
            return Err(VerifyError::ClientIdNotAllowed);
        }
        let sub = claims
            .sub()
            .filter(|sub| !sub.is_empty())
            .ok_or(VerifyError::MissingClaim("sub"))?;
        let expires_at = claims.exp().ok_or(VerifyError::MissingClaim("exp"))?;
        let issued_at = claims.iat().ok_or(VerifyError::MissingClaim("iat"))?;
        Ok(PrecheckedClaims {
            sub: sub.to_owned(),
            client_id: client_id.to_owned(),
            expires_at,
            issued_at,
        })
    }
}
