//! The operators' console, the control plane's door: platform operators sign in through their own user pool
//! (native accounts with MFA, never a tenant's identity provider) at `/operator/auth/*`, and call
//! `/operator/api/v1/*` as an [`Operator`], with a session of their own (cookie name and path `/operator`) or
//! a bearer access token of the operators' pool.
//!
//! Operators and tenant members never cross. Each side has its own OpenID Connect client, its own access-token
//! verifier pinned to its own pool's issuer and clients, and its own session key: a member's token or session
//! is refused by every operator route (its issuer is unknown to the operators' verifier, and its session holds
//! no operator), and an operator's token is refused by every tenant route the same way.

pub mod api;
pub mod audit;
pub mod auth;
pub mod deletion;
pub mod principal;
pub mod setup;
pub mod tenants;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub use self::principal::{Operator, OperatorScope};
use crate::auth::oidc::{ClientSettings, OidcClient};
use crate::auth::session::{operator_session_layer, session_save_failures};
use crate::config::Config;
use crate::state::AppState;
use crate::verifier::{AccessTokenVerifier, IssuerConfig, VerifierConfig};

/// The operators' pool as the backend uses it.
pub struct Clients {
    /// The console client (sign-in, refresh, revocation).
    pub oidc: OidcClient,
    /// Verifies access tokens of the operators' pool's console client, and of nothing else.
    pub verifier: AccessTokenVerifier,
}

impl Clients {
    /// The clients for the configured operators' pool. Makes no request.
    pub fn new(config: &Config) -> anyhow::Result<Clients> {
        let verifier = AccessTokenVerifier::new(VerifierConfig {
            issuers: vec![IssuerConfig::cognito(
                config.operators.issuer.as_str(),
                [config.operators.client_id.clone()],
            )],
            ..VerifierConfig::default()
        })
        .context("the operators' access-token verifier could not be configured")?;
        let oidc = OidcClient::new(ClientSettings::console(config))
            .context("the operators' OpenID Connect client could not be configured")?;
        Ok(Clients { oidc, verifier })
    }
}

/// The console's routes: sign-in under `/operator/auth`, the API under `/operator/api`, behind the operators'
/// session layer and the same CSRF check as the tenant app. The console's pages themselves are the web app's.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/operator/auth/login", get(auth::login))
        .route("/operator/auth/callback", get(auth::callback))
        .route("/operator/auth/logout", post(auth::logout))
        .nest("/operator/api", api::router(state.clone()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::csrf::reject_cross_site,
        ))
        .layer(operator_session_layer(
            state.sessions.clone(),
            &state.config,
        ))
        .layer(middleware::map_response(session_save_failures))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
