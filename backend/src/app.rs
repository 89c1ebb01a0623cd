//! The HTTP application: the router assembled from each module's `router()` over the [`AppState`], the
//! middleware stack, and [`Application`], which binds a listener and serves.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::ExpiredDeletion as _;

use crate::auth::session::SessionStore;
use crate::config::Config;
use crate::error::{ApiError, ErrorCause, json_error_bodies};
use crate::state::AppState;
use crate::{api, auth, console};

/// The largest request body any route accepts; routes set smaller limits of their own.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long one request may take before it is answered with 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often expired sessions are deleted from the store.
const SESSION_CLEANUP_INTERVAL: Duration = Duration::from_secs(15 * 60);

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application for `state`: the API, sign-in, the operators' console, health and the web app.
pub fn router(state: AppState) -> Router {
    let config = &state.config;

    // Routes that a browser reaches with its session cookie: sessions, then the CSRF check for state-changing
    // requests. Health and the static web app sit outside both.
    let with_session = Router::new()
        .merge(auth::router())
        .nest("/api", api::router(state.clone()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::reject_cross_site,
        ))
        .layer(auth::session_layer(state.sessions.clone(), &state.config))
        .layer(middleware::map_response(
            auth::session::session_save_failures,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    // The set-up wizard's API: its own session (the set-up link's cookie), the same CSRF check.
    let setup = Router::new()
        .nest("/setup/api", crate::sso::wizard::router(state.clone()))
        .merge(crate::sso::wizard::auth_router())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let web_app = web_app(&config.web_dist_dir);

    Router::new()
        .merge(with_session)
        .merge(console::router(state.clone()))
        .merge(setup)
        .merge(api::health::router())
        .fallback_service(web_app)
        .with_state(state.clone())
        .layer(middleware::from_fn(time_limit))
        .layer(middleware::map_response(log_error_cause))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outside the body limit, so that its 413 gets the JSON body too.
        .layer(middleware::map_response(json_error_bodies))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            state.content_security_policy.clone(),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(
            X_REQUEST_ID.clone(),
            MakeRequestUuid,
        ))
}

/// The built web app (`cargo xtask build-web`): `/assets/…` are its content-hashed files, served with
/// immutable caching (a new build has new names); every other path is the app's `index.html`, which
/// routes on the client, and is never stored (it names the current build's files, and a signed-in page
/// must not come back from a cache after sign-out). Both are sent precompressed (brotli or gzip) to a
/// browser that accepts it; an unknown asset is a 404, never the page.
fn web_app(dist: &std::path::Path) -> Router {
    let assets = ServeDir::new(dist.join("assets"))
        .precompressed_br()
        .precompressed_gzip();
    let page = ServeFile::new(dist.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service("/assets", assets)
        .fallback_service(page)
        .layer(middleware::from_fn(web_app_caching))
}

/// Middleware of [`web_app`]: its caching headers.
async fn web_app_caching(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let cache_control = if is_asset && response.status().is_success() {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-store")
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, cache_control);
    // The same URL is sent in three encodings: caches between here and the browser must keep them apart.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Middleware: answers a request that takes longer than [`REQUEST_TIMEOUT`] with 503
/// `service_unavailable` (the work in flight is dropped).
async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(format!(
            "the request did not complete within {REQUEST_TIMEOUT:?}"
        ))
        .into_response(),
    }
}

/// The tracing span of a request: method, path and request id. The query string is left out on purpose:
/// the OAuth callback carries the authorization code and state there.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
}

/// Logs the cause of a 500 or 503 that an [`crate::error::ApiError`] attached to its response, inside the
/// request's span so the log line carries the method, path and request id.
async fn log_error_cause(response: Response) -> Response {
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(status = %response.status(), error = %cause, "dependency unavailable");
        } else {
            tracing::error!(status = %response.status(), error = %cause, "request failed");
        }
    }
    response
}

/// A built application bound to its listener, ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    router: Router,
}

impl Application {
    /// Builds the application and binds `config.bind_addr`.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("could not listen on BIND_ADDR {}", config.bind_addr))?;
        Application::build_with_listener(config, listener).await
    }

    /// Builds the application on a listener bound by the caller (tests bind `127.0.0.1:0` first so that they
    /// know the port before they write `PUBLIC_URL`).
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> anyhow::Result<Application> {
        let state = AppState::new(config).await?;
        let router = router(state.clone());
        Ok(Application {
            listener,
            state,
            router,
        })
    }

    /// The port the application listens on.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The address the application listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.config.bind_addr)
    }

    /// The application's shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the task running it is dropped or the process ends.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting connections and lets requests in flight
    /// finish (graceful shutdown; the binary passes Ctrl-C / SIGTERM), for at most `SHUTDOWN_GRACE_SECONDS`:
    /// a request still running then is cut off, so that the process ends before its supervisor kills it.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let cleanup = tokio::spawn(delete_expired_sessions(self.state.sessions.clone()));
        let grace = self.state.config.shutdown_grace;
        let (signalled, shutting_down) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections; finishing the requests in flight");
            let _ = signalled.send(());
        };
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .into_future();
        let deadline = async move {
            // A dropped sender means the server ended without a signal: no deadline then.
            if shutting_down.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            result = serve => result,
            () = deadline => {
                tracing::warn!(
                    grace_seconds = grace.as_secs(),
                    "requests still in flight at the end of the shutdown grace period were cut off"
                );
                Ok(())
            }
        };
        cleanup.abort();
        result
    }
}

/// Deletes expired sessions now and then. Failures (the database is down) are logged and retried at the
/// next tick rather than ending the task.
async fn delete_expired_sessions(store: SessionStore) {
    let mut interval = tokio::time::interval(SESSION_CLEANUP_INTERVAL);
    loop {
        interval.tick().await;
        if let Err(err) = store.delete_expired().await {
            tracing::warn!(error = %err, "could not delete expired sessions");
        }
    }
}
