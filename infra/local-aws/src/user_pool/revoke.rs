//! `/oauth2/revoke`: revokes a refresh token and every access token derived from the same sign-in.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Pool;
use super::token::revoke_origin;
use crate::oauth::presented_client;
use crate::web::{oauth_error, parse_form};

/// `POST /oauth2/revoke` with client authentication and `token=<refresh token>`.
pub(crate) async fn revoke(
    State(pool): State<Arc<Pool>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(params) = parse_form(&body) else {
        return oauth_error("invalid_request");
    };
    let Some(presented) = presented_client(&headers, &params) else {
        return oauth_error("invalid_client");
    };
    let Some(client) = pool.state.client(&presented.client_id) else {
        return oauth_error("invalid_client");
    };
    if !presented.secret_matches(client.client_secret.as_deref()) {
        return oauth_error("invalid_client");
    }
    if !client.enable_token_revocation {
        return oauth_error("unsupported_token_type");
    }
    let Some(token) = params.get("token") else {
        return oauth_error("invalid_request");
    };
    // An unknown or expired token is already unusable: answer 200 as RFC 7009 §2.2 says.
    let Some(grant) = pool.refresh_tokens.get(token) else {
        return StatusCode::OK.into_response();
    };
    if grant.session.client_id != client.client_id {
        return oauth_error("unauthorized_client");
    }
    revoke_origin(&pool, &grant.session.origin_jti, &client);
    StatusCode::OK.into_response()
}
