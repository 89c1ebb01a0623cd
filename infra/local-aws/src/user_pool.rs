//! The Cognito user pools: each pool's state and the listeners it answers on, the `cognito-idp` host shared by
//! every pool (each pool's issuer, discovery and JWKS under `/<poolId>`, and the user-pool API for identity
//! providers and app clients) and the pool's own domain (hosted endpoints).

mod accounts;
mod admin;
mod authorize;
mod discovery;
mod federation;
mod forgot_password;
mod issue;
mod login;
mod logout;
mod native_login;
mod revoke;
mod state;
mod token;
mod tokens;
mod userinfo;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};

pub use self::accounts::totp_code;
pub(crate) use self::admin::{
    COGNITO_POLICY_NAME, OPERATOR_ADMIN_POLICY_FILE, OPERATOR_ADMIN_POLICY_NAME,
    load_cognito_permissions, load_pool_policy,
};
pub(crate) use self::state::COGNITO as COGNITO_PROVIDER;
use crate::Urls;
use crate::config::{LocalAwsConfig, UserPoolConfig};
use crate::credentials::CredentialStore;
use crate::keys::KeyAdmin;
use crate::store::ExpiringMap;
use crate::web::{FormError, FormPage, error_page, redirect, with_query};

/// The managed login pages' answer to a request whose parameters cannot be read: the user pool's error page.
pub(crate) struct PoolPage;

impl FormPage for PoolPage {
    fn refuse(error: &FormError) -> Response {
        error_page(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            &error.to_string(),
        )
    }
}

/// A validated authorize request: the client and redirect URI are known to be registered, so errors from
/// here on may be reported by redirecting to `redirect_uri`.
#[derive(Debug, Clone)]
pub(crate) struct ClientRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    /// The scopes granted: those requested, or every scope the client allows when none were.
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// The S256 PKCE challenge, if the client sent one.
    pub code_challenge: Option<String>,
}

impl ClientRequest {
    /// Reports an error to the client the way Cognito does: `error`, `error_description` and `state` on the
    /// redirect URI.
    pub(crate) fn redirect_error(&self, error: &str, description: &str) -> Response {
        let mut params = vec![("error_description", description), ("error", error)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        redirect(&with_query(&self.redirect_uri, params))
    }
}

/// A sign-in waiting for the IdP to come back to `/oauth2/idpresponse`, keyed by the pool's own state.
#[derive(Debug, Clone)]
pub(crate) struct PendingFederation {
    pub request: ClientRequest,
    pub provider: String,
    /// The nonce the pool sent to the IdP.
    pub nonce: String,
    /// The PKCE verifier of the pool's request to the IdP.
    pub pkce_verifier: String,
    /// The value of the browser's binding cookie when the sign-in started; `/oauth2/idpresponse` answers
    /// only a browser that presents it.
    pub browser_binding: String,
}

/// What a refresh token (and every token derived from one sign-in) stands for.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub client_id: String,
    pub username: String,
    /// The scopes the client asked for, before the trigger changed them; refreshes start from these again.
    pub scopes: Vec<String>,
    /// Shared by every token of the sign-in, refreshed ones included.
    pub origin_jti: String,
    /// The authentication event's id (`event_id` in both tokens).
    pub event_id: String,
    pub auth_time: i64,
}

/// An authorization code the pool issued, with the tokens it will be exchanged for.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCode {
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub session: Session,
    pub tokens: tokens::IssuedTokens,
}

/// A refresh token's state.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub session: Session,
    pub revoked: bool,
}

/// The user pool's ARN, `arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>`.
pub(crate) fn user_pool_arn(region: &str, account_id: &str, user_pool_id: &str) -> String {
    format!("arn:aws:cognito-idp:{region}:{account_id}:userpool/{user_pool_id}")
}

/// A user pool.
pub(crate) struct Pool {
    /// The whole configuration: the region, the account, the backend's and the roles' permissions.
    pub config: Arc<LocalAwsConfig>,
    /// This pool's own configuration.
    pub settings: UserPoolConfig,
    /// The listeners' URLs, with this pool's issuer and domain.
    pub urls: Urls,
    pub keys: KeyAdmin,
    pub http: reqwest::Client,
    /// Identity providers and app-client settings: changed through the user-pool API, read by every sign-in.
    pub state: state::PoolState,
    pub users: users::UserDirectory,
    /// The credentials of the pool's own users (passwords, authenticator apps, lockouts).
    pub accounts: accounts::Accounts,
    /// Where the pool's emails go.
    pub outbox: crate::mail::Outbox,
    /// Sign-ins of the pool's own users between their password and their tokens, by session.
    pub challenges: ExpiringMap<String, native_login::Challenge>,
    pub pending: ExpiringMap<String, PendingFederation>,
    pub codes: ExpiringMap<String, IssuedCode>,
    /// Codes already exchanged, to the origin of their tokens: a replay revokes what the first use issued.
    pub redeemed_codes: ExpiringMap<String, String>,
    pub refresh_tokens: ExpiringMap<String, RefreshGrant>,
    /// `origin_jti`s of revoked sign-ins: their access tokens no longer work at userInfo.
    pub revoked_origins: ExpiringMap<String, ()>,
}

