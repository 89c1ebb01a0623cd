//! The JSON API under `/api`, plus the health probes and the user pool's trigger endpoint.
//!
//! Every `/api/v1` route is added through [`ScopedRouter`], so each declares the scope it requires. Unknown
//! paths under `/api` answer 404 with the app's JSON error body.

pub mod audit;
pub mod context;
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
pub mod settings;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::ScopedRouter;
use crate::error::{ApiError, api_not_found};

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
        .merge(invitations::routes(state.clone()))
        .merge(settings::routes(state.clone()))
        .merge(files::routes(state.clone()))
        .merge(audit::routes(state))
}

/// A resource id from the path. A malformed id answers the same 404 as an unknown one, so ids cannot be
/// probed by their shape.
pub(crate) fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound)
}
