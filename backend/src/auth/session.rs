//! The server-side session: the cookie settings, the session store, what a session holds before and after
//! sign-in, and the absolute expiry.
//!
//! Sessions live in Postgres (`tower_sessions.session`, created by the migrations), keyed by the SHA-256 of
//! the session id, so the table (or a backup of it) holds no cookie that would work. The browser holds only
//! the session cookie (HttpOnly, SameSite=Lax, Secure per configuration). Tokens are stored encrypted
//! ([`super::tokens`]).

use std::collections::HashMap;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use uuid::Uuid;

use super::oidc::TokenSet;
use super::tokens::{EncryptError, EncryptedToken, TokenCipher};
use crate::config::Config;
use crate::error::{ApiError, has_json_body};

/// The session cookie's name over plain http (local development).
pub const COOKIE_NAME: &str = "saas_session";
/// The session cookie's name when it is `Secure`: the `__Host-` prefix makes browsers refuse it unless it is
/// Secure, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it.
pub const SECURE_COOKIE_NAME: &str = "__Host-saas_session";
/// The session key of a signed-in member ([`SignedIn`]).
pub const SIGNED_IN_KEY: &str = "signed_in";

/// The operators' console session cookie's name over plain http (local development).
pub const OPERATOR_COOKIE_NAME: &str = "saas_operator_session";
/// The operators' console session cookie's name when it is `Secure`. It is sent only to `/operator`, so the
/// tenant app's requests never carry it; a `__Host-` cookie must have `Path=/`, so this one has the
/// `__Secure-` prefix (browsers refuse it unless it is Secure). A sibling subdomain could still plant one, but
/// a planted id is worthless: the store knows only ids it issued, and sign-in replaces the id.
pub const OPERATOR_SECURE_COOKIE_NAME: &str = "__Secure-saas_operator_session";
/// The path the operators' console session cookie is sent to.
pub const OPERATOR_COOKIE_PATH: &str = "/operator";
/// The session key of a signed-in operator (`crate::console::principal::OperatorSignedIn`), never present in
/// a member's session, so a member's session id in the operator cookie reads as signed out.
pub const OPERATOR_SIGNED_IN_KEY: &str = "operator_signed_in";

/// The session cookie's name for a `Secure` (or not) cookie.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

/// The session layer: Postgres store, the session cookie, idle expiry. A session is saved when it changes;
/// a signed-in session is also touched now and then ([`SessionTokens::needs_touch`]) so that the idle timer
/// measures inactivity.
pub fn session_layer(store: SessionStore, config: &Config) -> SessionManagerLayer<SessionStore> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(config.cookie_secure))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.cookie_secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(config.session_idle))
}

/// The operators' console session layer: the same store, its own cookie name and path, the same idle expiry.
pub fn operator_session_layer(
    store: SessionStore,
    config: &Config,
) -> SessionManagerLayer<SessionStore> {
    let name = if config.cookie_secure {
        OPERATOR_SECURE_COOKIE_NAME
    } else {
        OPERATOR_COOKIE_NAME
    };
    SessionManagerLayer::new(store)
        .with_name(name)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.cookie_secure)
        .with_path(OPERATOR_COOKIE_PATH)
        .with_expiry(Expiry::OnInactivity(config.session_idle))
}

/// Reads `key` from the session. A value that no longer deserialises (written by another version of the
/// backend, or tampered with) makes the whole session worthless: it is deleted and the value reads as
/// absent, so the caller answers as for no session (401, or a fresh sign-in). A store failure is a 503.
pub(crate) async fn read<T: DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match session.get::<T>(key).await {
        Ok(value) => Ok(value),
        Err(tower_sessions::session::Error::SerdeJson(err)) => {
            tracing::info!(error = %err, key, "unreadable session data; ending the session");
            session.flush().await.map_err(ApiError::unavailable)?;
            Ok(None)
        }
        Err(err) => Err(ApiError::unavailable(err)),
    }
}

/// Middleware (`map_response`, just outside the session layer): the session layer answers a failed save
/// with an empty 500. Everything inside it answers errors with a JSON body, so an empty 500 here is the
/// store failing, which is the database being unavailable: 503 with the app's body.
pub async fn session_save_failures(response: Response) -> Response {
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR && !has_json_body(&response) {
        return ApiError::unavailable("the session could not be saved").into_response();
    }
    response
}

