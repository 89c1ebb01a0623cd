//! The sign-in endpoints of the backend-for-frontend: `GET /auth/login`, `GET /auth/callback` and
//! `POST /auth/logout`.
//!
//! The browser never sees a token: the backend is the OAuth confidential client, the tokens stay in the
//! server-side session, and each failure ends in a redirect to the app with a stable error code
//! (`/?error=<code>`), never with text chosen by someone else.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;
use shared::api::AuditAction;
use shared::{ErrorCode, Scope};
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
use tower_sessions::Session;
use url::Url;

use super::oidc::{OidcError, TokenSet};
use super::pending::{self, PendingLogin};
use super::principal::{active_member, bearer_token, rejected_token, sign_in_of, token_binding};
use super::session::{self, SIGNED_IN_KEY, SessionTokens, SignedIn, storage_key};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, Actor, NewEvent};
use crate::db::members::Member;
use crate::db::sessions::NewSession;
use crate::db::{self, TenantId};
use crate::error::{ApiError, AppQuery};
use crate::state::AppState;

/// The OpenID Connect scopes every sign-in asks for, besides the API's resource-server scopes.
const IDENTITY_SCOPES: [&str; 2] = ["email", "profile"];

/// Query of `GET /auth/login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// The user's work email: its domain picks the tenant's identity provider (home-realm discovery).
    pub email: Option<String>,
    /// Alternatively, the organisation's slug (`globex`).
    pub org: Option<String>,
    /// A same-site relative path to return to after sign-in; anything else is ignored.
    pub return_to: Option<String>,
}

/// `GET /auth/login`: picks the identity provider (routing only: it grants nothing), keeps the pending
/// sign-in in a sealed cookie of this browser ([`super::pending`]; nothing is written on the server) and sends
/// the browser to the user pool's authorize endpoint. Each client address may start only so many sign-ins a
/// minute (429 with `Retry-After` beyond that).
///
/// A browser is on this route: when the database or the user pool cannot be reached it goes back to the
/// sign-in page with `service_unavailable`, which the app explains, rather than to a JSON body.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    AppQuery(query): AppQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    state.sign_in_limiter.check(client)?;
    match start_sign_in(&state, &query).await {
        Err(ApiError::Unavailable(cause)) => {
            tracing::warn!(error = %cause, "sign-in could not start: a dependency is unavailable");
            Ok(app_error(ErrorCode::ServiceUnavailable).into_response())
        }
        other => other,
    }
}

/// [`login`] past the rate limit.
async fn start_sign_in(state: &AppState, query: &LoginQuery) -> Result<Response, ApiError> {
    let (provider, login_hint) = match (&query.org, &query.email) {
        (Some(slug), _) if !slug.trim().is_empty() => (
            db::routing::provider_for_tenant_slug(&state.db, &slug.trim().to_ascii_lowercase())
                .await?,
            None,
        ),
        (_, Some(email)) => match email_domain(email) {
            Some(domain) => (
                db::routing::provider_for_domain(&state.db, &domain).await?,
                Some(email.trim()),
            ),
            None => return Ok(app_error(ErrorCode::InvalidEmail).into_response()),
        },
        _ => return Ok(app_error(ErrorCode::InvalidEmail).into_response()),
    };
    let Some(provider) = provider else {
        return Ok(app_error(ErrorCode::NoSignInForDomain).into_response());
    };

    let resource_server = &state.config.resource_server_id;
    let scopes: Vec<String> = IDENTITY_SCOPES
        .iter()
        .map(|scope| (*scope).to_owned())
        .chain(
            Scope::ALL
                .iter()
                .map(|scope| scope.qualified(resource_server)),
        )
        .collect();
    let start = state
        .oidc
        .authorization_request(Some(&provider), &scopes, login_hint)
        .await
        .map_err(|err| match err {
            OidcError::Unavailable(cause) => ApiError::unavailable(cause),
            other => ApiError::internal(other),
        })?;
    let pending = PendingLogin {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        return_to: query.return_to.as_deref().and_then(safe_return_to),
        created_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    let cookie = pending::SIGN_IN
        .set_cookie(&state.tokens, &pending, state.config.cookie_secure)
        .map_err(ApiError::internal)?;
    tracing::info!(provider = %provider, "sign-in started");
    Ok(([(SET_COOKIE, cookie)], Redirect::to(start.url.as_str())).into_response())
}

/// Query of `GET /auth/callback` (and `/operator/auth/callback`): a code, or an error, and the state.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The pending sign-in this browser presented and the authorization code the callback brought for it, or the
/// code the app shows instead: `sign_in_expired` without a pending sign-in, with another state (compared in
/// constant time) or after [`super::pending::PENDING_LOGIN_TTL`]; the trigger's own code when the user pool
/// passed one on in its refusal, `sign_in_failed` for any other refusal or a missing code.
pub(crate) fn answered_code(
    pending: Option<PendingLogin>,
    query: &CallbackQuery,
) -> Result<(PendingLogin, &str), ErrorCode> {
    let Some(pending) = pending else {
        return Err(ErrorCode::SignInExpired);
    };
    let state_matches = query
        .state
        .as_deref()
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(pending.state.as_bytes())));
    if !state_matches || pending.is_expired(OffsetDateTime::now_utc()) {
        tracing::info!(
            state_matches,
            "sign-in callback refused: unknown, mismatched or expired state"
        );
        return Err(ErrorCode::SignInExpired);
    }
    if let Some(error) = &query.error {
        let code =
            refusal_code(query.error_description.as_deref()).unwrap_or(ErrorCode::SignInFailed);
        tracing::info!(error = %loggable(error), code = %code, "the user pool refused the sign-in");
        return Err(code);
    }
    match query.code.as_deref().filter(|code| !code.is_empty()) {
        Some(code) => Ok((pending, code)),
        None => Err(ErrorCode::SignInFailed),
    }
}

