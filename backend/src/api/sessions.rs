//! A member's browser sessions: `/api/v1/me/sessions` for the member themselves (any role), and
//! `/api/v1/members/{id}/sessions` for the tenant's admins. Both list the sessions (device, address, when
//! signed in, last seen) and end one or all of them.
//!
//! Ending a session is immediate: in one transaction its row leaves the session store (the browser's next
//! request finds no session) and its sign-in is recorded as revoked (every token of it is refused, by every
//! instance, however it is presented). "Sign out everywhere" ends the caller's own sign-in too, also when the
//! caller is a bearer client, whose sign-in is not a browser session. Every ending is audited as
//! `sessions_ended`, with the member as target.

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::json;
use shared::Scope;
use shared::api::{AuditAction, SessionInfo, SessionList, SessionOwner, SessionsEnded};
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

use super::PathId;
use super::paging::rfc3339;
use crate::auth::session::storage_key;
use crate::auth::{Principal, ScopedRouter, Transport};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, NewEvent, Target};
use crate::db::sessions::MemberSession;
use crate::db::{self, MemberId, TenantTx};
use crate::error::{ApiError, AppJson};
use crate::state::AppState;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/me/sessions", Scope::Read, my_sessions)
        .delete("/me/sessions", Scope::Read, sign_out_everywhere)
        .delete("/me/sessions/{id}", Scope::Read, end_my_session)
        .get("/members/{id}/sessions", Scope::Admin, member_sessions)
        .delete("/members/{id}/sessions", Scope::Admin, end_member_sessions)
        .delete(
            "/members/{id}/sessions/{session_id}",
            Scope::Admin,
            end_member_session,
        )
}

/// The caller's own browser sessions.
#[utoipa::path(
    get,
    path = "/api/v1/me/sessions",
    tag = "sessions",
    responses(
        (status = 200, description = "The caller's live browser sessions, most recently used first; `current` marks the one making the request.", body = SessionList),
    )
)]
async fn my_sessions(
    State(state): State<AppState>,
    principal: Principal,
    mut tx: TenantTx,
    session: Session,
) -> Result<AppJson<SessionList>, ApiError> {
    let current = current_key(&principal, &session);
    let list = session_list(&state, &mut tx, principal.member_id, current.as_deref()).await?;
    tx.commit().await?;
    Ok(AppJson(list.ok_or(ApiError::MemberInactive)?))
}

/// "Sign out everywhere": ends every browser session of the caller, this one included, and the caller's own
/// sign-in whatever its transport.
#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions",
    tag = "sessions",
    responses(
        (status = 200, description = "Every session of the caller ended, this one included (and audited).", body = SessionsEnded),
    )
)]
async fn sign_out_everywhere(
    State(state): State<AppState>,
    principal: Principal,
    tx: TenantTx,
    ClientIp(source_ip): ClientIp,
) -> Result<AppJson<SessionsEnded>, ApiError> {
    let ended = end_sessions(
        &state,
        tx,
        &principal,
        source_ip,
        principal.member_id,
        None,
        true,
    )
    .await?;
    Ok(AppJson(ended))
}

/// Ends one of the caller's own sessions.
#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "The session id.")),
    responses(
        (status = 204, description = "The session ended (and audited)."),
    )
)]
async fn end_my_session(
    State(state): State<AppState>,
    principal: Principal,
    tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    end_sessions(
        &state,
        tx,
        &principal,
        source_ip,
        principal.member_id,
        Some(id),
        false,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's browser sessions, for an admin.
#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/sessions",
    tag = "sessions",
    params(("id" = String, Path, description = "The member id.")),
    responses(
        (status = 200, description = "The member's live browser sessions, most recently used first.", body = SessionList),
    )
)]
async fn member_sessions(
    State(state): State<AppState>,
    principal: Principal,
    mut tx: TenantTx,
    session: Session,
    PathId(member): PathId<MemberId>,
) -> Result<AppJson<SessionList>, ApiError> {
    let current = current_key(&principal, &session);
    let list = session_list(&state, &mut tx, member, current.as_deref()).await?;
    tx.commit().await?;
    Ok(AppJson(list.ok_or(ApiError::NotFound)?))
}

