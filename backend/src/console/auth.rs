//! The operators' sign-in: `GET /operator/auth/login`, `GET /operator/auth/callback` and
//! `POST /operator/auth/logout`, the backend-for-frontend flow of the tenant app ([`crate::auth::login`])
//! against the operators' pool with the console client.
//!
//! The differences are the pool's: there is no home-realm discovery (operators are native accounts, so the
//! authorize request names no identity provider and the pool shows its managed login, with password, new
//! password and MFA), the scopes are `openid email <operators' resource server>/operate`, there is no
//! membership (an operator is whoever the operators' pool issued a console token to), and every outcome
//! returns to the console at `/operator`.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;
use shared::ErrorCode;
use shared::api::PlatformAuditAction;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::principal::OperatorSignedIn;
use crate::auth::login::{CallbackQuery, answered_code, safe_return_to};
use crate::auth::oidc::{OidcError, TokenSet};
use crate::auth::pending::{OPERATOR_SIGN_IN, PendingLogin};
use crate::auth::principal::sign_in_of;
use crate::auth::session::{self, OPERATOR_SIGNED_IN_KEY, SessionTokens};
use crate::client_ip::ClientIp;
use crate::db;
use crate::db::platform::{self, NewPlatformEvent, OperatorRef};
use crate::error::{ApiError, AppQuery};
use crate::state::AppState;

/// Where the console lives, and where every sign-in outcome returns to.
pub const CONSOLE_PATH: &str = "/operator";

/// Query of `GET /operator/auth/login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// A path of the console to return to after sign-in; anything else is ignored.
    pub return_to: Option<String>,
}

/// `GET /operator/auth/login`: keeps the pending sign-in in a sealed cookie of this browser (path
/// `/operator/auth`) and sends the browser to the operators' pool's authorize endpoint. Sign-in starts count
/// against the same per-address limit as the tenant app's (429 beyond it).
pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    AppQuery(query): AppQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    state.sign_in_limiter.check(client)?;
    let scopes = ["email".to_owned(), state.config.operators.operate_scope()];
    let start = match state
        .console
        .oidc
        .authorization_request(None, &scopes, None)
        .await
    {
        Ok(start) => start,
        Err(OidcError::Unavailable(cause)) => {
            tracing::warn!(error = %cause, "operator sign-in could not start: the operators' pool is unavailable");
            return Ok(console_error(ErrorCode::ServiceUnavailable).into_response());
        }
        Err(other) => return Err(ApiError::internal(other)),
    };
    let pending = PendingLogin {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        return_to: query.return_to.as_deref().and_then(console_return_to),
        created_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    let cookie = OPERATOR_SIGN_IN
        .set_cookie(&state.tokens, &pending, state.config.cookie_secure)
        .map_err(ApiError::internal)?;
    tracing::info!("operator sign-in started");
    Ok(([(SET_COOKIE, cookie)], Redirect::to(start.url.as_str())).into_response())
}

/// `return_to` if it is a same-site path of the console (`/operator`, `/operator/...`), else `None`: the
/// console's sign-in never lands an operator in the tenant app.
fn console_return_to(value: &str) -> Option<String> {
    let path = safe_return_to(value)?;
    let rest = path.strip_prefix(CONSOLE_PATH)?;
    (rest.is_empty() || rest.starts_with(['/', '?', '#'])).then_some(path)
}

/// `GET /operator/auth/callback`: completes the sign-in started in this browser. The pending sign-in cookie
/// is cleared in every answer; then the code is exchanged, both tokens verified, and the session id rotated
/// before the signed-in session is stored. Every outcome is a redirect into the console.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    ClientIp(source_ip): ClientIp,
    AppQuery(query): AppQuery<CallbackQuery>,
) -> Response {
    let secure = state.config.cookie_secure;
    let pending = OPERATOR_SIGN_IN.from_headers(&state.tokens, &headers, secure);
    let redirect = complete_sign_in(&state, &session, source_ip, query, pending).await;
    (
        [(SET_COOKIE, OPERATOR_SIGN_IN.clear_cookie(secure))],
        redirect,
    )
        .into_response()
}