/// `GET /auth/callback`: completes the sign-in started in this browser. The pending sign-in cookie is
/// cleared in every answer (single use, whatever happens next); then the code is exchanged, both tokens
/// verified, the membership checked, and the session id rotated before the signed-in session is stored.
///
/// Every outcome is a redirect into the app (a malformed query string aside, which is refused before
/// anything happens): a browser is on this route, not an API client.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    ClientIp(source_ip): ClientIp,
    AppQuery(query): AppQuery<CallbackQuery>,
) -> Response {
    let secure = state.config.cookie_secure;
    let pending = pending::SIGN_IN.from_headers(&state.tokens, &headers, secure);
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let client = Client {
        source_ip,
        user_agent,
    };
    let redirect = complete_sign_in(&state, &session, client, query, pending).await;
    (
        [(SET_COOKIE, pending::SIGN_IN.clear_cookie(secure))],
        redirect,
    )
        .into_response()
}

/// The browser completing a sign-in, as its session list will show it.
#[derive(Debug, Clone, Copy)]
struct Client<'a> {
    source_ip: Option<IpAddr>,
    user_agent: &'a str,
}

/// The callback's outcome for the pending sign-in this browser presented (if any).
async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    client: Client<'_>,
    query: CallbackQuery,
    pending: Option<PendingLogin>,
) -> Redirect {
    let (pending, code) = match answered_code(pending, &query) {
        Ok(answered) => answered,
        Err(code) => return app_error(code),
    };
    let tokens = match state
        .oidc
        .exchange_code(code, &pending.pkce_verifier, &pending.nonce)
        .await
    {
        Ok(tokens) => tokens,
        Err(OidcError::Unavailable(cause)) => {
            tracing::warn!(error = %cause, "sign-in failed: the user pool is unavailable");
            return app_error(ErrorCode::ServiceUnavailable);
        }
        Err(err) => {
            tracing::info!(error = %err, "sign-in failed at the code exchange");
            return app_error(ErrorCode::SignInFailed);
        }
    };
    match establish_session(state, session, &tokens, client).await {
        Ok(()) => Redirect::to(pending.return_to.as_deref().unwrap_or("/")),
        Err(code) => {
            // The tokens just issued will never be used by this browser. Revoking the refresh token stops
            // new tokens; the access token stays valid for any JWT-verifying API until it expires, and it
            // never left the backend.
            if let Some(refresh_token) = &tokens.refresh_token
                && let Err(err) = state
                    .oidc
                    .revoke(state.config.auth_domain_url("oauth2/revoke"), refresh_token)
                    .await
            {
                tracing::warn!(error = %err, "could not revoke the refresh token of a failed sign-in");
            }
            app_error(code)
        }
    }
}

