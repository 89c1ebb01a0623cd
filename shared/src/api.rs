//! Request and response bodies of the JSON API (`/api/v1/...`).

use serde::{Deserialize, Serialize};

use crate::scope::{MemberStatus, Plan, Role, Scope};

/// `GET /api/v1/me`: who the caller is, in which tenant, with which role and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The signed-in member.
    pub user: MeUser,
    /// The tenant the session or token is bound to.
    pub tenant: MeTenant,
    /// The member's role in the tenant.
    pub role: Role,
    /// The scopes the session or token carries (never more than the role allows).
    pub scopes: Vec<Scope>,
}

/// The user part of [`Me`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeUser {
    /// The member id (stable within the tenant).
    pub id: String,
    /// The email the identity provider asserted (informational; never used for authorization).
    pub email: String,
    /// The display name.
    pub name: String,
}

/// The tenant part of [`Me`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeTenant {
    /// The tenant id.
    pub id: String,
    /// The tenant's short name (`acme`).
    pub slug: String,
    /// The tenant's display name (`Acme Corp`).
    pub name: String,
    /// The tenant's plan.
    pub plan: Plan,
}

/// A report (`GET /api/v1/reports/{id}` and the other report routes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// The report id.
    pub id: String,
    /// The title (1 to 200 characters).
    pub title: String,
    /// The body (at most 20 000 characters).
    pub body: String,
    /// The member who wrote the report.
    pub author: ReportAuthor,
    /// When the report was created (RFC 3339).
    pub created_at: String,
    /// When the report was last changed (RFC 3339).
    pub updated_at: String,
}

/// The author part of [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportAuthor {
    /// The author's member id.
    pub id: String,
    /// The author's display name.
    pub name: String,
}

/// `POST /api/v1/reports`: a new report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewReport {
    /// The title (1 to 200 characters).
    pub title: String,
    /// The body (at most 20 000 characters).
    pub body: String,
}

/// `PATCH /api/v1/reports/{id}`: the fields to change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportPatch {
    /// A new title, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new body, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `GET /api/v1/reports`: one page of reports, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportPage {
    /// The reports of this page.
    pub items: Vec<Report>,
    /// The opaque cursor of the next page (`?cursor=`), absent on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/dashboard`: what every member of the tenant sees first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    /// The tenant's plan.
    pub plan: Plan,
    /// How many reports the tenant holds.
    pub reports: i64,
    /// How many of them the caller wrote.
    pub my_reports: i64,
    /// The most reports the plan allows; absent when unlimited.
    pub report_limit: Option<i64>,
    /// How many members are active.
    pub active_members: i64,
    /// Whether the plan includes CSV export of reports.
    pub csv_export: bool,
    /// The latest report activity, newest first (at most 10 entries).
    pub recent_activity: Vec<Activity>,
}

/// One entry of [`Dashboard::recent_activity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// What happened.
    pub kind: ActivityKind,
    /// The report concerned.
    pub report_id: String,
    /// Its title.
    pub report_title: String,
    /// The display name of the member who wrote the report.
    pub author_name: String,
    /// When it happened (RFC 3339).
    pub at: String,
}

/// What an [`Activity`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A report was written.
    ReportCreated,
    /// A report was edited.
    ReportEdited,
}

/// A member of the tenant, as tenant admins see it (`GET /api/v1/members`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The member id.
    pub id: String,
    /// The email the identity provider last asserted (informational).
    pub email: String,
    /// The display name.
    pub name: String,
    /// The member's role.
    pub role: Role,
    /// Where the role comes from: the identity provider's groups, or an admin who set it.
    pub role_source: RoleSource,
    /// Whether the member may sign in.
    pub status: MemberStatus,
    /// The identity provider the member signs in through.
    pub provider: String,
    /// When the member joined (RFC 3339).
    pub created_at: String,
    /// When the member last signed in (RFC 3339), if ever.
    pub last_sign_in_at: Option<String>,
}

/// Where a member's role comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// Mapped from the identity provider's groups at each sign-in (the tenant's group mapping).
    IdentityProvider,
    /// Set by a tenant admin (directly or through the invitation); sign-ins no longer change it.
    Admin,
}

/// `GET /api/v1/members`: one page of members, ordered by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberPage {
    /// The members of this page.
    pub items: Vec<Member>,
    /// The opaque cursor of the next page, absent on the last page.
    pub next_cursor: Option<String>,
}

/// `PATCH /api/v1/members/{id}`: the fields to change. Setting a role makes it admin-set
/// ([`RoleSource::Admin`]); `"role_source": "identity_provider"` hands the role back to the group mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberPatch {
    /// A new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Hand the role back to the identity provider's groups (only `identity_provider` is meaningful here,
    /// and not together with `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_source: Option<RoleSource>,
    /// Deactivate or reactivate the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatus>,
}

