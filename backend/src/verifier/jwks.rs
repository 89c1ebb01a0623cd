//! One issuer's signing keys: fetched only from its configured JWKS URL, cached, and refetched only for an
//! unknown `kid`, at most once per penalty window, so a flood of made-up `kid`s cannot hammer the issuer.
//!
//! As in aws-jwt-verify, the window starts after a request that did not yield the `kid` looked for; here a
//! failed request starts it too, so tokens arriving during an identity-provider outage do not hammer it
//! either. A request that found its `kid` starts no window, so a key rotated in shortly after the previous
//! request is still picked up at once. Within a window after a failed request, unknown `kid`s are reported
//! as "unavailable" (503), not as bad tokens.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use url::Url;

use super::error::{JwksFetchError, VerifyError};

/// Largest JWKS document accepted, in bytes. A Cognito JWKS holds two keys in about one kilobyte.
pub(super) const MAX_JWKS_BYTES: usize = 256 * 1024;

/// A key of the JWKS, as published (validated for its purpose only when a token selects it, as
/// aws-jwt-verify does, so one odd key does not make the others unusable).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Jwk {
    kty: String,
    #[serde(rename = "use")]
    key_use: Option<String>,
    alg: Option<String>,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    /// The RSA public key made from `n` and `e` the first time a token selects this key, kept for the tokens
    /// after it; `None` when they do not form a valid key. Parsing the key (decoding the modulus, building
    /// its Montgomery context) at every check would cost about a fifth of the signature check itself.
    #[serde(skip)]
    parsed: OnceLock<Option<ParsedPublicKey>>,
}

/// Two keys are the same when they were published the same: whether one has been parsed yet is not part of
/// it (a refetched JWKS holding the same keys is no change).
impl PartialEq for Jwk {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.kty,
            &self.key_use,
            &self.alg,
            &self.kid,
            &self.n,
            &self.e,
        ) == (
            &other.kty,
            &other.key_use,
            &other.alg,
            &other.kid,
            &other.n,
            &other.e,
        )
    }
}

impl Eq for Jwk {}

impl Jwk {
    /// The RS256 verification key for a token signed with `token_alg`, after checking that this JWK is an RSA
    /// signing key meant for that algorithm. The key accepts RSA moduli of 2048 to 8192 bits (PKCS#1 v1.5,
    /// SHA-256).
    pub(super) fn rs256_key_for(&self, token_alg: &str) -> Result<&ParsedPublicKey, VerifyError> {
        if self.kty != "RSA" {
            return Err(VerifyError::KeyNotRsa);
        }
        if self
            .key_use
            .as_deref()
            .is_some_and(|key_use| key_use != "sig")
        {
            return Err(VerifyError::KeyNotForSignatures);
        }
        if self.alg.as_deref().is_some_and(|alg| alg != token_alg) {
            return Err(VerifyError::KeyAlgorithmMismatch);
        }
        self.parsed
            .get_or_init(|| self.parse_rsa_key())
            .as_ref()
            .ok_or(VerifyError::InvalidKey)
    }

    /// The key from the unpadded base64url big-endian `n` and `e` (RFC 7518 section 6.3.1).
    fn parse_rsa_key(&self) -> Option<ParsedPublicKey> {
        let component = |value: &Option<String>| {
            value
                .as_deref()
                .filter(|value| !value.is_empty())
                .and_then(|value| URL_SAFE_NO_PAD.decode(value).ok())
        };
        let components = RsaPublicKeyComponents {
            n: component(&self.n)?,
            e: component(&self.e)?,
        };
        components
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .ok()
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<serde_json::Value>,
}

/// Parses a JWKS document into its keys by `kid`. Keys without a `kid` can never be selected and are
/// skipped, and so are keys whose fields have the wrong JSON types, so one odd key does not make the others
/// unusable; of two keys with the same `kid`, the first wins (as in aws-jwt-verify).
pub(super) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<Jwk>>, JwksFetchError> {
    let document: JwksDocument =
        serde_json::from_slice(body).map_err(JwksFetchError::InvalidDocument)?;
    let mut keys = HashMap::with_capacity(document.keys.len());
    for value in document.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some(kid) = jwk.kid.clone() {
            keys.entry(kid).or_insert_with(|| Arc::new(jwk));
        }
    }
    Ok(keys)
}

