//! The application's shared state: the configuration and the clients every request may use, built once
//! at start-up and handed to each handler as a cheap clone.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context as _;
use axum::http::HeaderValue;
use sqlx::PgPool;

use crate::auth::oidc::{ClientSettings, OidcClient};
use crate::auth::rate_limit::SignInLimiter;
use crate::auth::session::SessionStore;
use crate::auth::tokens::TokenCipher;
use crate::config::Config;
use crate::console;
use crate::csp::content_security_policy;
use crate::db;
use crate::idp_sync::Reconciler;
use crate::sso::domains::DomainProver;
use crate::storage::Storage;
use crate::verifier::{AccessTokenVerifier, IssuerConfig, VerifierConfig};

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
    /// The operators' pool: the console's OpenID Connect client and access-token verifier.
    pub console: console::Clients,
    /// Brings the user pool's identity providers in line with the database (after a tenant's deletion).
    pub idp_sync: Reconciler,
    /// Looks up the DNS proofs of the tenants' email domains (`DNS_RESOLVER`).
    pub domain_prover: DomainProver,
    /// The web client returning to `/setup/auth/callback`: a set-up's test sign-in.
    pub setup_oidc: OidcClient,
    /// Requests to the identity providers customers' IT admins name (discovery), behind the SSRF guard.
    pub egress: crate::sso::egress::EgressClient,
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
    /// Builds the state from `config`: the lazy database pool, the verifiers and the OIDC clients. Nothing here
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
        let oidc = OidcClient::new(ClientSettings::web(&config))
            .context("the OpenID Connect client could not be configured")?;
        let tokens = TokenCipher::new(&config.session_encryption_key);
        let sessions = SessionStore::new(db.clone());
        let content_security_policy = HeaderValue::from_str(&content_security_policy(&config))
            .context("the Content-Security-Policy is not a valid header value")?;
        let storage = Storage::new(&config)
            .await
            .context("the upload storage could not be configured")?;
        let sign_in_limiter = SignInLimiter::new(config.sign_in_starts_per_minute);
        let console = console::Clients::new(&config)?;
        let idp_sync = Reconciler::new(&config)
            .await
            .context("the user-pool API client could not be configured")?;
        let domain_prover = DomainProver::new(config.sso.dns_resolver)
            .context("the DNS resolver for domain proofs could not be configured")?;
        let setup_oidc = OidcClient::new(ClientSettings::setup_test(&config))
            .context("the set-up's OpenID Connect client could not be configured")?;
        let egress = crate::sso::egress::EgressClient::new(crate::sso::egress::EgressPolicy {
            allow_private: config.sso.allow_private_addresses,
        })
        .context("the HTTP client for identity-provider discovery could not be configured")?;
        Ok(AppState(Arc::new(App {
            domain_prover,
            setup_oidc,
            egress,
            config,
            db,
            verifier,
            oidc,
            tokens,
            sessions,
            sign_in_limiter,
            content_security_policy,
            storage,
            console,
            idp_sync,
        })))
    }
}
