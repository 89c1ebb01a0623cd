//! The scope guard: [`ScopedRouter`] is the only way to add an API route, and every route it adds declares
//! the scope it requires, so a route without one cannot be added by accident.

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::MethodRouter;
use shared::Scope;

use super::principal::Principal;
use crate::app::AppState;
use crate::error::ApiError;

/// A router whose routes each require a scope. The guard resolves the [`Principal`] (401 / 403
/// `member_inactive` / 503 as the case may be), checks the scope (403 `insufficient_scope`) and leaves the
/// principal in the request for the handler's own [`Principal`] extractor, which then costs nothing.
#[must_use]
pub struct ScopedRouter {
    state: AppState,
    router: Router<AppState>,
}

#[derive(Clone)]
struct RouteGuard {
    state: AppState,
    scope: Scope,
}

impl ScopedRouter {
    /// An empty scoped router.
    pub fn new(state: AppState) -> Self {
        ScopedRouter {
            state,
            router: Router::new(),
        }
    }

    /// Adds `method_router` at `path`, requiring `scope` for every method in it. Call again with the same
    /// path to give other methods another scope (`GET` read, `POST` write).
    pub fn route(
        mut self,
        path: &str,
        scope: Scope,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        let guard = RouteGuard {
            state: self.state.clone(),
            scope,
        };
        let guarded =
            method_router.route_layer(middleware::from_fn_with_state(guard, require_scope));
        self.router = self.router.route(path, guarded);
        self
    }

    /// Adds every route of `other` (each keeps its own scope).
    pub fn merge(mut self, other: ScopedRouter) -> Self {
        self.router = self.router.merge(other.router);
        self
    }

    /// Nests another scoped router under `path`.
    pub fn nest(mut self, path: &str, other: ScopedRouter) -> Self {
        self.router = self.router.nest(path, other.router);
        self
    }

    /// The finished router.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

async fn require_scope(
    State(guard): State<RouteGuard>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let principal = Principal::from_request_parts(&mut parts, &guard.state).await?;
    principal.require(guard.scope)?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}
