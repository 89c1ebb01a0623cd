//! `GET /api/v1/audit`: the audit log's events, actors, targets and actions.

use serde::{Deserialize, Serialize};

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
    /// A member wrote a report.
    ReportCreated,
    /// A report's title or text was changed (by its author or an admin).
    ReportEdited,
    /// An admin deleted a report.
    ReportDeleted,
    /// A member recorded a file they uploaded.
    FileUploaded,
    /// A file was deleted (by its uploader or an admin).
    FileDeleted,
    /// A sign-in whose groups no longer map to admin kept the tenant's last active admin their role.
    MemberRoleKept,
    /// Browser sessions of a member were ended: by the member ("sign out everywhere", or one of their own
    /// sessions), or by an admin.
    SessionsEnded,
    /// A set-up link for the tenant's SSO was created (by an operator or an admin).
    SetupLinkCreated,
    /// A set-up link was revoked.
    SetupLinkRevoked,
    /// The customer's IT admin opened a set-up link.
    SetupLinkOpened,
    /// An email domain was claimed.
    DomainClaimed,
    /// An email domain was proven by its DNS record.
    DomainVerified,
    /// An email domain was removed.
    DomainRemoved,
    /// A proven domain's record was missing for the grace period: it routes nothing until proven again.
    DomainLapsed,
    /// The set-up saved the organisation's identity provider for a test (its secret went to the user pool).
    SsoProviderSaved,
    /// A test sign-in went through the identity provider under test (no member was created).
    SsoTestSignIn,
    /// The identity provider was activated: the proven domains route to it.
    SsoActivated,
    /// The active identity provider's client secret was handed to the user pool again (rotated at the
    /// provider); the secret itself is recorded nowhere.
    SsoSecretRotated,
}

impl AuditAction {
    /// Every action, for filters and exhaustive tests.
    pub const ALL: [AuditAction; 27] = [
        AuditAction::SignIn,
        AuditAction::SignInRefused,
        AuditAction::MemberJoined,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberDeactivated,
        AuditAction::MemberReactivated,
        AuditAction::InvitationCreated,
        AuditAction::InvitationRevoked,
        AuditAction::SettingsChanged,
        AuditAction::ReportCreated,
        AuditAction::ReportEdited,
        AuditAction::ReportDeleted,
        AuditAction::FileUploaded,
        AuditAction::FileDeleted,
        AuditAction::MemberRoleKept,
        AuditAction::SessionsEnded,
        AuditAction::SetupLinkCreated,
        AuditAction::SetupLinkRevoked,
        AuditAction::SetupLinkOpened,
        AuditAction::DomainClaimed,
        AuditAction::DomainVerified,
        AuditAction::DomainRemoved,
        AuditAction::DomainLapsed,
        AuditAction::SsoProviderSaved,
        AuditAction::SsoTestSignIn,
        AuditAction::SsoActivated,
        AuditAction::SsoSecretRotated,
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
            AuditAction::ReportCreated => "report_created",
            AuditAction::ReportEdited => "report_edited",
            AuditAction::ReportDeleted => "report_deleted",
            AuditAction::FileUploaded => "file_uploaded",
            AuditAction::FileDeleted => "file_deleted",
            AuditAction::MemberRoleKept => "member_role_kept",
            AuditAction::SessionsEnded => "sessions_ended",
            AuditAction::SetupLinkCreated => "setup_link_created",
            AuditAction::SetupLinkRevoked => "setup_link_revoked",
            AuditAction::SetupLinkOpened => "setup_link_opened",
            AuditAction::DomainClaimed => "domain_claimed",
            AuditAction::DomainVerified => "domain_verified",
            AuditAction::DomainRemoved => "domain_removed",
            AuditAction::DomainLapsed => "domain_lapsed",
            AuditAction::SsoProviderSaved => "sso_provider_saved",
            AuditAction::SsoTestSignIn => "sso_test_sign_in",
            AuditAction::SsoActivated => "sso_activated",
            AuditAction::SsoSecretRotated => "sso_secret_rotated",
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
