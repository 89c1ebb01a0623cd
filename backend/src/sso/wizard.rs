//! `/setup/api/v1`: the set-up wizard's API, for a customer's IT admin who has no account, only a set-up link.
//!
//! `POST /session` spends the link's token (from the URL's fragment) and starts a set-up session: an HttpOnly
//! cookie on `/setup` holding a fresh random secret whose SHA-256 the link keeps. Every other route runs as
//! that session ([`SetupCaller`]), for the link's tenant and only while the link is open (not revoked,
//! completed or expired); the tenant comes from the link the session belongs to, never from the request.
//! State-changing requests pass the app's cross-site check, without its bearer exemption: the cookie alone
//! authorises them.

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Router, middleware};
use serde_json::json;
use shared::ErrorCode;
use shared::api::{
    AuditAction, Domain, DomainList, DomainVerification, NewDomain, OpenSetupLink,
    PlatformAuditAction, SetupSession, TestSignIn,
};
use time::OffsetDateTime;
use tower_sessions::cookie::{Cookie, SameSite};
use uuid::Uuid;

use super::links::{self, Actors, audit_both, link_target};
use super::{claims, provider};
use crate::api::paging::rfc3339;
use crate::client_ip::ClientIp;
use crate::db::platform::{ActorKind, OperatorRef};
use crate::db::{self, TenantId, setup_links};
use crate::error::{ApiError, AppJson, api_not_found};
use crate::state::AppState;

/// The set-up session cookie's name; `__Secure-` prefixed when Secure (a `__Host-` cookie must have
/// `Path=/`, and this one is confined to `/setup`).
const COOKIE_NAME: &str = "saas_setup";
/// The set-up session cookie's path: the wizard's page, API and test sign-in.
const COOKIE_PATH: &str = "/setup";
/// The largest request body of the wizard's API.
const BODY_LIMIT: usize = 16 * 1024;

fn cookie_name(secure: bool) -> String {
    if secure {
        format!("__Secure-{COOKIE_NAME}")
    } else {
        COOKIE_NAME.to_owned()
    }
}

/// The routes under `/setup/api` (the caller nests them there).
pub fn router(state: AppState) -> Router<AppState> {
    let v1 = Router::new()
        .route("/session", post(open).get(session))
        .route("/domains", post(add_domain).get(list_domains))
        .route("/domains/{domain}", delete(remove_domain))
        .route("/domains/{domain}/verify", post(verify_domain))
        .route("/provider/instructions", get(provider::instructions))
        .route("/provider", post(provider::save))
        .route("/activate", post(provider::activate));
    Router::new()
        .nest("/v1", v1)
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state,
            crate::auth::csrf::reject_cross_site_cookie_only,
        ))
}

/// The test sign-in's routes under `/setup/auth` (browser navigations: no JSON, no CSRF check needed for
/// these GETs, which change nothing but the set-up's own test result after a completed code flow).
pub fn auth_router() -> Router<AppState> {
    Router::new()
        .route("/setup/auth/test", get(super::test_sign_in::start))
        .route("/setup/auth/callback", get(super::test_sign_in::callback))
}

/// The caller of a wizard route: the IT admin holding an open link's set-up session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupCaller {
    /// The link the session was started from.
    pub link_id: Uuid,
    /// The tenant being set up.
    pub tenant_id: TenantId,
}

impl SetupCaller {
    /// The actors of this caller's steps in the audit logs: the set-up link (the IT admin has no account).
    pub(crate) fn actors(&self, source_ip: Option<std::net::IpAddr>) -> Actors {
        Actors {
            platform: OperatorRef {
                kind: ActorKind::SetupLink,
                id: self.link_id.to_string(),
                email: String::new(),
            },
            tenant: None,
            source_ip,
        }
    }
}

impl SetupCaller {
    /// The caller of a request with `headers`: its set-up cookie names an open link's session.
    pub(crate) async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<SetupCaller, ApiError> {
        let secret = session_secret(headers, state.config.cookie_secure).ok_or_else(invalid)?;
        let link = setup_links::for_session(&state.db, &links::digest(&secret))
            .await?
            .ok_or_else(invalid)?;
        Ok(SetupCaller {
            link_id: link.link_id,
            tenant_id: link.tenant_id,
        })
    }

    /// Holds the caller's link open until `tx` ends (see [`setup_links::hold_open`]); 401
    /// `setup_link_invalid` when it was revoked, completed or expired since the request began. Steps whose
    /// writes outlive the set-up (a provider, an activation, a test's result) call it before writing.
    pub(crate) async fn hold_open(&self, tx: &mut db::TenantTx) -> Result<(), ApiError> {
        if setup_links::hold_open(tx, self.link_id).await? {
            Ok(())
        } else {
            Err(invalid())
        }
    }
}

impl FromRequestParts<AppState> for SetupCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        SetupCaller::from_headers(state, &parts.headers).await
    }
}

/// 401 `setup_link_invalid`.
fn invalid() -> ApiError {
    ApiError::refused(
        StatusCode::UNAUTHORIZED,
        ErrorCode::SetupLinkInvalid,
        ErrorCode::SetupLinkInvalid.default_message(),
    )
}

