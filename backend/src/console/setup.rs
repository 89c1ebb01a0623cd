//! `/operator/api/v1/tenants/{id}/setup-links` and `…/domains`: operators hand a tenant's IT admin a set-up
//! link, follow its state, revoke it, and see (and remove) the tenant's email domains.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::api::{CreatedSetupLink, DomainList, NewSetupLink, SetupLink, SetupLinkList};
use uuid::Uuid;

use super::tenants::operator_ref;
use super::{Operator, OperatorScope};
use crate::api::PathId;
use crate::auth::ScopedRouter;
use crate::client_ip::ClientIp;
use crate::db::setup_links::Creator;
use crate::db::{self, TenantId};
use crate::error::{ApiError, AppJson};
use crate::sso::claims;
use crate::sso::links::{self, Actors};
use crate::state::AppState;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter<OperatorScope> {
    ScopedRouter::new(state)
        .get(
            "/tenants/{id}/setup-links",
            OperatorScope::Operate,
            list_links,
        )
        .post(
            "/tenants/{id}/setup-links",
            OperatorScope::Operate,
            create_link,
        )
        .post(
            "/tenants/{id}/setup-links/{link}/revoke",
            OperatorScope::Operate,
            revoke_link,
        )
        .get(
            "/tenants/{id}/domains",
            OperatorScope::Operate,
            list_domains,
        )
        .delete(
            "/tenants/{id}/domains/{domain}",
            OperatorScope::Operate,
            remove_domain,
        )
}

fn actors(operator: &Operator, source_ip: Option<std::net::IpAddr>) -> Actors {
    Actors {
        platform: operator_ref(operator),
        tenant: None,
        source_ip,
    }
}

/// The tenant `id`, or 404 (a tenant transaction of an unknown id sees no tenant row).
async fn tenant_tx(state: &AppState, id: TenantId) -> Result<db::TenantTx, ApiError> {
    let mut tx = db::tenant_tx(&state.db, id).await?;
    db::tenants::current(&mut tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(tx)
}

/// `GET /operator/api/v1/tenants/{id}/setup-links`: newest first.
async fn list_links(
    State(state): State<AppState>,
    PathId(id): PathId<TenantId>,
) -> Result<AppJson<SetupLinkList>, ApiError> {
    let mut tx = tenant_tx(&state, id).await?;
    let items = links::list(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(SetupLinkList { items }))
}

/// `POST /operator/api/v1/tenants/{id}/setup-links`: a new link (the tenant's open one is revoked); its URL
/// is in this answer only.
async fn create_link(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<TenantId>,
    AppJson(body): AppJson<NewSetupLink>,
) -> Result<(StatusCode, AppJson<CreatedSetupLink>), ApiError> {
    let validity = links::validity(body.valid_days, state.config.sso.setup_link_validity)?;
    let creator = Creator {
        kind: "operator",
        id: operator.subject.clone(),
        email: operator.email.clone().unwrap_or_default(),
    };
    let mut tx = tenant_tx(&state, id).await?;
    let created = links::create(
        &mut tx,
        &state.config.public_url,
        validity,
        &creator,
        &actors(&operator, source_ip),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %id, operator = %operator.subject, "set-up link created");
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// `POST /operator/api/v1/tenants/{id}/setup-links/{link}/revoke`.
async fn revoke_link(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    Path((id, link)): Path<(String, String)>,
) -> Result<AppJson<SetupLink>, ApiError> {
    let (Ok(id), Ok(link)) = (Uuid::parse_str(&id), Uuid::parse_str(&link)) else {
        return Err(ApiError::NotFound);
    };
    let mut tx = tenant_tx(&state, TenantId(id)).await?;
    let link = links::revoke(&mut tx, link, &actors(&operator, source_ip)).await?;
    tx.commit().await?;
    Ok(AppJson(link))
}

/// `GET /operator/api/v1/tenants/{id}/domains`.
async fn list_domains(
    State(state): State<AppState>,
    PathId(id): PathId<TenantId>,
) -> Result<AppJson<DomainList>, ApiError> {
    tenant_tx(&state, id).await?.commit().await?;
    let items = claims::list(&state, id).await?;
    Ok(AppJson(DomainList { items }))
}

/// `DELETE /operator/api/v1/tenants/{id}/domains/{domain}`: frees a domain the tenant no longer owns (a
/// lapsed one, say), so that its new owner can prove it.
async fn remove_domain(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    Path((id, domain)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let domain = claims::path_domain(&domain)?;
    claims::remove(
        &state,
        TenantId(id),
        &domain,
        &actors(&operator, source_ip),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