/// Appends the `sign_in` event of `member` to the tenant's audit log.
async fn record_sign_in(
    state: &AppState,
    member: &Member,
    client_id: &str,
    source_ip: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    let event = NewEvent {
        action: AuditAction::SignIn,
        actor: Some(Actor {
            id: member.id,
            name: member.name.clone(),
            email: member.email.clone(),
        }),
        target: None,
        details: serde_json::json!({ "provider": member.provider, "client_id": client_id }),
        source_ip,
    };
    let mut tx = db::tenant_tx(&state.db, member.tenant_id).await?;
    audit::record(&mut tx, &event).await?;
    tx.commit().await
}

/// Records the new browser session in the member's session list.
async fn record_session(
    state: &AppState,
    tenant: TenantId,
    session: &NewSession<'_>,
) -> Result<(), sqlx::Error> {
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    db::sessions::record(&mut tx, session).await?;
    tx.commit().await
}

/// Everything after the code exchange: both tokens verified and naming the same user, the membership
/// live, the session id rotated and the signed-in session stored. The error is the code the app shows;
/// any database or store failure is `service_unavailable`.
async fn establish_session(
    state: &AppState,
    session: &Session,
    tokens: &TokenSet,
    client: Client<'_>,
) -> Result<(), ErrorCode> {
    let source_ip = client.source_ip;
    let verified = match state.verifier.verify(&tokens.access_token).await {
        Ok(verified) => verified,
        Err(err) if err.is_unavailable() => {
            tracing::warn!(error = %err, "sign-in failed: the user pool's keys are unavailable");
            return Err(ErrorCode::ServiceUnavailable);
        }
        Err(err) => {
            tracing::warn!(error = %err, "sign-in failed: the access token did not verify");
            return Err(ErrorCode::SignInFailed);
        }
    };
    if verified.sub != tokens.id_token_subject {
        tracing::warn!("sign-in failed: the access and ID tokens name different users");
        return Err(ErrorCode::SignInFailed);
    }
    let Ok((tenant_id, member_id)) = token_binding(&verified) else {
        tracing::warn!("sign-in failed: the access token carries no tenant binding");
        return Err(ErrorCode::SignInFailed);
    };
    let Ok(sign_in) = sign_in_of(&verified) else {
        tracing::warn!("sign-in failed: the access token names no sign-in (origin_jti, auth_time)");
        return Err(ErrorCode::SignInFailed);
    };
    let member = match active_member(state, tenant_id, member_id).await {
        Ok(member) => member,
        Err(ApiError::MemberInactive) => return Err(ErrorCode::MembershipDeactivated),
        Err(err) => {
            tracing::warn!(error = %err, "sign-in failed: the membership could not be checked");
            return Err(ErrorCode::ServiceUnavailable);
        }
    };
    // The sign-in is audited before the session exists: a sign-in the log cannot record does not happen.
    if let Err(err) = record_sign_in(state, &member, verified.client_id.as_str(), source_ip).await {
        tracing::warn!(error = %err, "sign-in failed: the audit log could not be written");
        return Err(ErrorCode::ServiceUnavailable);
    }

    let unavailable = |err: tower_sessions::session::Error| {
        tracing::warn!(error = %err, "sign-in failed: the session could not be stored");
        ErrorCode::ServiceUnavailable
    };
    // A new session id at the privilege change, so an id planted or observed before sign-in is worthless.
    // It is stored at once: the tokens are encrypted for this id (a ciphertext copied into another session
    // does not decrypt), and the store assigns it when the row is created.
    session.cycle_id().await.map_err(unavailable)?;
    session.save().await.map_err(unavailable)?;
    let Some(session_id) = session.id() else {
        tracing::error!("sign-in failed: the stored session has no id");
        return Err(ErrorCode::ServiceUnavailable);
    };
    // Listed for the member and their admins, who can end it; a session that cannot be listed is not kept.
    let listed = NewSession {
        member_id,
        session_key: &storage_key(&session_id),
        origin_jti: &sign_in.origin_jti,
        user_agent: client.user_agent,
        source_ip,
    };
    if let Err(err) = record_session(state, tenant_id, &listed).await {
        tracing::warn!(error = %err, "sign-in failed: the session could not be listed");
        if let Err(err) = session.flush().await {
            tracing::warn!(error = %err, "the unlisted session could not be deleted");
        }
        return Err(ErrorCode::ServiceUnavailable);
    }
    let tokens = SessionTokens::new(
        &state.tokens,
        tokens,
        &session_id,
        &sign_in.origin_jti,
        verified.expires_at,
        OffsetDateTime::now_utc(),
    )
    .map_err(|err| {
        tracing::error!(error = %err, "sign-in failed: a token could not be encrypted");
        ErrorCode::SignInFailed
    })?;
    let signed_in = SignedIn {
        member_id: member_id.0,
        tenant_id: tenant_id.0,
        tokens,
    };
    session
        .insert(SIGNED_IN_KEY, &signed_in)
        .await
        .map_err(unavailable)?;
    // Stored here rather than by the session layer after the handler, so that a failure still ends in a
    // redirect with a code the app explains (and the tokens are revoked).
    session.save().await.map_err(unavailable)?;
    tracing::info!(tenant_id = %tenant_id, member_id = %member_id, "signed in");
    Ok(())
}

