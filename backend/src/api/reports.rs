//! `/api/v1/reports`: the tenant's reports (list, create, read, edit, delete).
//!
//! Every query runs in the caller's tenant transaction and filters on the caller's tenant as well. A report
//! of another tenant, an id that names nothing and an id that is not a uuid all answer the same 404, so the
//! API reveals nothing about other tenants. Editing is for the author and admins; deleting for admins; the
//! `basic` plan holds a limited number of reports, counted under a lock on the tenant row so that concurrent
//! creations cannot exceed it.

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use shared::api::{NewReport, Report, ReportAuthor, ReportPage, ReportPatch};
use shared::{Plan, Scope};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Principal, ScopedRouter};
use crate::db;
use crate::error::{ApiError, AppJson, AppQuery};

/// The most reports a tenant on the `basic` plan may hold.
pub const BASIC_PLAN_REPORT_LIMIT: i64 = 10;
/// The longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// The longest body, in characters.
pub const BODY_MAX_CHARS: usize = 20_000;
/// The page size when `?limit` is absent.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// The largest page size `?limit` may ask for.
pub const MAX_PAGE_SIZE: i64 = 100;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .route("/reports", Scope::Read, get(list))
        .route("/reports", Scope::Write, axum::routing::post(create))
        .route("/reports/{id}", Scope::Read, get(read))
        .route("/reports/{id}", Scope::Write, axum::routing::patch(edit))
        .route("/reports/{id}", Scope::Admin, axum::routing::delete(remove))
}

/// The query string of `GET /api/v1/reports`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// One page of the tenant's reports, newest first.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<AppJson<ReportPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::unprocessable(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE}."
        )));
    }
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| {
            decode_cursor(cursor)
                .ok_or_else(|| ApiError::unprocessable("cursor is not a cursor this API issued."))
        })
        .transpose()?;
    // The range check above makes the conversion exact.
    let page_size = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    // One more than asked tells whether another page follows.
    let mut reports = db::reports::list(&mut tx, principal.tenant_id, after, limit + 1).await?;
    tx.commit().await?;
    let next_cursor = if reports.len() > page_size {
        reports.truncate(page_size);
        reports.last().map(encode_cursor)
    } else {
        None
    };
    let items = reports.into_iter().map(to_wire).collect::<Result<_, _>>()?;
    Ok(AppJson(ReportPage { items, next_cursor }))
}

/// Creates a report written by the caller: 201 with its `Location`.
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(new): AppJson<NewReport>,
) -> Result<Response, ApiError> {
    let title = validate_title(&new.title)?;
    validate_body(&new.body)?;
    let tenant = principal.tenant_id;
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    let plan = db::reports::lock_tenant_plan(&mut tx, tenant)
        .await?
        .ok_or(ApiError::MemberInactive)?;
    if let Some(limit) = report_limit(plan)
        && db::reports::count(&mut tx, tenant).await? >= limit
    {
        return Err(ApiError::PlanLimitReached);
    }
    let report =
        db::reports::create(&mut tx, tenant, principal.member_id, title, &new.body).await?;
    tx.commit().await?;
    let location = HeaderValue::try_from(format!("/api/v1/reports/{}", report.id))
        .map_err(ApiError::internal)?;
    let body = to_wire(report)?;
    Ok((StatusCode::CREATED, [(LOCATION, location)], AppJson(body)).into_response())
}

/// One report of the caller's tenant.
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<Report>, ApiError> {
    let id = parse_id(&id)?;
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let report = db::reports::get(&mut tx, principal.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(AppJson(to_wire(report)?))
}

/// Changes the given fields of a report; only its author or an admin may.
async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    AppJson(patch): AppJson<ReportPatch>,
) -> Result<AppJson<Report>, ApiError> {
    let id = parse_id(&id)?;
    let title = patch.title.as_deref().map(validate_title).transpose()?;
    if let Some(body) = &patch.body {
        validate_body(body)?;
    }
    let tenant = principal.tenant_id;
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    // The existence check comes before the permission check, so that a report the caller may not edit and a
    // report that does not exist stay distinguishable only within the caller's own tenant.
    let current = db::reports::lock(&mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if current.author_id != principal.member_id && !principal.has_scope(Scope::Admin) {
        return Err(ApiError::NotPermitted);
    }
    let updated = db::reports::update(&mut tx, tenant, id, title, patch.body.as_deref())
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(AppJson(to_wire(updated)?))
}

/// Deletes a report (the route requires the admin scope): 204.
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let deleted = db::reports::delete(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The most reports a tenant on `plan` may hold; `None` for no limit.
pub fn report_limit(plan: Plan) -> Option<i64> {
    match plan {
        Plan::Basic => Some(BASIC_PLAN_REPORT_LIMIT),
        Plan::Pro => None,
    }
}

/// A report id from the path. A malformed id answers the same 404 as an unknown one.
fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound)
}

