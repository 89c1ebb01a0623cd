//! The `sso_setup_links` table: one-time links a customer's IT admin opens to set up their organisation's
//! sign-in, and the set-up sessions they start.
//!
//! Tokens and session secrets are stored as SHA-256 digests only. Finding the link of a token or a session runs
//! before the tenant is known, through SECURITY DEFINER functions that answer identifiers only
//! ([`for_token`], [`for_session`]); everything else runs in a transaction of the link's tenant.

use shared::api::SetupLinkState;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{TenantId, TenantTx};

/// Who created a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    /// `operator` or `member`.
    pub kind: &'static str,
    /// The operator's `sub` or the member's id.
    pub id: String,
    /// Their email, when known.
    pub email: String,
}

/// A set-up link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    /// The link id.
    pub id: Uuid,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// `operator` or `member`.
    pub created_by_kind: String,
    /// The creator's email.
    pub created_by_email: String,
    /// When it was opened.
    pub opened_at: Option<OffsetDateTime>,
    /// When it was revoked (or replaced).
    pub revoked_at: Option<OffsetDateTime>,
    /// When the set-up was completed through it.
    pub completed_at: Option<OffsetDateTime>,
    /// When its last test sign-in happened.
    pub tested_at: Option<OffsetDateTime>,
    /// What its last test sign-in received (a JSON object, see `sso::test_sign_in`).
    pub test_result: Option<serde_json::Value>,
}

impl SetupLink {
    /// Where the link stands at `now`.
    pub fn state(&self, now: OffsetDateTime) -> SetupLinkState {
        if self.completed_at.is_some() {
            SetupLinkState::Completed
        } else if self
            .revoked_at
            .is_some_and(|revoked| revoked < self.expires_at)
        {
            SetupLinkState::Revoked
        } else if self.expires_at <= now || self.revoked_at.is_some() {
            // A link replaced after it had expired reads as expired: that is what ended it.
            SetupLinkState::Expired
        } else if self.opened_at.is_some() {
            SetupLinkState::Opened
        } else {
            SetupLinkState::Pending
        }
    }
}

/// Creates a link for the transaction's tenant, revoking its open one (if any) first so that at most one is
/// open; returns the new link and the ids of the links it revoked.
pub async fn create(
    tx: &mut TenantTx,
    token_hash: &[u8; 32],
    expires_at: OffsetDateTime,
    creator: &Creator,
) -> Result<(SetupLink, Vec<Uuid>), sqlx::Error> {
    let tenant = tx.tenant_id();
    let revoked = sqlx::query_scalar!(
        "UPDATE sso_setup_links SET revoked_at = now()
         WHERE tenant_id = $1 AND revoked_at IS NULL AND completed_at IS NULL
         RETURNING id",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    let link = sqlx::query_as!(
        SetupLink,
        "INSERT INTO sso_setup_links
             (id, tenant_id, token_hash, expires_at, created_by_kind, created_by_id, created_by_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, created_at, expires_at, created_by_kind, created_by_email, opened_at, revoked_at,
                   completed_at, tested_at, test_result",
        Uuid::new_v4(),
        tenant.0,
        token_hash.as_slice(),
        expires_at,
        creator.kind,
        creator.id,
        creator.email
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((link, revoked))
}

/// The transaction's tenant's links, newest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<SetupLink>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        SetupLink,
        "SELECT id, created_at, expires_at, created_by_kind, created_by_email, opened_at, revoked_at, completed_at,
                tested_at, test_result
         FROM sso_setup_links WHERE tenant_id = $1 ORDER BY created_at DESC, id",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await
}

/// The transaction's tenant's link `id`.
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<SetupLink>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        SetupLink,
        "SELECT id, created_at, expires_at, created_by_kind, created_by_email, opened_at, revoked_at, completed_at,
                tested_at, test_result
         FROM sso_setup_links WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Revokes the transaction's tenant's link `id` unless it is already revoked or completed; the link after
/// the change, `None` when the tenant has no such link.
pub async fn revoke(tx: &mut TenantTx, id: Uuid) -> Result<Option<SetupLink>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE sso_setup_links SET revoked_at = now()
         WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND completed_at IS NULL",
        tenant.0,
        id
    )
    .execute(tx.conn())
    .await?;
    get(tx, id).await
}

/// A link found by its token or by its session: which link, and whose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkRef {
    /// The link.
    pub link_id: Uuid,
    /// Its tenant.
    pub tenant_id: TenantId,
}

