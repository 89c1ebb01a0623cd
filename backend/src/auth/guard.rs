//! The scope guard: [`ScopedRouter`] is the only way to add an API route, and every route it adds declares
//! the scope it requires, so a route without one cannot be added by accident. It also records each
//! (method, path, scope) it adds ([`RouteSpec`]), so tests can walk every route of the API and a new route
//! cannot escape them.
//!
//! The tenants' API requires a [`Scope`] of a member; the operators' API (`crate::console`) requires its own
//! kind of scope of an operator. Both are a [`RouteScope`], which says how a request proves it holds it.

use std::future::Future;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use shared::Scope;

use super::principal::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// What a route requires of its caller.
pub trait RouteScope: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// `Ok` when the request's caller holds `self`; otherwise the error to answer with (401, 403, 503). The
    /// caller's principal is left in the request's extensions, for the handler's extractor.
    fn check(
        self,
        parts: &mut Parts,
        state: &AppState,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// A member scope: the guard resolves the [`Principal`] (401 / 403 `member_inactive` / 503 as the case may
/// be) and checks the scope (403 `insufficient_scope`).
impl RouteScope for Scope {
    async fn check(self, parts: &mut Parts, state: &AppState) -> Result<(), ApiError> {
        Principal::from_request_parts(parts, state)
            .await?
            .require(self)
    }
}

/// A router whose routes each require a scope. The guard checks it ([`RouteScope::check`]) and leaves the
/// principal in the request for the handler's own extractor, which then costs nothing.
#[must_use]
pub struct ScopedRouter<S: RouteScope = Scope> {
    state: AppState,
    router: Router<AppState>,
    specs: Vec<RouteSpec<S>>,
}

/// One route of a [`ScopedRouter`]: a method on a path (axum's syntax, `/reports/{id}`) and its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec<S = Scope> {
    /// The HTTP method.
    pub method: Method,
    /// The path template, relative to where the router is nested.
    pub path: String,
    /// The scope the route requires.
    pub scope: S,
}

#[derive(Clone)]
struct RouteGuard<S> {
    state: AppState,
    scope: S,
}

impl<S: RouteScope> ScopedRouter<S> {
    /// An empty scoped router.
    pub fn new(state: AppState) -> Self {
        ScopedRouter {
            state,
            router: Router::new(),
            specs: Vec::new(),
        }
    }

    /// Adds a `GET` route requiring `scope`.
    pub fn get<H, T>(self, path: &str, scope: S, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, MethodFilter::GET, path, scope, handler)
    }

    /// Adds a `POST` route requiring `scope`.
    pub fn post<H, T>(self, path: &str, scope: S, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, MethodFilter::POST, path, scope, handler)
    }

    /// Adds a `PUT` route requiring `scope`.
    pub fn put<H, T>(self, path: &str, scope: S, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PUT, MethodFilter::PUT, path, scope, handler)
    }

    /// Adds a `PATCH` route requiring `scope`.
    pub fn patch<H, T>(self, path: &str, scope: S, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::PATCH, MethodFilter::PATCH, path, scope, handler)
    }

    /// Adds a `DELETE` route requiring `scope`.
    pub fn delete<H, T>(self, path: &str, scope: S, handler: H) -> Self
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
        scope: S,
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
        let guarded: MethodRouter<AppState> = on(filter, handler)
            .route_layer(middleware::from_fn_with_state(guard, require_scope::<S>));
        self.router = self.router.route(path, guarded);
        self.specs.push(RouteSpec {
            method,
            path: path.to_owned(),
            scope,
        });
        self
    }

    /// Adds every route of `other` (each keeps its own scope).
    pub fn merge(mut self, other: ScopedRouter<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self
    }

    /// Nests another scoped router under `path`.
    pub fn nest(mut self, path: &str, other: ScopedRouter<S>) -> Self {
        self.router = self.router.nest(path, other.router);
        self.specs
            .extend(other.specs.into_iter().map(|spec| RouteSpec {
                path: format!("{path}{}", spec.path),
                ..spec
            }));
        self
    }

    /// Every route added, in the order added.
    pub fn routes(&self) -> &[RouteSpec<S>] {
        &self.specs
    }

    /// The finished router.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

async fn require_scope<S: RouteScope>(
    State(guard): State<RouteGuard<S>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    guard.scope.check(&mut parts, &guard.state).await?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}
