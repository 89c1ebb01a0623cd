//! Federation: the pool as an OIDC client of the tenant's IdP (discovery, authorization code + PKCE, ID token
//! verification with the `openidconnect` crate), then the pool user, the trigger, the tokens and a code for
//! the app.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde_json::{Map, Value};

use super::tokens::{apply_overrides, draft, sign};
use super::{ClientRequest, IssuedCode, PendingFederation, Pool, Session};
use crate::config::IdentityProvider;
use crate::store::{random_token, unix_now};
use crate::trigger::{self, TriggerInput, TriggerSource};
use crate::web::{error_page, parse_form, redirect, with_query};

/// How long the pool waits for the user to come back from the IdP.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// An OIDC client built from the IdP's discovery document.
type IdpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a federated sign-in failed after the IdP answered.
#[derive(Debug, thiserror::Error)]
enum FederationError {
    #[error("identity provider discovery failed: {0}")]
    Discovery(String),
    #[error("identity provider token request failed: {0}")]
    TokenRequest(String),
    #[error("identity provider returned no id_token")]
    NoIdToken,
    #[error("id_token verification failed: {0}")]
    Verification(String),
}

impl FederationError {
    /// What the app is told; detail stays in the log.
    fn description(&self) -> &'static str {
        match self {
            FederationError::Discovery(_) => "Error retrieving identity provider configuration",
            FederationError::TokenRequest(_) => {
                "Error exchanging the identity provider authorization code"
            }
            FederationError::NoIdToken | FederationError::Verification(_) => {
                "Bad id_token from identity provider"
            }
        }
    }
}