/// The title without surrounding whitespace, if it has 1 to [`TITLE_MAX_CHARS`] characters.
fn validate_title(title: &str) -> Result<&str, ApiError> {
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 || chars > TITLE_MAX_CHARS {
        return Err(ApiError::unprocessable(format!(
            "title must be between 1 and {TITLE_MAX_CHARS} characters (not counting surrounding spaces)."
        )));
    }
    Ok(title)
}

/// `Ok` if the body has at most [`BODY_MAX_CHARS`] characters.
fn validate_body(body: &str) -> Result<(), ApiError> {
    if body.chars().count() > BODY_MAX_CHARS {
        return Err(ApiError::unprocessable(format!(
            "body must be at most {BODY_MAX_CHARS} characters."
        )));
    }
    Ok(())
}

/// The wire form of a report.
fn to_wire(report: db::reports::Report) -> Result<Report, ApiError> {
    Ok(Report {
        id: report.id.to_string(),
        title: report.title,
        body: report.body,
        author: ReportAuthor {
            id: report.author_id.to_string(),
            name: report.author_name,
        },
        created_at: rfc3339(report.created_at)?,
        updated_at: rfc3339(report.updated_at)?,
    })
}

/// A timestamp as RFC 3339 text, the wire form of every time in the API.
fn rfc3339(at: OffsetDateTime) -> Result<String, ApiError> {
    at.format(&Rfc3339).map_err(ApiError::internal)
}

/// The cursor after `report`: its creation time in microseconds (the database's precision) and its id,
/// base64url-encoded so that clients treat it as opaque.
fn encode_cursor(report: &db::reports::Report) -> String {
    let micros = report.created_at.unix_timestamp_nanos() / 1_000;
    URL_SAFE_NO_PAD.encode(format!("{micros}:{}", report.id))
}

/// The position a cursor from [`encode_cursor`] names; `None` for anything else.
fn decode_cursor(cursor: &str) -> Option<db::reports::ListPosition> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (micros, id) = text.split_once(':')?;
    let micros: i128 = micros.parse().ok()?;
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1_000)?).ok()?;
    Some(db::reports::ListPosition {
        created_at,
        id: Uuid::parse_str(id).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{MemberId, TenantId};

    fn report_at(created_at: OffsetDateTime) -> db::reports::Report {
        db::reports::Report {
            id: Uuid::new_v4(),
            tenant_id: TenantId(Uuid::new_v4()),
            author_id: MemberId(Uuid::new_v4()),
            author_name: "A".into(),
            title: "t".into(),
            body: String::new(),
            created_at,
            updated_at: created_at,
        }
    }

    #[test]
    fn a_cursor_round_trips_to_the_reports_position() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_750_000_000_123_456_000).unwrap();
        let report = report_at(at);
        let position = decode_cursor(&encode_cursor(&report)).unwrap();
        assert_eq!((position.created_at, position.id), (at, report.id));
    }

    #[test]
    fn anything_but_an_issued_cursor_is_refused() {
        for cursor in ["", "not base64!", "MTIz", "YWJjOmRlZg"] {
            assert_eq!(decode_cursor(cursor), None, "{cursor}");
        }
    }

    #[test]
    fn titles_are_trimmed_and_bounded_and_bodies_bounded() {
        assert_eq!(validate_title("  Q3 numbers ").unwrap(), "Q3 numbers");
        assert!(validate_title("   ").is_err());
        assert!(validate_title(&"é".repeat(TITLE_MAX_CHARS)).is_ok());
        assert!(validate_title(&"é".repeat(TITLE_MAX_CHARS + 1)).is_err());
        assert!(validate_body(&"x".repeat(BODY_MAX_CHARS)).is_ok());
        assert!(validate_body(&"x".repeat(BODY_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn only_the_basic_plan_is_limited() {
        assert_eq!(report_limit(Plan::Basic), Some(BASIC_PLAN_REPORT_LIMIT));
        assert_eq!(report_limit(Plan::Pro), None);
    }
}
