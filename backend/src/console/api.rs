//! The operators' JSON API under `/operator/api/v1`. Every route is added through a [`ScopedRouter`] of
//! [`OperatorScope`], so each requires a signed-in operator holding the operators' pool's `operate` scope, and
//! tests walk the list ([`v1`]'s `routes()`). None of it is in the tenants' OpenAPI document, from which the
//! API gateway builds its routes with the tenants' authorizer.

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use shared::api::OperatorMe;

use super::{Operator, OperatorScope};
use crate::api::API_BODY_LIMIT;
use crate::auth::ScopedRouter;
use crate::error::api_not_found;
use crate::state::AppState;

/// The routes under `/operator/api` (the caller nests them there).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .nest("/v1", v1(state).into_router())
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
}

/// Every `/operator/api/v1` route; [`ScopedRouter::routes`] lists them (paths relative to `/operator/api/v1`).
pub fn v1(state: AppState) -> ScopedRouter<OperatorScope> {
    ScopedRouter::new(state.clone())
        .get("/me", OperatorScope::Operate, me)
        .merge(super::tenants::routes(state.clone()))
        .merge(super::deletion::routes(state.clone()))
        .merge(super::setup::routes(state.clone()))
        .merge(super::audit::routes(state))
}

/// `GET /operator/api/v1/me`: the signed-in operator.
async fn me(operator: Operator) -> Json<OperatorMe> {
    Json(OperatorMe {
        id: operator.subject,
        email: operator.email,
    })
}
