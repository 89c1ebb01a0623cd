//! API scopes, tenant roles and plans, and the fixed mapping from a role to the scopes it may hold.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A resource-server scope of the API. On the wire (in the `scope` claim) it is
/// `<resource-server-id>/<name>`, for example `saas-api/read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read the tenant's data.
    Read,
    /// Create and change the tenant's data.
    Write,
    /// Administer the tenant: members, sign-in settings, audit log.
    Admin,
}

impl Scope {
    /// Every scope, in increasing order of power.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The scope's short name, without the resource-server prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    /// The scope as it appears in a token issued for `resource_server` (`saas-api/read`).
    pub fn qualified(self, resource_server: &str) -> String {
        format!("{resource_server}/{}", self.as_str())
    }

    /// Parses a qualified scope (`saas-api/read`) issued for `resource_server`; anything else is `None`.
    pub fn from_qualified(value: &str, resource_server: &str) -> Option<Scope> {
        let name = value.strip_prefix(resource_server)?.strip_prefix('/')?;
        name.parse().ok()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            _ => Err(UnknownName),
        }
    }
}

/// A member's role within their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the tenant's data.
    Viewer,
    /// Reads and writes the tenant's data.
    Member,
    /// Everything a member does, plus tenant administration.
    Admin,
}

impl Role {
    /// Every role, in increasing order of power.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Member, Role::Admin];

    /// The role's name as stored and as it appears in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    /// The scopes this role may hold: viewer → read; member → read write; admin → read write admin.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Role::Viewer => &[Scope::Read],
            Role::Member => &[Scope::Read, Scope::Write],
            Role::Admin => &[Scope::Read, Scope::Write, Scope::Admin],
        }
    }

    /// Whether the role may hold `scope`.
    pub fn allows(self, scope: Scope) -> bool {
        self.scopes().contains(&scope)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "member" => Ok(Role::Member),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownName),
        }
    }
}

/// Whether a caller may change or delete something a member made (a report they wrote, a file they
/// uploaded): its maker, or an admin. The backend enforces it and the web app offers the controls by it, so
/// both read the same rule; the route's own scope (write) is required besides.
pub fn is_maker_or_admin<Id: PartialEq + ?Sized>(
    maker: &Id,
    caller: &Id,
    caller_scopes: &[Scope],
) -> bool {
    maker == caller || caller_scopes.contains(&Scope::Admin)
}

/// A tenant's subscription plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// The entry plan, with limits.
    Basic,
    /// The full plan.
    Pro,
}

/// The most reports a tenant on the `basic` plan may hold.
pub const BASIC_PLAN_REPORT_LIMIT: i64 = 10;
/// What a tenant on the `basic` plan may store, in bytes (100 MB).
pub const BASIC_PLAN_QUOTA_BYTES: i64 = 100 * 1000 * 1000;

impl Plan {
    /// The plan's name as stored and as it appears in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Basic => "basic",
            Plan::Pro => "pro",
        }
    }

    /// The most reports a tenant on this plan may hold; `None` for no limit.
    pub fn report_limit(self) -> Option<i64> {
        match self {
            Plan::Basic => Some(BASIC_PLAN_REPORT_LIMIT),
            Plan::Pro => None,
        }
    }

    /// The most a tenant on this plan may store, in bytes; `None` for no limit.
    pub fn storage_quota_bytes(self) -> Option<i64> {
        match self {
            Plan::Basic => Some(BASIC_PLAN_QUOTA_BYTES),
            Plan::Pro => None,
        }
    }

    /// Whether the plan includes the CSV export of reports.
    pub fn has_csv_export(self) -> bool {
        match self {
            Plan::Basic => false,
            Plan::Pro => true,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Plan {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "basic" => Ok(Plan::Basic),
            "pro" => Ok(Plan::Pro),
            _ => Err(UnknownName),
        }
    }
}

/// Whether a tenant's members may sign in and use the API: platform operators suspend and resume tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// The tenant's members may sign in.
    Active,
    /// An operator suspended the tenant: its sign-ins ended, and sign-in, token refresh and API calls are
    /// refused until it is resumed.
    Suspended,
    /// An operator started the tenant's deletion: refused like a suspended tenant until it is gone.
    Deleting,
}

impl TenantStatus {
    /// The status as stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Deleting => "deleting",
        }
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TenantStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(TenantStatus::Active),
            "suspended" => Ok(TenantStatus::Suspended),
            "deleting" => Ok(TenantStatus::Deleting),
            _ => Err(UnknownName),
        }
    }
}

/// Whether a member may sign in and use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// The member may sign in.
    Active,
    /// A tenant admin has deactivated the member: sign-in, token refresh and API calls are refused.
    Deactivated,
}

impl MemberStatus {
    /// The status as stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(MemberStatus::Active),
            "deactivated" => Ok(MemberStatus::Deactivated),
            _ => Err(UnknownName),
        }
    }
}

/// The error of parsing a scope, role or plan name that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownName;

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown name")
    }
}

impl std::error::Error for UnknownName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maker_or_an_admin_may_change_a_members_work() {
        assert!(is_maker_or_admin(
            "bob",
            "bob",
            &[Scope::Read, Scope::Write]
        ));
        assert!(is_maker_or_admin(
            "bob",
            "alice",
            &[Scope::Write, Scope::Admin]
        ));
        assert!(!is_maker_or_admin(
            "bob",
            "erin",
            &[Scope::Read, Scope::Write]
        ));
        assert!(!is_maker_or_admin("bob", "erin", &[]));
    }

    #[test]
    fn only_the_basic_plan_is_limited_and_only_pro_exports() {
        assert_eq!(Plan::Basic.report_limit(), Some(10));
        assert_eq!(Plan::Pro.report_limit(), None);
        assert_eq!(Plan::Basic.storage_quota_bytes(), Some(100_000_000));
        assert_eq!(Plan::Pro.storage_quota_bytes(), None);
        assert!(!Plan::Basic.has_csv_export());
        assert!(Plan::Pro.has_csv_export());
    }

    #[test]
    fn roles_map_to_the_documented_scopes() {
        assert_eq!(Role::Viewer.scopes(), &[Scope::Read]);
        assert_eq!(Role::Member.scopes(), &[Scope::Read, Scope::Write]);
        assert_eq!(
            Role::Admin.scopes(),
            &[Scope::Read, Scope::Write, Scope::Admin]
        );
        assert!(!Role::Viewer.allows(Scope::Write));
        assert!(!Role::Member.allows(Scope::Admin));
    }

    #[test]
    fn qualified_scopes_round_trip_only_for_their_resource_server() {
        for scope in Scope::ALL {
            let wire = scope.qualified("saas-api");
            assert_eq!(Scope::from_qualified(&wire, "saas-api"), Some(scope));
            assert_eq!(Scope::from_qualified(&wire, "other-api"), None);
        }
        assert_eq!(Scope::from_qualified("saas-apiread", "saas-api"), None);
        assert_eq!(Scope::from_qualified("saas-api/", "saas-api"), None);
        assert_eq!(Scope::from_qualified("saas-api/root", "saas-api"), None);
        assert_eq!(Scope::from_qualified("openid", "saas-api"), None);
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for plan in [Plan::Basic, Plan::Pro] {
            assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
        }
        assert_eq!("Admin".parse::<Role>(), Err(UnknownName));
    }
}
