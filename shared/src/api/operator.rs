//! Bodies of the operators' console API (`/operator/api/v1/...`).

use serde::{Deserialize, Serialize};

use crate::scope::{Plan, TenantStatus};

/// `GET /operator/api/v1/me`: the signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMe {
    /// The operator's id (`sub`) in the operators' user pool.
    pub id: String,
    /// The email the operator signs in with; absent for a bearer token, which carries none.
    pub email: Option<String>,
}

/// A tenant as the console lists it (`GET /operator/api/v1/tenants`, and the answer of every change to one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    /// The tenant id.
    pub id: String,
    /// The short, unique, URL-safe name (`acme`).
    pub slug: String,
    /// The display name.
    pub name: String,
    /// The subscription plan.
    pub plan: Plan,
    /// Whether its members may sign in.
    pub status: TenantStatus,
    /// Its active members.
    pub active_members: i64,
    /// The bytes its recorded files hold.
    pub storage_bytes: i64,
    /// How far its sign-in is set up.
    pub sign_in: SignInSetup,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its status last changed (RFC 3339); absent when it never did.
    pub status_changed_at: Option<String>,
}

/// How far a tenant's sign-in is set up: its identity providers, and the verified email domains that route
/// to them. A tenant with none of either has nobody who can sign in yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSetup {
    /// Its identity providers.
    pub identity_providers: i64,
    /// Its verified email domains, over all its providers.
    pub verified_domains: i64,
}

/// `GET /operator/api/v1/tenants`: every tenant (or those the search matches), by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantList {
    /// The tenants.
    pub items: Vec<TenantSummary>,
}

/// `POST /operator/api/v1/tenants`: a new tenant, and the email of its first admin, who is invited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    /// The display name.
    pub name: String,
    /// The short, unique, URL-safe name: a lower-case letter, then 1 to 62 lower-case letters, digits or `-`.
    pub slug: String,
    /// The subscription plan.
    pub plan: Plan,
    /// The first admin's email: they join as admin at their first sign-in through the tenant's provider.
    pub admin_email: String,
}

/// `PUT /operator/api/v1/tenants/{id}/plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// The new plan; its limits apply from the next request on.
    pub plan: Plan,
}

/// What an operator did, as the platform audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformAuditAction {
    /// An operator signed in to the console.
    OperatorSignedIn,
    /// An operator created a tenant (and invited its first admin).
    TenantCreated,
    /// An operator changed a tenant's plan.
    TenantPlanChanged,
    /// An operator suspended a tenant.
    TenantSuspended,
    /// An operator resumed a suspended tenant.
    TenantResumed,
    /// An operator downloaded a tenant's export.
    TenantExported,
    /// An operator started a tenant's deletion (its sign-ins ended, its files and rows to be removed).
    TenantDeletionStarted,
    /// A tenant's rows were removed: its deletion is complete.
    TenantDeleted,
    /// A set-up link was created for a tenant's SSO (by an operator or one of its admins).
    SetupLinkCreated,
    /// A set-up link was revoked.
    SetupLinkRevoked,
    /// A customer's IT admin opened a set-up link.
    SetupLinkOpened,
    /// A tenant claimed an email domain.
    DomainClaimed,
    /// A tenant proved an email domain by DNS.
    DomainVerified,
    /// A tenant's email domain was removed.
    DomainRemoved,
    /// A proven domain's record went missing for the grace period: it routes nothing until proven again.
    DomainLapsed,
    /// A tenant's identity provider was saved for a test.
    SsoProviderSaved,
    /// A test sign-in went through a tenant's identity provider under test.
    SsoTestSignIn,
    /// A tenant's identity provider was activated.
    SsoActivated,
    /// The active identity provider's client secret was handed to the user pool again (rotated at the
    /// provider); the secret itself is recorded nowhere.
    SsoSecretRotated,
}