/// An invitation (`GET|POST /api/v1/invitations`): the person with this email who signs in through the
/// tenant's identity provider joins with this role, even when just-in-time joining is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    /// The invitation id.
    pub id: String,
    /// The invited email (lower-case).
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
    /// The display name of the admin who invited them.
    pub invited_by: String,
    /// When the invitation was made (RFC 3339).
    pub created_at: String,
    /// When it stops being valid (RFC 3339).
    pub expires_at: String,
}

/// `POST /api/v1/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvitation {
    /// The email to invite.
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
}

/// `GET /api/v1/invitations`: the pending (not yet used, not expired) invitations, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationList {
    /// The invitations.
    pub items: Vec<Invitation>,
}

/// `GET /api/v1/tenant/settings`: the tenant's sign-in settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSettings {
    /// Whether people from the tenant's identity provider who were not invited join at their first sign-in
    /// (`true`) or are refused (`false`).
    pub just_in_time: bool,
    /// The tenant's identity providers.
    pub identity_providers: Vec<IdentityProviderSettings>,
}

/// One identity provider of [`TenantSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityProviderSettings {
    /// The provider's name in the user pool (read-only).
    pub name: String,
    /// `entra`, `okta` or `oidc` (read-only).
    pub kind: String,
    /// The email domains that route to this provider (read-only; set by platform operators).
    pub verified_domains: Vec<String>,
    /// Which IdP group gives which role. A member in several mapped groups gets the most powerful role; a
    /// member in none gets `viewer`.
    pub group_mapping: Vec<GroupMapping>,
}

/// One IdP group → role entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMapping {
    /// The group name exactly as the identity provider sends it.
    pub group: String,
    /// The role members of the group get.
    pub role: Role,
}

/// `PUT /api/v1/tenant/settings`: the editable settings, replaced as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSettingsUpdate {
    /// See [`TenantSettings::just_in_time`].
    pub just_in_time: bool,
    /// The new group mapping of each identity provider listed (providers not listed keep theirs).
    pub group_mappings: Vec<ProviderGroupMapping>,
}

/// The group mapping of one provider in [`TenantSettingsUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderGroupMapping {
    /// The provider's name (one of the tenant's own).
    pub provider: String,
    /// The complete new mapping.
    pub group_mapping: Vec<GroupMapping>,
}

/// One entry of the audit log (`GET /api/v1/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// The event id.
    pub id: String,
    /// When it happened (RFC 3339).
    pub at: String,
    /// What happened.
    pub action: AuditAction,
    /// Who did it; absent for the system (for example a refused sign-in of an unknown person).
    pub actor: Option<AuditActor>,
    /// What it was done to, if anything.
    pub target: Option<AuditTarget>,
    /// Details of the change (for example `{"from": "member", "to": "admin"}`).
    pub details: serde_json::Value,
    /// The client address the request came from, if known.
    pub source_ip: Option<String>,
}

/// The member behind an [`AuditEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    /// The member id.
    pub id: String,
    /// The member's display name at the time.
    pub name: String,
    /// The member's email at the time.
    pub email: String,
}

/// What an [`AuditEvent`] was done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditTarget {
    /// `member`, `invitation`, `report` or `tenant`.
    pub kind: String,
    /// The target's id.
    pub id: String,
    /// A label a person recognises (an email, a title) at the time.
    pub label: String,
}

/// The kinds of audited events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A member signed in.
    SignIn,
    /// A sign-in was refused (deactivated member, or not invited while just-in-time joining is off).
    SignInRefused,
    /// A person joined the tenant at their first sign-in.
    MemberJoined,
    /// An admin changed a member's role.
    MemberRoleChanged,
    /// An admin deactivated a member.
    MemberDeactivated,
    /// An admin reactivated a member.
    MemberReactivated,
    /// An admin invited someone.
    InvitationCreated,
    /// An admin withdrew an invitation.
    InvitationRevoked,
    /// An admin changed the sign-in settings.
    SettingsChanged,
    /// An admin deleted a report.
    ReportDeleted,
    /// A member recorded a file they uploaded.
    FileUploaded,
    /// A file was deleted (by its uploader or an admin).
    FileDeleted,
    /// A sign-in whose groups no longer map to admin kept the tenant's last active admin their role.
    MemberRoleKept,
}

