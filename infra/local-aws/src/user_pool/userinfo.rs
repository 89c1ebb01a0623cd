//! `/oauth2/userInfo`: the user's attributes for a valid, unrevoked access token with the `openid` scope.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Map, Value, json};

use super::Pool;
use super::tokens::verify_access_token;
use crate::web::bearer_token;

/// `GET` or `POST /oauth2/userInfo` with `Authorization: Bearer <access token>`.
pub(crate) async fn userinfo(State(pool): State<Arc<Pool>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer_token(&headers) else {
        return unauthorized("invalid_request", "Access token is missing");
    };
    let claims = match verify_access_token(&pool, &token) {
        Ok(claims) => claims,
        Err(error) => return unauthorized("invalid_token", &error.to_string()),
    };
    let scopes = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scopes.split_whitespace().any(|s| s == "openid") {
        return unauthorized(
            "insufficient_scope",
            "Access token does not have the openid scope",
        );
    }
    let user = claims
        .get("username")
        .and_then(Value::as_str)
        .and_then(|username| pool.users.get(username));
    let client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|id| pool.state.client(id));
    let (Some(user), Some(client)) = (user, client) else {
        return unauthorized("invalid_token", "User does not exist");
    };
    // Cognito answers with attribute strings (email_verified is "true", identities a JSON string).
    let mut body = Map::new();
    body.insert("sub".into(), json!(user.sub));
    for attribute in &client.read_attributes {
        if let Some(value) = user.attribute(attribute) {
            body.insert(attribute.clone(), json!(value));
        } else if attribute == "email_verified" {
            body.insert(attribute.clone(), json!("false"));
        }
    }
    if let Some(identities) = user.attribute("identities") {
        body.insert("identities".into(), json!(identities));
    }
    body.insert("username".into(), json!(user.username));
    Json(Value::Object(body)).into_response()
}

fn unauthorized(error: &str, description: &str) -> Response {
    let challenge = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
    let challenge =
        HeaderValue::from_str(&challenge).unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, challenge)],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}
