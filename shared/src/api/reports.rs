//! `/api/v1/reports`: reports, new reports, patches and pages.

use serde::{Deserialize, Serialize};

use super::members::MemberRef;

/// A report (`GET /api/v1/reports/{id}` and the other report routes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// The report id.
    pub id: String,
    /// The title (1 to 200 characters).
    pub title: String,
    /// The body (at most 20 000 characters).
    pub body: String,
    /// The member who wrote the report.
    pub author: MemberRef,
    /// When the report was created (RFC 3339).
    pub created_at: String,
    /// When the report was last changed (RFC 3339).
    pub updated_at: String,
}

/// `POST /api/v1/reports`: a new report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewReport {
    /// The title (1 to 200 characters).
    pub title: String,
    /// The body (at most 20 000 characters).
    pub body: String,
}

/// `PATCH /api/v1/reports/{id}`: the fields to change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    fn reports_have_the_documented_wire_shape() {
        let page = ReportPage {
            items: vec![Report {
                id: "r1".into(),
                title: "Q3".into(),
                body: "Up.".into(),
                author: MemberRef {
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