impl AuditAction {
    /// Every action, for filters and exhaustive tests.
    pub const ALL: [AuditAction; 13] = [
        AuditAction::SignIn,
        AuditAction::SignInRefused,
        AuditAction::MemberJoined,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberDeactivated,
        AuditAction::MemberReactivated,
        AuditAction::InvitationCreated,
        AuditAction::InvitationRevoked,
        AuditAction::SettingsChanged,
        AuditAction::ReportDeleted,
        AuditAction::FileUploaded,
        AuditAction::FileDeleted,
        AuditAction::MemberRoleKept,
    ];

    /// The action as stored and on the wire (`member_role_changed`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInRefused => "sign_in_refused",
            AuditAction::MemberJoined => "member_joined",
            AuditAction::MemberRoleChanged => "member_role_changed",
            AuditAction::MemberDeactivated => "member_deactivated",
            AuditAction::MemberReactivated => "member_reactivated",
            AuditAction::InvitationCreated => "invitation_created",
            AuditAction::InvitationRevoked => "invitation_revoked",
            AuditAction::SettingsChanged => "settings_changed",
            AuditAction::ReportDeleted => "report_deleted",
            AuditAction::FileUploaded => "file_uploaded",
            AuditAction::FileDeleted => "file_deleted",
            AuditAction::MemberRoleKept => "member_role_kept",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// `GET /api/v1/audit`: one page of the audit log, newest first. Filters: `?action=<AuditAction>`,
/// `?actor=<member id>`, `?since=` / `?until=` (RFC 3339), `?limit=` (1–100), `?cursor=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// The events of this page.
    pub items: Vec<AuditEvent>,
    /// The opaque cursor of the next page, absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/storage/credentials`: short-lived credentials of the upload role, from the identity pool,
/// for the browser to upload straight to S3 under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageCredentials {
    /// The temporary access key id (`ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token every request must carry.
    pub session_token: String,
    /// When the credentials stop working (RFC 3339).
    pub expiration: String,
    /// The bucket's region, for SigV4.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The caller's own prefix, `<tenant_id>/<user_id>/uploads/`: the only place the credentials may write.
    pub prefix: String,
    /// The S3 endpoint to use (path-style), absent for AWS's default regional endpoint.
    pub endpoint: Option<String>,
}

/// `POST /api/v1/files`: record an object the caller uploaded under their own prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewFile {
    /// The object key, `<prefix><anything>/<file name>`.
    pub key: String,
}

/// A file of the tenant (`GET /api/v1/files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// The file id.
    pub id: String,
    /// The file name (the key's last segment).
    pub name: String,
    /// The size in bytes.
    pub size: i64,
    /// The content type the browser sent.
    pub content_type: String,
    /// Who uploaded it.
    pub uploader: ReportAuthor,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
}

/// `GET /api/v1/files`: one page of the tenant's files, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FilePage {
    /// The files of this page.
    pub items: Vec<FileInfo>,
    /// The opaque cursor of the next page, absent on the last page.
    pub next_cursor: Option<String>,
    /// How many bytes the tenant stores in all.
    pub used_bytes: i64,
    /// The most the plan allows; absent when unlimited.
    pub quota_bytes: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_has_the_documented_wire_shape() {
        let me = Me {
            user: MeUser {
                id: "u1".into(),
                email: "alice@acme.example".into(),
                name: "Alice".into(),
            },
            tenant: MeTenant {
                id: "t1".into(),
                slug: "acme".into(),
                name: "Acme Corp".into(),
                plan: Plan::Pro,
            },
            role: Role::Admin,
            scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
        };
        let json = serde_json::to_value(&me).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "user": {"id": "u1", "email": "alice@acme.example", "name": "Alice"},
                "tenant": {"id": "t1", "slug": "acme", "name": "Acme Corp", "plan": "pro"},
                "role": "admin",
                "scopes": ["read", "write", "admin"]
            })
        );
    }

    #[test]
    fn reports_have_the_documented_wire_shape() {
        let page = ReportPage {
            items: vec![Report {
                id: "r1".into(),
                title: "Q3".into(),
                body: "Up.".into(),
                author: ReportAuthor {
                    id: "u1".into(),
                    name: "Alice".into(),
                },
                created_at: "2025-06-01T00:00:00Z".into(),
                updated_at: "2025-06-02T00:00:00Z".into(),
            }],
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_value(&page).unwrap_or_default(),
            serde_json::json!({
                "items": [{
                    "id": "r1", "title": "Q3", "body": "Up.",
                    "author": {"id": "u1", "name": "Alice"},
                    "created_at": "2025-06-01T00:00:00Z", "updated_at": "2025-06-02T00:00:00Z"
                }],
                "next_cursor": null
            })
        );
        let patch: ReportPatch = serde_json::from_str(r#"{"body": "New"}"#).unwrap_or_default();
        assert_eq!(
            patch,
            ReportPatch {
                title: None,
                body: Some("New".into())
            }
        );
    }
}
