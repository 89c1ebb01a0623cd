//! The `members` table: who belongs to a tenant, keyed by the identity they sign in with.
//!
//! A member is identified by `(provider, subject)`: the identity provider the user came through and that
//! provider's stable subject, the IdP's `sub`, which Cognito records as the identity's `userId` (for Entra a
//! pairwise `sub`, stable and unique per user within the app registration). Email is a profile attribute
//! only; nothing here looks a member up by email, because an email claim can be unverified or asserted by
//! another tenant's IdP.

use shared::Role;
use shared::api::RoleSource;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId, decode_name};

pub use shared::MemberStatus;

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
    /// Where the role comes from: the group mapping at each sign-in, or an admin.
    pub role_source: RoleSource,
    /// Whether the member may sign in.
    pub status: MemberStatus,
    /// When the member joined.
    pub created_at: OffsetDateTime,
    /// When the member last signed in (not updated by token refreshes).
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// The identity provider's groups at the member's last sign-in or token refresh; `None` when unknown
    /// (not signed in since they were first recorded).
    pub idp_groups: Option<Vec<String>>,
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
    /// The role: mapped from the provider's groups, or the invitation's.
    pub role: Role,
    /// Where the role comes from (an invitation's role is an admin's choice).
    pub role_source: RoleSource,
    /// The identity provider's groups at this sign-in.
    pub idp_groups: &'a [String],
}

/// The profile a provider asserted at a sign-in or token refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInProfile<'a> {
    /// The asserted email.
    pub email: &'a str,
    /// The `email_verified` attribute as the user pool holds it and passes it to the trigger (`"true"` /
    /// `"false"`), mapped from the provider's own claim (see `invitation_email`); absent when the provider's
    /// mapping has none.
    pub email_verified: Option<&'a str>,
    /// The asserted display name.
    pub name: &'a str,
    /// The role to record: the one mapped from the provider's groups (or the admin role kept for a tenant's
    /// last active admin); it replaces the stored role only while the member's role source is the identity
    /// provider (an admin-set role stays).
    pub role: Role,
    /// The provider's groups, recorded whatever the role source.
    pub groups: &'a [String],
    /// Whether this is an interactive sign-in (`last_sign_in_at` moves) rather than a token refresh.
    pub is_sign_in: bool,
}

impl SignInProfile<'_> {
    /// The email an invitation may be matched against: only one the provider says it verified
    /// (`email_verified` is `"true"`; Okta maps it from its `email_verified` claim, Entra ID from its optional
    /// claim `xms_edov`, email domain owner verified). Absent, `"false"` or anything else is unverified, and
    /// an empty email matches nothing.
    pub fn invitation_email(&self) -> Option<&str> {
        let verified = self
            .email_verified
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        (!self.email.is_empty() && verified).then_some(self.email)
    }
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
    String,
    OffsetDateTime,
    Option<OffsetDateTime>,
    Option<Vec<String>>,
);

const COLUMNS: &str = "id, tenant_id, provider, subject, email, name, role, role_source, status, created_at, \
                       last_sign_in_at, idp_groups";

fn from_row(row: MemberRow) -> Result<Member, sqlx::Error> {
    let (
        id,
        tenant_id,
        provider,
        subject,
        email,
        name,
        role,
        role_source,
        status,
        created_at,
        last_sign_in_at,
        idp_groups,
    ) = row;
    Ok(Member {
        id: MemberId(id),
        tenant_id: TenantId(tenant_id),
        provider,
        subject,
        email,
        name,
        role: decode_name("role", &role)?,
        role_source: decode_role_source(&role_source)?,
        status: decode_name("status", &status)?,
        created_at,
        last_sign_in_at,
        idp_groups,
    })
}

/// The stored name of a role source.
pub fn role_source_name(source: RoleSource) -> &'static str {
    match source {
        RoleSource::IdentityProvider => "identity_provider",
        RoleSource::Admin => "admin",
    }
}

fn decode_role_source(value: &str) -> Result<RoleSource, sqlx::Error> {
    match value {
        "identity_provider" => Ok(RoleSource::IdentityProvider),
        "admin" => Ok(RoleSource::Admin),
        _ => Err(sqlx::Error::ColumnDecode {
            index: "role_source".to_owned(),
            source: format!("unexpected value {value:?}").into(),
        }),
    }
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

/// Reads the member `id` of the current tenant transaction's tenant, as [`get`] does, and in the same query
/// whether the sign-in a token belongs to has been revoked: its `origin_jti` is on the tenant's revocation
/// list, or it began (`auth_time`, seconds since the epoch) before the tenant's cut-off. Two primary-key
/// lookups in the query that checks the membership anyway.
pub async fn get_with_sign_in_revoked(
    conn: &mut PgConnection,
    id: MemberId,
    origin_jti: &str,
    auth_time: i64,
) -> Result<Option<(Member, bool)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {COLUMNS}, \
           exists (select 1 from revoked_sign_ins r \
                   where r.tenant_id = members.tenant_id and r.origin_jti = $2) \
           or to_timestamp($3) < coalesce((select t.sign_ins_revoked_before from tenants t \
                                           where t.id = members.tenant_id), '-infinity') \
           as sign_in_revoked \
         from members where id = $1"
    ))
    .bind(id)
    .bind(origin_jti)
    .bind(auth_time as f64)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let member = from_row(<MemberRow as sqlx::FromRow<_>>::from_row(&row)?)?;
    let revoked: bool = sqlx::Row::try_get(&row, "sign_in_revoked")?;
    Ok(Some((member, revoked)))
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
        "insert into members \
         (id, tenant_id, provider, subject, email, name, role, role_source, status, last_sign_in_at, \
          idp_groups) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'active', now(), $9) \
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
    .bind(role_source_name(new.role_source))
    .bind(new.idp_groups)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Records a sign-in or token refresh of an existing member: the profile, groups and role the provider