/// `POST /auth/logout`: records the sign-in as revoked (so that no token of it works at the API any more,
/// whoever holds one), revokes the refresh token at the user pool (best effort), deletes the session
/// server-side, clears the cookie and sends the browser to the user pool's `/logout`, which ends the pool's
/// own session and returns to the app.
pub async fn logout(State(state): State<AppState>, session: Session) -> Result<Redirect, ApiError> {
    let signed_in: Option<SignedIn> = session::read(&session, SIGNED_IN_KEY).await?;
    if let Some(signed_in) = &signed_in {
        if let Some(origin_jti) = &signed_in.tokens.origin_jti {
            record_revocation(&state, TenantId(signed_in.tenant_id), origin_jti).await?;
        }
        if let Some(session_id) = session.id()
            && let Ok(token) = state
                .tokens
                .decrypt(&signed_in.tokens.access_token, &session_id)
        {
            state.verifier.forget(&token);
        }
        if let (Some(refresh_token), Some(session_id)) =
            (&signed_in.tokens.refresh_token, session.id())
        {
            match state.tokens.decrypt(refresh_token, &session_id) {
                Ok(token) => {
                    if let Err(err) = state
                        .oidc
                        .revoke(state.config.auth_domain_url("oauth2/revoke"), &token)
                        .await
                    {
                        tracing::warn!(error = %err, "could not revoke the refresh token at sign-out");
                    }
                }
                Err(err) => {
                    tracing::info!(error = %err, "refresh token unreadable at sign-out; not revoked")
                }
            }
        }
    }
    session.flush().await.map_err(ApiError::unavailable)?;
    if let Some(signed_in) = &signed_in {
        tracing::info!(member_id = %signed_in.member_id, "signed out");
    }
    let mut pool_logout = state.config.auth_domain_url("logout");
    pool_logout
        .query_pairs_mut()
        .append_pair("client_id", &state.config.cognito_client_id)
        .append_pair("logout_uri", state.config.logout_return_url().as_str());
    Ok(Redirect::to(pool_logout.as_str()))
}

/// `POST /auth/revoke` with `Authorization: Bearer <access token>`: ends the sign-in that token belongs to,
/// for this API, at once. Every access token of that sign-in, those refreshed from it later included (they
/// carry the same `origin_jti`), is refused from then on by every backend instance. 204 on success, also for
/// a sign-in revoked before; 401 for a token that does not verify.
///
/// This is how bearer clients sign out: the user pool's own `/oauth2/revoke` stops the refresh token, but a
/// JWT-verifying API cannot see that, so the access tokens would keep working until they expire. Clients
/// should revoke the refresh token there too (with their own client credentials), so the pool stops issuing
/// tokens for the sign-in.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|header| bearer_token(header.as_bytes()))
        .ok_or(ApiError::Unauthenticated)?;
    let verified = state.verifier.verify(token).await.map_err(rejected_token)?;
    let (tenant_id, member_id) = token_binding(&verified)?;
    let sign_in = sign_in_of(&verified)?;
    record_revocation(&state, tenant_id, &sign_in.origin_jti).await?;
    tracing::info!(tenant_id = %tenant_id, member_id = %member_id, "sign-in revoked");
    state.verifier.forget(token);
    Ok(StatusCode::NO_CONTENT)
}

/// Records the sign-in `origin_jti` of `tenant` as revoked for as long as a token of it could be presented
/// (`SIGN_IN_REVOCATION_DAYS`).
async fn record_revocation(
    state: &AppState,
    tenant: TenantId,
    origin_jti: &str,
) -> Result<(), ApiError> {
    let expires_at = OffsetDateTime::now_utc() + state.config.sign_in_revocation;
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    db::revocations::revoke_sign_in(&mut tx, origin_jti, expires_at).await?;
    tx.commit().await?;
    Ok(())
}

