//! Credentials the S3 stand-in accepts. Mostly temporary security credentials, as STS issues them for a role
//! session: an `ASIA…` access key id, a secret key, a session token and an expiry, plus what the session
//! carries (the role, its principal tags, the identity it was issued to). The identity pool issues them; the
//! S3 stand-in looks them up on every request and checks the session token and the expiry there. Besides
//! those, long-term `AKIA…` keys of IAM users (the backend's own key, from `local.json`), which carry no
//! session token and do not expire.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng as _;
use rand::distributions::Alphanumeric;
use subtle::ConstantTimeEq as _;

/// How long credentials from `GetCredentialsForIdentity` last (the identity pool's fixed one hour).
pub const SESSION_DURATION: Duration = Duration::from_secs(3600);
/// Long-term keys do not expire; this stands for "never" (a century).
const LONG_TERM: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// One role session's credentials and what they stand for.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    /// `ASIA` followed by 16 upper-case letters and digits.
    pub access_key_id: String,
    /// The secret access key (40 characters).
    pub secret_access_key: String,
    /// The session token every request must carry; empty for a long-term key, which must be used without.
    pub session_token: String,
    /// When the credentials stop working.
    pub expiration: SystemTime,
    /// The role the session assumed, or the IAM user of a long-term key: the principal whose permission
    /// policy decides.
    pub role_arn: String,
    /// The session's principal tags (`aws:PrincipalTag/<key>`).
    pub principal_tags: BTreeMap<String, String>,
    /// The identity pool identity the credentials were issued to.
    pub identity_id: String,
}

impl SessionCredentials {
    /// The global condition keys of a request made with these credentials at `now`: the principal's tags, ARN,
    /// account and type, the transport (the stand-ins speak plain HTTP) and the time.
    pub(crate) fn request_context(&self, now: SystemTime) -> crate::iam::Context {
        use time::format_description::well_known::Rfc3339;
        let mut context = crate::iam::Context::new();
        for (key, value) in &self.principal_tags {
            context.insert(&format!("aws:PrincipalTag/{key}"), value.as_str());
        }
        context.insert("aws:PrincipalArn", self.role_arn.as_str());
        if let Some(account) = self.role_arn.split(':').nth(4).filter(|a| !a.is_empty()) {
            context.insert("aws:PrincipalAccount", account);
        }
        let principal_type = if self.role_arn.contains(":user/") {
            "User"
        } else {
            "AssumedRole"
        };
        context.insert("aws:PrincipalType", principal_type);
        context.insert("aws:SecureTransport", false);
        let now = time::OffsetDateTime::from(now);
        if let Ok(current) = now.format(&Rfc3339) {
            context.insert("aws:CurrentTime", current);
        }
        context.insert("aws:EpochTime", now.unix_timestamp().to_string());
        context
    }
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("role_arn", &self.role_arn)
            .field("principal_tags", &self.principal_tags)
            .field("identity_id", &self.identity_id)
            .finish_non_exhaustive()
    }
}

/// Why presented credentials are not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// No session has this access key id (S3: `InvalidAccessKeyId`).
    #[error("The AWS Access Key Id you provided does not exist in our records.")]
    UnknownAccessKey,
    /// The session token is missing or not this session's (S3: `InvalidToken`).
    #[error("The provided token is malformed or otherwise invalid.")]
    InvalidToken,
    /// The session has expired (S3: `ExpiredToken`).
    #[error("The provided token has expired.")]
    Expired,
}

/// Every session issued so far, by access key id. Cheap to clone; clones share the sessions.
#[derive(Clone, Default)]
pub struct CredentialStore {
    sessions: Arc<Mutex<HashMap<String, SessionCredentials>>>,
}

impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStore")
            .field("sessions", &self.lock().len())
            .finish()
    }
}

