//! `/operator/api/v1/tenants`: the tenants as operators see and run them: list (with search), one tenant,
//! create (its first admin invited), plan change, suspend and resume. Every change is written to the platform
//! audit log in the transaction that makes it.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::api::{NewTenant, PlanChange, PlatformAuditAction, TenantList, TenantSummary};
use shared::{Role, TenantStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Operator, OperatorScope};
use crate::api::PathId;
use crate::api::invitations::{INVITATION_VALIDITY, normalise_email};
use crate::api::paging::rfc3339;
use crate::auth::ScopedRouter;
use crate::client_ip::ClientIp;
use crate::db::platform::{self, NewPlatformEvent, OperatorRef, TenantRef};
use crate::db::{self, TenantId};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

/// The longest tenant name accepted, in characters.
pub const MAX_TENANT_NAME_CHARS: usize = 100;
/// The longest search accepted, in characters.
const MAX_SEARCH_CHARS: usize = 100;

/// The tenant routes.
pub fn routes(state: AppState) -> ScopedRouter<OperatorScope> {
    ScopedRouter::new(state)
        .get("/tenants", OperatorScope::Operate, list)
        .post("/tenants", OperatorScope::Operate, create)
        .get("/tenants/{id}", OperatorScope::Operate, get_one)
        .put("/tenants/{id}/plan", OperatorScope::Operate, change_plan)
        .post("/tenants/{id}/suspend", OperatorScope::Operate, suspend)
        .post("/tenants/{id}/resume", OperatorScope::Operate, resume)
}

/// Query of `GET /tenants`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Part of a name or slug, any case.
    pub q: Option<String>,
}

/// `GET /operator/api/v1/tenants?q=`: every tenant whose name or slug contains `q`, by name.
async fn list(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<AppJson<TenantList>, ApiError> {
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::unprocessable(format!(
            "q: at most {MAX_SEARCH_CHARS} characters."
        )));
    }
    let items = platform::tenant_summaries(&state.db, search)
        .await?
        .into_iter()
        .map(to_wire)
        .collect::<Result<_, _>>()?;
    Ok(AppJson(TenantList { items }))
}

/// `GET /operator/api/v1/tenants/{id}`.
async fn get_one(
    State(state): State<AppState>,
    PathId(id): PathId<TenantId>,
) -> Result<AppJson<TenantSummary>, ApiError> {
    summary(&state, id).await.map(AppJson)
}

/// `POST /operator/api/v1/tenants`: creates the tenant and invites its first admin (as admin, for
/// [`INVITATION_VALIDITY`]), in one transaction with its audit entry. 409 when the slug is taken.
async fn create(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    AppJson(new): AppJson<NewTenant>,
) -> Result<(StatusCode, AppJson<TenantSummary>), ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_TENANT_NAME_CHARS {
        return Err(ApiError::unprocessable(format!(
            "name: 1 to {MAX_TENANT_NAME_CHARS} characters."
        )));
    }
    let slug = new.slug.trim();
    if !is_slug(slug) {
        return Err(ApiError::unprocessable(
            "slug: a lower-case letter, then 1 to 62 lower-case letters, digits or hyphens.",
        ));
    }
    let admin_email = normalise_email(&new.admin_email)
        .ok_or_else(|| ApiError::unprocessable("admin_email: not a valid email address."))?;

    let id = TenantId(Uuid::new_v4());
    let mut tx = db::tenant_tx(&state.db, id).await?;
    if !platform::create_tenant(&mut tx, slug, name, new.plan).await? {
        return Err(ApiError::Conflict(format!(
            "The slug {slug} belongs to another tenant."
        )));
    }
    let expires_at = OffsetDateTime::now_utc() + INVITATION_VALIDITY;
    db::invitations::create(&mut tx, &admin_email, Role::Admin, None, expires_at)
        .await?
        .ok_or_else(|| ApiError::internal("a new tenant already had an open invitation"))?;
    let event = NewPlatformEvent {
        action: PlatformAuditAction::TenantCreated,
        operator: operator_ref(&operator),
        tenant: Some(TenantRef {
            id,
            slug: slug.to_owned(),
            name: name.to_owned(),
        }),
        details: json!({ "plan": new.plan.as_str(), "admin_email": admin_email }),
        source_ip,
    };
    platform::record_event(tx.conn(), &event).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %id, slug, operator = %operator.subject, "tenant created");
    Ok((StatusCode::CREATED, AppJson(summary(&state, id).await?)))
}

/// `PUT /operator/api/v1/tenants/{id}/plan`: the new plan's limits apply from the tenant's next request on
/// (each request reads the plan). Changing to the plan it has is a no-op, not audited.
async fn change_plan(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<TenantId>,
    AppJson(change): AppJson<PlanChange>,
) -> Result<AppJson<TenantSummary>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, id).await?;
    let before = platform::set_plan(&mut tx, change.plan)
        .await?
        .ok_or(ApiError::NotFound)?;
    if before != change.plan {
        let tenant = audited_tenant(&mut tx).await?;
        let event = NewPlatformEvent {
            action: PlatformAuditAction::TenantPlanChanged,
            operator: operator_ref(&operator),
            tenant: Some(tenant),
            details: json!({ "from": before.as_str(), "to": change.plan.as_str() }),
            source_ip,
        };
        platform::record_event(tx.conn(), &event).await?;
        tracing::info!(tenant_id = %id, from = before.as_str(), to = change.plan.as_str(), "tenant plan changed");
    }
    tx.commit().await?;
    summary(&state, id).await.map(AppJson)
}