/// The link `token_hash` opens: not yet opened, revoked, completed or expired.
pub async fn for_token(
    pool: &PgPool,
    token_hash: &[u8; 32],
) -> Result<Option<LinkRef>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT link_id AS "link_id!", tenant_id AS "tenant_id!" FROM setup_link_for_token($1)"#,
        token_hash.as_slice()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| LinkRef {
        link_id: row.link_id,
        tenant_id: TenantId(row.tenant_id),
    }))
}

/// The link of the set-up session `session_hash`, while the link is open.
pub async fn for_session(
    pool: &PgPool,
    session_hash: &[u8; 32],
) -> Result<Option<LinkRef>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT link_id AS "link_id!", tenant_id AS "tenant_id!" FROM setup_link_for_session($1)"#,
        session_hash.as_slice()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| LinkRef {
        link_id: row.link_id,
        tenant_id: TenantId(row.tenant_id),
    }))
}

/// Spends the transaction's tenant's link `id` for the session `session_hash`: `None` when the link was
/// opened, revoked, completed or expired meanwhile (a second opener loses the race).
pub async fn open(
    tx: &mut TenantTx,
    id: Uuid,
    session_hash: &[u8; 32],
) -> Result<Option<SetupLink>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        SetupLink,
        "UPDATE sso_setup_links SET opened_at = now(), session_hash = $3
         WHERE tenant_id = $1 AND id = $2 AND opened_at IS NULL AND revoked_at IS NULL AND completed_at IS NULL
           AND expires_at > now()
         RETURNING id, created_at, expires_at, created_by_kind, created_by_email, opened_at, revoked_at,
                   completed_at, tested_at, test_result",
        tenant.0,
        id,
        session_hash.as_slice()
    )
    .fetch_optional(tx.conn())
    .await
}

/// Records the test sign-in `result` on the transaction's tenant's link `id`.
pub async fn record_test(
    tx: &mut TenantTx,
    id: Uuid,
    result: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE sso_setup_links SET test_result = $3, tested_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id,
        result
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Forgets the last test sign-in of the transaction's tenant's link `id` (the provider changed).
pub async fn clear_test(tx: &mut TenantTx, id: Uuid) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE sso_setup_links SET test_result = NULL, tested_at = NULL WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the transaction's tenant's link `id` is still open (opened, neither revoked, completed nor
/// expired), locking it until the transaction ends: a revocation then waits for the step in flight to commit,
/// or the step, having waited for the revocation, finds the link closed and writes nothing.
pub async fn hold_open(tx: &mut TenantTx, id: Uuid) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    let open = sqlx::query_scalar!(
        "SELECT id FROM sso_setup_links
         WHERE tenant_id = $1 AND id = $2 AND opened_at IS NOT NULL AND revoked_at IS NULL
           AND completed_at IS NULL AND expires_at > now()
         FOR SHARE",
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(open.is_some())
}

/// Marks the transaction's tenant's link `id` completed: its set-up session ends.
pub async fn complete(tx: &mut TenantTx, id: Uuid) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE sso_setup_links SET completed_at = now() WHERE tenant_id = $1 AND id = $2 AND completed_at IS NULL",
        tenant.0,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn link(now: OffsetDateTime) -> SetupLink {
        SetupLink {
            id: Uuid::nil(),
            created_at: now - Duration::days(1),
            expires_at: now + Duration::days(6),
            created_by_kind: "operator".into(),
            created_by_email: String::new(),
            opened_at: None,
            revoked_at: None,
            completed_at: None,
            tested_at: None,
            test_result: None,
        }
    }

    #[test]
    fn a_link_reads_as_what_ended_it() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(link(now).state(now), SetupLinkState::Pending);
        let opened = SetupLink {
            opened_at: Some(now),
            ..link(now)
        };
        assert_eq!(opened.state(now), SetupLinkState::Opened);
        let revoked = SetupLink {
            revoked_at: Some(now),
            ..opened.clone()
        };
        assert_eq!(revoked.state(now), SetupLinkState::Revoked);
        let expired = link(now - Duration::days(7));
        assert_eq!(expired.state(now), SetupLinkState::Expired);
        let replaced_after_expiry = SetupLink {
            revoked_at: Some(now),
            ..expired
        };
        assert_eq!(replaced_after_expiry.state(now), SetupLinkState::Expired);
        let completed = SetupLink {
            completed_at: Some(now),
            ..revoked
        };
        assert_eq!(completed.state(now), SetupLinkState::Completed);
    }
}
