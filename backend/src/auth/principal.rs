//! [`Principal`]: who is calling, built from a bearer access token or from the session, checked against the
//! live membership on every request.
//!
//! Both transports end in the same checks: the access token is verified (issuer, signature, expiry,
//! `token_use`, client), must carry `tenant_id` and `member_id`, the member must exist and be active in that
//! tenant right now, and the sign-in the token belongs to (`origin_jti`) must not have been revoked. The role
//! comes from the database; the scopes are the token's scopes that the role may hold.
//!
//! The membership check runs in the request's tenant transaction, which stays open and goes to the handler
//! (the [`TenantTx`] extractor): one request is one transaction, so the check and the handler's reads and
//! changes see the same state and the database is asked for one `BEGIN` and one `COMMIT`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Serialize;
use shared::{Role, Scope};
use time::OffsetDateTime;
use tower_sessions::Session;
use tower_sessions::session::Id;
use uuid::Uuid;

use super::oidc::OidcError;
use super::session::{self, SIGNED_IN_KEY, SignedIn, storage_key};
use crate::client_ip::ClientIp;
use crate::db::audit::Actor;
use crate::db::members::{Member, MemberStatus};
use crate::db::{self, MemberId, TenantId, TenantTx};
use crate::error::ApiError;
use crate::state::AppState;
use crate::verifier::{VerifiedAccessToken, VerifyError};

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// The browser's session cookie (backend-for-frontend sign-in).
    Session,
    /// An `Authorization: Bearer <access token>` header (scripts and machine clients).
    Bearer,
}

/// The authenticated caller: a live, active member of one tenant, with the scopes this request may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The member.
    pub member_id: MemberId,
    /// The member's tenant: the only tenant this request can touch.
    pub tenant_id: TenantId,
    /// The member's role, read from the database on this request.
    pub role: Role,
    /// The token's scopes that the role may hold.
    pub scopes: Vec<Scope>,
    /// The member's email (informational only).
    pub email: String,
    /// The member's display name.
    pub name: String,
    /// The user pool's subject (`sub`) of the caller: the `user_id` of their upload prefix.
    pub subject: String,
    /// The sign-in the caller's token belongs to (its `origin_jti`): what ending it revokes.
    pub origin_jti: String,
    /// How the caller authenticated.
    pub via: Transport,
}

impl Principal {
    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The caller as the audit log records them.
    pub fn audit_actor(&self) -> Actor {
        Actor {
            id: self.member_id,
            name: self.name.clone(),
            email: self.email.clone(),
        }
    }

    /// `Ok` when the caller holds `scope`, else 403 `insufficient_scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope)
        }
    }
}

/// The extractor: a [`Principal`] already resolved for this request (by the scope guard) is reused;
/// otherwise one is built from the `Authorization` header if there is one, else from the session.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let (principal, tx) = match parts.headers.get(AUTHORIZATION) {
            // A present header must be valid: falling back to the cookie would let a broken token pass
            // unnoticed (and would make a cross-site request look like a bearer request).
            Some(header) => {
                let token = bearer_token(header.as_bytes()).ok_or(ApiError::Unauthenticated)?;
                from_bearer(state, token).await?
            }
            None => {
                let session = parts
                    .extensions
                    .get::<Session>()
                    .cloned()
                    .ok_or(ApiError::Unauthenticated)?;
                let ClientIp(client) = match ClientIp::from_request_parts(parts, state).await {
                    Ok(client) => client,
                    Err(never) => match never {},
                };
                from_session(state, &session, client).await?
            }
        };
        parts.extensions.insert(principal.clone());
        parts.extensions.insert(RequestTx::new(tx));
        Ok(principal)
    }
}

/// The request's tenant transaction between the membership check that began it and the handler that takes
/// it. Request extensions must be `Clone`, hence the shared slot; it is taken once.
#[derive(Clone)]
struct RequestTx(Arc<Mutex<Option<TenantTx>>>);