impl CredentialStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, SessionCredentials>> {
        // Every write is a single insert or retain; a panic elsewhere cannot leave the map half-changed.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Issues fresh credentials for a session of `role_arn` with `principal_tags`, valid for `duration`.
    /// Expired sessions are forgotten on the way.
    pub fn issue(
        &self,
        role_arn: &str,
        principal_tags: BTreeMap<String, String>,
        identity_id: &str,
        duration: Duration,
    ) -> SessionCredentials {
        let mut rng = rand::thread_rng();
        let access_key_id = format!(
            "ASIA{}",
            (0..16)
                .map(|_| {
                    let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
                    char::from(chars[rng.gen_range(0..chars.len())])
                })
                .collect::<String>()
        );
        let secret_access_key: String = (&mut rng)
            .sample_iter(&Alphanumeric)
            .take(40)
            .map(char::from)
            .collect();
        let token_bytes: Vec<u8> = (0..240).map(|_| rng.r#gen::<u8>()).collect();
        let now = SystemTime::now();
        let credentials = SessionCredentials {
            access_key_id: access_key_id.clone(),
            secret_access_key,
            session_token: STANDARD.encode(token_bytes),
            expiration: now + duration,
            role_arn: role_arn.to_owned(),
            principal_tags,
            identity_id: identity_id.to_owned(),
        };
        let mut sessions = self.lock();
        sessions.retain(|_, session| session.expiration > now);
        sessions.insert(access_key_id, credentials.clone());
        credentials
    }

    /// The live session of `access_key_id`, if `session_token` is its token and it has not expired.
    pub fn check(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<SessionCredentials, CredentialsError> {
        let session = self
            .lock()
            .get(access_key_id)
            .cloned()
            .ok_or(CredentialsError::UnknownAccessKey)?;
        let token_matches = match session_token {
            // A long-term key is used without a token (AWS refuses a token with one).
            _ if session.session_token.is_empty() => session_token.is_none(),
            Some(token) => bool::from(token.as_bytes().ct_eq(session.session_token.as_bytes())),
            None => false,
        };
        if !token_matches {
            return Err(CredentialsError::InvalidToken);
        }
        if session.expiration <= SystemTime::now() {
            return Err(CredentialsError::Expired);
        }
        Ok(session)
    }

    /// Registers the long-term key of an IAM user (`principal_arn`): usable without a session token, never
    /// expiring.
    pub fn register_long_term(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        principal_arn: &str,
    ) {
        let credentials = SessionCredentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: String::new(),
            expiration: SystemTime::now() + LONG_TERM,
            role_arn: principal_arn.to_owned(),
            principal_tags: BTreeMap::new(),
            identity_id: String::new(),
        };
        self.lock().insert(access_key_id.to_owned(), credentials);
    }

    /// Makes a session expire now (tests of expiry, without waiting an hour).
    pub fn expire(&self, access_key_id: &str) -> bool {
        match self.lock().get_mut(access_key_id) {
            Some(session) => {
                session.expiration = SystemTime::now() - Duration::from_secs(1);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(store: &CredentialStore) -> SessionCredentials {
        store.issue(
            "arn:aws:iam::000000000000:role/uploads",
            BTreeMap::from([("tenant_id".to_owned(), "acme".to_owned())]),
            "eu-west-1:1",
            SESSION_DURATION,
        )
    }

    #[test]
    fn issued_credentials_look_like_sts_session_credentials() {
        let credentials = issue(&CredentialStore::default());
        assert!(credentials.access_key_id.starts_with("ASIA"));
        assert_eq!(credentials.access_key_id.len(), 20);
        assert!(
            credentials.access_key_id[4..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(credentials.secret_access_key.len(), 40);
        assert!(credentials.session_token.len() > 300);
        assert!(!format!("{credentials:?}").contains(&credentials.secret_access_key));
    }

    #[test]
    fn a_long_term_key_is_usable_only_without_a_session_token() {
        let store = CredentialStore::default();
        store.register_long_term(
            "AKIATEST",
            "secret",
            "arn:aws:iam::000000000000:user/backend",
        );
        let session = store.check("AKIATEST", None).unwrap();
        assert_eq!(session.role_arn, "arn:aws:iam::000000000000:user/backend");
        assert_eq!(
            store.check("AKIATEST", Some("any")),
            Err(CredentialsError::InvalidToken)
        );
        let other = issue(&store);
        assert_eq!(
            store.check("AKIATEST", Some(&other.session_token)),
            Err(CredentialsError::InvalidToken)
        );
    }

    #[test]
    fn a_session_is_usable_only_with_its_own_token_and_until_it_expires() {
        let store = CredentialStore::default();
        let credentials = issue(&store);
        let id = credentials.access_key_id.as_str();
        assert_eq!(
            store.check(id, Some(&credentials.session_token)),
            Ok(credentials.clone())
        );
        assert_eq!(store.check(id, None), Err(CredentialsError::InvalidToken));
        let other = issue(&store);
        assert_eq!(
            store.check(id, Some(&other.session_token)),
            Err(CredentialsError::InvalidToken)
        );
        assert_eq!(
            store.check("ASIAUNKNOWN", Some(&credentials.session_token)),
            Err(CredentialsError::UnknownAccessKey)
        );
        assert!(store.expire(id));
        assert_eq!(
            store.check(id, Some(&credentials.session_token)),
            Err(CredentialsError::Expired)
        );
    }
}