/// The set-up session secret the request's cookies carry, when well-formed.
fn session_secret(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse(value.to_owned()))
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        .find(|value| links::is_well_formed(value))
}

/// `POST /setup/api/v1/session`: spends the link's token and starts the set-up session (its cookie lives as
/// long as the link). 401 `setup_link_invalid` for a token that is unknown, already spent, revoked, completed
/// or expired; all look alike.
async fn open(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    AppJson(body): AppJson<OpenSetupLink>,
) -> Result<Response, ApiError> {
    if !links::is_well_formed(&body.token) {
        return Err(invalid());
    }
    let link = setup_links::for_token(&state.db, &links::digest(&body.token))
        .await?
        .ok_or_else(invalid)?;
    let caller = SetupCaller {
        link_id: link.link_id,
        tenant_id: link.tenant_id,
    };
    let (session, session_hash) = links::new_secret();
    let mut tx = db::tenant_tx(&state.db, link.tenant_id).await?;
    let opened = setup_links::open(&mut tx, link.link_id, &session_hash)
        .await?
        .ok_or_else(invalid)?;
    audit_both(
        &mut tx,
        &caller.actors(source_ip),
        (
            AuditAction::SetupLinkOpened,
            PlatformAuditAction::SetupLinkOpened,
        ),
        link_target(link.link_id),
        json!({}),
    )
    .await?;
    let body = load(&mut tx, &opened).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %link.tenant_id, link_id = %link.link_id, "set-up link opened");
    let secure = state.config.cookie_secure;
    let max_age = (opened.expires_at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
    let cookie = Cookie::build((cookie_name(secure), session))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path(COOKIE_PATH)
        .max_age(max_age);
    let cookie = HeaderValue::from_str(&cookie.to_string()).map_err(ApiError::internal)?;
    Ok(([(SET_COOKIE, cookie)], AppJson(body)).into_response())
}

/// `GET /setup/api/v1/session`: where the set-up stands, to show and resume from.
async fn session(
    State(state): State<AppState>,
    caller: SetupCaller,
) -> Result<AppJson<SetupSession>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, caller.tenant_id).await?;
    let link = setup_links::get(&mut tx, caller.link_id)
        .await?
        .ok_or_else(invalid)?;
    let body = load(&mut tx, &link).await?;
    tx.commit().await?;
    Ok(AppJson(body))
}

async fn load(
    tx: &mut db::TenantTx,
    link: &setup_links::SetupLink,
) -> Result<SetupSession, ApiError> {
    let tenant = db::tenants::current(tx).await?.ok_or_else(invalid)?;
    let domains = db::domains::list(tx)
        .await?
        .iter()
        .map(claims::to_wire)
        .collect::<Result<_, _>>()?;
    let provider = db::identity_providers::setup_provider(tx).await?;
    let test = match (&link.tested_at, &link.test_result) {
        (Some(at), Some(result)) => Some(TestSignIn {
            at: rfc3339(*at)?,
            subject: result["subject"].as_str().unwrap_or_default().to_owned(),
            email: result["email"].as_str().unwrap_or_default().to_owned(),
            email_verified: result["email_verified"].as_bool(),
            groups: result["groups"]
                .as_array()
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(|group| group.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(SetupSession {
        tenant_name: tenant.name,
        expires_at: rfc3339(link.expires_at)?,
        domains,
        provider: provider.as_ref().map(provider::to_wire),
        test,
        completed: link.completed_at.is_some(),
    })
}

/// `GET /setup/api/v1/domains`.
async fn list_domains(
    State(state): State<AppState>,
    caller: SetupCaller,
) -> Result<AppJson<DomainList>, ApiError> {
    let items = claims::list(&state, caller.tenant_id).await?;
    Ok(AppJson(DomainList { items }))
}

/// `POST /setup/api/v1/domains`: claims a domain; the answer names the TXT record to publish.
async fn add_domain(
    State(state): State<AppState>,
    caller: SetupCaller,
    ClientIp(source_ip): ClientIp,
    AppJson(body): AppJson<NewDomain>,
) -> Result<(StatusCode, AppJson<Domain>), ApiError> {
    let domain = claims::claim(
        &state,
        caller.tenant_id,
        &body.domain,
        &caller.actors(source_ip),
        Some(&caller),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(domain)))
}

/// `POST /setup/api/v1/domains/{domain}/verify`: looks the record up now.
async fn verify_domain(
    State(state): State<AppState>,
    caller: SetupCaller,
    ClientIp(source_ip): ClientIp,
    Path(domain): Path<String>,
) -> Result<AppJson<DomainVerification>, ApiError> {
    let domain = claims::path_domain(&domain)?;
    claims::verify(
        &state,
        caller.tenant_id,
        &domain,
        &caller.actors(source_ip),
        Some(&caller),
    )
    .await
    .map(AppJson)
}

/// `DELETE /setup/api/v1/domains/{domain}`.
async fn remove_domain(
    State(state): State<AppState>,
    caller: SetupCaller,
    ClientIp(source_ip): ClientIp,
    Path(domain): Path<String>,
) -> Result<StatusCode, ApiError> {
    let domain = claims::path_domain(&domain)?;
    claims::remove(
        &state,
        caller.tenant_id,
        &domain,
        &caller.actors(source_ip),
        Some(&caller),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
