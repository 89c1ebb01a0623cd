//! `/api/v1/invitations`: pending invitations and new ones.

use serde::{Deserialize, Serialize};

use super::members::MemberRef;
use crate::scope::Role;

/// An invitation (`GET|POST /api/v1/invitations`): the person with this email who signs in through the
/// tenant's identity provider joins with this role, even when just-in-time joining is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    /// The invitation id.
    pub id: String,
    /// The invited email (lower-case).
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
    /// The admin who invited them; absent when the platform's operators did (a new tenant's first admin).
    pub invited_by: Option<MemberRef>,
    /// When the invitation was made (RFC 3339).
    pub created_at: String,
    /// When it stops being valid (RFC 3339).
    pub expires_at: String,
}

/// `POST /api/v1/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvitation {
    /// The email to invite.
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
}

/// `GET /api/v1/invitations`: the pending (not yet used, not expired) invitations, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationList {
    /// The invitations.
    pub items: Vec<Invitation>,
}
