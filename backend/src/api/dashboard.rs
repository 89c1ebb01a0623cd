//! `GET /api/v1/dashboard`: what every member of the tenant sees first: counts, the plan and its limit, and
//! the latest report activity. One tenant transaction, so the numbers agree with each other.

use shared::Scope;
use shared::api::{Activity, ActivityKind, Dashboard};

use super::current_tenant;
use super::paging::rfc3339;
use crate::auth::{Principal, ScopedRouter};
use crate::db::{self, TenantTx};
use crate::error::{ApiError, AppJson};
use crate::state::AppState;

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
    )
)]
async fn dashboard(principal: Principal, mut tx: TenantTx) -> Result<AppJson<Dashboard>, ApiError> {
    let tenant = current_tenant(&mut tx).await?;
    let reports = db::reports::count(&mut tx).await?;
    let my_reports = db::reports::count_by_author(&mut tx, principal.member_id).await?;
    let active_members = db::members::count_active(&mut tx).await?;
    let storage_used_bytes = db::files::used_bytes(&mut tx).await?;
    let recent = db::reports::recently_changed(&mut tx, RECENT_ACTIVITY).await?;
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
        plan: tenant.plan,
        reports,
        my_reports,
        report_limit: tenant.plan.report_limit(),
        active_members,
        csv_export: tenant.plan.has_csv_export(),
        storage_used_bytes,
        storage_quota_bytes: tenant.plan.storage_quota_bytes(),
        recent_activity,
    }))
}
