//! The `invitations` table: people a tenant admin invited by email, admitted at their first sign-in through
//! the tenant's own identity provider.

use shared::Role;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId, decode_name};

/// An open invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The invitation id.
    pub id: Uuid,
    /// The invited email (lower-case).
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
    /// The admin who invited them.
    pub invited_by: MemberId,
    /// That admin's display name.
    pub invited_by_name: String,
    /// When the invitation was made.
    pub created_at: OffsetDateTime,
    /// When it stops being valid.
    pub expires_at: OffsetDateTime,
}

type InvitationRow = (
    Uuid,
    String,
    String,
    Uuid,
    String,
    OffsetDateTime,
    OffsetDateTime,
);

const SELECT: &str = "select i.id, i.email, i.role, i.invited_by, m.name, i.created_at, i.expires_at \
                      from invitations i join members m on m.tenant_id = i.tenant_id and m.id = i.invited_by";

fn from_row(row: InvitationRow) -> Result<Invitation, sqlx::Error> {
    let (id, email, role, invited_by, invited_by_name, created_at, expires_at) = row;
    Ok(Invitation {
        id,
        email,
        role: decode_name("role", &role)?,
        invited_by: MemberId(invited_by),
        invited_by_name,
        created_at,
        expires_at,
    })
}

/// The tenant's open invitations (not accepted, not expired), newest first.
pub async fn list_open(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let rows: Vec<InvitationRow> = sqlx::query_as(&format!(
        "{SELECT} where i.tenant_id = $1 and i.accepted_at is null and i.expires_at > now() \
         order by i.created_at desc, i.id desc"
    ))
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Creates an invitation. `None` when an open, unexpired invitation for the email exists already; an expired
/// one is removed first so that it does not block a new one.
pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
    role: Role,
    invited_by: MemberId,
    expires_at: OffsetDateTime,
) -> Result<Option<Invitation>, sqlx::Error> {
    sqlx::query(
        "delete from invitations \
         where tenant_id = $1 and email = $2 and accepted_at is null and expires_at <= now()",
    )
    .bind(tenant)
    .bind(email)
    .execute(&mut *conn)
    .await?;
    let id: Option<(Uuid,)> = sqlx::query_as(
        "insert into invitations (id, tenant_id, email, role, invited_by, expires_at) \
         values ($1, $2, $3, $4, $5, $6) \
         on conflict (tenant_id, email) where accepted_at is null do nothing \
         returning id",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(email)
    .bind(role.as_str())
    .bind(invited_by)
    .bind(expires_at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id,)) = id else {
        return Ok(None);
    };
    let row: InvitationRow = sqlx::query_as(&format!("{SELECT} where i.id = $1"))
        .bind(id)
        .fetch_one(conn)
        .await?;
    from_row(row).map(Some)
}

/// Deletes an open invitation of `tenant`; `None` when there is no such open invitation.
pub async fn delete_open(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<(String, Role)>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "delete from invitations where tenant_id = $1 and id = $2 and accepted_at is null \
         returning email, role",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|(email, role)| Ok((email, decode_name("role", &role)?)))
        .transpose()
}

/// Finds and locks the open, unexpired invitation of `tenant` for `email` (compared lower-case).
pub async fn lock_open_for_email(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
) -> Result<Option<Invitation>, sqlx::Error> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "{SELECT} where i.tenant_id = $1 and i.email = lower($2) and i.accepted_at is null \
         and i.expires_at > now() for update of i"
    ))
    .bind(tenant)
    .bind(email)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Marks an invitation as used by `member`.
pub async fn accept(
    conn: &mut PgConnection,
    id: Uuid,
    member: MemberId,
) -> Result<(), sqlx::Error> {
    sqlx::query("update invitations set accepted_at = now(), accepted_by = $2 where id = $1")
        .bind(id)
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}
