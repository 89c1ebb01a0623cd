//! Encryption of the tokens kept in the session store (AES-256-GCM), so a leaked session table or backup
//! yields no usable access, ID or refresh token, and a ciphertext copied into another session's row does not
//! decrypt there: the session id is part of the associated data. The same key seals the pending sign-in
//! cookie ([`super::pending`]) under associated data of its own.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use serde::{Deserialize, Serialize};

use tower_sessions::session::Id;

use crate::config::SessionKey;

/// The start of the associated data of a session token, followed by the session id: a token encrypted for
/// another purpose, format version or session does not decrypt.
const SESSION_TOKEN_PURPOSE: &[u8] = b"saas-reference/session-token/v2\n";
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

    /// Encrypts `token` for the session `session` under a fresh random nonce. AES-GCM fails only for inputs
    /// beyond its length limit (64 GiB), far above any token.
    pub fn encrypt(&self, token: &str, session: &Id) -> Result<EncryptedToken, EncryptError> {
        self.seal(token.as_bytes(), &session_associated_data(session))
            .map(EncryptedToken)
    }

    /// Decrypts a token sealed by [`TokenCipher::encrypt`] with the same key for the same session.
    pub fn decrypt(&self, token: &EncryptedToken, session: &Id) -> Result<String, DecryptError> {
        let plain = self.open(&token.0, &session_associated_data(session))?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }

    /// Encrypts `plain` under a fresh random nonce with `associated_data`: base64url of
    /// `nonce || ciphertext || tag`.
    pub(crate) fn seal(
        &self,
        plain: &[u8],
        associated_data: &[u8],
    ) -> Result<String, EncryptError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plain,
            aad: associated_data,
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| EncryptError)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(BASE64.encode(sealed))
    }

    /// Decrypts what [`TokenCipher::seal`] sealed with the same key and `associated_data`.
    pub(crate) fn open(
        &self,
        sealed: &str,
        associated_data: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        let sealed = BASE64.decode(sealed).map_err(|_| DecryptError)?;
        if sealed.len() <= NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map_err(|_| DecryptError)
    }
}

/// The associated data of a token kept in the session `session`.
fn session_associated_data(session: &Id) -> Vec<u8> {
    let mut data = SESSION_TOKEN_PURPOSE.to_vec();
    data.extend_from_slice(session.to_string().as_bytes());
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_is_not_stored_in_clear() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let session = Id::default();
        let sealed = cipher
            .encrypt("eyJhbGciOiJSUzI1NiJ9.payload.signature", &session)
            .unwrap();
        assert!(!sealed.0.contains("eyJ"));
        assert_eq!(
            cipher.decrypt(&sealed, &session).unwrap(),
            "eyJhbGciOiJSUzI1NiJ9.payload.signature"
        );
        assert_ne!(
            cipher.encrypt("same", &session).unwrap().0,
            cipher.encrypt("same", &session).unwrap().0,
            "every encryption uses a fresh nonce"
        );
    }

    #[test]
    fn a_token_copied_into_another_session_does_not_decrypt_there() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let (alice_session, mallory_session) = (Id::default(), Id::default());
        let sealed = cipher.encrypt("alice's token", &alice_session).unwrap();
        assert!(cipher.decrypt(&sealed, &mallory_session).is_err());
        assert_eq!(
            cipher.decrypt(&sealed, &alice_session).unwrap(),
            "alice's token"
        );
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_own_associated_data() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let sealed = cipher.seal(b"pending", b"purpose-a").unwrap();
        assert_eq!(cipher.open(&sealed, b"purpose-a").unwrap(), b"pending");
        assert!(cipher.open(&sealed, b"purpose-b").is_err());
    }

    #[test]
    fn another_key_or_a_flipped_bit_does_not_decrypt() {
        let cipher = TokenCipher::new(&SessionKey::from_bytes([1; 32]));
        let session = Id::default();
        let sealed = cipher.encrypt("token", &session).unwrap();
        assert!(
            TokenCipher::new(&SessionKey::from_bytes([2; 32]))
                .decrypt(&sealed, &session)
                .is_err()
        );

        let mut bytes = BASE64.decode(&sealed.0).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(
            cipher
                .decrypt(&EncryptedToken(BASE64.encode(bytes)), &session)
                .is_err()
        );
        assert!(
            cipher
                .decrypt(&EncryptedToken("not base64!".into()), &session)
                .is_err()
        );
        assert!(
            cipher
                .decrypt(&EncryptedToken(String::new()), &session)
                .is_err()
        );
    }

    #[test]
    fn debug_output_shows_no_ciphertext() {
        let cipher = TokenCipher::new(&SessionKey::random());
        let sealed = cipher.encrypt("token", &Id::default()).unwrap();
        assert_eq!(format!("{sealed:?}"), "EncryptedToken(..)");
    }
}