/// The session store on `tower_sessions.session`.
///
/// Hand-written rather than tower-sessions-sqlx-store's `PostgresStore`, which keys rows by the session id in
/// clear and saves with an upsert (so a request in flight during sign-out would write the session back):
///
/// - Rows are keyed by SHA-256 of the session id: reading the table yields no usable cookie.
/// - `save` only updates a session that is still there and unexpired: a request that was in flight during
///   sign-out (or expiry) cannot write the session back when it finishes. Only `create` inserts, and only
///   a brand-new id.
/// - A row whose data cannot be read is deleted and treated as no session.
/// - Signed-in sessions are also kept in memory for a while (at most [`RECENT_SESSIONS_CAPACITY`], each for
///   at most [`RECENT_SESSIONS_TTL`]), so that a signed-in request does not read its session from the
///   database; why that is safe is said where they are kept (`RecentSessions`).
#[derive(Clone, Debug)]
pub struct SessionStore {
    pool: PgPool,
    recent: RecentSessions,
}

/// How many signed-in sessions one backend instance keeps in memory (a few kilobytes each: the encrypted
/// tokens); when it is full, the cache's own eviction policy (moka's TinyLFU) chooses which go.
pub const RECENT_SESSIONS_CAPACITY: u64 = 10_000;
/// How long a session stays in memory after it was read or written here. This bounds how long an instance
/// goes on using its copy of a session that another instance changed (tokens refreshed, idle expiry pushed
/// back) or deleted. None of that can let anyone in who should be out: sign-out and ended sessions revoke
/// the sign-in, and every request checks the revocation list and the membership in the database.
pub const RECENT_SESSIONS_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The signed-in sessions this instance read or wrote lately, by storage key, each until its own expiry or
/// [`RECENT_SESSIONS_TTL`], whichever comes first.
///
/// What this saves is the session read of every browser request. It is safe because a session's record is
/// no authority on whether its member may still get in: sign-out and an admin ending sessions record the
/// sign-in (`origin_jti`) as revoked, and the request's tenant transaction checks that list and the
/// membership before anything else, on every request, cached session or not. Sessions are cached only once
/// signed in, so that sign-in attempts (a session each, anyone can start one) cannot push them out.
#[derive(Clone, Debug)]
struct RecentSessions {
    entries: moka::sync::Cache<Vec<u8>, Record>,
}

impl RecentSessions {
    fn new() -> Self {
        RecentSessions {
            entries: moka::sync::Cache::builder()
                .max_capacity(RECENT_SESSIONS_CAPACITY)
                .time_to_live(RECENT_SESSIONS_TTL)
                .build(),
        }
    }

    /// The session under `key`, if it is here and has not expired.
    fn get(&self, key: &[u8]) -> Option<Record> {
        let record = self.entries.get(key)?;
        if record.expiry_date > OffsetDateTime::now_utc() {
            Some(record)
        } else {
            self.entries.invalidate(key);
            None
        }
    }

    /// Keeps `record`, stored under `key`, when it is a signed-in session (of a member or an operator);
    /// forgets the key otherwise.
    fn put(&self, key: Vec<u8>, record: &Record) {
        if record.data.contains_key(SIGNED_IN_KEY)
            || record.data.contains_key(OPERATOR_SIGNED_IN_KEY)
        {
            self.entries.insert(key, record.clone());
        } else {
            self.entries.invalidate(&key);
        }
    }

    fn forget(&self, key: &[u8]) {
        self.entries.invalidate(key);
    }
}

/// The key a session id is stored under (also what `member_sessions` refers to the session by).
pub fn storage_key(id: &Id) -> Vec<u8> {
    Sha256::digest(id.to_string().as_bytes()).to_vec()
}

