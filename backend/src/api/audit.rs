//! `GET /api/v1/audit`: the tenant's audit log for its admins, newest first, filterable by action, actor and
//! time, and paged by an opaque cursor.

use axum::extract::State;
use serde::Deserialize;
use shared::ErrorBody;
use shared::Scope;
use shared::api::{AuditAction, AuditActor, AuditEvent, AuditPage, AuditTarget};
use uuid::Uuid;

use super::paging::{self, parse_rfc3339, rfc3339};
use crate::auth::{Principal, ScopedRouter};
use crate::db::audit::{Event, Filter};
use crate::db::{self, Keyset, MemberId};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

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

/// One page of the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(("action" = Option<AuditAction>, Query, description = "Only this action."), ("actor" = Option<String>, Query, description = "Only this member id."), ("since" = Option<String>, Query, description = "At or after this RFC 3339 time."), ("until" = Option<String>, Query, description = "Before this RFC 3339 time."), ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)."), ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page.")),
    responses(
        (status = 200, description = "One page of the audit log, newest first.", body = AuditPage),
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
    let before = paging::decode_cursor::<Keyset>(query.cursor.as_deref())?;
    Ok(Filter {
        action,
        actor,
        since,
        until,
        before,
    })
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