/// Ends every browser session of a member (an admin's "sign out everywhere" for them).
#[utoipa::path(
    delete,
    path = "/api/v1/members/{id}/sessions",
    tag = "sessions",
    params(("id" = String, Path, description = "The member id.")),
    responses(
        (status = 200, description = "Every browser session of the member ended (and audited).", body = SessionsEnded),
    )
)]
async fn end_member_sessions(
    State(state): State<AppState>,
    principal: Principal,
    tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(member): PathId<MemberId>,
) -> Result<AppJson<SessionsEnded>, ApiError> {
    let ended = end_sessions(&state, tx, &principal, source_ip, member, None, false).await?;
    Ok(AppJson(ended))
}

/// Ends one browser session of a member.
#[utoipa::path(
    delete,
    path = "/api/v1/members/{id}/sessions/{session_id}",
    tag = "sessions",
    params(
        ("id" = String, Path, description = "The member id."),
        ("session_id" = String, Path, description = "The session id."),
    ),
    responses(
        (status = 204, description = "The session ended (and audited)."),
    )
)]
async fn end_member_session(
    State(state): State<AppState>,
    principal: Principal,
    tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    MemberSessionPath { member, session }: MemberSessionPath,
) -> Result<StatusCode, ApiError> {
    end_sessions(
        &state,
        tx,
        &principal,
        source_ip,
        member,
        Some(session),
        false,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `{id}` and `{session_id}` of `/members/{id}/sessions/{session_id}`; a malformed id answers 404 like
/// an unknown one.
struct MemberSessionPath {
    member: MemberId,
    session: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for MemberSessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((member, session)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        match (Uuid::parse_str(&member), Uuid::parse_str(&session)) {
            (Ok(member), Ok(session)) => Ok(MemberSessionPath {
                member: MemberId(member),
                session,
            }),
            _ => Err(ApiError::NotFound),
        }
    }
}

/// The session-store key of the request's own browser session, if it came with one.
fn current_key(principal: &Principal, session: &Session) -> Option<Vec<u8>> {
    (principal.via == Transport::Session)
        .then(|| session.id().map(|id| storage_key(&id)))
        .flatten()
}

/// The member's session list, or `None` when the tenant has no such member.
async fn session_list(
    state: &AppState,
    tx: &mut TenantTx,
    member: MemberId,
    current: Option<&[u8]>,
) -> Result<Option<SessionList>, ApiError> {
    let Some(owner) = db::members::get(tx, member).await? else {
        return Ok(None);
    };
    let sessions = db::sessions::list(
        tx,
        member,
        state.config.session_absolute,
        SessionList::MAX_LISTED as i64,
    )
    .await?;
    let mut sessions: Vec<SessionInfo> = sessions
        .into_iter()
        .map(|session| to_wire(session, current))
        .collect::<Result<_, _>>()?;
    // The session asking comes first; the others stay most recently used first.
    sessions.sort_by_key(|session| !session.current);
    Ok(Some(SessionList {
        member: SessionOwner {
            id: owner.id.to_string(),
            name: owner.name,
            email: owner.email,
        },
        sessions,
    }))
}

/// Ends `member`'s session `only` (or all their sessions), records the sign-ins as revoked and audits it, in
/// one transaction. With `own_sign_in`, the caller's own sign-in is revoked too (for a bearer caller it is
/// not among the browser sessions). 404 when the tenant has no such member, or `only` names no live session
/// of theirs.
async fn end_sessions(
    state: &AppState,
    mut tx: TenantTx,
    principal: &Principal,
    source_ip: Option<std::net::IpAddr>,
    member: MemberId,
    only: Option<Uuid>,
    own_sign_in: bool,
) -> Result<SessionsEnded, ApiError> {
    let owner = db::members::get(&mut tx, member)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ended = db::sessions::end(&mut tx, member, only).await?;
    if only.is_some() && ended.origin_jtis.is_empty() {
        return Err(ApiError::NotFound);
    }
    let mut sign_ins: BTreeSet<&str> = ended.origin_jtis.iter().map(String::as_str).collect();
    if own_sign_in {
        sign_ins.insert(principal.origin_jti.as_str());
    }
    let expires_at = OffsetDateTime::now_utc() + state.config.sign_in_revocation;
    for origin_jti in sign_ins {
        db::revocations::revoke_sign_in(&mut tx, origin_jti, expires_at).await?;
    }
    let count = u32::try_from(ended.origin_jtis.len()).unwrap_or(u32::MAX);
    let mut details = json!({ "sessions": count });
    if let [user_agent] = ended.user_agents.as_slice() {
        details["device"] = json!(device(user_agent));
    }
    if own_sign_in {
        details["everywhere"] = json!(true);
    }
    let event = NewEvent {
        action: AuditAction::SessionsEnded,
        actor: Some(principal.audit_actor()),
        target: Some(Target::member(member, &owner.email)),
        details,
        source_ip,
    };
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    state.sessions.forget(&ended.session_keys);
    tracing::info!(member_id = %member, sessions = count, "sessions ended");
    Ok(SessionsEnded { ended: count })
}

/// The wire form of a session.
fn to_wire(session: MemberSession, current: Option<&[u8]>) -> Result<SessionInfo, ApiError> {
    Ok(SessionInfo {
        id: session.id.to_string(),
        device: device(&session.user_agent),
        current: current == Some(session.session_key.as_slice()),
        user_agent: session.user_agent,
        address: session.source_ip.map(|ip| host_address(&ip)),
        signed_in_at: rfc3339(session.signed_in_at)?,
        last_seen_at: rfc3339(session.last_seen_at)?,
    })
}

/// An `inet` as text without the `/32` or `/128` Postgres adds to host addresses of other masks (it never
/// does for a host address, but a row written by hand could carry one).
fn host_address(inet: &str) -> String {
    inet.split('/').next().unwrap_or(inet).to_owned()
}

/// The browser and system of a `User-Agent`, in words: `Chrome 131 on Linux`, `Safari 17 on iPhone`,
/// `Unknown browser` when nothing is recognised.
pub fn device(user_agent: &str) -> String {
    const UNKNOWN: &str = "UNKNOWN";
    let parsed = woothee::parser::Parser::new().parse(user_agent);
    let (name, version, os) = match &parsed {
        Some(result) => (result.name, result.version, result.os),
        None => (UNKNOWN, UNKNOWN, UNKNOWN),
    };
    let major = version.split('.').next().filter(|major| {
        !major.is_empty() && *major != UNKNOWN && major.chars().all(|c| c.is_ascii_digit())
    });
    let browser = match (name, major) {
        (UNKNOWN, _) => "Unknown browser".to_owned(),
        (name, Some(major)) => format!("{name} {major}"),
        (name, None) => name.to_owned(),
    };
    if os == UNKNOWN {
        browser
    } else {
        format!("{browser} on {os}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_by_browser_major_version_and_system() {
        assert_eq!(
            device(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36"
            ),
            "Chrome 131 on Linux"
        );
        assert_eq!(
            device(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
            ),
            "Safari 17 on iPhone"
        );
        assert_eq!(
            device(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
            ),
            "Firefox 133 on Windows 10"
        );
    }

    #[test]
    fn an_unrecognised_user_agent_is_an_unknown_browser() {
        assert_eq!(device(""), "Unknown browser");
        assert_eq!(device("not a browser"), "Unknown browser");
        // A known non-browser client is named as such.
        assert_eq!(device("curl/8.5.0"), "HTTP Library");
        assert_eq!(device("\u{0}\u{1}"), "Unknown browser");
    }

    #[test]
    fn addresses_are_shown_without_a_mask() {
        assert_eq!(host_address("192.0.2.7"), "192.0.2.7");
        assert_eq!(host_address("192.0.2.7/32"), "192.0.2.7");
        assert_eq!(host_address("2001:db8::1"), "2001:db8::1");
    }
}
