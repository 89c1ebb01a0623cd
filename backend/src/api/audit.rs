//! `GET /api/v1/audit`: the tenant's audit log for its admins, newest first, filterable by action, actor and
//! time, and paged by an opaque cursor.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::ErrorBody;
use shared::Scope;
use shared::api::{AuditAction, AuditActor, AuditEvent, AuditPage, AuditTarget};
use time::OffsetDateTime;
use uuid::Uuid;

use super::paging::{self, parse_rfc3339, rfc3339};
use crate::app::AppState;
use crate::auth::{Principal, ScopedRouter};
use crate::db::audit::{Event, Filter};
use crate::db::{self, MemberId};
use crate::error::{ApiError, AppJson, AppQuery};

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state).get("/audit", Scope::Admin, list)
}

/// The query string of `GET /api/v1/audit`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    action: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The keyset position of the log: the time in microseconds (the database's precision) and the id.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    at_us: i64,
    id: Uuid,
}

/// One page of the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(("action" = Option<AuditAction>, Query, description = "Only this action."), ("actor" = Option<String>, Query, description = "Only this member id."), ("since" = Option<String>, Query, description = "At or after this RFC 3339 time."), ("until" = Option<String>, Query, description = "Before this RFC 3339 time."), ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)."), ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page.")),
    responses(
        (status = 200, description = "One page of the audit log, newest first.", body = AuditPage),
        (status = 401, description = "No valid session or bearer token (`unauthenticated`).", body = ErrorBody),
        (status = 403, description = "The scope is missing (`insufficient_scope`) or the member is deactivated (`member_inactive`).", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<AppJson<AuditPage>, ApiError> {
    let limit = paging::page_size(query.limit)?;
    let filter = filter(&query)?;
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let mut events = db::audit::list(&mut tx, principal.tenant_id, &filter, limit + 1).await?;
    tx.commit().await?;
    let next_cursor = paging::next_cursor(&mut events, limit, |event| Position {
        at_us: micros(event.at),
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
    let before = paging::decode_cursor::<Position>(query.cursor.as_deref())?
        .map(|position| {
            let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(position.at_us) * 1_000)
                .map_err(|_| ApiError::unprocessable("cursor is not a cursor this API issued."))?;
            Ok::<_, ApiError>((at, position.id))
        })
        .transpose()?;
    Ok(Filter {
        action,
        actor,
        since,
        until,
        before,
    })
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
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
