//! `/operator/api/v1/audit`: the platform audit log, newest first, a page at a time.

use axum::extract::State;
use shared::api::{OperatorMe, PlatformAuditEvent, PlatformAuditPage, TenantRef};

use super::OperatorScope;
use crate::api::paging::{PageQuery, decode_cursor, next_cursor, page_size, rfc3339};
use crate::auth::ScopedRouter;
use crate::db::{Keyset, platform};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

/// The audit route.
pub fn routes(state: AppState) -> ScopedRouter<OperatorScope> {
    ScopedRouter::new(state).get("/audit", OperatorScope::Operate, list)
}

/// `GET /operator/api/v1/audit?limit=&cursor=`.
async fn list(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<AppJson<PlatformAuditPage>, ApiError> {
    let limit = page_size(query.limit)?;
    let after = decode_cursor::<Keyset>(query.cursor.as_deref())?;
    let mut events = platform::events(&state.db, after, limit + 1).await?;
    let next_cursor = next_cursor(&mut events, limit, |event| Keyset {
        at: event.at,
        id: event.id,
    })?;
    let items = events
        .into_iter()
        .map(|event| {
            Ok(PlatformAuditEvent {
                id: event.id.to_string(),
                at: rfc3339(event.at)?,
                action: event.action,
                actor_kind: event.operator.kind.as_str().to_owned(),
                operator: OperatorMe {
                    id: event.operator.id,
                    email: Some(event.operator.email).filter(|email| !email.is_empty()),
                },
                tenant: event.tenant.map(|tenant| TenantRef {
                    id: tenant.id.to_string(),
                    slug: tenant.slug,
                    name: tenant.name,
                }),
                details: event.details,
                source_ip: event.source_ip.map(|ip| ip.to_string()),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(AppJson(PlatformAuditPage { items, next_cursor }))
}
