//! The HTTP application: shared state, the router assembled from each module's `router()`, the middleware
//! stack, and [`Application`], which binds a listener and serves.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::ExpiredDeletion as _;

use crate::auth::oidc::OidcClient;
use crate::auth::rate_limit::SignInLimiter;
use crate::auth::session::SessionStore;
use crate::auth::tokens::TokenCipher;
use crate::config::Config;
use crate::error::{ApiError, ErrorCause, json_error_bodies};
use crate::storage::Storage;
use crate::verifier::{AccessTokenVerifier, IssuerConfig, VerifierConfig};
use crate::{api, auth, db};

/// The largest request body any route accepts; routes set smaller limits of their own.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long one request may take before it is answered with 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often expired sessions are deleted from the store.
const SESSION_CLEANUP_INTERVAL: Duration = Duration::from_secs(15 * 60);

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything a request handler needs, shared by all requests.
pub struct App {
    /// The configuration the application was built with.
    pub config: Config,
    /// The application's connection pool (the non-owner role, so row-level security applies).
    pub db: PgPool,
    /// Verifies access tokens of the user pool (bearer tokens and the tokens kept in sessions).
    pub verifier: AccessTokenVerifier,
    /// The OpenID Connect client of the user pool (sign-in, refresh, revocation).
    pub oidc: OidcClient,
    /// Encrypts the tokens kept in the session store.
    pub tokens: TokenCipher,
    /// The session store (Postgres, table created by the migrations).
    pub sessions: SessionStore,
    /// The `Content-Security-Policy` header value ([`content_security_policy`]).
    pub content_security_policy: HeaderValue,
    /// The identity pool and S3 bucket uploads go through.
    pub storage: Storage,
    /// Sign-in starts per client address.
    pub sign_in_limiter: SignInLimiter,
}

/// The shared application state handed to every handler: a cheap clone of an [`Arc<App>`].
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Builds the state from `config`: the lazy database pool, the verifier and the OIDC client. Nothing here
    /// contacts the database or the user pool, so the backend starts while either is down.
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let db = db::connect(
            config.database_url.expose(),
            config.database_max_connections,
        )
        .await
        .context("DATABASE_URL is not a valid Postgres URL")?;
        let verifier = AccessTokenVerifier::new(VerifierConfig {
            issuers: vec![IssuerConfig::cognito(
                config.cognito_issuer.as_str(),
                config.accepted_client_ids(),
            )],
            ..VerifierConfig::default()
        })
        .context("the access-token verifier could not be configured")?;
        let oidc = OidcClient::new(&config)
            .context("the OpenID Connect client could not be configured")?;
        let tokens = TokenCipher::new(&config.session_encryption_key);
        let sessions = SessionStore::new(db.clone());
        let content_security_policy = HeaderValue::from_str(&content_security_policy(&config))
            .context("the Content-Security-Policy is not a valid header value")?;
        let storage = Storage::new(&config)
            .await
            .context("the upload storage could not be configured")?;
        let sign_in_limiter = SignInLimiter::new(config.sign_in_starts_per_minute);
        Ok(AppState(Arc::new(App {
            config,
            db,
            verifier,
            oidc,
            tokens,
            sessions,
            sign_in_limiter,
            content_security_policy,
            storage,
        })))
    }
}

/// The whole HTTP application for `state`: the API, sign-in, health and the web app.
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
        .layer(auth::session_layer(&state))
        .layer(middleware::map_response(
            auth::session::session_save_failures,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let web_app = ServeDir::new(&config.web_dist_dir)
        .fallback(ServeFile::new(config.web_dist_dir.join("index.html")));

    Router::new()
        .merge(with_session)
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

/// The `Content-Security-Policy` of every response. The web app is a wasm module loaded by a script from
/// this origin, so scripts, styles, images and connections stay on it, except: `'wasm-unsafe-eval'`
/// (compiling WebAssembly), the hashes of `index.html`'s inline bootstrap scripts, and `data:` images (the
/// empty favicon). Nothing may frame the app, and `<base>` is refused.
///
/// There is deliberately no `form-action`: browsers apply it to every redirect that follows a form
/// submission, and the sign-in form (`GET /auth/login`) is redirected to the user pool and from there to
/// the tenant's own identity provider, whose origin is tenant data, not configuration. A `form-action`
/// naming only this origin and the user pool's domain stops every sign-in at that last hop.
pub fn content_security_policy(config: &Config) -> String {
    let mut script_src = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script_src.extend(inline_script_hashes(
        &config.web_dist_dir.join("index.html"),
    ));
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src 'self' data:; connect-src 'self' {}; \
         frame-ancestors 'none'; base-uri 'none'",
        script_src.join(" "),
        s3_origins(&config.storage).join(" ")
    )
}

/// The origins the browser uploads to: the configured S3 endpoint's, or AWS's regional S3 endpoints (path-
/// style and virtual-hosted) for the bucket.
fn s3_origins(storage: &crate::config::StorageConfig) -> Vec<String> {
    match &storage.s3_endpoint {
        Some(endpoint) => vec![endpoint.origin().ascii_serialization()],
        None => vec![
            format!("https://s3.{}.amazonaws.com", storage.region),
            format!(
                "https://{}.s3.{}.amazonaws.com",
                storage.bucket, storage.region
            ),
        ],
    }
}

/// `'sha256-…'` sources for the inline scripts of the built web app's `index.html` (its module bootstrap),
/// so that exactly those scripts run and no injected one does. No file (the app is not built): none.
fn inline_script_hashes(index_html: &std::path::Path) -> Vec<String> {
    let Ok(html) = std::fs::read_to_string(index_html) else {
        return Vec::new();
    };
    let mut hashes = Vec::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<script") {
        rest = &rest[start + "<script".len()..];
        let Some(tag_end) = rest.find('>') else { break };
        let attributes = &rest[..tag_end];
        rest = &rest[tag_end + 1..];
        let Some(close) = rest.find("</script>") else {
            break;
        };
        let content = &rest[..close];
        rest = &rest[close + "</script>".len()..];
        if !attributes.contains("src=") && !content.is_empty() {
            let digest = Sha256::digest(content.as_bytes());
            hashes.push(format!("'sha256-{}'", BASE64.encode(digest)));
        }
    }
    hashes
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
    /// finish (graceful shutdown; the binary passes Ctrl-C / SIGTERM).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let cleanup = tokio::spawn(delete_expired_sessions(self.state.sessions.clone()));
        let result = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inline_bootstrap_scripts_of_the_web_app_are_allowed_by_hash_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("csp-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.html"),
            "<html><head><script type=\"module\">\n  import init from '/pkg/app.js';\n  init();\n</script>\
             <script src=\"/pkg/other.js\"></script></head><body></body></html>",
        )
        .unwrap();
        let mut config = Config::local_defaults();
        config.web_dist_dir = dir.clone();
        let policy = content_security_policy(&config);
        let expected = BASE64.encode(Sha256::digest(
            "\n  import init from '/pkg/app.js';\n  init();\n".as_bytes(),
        ));
        assert!(
            policy.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{expected}';"
            )),
            "{policy}"
        );
        assert!(
            policy.ends_with("frame-ancestors 'none'; base-uri 'none'"),
            "{policy}"
        );
        std::fs::remove_dir_all(&dir).unwrap();

        config.web_dist_dir = std::env::temp_dir().join("no-such-web-app-dir");
        assert!(
            content_security_policy(&config)
                .contains("script-src 'self' 'wasm-unsafe-eval'; style-src")
        );
    }
}
