//! `/api/v1/tenant/settings`: just-in-time joining and the IdP group → role mappings.

use serde::{Deserialize, Serialize};

use crate::scope::Role;

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
