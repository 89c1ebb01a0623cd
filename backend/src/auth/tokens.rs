//! Encryption of the tokens kept in the session store (AES-256-GCM), so a leaked session table or backup
//! yields no usable access, ID or refresh token.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use serde::{Deserialize, Serialize};

use crate::config::SessionKey;

/// Associated data bound into every ciphertext: a token encrypted for another purpose or format version
/// does not decrypt here.
const ASSOCIATED_DATA: &[u8] = b"saas-reference/session-token/v1";
/// AES-GCM's nonce length in bytes.
const NONCE_LEN: usize = 12;

/// A token encrypted with the session key: base64url of `nonce || ciphertext || tag`. `Debug` prints nothing
/// of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncryptedToken(String);

impl fmt::Debug for EncryptedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptedToken(..)")
    }
}

/// The token could not be decrypted: another key (the process restarted with a random development key) or
/// tampered data. The session holding it is useless and is ended.
#[derive(Debug, thiserror::Error)]
#[error("the session token could not be decrypted")]
pub struct DecryptError;

/// The token could not be encrypted (it exceeds AES-GCM's length limit).
#[derive(Debug, thiserror::Error)]
#[error("the session token could not be encrypted")]
pub struct EncryptError;

/// Encrypts and decrypts session tokens with the configured key.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

impl TokenCipher {
    /// A cipher with `key`.
    pub fn new(key: &SessionKey) -> Self {
        TokenCipher {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.as_bytes())),
        }
    }

    /// Encrypts `token` under a fresh random nonce. AES-GCM fails only for inputs beyond its length limit
    /// (64 GiB), far above any token.
    pub fn encrypt(&self, token: &str) -> Result<EncryptedToken, EncryptError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: token.as_bytes(),
            aad: ASSOCIATED_DATA,
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| EncryptError)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(EncryptedToken(BASE64.encode(sealed)))
    }

    /// Decrypts a token sealed by [`TokenCipher::encrypt`] with the same key.
    pub fn decrypt(&self, token: &EncryptedToken) -> Result<String, DecryptError> {
        let sealed = BASE64.decode(&token.0).map_err(|_| DecryptError)?;
        if sealed.len() <= NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: ASSOCIATED_DATA,
                },
            )
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_is_not_stored_in_clear() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let sealed = cipher
            .encrypt("eyJhbGciOiJSUzI1NiJ9.payload.signature")
            .unwrap();
        assert!(!sealed.0.contains("eyJ"));
        assert_eq!(
            cipher.decrypt(&sealed).unwrap(),
            "eyJhbGciOiJSUzI1NiJ9.payload.signature"
        );
        assert_ne!(
            cipher.encrypt("same").unwrap().0,
            cipher.encrypt("same").unwrap().0,
            "every encryption uses a fresh nonce"
        );
    }

    #[test]
    fn another_key_or_a_flipped_bit_does_not_decrypt() {
        let cipher = TokenCipher::new(&SessionKey::from_bytes([1; 32]));
        let sealed = cipher.encrypt("token").unwrap();
        assert!(
            TokenCipher::new(&SessionKey::from_bytes([2; 32]))
                .decrypt(&sealed)
                .is_err()
        );

        let mut bytes = BASE64.decode(&sealed.0).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(
            cipher
                .decrypt(&EncryptedToken(BASE64.encode(bytes)))
                .is_err()
        );
        assert!(
            cipher
                .decrypt(&EncryptedToken("not base64!".into()))
                .is_err()
        );
        assert!(cipher.decrypt(&EncryptedToken(String::new())).is_err());
    }

    #[test]
    fn debug_output_shows_no_ciphertext() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let sealed = cipher.encrypt("token").unwrap();
        assert_eq!(format!("{sealed:?}"), "EncryptedToken(..)");
    }
}
