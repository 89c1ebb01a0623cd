//! `GET /api/v1/dashboard`: what every member of the tenant sees first: counts, the plan and its limit, and
//! the latest report activity. One tenant transaction, so the numbers agree with each other.

use axum::extract::State;
use shared::ErrorBody;
use shared::api::{Activity, ActivityKind, Dashboard};
use shared::{Plan, Scope};

use super::paging::rfc3339;
use super::reports::report_limit;
use crate::app::AppState;
use crate::auth::{Principal, ScopedRouter};
use crate::db;
use crate::error::{ApiError, AppJson};

/// How many entries of recent activity the dashboard shows.
pub const RECENT_ACTIVITY: i64 = 10;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state).get("/dashboard", Scope::Read, dashboard)
}

/// The caller's tenant at a glance.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard",
    tag = "dashboard",
    responses(
        (status = 200, description = "The tenant at a glance.", body = Dashboard),
        (status = 401, description = "No valid session or bearer token (`unauthenticated`).", body = ErrorBody),
        (status = 403, description = "The scope is missing (`insufficient_scope`) or the member is deactivated (`member_inactive`).", body = ErrorBody),
    )
)]
async fn dashboard(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<Dashboard>, ApiError> {
    let tenant = principal.tenant_id;
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    let found = db::tenants::get(&mut tx, tenant)
        .await?
        .ok_or(ApiError::MemberInactive)?;
    let reports = db::reports::count(&mut tx, tenant).await?;
    let my_reports = db::reports::count_by_author(&mut tx, tenant, principal.member_id).await?;
    let active_members = db::members::count_active(&mut tx, tenant).await?;
    let recent = db::reports::recently_changed(&mut tx, tenant, RECENT_ACTIVITY).await?;
    tx.commit().await?;
    let recent_activity = recent
        .into_iter()
        .map(|report| {
            let kind = if report.updated_at > report.created_at {
                ActivityKind::ReportEdited
            } else {
                ActivityKind::ReportCreated
            };
            Ok(Activity {
                kind,
                report_id: report.id.to_string(),
                report_title: report.title,
                author_name: report.author_name,
                at: rfc3339(report.updated_at)?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(AppJson(Dashboard {
        plan: found.plan,
        reports,
        my_reports,
        report_limit: report_limit(found.plan),
        active_members,
        csv_export: has_csv_export(found.plan),
        recent_activity,
    }))
}

/// Whether `plan` includes CSV export of reports.
pub fn has_csv_export(plan: Plan) -> bool {
    match plan {
        Plan::Basic => false,
        Plan::Pro => true,
    }
}
