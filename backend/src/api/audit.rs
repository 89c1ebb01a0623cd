//! `GET /api/v1/audit`: the tenant's audit log for its admins, newest first, filterable by action, actor,
//! target and time, and paged by an opaque cursor; `GET /api/v1/audit/export` the same events as one CSV or
//! JSON file. Events are kept as long as the organisation exists: the application can only append to the log.

use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use shared::ErrorBody;
use shared::Scope;
use shared::api::{AuditAction, AuditActor, AuditEvent, AuditPage, AuditTarget};
use uuid::Uuid;

use super::paging::{self, parse_rfc3339, rfc3339};
use super::reports::spreadsheet_safe;
use crate::auth::ScopedRouter;
use crate::db::audit::{Event, Filter};
use crate::db::{self, Keyset, MemberId, TenantTx};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/audit", Scope::Admin, list)
        .get("/audit/export", Scope::Admin, export)
}

/// The most events one export holds (the newest that match): narrow the filters for older ones.
pub const MAX_EXPORTED_EVENTS: i64 = 10_000;

/// The query string of `GET /api/v1/audit`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    format: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// One page of the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(("action" = Option<AuditAction>, Query, description = "Only this action."), ("actor" = Option<String>, Query, description = "Only this member id."), ("target" = Option<String>, Query, description = "Only events whose target (an email, a title, a file name) contains this text, in any case."), ("since" = Option<String>, Query, description = "At or after this RFC 3339 time."), ("until" = Option<String>, Query, description = "Before this RFC 3339 time."), ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)."), ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page.")),
    responses(
        (status = 200, description = "One page of the audit log, newest first.", body = AuditPage),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn list(
    mut tx: TenantTx,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<AppJson<AuditPage>, ApiError> {
    let limit = paging::page_size(query.limit)?;
    let filter = filter(&query)?;
    let mut events = db::audit::list(&mut tx, &filter, limit + 1).await?;
    tx.commit().await?;
    let next_cursor = paging::next_cursor(&mut events, limit, |event| Keyset {
        at: event.at,
        id: event.id,
    })?;
    let items = events.into_iter().map(to_wire).collect::<Result<_, _>>()?;
    Ok(AppJson(AuditPage { items, next_cursor }))
}

/// The checked filter, or 422 naming the parameter.
fn filter(query: &ListQuery) -> Result<Filter, ApiError> {
    let action = query
        .action
        .as_deref()
        .map(|name| {
            AuditAction::parse(name).ok_or_else(|| {
                let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                ApiError::unprocessable(format!("action must be one of {}.", known.join(", ")))
            })
        })
        .transpose()?;
    let actor = query
        .actor
        .as_deref()
        .map(|id| {
            Uuid::parse_str(id)
                .map(MemberId)
                .map_err(|_| ApiError::unprocessable("actor must be a member id."))
        })
        .transpose()?;
    let since = query
        .since
        .as_deref()
        .map(|value| parse_rfc3339("since", value))
        .transpose()?;
    let until = query
        .until
        .as_deref()
        .map(|value| parse_rfc3339("until", value))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(ApiError::unprocessable("since must not be after until."));
    }
    let target = query
        .target
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            if text.chars().count() > 200 {
                Err(ApiError::unprocessable(
                    "target: search for at most 200 characters.",
                ))
            } else {
                Ok(text.to_owned())
            }
        })
        .transpose()?;
    let before = paging::decode_cursor::<Keyset>(query.cursor.as_deref())?;
    Ok(Filter {
        action,
        actor,
        target,
        since,
        until,
        before,
    })
}

/// The events that pass the filters, newest first (at most [`MAX_EXPORTED_EVENTS`]), as a CSV file
/// (`format=csv`, the default) or a JSON array (`format=json`), for the organisation's own records.
#[utoipa::path(
    get,
    path = "/api/v1/audit/export",
    tag = "audit",
    params(("format" = Option<String>, Query, description = "`csv` (default) or `json`."), ("action" = Option<AuditAction>, Query, description = "Only this action."), ("actor" = Option<String>, Query, description = "Only this member id."), ("target" = Option<String>, Query, description = "Only events whose target contains this text."), ("since" = Option<String>, Query, description = "At or after this RFC 3339 time."), ("until" = Option<String>, Query, description = "Before this RFC 3339 time.")),
    responses(
        (status = 200, description = "The events as an attachment: CSV with a header row, or a JSON array of audit events."),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn export(
    mut tx: TenantTx,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let json = match query.format.as_deref() {
        None | Some("csv") => false,
        Some("json") => true,
        Some(_) => return Err(ApiError::unprocessable("format must be one of csv, json.")),
    };
    if query.cursor.is_some() || query.limit.is_some() {
        return Err(ApiError::unprocessable(
            "An export is not paged: leave out cursor and limit.",
        ));
    }
    let filter = filter(&query)?;
    let tenant = super::current_tenant(&mut tx).await?;
    let events = db::audit::list(&mut tx, &filter, MAX_EXPORTED_EVENTS).await?;
    tx.commit().await?;
    let events = events
        .into_iter()
        .map(to_wire)
        .collect::<Result<Vec<_>, _>>()?;
    let date = time::OffsetDateTime::now_utc().date();
    let (content_type, extension, body) = if json {
        let body = serde_json::to_vec_pretty(&events).map_err(ApiError::internal)?;
        ("application/json", "json", body)
    } else {
        ("text/csv; charset=utf-8", "csv", events_csv(&events)?)
    };
    // The slug matches `^[a-z][a-z0-9-]*$` (a table constraint), so it needs no quoting in the header.
    let disposition = HeaderValue::try_from(format!(
        "attachment; filename=\"audit-{}-{date}.{extension}\"",
        tenant.slug
    ))
    .map_err(ApiError::internal)?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Audit events as CSV: one row each, every text cell made safe for spreadsheets.
fn events_csv(events: &[AuditEvent]) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    writer
        .write_record([
            "id",
            "at",
            "action",
            "actor_id",
            "actor_name",
            "actor_email",
            "target_kind",
            "target_id",
            "target_label",
            "source_ip",
            "details",
        ])
        .map_err(ApiError::internal)?;
    for event in events {
        let actor = event.actor.as_ref();
        let target = event.target.as_ref();
        let details = event.details.to_string();
        writer
            .write_record([
                event.id.as_str(),
                event.at.as_str(),
                event.action.as_str(),
                actor.map_or("", |actor| actor.id.as_str()),
                &spreadsheet_safe(actor.map_or("", |actor| actor.name.as_str())),
                &spreadsheet_safe(actor.map_or("", |actor| actor.email.as_str())),
                target.map_or("", |target| target.kind.as_str()),
                &spreadsheet_safe(target.map_or("", |target| target.id.as_str())),
                &spreadsheet_safe(target.map_or("", |target| target.label.as_str())),
                event.source_ip.as_deref().unwrap_or_default(),
                &spreadsheet_safe(&details),
            ])
            .map_err(ApiError::internal)?;
    }
    writer.into_inner().map_err(ApiError::internal)
}

/// The wire form of an event.
fn to_wire(event: Event) -> Result<AuditEvent, ApiError> {
    Ok(AuditEvent {
        id: event.id.to_string(),
        at: rfc3339(event.at)?,
        action: event.action,
        actor: event.actor.map(|actor| AuditActor {
            id: actor.id.to_string(),
            name: actor.name,
            email: actor.email,
        }),
        target: event
            .target
            .map(|(kind, id, label)| AuditTarget { kind, id, label }),
        details: event.details,
        source_ip: event.source_ip.map(|ip| ip.to_string()),
    })
}
