//! `/api/v1/me/sessions` and `/api/v1/members/{id}/sessions`: a member's browser sessions, and ending them.

use serde::{Deserialize, Serialize};

/// One signed-in browser session of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The session's id in this API (not the cookie, nor anything derived from it).
    pub id: String,
    /// The browser and system in words (`Chrome 131 on Linux`), from the browser's `User-Agent`;
    /// `Unknown browser` when it said nothing recognisable.
    pub device: String,
    /// The `User-Agent` the browser sent at sign-in, at most 512 characters.
    pub user_agent: String,
    /// The address the session was last used from, when known.
    pub address: Option<String>,
    /// When the member signed in (RFC 3339).
    pub signed_in_at: String,
    /// When the session was last used (RFC 3339), to within about a minute.
    pub last_seen_at: String,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// The member a session list belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionOwner {
    /// The member id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The email the identity provider last asserted.
    pub email: String,
}

/// `GET /api/v1/me/sessions`, `GET /api/v1/members/{id}/sessions`: the member's live browser sessions, the
/// one making the request first, then the most recently used (at most [`SessionList::MAX_LISTED`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    /// Whose sessions these are.
    pub member: SessionOwner,
    /// The sessions.
    pub sessions: Vec<SessionInfo>,
}

impl SessionList {
    /// The most sessions a list shows; ending all of them still ends every one.
    pub const MAX_LISTED: usize = 100;
}

/// `DELETE /api/v1/me/sessions`, `DELETE /api/v1/members/{id}/sessions`: how many sessions were ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsEnded {
    /// The number of browser sessions ended.
    pub ended: u32,
}
