//! The server-side session: the cookie settings, what a session holds before and after sign-in, and the
//! absolute expiry.
//!
//! Sessions live in Postgres (`tower_sessions.session`, created by the migrations). The browser holds only the
//! `saas_session` cookie (HttpOnly, SameSite=Lax, Secure per configuration). Tokens are stored encrypted
//! ([`super::tokens`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;
use uuid::Uuid;

use super::tokens::EncryptedToken;
use crate::app::AppState;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "saas_session";
/// The session key of a sign-in in progress ([`PendingLogin`]).
pub(crate) const PENDING_LOGIN_KEY: &str = "pending_login";
/// The session key of a signed-in member ([`SignedIn`]).
pub(crate) const SIGNED_IN_KEY: &str = "signed_in";

/// How long a sign-in may take between `/auth/login` and `/auth/callback` (the user logs in at their
/// identity provider in between).
pub const PENDING_LOGIN_TTL: time::Duration = time::Duration::minutes(10);

/// The session layer: Postgres store, `saas_session` cookie, idle expiry. A session is saved when it
/// changes; a signed-in session is also touched now and then ([`SignedIn::needs_touch`]) so that the idle
/// timer measures inactivity.
pub fn session_layer(state: &AppState) -> SessionManagerLayer<SessionStore> {
    SessionManagerLayer::new(state.sessions.clone())
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookie_secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(state.config.session_idle))
}

/// The session store: [`PostgresStore`], except that saving a session that is no longer in the store
/// (deleted at sign-out, or expired) does nothing. Without this, a request that was in flight during
/// sign-out would write the session back when it finished, and the signed-out cookie would work again.
#[derive(Clone, Debug)]
pub struct SessionStore(PostgresStore);

impl SessionStore {
    /// The store on the application's pool; the table comes from the migrations.
    pub fn new(pool: sqlx::PgPool) -> Self {
        SessionStore(PostgresStore::new(pool))
    }
}

#[async_trait]
impl tower_sessions::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // `save` is only ever called for a session that was loaded from the store (new sessions and
        // rotated ids go through `create`), so a missing record was deleted or expired meanwhile.
        if self.0.load(&record.id).await?.is_none() {
            tracing::debug!("not saving a session that was deleted or expired meanwhile");
            return Ok(());
        }
        self.0.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}

#[async_trait]
impl ExpiredDeletion for SessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.0.delete_expired().await
    }
}

/// A sign-in in progress, kept in the (pre-sign-in) session of the browser that started it.
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
    /// Whether the sign-in started too long ago (or in the future, which only a tampered store could do).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        let age = now.unix_timestamp() - self.created_at;
        !(0..=PENDING_LOGIN_TTL.whole_seconds()).contains(&age)
    }
}

/// A signed-in member's session: who, and their tokens (encrypted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedIn {
    /// The member, from the verified access token at sign-in.
    pub member_id: Uuid,
    /// The tenant, from the verified access token at sign-in.
    pub tenant_id: Uuid,
    /// The access token.
    pub access_token: EncryptedToken,
    /// The ID token.
    pub id_token: EncryptedToken,
    /// The refresh token, when the user pool issued one.
    pub refresh_token: Option<EncryptedToken>,
    /// The access token's `exp`, in seconds since the Unix epoch.
    pub access_expires_at: i64,
    /// When the member signed in, in seconds since the Unix epoch; the absolute expiry counts from here.
    pub signed_in_at: i64,
    /// When the session was last saved because of activity, in seconds since the Unix epoch.
    #[serde(default)]
    pub last_seen_at: i64,
}

impl SignedIn {
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

    fn signed_in(last_seen_at: i64) -> SignedIn {
        let cipher = super::super::tokens::TokenCipher::new(&crate::config::SessionKey::random());
        let token = cipher.encrypt("t").unwrap();
        SignedIn {
            member_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            access_token: token.clone(),
            id_token: token,
            refresh_token: None,
            access_expires_at: 0,
            signed_in_at: 0,
            last_seen_at,
        }
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

    fn pending(created_at: i64) -> PendingLogin {
        PendingLogin {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: None,
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
}
