//! The issuer's OIDC discovery document and JWKS, with the fields real Cognito publishes.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Json;
use serde_json::{Value, json};

use super::Pool;

/// `GET /<userPoolId>/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(pool): State<Arc<Pool>>) -> Json<Value> {
    let auth = &pool.urls.auth_domain;
    Json(json!({
        "authorization_endpoint": format!("{auth}/oauth2/authorize"),
        "end_session_endpoint": format!("{auth}/logout"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": pool.urls.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", pool.urls.issuer),
        "response_types_supported": ["code", "token"],
        "revocation_endpoint": format!("{auth}/oauth2/revoke"),
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint": format!("{auth}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_endpoint": format!("{auth}/oauth2/userInfo"),
    }))
}

/// `GET /<userPoolId>/.well-known/jwks.json`: every published key, retired ones excluded.
pub(crate) async fn jwks(State(pool): State<Arc<Pool>>) -> Json<Value> {
    Json(pool.keys.jwks())
}
