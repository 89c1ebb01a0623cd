//! The scope guard: [`ScopedRouter`] is the only way to add an API route, and every route it adds declares
//! the scope it requires, so a route without one cannot be added by accident. It also records each
//! (method, path, scope) it adds ([`RouteSpec`]), so tests can walk every route of the API and a new route
//! cannot escape them.

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use shared::Scope;

use super::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// A router whose routes each require a scope. The guard resolves the [`Principal`] (401 / 403
/// `member_inactive` / 503 as the case may be), checks the scope (403 `insufficient_scope`) and leaves the
/// principal in the request for the handler's own [`Principal`] extractor, which then costs nothing.
#[must_use]
pub struct ScopedRouter {
    state: AppState,
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

/// One route of a [`ScopedRouter`]: a method on a path (axum's syntax, `/reports/{id}`) and its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path template, relative to where the router is nested.
    pub path: String,
    /// The scope the route requires.
    pub scope: Scope,
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
            specs: Vec::new(),
        }
    }

    /// Adds a `GET` route requiring `scope`.
    pub fn get<H, T>(self, path: &str, scope: Scope, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, MethodFilter::GET, path, scope, handler)
    }

    /// Adds a `POST` route requiring `scope`.
    pub fn post<H, T>(self, path: &str, scope: Scope, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, MethodFilter::POST, path, scope, handler)
    }

    /// Adds a `PUT` route requiring `scope`.
    pub fn put<H, T>(self, path: &str, scope: Scope, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PUT, MethodFilter::PUT, path, scope, handler)
    }

    /// Adds a `PATCH` route requiring `scope`.
    pub fn patch<H, T>(self, path: &str, scope: Scope, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PATCH, MethodFilter::PATCH, path, scope, handler)
    }

    /// Adds a `DELETE` route requiring `scope`.
    pub fn delete<H, T>(self, path: &str, scope: Scope, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::DELETE, MethodFilter::DELETE, path, scope, handler)
    }

    fn add<H, T>(
        mut self,
        method: Method,
        filter: MethodFilter,
        path: &str,
        scope: Scope,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let guard = RouteGuard {
            state: self.state.clone(),
            scope,
        };
        let guarded: MethodRouter<AppState> =
            on(filter, handler).route_layer(middleware::from_fn_with_state(guard, require_scope));
        self.router = self.router.route(path, guarded);
        self.specs.push(RouteSpec {
            method,
            path: path.to_owned(),
            scope,
        });
        self
    }

    /// Adds every route of `other` (each keeps its own scope).
    pub fn merge(mut self, other: ScopedRouter) -> Self {
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self
    }

    /// Nests another scoped router under `path`.
    pub fn nest(mut self, path: &str, other: ScopedRouter) -> Self {
        self.router = self.router.nest(path, other.router);
        self.specs
            .extend(other.specs.into_iter().map(|spec| RouteSpec {
                path: format!("{path}{}", spec.path),
                ..spec
            }));
        self
    }

    /// Every route added, in the order added.
    pub fn routes(&self) -> &[RouteSpec] {
        &self.specs
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