impl RequestTx {
    fn new(tx: TenantTx) -> Self {
        RequestTx(Arc::new(Mutex::new(Some(tx))))
    }

    fn take(&self) -> Option<TenantTx> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The handler's tenant transaction: the one this request's membership check began, so that the check and
/// the handler's work are one transaction (a member deactivated a moment ago cannot slip a change in between
/// two). A handler that needs a second transaction (after a call to S3, say) begins it with
/// [`db::tenant_tx`]. Dropped without commit, the transaction rolls back.
impl FromRequestParts<AppState> for TenantTx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let begun = parts
            .extensions
            .get::<RequestTx>()
            .and_then(RequestTx::take);
        match begun {
            Some(tx) => Ok(tx),
            None => Ok(db::tenant_tx(&state.db, principal.tenant_id).await?),
        }
    }
}

/// The ID token of the request's browser session, decrypted: what the identity pool exchanges for upload
/// credentials. Only a browser session has one: a request with an `Authorization` header (a bearer client,
/// whose [`Principal`] comes from that header) is refused with 403 `not_permitted`, and a request without a
/// signed-in session with 401. Extract it after the [`Principal`], which has already checked the session.
#[derive(Debug)]
pub struct SessionIdToken(pub String);

impl FromRequestParts<AppState> for SessionIdToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(AUTHORIZATION) {
            return Err(ApiError::NotPermittedBecause(
                "Upload credentials are issued to browser sessions only (they are exchanged for the \
                 sign-in's ID token)."
                    .into(),
            ));
        }
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(ApiError::Unauthenticated)?;
        let signed_in: SignedIn = session::read(&session, SIGNED_IN_KEY)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let session_id = session.id().ok_or(ApiError::Unauthenticated)?;
        state
            .tokens
            .decrypt(&signed_in.tokens.id_token, &session_id)
            .map(SessionIdToken)
            .map_err(|_| ApiError::Unauthenticated)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235).
pub(crate) fn bearer_token(header: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(header).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

async fn from_bearer(state: &AppState, token: &str) -> Result<(Principal, TenantTx), ApiError> {
    let verified = state.verifier.verify(token).await.map_err(rejected_token)?;
    resolve(state, &verified, Transport::Bearer).await
}

/// A token the verifier refused: 503 when the keys could not be fetched, otherwise 401.
pub(crate) fn rejected_token(err: VerifyError) -> ApiError {
    if err.is_unavailable() {
        ApiError::unavailable(err)
    } else {
        tracing::debug!(reason = %err, "access token rejected");
        ApiError::Unauthenticated
    }
}

async fn from_session(
    state: &AppState,
    session: &Session,
    client: Option<IpAddr>,
) -> Result<(Principal, TenantTx), ApiError> {
    let signed_in: SignedIn = session::read(session, SIGNED_IN_KEY)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let now = OffsetDateTime::now_utc();
    if signed_in
        .tokens
        .is_past_absolute_expiry(now, state.config.session_absolute)
    {
        tracing::info!(member_id = %signed_in.member_id, "session reached its absolute expiry");
        end_session(session).await?;
        return Err(ApiError::Unauthenticated);
    }
    // A session that carries a signed-in member was loaded from the store, so it has an id; the tokens are
    // bound to it.
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
                tracing::info!(error = %err, "session tokens unreadable (key changed?); ending the session");
                end_session(session).await?;
                return Err(ApiError::Unauthenticated);
            }
        }
    };
    let verified = state
        .verifier
        .verify(&access_token)
        .await
        .map_err(rejected_token)?;
    let (principal, mut tx) = resolve(state, &verified, Transport::Session).await?;
    // The token in a session belongs to the member the session was created for; anything else is a bug or
    // tampering, and the session is not trusted.
    if principal.member_id.0 != signed_in.member_id || principal.tenant_id.0 != signed_in.tenant_id
    {
        tracing::warn!("session token does not match the session's member; ending the session");
        // The transaction's connection goes back to the pool before the store takes one to end the session.
        drop(tx);
        end_session(session).await?;
        return Err(ApiError::Unauthenticated);
    }
    if signed_in.tokens.needs_touch(now, state.config.session_idle) {
        // Reread: a refresh above may have stored new tokens in this request.
        let mut current: SignedIn = session::read(session, SIGNED_IN_KEY)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        current.tokens.last_seen_at = now.unix_timestamp();
        session
            .insert(SIGNED_IN_KEY, &current)
            .await
            .map_err(ApiError::unavailable)?;
        // What the member and their admins see as the session's "last seen", from where: written with the
        // request's own work.
        db::sessions::touch(&mut tx, &storage_key(&session_id), client).await?;
    }
    Ok((principal, tx))
}