/// A redirect to the web app with a stable error code for it to explain.
fn app_error(code: ErrorCode) -> Redirect {
    Redirect::to(&format!("/?error={}", code.as_str()))
}

/// The lower-cased domain of a syntactically valid email address, or `None`.
///
/// The check is deliberately plain: one `@`, a non-empty local part without spaces or control characters,
/// and a domain name with at least two labels. Internationalised domains are converted to their ASCII
/// (punycode) form, as verified domains are stored.
pub fn email_domain(email: &str) -> Option<String> {
    let email = email.trim();
    if email.len() > 254 {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c));
    if !local_ok || domain.is_empty() {
        return None;
    }
    let url::Host::Domain(domain) = url::Host::parse(domain).ok()? else {
        return None;
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    labels_ok.then(|| domain.to_ascii_lowercase())
}

/// `return_to` if it is a same-site relative path (`/reports?x=1`), else `None`: no scheme, no host, no
/// protocol-relative `//host` or `/\host` (which browsers treat alike), no control characters.
pub fn safe_return_to(value: &str) -> Option<String> {
    let valid = value.starts_with('/')
        && !value.starts_with("//")
        && !value.starts_with("/\\")
        && value.len() <= 2048
        && !value.chars().any(|c| c.is_control() || c == '\\');
    if !valid {
        return None;
    }
    // Resolve against a throwaway origin: the result must stay on it, with the same path.
    let base = Url::parse("http://app.invalid/").ok()?;
    let resolved = base.join(value).ok()?;
    (resolved.origin() == base.origin()).then(|| value.to_owned())
}

/// A parameter from the query string, made safe to log: at most 64 characters, and nothing but ASCII
/// letters, digits and `_`, so a crafted value cannot forge log lines.
fn loggable(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The error code behind a user-pool error description of the form
/// `PreTokenGeneration failed with error <code>.`, if `<code>` is one of ours.
pub fn refusal_code(description: Option<&str>) -> Option<ErrorCode> {
    let code = description?
        .strip_prefix("PreTokenGeneration failed with error ")?
        .strip_suffix('.')?;
    ErrorCode::parse(code.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domains_are_lower_cased_and_validated() {
        assert_eq!(
            email_domain("alice@acme.example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(
            email_domain("  Alice@ACME.Example ").as_deref(),
            Some("acme.example")
        );
        assert_eq!(
            email_domain("x@bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        for invalid in [
            "",
            "alice",
            "@acme.example",
            "alice@",
            "alice@acme",
            "alice@@acme.example",
            "al ice@acme.example",
            "alice@acme..example",
            "alice@-acme.example",
            "alice@127.0.0.1",
            "alice@[::1]",
            "alice@acme.example/evil",
            "<alice>@acme.example",
        ] {
            assert_eq!(email_domain(invalid), None, "{invalid:?}");
        }
    }

    #[test]
    fn return_to_accepts_only_same_site_relative_paths() {
        assert_eq!(safe_return_to("/").as_deref(), Some("/"));
        assert_eq!(
            safe_return_to("/reports?page=2#top").as_deref(),
            Some("/reports?page=2#top")
        );
        for hostile in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\tevil",
            "/\n/evil.example",
            "",
            "http:/evil.example",
        ] {
            assert_eq!(safe_return_to(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn query_values_are_defanged_before_they_are_logged() {
        assert_eq!(loggable("invalid_request"), "invalid_request");
        assert_eq!(loggable("x\nINFO forged line"), "x?INFO?forged?line");
        assert_eq!(loggable(&"a".repeat(100)).len(), 64);
    }

    #[test]
    fn only_known_codes_in_the_exact_cognito_wording_are_reflected() {
        assert_eq!(
            refusal_code(Some(
                "PreTokenGeneration failed with error membership_deactivated."
            )),
            Some(ErrorCode::MembershipDeactivated)
        );
        assert_eq!(
            refusal_code(Some(
                "PreTokenGeneration failed with error unknown_identity_provider."
            )),
            Some(ErrorCode::UnknownIdentityProvider)
        );
        assert_eq!(
            refusal_code(Some("PreTokenGeneration failed with error <script>.")),
            None
        );
        assert_eq!(refusal_code(Some("membership_deactivated")), None);
        assert_eq!(refusal_code(None), None);
    }
}
