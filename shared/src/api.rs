//! Request and response bodies of the JSON API (`/api/v1/...`).

use serde::{Deserialize, Serialize};

use crate::scope::{Plan, Role, Scope};

/// `GET /api/v1/me`: who the caller is, in which tenant, with which role and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ReportAuthor {
    /// The author's member id.
    pub id: String,
    /// The author's display name.
    pub name: String,
}

/// `POST /api/v1/reports`: a new report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReport {
    /// The title (1 to 200 characters).
    pub title: String,
    /// The body (at most 20 000 characters).
    pub body: String,
}

/// `PATCH /api/v1/reports/{id}`: the fields to change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ReportPage {
    /// The reports of this page.
    pub items: Vec<Report>,
    /// The opaque cursor of the next page (`?cursor=`), absent on the last page.
    pub next_cursor: Option<String>,
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
