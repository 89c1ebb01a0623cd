//! RSA signing keys: generation, JWKS publication, signing, and rotation without restart.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Key size of every generated key; Cognito, Entra and Okta all sign with 2048-bit RSA.
const KEY_BITS: usize = 2048;

/// Errors of key generation and signing.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The RSA key could not be generated or encoded.
    #[error("generating an RSA key failed: {0}")]
    Generate(String),
    /// The claims could not be signed.
    #[error("signing a token failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// One RSA key pair with its key id.
pub(crate) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

impl SigningKey {
    /// Generates a fresh key. The kid is like Cognito's: base64 of a SHA-256 over the public modulus.
    pub(crate) fn generate() -> Result<SigningKey, KeyError> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let n = private.n().to_bytes_be();
        let e = private.e().to_bytes_be();
        let kid = STANDARD.encode(Sha256::digest(&n));
        let n64 = URL_SAFE_NO_PAD.encode(&n);
        let e64 = URL_SAFE_NO_PAD.encode(&e);
        let decoding = DecodingKey::from_rsa_components(&n64, &e64)?;
        let jwk =
            json!({ "alg": "RS256", "e": e64, "kid": kid, "kty": "RSA", "n": n64, "use": "sig" });
        Ok(SigningKey {
            kid,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding,
            jwk,
        })
    }

    /// Signs claims as an RS256 JWT with this key's kid.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        // Cognito's token headers carry only `kid` and `alg`, no `typ`.
        header.typ = None;
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// The public key as a JWK.
    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The public key for verifying tokens this key signed.
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// The user pool's keys: one signing access tokens, one signing ID tokens, and retired ones still published.
struct KeyRing {
    access: Arc<SigningKey>,
    id: Arc<SigningKey>,
    /// Every published key (including the two current ones), oldest first.
    published: Vec<Arc<SigningKey>>,
}

/// A cloneable handle on the user pool's keys, for rotation in tests and by operators.
///
/// Rotation works like Cognito's: the new key signs from now on and the old one stays in the JWKS until it is
/// retired, so tokens already issued keep verifying.
#[derive(Clone)]
pub struct KeyAdmin {
    ring: Arc<RwLock<KeyRing>>,
}

impl KeyAdmin {
    /// Generates the two signing keys of a fresh pool.
    pub(crate) fn generate() -> Result<KeyAdmin, KeyError> {
        let access = Arc::new(SigningKey::generate()?);
        let id = Arc::new(SigningKey::generate()?);
        let published = vec![access.clone(), id.clone()];
        Ok(KeyAdmin {
            ring: Arc::new(RwLock::new(KeyRing {
                access,
                id,
                published,
            })),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, KeyRing> {
        // A panic while holding the lock cannot leave the ring half-changed (every write is one assignment
        // sequence without fallible steps), so a poisoned lock is still consistent.
        self.ring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, KeyRing> {
        self.ring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Generates a new access-token key, makes it the signing key and returns its kid. The old key stays
    /// published until [`KeyAdmin::retire_key`].
    ///
    /// # Panics
    /// If the operating system's random number generator fails (key generation cannot fail otherwise).
    pub fn rotate_access_key(&self) -> String {
        let key = Arc::new(generate_or_panic());
        let kid = key.kid.clone();
        let mut ring = self.write();
        ring.published.push(key.clone());
        ring.access = key;
        kid
    }

    /// Generates a new ID-token key, makes it the signing key and returns its kid.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    pub fn rotate_id_key(&self) -> String {
        let key = Arc::new(generate_or_panic());
        let kid = key.kid.clone();
        let mut ring = self.write();
        ring.published.push(key.clone());
        ring.id = key;
        kid
    }

    /// Removes a key from the JWKS. A key that currently signs cannot be retired (rotate first); returns
    /// whether a key was removed.
    pub fn retire_key(&self, kid: &str) -> bool {
        let mut ring = self.write();
        if ring.access.kid == kid || ring.id.kid == kid {
            return false;
        }
        let before = ring.published.len();
        ring.published.retain(|k| k.kid != kid);
        ring.published.len() != before
    }

    /// The kids in the JWKS, oldest first.
    pub fn published_kids(&self) -> Vec<String> {
        self.read()
            .published
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// The kid that signs access tokens now.
    pub fn access_kid(&self) -> String {
        self.read().access.kid.clone()
    }

    /// The kid that signs ID tokens now.
    pub fn id_kid(&self) -> String {
        self.read().id.kid.clone()
    }

    /// Signs claims with the current access-token key.
    pub(crate) fn sign_access(&self, claims: &Value) -> Result<String, KeyError> {
        let key = self.read().access.clone();
        key.sign(claims)
    }

    /// Signs claims with the current ID-token key.
    pub(crate) fn sign_id(&self, claims: &Value) -> Result<String, KeyError> {
        let key = self.read().id.clone();
        key.sign(claims)
    }

    /// The JWKS document (`{"keys": [...]}`).
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": self.read().published.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// The published key with this kid, for verifying the pool's own tokens (userInfo).
    pub(crate) fn published_key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.read().published.iter().find(|k| k.kid == kid).cloned()
    }
}

/// Rotation is an operator and test action with no caller that could recover from a broken random number
/// generator, so it panics with a clear message instead of threading an impossible error through.
#[allow(
    clippy::expect_used,
    reason = "key generation only fails when the OS RNG fails"
)]
fn generate_or_panic() -> SigningKey {
    SigningKey::generate()
        .expect("generating an RSA key (is the OS random number generator available?)")
}

impl std::fmt::Debug for KeyAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAdmin")
            .field("published_kids", &self.published_kids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_publishes_the_new_key_and_keeps_the_old_until_retired() {
        let admin = KeyAdmin::generate().unwrap();
        let old = admin.access_kid();
        assert_ne!(
            old,
            admin.id_kid(),
            "access and ID tokens use different keys"
        );
        let new = admin.rotate_access_key();
        assert_eq!(admin.access_kid(), new);
        assert!(admin.published_kids().contains(&old));
        assert!(!admin.retire_key(&new), "the signing key cannot be retired");
        assert!(admin.retire_key(&old));
        assert!(!admin.published_kids().contains(&old));
        assert_eq!(admin.jwks()["keys"].as_array().map(Vec::len), Some(2));
    }
}