fn store_error(err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

impl SessionStore {
    /// The store on the application's pool; the table comes from the migrations.
    pub fn new(pool: PgPool) -> Self {
        SessionStore {
            pool,
            recent: RecentSessions::new(),
        }
    }

    /// Forgets the sessions stored under `keys` (see [`storage_key`]) that were deleted from the database
    /// directly, as ending a member's sessions does, so that this instance stops using them at once.
    pub fn forget(&self, keys: &[Vec<u8>]) {
        for key in keys {
            self.recent.forget(key);
        }
    }
}

#[async_trait]
impl tower_sessions::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A 128-bit random id practically never collides; if it does, another id is drawn rather than
        // overwriting someone else's session.
        loop {
            let inserted = sqlx::query!(
                "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
                storage_key(&record.id),
                Json(&record.data) as _,
                record.expiry_date
            )
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            if inserted.rows_affected() == 1 {
                self.recent.put(storage_key(&record.id), record);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let key = storage_key(&record.id);
        let updated = sqlx::query!(
            "UPDATE tower_sessions.session SET data = $2, expiry_date = $3
             WHERE id = $1 AND expiry_date > now()",
            key.as_slice(),
            Json(&record.data) as _,
            record.expiry_date
        )
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            tracing::debug!("not saving a session that was deleted or expired meanwhile");
            self.recent.forget(&key);
        } else {
            self.recent.put(key, record);
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let key = storage_key(id);
        if let Some(record) = self.recent.get(&key) {
            return Ok(Some(record));
        }
        let row = sqlx::query!(
            "SELECT data, expiry_date FROM tower_sessions.session WHERE id = $1 AND expiry_date > now()",
            key.as_slice()
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (data, expiry_date) = (row.data, row.expiry_date);
        match serde_json::from_value::<HashMap<String, Value>>(data) {
            Ok(data) => {
                let record = Record {
                    id: *id,
                    data,
                    expiry_date,
                };
                self.recent.put(key, &record);
                Ok(Some(record))
            }
            Err(err) => {
                tracing::warn!(error = %err, "unreadable session deleted");
                self.delete_key(&key).await?;
                Ok(None)
            }
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.delete_key(&storage_key(id)).await
    }
}

impl SessionStore {
    async fn delete_key(&self, key: &[u8]) -> session_store::Result<()> {
        self.recent.forget(key);
        sqlx::query!("DELETE FROM tower_sessions.session WHERE id = $1", key)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        // Again: a read that overlapped the deletion may have put the session back meanwhile.
        self.recent.forget(key);
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query!("DELETE FROM tower_sessions.session WHERE expiry_date <= now()")
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

/// A signed-in member's session: who, and their tokens (encrypted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedIn {
    /// The member, from the verified access token at sign-in.
    pub member_id: Uuid,
    /// The tenant, from the verified access token at sign-in.
    pub tenant_id: Uuid,
    /// The sign-in's tokens and times (stored flat beside the member, as before they were a struct).
    #[serde(flatten)]
    pub tokens: SessionTokens,
}

/// The tokens a signed-in session holds (encrypted for that session) and its clock: what member and operator
/// sessions share.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionTokens {
    /// The access token.
    pub access_token: EncryptedToken,
    /// The ID token.
    pub id_token: EncryptedToken,
    /// The refresh token, when the user pool issued one.
    pub refresh_token: Option<EncryptedToken>,
    /// The sign-in's `origin_jti` (the same in every token of the sign-in and its refreshes), recorded as
    /// revoked at sign-out. Absent only in sessions stored before it was kept.
    #[serde(default)]
    pub origin_jti: Option<String>,
    /// The access token's `exp`, in seconds since the Unix epoch.
    pub access_expires_at: i64,
    /// When the user signed in, in seconds since the Unix epoch; the absolute expiry counts from here.
    pub signed_in_at: i64,
    /// When the session was last saved because of activity, in seconds since the Unix epoch.
    #[serde(default)]
    pub last_seen_at: i64,
}

impl SessionTokens {
    /// The tokens of a sign-in that completed `now`, encrypted for the session `session_id`.
    pub fn new(
        cipher: &TokenCipher,
        tokens: &TokenSet,
        session_id: &Id,
        origin_jti: &str,
        access_expires_at: i64,
        now: OffsetDateTime,
    ) -> Result<SessionTokens, EncryptError> {
        let encrypt = |token: &str| cipher.encrypt(token, session_id);
        Ok(SessionTokens {
            access_token: encrypt(&tokens.access_token)?,
            id_token: encrypt(&tokens.id_token)?,
            refresh_token: tokens.refresh_token.as_deref().map(encrypt).transpose()?,
            origin_jti: Some(origin_jti.to_owned()),
            access_expires_at,
            signed_in_at: now.unix_timestamp(),
            last_seen_at: now.unix_timestamp(),
        })
    }

    /// Replaces the tokens with those of a refresh (`now`); a refresh answer without a refresh token keeps
    /// the one held.
    pub fn replace(
        &mut self,
        cipher: &TokenCipher,
        tokens: &TokenSet,
        session_id: &Id,
        access_expires_at: i64,
        now: OffsetDateTime,
    ) -> Result<(), EncryptError> {
        self.access_token = cipher.encrypt(&tokens.access_token, session_id)?;
        self.id_token = cipher.encrypt(&tokens.id_token, session_id)?;
        if let Some(rotated) = &tokens.refresh_token {
            self.refresh_token = Some(cipher.encrypt(rotated, session_id)?);
        }
        self.access_expires_at = access_expires_at;
        self.last_seen_at = now.unix_timestamp();
        Ok(())
    }

    /// Whether the session has outlived the absolute limit since sign-in.
    pub fn is_past_absolute_expiry(&self, now: OffsetDateTime, absolute: time::Duration) -> bool {
        now.unix_timestamp() - self.signed_in_at >= absolute.whole_seconds()
    }

    /// Whether this request should save the session to push its idle expiry back. Saving on every request
    /// would cost a write per API call; saving once per touch interval (a quarter of the idle timeout, at
    /// most a minute, at least a second) keeps the idle timeout accurate to within that interval.
    pub fn needs_touch(&self, now: OffsetDateTime, idle: time::Duration) -> bool {
        let interval = (idle.whole_seconds() / 4).clamp(1, 60);
        now.unix_timestamp() - self.last_seen_at >= interval
    }

    /// Whether the access token has expired (or will within a few seconds, so it is refreshed before it
    /// fails mid-request).
    pub fn access_token_expired(&self, now: OffsetDateTime) -> bool {
        self.access_expires_at <= now.unix_timestamp() + 5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in(last_seen_at: i64) -> SessionTokens {
        let cipher = TokenCipher::new(&crate::config::SessionKey::random());
        let token = cipher.encrypt("t", &Id::default()).unwrap();
        SessionTokens {
            access_token: token.clone(),
            id_token: token,
            refresh_token: None,
            origin_jti: None,
            access_expires_at: 0,
            signed_in_at: 0,
            last_seen_at,
        }
    }

    #[test]
    fn a_member_session_is_stored_flat_as_before_its_tokens_were_a_struct_of_their_own() {
        let stored = serde_json::json!({
            "member_id": Uuid::nil(),
            "tenant_id": Uuid::nil(),
            "access_token": "a",
            "id_token": "i",
            "refresh_token": null,
            "access_expires_at": 1,
            "signed_in_at": 2
        });
        let read: SignedIn = serde_json::from_value(stored).unwrap();
        assert_eq!(read.tokens.signed_in_at, 2);
        assert_eq!(read.tokens.origin_jti, None);
        let written = serde_json::to_value(&read).unwrap();
        assert_eq!(written["access_expires_at"], 1);
        assert_eq!(written["member_id"], serde_json::json!(Uuid::nil()));
    }

    #[test]
    fn an_active_session_is_touched_once_per_interval() {
        let now = OffsetDateTime::from_unix_timestamp(10_000).unwrap();
        let idle = time::Duration::minutes(30);
        assert!(!signed_in(10_000 - 59).needs_touch(now, idle));
        assert!(signed_in(10_000 - 60).needs_touch(now, idle));
        let short = time::Duration::seconds(3);
        assert!(!signed_in(10_000).needs_touch(now, short));
        assert!(signed_in(10_000 - 1).needs_touch(now, short));
    }

    #[test]
    fn a_secure_cookie_carries_the_host_prefix() {
        assert_eq!(cookie_name(true), "__Host-saas_session");
        assert_eq!(cookie_name(false), "saas_session");
    }

    #[test]
    fn sessions_are_stored_under_the_sha256_of_their_id() {
        let id = Id::default();
        let key = storage_key(&id);
        assert_eq!(key.len(), 32);
        assert_eq!(key, Sha256::digest(id.to_string().as_bytes()).to_vec());
        assert_ne!(key, storage_key(&Id::default()));
    }

    fn record(signed_in: bool, expires_in: time::Duration) -> Record {
        let mut data = HashMap::new();
        data.insert("pending".to_owned(), Value::from(1));
        if signed_in {
            data.insert(SIGNED_IN_KEY.to_owned(), Value::from(2));
        }
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    #[test]
    fn only_signed_in_sessions_are_kept_in_memory() {
        let recent = RecentSessions::new();
        let pending = record(false, time::Duration::minutes(5));
        recent.put(storage_key(&pending.id), &pending);
        assert_eq!(recent.get(&storage_key(&pending.id)), None);

        let signed_in = record(true, time::Duration::minutes(5));
        let key = storage_key(&signed_in.id);
        recent.put(key.clone(), &signed_in);
        assert_eq!(recent.get(&key), Some(signed_in.clone()));
        // The same session signed out (its signed-in data removed) is forgotten when saved.
        let mut signed_out = signed_in;
        signed_out.data.remove(SIGNED_IN_KEY);
        recent.put(key.clone(), &signed_out);
        assert_eq!(recent.get(&key), None);
    }

    #[test]
    fn a_session_in_memory_is_served_only_until_its_expiry() {
        let recent = RecentSessions::new();
        let expired = record(true, time::Duration::seconds(-1));
        let key = storage_key(&expired.id);
        recent.put(key.clone(), &expired);
        assert_eq!(recent.get(&key), None);
    }

    #[test]
    fn a_forgotten_session_is_read_from_the_database_again() {
        let recent = RecentSessions::new();
        let session = record(true, time::Duration::minutes(5));
        let key = storage_key(&session.id);
        recent.put(key.clone(), &session);
        recent.forget(&key);
        assert_eq!(recent.get(&key), None);
    }
}
