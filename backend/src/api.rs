//! The JSON API under `/api`, plus the health probes and the user pool's trigger endpoint.
//!
//! Every `/api/v1` route is added through [`ScopedRouter`], so each declares the scope it requires. Unknown
//! paths under `/api` answer 404 with the app's JSON error body.

pub mod audit;
pub mod dashboard;
pub mod files;
pub mod health;
pub mod invitations;
pub mod last_admin;
pub mod me;
pub mod members;
pub mod openapi;
pub mod paging;
pub mod reports;
pub mod sessions;
pub mod settings;
pub mod sso;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::auth::ScopedRouter;
use crate::db::tenants::Tenant;
use crate::db::{self, TenantTx};
use crate::error::{ApiError, api_not_found};
use crate::state::AppState;

/// The largest JSON body an API route accepts.
pub const API_BODY_LIMIT: usize = 64 * 1024;

/// The routes under `/api` (the caller nests them there).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(openapi::router(&state))
        .nest("/v1", v1(state).into_router())
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
}

/// Every `/api/v1` route, each with the scope it requires; [`ScopedRouter::routes`] lists them (paths
/// relative to `/api/v1`).
pub fn v1(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state.clone())
        .merge(me::routes(state.clone()))
        .merge(dashboard::routes(state.clone()))
        .merge(reports::routes(state.clone()))
        .merge(members::routes(state.clone()))
        .merge(sessions::routes(state.clone()))
        .merge(invitations::routes(state.clone()))
        .merge(settings::routes(state.clone()))
        .merge(sso::routes(state.clone()))
        .merge(files::routes(state.clone()))
        .merge(audit::routes(state))
}

/// A resource id from the route's `{id}` path segment, as the id type `T` of the resource (a [`Uuid`], or a
/// newtype such as [`db::MemberId`]). A malformed id answers the same 404 as an unknown one, so ids cannot be
/// probed by their shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId<T = Uuid>(pub T);

impl<S: Send + Sync, T: From<Uuid>> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        Uuid::parse_str(&id)
            .map(|id| PathId(T::from(id)))
            .map_err(|_| ApiError::NotFound)
    }
}

/// The caller's tenant, read in the caller's tenant transaction. A tenant that no longer exists (removed
/// while a token or session of it was still alive) answers as a member who lost access.
pub async fn current_tenant(tx: &mut TenantTx) -> Result<Tenant, ApiError> {
    db::tenants::current(tx)
        .await?
        .ok_or(ApiError::MemberInactive)
}

/// Like [`current_tenant`], and locks the tenant's row until the transaction ends: what every
/// count-then-insert under a plan limit takes first (see [`db::tenants::lock`]).
pub async fn lock_tenant(tx: &mut TenantTx) -> Result<Tenant, ApiError> {
    db::tenants::lock(tx).await?.ok_or(ApiError::MemberInactive)
}