impl PlatformAuditAction {
    /// Every action.
    pub const ALL: [PlatformAuditAction; 19] = [
        PlatformAuditAction::OperatorSignedIn,
        PlatformAuditAction::TenantCreated,
        PlatformAuditAction::TenantPlanChanged,
        PlatformAuditAction::TenantSuspended,
        PlatformAuditAction::TenantResumed,
        PlatformAuditAction::TenantExported,
        PlatformAuditAction::TenantDeletionStarted,
        PlatformAuditAction::TenantDeleted,
        PlatformAuditAction::SetupLinkCreated,
        PlatformAuditAction::SetupLinkRevoked,
        PlatformAuditAction::SetupLinkOpened,
        PlatformAuditAction::DomainClaimed,
        PlatformAuditAction::DomainVerified,
        PlatformAuditAction::DomainRemoved,
        PlatformAuditAction::DomainLapsed,
        PlatformAuditAction::SsoProviderSaved,
        PlatformAuditAction::SsoTestSignIn,
        PlatformAuditAction::SsoActivated,
        PlatformAuditAction::SsoSecretRotated,
    ];

    /// The action as stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformAuditAction::OperatorSignedIn => "operator_signed_in",
            PlatformAuditAction::TenantCreated => "tenant_created",
            PlatformAuditAction::TenantPlanChanged => "tenant_plan_changed",
            PlatformAuditAction::TenantSuspended => "tenant_suspended",
            PlatformAuditAction::TenantResumed => "tenant_resumed",
            PlatformAuditAction::TenantExported => "tenant_exported",
            PlatformAuditAction::TenantDeletionStarted => "tenant_deletion_started",
            PlatformAuditAction::TenantDeleted => "tenant_deleted",
            PlatformAuditAction::SetupLinkCreated => "setup_link_created",
            PlatformAuditAction::SetupLinkRevoked => "setup_link_revoked",
            PlatformAuditAction::SetupLinkOpened => "setup_link_opened",
            PlatformAuditAction::DomainClaimed => "domain_claimed",
            PlatformAuditAction::DomainVerified => "domain_verified",
            PlatformAuditAction::DomainRemoved => "domain_removed",
            PlatformAuditAction::DomainLapsed => "domain_lapsed",
            PlatformAuditAction::SsoProviderSaved => "sso_provider_saved",
            PlatformAuditAction::SsoTestSignIn => "sso_test_sign_in",
            PlatformAuditAction::SsoActivated => "sso_activated",
            PlatformAuditAction::SsoSecretRotated => "sso_secret_rotated",
        }
    }

    /// The action of a stored name.
    pub fn parse(name: &str) -> Option<PlatformAuditAction> {
        PlatformAuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
    }
}

/// One entry of the platform audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformAuditEvent {
    /// The entry id.
    pub id: String,
    /// When it happened (RFC 3339).
    pub at: String,
    /// What happened.
    pub action: PlatformAuditAction,
    /// Who did it: `operator`, `setup_link` (the customer's IT admin, through a set-up link; `operator.id`
    /// is the link's id) or `tenant_admin` (`operator.id` is the member's id).
    pub actor_kind: String,
    /// The operator (or other actor, see `actor_kind`) who did it.
    pub operator: OperatorMe,
    /// The tenant it was done to, as it was named then.
    pub tenant: Option<TenantRef>,
    /// What changed (for a plan change, `from` and `to`).
    pub details: serde_json::Value,
    /// The operator's address, when known.
    pub source_ip: Option<String>,
}

/// A tenant named in the platform audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRef {
    /// The tenant id.
    pub id: String,
    /// Its slug at the time.
    pub slug: String,
    /// Its name at the time.
    pub name: String,
}

/// `GET /operator/api/v1/audit`: the platform audit log, newest first, a page at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformAuditPage {
    /// The entries.
    pub items: Vec<PlatformAuditEvent>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

/// `DELETE /operator/api/v1/tenants/{id}`: the tenant's slug, typed again to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDeletion {
    /// The tenant's slug.
    pub confirm: String,
}

/// What a completed deletion removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantDeleted {
    /// The tenant id.
    pub id: String,
    /// Rows removed, by table.
    pub rows: serde_json::Value,
    /// Objects removed from the upload bucket.
    pub uploads_removed: usize,
    /// Recorded files removed from the files bucket.
    pub files_removed: usize,
    /// Whether the user pool no longer has the tenant's identity providers; `false` when the user pool could
    /// not be reached, in which case the periodic reconciliation removes them.
    pub identity_providers_removed: bool,
}