impl Pool {
    pub(crate) fn new(
        config: Arc<LocalAwsConfig>,
        settings: UserPoolConfig,
        urls: Urls,
        keys: KeyAdmin,
        http: reqwest::Client,
        outbox: crate::mail::Outbox,
    ) -> Arc<Pool> {
        Arc::new(Pool {
            state: state::PoolState::new(&settings),
            config,
            settings,
            urls,
            keys,
            http,
            users: users::UserDirectory::new(),
            accounts: accounts::Accounts::new(),
            outbox,
            challenges: ExpiringMap::new(),
            pending: ExpiringMap::new(),
            codes: ExpiringMap::new(),
            redeemed_codes: ExpiringMap::new(),
            refresh_tokens: ExpiringMap::new(),
            revoked_origins: ExpiringMap::new(),
        })
    }

    /// Ends every sign-in of the user: their refresh tokens stop working and their access tokens stop working
    /// at userInfo (what `AdminDisableUser` and `AdminDeleteUser` do, and `AdminUserGlobalSignOut`).
    pub(crate) fn revoke_sign_ins_of(&self, username: &str) {
        let longest = self
            .settings
            .clients
            .values()
            .map(|client| {
                client
                    .refresh_token_validity
                    .max(client.access_token_validity)
            })
            .max()
            .unwrap_or_default();
        for grant in self
            .refresh_tokens
            .values_where(|grant| grant.session.username == username)
        {
            self.revoked_origins
                .insert(grant.session.origin_jti.clone(), (), longest);
        }
        self.refresh_tokens.update_where(
            |grant| grant.session.username == username,
            |grant| grant.revoked = true,
        );
    }

    /// Whether the sign-in an ID token comes from still stands: its user exists and it has not been revoked
    /// (signed out). What an identity pool with `ServerSideTokenCheck` asks the user pool before it hands
    /// out credentials.
    pub(crate) fn sign_in_stands(&self, username: &str, origin_jti: &str) -> bool {
        self.users.get(username).is_some_and(|user| user.enabled)
            && self.revoked_origins.get(&origin_jti.to_owned()).is_none()
    }

    /// The pool's `/oauth2/idpresponse` URL, the redirect URI registered at every IdP.
    pub(crate) fn idp_response_url(&self) -> String {
        format!("{}/oauth2/idpresponse", self.urls.auth_domain)
    }
}

/// Every running pool, the tenants' first: what the shared `cognito-idp` host serves.
#[derive(Clone)]
pub(crate) struct Pools {
    pools: Arc<[Arc<Pool>]>,
    /// The whole configuration, which every pool shares.
    config: Arc<LocalAwsConfig>,
    /// The credentials the user-pool API's callers sign with, which every pool shares.
    credentials: CredentialStore,
}

impl Pools {
    pub(crate) fn new(
        config: Arc<LocalAwsConfig>,
        credentials: CredentialStore,
        pools: Vec<Arc<Pool>>,
    ) -> Pools {
        Pools {
            pools: pools.into(),
            config,
            credentials,
        }
    }

    /// The pool with this id.
    pub(crate) fn find(&self, user_pool_id: &str) -> Option<&Arc<Pool>> {
        self.pools
            .iter()
            .find(|pool| pool.settings.user_pool_id == user_pool_id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Pool>> {
        self.pools.iter()
    }

    pub(crate) fn config(&self) -> &LocalAwsConfig {
        &self.config
    }

    pub(crate) fn credentials(&self) -> &CredentialStore {
        &self.credentials
    }
}

/// `cognito-idp.<region>.amazonaws.com`: each pool's discovery document and JWKS under its id, and the
/// user-pool API (`POST /`), which finds the pool by the request's `UserPoolId`.
pub(crate) fn cognito_idp_router(pools: Pools) -> Router {
    let mut router = Router::new().route("/", post(admin::dispatch).with_state(pools.clone()));
    for pool in pools.iter() {
        let pool_id = &pool.settings.user_pool_id;
        router = router.merge(
            Router::new()
                .route(
                    &format!("/{pool_id}/.well-known/openid-configuration"),
                    get(discovery::openid_configuration),
                )
                .route(
                    &format!("/{pool_id}/.well-known/jwks.json"),
                    get(discovery::jwks),
                )
                .with_state(pool.clone()),
        );
    }
    router
}

/// The user pool domain: hosted sign-in, token, userInfo, revocation and sign-out endpoints.
pub(crate) fn auth_router(pool: Arc<Pool>) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize::authorize))
        .route("/error", get(authorize::error))
        .route("/login", get(login::show).post(login::submit))
        .route("/login/challenge", post(native_login::respond))
        .route(
            "/forgotPassword",
            get(forgot_password::show).post(forgot_password::request_code),
        )
        .route(
            "/confirmForgotPassword",
            get(forgot_password::show_confirm).post(forgot_password::confirm),
        )
        .route("/oauth2/idpresponse", get(federation::idp_response))
        .route("/oauth2/token", axum::routing::post(token::token))
        .route(
            "/oauth2/userInfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/oauth2/revoke", axum::routing::post(revoke::revoke))
        .route("/logout", get(logout::logout))
        .with_state(pool)
}
