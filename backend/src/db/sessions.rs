//! A member's browser sessions (`member_sessions`): recorded at sign-in, noted when used, listed for the
//! member and the tenant's admins, and ended by either. Ending a session deletes it from the session store
//! and records its sign-in as revoked in the same transaction, so no token of it works any more, on any
//! backend instance, from the commit on.

use std::net::IpAddr;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantTx};

/// The longest `User-Agent` kept, in characters (the column's limit).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// A session to record at sign-in.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The member who signed in.
    pub member_id: MemberId,
    /// The session's key in the session store (the SHA-256 of its id).
    pub session_key: &'a [u8],
    /// The sign-in's `origin_jti`.
    pub origin_jti: &'a str,
    /// The browser's `User-Agent` (cut to [`MAX_USER_AGENT_CHARS`]).
    pub user_agent: &'a str,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSession {
    /// The session's id in the API.
    pub id: Uuid,
    /// The session's key in the session store.
    pub session_key: Vec<u8>,
    /// The browser's `User-Agent` at sign-in.
    pub user_agent: String,
    /// The address it was last used from.
    pub source_ip: Option<String>,
    /// When the member signed in.
    pub signed_in_at: OffsetDateTime,
    /// When it was last used.
    pub last_seen_at: OffsetDateTime,
}

/// Records a session of the transaction's tenant. The session's row must exist in the store.
pub async fn record(tx: &mut TenantTx, session: &NewSession<'_>) -> Result<Uuid, sqlx::Error> {
    let tenant = tx.tenant_id();
    let user_agent: String = session
        .user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    sqlx::query_scalar!(
        "INSERT INTO member_sessions (tenant_id, member_id, session_key, origin_jti, user_agent, source_ip)
         VALUES ($1, $2, $3, $4, $5, $6::text::inet)
         RETURNING id",
        tenant.0,
        session.member_id.0,
        session.session_key,
        session.origin_jti,
        user_agent,
        session.source_ip.map(|ip| ip.to_string())
    )
    .fetch_one(tx.conn())
    .await
}

/// Notes that the session with `session_key` was used now, from `source_ip` (kept as it was when unknown).
pub async fn touch(
    tx: &mut TenantTx,
    session_key: &[u8],
    source_ip: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE member_sessions
         SET last_seen_at = now(), source_ip = coalesce($3::text::inet, source_ip)
         WHERE tenant_id = $1 AND session_key = $2",
        tenant.0,
        session_key,
        source_ip.map(|ip| ip.to_string())
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The member's live sessions, most recently used first, at most `limit`: those whose session is still in
/// the store, unexpired, signed in (a sign-in that failed after the row was written leaves a session without
/// a member until it expires) and signed in less than `absolute` ago (the absolute expiry, which the store
/// does not know about).
pub async fn list(
    tx: &mut TenantTx,
    member: MemberId,
    absolute: time::Duration,
    limit: i64,
) -> Result<Vec<MemberSession>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let cutoff = OffsetDateTime::now_utc() - absolute;
    sqlx::query_as!(
        MemberSession,
        r#"SELECT m.id, m.session_key, m.user_agent, m.source_ip::text AS source_ip, m.signed_in_at,
                  m.last_seen_at
           FROM member_sessions AS m
           JOIN tower_sessions.session AS s ON s.id = m.session_key
           WHERE m.tenant_id = $1 AND m.member_id = $2 AND s.expiry_date > now() AND m.signed_in_at > $3
             AND s.data ? 'signed_in'
           ORDER BY m.last_seen_at DESC, m.id
           LIMIT $4"#,
        tenant.0,
        member.0,
        cutoff,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// What was ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The ended sessions' `User-Agent`s.
    pub user_agents: Vec<String>,
    /// The sign-ins of the ended sessions (their `origin_jti`), to record as revoked.
    pub origin_jtis: Vec<String>,
    /// The session store keys of the ended sessions, for the store to forget once the deletion is committed.
    pub session_keys: Vec<Vec<u8>>,
}

/// Ends the member's session `only` (or all of the member's sessions): their rows here and in the session
/// store are deleted. The caller records the returned sign-ins as revoked in the same transaction.
pub async fn end(
    tx: &mut TenantTx,
    member: MemberId,
    only: Option<Uuid>,
) -> Result<Ended, sqlx::Error> {
    let tenant = tx.tenant_id();
    let rows = sqlx::query!(
        "DELETE FROM member_sessions
         WHERE tenant_id = $1 AND member_id = $2 AND ($3::uuid IS NULL OR id = $3)
         RETURNING session_key, origin_jti, user_agent",
        tenant.0,
        member.0,
        only
    )
    .fetch_all(tx.conn())
    .await?;
    let keys: Vec<Vec<u8>> = rows.iter().map(|row| row.session_key.clone()).collect();
    sqlx::query!(
        "DELETE FROM tower_sessions.session WHERE id = ANY($1)",
        &keys[..]
    )
    .execute(tx.conn())
    .await?;
    let (user_agents, origin_jtis) = rows
        .into_iter()
        .map(|row| (row.user_agent, row.origin_jti))
        .unzip();
    Ok(Ended {
        user_agents,
        origin_jtis,
        session_keys: keys,
    })
}

/// Ends every browser session of the transaction's tenant (its suspension): their rows here and in the
/// session store are deleted. Returns the session store keys, for the store to forget once the deletion is
/// committed. The sign-ins need no entries on the revocation list: the suspension's cut-off refuses them all.
pub async fn end_all(tx: &mut TenantTx) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let keys = sqlx::query_scalar!(
        "DELETE FROM member_sessions WHERE tenant_id = $1 RETURNING session_key",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    sqlx::query!(
        "DELETE FROM tower_sessions.session WHERE id = ANY($1)",
        &keys[..]
    )
    .execute(tx.conn())
    .await?;
    Ok(keys)
}
