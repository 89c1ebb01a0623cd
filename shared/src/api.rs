//! Request and response bodies of the JSON API (`/api/v1/...`) and of the operators' console
//! (`/operator/api/v1/...`), one module per resource as in the backend's
//! `api/`. Every type is re-exported here: callers name them `shared::api::Me`, whatever module holds them.

mod audit;
mod dashboard;
mod files;
mod invitations;
mod me;
mod members;
mod operator;
mod reports;
mod sessions;
mod settings;
mod sso;

pub use audit::{AuditAction, AuditActor, AuditEvent, AuditPage, AuditTarget};
pub use dashboard::{Activity, ActivityKind, Dashboard};
pub use files::{
    FileInfo, FileLink, FilePage, MAX_KEY_BYTES, NewFile, StorageCredentials, allowed_in_key,
};
pub use invitations::{Invitation, InvitationList, NewInvitation};
pub use me::{Me, MeTenant, MeUser};
pub use members::{Member, MemberPage, MemberPatch, MemberRef, RoleSource};
pub use operator::{
    NewTenant, OperatorMe, PlanChange, PlatformAuditAction, PlatformAuditEvent, PlatformAuditPage,
    SignInSetup, TenantDeleted, TenantDeletion, TenantList, TenantRef, TenantSummary,
};
pub use reports::{NewReport, Report, ReportPage, ReportPatch};
pub use sessions::{SessionInfo, SessionList, SessionOwner, SessionsEnded};
pub use settings::{
    GroupMapping, IdentityProviderSettings, ProviderGroupMapping, TenantSettings,
    TenantSettingsUpdate,
};
pub use sso::{
    Activated, Activation, CreatedSetupLink, Domain, DomainList, DomainStatus, DomainVerification,
    NewDomain, NewSetupLink, OpenSetupLink, PROVIDER_KINDS, ProviderForm, ProviderInstructions,
    SecretRotation, SetupLink, SetupLinkList, SetupLinkState, SetupProvider, SetupSession,
    TestSignIn,
};
