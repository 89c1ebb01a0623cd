//! Self-serve SSO set-up: set-up links (created by operators and tenant admins), email domains proven by DNS,
//! and the set-up wizard's session (`/setup/api/v1/...`), which the customer's IT admin opens from a link
//! without any account.

use serde::{Deserialize, Serialize};

use super::GroupMapping;
use crate::scope::Role;

/// Where a set-up link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SetupLinkState {
    /// Created and not opened yet.
    Pending,
    /// Opened: a set-up session is using it (the link itself cannot be opened again).
    Opened,
    /// The set-up was completed through it.
    Completed,
    /// Revoked by an operator or an admin, or replaced by a newer link.
    Revoked,
    /// Its validity ran out before the set-up was completed.
    Expired,
}

/// A set-up link as operators and tenant admins list it (never with its token, which is shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupLink {
    /// The link id.
    pub id: String,
    /// Where it stands.
    pub state: SetupLinkState,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Who created it: `operator` or `member`.
    pub created_by_kind: String,
    /// The creator's email, when known.
    pub created_by_email: String,
    /// When it was opened (RFC 3339).
    pub opened_at: Option<String>,
}

/// `POST …/setup-links`: a new link (replacing the tenant's open one, if any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSetupLink {
    /// How many days the link stays valid: 1 to 30, 7 when absent.
    #[serde(default)]
    pub valid_days: Option<u32>,
}

/// The answer to `POST …/setup-links`: the link, and its URL, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedSetupLink {
    /// The link.
    pub link: SetupLink,
    /// The URL to hand to the customer's IT admin. It holds the link's secret after `#`, so the secret
    /// reaches no server log and no `Referer`; it is not stored and cannot be shown again.
    pub url: String,
}

/// A tenant's set-up links, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupLinkList {
    /// The links.
    pub items: Vec<SetupLink>,
}

/// Where an email domain's proof stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Claimed; its TXT record has not been found yet.
    Pending,
    /// Proven: the TXT record was found. It can route sign-ins.
    Verified,
    /// Was proven, but the record has been missing at every re-check for the grace period: it routes nothing
    /// until the record is back (verify again) or the domain is removed.
    Lapsed,
}

/// A domain the tenant claims, and the DNS record that proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Domain {
    /// The domain, lower-case (`initech.example`).
    pub domain: String,
    /// Where its proof stands.
    pub status: DomainStatus,
    /// The name of the TXT record to publish (`_saas-verification.initech.example`).
    pub record_name: String,
    /// The value the TXT record must hold.
    pub record_value: String,
    /// When it was first verified (RFC 3339).
    pub verified_at: Option<String>,
    /// When its record was last looked up (RFC 3339).
    pub last_checked_at: Option<String>,
}

/// A tenant's domains, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainList {
    /// The domains.
    pub items: Vec<Domain>,
}

/// `POST …/domains`: claim a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewDomain {
    /// The email domain (`initech.example`); any case, without `@`.
    pub domain: String,
}

/// The answer to `POST …/domains/{domain}/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainVerification {
    /// The domain after the lookup (verified when the record was found).
    pub domain: Domain,
    /// Whether the expected record was found.
    pub verified: bool,
    /// What the lookup found at the record's name instead (the TXT values, at most 10), when it did not find
    /// the expected one; empty when the name has no TXT record.
    pub found: Vec<String>,
    /// A sentence saying what was found and what to do.
    pub message: String,
}

/// `POST /setup/api/v1/session`: open a set-up link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSetupLink {
    /// The secret from the link's URL (after `#`).
    pub token: String,
}

/// `GET /setup/api/v1/session`: what the set-up wizard shows and resumes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupSession {
    /// The organisation being set up, as the platform names it.
    pub tenant_name: String,
    /// When the set-up link stops working (RFC 3339).
    pub expires_at: String,
    /// The organisation's email domains.
    pub domains: Vec<Domain>,
    /// The identity provider saved so far (the one under test, else the active one).
    pub provider: Option<SetupProvider>,
    /// The last test sign-in through the provider under test, if any.
    pub test: Option<TestSignIn>,
    /// Whether the set-up was completed (the provider activated) through this link.
    pub completed: bool,
}

/// The identity provider kinds the wizard sets up: `entra`, `okta` or `oidc`.
pub const PROVIDER_KINDS: [&str; 3] = ["entra", "okta", "oidc"];

/// `GET /setup/api/v1/provider/instructions?kind=`: what the IT admin registers on their provider's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInstructions {
    /// The kind.
    pub kind: String,
    /// The redirect (reply) URI to register: the user pool's `/oauth2/idpresponse`.
    pub redirect_uri: String,
    /// The scopes the sign-in asks for.
    pub scopes: Vec<String>,
    /// The claims the provider must release, and why.
    pub claims: Vec<String>,
    /// The steps on the provider's side, in order.
    pub steps: Vec<String>,
}

/// `POST /setup/api/v1/provider`: what the kind needs. Fields a kind does not use are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderForm {
    /// `entra`, `okta` or `oidc`.
    pub kind: String,
    /// Entra: the directory (tenant) ID.
    #[serde(default)]
    pub directory_id: String,
    /// Okta: the org URL (`https://initech.okta.com`).
    #[serde(default)]
    pub org_url: String,
    /// Okta: the authorization server (`default`, an `aus…` id, or empty for the org server).
    #[serde(default)]
    pub authorization_server: String,
    /// Any OpenID Connect provider: its issuer.
    #[serde(default)]
    pub issuer: String,
    /// The client (application) ID registered for the user pool.
    pub client_id: String,
    /// The client secret: handed to the user pool, never stored by the backend nor shown again.
    pub client_secret: String,
}

/// The identity provider of a set-up (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupProvider {
    /// The user pool's name for it (`initech-okta`).
    pub name: String,
    /// `entra`, `okta` or `oidc`.
    pub kind: String,
    /// Its issuer, as its discovery document states it.
    pub issuer: String,
    /// The client ID.
    pub client_id: String,
    /// `testing` (saved, routes nothing yet) or `active`.
    pub status: String,
}

/// What a test sign-in received from the provider. It created no member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSignIn {
    /// When it happened (RFC 3339).
    pub at: String,
    /// The provider's subject for the person.
    pub subject: String,
    /// The email the provider asserted.
    pub email: String,
    /// Whether the provider says the email is verified (`None`: it said nothing).
    pub email_verified: Option<bool>,
    /// The groups (or app roles) the provider sent.
    pub groups: Vec<String>,
}

/// `POST /setup/api/v1/activate`: the group → role mapping the provider starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Which group gives which role; people in no mapped group are viewers.
    pub group_mapping: Vec<GroupMapping>,
}

/// The answer to `POST /setup/api/v1/activate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activated {
    /// The provider, now active.
    pub provider: SetupProvider,
    /// The email domains that route to it from now on.
    pub routed_domains: Vec<String>,
    /// Each mapped group's role, as saved.
    pub roles: Vec<(String, Role)>,
}

/// `POST /api/v1/tenant/sso/provider/secret`: a new client secret for the organisation's active identity
/// provider (after rotating it at the provider). Handed to the user pool; never stored nor shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretRotation {
    /// The new client secret.
    pub client_secret: String,
}
