//! `GET /api/v1/me`: the signed-in member, their tenant, role and scopes.

use serde::{Deserialize, Serialize};

use crate::scope::{Plan, Role, Scope};

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
}
