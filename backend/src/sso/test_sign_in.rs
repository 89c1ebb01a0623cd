//! The set-up's test sign-in: the IT admin (or anyone they ask) signs in once through the provider under test,
//! and the wizard shows what the provider sent, before anyone depends on it.
//!
//! `GET /setup/auth/test` starts an authorization code flow (PKCE, state, nonce, a pending cookie of its own on
//! `/setup/auth`) with the web client, `identity_provider=<the provider under test>` and the redirect URI
//! `/setup/auth/callback`. The trigger recognises the provider as under test: it creates no member and issues
//! tokens without tenant and without API scope, marked `setup_test`. The callback, for the same set-up session,
//! exchanges the code, verifies the ID token, checks it came through this tenant's provider under test, and
//! keeps the claims on the set-up link, where only that session reads them. The tokens themselves are not
//! kept: the refresh token is revoked at once.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse as _, Redirect, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use shared::ErrorCode;
use shared::api::{AuditAction, PlatformAuditAction};
use time::OffsetDateTime;

use super::links::audit_both;
use super::wizard::SetupCaller;
use crate::auth::login::{CallbackQuery, answered_code};
use crate::auth::oidc::OidcError;
use crate::auth::pending::{PendingCookie, PendingLogin};
use crate::client_ip::ClientIp;
use crate::db::audit::Target;
use crate::db::{self, identity_providers, setup_links};
use crate::error::AppQuery;
use crate::state::AppState;

/// The test sign-in's pending cookie, sent only to `/setup/auth`.
pub const SETUP_TEST: PendingCookie = PendingCookie {
    name: "saas_setup_test",
    secure_name: "__Secure-saas_setup_test",
    path: "/setup/auth",
    purpose: b"saas-reference/pending-setup-test/v1",
};

/// Where the wizard's page is, to come back to.
const WIZARD: &str = "/setup";

/// `GET /setup/auth/test`: sends the browser to the provider under test through the user pool, or back to the
/// wizard with `/setup?error=<code>` when it cannot start: `setup_link_invalid` without an open set-up
/// session, `unknown_identity_provider` when no provider is under test (a tab left open from before the
/// provider was saved, or after activation), `service_unavailable` when the user pool does not answer. The
/// browser navigates here, so it is answered with a page to show, never a JSON error.
pub async fn start(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match begin(&state, &headers).await {
        Ok(response) => response,
        Err(code) => Redirect::to(&format!("{WIZARD}?error={}", code.as_str())).into_response(),
    }
}

async fn begin(state: &AppState, headers: &HeaderMap) -> Result<Response, ErrorCode> {
    let caller = SetupCaller::from_headers(state, headers)
        .await
        .map_err(|error| error.code())?;
    let mut tx = db::tenant_tx(&state.db, caller.tenant_id)
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    let provider = identity_providers::setup_provider(&mut tx)
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?
        .filter(|provider| provider.testing)
        .ok_or(ErrorCode::UnknownIdentityProvider)?;
    tx.commit()
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    let scopes = ["email".to_owned(), "profile".to_owned()];
    let start = state
        .setup_oidc
        .authorization_request(Some(&provider.name), &scopes, None)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "set-up test sign-in: the authorization request could not be made");
            match error {
                OidcError::Unavailable(_) => ErrorCode::ServiceUnavailable,
                _ => ErrorCode::Internal,
            }
        })?;
    let pending = PendingLogin {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        return_to: None,
        created_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    let cookie = SETUP_TEST
        .set_cookie(&state.tokens, &pending, state.config.cookie_secure)
        .map_err(|error| {
            tracing::error!(%error, "set-up test sign-in: the pending cookie could not be sealed");
            ErrorCode::Internal
        })?;
    tracing::info!(provider = %provider.name, "set-up test sign-in started");
    Ok(([(SET_COOKIE, cookie)], Redirect::to(start.url.as_str())).into_response())
}

/// `GET /setup/auth/callback`: records what the provider sent and returns to the wizard (`/setup?test=done`,
/// or `/setup?error=<code>`).
pub async fn callback(
    State(state): State<AppState>,
    ClientIp(source_ip): ClientIp,
    headers: HeaderMap,
    AppQuery(query): AppQuery<CallbackQuery>,
) -> Response {
    let secure = state.config.cookie_secure;
    let pending = SETUP_TEST.from_headers(&state.tokens, &headers, secure);
    let clear = [(SET_COOKIE, SETUP_TEST.clear_cookie(secure))];
    let outcome = match SetupCaller::from_headers(&state, &headers).await {
        Ok(caller) => finish(&state, caller, source_ip, pending, &query).await,
        Err(_) => Err(ErrorCode::SetupLinkInvalid),
    };
    let target = match outcome {
        Ok(()) => format!("{WIZARD}?test=done"),
        Err(code) => format!("{WIZARD}?error={}", code.as_str()),
    };
    (clear, Redirect::to(&target)).into_response()
}

