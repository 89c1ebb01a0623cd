//! The `members` table: who belongs to a tenant, keyed by the identity they sign in with.
//!
//! A member is identified by `(provider, subject)`: the identity provider the user came through and that
//! provider's stable subject, the IdP's `sub`, which Cognito records as the identity's `userId` (for Entra a
//! pairwise `sub`, stable and unique per user within the app registration). Email is a profile attribute
//! only; nothing here looks a member up by email, because an email claim can be unverified or asserted by
//! another tenant's IdP.

use shared::Role;
use shared::api::RoleSource;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId, TenantTx, decode_name};

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

/// A `members` row as stored (role, role source and status as their stored names).
struct MemberRow {
    id: MemberId,
    tenant_id: TenantId,
    provider: String,
    subject: String,
    email: String,
    name: String,
    role: String,
    role_source: String,
    status: String,
    created_at: OffsetDateTime,
    last_sign_in_at: Option<OffsetDateTime>,
    idp_groups: Option<Vec<String>>,
}

impl TryFrom<MemberRow> for Member {
    type Error = sqlx::Error;

    fn try_from(row: MemberRow) -> Result<Member, sqlx::Error> {
        Ok(Member {
            id: row.id,
            tenant_id: row.tenant_id,
            provider: row.provider,
            subject: row.subject,
            email: row.email,
            name: row.name,
            role: decode_name("role", &row.role)?,
            role_source: decode_role_source(&row.role_source)?,
            status: decode_name("status", &row.status)?,
            created_at: row.created_at,
            last_sign_in_at: row.last_sign_in_at,
            idp_groups: row.idp_groups,
        })
    }
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

/// Reads the member `id` of the transaction's tenant; another tenant's member is `None`.
pub async fn get(tx: &mut TenantTx, id: MemberId) -> Result<Option<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        MemberRow,
        r#"SELECT id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name, role,
                  role_source, status, created_at, last_sign_in_at, idp_groups
           FROM members WHERE tenant_id = $1 AND id = $2"#,
        tenant.0,
        id.0
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Member::try_from)
    .transpose()
}

/// What the live check of a request reads in one query: the member, whether the sign-in its token belongs to
/// has been revoked, and whether the tenant is suspended.
#[derive(Debug)]
pub struct LiveMembership {
    /// The member.
    pub member: Member,
    /// The sign-in's `origin_jti` is on the tenant's revocation list, or it began before the tenant's cut-off.
    pub sign_in_revoked: bool,
    /// The platform's operators suspended the tenant (or are deleting it).
    pub tenant_suspended: bool,
}

/// Reads the member `id` of the transaction's tenant, as [`get`] does, and in the same query whether the
/// sign-in a token belongs to has been revoked (its `origin_jti` is on the tenant's revocation list, or it
/// began (`auth_time`, seconds since the epoch) before the tenant's cut-off) and whether the tenant is
/// suspended. Primary-key lookups in the query that checks the membership anyway.
pub async fn get_with_sign_in_revoked(
    tx: &mut TenantTx,
    id: MemberId,
    origin_jti: &str,
    auth_time: i64,
) -> Result<Option<LiveMembership>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let row = sqlx::query!(
        r#"SELECT m.id AS "id: MemberId", m.tenant_id AS "tenant_id: TenantId", m.provider, m.subject,
                  m.email, m.name, m.role, m.role_source, m.status, m.created_at, m.last_sign_in_at,
                  m.idp_groups,
                  EXISTS (SELECT 1 FROM revoked_sign_ins AS r
                          WHERE r.tenant_id = m.tenant_id AND r.origin_jti = $3)
                  OR to_timestamp($4) < coalesce(t.sign_ins_revoked_before, '-infinity')
                  AS "sign_in_revoked!",
                  t.status <> 'active' AS "tenant_suspended!"
           FROM members AS m JOIN tenants AS t ON t.id = m.tenant_id
           WHERE m.tenant_id = $1 AND m.id = $2"#,
        tenant.0,
        id.0,
        origin_jti,
        auth_time as f64
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let member = Member::try_from(MemberRow {
        id: row.id,
        tenant_id: row.tenant_id,
        provider: row.provider,
        subject: row.subject,
        email: row.email,
        name: row.name,
        role: row.role,
        role_source: row.role_source,
        status: row.status,
        created_at: row.created_at,
        last_sign_in_at: row.last_sign_in_at,
        idp_groups: row.idp_groups,
    })?;
    Ok(Some(LiveMembership {
        member,
        sign_in_revoked: row.sign_in_revoked,
        tenant_suspended: row.tenant_suspended,
    }))
}