async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    source_ip: Option<IpAddr>,
    query: CallbackQuery,
    pending: Option<PendingLogin>,
) -> Redirect {
    let (pending, code) = match answered_code(pending, &query) {
        Ok(answered) => answered,
        Err(code) => return console_error(code),
    };
    let tokens = match state
        .console
        .oidc
        .exchange_code(code, &pending.pkce_verifier, &pending.nonce)
        .await
    {
        Ok(tokens) => tokens,
        Err(OidcError::Unavailable(cause)) => {
            tracing::warn!(error = %cause, "operator sign-in failed: the operators' pool is unavailable");
            return console_error(ErrorCode::ServiceUnavailable);
        }
        Err(err) => {
            tracing::info!(error = %err, "operator sign-in failed at the code exchange");
            return console_error(ErrorCode::SignInFailed);
        }
    };
    match establish_session(state, session, &tokens, source_ip).await {
        Ok(()) => Redirect::to(pending.return_to.as_deref().unwrap_or(CONSOLE_PATH)),
        Err(code) => {
            if let Some(refresh_token) = &tokens.refresh_token
                && let Err(err) = state
                    .console
                    .oidc
                    .revoke(
                        state.config.operators.auth_domain_url("oauth2/revoke"),
                        refresh_token,
                    )
                    .await
            {
                tracing::warn!(error = %err, "could not revoke the refresh token of a failed operator sign-in");
            }
            console_error(code)
        }
    }
}

/// Everything after the code exchange: both tokens verified and naming the same operator, the `operate`
/// scope granted, the sign-in written to the platform audit log, the session id rotated and the signed-in
/// session stored.
async fn establish_session(
    state: &AppState,
    session: &Session,
    tokens: &TokenSet,
    source_ip: Option<IpAddr>,
) -> Result<(), ErrorCode> {
    let verified = match state.console.verifier.verify(&tokens.access_token).await {
        Ok(verified) => verified,
        Err(err) if err.is_unavailable() => {
            tracing::warn!(error = %err, "operator sign-in failed: the operators' pool's keys are unavailable");
            return Err(ErrorCode::ServiceUnavailable);
        }
        Err(err) => {
            tracing::warn!(error = %err, "operator sign-in failed: the access token did not verify");
            return Err(ErrorCode::SignInFailed);
        }
    };
    if verified.sub != tokens.id_token_subject {
        tracing::warn!("operator sign-in failed: the access and ID tokens name different users");
        return Err(ErrorCode::SignInFailed);
    }
    if !verified.has_scope(&state.config.operators.operate_scope()) {
        tracing::warn!("operator sign-in failed: the access token lacks the operate scope");
        return Err(ErrorCode::SignInFailed);
    }
    let Ok(sign_in) = sign_in_of(&verified) else {
        tracing::warn!("operator sign-in failed: the access token names no sign-in");
        return Err(ErrorCode::SignInFailed);
    };
    // Audited before the session exists: a sign-in the log cannot record does not happen.
    let event = NewPlatformEvent {
        action: PlatformAuditAction::OperatorSignedIn,
        operator: OperatorRef {
            kind: platform::ActorKind::Operator,
            id: verified.sub.clone(),
            email: tokens.id_token_email.clone().unwrap_or_default(),
        },
        tenant: None,
        details: serde_json::json!({ "client_id": verified.client_id }),
        source_ip,
    };
    if let Err(err) = record_sign_in(state, &event).await {
        tracing::warn!(error = %err, "operator sign-in failed: the platform audit log could not be written");
        return Err(ErrorCode::ServiceUnavailable);
    }
    let unavailable = |err: tower_sessions::session::Error| {
        tracing::warn!(error = %err, "operator sign-in failed: the session could not be stored");
        ErrorCode::ServiceUnavailable
    };
    // A new session id at the privilege change, stored at once: the tokens are encrypted for this id.
    session.cycle_id().await.map_err(unavailable)?;
    session.save().await.map_err(unavailable)?;
    let Some(session_id) = session.id() else {
        tracing::error!("operator sign-in failed: the stored session has no id");
        return Err(ErrorCode::ServiceUnavailable);
    };
    let session_tokens = SessionTokens::new(
        &state.tokens,
        tokens,
        &session_id,
        &sign_in.origin_jti,
        verified.expires_at,
        OffsetDateTime::now_utc(),
    )
    .map_err(|err| {
        tracing::error!(error = %err, "operator sign-in failed: a token could not be encrypted");
        ErrorCode::SignInFailed
    })?;
    let signed_in = OperatorSignedIn {
        subject: verified.sub.clone(),
        email: tokens.id_token_email.clone(),
        tokens: session_tokens,
    };
    session
        .insert(OPERATOR_SIGNED_IN_KEY, &signed_in)
        .await
        .map_err(unavailable)?;
    session.save().await.map_err(unavailable)?;
    tracing::info!(operator = %verified.sub, "operator signed in");
    Ok(())
}