/// Exchanges the session's refresh token for new tokens and stores them. A refusal (revoked token, or the
/// trigger refused a deactivated member) ends the session: 403 `member_inactive` when the member is no
/// longer active, otherwise 401.
async fn refresh(
    state: &AppState,
    session: &Session,
    session_id: &Id,
    mut signed_in: SignedIn,
    now: OffsetDateTime,
) -> Result<String, ApiError> {
    let refresh_token = signed_in
        .tokens
        .refresh_token
        .as_ref()
        .and_then(|token| state.tokens.decrypt(token, session_id).ok());
    let Some(refresh_token) = refresh_token else {
        end_session(session).await?;
        return Err(ApiError::Unauthenticated);
    };
    let tokens = match state.oidc.refresh(&refresh_token).await {
        Ok(tokens) => tokens,
        Err(OidcError::Unavailable(cause)) => return Err(ApiError::unavailable(cause)),
        Err(err) => {
            tracing::info!(error = %err, member_id = %signed_in.member_id, "token refresh refused; ending the session");
            end_session(session).await?;
            let member = active_member(
                state,
                TenantId(signed_in.tenant_id),
                MemberId(signed_in.member_id),
            )
            .await;
            return Err(match member {
                Err(ApiError::MemberInactive) => ApiError::MemberInactive,
                Err(other @ ApiError::Unavailable(_)) => other,
                _ => ApiError::Unauthenticated,
            });
        }
    };
    // A refreshed access token that does not verify would fail again on every request, each time after
    // another refresh: the session is ended instead (unless the keys could not be fetched, a 503).
    let verified = match state.verifier.verify(&tokens.access_token).await {
        Ok(verified) => verified,
        Err(err) if err.is_unavailable() => return Err(ApiError::unavailable(err)),
        Err(err) => {
            tracing::warn!(error = %err, member_id = %signed_in.member_id, "refreshed access token did not verify; ending the session");
            end_session(session).await?;
            return Err(ApiError::Unauthenticated);
        }
    };
    signed_in
        .tokens
        .replace(&state.tokens, &tokens, session_id, verified.expires_at, now)
        .map_err(ApiError::internal)?;
    session
        .insert(SIGNED_IN_KEY, &signed_in)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(tokens.access_token)
}

/// Deletes the session server-side; the session layer then removes the cookie.
async fn end_session(session: &Session) -> Result<(), ApiError> {
    session.flush().await.map_err(ApiError::unavailable)
}

/// The tenant and member a verified access token is bound to; 401 with a clear message for tokens that
/// carry none (client-credentials tokens, or ID tokens).
pub fn token_binding(token: &VerifiedAccessToken) -> Result<(TenantId, MemberId), ApiError> {
    let uuid_claim = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(|value| Uuid::parse_str(value).ok())
    };
    match (uuid_claim(&token.tenant_id), uuid_claim(&token.member_id)) {
        (Some(tenant), Some(member)) => Ok((TenantId(tenant), MemberId(member))),
        _ => Err(ApiError::NotATenantMember),
    }
}