/// `POST /operator/api/v1/tenants/{id}/suspend`: takes effect at once. Every sign-in of the tenant so far is
/// cut off (its tokens are refused by the live check of every request, on every instance), its browser
/// sessions are deleted, and until it is resumed its members cannot sign in (the trigger refuses with
/// `tenant_suspended`, which the sign-in page explains) nor get upload credentials. Suspending a suspended
/// tenant is a no-op.
async fn suspend(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<TenantId>,
) -> Result<AppJson<TenantSummary>, ApiError> {
    set_status(&state, &operator, source_ip, id, TenantStatus::Suspended).await
}

/// `POST /operator/api/v1/tenants/{id}/resume`: its members can sign in again (sign-ins from before the
/// suspension stay ended). Resuming an active tenant is a no-op.
async fn resume(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<TenantId>,
) -> Result<AppJson<TenantSummary>, ApiError> {
    set_status(&state, &operator, source_ip, id, TenantStatus::Active).await
}

async fn set_status(
    state: &AppState,
    operator: &Operator,
    source_ip: Option<std::net::IpAddr>,
    id: TenantId,
    status: TenantStatus,
) -> Result<AppJson<TenantSummary>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, id).await?;
    let before = platform::set_status(&mut tx, status)
        .await?
        .ok_or(ApiError::NotFound)?;
    if before == TenantStatus::Deleting {
        return Err(ApiError::Conflict(
            "This tenant is being deleted; run the deletion again to finish it.".into(),
        ));
    }
    let mut ended_sessions = Vec::new();
    if before != status {
        if status == TenantStatus::Suspended {
            ended_sessions = db::sessions::end_all(&mut tx).await?;
        }
        let action = match status {
            TenantStatus::Active => PlatformAuditAction::TenantResumed,
            TenantStatus::Suspended | TenantStatus::Deleting => {
                PlatformAuditAction::TenantSuspended
            }
        };
        let tenant = audited_tenant(&mut tx).await?;
        let event = NewPlatformEvent {
            action,
            operator: operator_ref(operator),
            tenant: Some(tenant),
            details: json!({ "sessions_ended": ended_sessions.len() }),
            source_ip,
        };
        platform::record_event(tx.conn(), &event).await?;
    }
    tx.commit().await?;
    // Committed: this instance stops using its copies of the ended sessions at once (other instances within
    // their cache's minute, and the cut-off refuses them meanwhile).
    state.sessions.forget(&ended_sessions);
    if before != status {
        tracing::info!(tenant_id = %id, status = status.as_str(), sessions_ended = ended_sessions.len(), "tenant status changed");
    }
    summary(state, id).await.map(AppJson)
}

/// The transaction's tenant as the audit log names it.
pub(crate) async fn audited_tenant(tx: &mut db::TenantTx) -> Result<TenantRef, ApiError> {
    let tenant = db::tenants::current(tx).await?.ok_or(ApiError::NotFound)?;
    Ok(TenantRef {
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
    })
}

/// The operator as the audit log names them.
pub(crate) fn operator_ref(operator: &Operator) -> OperatorRef {
    OperatorRef {
        kind: platform::ActorKind::Operator,
        id: operator.subject.clone(),
        email: operator.email.clone().unwrap_or_default(),
    }
}

/// The tenant `id`'s summary, or 404.
async fn summary(state: &AppState, id: TenantId) -> Result<TenantSummary, ApiError> {
    platform::tenant_summary(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)
        .and_then(to_wire)
}

/// Whether `slug` is a tenant slug: what the `tenants_slug_format` constraint accepts.
fn is_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (2..=63).contains(&slug.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn to_wire(tenant: platform::TenantSummary) -> Result<TenantSummary, ApiError> {
    Ok(TenantSummary {
        id: tenant.id.to_string(),
        slug: tenant.slug,
        name: tenant.name,
        plan: tenant.plan,
        status: tenant.status,
        active_members: tenant.active_members,
        storage_bytes: tenant.storage_bytes,
        sign_in: shared::api::SignInSetup {
            identity_providers: tenant.identity_providers,
            verified_domains: tenant.verified_domains,
        },
        created_at: rfc3339(tenant.created_at)?,
        status_changed_at: tenant.status_changed_at.map(rfc3339).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_what_the_database_accepts() {
        for good in ["acme", "initech", "a1", "big-co-2"] {
            assert!(is_slug(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "1acme",
            "-acme",
            "Acme",
            "ac me",
            "acmé",
            &"a".repeat(64),
        ] {
            assert!(!is_slug(bad), "{bad}");
        }
    }
}
