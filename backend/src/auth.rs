//! Authentication and authorization: the backend-for-frontend sign-in (OAuth code flow with PKCE against the
//! user pool), server-side sessions, the [`Principal`] every API request resolves to, the per-route scope
//! guard and the CSRF check.

pub mod csrf;
pub mod guard;
pub mod login;
pub mod oidc;
pub mod pending;
pub mod principal;
pub mod rate_limit;
pub mod session;
pub mod tokens;

use axum::Router;
use axum::routing::{get, post};

pub use self::guard::{RouteSpec, ScopedRouter};
pub use self::principal::{Principal, SessionIdToken, Transport};
pub use self::session::session_layer;
use crate::state::AppState;

/// The sign-in routes: `GET /auth/login`, `GET /auth/callback`, `POST /auth/logout`, and `POST /auth/revoke`
/// for bearer clients.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login::login))
        .route("/auth/callback", get(login::callback))
        .route("/auth/logout", post(login::logout))
        .route("/auth/revoke", post(login::revoke))
}