/// Builds the principal for a verified access token: binding claims, then the live membership, checked in
/// the request's tenant transaction, which is returned open.
async fn resolve(
    state: &AppState,
    token: &VerifiedAccessToken,
    via: Transport,
) -> Result<(Principal, TenantTx), ApiError> {
    let (tenant_id, member_id) = token_binding(token)?;
    let sign_in = sign_in_of(token)?;
    let (member, tx) = live_member(state, tenant_id, member_id, &sign_in).await?;
    let resource_server = &state.config.resource_server_id;
    let mut scopes: Vec<Scope> = token
        .scopes
        .iter()
        .filter_map(|scope| Scope::from_qualified(scope, resource_server))
        .filter(|scope| member.role.allows(*scope))
        .collect();
    scopes.sort();
    scopes.dedup();
    let principal = Principal {
        member_id,
        tenant_id,
        role: member.role,
        scopes,
        email: member.email,
        name: member.name,
        subject: token.sub.clone(),
        origin_jti: sign_in.origin_jti,
        via,
    };
    Ok((principal, tx))
}

/// Which sign-in a verified access token belongs to: its `origin_jti`, the same in every token of one sign-in
/// and its refreshes, and when the user signed in (`auth_time`). Cognito puts both in every access token of a
/// user; a token without them could never be revoked, so it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRef {
    /// The sign-in's `origin_jti`.
    pub origin_jti: String,
    /// The sign-in's `auth_time`, in seconds since the Unix epoch.
    pub auth_time: i64,
}

/// The [`SignInRef`] of `token`; 401 when it carries none.
pub fn sign_in_of(token: &VerifiedAccessToken) -> Result<SignInRef, ApiError> {
    let origin_jti = token.origin_jti.as_deref().filter(|jti| !jti.is_empty());
    match (origin_jti, token.auth_time) {
        (Some(origin_jti), Some(auth_time)) => Ok(SignInRef {
            origin_jti: origin_jti.to_owned(),
            auth_time,
        }),
        _ => {
            tracing::debug!("access token without origin_jti or auth_time refused");
            Err(ApiError::Unauthenticated)
        }
    }
}

/// The member of a request: the tenant is not suspended (else 403 `tenant_suspended`), the member exists in
/// `tenant` and is active (else 403 `member_inactive`), and the sign-in
/// the token belongs to has not been revoked (else 401, whichever way the token arrived and whether or not
/// the verifier served it from its cache). One query, in a new tenant transaction that is returned open for
/// the rest of the request.
async fn live_member(
    state: &AppState,
    tenant: TenantId,
    member: MemberId,
    sign_in: &SignInRef,
) -> Result<(Member, TenantTx), ApiError> {
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    let found = db::members::get_with_sign_in_revoked(
        &mut tx,
        member,
        &sign_in.origin_jti,
        sign_in.auth_time,
    )
    .await?;
    let Some(live) = found else {
        return Err(ApiError::MemberInactive);
    };
    if live.tenant_suspended {
        Err(ApiError::TenantSuspended)
    } else if live.member.status != MemberStatus::Active || live.member.tenant_id != tenant {
        Err(ApiError::MemberInactive)
    } else if live.sign_in_revoked {
        Err(ApiError::SignInRevoked)
    } else {
        Ok((live.member, tx))
    }
}

/// The member, if it exists in `tenant` and is active; else 403 `member_inactive`.
pub async fn active_member(
    state: &AppState,
    tenant: TenantId,
    member: MemberId,
) -> Result<Member, ApiError> {
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    let found = db::members::get(&mut tx, member).await?;
    tx.commit().await?;
    match found {
        Some(member) if member.status == MemberStatus::Active && member.tenant_id == tenant => {
            Ok(member)
        }
        _ => Err(ApiError::MemberInactive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(bearer_token(b"Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token(b"bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearer a b"), None);
        assert_eq!(bearer_token(&[0xff, 0xfe]), None);
    }
}