async fn finish(
    state: &AppState,
    caller: SetupCaller,
    source_ip: Option<std::net::IpAddr>,
    pending: Option<PendingLogin>,
    query: &CallbackQuery,
) -> Result<(), ErrorCode> {
    let (pending, code) = answered_code(pending, query)?;
    let tokens = state
        .setup_oidc
        .exchange_code(code, &pending.pkce_verifier, &pending.nonce)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "set-up test sign-in: the code exchange failed");
            ErrorCode::SignInFailed
        })?;
    if let Some(refresh) = &tokens.refresh_token
        && let Err(error) = state
            .setup_oidc
            .revoke(state.config.auth_domain_url("oauth2/revoke"), refresh)
            .await
    {
        tracing::warn!(%error, "set-up test sign-in: the refresh token could not be revoked");
    }
    // The ID token was verified by the exchange (issuer, audience, signature, expiry, nonce); its claims are
    // read here.
    let claims = id_token_claims(&tokens.id_token).ok_or(ErrorCode::SignInFailed)?;
    let mut tx = db::tenant_tx(&state.db, caller.tenant_id)
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    caller
        .hold_open(&mut tx)
        .await
        .map_err(|error| error.code())?;
    let provider = identity_providers::setup_provider(&mut tx)
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?
        .filter(|provider| provider.testing)
        .ok_or(ErrorCode::UnknownIdentityProvider)?;
    let result = test_result(&claims, &provider.name).ok_or_else(|| {
        tracing::warn!(provider = %provider.name, "set-up test sign-in: the tokens are not a test sign-in through the provider under test");
        ErrorCode::SignInFailed
    })?;
    setup_links::record_test(&mut tx, caller.link_id, &result)
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    audit_both(
        &mut tx,
        &caller.actors(source_ip),
        (
            AuditAction::SsoTestSignIn,
            PlatformAuditAction::SsoTestSignIn,
        ),
        Target {
            kind: "tenant",
            id: provider.name.clone(),
            label: format!("identity provider {}", provider.name),
        },
        json!({ "subject": result["subject"], "groups": result["groups"] }),
    )
    .await
    .map_err(|_| ErrorCode::ServiceUnavailable)?;
    tx.commit()
        .await
        .map_err(|_| ErrorCode::ServiceUnavailable)?;
    tracing::info!(provider = %provider.name, "set-up test sign-in recorded");
    Ok(())
}

/// The claims of a JWT whose signature was verified already.
fn id_token_claims(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// What the wizard shows of a test sign-in, from the ID token's claims: only when the trigger marked it a test
/// and its identity is the provider under test `provider`.
fn test_result(claims: &serde_json::Map<String, Value>, provider: &str) -> Option<Value> {
    if claims.get("setup_test") != Some(&Value::Bool(true)) {
        return None;
    }
    let identities = claims.get("identities")?.as_array()?;
    let identity = identities
        .iter()
        .find(|identity| identity["providerName"].as_str() == Some(provider))?;
    let subject = identity["userId"].as_str()?.to_owned();
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(verified)) => Some(*verified),
        Some(Value::String(text)) => match text.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    let groups: Vec<String> = match claims.get("custom:idp_groups") {
        Some(Value::String(text)) => {
            serde_json::from_str::<Vec<String>>(text).unwrap_or_else(|_| {
                text.split(',')
                    .map(|g| g.trim().to_owned())
                    .filter(|g| !g.is_empty())
                    .collect()
            })
        }
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Some(json!({
        "subject": subject,
        "email": claims.get("email").and_then(Value::as_str).unwrap_or_default(),
        "email_verified": email_verified,
        "groups": groups,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn only_a_test_sign_in_through_the_provider_under_test_counts() {
        let through = |provider: &str, test: bool| {
            claims(json!({
                "setup_test": test,
                "identities": [{"providerName": provider, "userId": "00u1peter"}],
                "email": "peter@initech.example",
                "email_verified": "true",
                "custom:idp_groups": "[\"saas-admins\"]",
            }))
        };
        let result =
            test_result(&through("initech-okta", true), "initech-okta").unwrap_or_default();
        assert_eq!(result["subject"], "00u1peter");
        assert_eq!(result["email_verified"], true);
        assert_eq!(result["groups"], json!(["saas-admins"]));
        assert!(test_result(&through("globex-okta", true), "initech-okta").is_none());
        assert!(test_result(&through("initech-okta", false), "initech-okta").is_none());
    }
}