/// Sets a member's status; `false` when the transaction's tenant has no such member.
pub async fn set_status(
    tx: &mut TenantTx,
    id: MemberId,
    status: MemberStatus,
) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    let result = sqlx::query!(
        "UPDATE members SET status = $3 WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id.0,
        status.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Finds the member of the transaction's tenant who signs in as `(provider, subject)` and locks the row until
/// the transaction ends, so that concurrent sign-ins of the same user are applied one after the other.
pub async fn lock_by_identity(
    tx: &mut TenantTx,
    provider: &str,
    subject: &str,
) -> Result<Option<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        MemberRow,
        r#"SELECT id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name, role,
                  role_source, status, created_at, last_sign_in_at, idp_groups
           FROM members WHERE tenant_id = $1 AND provider = $2 AND subject = $3
           FOR UPDATE"#,
        tenant.0,
        provider,
        subject
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Member::try_from)
    .transpose()
}

/// Creates a member of the transaction's tenant at first sign-in. `None` when a concurrent sign-in of the
/// same identity created it first; the caller then finds that member with [`lock_by_identity`].
pub async fn create(tx: &mut TenantTx, new: &NewMember<'_>) -> Result<Option<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        MemberRow,
        r#"INSERT INTO members
               (id, tenant_id, provider, subject, email, name, role, role_source, status, last_sign_in_at,
                idp_groups)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', now(), $9)
           ON CONFLICT (tenant_id, provider, subject) DO NOTHING
           RETURNING id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name, role,
                  role_source, status, created_at, last_sign_in_at, idp_groups"#,
        Uuid::new_v4(),
        tenant.0,
        new.provider,
        new.subject,
        new.email,
        new.name,
        new.role.as_str(),
        role_source_name(new.role_source),
        new.idp_groups
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Member::try_from)
    .transpose()
}

/// Records a sign-in or token refresh of an existing member: the profile, groups and role the provider
/// asserted, and for an interactive sign-in the time. Returns the updated member (`None` if the transaction's
/// tenant no longer has it).
pub async fn record_sign_in(
    tx: &mut TenantTx,
    id: MemberId,
    profile: &SignInProfile<'_>,
) -> Result<Option<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        MemberRow,
        r#"UPDATE members SET email = $3, name = $4,
               role = CASE WHEN role_source = 'identity_provider' THEN $5 ELSE role END,
               last_sign_in_at = CASE WHEN $6 THEN now() ELSE last_sign_in_at END, idp_groups = $7
           WHERE tenant_id = $1 AND id = $2
           RETURNING id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name, role,
                  role_source, status, created_at, last_sign_in_at, idp_groups"#,
        tenant.0,
        id.0,
        profile.email,
        profile.name,
        profile.role.as_str(),
        profile.is_sign_in,
        profile.groups
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Member::try_from)
    .transpose()
}

/// The order of the member list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// By email (the default).
    #[default]
    Email,
    /// By display name, then email.
    Name,
}

/// Where a page of the member list starts: after this (sort key, id) in `order`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListPosition {
    /// The order the position belongs to: a cursor of one order means nothing in another.
    #[serde(default)]
    pub order: ListOrder,
    /// The sort key (email, or name) of the last member of the previous page.
    pub key: String,
    /// Its id.
    pub id: MemberId,
}

/// Which members a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Text the email or the name contains, compared without regard to case.
    pub text: Option<String>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only this status.
    pub status: Option<MemberStatus>,
}

/// Up to `limit` members of the transaction's tenant that pass `filter`, in `order` then by id, after
/// `after`. Each order pages on an index of its own (`members_tenant_email_idx`, `members_tenant_name_idx`).
pub async fn list(
    tx: &mut TenantTx,
    filter: &ListFilter,
    order: ListOrder,
    after: Option<&ListPosition>,
    limit: i64,
) -> Result<Vec<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let pattern = filter.text.as_deref().map(super::contains_pattern);
    let role = filter.role.map(Role::as_str);
    let status = filter.status.map(MemberStatus::as_str);
    let after_key = after.map(|p| p.key.as_str());
    let after_id = after.map(|p| p.id.0);
    // One compile-checked query per order: `query_as!` checks a fixed statement, and an `ORDER BY` chosen at
    // run time could not use its keyset index the same way.
    let rows = match order {
        ListOrder::Email => {
            sqlx::query_as!(
                MemberRow,
                r#"SELECT id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name,
                          role, role_source, status, created_at, last_sign_in_at, idp_groups
                   FROM members
                   WHERE tenant_id = $1
                     AND (email, id) > (CASE WHEN $2::text IS NULL THEN '' ELSE $2 END,
                                         CASE WHEN $3::uuid IS NULL THEN '00000000-0000-0000-0000-000000000000' ELSE $3 END)
                     AND ($4::text IS NULL OR email ILIKE $4 OR name ILIKE $4)
                     AND ($5::text IS NULL OR role = $5) AND ($6::text IS NULL OR status = $6)
                   ORDER BY email, id
                   LIMIT $7"#,
                tenant.0,
                after_key,
                after_id,
                pattern,
                role,
                status,
                limit
            )
            .fetch_all(tx.conn())
            .await?
        }
        ListOrder::Name => {
            sqlx::query_as!(
                MemberRow,
                r#"SELECT id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name,
                          role, role_source, status, created_at, last_sign_in_at, idp_groups
                   FROM members
                   WHERE tenant_id = $1
                     AND (name, id) > (CASE WHEN $2::text IS NULL THEN '' ELSE $2 END,
                                         CASE WHEN $3::uuid IS NULL THEN '00000000-0000-0000-0000-000000000000' ELSE $3 END)
                     AND ($4::text IS NULL OR email ILIKE $4 OR name ILIKE $4)
                     AND ($5::text IS NULL OR role = $5) AND ($6::text IS NULL OR status = $6)
                   ORDER BY name, id
                   LIMIT $7"#,
                tenant.0,
                after_key,
                after_id,
                pattern,
                role,
                status,
                limit
            )
            .fetch_all(tx.conn())
            .await?
        }
    };
    rows.into_iter().map(Member::try_from).collect()
}

