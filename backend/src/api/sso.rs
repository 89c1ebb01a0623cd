//! `/api/v1/tenant/sso`: the SSO part of a tenant admin's sign-in settings: set-up links for the
//! organisation's IT admin, and the email domains the organisation claims and proves by DNS.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::api::{
    AuditAction, CreatedSetupLink, Domain, DomainList, DomainVerification, NewDomain, NewSetupLink,
    PlatformAuditAction, SecretRotation, SetupLink, SetupLinkList, SetupProvider,
};
use shared::{ErrorBody, Scope};

use super::PathId;
use crate::auth::{Principal, ScopedRouter};
use crate::client_ip::ClientIp;
use crate::db::platform::{ActorKind, OperatorRef};
use crate::db::setup_links::Creator;
use crate::db::{self};
use crate::error::{ApiError, AppJson};
use crate::sso::claims;
use crate::sso::links::{self, Actors};
use crate::state::AppState;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/tenant/sso/setup-links", Scope::Admin, list_links)
        .post("/tenant/sso/setup-links", Scope::Admin, create_link)
        .post(
            "/tenant/sso/setup-links/{id}/revoke",
            Scope::Admin,
            revoke_link,
        )
        .get("/tenant/sso/domains", Scope::Admin, list_domains)
        .post("/tenant/sso/domains", Scope::Admin, add_domain)
        .post(
            "/tenant/sso/domains/{domain}/verify",
            Scope::Admin,
            verify_domain,
        )
        .delete("/tenant/sso/domains/{domain}", Scope::Admin, remove_domain)
        .get("/tenant/sso/provider", Scope::Admin, provider)
        .post("/tenant/sso/provider/secret", Scope::Admin, rotate_secret)
}

fn actors(principal: &Principal, source_ip: Option<std::net::IpAddr>) -> Actors {
    Actors {
        platform: OperatorRef {
            kind: ActorKind::TenantAdmin,
            id: principal.member_id.to_string(),
            email: principal.email.clone(),
        },
        tenant: Some(principal.audit_actor()),
        source_ip,
    }
}

/// The tenant's set-up links, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tenant/sso/setup-links",
    tag = "settings",
    responses((status = 200, description = "The set-up links.", body = SetupLinkList))
)]
async fn list_links(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<SetupLinkList>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let items = links::list(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(SetupLinkList { items }))
}

/// Creates a set-up link for the organisation's IT admin (the open one, if any, is revoked). The answer holds
/// the link's URL, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/tenant/sso/setup-links",
    tag = "settings",
    request_body = NewSetupLink,
    responses(
        (status = 201, description = "The link, with its URL.", body = CreatedSetupLink),
        (status = 422, description = "`valid_days` is out of range (`invalid_request`).", body = ErrorBody),
    )
)]
async fn create_link(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(source_ip): ClientIp,
    AppJson(body): AppJson<NewSetupLink>,
) -> Result<(StatusCode, AppJson<CreatedSetupLink>), ApiError> {
    let validity = links::validity(body.valid_days, state.config.sso.setup_link_validity)?;
    let creator = Creator {
        kind: "member",
        id: principal.member_id.to_string(),
        email: principal.email.clone(),
    };
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let created = links::create(
        &mut tx,
        &state.config.public_url,
        validity,
        &creator,
        &actors(&principal, source_ip),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// Revokes a set-up link: it can no longer be opened, and a set-up session started from it ends.
#[utoipa::path(
    post,
    path = "/api/v1/tenant/sso/setup-links/{id}/revoke",
    tag = "settings",
    params(("id" = String, Path, description = "The link id.")),
    responses((status = 200, description = "The link after the change.", body = SetupLink))
)]
async fn revoke_link(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId,
) -> Result<AppJson<SetupLink>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let link = links::revoke(&mut tx, id, &actors(&principal, source_ip)).await?;
    tx.commit().await?;
    Ok(AppJson(link))
}

/// The organisation's email domains and the TXT record that proves each.
#[utoipa::path(
    get,
    path = "/api/v1/tenant/sso/domains",
    tag = "settings",
    responses((status = 200, description = "The domains, by name.", body = DomainList))
)]
async fn list_domains(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<DomainList>, ApiError> {
    let items = claims::list(&state, principal.tenant_id).await?;
    Ok(AppJson(DomainList { items }))
}

/// Claims an email domain; the answer names the TXT record to publish.
#[utoipa::path(
    post,
    path = "/api/v1/tenant/sso/domains",
    tag = "settings",
    request_body = NewDomain,
    responses(
        (status = 201, description = "The claimed domain, pending its proof.", body = Domain),
        (status = 409, description = "Another organisation proved it (`domain_taken`), or it is listed already (`conflict`).", body = ErrorBody),
        (status = 422, description = "Not a domain (`invalid_request`), or a public email provider's or a public suffix (`domain_not_allowed`).", body = ErrorBody),
    )
)]
async fn add_domain(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(source_ip): ClientIp,
    AppJson(body): AppJson<NewDomain>,
) -> Result<(StatusCode, AppJson<Domain>), ApiError> {
    let domain = claims::claim(
        &state,
        principal.tenant_id,
        &body.domain,
        &actors(&principal, source_ip),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(domain)))
}

