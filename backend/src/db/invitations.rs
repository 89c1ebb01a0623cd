//! The `invitations` table: people a tenant admin invited by email, admitted at their first sign-in through
//! the tenant's own identity provider.

use shared::Role;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantTx, decode_name};

/// An open invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The invitation id.
    pub id: Uuid,
    /// The invited email (lower-case).
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
    /// The admin who invited them; `None` when the platform's operators did (a new tenant's first admin).
    pub invited_by: Option<MemberId>,
    /// That admin's display name (empty when the operators invited them).
    pub invited_by_name: String,
    /// When the invitation was made.
    pub created_at: OffsetDateTime,
    /// When it stops being valid.
    pub expires_at: OffsetDateTime,
}

/// An `invitations` row as stored (the role as its stored name).
struct InvitationRow {
    id: Uuid,
    email: String,
    role: String,
    invited_by: Option<MemberId>,
    invited_by_name: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = sqlx::Error;

    fn try_from(row: InvitationRow) -> Result<Invitation, sqlx::Error> {
        Ok(Invitation {
            id: row.id,
            email: row.email,
            role: decode_name("role", &row.role)?,
            invited_by: row.invited_by,
            invited_by_name: row.invited_by_name,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

/// The open invitations (not accepted, not expired) of the transaction's tenant, newest first.
pub async fn list_open(tx: &mut TenantTx) -> Result<Vec<Invitation>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        InvitationRow,
        r#"SELECT i.id, i.email, i.role, i.invited_by AS "invited_by: MemberId",
                  coalesce(m.name, '') AS "invited_by_name!", i.created_at, i.expires_at
           FROM invitations AS i LEFT JOIN members AS m ON m.tenant_id = i.tenant_id AND m.id = i.invited_by
           WHERE i.tenant_id = $1 AND i.accepted_at IS NULL AND i.expires_at > now()
           ORDER BY i.created_at DESC, i.id DESC"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(Invitation::try_from)
    .collect()
}

/// Creates an invitation in the transaction's tenant. `None` when an open, unexpired invitation for the
/// email exists already; an expired one is removed first so that it does not block a new one.
pub async fn create(
    tx: &mut TenantTx,
    email: &str,
    role: Role,
    invited_by: Option<MemberId>,
    expires_at: OffsetDateTime,
) -> Result<Option<Invitation>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "DELETE FROM invitations
         WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND expires_at <= now()",
        tenant.0,
        email
    )
    .execute(tx.conn())
    .await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO invitations (id, tenant_id, email, role, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, email) WHERE accepted_at IS NULL DO NOTHING
         RETURNING id",
        Uuid::new_v4(),
        tenant.0,
        email,
        role.as_str(),
        invited_by.map(|member| member.0),
        expires_at
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let row = sqlx::query_as!(
        InvitationRow,
        r#"SELECT i.id, i.email, i.role, i.invited_by AS "invited_by: MemberId",
                  coalesce(m.name, '') AS "invited_by_name!", i.created_at, i.expires_at
           FROM invitations AS i LEFT JOIN members AS m ON m.tenant_id = i.tenant_id AND m.id = i.invited_by
           WHERE i.tenant_id = $1 AND i.id = $2"#,
        tenant.0,
        id
    )
    .fetch_one(tx.conn())
    .await?;
    Invitation::try_from(row).map(Some)
}

/// Deletes an open invitation of the transaction's tenant and returns its email and role; `None` when there
/// is no such open invitation.
pub async fn delete_open(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<(String, Role)>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let row = sqlx::query!(
        "DELETE FROM invitations WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL
         RETURNING email, role",
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    row.map(|row| Ok((row.email, decode_name("role", &row.role)?)))
        .transpose()
}

/// Finds and locks the open, unexpired invitation of the transaction's tenant for `email` (compared
/// lower-case).
pub async fn lock_open_for_email(
    tx: &mut TenantTx,
    email: &str,
) -> Result<Option<Invitation>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        InvitationRow,
        r#"SELECT i.id, i.email, i.role, i.invited_by AS "invited_by: MemberId",
                  coalesce(m.name, '') AS "invited_by_name!", i.created_at, i.expires_at
           FROM invitations AS i LEFT JOIN members AS m ON m.tenant_id = i.tenant_id AND m.id = i.invited_by
           WHERE i.tenant_id = $1 AND i.email = lower($2) AND i.accepted_at IS NULL
             AND i.expires_at > now()
           FOR UPDATE OF i"#,
        tenant.0,
        email
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Invitation::try_from)
    .transpose()
}

/// Marks an invitation of the transaction's tenant as used by `member`.
pub async fn accept(tx: &mut TenantTx, id: Uuid, member: MemberId) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE invitations SET accepted_at = now(), accepted_by = $3 WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id,
        member.0
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