async fn discover(pool: &Pool, idp: &IdentityProvider) -> Result<IdpClient, FederationError> {
    let issuer = crate::idp_issuer_for(&idp.kind, &pool.urls.entra, &pool.urls.okta);
    let issuer = IssuerUrl::new(issuer).map_err(|e| FederationError::Discovery(e.to_string()))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &pool.http)
        .await
        .map_err(|e| {
            FederationError::Discovery(format!("{e}: {:?}", std::error::Error::source(&e)))
        })?;
    let redirect = RedirectUrl::new(pool.idp_response_url())
        .map_err(|e| FederationError::Discovery(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(idp.client_id.clone()),
        Some(ClientSecret::new(idp.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// Sends the browser to the IdP's authorize endpoint with the pool's own state, nonce and PKCE.
pub(crate) async fn start(pool: &Pool, request: ClientRequest, idp: &IdentityProvider) -> Response {
    let client = match discover(pool, idp).await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, provider = %idp.name, "starting a federated sign-in");
            return request.redirect_error("temporarily_unavailable", error.description());
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = random_token(32);
    let nonce = random_token(32);
    let scopes = idp
        .authorize_scopes
        .split_whitespace()
        .filter(|s| *s != "openid")
        .map(|s| Scope::new(s.to_owned()));
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            {
                let state = state.clone();
                move || CsrfToken::new(state)
            },
            {
                let nonce = nonce.clone();
                move || Nonce::new(nonce)
            },
        )
        .add_scopes(scopes)
        .set_pkce_challenge(challenge)
        .url();
    pool.pending.insert(
        state,
        PendingFederation {
            request,
            provider: idp.name.clone(),
            nonce,
            pkce_verifier: verifier.secret().clone(),
        },
        PENDING_LIFETIME,
    );
    redirect(url.as_str())
}

/// `GET /oauth2/idpresponse`: where the IdP sends the browser back.
pub(crate) async fn idp_response(
    State(pool): State<Arc<Pool>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match parse_form(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(error) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &error.to_string(),
            );
        }
    };
    // Without a live state there is no request to answer, so no redirect target either.
    let Some(pending) = params
        .get("state")
        .and_then(|state| pool.pending.take(state))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid state: the sign-in expired or was already completed.",
        );
    };
    let request = pending.request.clone();
    if let Some(error) = params.get("error") {
        let description = params
            .get("error_description")
            .map_or(error.as_str(), String::as_str);
        tracing::info!(%error, %description, provider = %pending.provider, "identity provider refused the sign-in");
        return request.redirect_error("invalid_request", description);
    }
    let Some(code) = params.get("code") else {
        return request.redirect_error(
            "invalid_request",
            "Missing authorization code from identity provider",
        );
    };
    let Some(idp) = pool.config.identity_provider(&pending.provider) else {
        return request.redirect_error("invalid_request", "Identity provider does not exist");
    };
    let claims = match verified_claims(&pool, idp, &pending, code).await {
        Ok(claims) => claims,
        Err(error) => {
            tracing::warn!(%error, provider = %idp.name, "federated sign-in failed");
            return request.redirect_error("invalid_request", error.description());
        }
    };
    let user = match pool
        .users
        .upsert_federated(&pool.config.user_pool_id, idp, &claims)
    {
        Ok(user) => user,
        Err(error) => {
            tracing::warn!(%error, provider = %idp.name, "federated sign-in failed");
            return request
                .redirect_error("invalid_request", "Bad id_token from identity provider");
        }
    };
    let Some(client) = pool.config.client_by_id(&request.client_id) else {
        return request.redirect_error("invalid_request", "Invalid client_id");
    };
    let session = Session {
        client_id: client.client_id.clone(),
        username: user.username.clone(),
        scopes: request.scopes.clone(),
        origin_jti: uuid::Uuid::new_v4().to_string(),
        auth_time: unix_now(),
    };
    let mut tokens = draft(&pool, client, &user, &session, request.nonce.as_deref());
    if let Some(trigger) = &pool.config.trigger {
        let input = TriggerInput {
            source: TriggerSource::HostedAuth,
            region: &pool.config.region,
            user_pool_id: &pool.config.user_pool_id,
            client_id: &client.client_id,
            username: &user.username,
            attributes: &user.attributes,
            groups: &user.groups,
            scopes: &session.scopes,
        };
        match trigger::invoke(&pool.http, trigger, pool.config.trigger_timeout, &input).await {
            Ok(Some(details)) => {
                if let Err(message) = apply_overrides(&mut tokens, &details) {
                    tracing::warn!(%message, "pre-token-generation trigger changed a protected claim");
                    let failure = trigger::TriggerFailure { message };
                    return request.redirect_error("invalid_request", &failure.to_string());
                }
            }
            Ok(None) => {}
            Err(failure) => return request.redirect_error("invalid_request", &failure.to_string()),
        }
    }
    let tokens = match sign(&pool, tokens) {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::error!(%error, "signing tokens");
            return request.redirect_error("server_error", "Internal server error");
        }
    };
    let code = uuid::Uuid::new_v4().to_string();
    pool.codes.insert(
        code.clone(),
        IssuedCode {
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            session,
            tokens,
        },
        pool.config.authorization_code_validity,
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    redirect(&with_query(&request.redirect_uri, params))
}

/// Exchanges the IdP's code (with the pool's client secret and PKCE verifier) and verifies the ID token:
/// signature against the IdP's JWKS, issuer, audience, expiry and nonce. Returns its claims.
async fn verified_claims(
    pool: &Pool,
    idp: &IdentityProvider,
    pending: &PendingFederation,
    code: &str,
) -> Result<Map<String, Value>, FederationError> {
    let client = discover(pool, idp).await?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| FederationError::TokenRequest(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&pool.http)
        .await
        .map_err(|e| {
            FederationError::TokenRequest(format!("{e}: {:?}", std::error::Error::source(&e)))
        })?;
    let id_token = response.id_token().ok_or(FederationError::NoIdToken)?;
    id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(pending.nonce.clone()),
        )
        .map_err(|e| FederationError::Verification(e.to_string()))?;
    // The token is verified; read every claim (Entra's oid, tid and roles, Okta's groups) from its payload.
    let raw = id_token.to_string();
    let payload = raw
        .split('.')
        .nth(1)
        .ok_or_else(|| FederationError::Verification("not a JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| FederationError::Verification(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| FederationError::Verification(e.to_string()))
}