/// The key cache of one issuer.
#[derive(Debug)]
pub(super) struct IssuerKeys {
    jwks_uri: Url,
    state: RwLock<CacheState>,
    /// Held while fetching, so concurrent tokens with the same unknown `kid` cause one request, not many.
    fetch_lock: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct CacheState {
    keys: HashMap<String, Arc<Jwk>>,
    /// Moves on each time a fetched JWKS changes `keys`; verified tokens cached under an older generation
    /// are no longer served.
    generation: u64,
    /// The last request that failed or did not contain the `kid` it was made for: it starts the window.
    last_miss: Option<FetchOutcome>,
}

#[derive(Debug, Clone, Copy)]
struct FetchOutcome {
    finished_at: Instant,
    succeeded: bool,
}

impl IssuerKeys {
    pub(super) fn new(jwks_uri: Url) -> Self {
        Self {
            jwks_uri,
            state: RwLock::new(CacheState::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The generation of the key set now.
    pub(super) fn generation(&self) -> u64 {
        self.read_state().generation
    }

    /// The JWK for `kid`, with the generation of the key set it was taken from: from the cache, or from one
    /// JWKS request if the `kid` is unknown and no request finished less than `penalty` ago.
    pub(super) async fn key(
        &self,
        kid: &str,
        http: &reqwest::Client,
        penalty: Duration,
    ) -> Result<(Arc<Jwk>, u64), VerifyError> {
        if let Some(hit) = self.cached(kid) {
            return Ok(hit);
        }

        let _single_flight = self.fetch_lock.lock().await;
        // Another task may have fetched while this one waited for the lock.
        if let Some(hit) = self.cached(kid) {
            return Ok(hit);
        }
        let last_miss = self.read_state().last_miss;
        if let Some(last) = last_miss
            && last.finished_at.elapsed() < penalty
        {
            tracing::debug!(jwks_uri = %self.jwks_uri, "unknown kid within the JWKS refetch penalty window");
            return Err(if last.succeeded {
                VerifyError::UnknownKid
            } else {
                VerifyError::JwksUnavailable(JwksFetchError::RecentFailure)
            });
        }

        let fetched = fetch_jwks(http, &self.jwks_uri).await;
        let mut state = self.write_state();
        let outcome = |succeeded| FetchOutcome {
            finished_at: Instant::now(),
            succeeded,
        };
        match fetched {
            Ok(keys) => {
                tracing::info!(jwks_uri = %self.jwks_uri, keys = keys.len(), "fetched the JWKS");
                // The new document replaces the old one: a key the issuer withdrew stops verifying, and so do
                // the verified tokens cached under the old keys.
                if state.keys != keys {
                    state.keys = keys;
                    state.generation += 1;
                }
                let found = state.keys.get(kid).cloned();
                if found.is_none() {
                    state.last_miss = Some(outcome(true));
                }
                found
                    .map(|jwk| (jwk, state.generation))
                    .ok_or(VerifyError::UnknownKid)
            }
            Err(error) => {
                tracing::warn!(jwks_uri = %self.jwks_uri, error = %error, "JWKS fetch failed; cached keys stay in use");
                state.last_miss = Some(outcome(false));
                Err(VerifyError::JwksUnavailable(error))
            }
        }
    }

    /// The key and the generation of the key set holding it, read together under one lock.
    fn cached(&self, kid: &str) -> Option<(Arc<Jwk>, u64)> {
        let state = self.read_state();
        state
            .keys
            .get(kid)
            .map(|jwk| (jwk.clone(), state.generation))
    }

    // A panic while the lock is held cannot leave the state half-updated (each field is replaced whole),
    // so a poisoned lock is still safe to use.
    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, CacheState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One GET of the JWKS URL, with the client's short timeouts and no redirects, and a size limit.
async fn fetch_jwks(
    http: &reqwest::Client,
    jwks_uri: &Url,
) -> Result<HashMap<String, Arc<Jwk>>, JwksFetchError> {
    let mut response = http
        .get(jwks_uri.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(JwksFetchError::Request)?;
    let status = response.status();
    if !status.is_success() {
        return Err(JwksFetchError::Status(status.as_u16()));
    }
    let too_large = JwksFetchError::TooLarge {
        max: MAX_JWKS_BYTES,
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(JwksFetchError::Request)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    parse_jwks(&body)
}
