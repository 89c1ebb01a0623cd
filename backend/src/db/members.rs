//! The `members` table: who belongs to a tenant, keyed by the identity they sign in with.
//!
//! A member is identified by `(provider, subject)`: the identity provider the user came through and that
//! provider's stable subject, the IdP's `sub`, which Cognito records as the identity's `userId` (for Entra a
//! pairwise `sub`, stable and unique per user within the app registration). Email is a profile attribute
//! only; nothing here looks a member up by email, because an email claim can be unverified or asserted by
//! another tenant's IdP.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use shared::Role;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId, decode_name};

/// Whether a member may sign in and use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// The member may sign in.
    Active,
    /// A tenant admin has deactivated the member: sign-in, token refresh and API calls are refused.
    Deactivated,
}

impl MemberStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = shared::scope::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(MemberStatus::Active),
            "deactivated" => Ok(MemberStatus::Deactivated),
            _ => Err(shared::scope::UnknownName),
        }
    }
}

/// A member of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member id.
    pub id: MemberId,
    /// The tenant the member belongs to.
    pub tenant_id: TenantId,
    /// The user pool identity-provider name the member signs in through.
    pub provider: String,
    /// The provider's stable subject for the user.
    pub subject: String,
    /// The email the provider last asserted (informational, never used for identity or authorization).
    pub email: String,
    /// The display name the provider last asserted.
    pub name: String,
    /// The member's role in the tenant.
    pub role: Role,
    /// Whether the member may sign in.
    pub status: MemberStatus,
    /// When the member last signed in (not updated by token refreshes).
    pub last_sign_in_at: Option<OffsetDateTime>,
}

/// The fields of a member created at first sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember<'a> {
    /// The tenant the member joins.
    pub tenant_id: TenantId,
    /// The identity-provider name.
    pub provider: &'a str,
    /// The provider's subject.
    pub subject: &'a str,
    /// The asserted email.
    pub email: &'a str,
    /// The asserted display name.
    pub name: &'a str,
    /// The role mapped from the provider's groups.
    pub role: Role,
}

/// The profile a provider asserted at a sign-in or token refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInProfile<'a> {
    /// The asserted email.
    pub email: &'a str,
    /// The asserted display name.
    pub name: &'a str,
    /// The role mapped from the provider's groups (the provider is the source of truth for roles).
    pub role: Role,
    /// Whether this is an interactive sign-in (`last_sign_in_at` moves) rather than a token refresh.
    pub is_sign_in: bool,
}

type MemberRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<OffsetDateTime>,
);

const COLUMNS: &str =
    "id, tenant_id, provider, subject, email, name, role, status, last_sign_in_at";

fn from_row(row: MemberRow) -> Result<Member, sqlx::Error> {
    let (id, tenant_id, provider, subject, email, name, role, status, last_sign_in_at) = row;
    Ok(Member {
        id: MemberId(id),
        tenant_id: TenantId(tenant_id),
        provider,
        subject,
        email,
        name,
        role: decode_name("role", &role)?,
        status: decode_name("status", &status)?,
        last_sign_in_at,
    })
}

/// Reads the member `id` of the current tenant transaction's tenant; another tenant's member is `None`.
pub async fn get(conn: &mut PgConnection, id: MemberId) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> =
        sqlx::query_as(&format!("select {COLUMNS} from members where id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(from_row).transpose()
}

/// Sets a member's status; `false` when no such member exists in the current tenant.
pub async fn set_status(
    conn: &mut PgConnection,
    id: MemberId,
    status: MemberStatus,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("update members set status = $2 where id = $1")
        .bind(id)
        .bind(status.as_str())
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Finds the member of `tenant` who signs in as `(provider, subject)` and locks the row until the transaction
/// ends, so that concurrent sign-ins of the same user are applied one after the other.
pub async fn lock_by_identity(
    conn: &mut PgConnection,
    tenant: TenantId,
    provider: &str,
    subject: &str,
) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from members where tenant_id = $1 and provider = $2 and subject = $3 for update"
    ))
    .bind(tenant)
    .bind(provider)
    .bind(subject)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Creates a member at first sign-in. `None` when a concurrent sign-in of the same identity created it first;
/// the caller then finds that member with [`lock_by_identity`].
pub async fn create(
    conn: &mut PgConnection,
    new: &NewMember<'_>,
) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "insert into members (id, tenant_id, provider, subject, email, name, role, status, last_sign_in_at) \
         values ($1, $2, $3, $4, $5, $6, $7, 'active', now()) \
         on conflict (tenant_id, provider, subject) do nothing \
         returning {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(new.tenant_id)
    .bind(new.provider)
    .bind(new.subject)
    .bind(new.email)
    .bind(new.name)
    .bind(new.role.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Records a sign-in or token refresh of an existing member: the profile and role the provider asserted, and
/// for an interactive sign-in the time. Returns the updated member (`None` if it no longer exists).
pub async fn record_sign_in(
    conn: &mut PgConnection,
    id: MemberId,
    profile: &SignInProfile<'_>,
) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "update members set email = $2, name = $3, role = $4, \
         last_sign_in_at = case when $5 then now() else last_sign_in_at end \
         where id = $1 returning {COLUMNS}"
    ))
    .bind(id)
    .bind(profile.email)
    .bind(profile.name)
    .bind(profile.role.as_str())
    .bind(profile.is_sign_in)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}
