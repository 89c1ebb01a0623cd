//! Self-serve SSO set-up: set-up links (created by operators and tenant admins), email domains proven by DNS,
//! and the set-up wizard's session (`/setup/api/v1/...`), which the customer's IT admin opens from a link
//! without any account.

use serde::{Deserialize, Serialize};

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
}
