//! The end of every browser sign-in, federated or with the pool's own password: the sign-in's tokens drafted
//! for the user, passed through the pre-token-generation trigger, signed, and an authorization code for them
//! sent to the client's redirect URI.

use axum::response::Response;

use super::tokens::{apply_overrides, draft, sign};
use super::users::PoolUser;
use super::{ClientRequest, IssuedCode, Pool, Session};
use crate::config::AppClient;
use crate::store::unix_now;
use crate::trigger::{self, TriggerInput, TriggerSource};
use crate::web::{redirect, with_query};

/// Issues the tokens of a new sign-in of `user` through `client` and redirects to the client with a code for
/// them (or with the error that stopped them).
pub(crate) async fn authorization_code(
    pool: &Pool,
    client: &AppClient,
    request: &ClientRequest,
    user: &PoolUser,
) -> Response {
    let session = Session {
        client_id: client.client_id.clone(),
        username: user.username.clone(),
        scopes: request.scopes.clone(),
        origin_jti: uuid::Uuid::new_v4().to_string(),
        event_id: uuid::Uuid::new_v4().to_string(),
        auth_time: unix_now(),
    };
    let mut tokens = draft(pool, client, user, &session, request.nonce.as_deref());
    if let Some(trigger) = &pool.settings.trigger {
        let input = TriggerInput {
            source: TriggerSource::HostedAuth,
            region: &pool.config.region,
            user_pool_id: &pool.settings.user_pool_id,
            client_id: &client.client_id,
            username: &user.username,
            attributes: &user.attributes,
            groups: &user.groups,
            scopes: &session.scopes,
        };
        match trigger::invoke(&pool.http, &pool.urls.lambda, trigger, &input).await {
            Ok(Some(details)) => {
                if let Err(message) = apply_overrides(&mut tokens, &details) {
                    tracing::warn!(%message, "pre-token-generation trigger changed a protected claim");
                    let failure = trigger::TriggerFailure::Refused { message };
                    return request.redirect_error("invalid_request", &failure.to_string());
                }
            }
            Ok(None) => {}
            Err(failure) => return request.redirect_error("invalid_request", &failure.to_string()),
        }
    }
    let tokens = match sign(pool, tokens) {
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
        pool.settings.authorization_code_validity,
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    redirect(&with_query(&request.redirect_uri, params))
}
