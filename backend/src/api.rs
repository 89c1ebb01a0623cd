//! The JSON API under `/api`, plus the health probes and the user pool's trigger endpoint.
//!
//! Every `/api/v1` route is added through [`ScopedRouter`], so each declares the scope it requires. Unknown
//! paths under `/api` answer 404 with the app's JSON error body.

pub mod cognito_trigger;
pub mod health;
pub mod me;
pub mod reports;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::app::AppState;
use crate::auth::ScopedRouter;
use crate::error::api_not_found;

/// The largest JSON body an API route accepts.
pub const API_BODY_LIMIT: usize = 64 * 1024;

/// The routes under `/api` (the caller nests them there).
pub fn router(state: AppState) -> Router<AppState> {
    let v1 = ScopedRouter::new(state.clone())
        .merge(me::routes(state.clone()))
        .merge(reports::routes(state))
        .into_router();
    Router::new()
        .nest("/v1", v1)
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
}
