//! `/api/v1/members`: members as tenant admins see them, where their role comes from, and changes.

use serde::{Deserialize, Serialize};

use crate::scope::{MemberStatus, Role};

/// A reference to a member wherever a resource names one (a report's author, a file's uploader, who made an
/// invitation): the id, stable within the tenant, and the member's current display name. The audit log does
/// not use it: an event records the name and email the actor had at the time ([`super::AuditActor`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRef {
    /// The member id.
    pub id: String,
    /// The member's display name.
    pub name: String,
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