/// asserted, and for an interactive sign-in the time. Returns the updated member (`None` if it no longer
/// exists).
pub async fn record_sign_in(
    conn: &mut PgConnection,
    id: MemberId,
    profile: &SignInProfile<'_>,
) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "update members set email = $2, name = $3, \
         role = case when role_source = 'identity_provider' then $4 else role end, \
         last_sign_in_at = case when $5 then now() else last_sign_in_at end, idp_groups = $6 \
         where id = $1 returning {COLUMNS}"
    ))
    .bind(id)
    .bind(profile.email)
    .bind(profile.name)
    .bind(profile.role.as_str())
    .bind(profile.is_sign_in)
    .bind(profile.groups)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Where a page of the member list starts: after this (email, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    /// The email of the last member of the previous page.
    pub email: String,
    /// Its id.
    pub id: MemberId,
}

/// Up to `limit` members of `tenant`, ordered by email then id, after `after`.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<&ListPosition>,
    limit: i64,
) -> Result<Vec<Member>, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from members \
         where tenant_id = $1 and ($2::text is null or (email, id) > ($2, $3::uuid)) \
         order by email, id limit $4"
    ))
    .bind(tenant)
    .bind(after.map(|p| p.email.as_str()))
    .bind(after.map(|p| p.id))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Locks the tenant's active admins until the transaction ends and returns their ids. Every change that could
/// remove an active admin takes this lock first, so two admins demoting each other at the same time are
/// applied one after the other and the second sees the first's result.
pub async fn lock_active_admins(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Vec<MemberId>, sqlx::Error> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "select id from members where tenant_id = $1 and role = 'admin' and status = 'active' \
         order by id for update",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| MemberId(id)).collect())
}

/// How many active admins of `tenant` there are besides `member`. Callers hold [`lock_active_admins`], so the
/// answer stands until their transaction ends.
pub async fn count_other_active_admins(
    conn: &mut PgConnection,
    tenant: TenantId,
    member: MemberId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from members where tenant_id = $1 and role = 'admin' and status = 'active' \
         and id <> $2",
    )
    .bind(tenant)
    .bind(member)
    .fetch_one(conn)
    .await
}

/// What decides whether an active admin keeps the role at their next sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminStanding {
    /// The admin.
    pub id: MemberId,
    /// The email, for messages.
    pub email: String,
    /// The identity provider they sign in through.
    pub provider: String,
    /// Where their role comes from.
    pub role_source: RoleSource,
    /// Their groups at their last sign-in or refresh, if known.
    pub idp_groups: Option<Vec<String>>,
}

/// An [`AdminStanding`] as read: id, email, provider, role source, groups.
type StandingRow = (Uuid, String, String, String, Option<Vec<String>>);

/// The active admins of `tenant` with what decides whether they stay admin. Callers hold
/// [`lock_active_admins`].
pub async fn active_admin_standings(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Vec<AdminStanding>, sqlx::Error> {
    let rows: Vec<StandingRow> = sqlx::query_as(
        "select id, email, provider, role_source, idp_groups from members \
         where tenant_id = $1 and role = 'admin' and status = 'active' order by id",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, email, provider, role_source, idp_groups)| {
            Ok(AdminStanding {
                id: MemberId(id),
                email,
                provider,
                role_source: decode_role_source(&role_source)?,
                idp_groups,
            })
        })
        .collect()
}

/// Reads and locks the member `id` of `tenant`.
pub async fn lock(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: MemberId,
) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "select {COLUMNS} from members where tenant_id = $1 and id = $2 for update"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// Writes a member's role, role source and status; returns the updated member.
pub async fn update_administration(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: MemberId,
    role: Role,
    role_source: RoleSource,
    status: MemberStatus,
) -> Result<Option<Member>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "update members set role = $3, role_source = $4, status = $5 \
         where tenant_id = $1 and id = $2 returning {COLUMNS}"
    ))
    .bind(tenant)
    .bind(id)
    .bind(role.as_str())
    .bind(role_source_name(role_source))
    .bind(status.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(from_row).transpose()
}

/// How many members of `tenant` are active.
pub async fn count_active(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from members where tenant_id = $1 and status = 'active'")
            .bind(tenant)
            .fetch_one(conn)
            .await?;
    Ok(count)
}

/// Whether a member of `tenant` has `email` (compared lower-case). Used only to tell an admin that an
/// invitation would be pointless, never to identify anyone.
pub async fn exists_with_email(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
) -> Result<bool, sqlx::Error> {
    let (exists,): (bool,) = sqlx::query_as(
        "select exists (select 1 from members where tenant_id = $1 and lower(email) = lower($2))",
    )
    .bind(tenant)
    .bind(email)
    .fetch_one(conn)
    .await?;
    Ok(exists)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile<'a>(email: &'a str, email_verified: Option<&'a str>) -> SignInProfile<'a> {
        SignInProfile {
            email,
            email_verified,
            name: "",
            role: Role::Viewer,
            groups: &[],
            is_sign_in: true,
        }
    }

    #[test]
    fn only_an_email_the_provider_verified_can_match_an_invitation() {
        assert_eq!(
            profile("a@b.example", Some("true")).invitation_email(),
            Some("a@b.example")
        );
        assert_eq!(
            profile("a@b.example", Some("True")).invitation_email(),
            Some("a@b.example")
        );
        for unverified in [None, Some("false"), Some("False"), Some(""), Some("yes")] {
            assert_eq!(
                profile("a@b.example", unverified).invitation_email(),
                None,
                "{unverified:?}"
            );
        }
        assert_eq!(profile("", Some("true")).invitation_email(), None);
    }
}
