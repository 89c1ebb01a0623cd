//! [`Operator`]: a platform operator calling the console's API, from a bearer access token of the operators'
//! pool or from the console session; what an operator's session holds ([`OperatorSignedIn`]).
//!
//! Both transports end in the same checks: the access token is verified by the operators' verifier (the
//! operators' issuer and console client only), carries the `operate` scope, names its sign-in
//! (`origin_jti`, `auth_time`), and that sign-in has not been ended (`operator_revoked_sign_ins`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::Session;
use tower_sessions::session::Id;

use crate::auth::Transport;
use crate::auth::guard::RouteScope;
use crate::auth::oidc::OidcError;
use crate::auth::principal::{bearer_token, rejected_token, sign_in_of};
use crate::auth::session::{self, OPERATOR_SIGNED_IN_KEY, SessionTokens};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;
use crate::verifier::VerifiedAccessToken;

/// A signed-in operator's session: who, and their tokens (encrypted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OperatorSignedIn {
    /// The operator's `sub` in the operators' pool, from the verified tokens at sign-in.
    pub subject: String,
    /// The operator's email, from the verified ID token at sign-in.
    pub email: Option<String>,
    /// The sign-in's tokens and times.
    #[serde(flatten)]
    pub tokens: SessionTokens,
}

/// The authenticated operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator's `sub` in the operators' pool.
    pub subject: String,
    /// The operator's email: known to a console session (from the ID token), not to a bearer token (Cognito's
    /// access tokens carry none).
    pub email: Option<String>,
    /// The sign-in the caller's token belongs to (its `origin_jti`).
    pub origin_jti: String,
    /// How the caller authenticated.
    pub via: Transport,
}

/// The scopes of the operators' API: one, `<operators' resource server>/operate`, which the console client is
/// granted and every operator route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorScope {
    /// Run the platform: every console route.
    Operate,
}

impl RouteScope for OperatorScope {
    async fn check(self, parts: &mut Parts, state: &AppState) -> Result<(), ApiError> {
        match self {
            OperatorScope::Operate => Operator::from_request_parts(parts, state).await.map(drop),
        }
    }
}

/// The extractor: an [`Operator`] already resolved for this request is reused; otherwise one is built from
/// the `Authorization` header if there is one (a present header must be valid), else from the console
/// session.
impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(operator) = parts.extensions.get::<Operator>() {
            return Ok(operator.clone());
        }
        let operator = match parts.headers.get(AUTHORIZATION) {
            Some(header) => {
                let token = bearer_token(header.as_bytes()).ok_or(ApiError::Unauthenticated)?;
                let verified = state
                    .console
                    .verifier
                    .verify(token)
                    .await
                    .map_err(rejected_token)?;
                operator_of(state, &verified, Transport::Bearer, None).await?
            }
            None => {
                let session = parts
                    .extensions
                    .get::<Session>()
                    .cloned()
                    .ok_or(ApiError::Unauthenticated)?;
                from_session(state, &session).await?
            }
        };
        parts.extensions.insert(operator.clone());
        Ok(operator)
    }
}

/// The operator of a verified access token: it carries the `operate` scope (else 403 `insufficient_scope`) and
/// names a sign-in that has not been ended (else 401).
async fn operator_of(
    state: &AppState,
    token: &VerifiedAccessToken,
    via: Transport,
    email: Option<String>,
) -> Result<Operator, ApiError> {
    if !token.has_scope(&state.config.operators.operate_scope()) {
        return Err(ApiError::InsufficientScope);
    }
    let sign_in = sign_in_of(token)?;
    if db::operator_revocations::is_revoked(&state.db, &sign_in.origin_jti).await? {
        return Err(ApiError::SignInRevoked);
    }
    Ok(Operator {
        subject: token.sub.clone(),
        email,
        origin_jti: sign_in.origin_jti,
        via,
    })
}

async fn from_session(state: &AppState, session: &Session) -> Result<Operator, ApiError> {
    let signed_in: OperatorSignedIn = session::read(session, OPERATOR_SIGNED_IN_KEY)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let now = OffsetDateTime::now_utc();
    if signed_in
        .tokens
        .is_past_absolute_expiry(now, state.config.session_absolute)
    {
        tracing::info!(operator = %signed_in.subject, "operator session reached its absolute expiry");
        return end_session(session).await;
    }
    let session_id = session.id().ok_or(ApiError::Unauthenticated)?;
    let access_token = if signed_in.tokens.access_token_expired(now) {
        refresh(state, session, &session_id, signed_in.clone(), now).await?
    } else {
        match state
            .tokens
            .decrypt(&signed_in.tokens.access_token, &session_id)
        {
            Ok(token) => token,
            Err(err) => {
                tracing::info!(error = %err, "operator session tokens unreadable; ending the session");
                return end_session(session).await;
            }
        }
    };
    let verified = state
        .console
        .verifier
        .verify(&access_token)
        .await
        .map_err(rejected_token)?;
    if verified.sub != signed_in.subject {
        tracing::warn!(
            "operator session token does not match the session's operator; ending the session"
        );
        return end_session(session).await;
    }
    let operator = operator_of(
        state,
        &verified,
        Transport::Session,
        signed_in.email.clone(),
    )
    .await?;
    if signed_in.tokens.needs_touch(now, state.config.session_idle) {
        // Reread: a refresh above may have stored new tokens in this request.
        let mut current: OperatorSignedIn = session::read(session, OPERATOR_SIGNED_IN_KEY)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        current.tokens.last_seen_at = now.unix_timestamp();
        session
            .insert(OPERATOR_SIGNED_IN_KEY, &current)
            .await
            .map_err(ApiError::unavailable)?;
    }
    Ok(operator)
}

/// Exchanges the session's refresh token for new tokens and stores them. A refusal (the operator was disabled
/// or removed, which revokes their refresh tokens, or the token expired) ends the session with 401.
async fn refresh(
    state: &AppState,
    session: &Session,
    session_id: &Id,
    mut signed_in: OperatorSignedIn,
    now: OffsetDateTime,
) -> Result<String, ApiError> {
    let refresh_token = signed_in
        .tokens
        .refresh_token
        .as_ref()
        .and_then(|token| state.tokens.decrypt(token, session_id).ok());
    let Some(refresh_token) = refresh_token else {
        return end_session(session).await;
    };
    let tokens = match state.console.oidc.refresh(&refresh_token).await {
        Ok(tokens) => tokens,
        Err(OidcError::Unavailable(cause)) => return Err(ApiError::unavailable(cause)),
        Err(err) => {
            tracing::info!(error = %err, operator = %signed_in.subject, "operator token refresh refused; ending the session");
            return end_session(session).await;
        }
    };
    let verified = match state.console.verifier.verify(&tokens.access_token).await {
        Ok(verified) => verified,
        Err(err) if err.is_unavailable() => return Err(ApiError::unavailable(err)),
        Err(err) => {
            tracing::warn!(error = %err, "refreshed operator access token did not verify; ending the session");
            return end_session(session).await;
        }
    };
    signed_in
        .tokens
        .replace(&state.tokens, &tokens, session_id, verified.expires_at, now)
        .map_err(ApiError::internal)?;
    session
        .insert(OPERATOR_SIGNED_IN_KEY, &signed_in)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(tokens.access_token)
}

/// Deletes the session server-side (the session layer then removes the cookie) and answers 401.
async fn end_session<T>(session: &Session) -> Result<T, ApiError> {
    session.flush().await.map_err(ApiError::unavailable)?;
    Err(ApiError::Unauthenticated)
}