/// Looks the domain's TXT record up now and marks the domain verified when it holds the expected value.
#[utoipa::path(
    post,
    path = "/api/v1/tenant/sso/domains/{domain}/verify",
    tag = "settings",
    params(("domain" = String, Path, description = "The domain.")),
    responses(
        (status = 200, description = "The domain is verified.", body = DomainVerification),
        (status = 409, description = "Another organisation proved it meanwhile (`domain_taken`).", body = ErrorBody),
        (status = 422, description = "The record was not found; the message says what was (`domain_not_verified`).", body = ErrorBody),
        (status = 503, description = "DNS did not answer (`service_unavailable`).", body = ErrorBody),
    )
)]
async fn verify_domain(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(source_ip): ClientIp,
    Path(domain): Path<String>,
) -> Result<AppJson<DomainVerification>, ApiError> {
    let domain = claims::path_domain(&domain)?;
    claims::verify(
        &state,
        principal.tenant_id,
        &domain,
        &actors(&principal, source_ip),
        None,
    )
    .await
    .map(AppJson)
}

/// Removes a domain: it stops routing sign-ins at once.
#[utoipa::path(
    delete,
    path = "/api/v1/tenant/sso/domains/{domain}",
    tag = "settings",
    params(("domain" = String, Path, description = "The domain.")),
    responses((status = 204, description = "Removed."))
)]
async fn remove_domain(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(source_ip): ClientIp,
    Path(domain): Path<String>,
) -> Result<StatusCode, ApiError> {
    let domain = claims::path_domain(&domain)?;
    claims::remove(
        &state,
        principal.tenant_id,
        &domain,
        &actors(&principal, source_ip),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's identity provider as the set-up left it (under test, or active); 404 before any.
#[utoipa::path(
    get,
    path = "/api/v1/tenant/sso/provider",
    tag = "settings",
    responses((status = 200, description = "The identity provider (never its secret).", body = SetupProvider))
)]
async fn provider(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<SetupProvider>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let provider = db::identity_providers::setup_provider(&mut tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(AppJson(crate::sso::provider::to_wire(&provider)))
}

/// Hands a new client secret for the organisation's active identity provider to the user pool (after it was
/// rotated at the provider). The secret is stored nowhere here and never shown again.
#[utoipa::path(
    post,
    path = "/api/v1/tenant/sso/provider/secret",
    tag = "settings",
    request_body = SecretRotation,
    responses(
        (status = 204, description = "The user pool has the new secret."),
        (status = 409, description = "The organisation has no active identity provider (`conflict`).", body = ErrorBody),
        (status = 422, description = "The secret is empty or too long (`invalid_request`).", body = ErrorBody),
        (status = 502, description = "The user pool refused it (`provider_check_failed`).", body = ErrorBody),
    )
)]
async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(source_ip): ClientIp,
    AppJson(body): AppJson<SecretRotation>,
) -> Result<StatusCode, ApiError> {
    let secret = body.client_secret.trim();
    if secret.is_empty()
        || secret.chars().count() > crate::sso::provider::MAX_SECRET_CHARS
        || secret.chars().any(char::is_control)
    {
        return Err(ApiError::unprocessable(format!(
            "client_secret: the client secret, 1 to {} characters.",
            crate::sso::provider::MAX_SECRET_CHARS
        )));
    }
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let provider = db::identity_providers::setup_provider(&mut tx)
        .await?
        .filter(|provider| !provider.testing)
        .ok_or_else(|| {
            ApiError::Conflict("Your organisation has no active identity provider.".into())
        })?;
    // Audited first (in both logs), in the transaction committed only once the pool has the secret.
    links::audit_both(
        &mut tx,
        &actors(&principal, source_ip),
        (
            AuditAction::SsoSecretRotated,
            PlatformAuditAction::SsoSecretRotated,
        ),
        db::audit::Target {
            kind: "tenant",
            id: provider.name.clone(),
            label: format!("identity provider {}", provider.name),
        },
        serde_json::json!({ "provider": provider.name }),
    )
    .await?;
    let secret = crate::config::Secret::new(secret);
    let name = provider.name.clone();
    let report = state
        .idp_sync
        .run(&state.db, &|candidate: &str| {
            (candidate == name).then(|| secret.clone())
        })
        .await
        .map_err(ApiError::unavailable)?;
    if let Some(failure) = report.failed.iter().find(|f| f.provider == provider.name) {
        return Err(ApiError::refused(
            StatusCode::BAD_GATEWAY,
            shared::ErrorCode::ProviderCheckFailed,
            format!("The user pool did not accept the secret: {}", failure.error),
        ));
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %principal.tenant_id, provider = %provider.name, "client secret rotated");
    Ok(StatusCode::NO_CONTENT)
}
