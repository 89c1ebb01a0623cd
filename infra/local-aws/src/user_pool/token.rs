//! `/oauth2/token`: client authentication, then the authorization code, refresh token and client credentials
//! grants, with Cognito's JSON error bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::tokens::{IssuedTokens, apply_overrides, draft, sign, sign_machine};
use super::{Pool, RefreshGrant};
use crate::config::AppClient;
use crate::oauth::{PkceMethod, pkce_matches, presented_client};
use crate::store::random_token;
use crate::trigger::{self, TriggerInput, TriggerSource};
use crate::web::{no_store_json, oauth_error, parse_form};

/// `POST /oauth2/token`.
pub(crate) async fn token(
    State(pool): State<Arc<Pool>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(params) = parse_form(&body) else {
        return oauth_error("invalid_request");
    };
    let client = match authenticate(&pool, &headers, &params) {
        Some(client) => client,
        None => return oauth_error("invalid_client"),
    };
    let client = &client;
    match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(&pool, client, &params),
        Some("refresh_token") => refresh(&pool, client, &params).await,
        Some("client_credentials") => client_credentials(&pool, client, &params),
        Some(_) => oauth_error("unsupported_grant_type"),
        None => oauth_error("invalid_request"),
    }
}

/// The client's current settings, if its credentials (Basic or form body) are right.
fn authenticate(
    pool: &Pool,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Option<AppClient> {
    let presented = presented_client(headers, params)?;
    let client = pool.state.client(&presented.client_id)?;
    presented
        .secret_matches(client.client_secret.as_deref())
        .then_some(client)
}

fn success(tokens: &IssuedTokens, refresh_token: Option<&str>) -> Response {
    let mut body = json!({ "access_token": tokens.access_token, "token_type": "Bearer", "expires_in": tokens.expires_in });
    if let Some(id_token) = &tokens.id_token {
        body["id_token"] = json!(id_token);
    }
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    no_store_json(StatusCode::OK, &body)
}

fn authorization_code(
    pool: &Pool,
    client: &AppClient,
    params: &HashMap<String, String>,
) -> Response {
    if !client.allows_flow("code") {
        return oauth_error("unauthorized_client");
    }
    let Some(code) = params.get("code") else {
        return oauth_error("invalid_request");
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return oauth_error("invalid_request");
    };
    // The code is consumed before any other check: a code is good for one attempt, right or wrong.
    let Some(issued) = pool.codes.take(code) else {
        if let Some(origin) = pool.redeemed_codes.get(code) {
            // A replayed code means it leaked: revoke what its first use issued (RFC 6749 §4.1.2).
            tracing::warn!("authorization code replayed; revoking the tokens it issued");
            revoke_origin(pool, &origin, client);
        }
        return oauth_error("invalid_grant");
    };
    pool.redeemed_codes.insert(
        code.clone(),
        issued.session.origin_jti.clone(),
        client.refresh_token_validity,
    );
    if issued.session.client_id != client.client_id || &issued.redirect_uri != redirect_uri {
        return oauth_error("invalid_grant");
    }
    if let Some(challenge) = &issued.code_challenge {
        let verified = params
            .get("code_verifier")
            .is_some_and(|v| pkce_matches(PkceMethod::S256, v, challenge));
        if !verified {
            return oauth_error("invalid_grant");
        }
    }
    let refresh_token = random_token(96);
    pool.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshGrant {
            session: issued.session,
            revoked: false,
        },
        client.refresh_token_validity,
    );
    success(&issued.tokens, Some(&refresh_token))
}

/// Revokes every token of one sign-in: its refresh token stops working and its access tokens stop working
/// at userInfo.
pub(crate) fn revoke_origin(pool: &Pool, origin_jti: &str, client: &AppClient) {
    pool.revoked_origins.insert(
        origin_jti.to_owned(),
        (),
        client
            .refresh_token_validity
            .max(client.access_token_validity),
    );
    pool.refresh_tokens.update_where(
        |grant| grant.session.origin_jti == origin_jti,
        |grant| grant.revoked = true,
    );
}

async fn refresh(pool: &Pool, client: &AppClient, params: &HashMap<String, String>) -> Response {
    let Some(token) = params.get("refresh_token") else {
        return oauth_error("invalid_request");
    };
    let Some(grant) = pool.refresh_tokens.get(token) else {
        return oauth_error("invalid_grant");
    };
    if grant.revoked || grant.session.client_id != client.client_id {
        return oauth_error("invalid_grant");
    }
    let Some(user) = pool.users.get(&grant.session.username) else {
        return oauth_error("invalid_grant");
    };
    let mut tokens = draft(pool, client, &user, &grant.session, None);
    if let Some(trigger) = &pool.settings.trigger {
        let input = TriggerInput {
            source: TriggerSource::RefreshTokens,
            region: &pool.config.region,
            user_pool_id: &pool.settings.user_pool_id,
            client_id: &client.client_id,
            username: &user.username,
            attributes: &user.attributes,
            groups: &user.groups,
            scopes: &grant.session.scopes,
        };
        match trigger::invoke(&pool.http, &pool.urls.lambda, trigger, &input).await {
            Ok(Some(details)) => {
                if let Err(message) = apply_overrides(&mut tokens, &details) {
                    tracing::warn!(%message, "pre-token-generation trigger changed a protected claim");
                    return oauth_error("invalid_grant");
                }
            }
            Ok(None) => {}
            Err(failure) => {
                tracing::info!(%failure, "refresh refused by the pre-token-generation trigger");
                return oauth_error("invalid_grant");
            }
        }
    }
    match sign(pool, tokens) {
        Ok(tokens) => success(&tokens, None),
        Err(error) => {
            tracing::error!(%error, "signing tokens");
            no_store_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": "server_error" }),
            )
        }
    }
}

fn client_credentials(
    pool: &Pool,
    client: &AppClient,
    params: &HashMap<String, String>,
) -> Response {
    if !client.allows_flow("client_credentials") {
        return oauth_error("unauthorized_client");
    }
    let resource_scopes = pool.settings.resource_server.qualified_scopes();
    let allowed: Vec<String> = client
        .allowed_oauth_scopes
        .iter()
        .filter(|s| resource_scopes.contains(s))
        .cloned()
        .collect();
    let requested: Vec<String> = params
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let scopes = if requested.is_empty() {
        allowed.clone()
    } else {
        requested
    };
    if scopes.is_empty() || scopes.iter().any(|scope| !allowed.contains(scope)) {
        return oauth_error("invalid_scope");
    }
    match sign_machine(pool, client, &scopes) {
        Ok(tokens) => success(&tokens, None),
        Err(error) => {
            tracing::error!(%error, "signing a machine token");
            no_store_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": "server_error" }),
            )
        }
    }
}