/// Locks the tenant's active admins until the transaction ends and returns their ids. Every change that could
/// remove an active admin takes this lock first, so two admins demoting each other at the same time are
/// applied one after the other and the second sees the first's result.
pub async fn lock_active_admins(tx: &mut TenantTx) -> Result<Vec<MemberId>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT id AS "id: MemberId" FROM members
           WHERE tenant_id = $1 AND role = 'admin' AND status = 'active'
           ORDER BY id
           FOR UPDATE"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await
}

/// How many active admins of the transaction's tenant there are besides `member`. Callers hold
/// [`lock_active_admins`], so the answer stands until their transaction ends.
pub async fn count_other_active_admins(
    tx: &mut TenantTx,
    member: MemberId,
) -> Result<i64, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM members
           WHERE tenant_id = $1 AND role = 'admin' AND status = 'active' AND id <> $2"#,
        tenant.0,
        member.0
    )
    .fetch_one(tx.conn())
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

/// The active admins of the transaction's tenant with what decides whether they stay admin. Callers hold
/// [`lock_active_admins`].
pub async fn active_admin_standings(tx: &mut TenantTx) -> Result<Vec<AdminStanding>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let rows = sqlx::query!(
        r#"SELECT id AS "id: MemberId", email, provider, role_source, idp_groups FROM members
           WHERE tenant_id = $1 AND role = 'admin' AND status = 'active'
           ORDER BY id"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(AdminStanding {
                id: row.id,
                email: row.email,
                provider: row.provider,
                role_source: decode_role_source(&row.role_source)?,
                idp_groups: row.idp_groups,
            })
        })
        .collect()
}

/// Reads and locks the member `id` of the transaction's tenant.
pub async fn lock(tx: &mut TenantTx, id: MemberId) -> Result<Option<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        MemberRow,
        r#"SELECT id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name, role,
                  role_source, status, created_at, last_sign_in_at, idp_groups
           FROM members WHERE tenant_id = $1 AND id = $2
           FOR UPDATE"#,
        tenant.0,
        id.0
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Member::try_from)
    .transpose()
}

/// Writes a member's role, role source and status; returns the updated member.
pub async fn update_administration(
    tx: &mut TenantTx,
    id: MemberId,
    role: Role,
    role_source: RoleSource,
    status: MemberStatus,
) -> Result<Option<Member>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        MemberRow,
        r#"UPDATE members SET role = $3, role_source = $4, status = $5
           WHERE tenant_id = $1 AND id = $2
           RETURNING id AS "id: MemberId", tenant_id AS "tenant_id: TenantId", provider, subject, email, name, role,
                  role_source, status, created_at, last_sign_in_at, idp_groups"#,
        tenant.0,
        id.0,
        role.as_str(),
        role_source_name(role_source),
        status.as_str()
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Member::try_from)
    .transpose()
}

/// How many members of the transaction's tenant are active.
pub async fn count_active(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM members WHERE tenant_id = $1 AND status = 'active'"#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await
}

/// Whether a member of the transaction's tenant has `email` (compared lower-case). Used only to tell an
/// admin that an invitation would be pointless, never to identify anyone.
pub async fn exists_with_email(tx: &mut TenantTx, email: &str) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM members WHERE tenant_id = $1 AND lower(email) = lower($2))
           AS "exists!""#,
        tenant.0,
        email
    )
    .fetch_one(tx.conn())
    .await
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