async fn record_sign_in(state: &AppState, event: &NewPlatformEvent) -> Result<(), sqlx::Error> {
    let mut conn = state.db.acquire().await?;
    platform::record_event(&mut conn, event).await
}

/// `POST /operator/auth/logout`: records the sign-in as ended (no token of it works at the console's API any
/// more), revokes the refresh token at the operators' pool (best effort), deletes the session, and sends the
/// browser to the operators' pool's `/logout`, which ends the pool's own session and returns to the console.
pub async fn logout(State(state): State<AppState>, session: Session) -> Result<Redirect, ApiError> {
    let signed_in: Option<OperatorSignedIn> =
        session::read(&session, OPERATOR_SIGNED_IN_KEY).await?;
    if let Some(signed_in) = &signed_in {
        if let Some(origin_jti) = &signed_in.tokens.origin_jti {
            let expires_at = OffsetDateTime::now_utc() + state.config.sign_in_revocation;
            db::operator_revocations::revoke(&state.db, origin_jti, expires_at).await?;
        }
        if let Some(session_id) = session.id() {
            if let Ok(token) = state
                .tokens
                .decrypt(&signed_in.tokens.access_token, &session_id)
            {
                state.console.verifier.forget(&token);
            }
            if let Some(Ok(token)) = signed_in
                .tokens
                .refresh_token
                .as_ref()
                .map(|token| state.tokens.decrypt(token, &session_id))
                && let Err(err) = state
                    .console
                    .oidc
                    .revoke(
                        state.config.operators.auth_domain_url("oauth2/revoke"),
                        &token,
                    )
                    .await
            {
                tracing::warn!(error = %err, "could not revoke the operator's refresh token at sign-out");
            }
        }
        tracing::info!(operator = %signed_in.subject, "operator signed out");
    }
    session.flush().await.map_err(ApiError::unavailable)?;
    let mut pool_logout = state.config.operators.auth_domain_url("logout");
    pool_logout
        .query_pairs_mut()
        .append_pair("client_id", &state.config.operators.client_id)
        .append_pair(
            "logout_uri",
            state.config.operator_logout_return_url().as_str(),
        );
    Ok(Redirect::to(pool_logout.as_str()))
}

/// A redirect to the console with a stable error code for it to explain.
fn console_error(code: ErrorCode) -> Redirect {
    Redirect::to(&format!("{CONSOLE_PATH}?error={}", code.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_returns_only_to_a_path_of_the_console() {
        for good in [
            "/operator",
            "/operator/tenants",
            "/operator?tab=audit",
            "/operator/tenants/acme#plan",
        ] {
            assert_eq!(console_return_to(good).as_deref(), Some(good), "{good}");
        }
        for bad in [
            "/",
            "/reports",
            "/operatorx",
            "/operator-evil",
            "//evil.example/operator",
            "https://evil.example/operator",
            "/\\evil.example",
        ] {
            assert_eq!(console_return_to(bad), None, "{bad}");
        }
    }
}
