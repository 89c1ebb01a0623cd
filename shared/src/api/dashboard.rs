//! `GET /api/v1/dashboard`: counts, plan limits and recent report activity.

use serde::{Deserialize, Serialize};

use crate::scope::Plan;

/// `GET /api/v1/dashboard`: what every member of the tenant sees first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    /// The tenant's plan.
    pub plan: Plan,
    /// How many reports the tenant holds.
    pub reports: i64,
    /// How many of them the caller wrote.
    pub my_reports: i64,
    /// The most reports the plan allows; absent when unlimited.
    pub report_limit: Option<i64>,
    /// How many members are active.
    pub active_members: i64,
    /// Whether the plan includes CSV export of reports.
    pub csv_export: bool,
    /// Bytes the tenant's recorded files use.
    pub storage_used_bytes: i64,
    /// The plan's storage quota in bytes; absent when unlimited.
    pub storage_quota_bytes: Option<i64>,
    /// The latest report activity, newest first (at most 10 entries).
    pub recent_activity: Vec<Activity>,
}

/// One entry of [`Dashboard::recent_activity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// What happened.
    pub kind: ActivityKind,
    /// The report concerned.
    pub report_id: String,
    /// Its title.
    pub report_title: String,
    /// The display name of the member who wrote the report.
    pub author_name: String,
    /// When it happened (RFC 3339).
    pub at: String,
}

/// What an [`Activity`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A report was written.
    ReportCreated,
    /// A report was edited.
    ReportEdited,
}
