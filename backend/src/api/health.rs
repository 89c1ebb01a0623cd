//! Health probes: `GET /healthz` (the process answers) and `GET /readyz` (the database answers too).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::db;
use crate::error::{ApiError, AppJson};
use crate::state::AppState;

/// The probe routes (no session, no authentication).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Liveness: 200 whenever the process can answer.
async fn healthz() -> AppJson<Value> {
    AppJson(json!({ "status": "ok" }))
}

/// Readiness: 200 when the database answers, else 503 `service_unavailable`.
async fn readyz(State(state): State<AppState>) -> Result<AppJson<Value>, ApiError> {
    db::ping(&state.db).await.map_err(ApiError::unavailable)?;
    Ok(AppJson(json!({ "status": "ready" })))
}
