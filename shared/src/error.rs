//! Stable, machine-readable error codes and the JSON error body every API error uses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stable error code. Clients branch on it; the message is for people. Codes are never reused for
/// another meaning; new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No valid session or bearer token (401).
    Unauthenticated,
    /// The token or session is valid but lacks the scope the route needs (403).
    InsufficientScope,
    /// The member behind the token has been deactivated or removed (403).
    MemberInactive,
    /// A state-changing request failed the cross-site request forgery check (403).
    CsrfRejected,
    /// The resource does not exist or belongs to another tenant (404).
    NotFound,
    /// The request body or parameters are invalid (400 or 422).
    InvalidRequest,
    /// The request body is larger than the route accepts (413).
    PayloadTooLarge,
    /// A dependency (database, identity provider) is unavailable; retry later (503).
    ServiceUnavailable,
    /// An unexpected failure; details are in the server log only (500).
    Internal,
    /// Sign-in: the email address is not a valid address.
    InvalidEmail,
    /// Sign-in: no organisation has configured sign-in for the email's domain.
    NoSignInForDomain,
    /// Sign-in: the identity provider the user came through belongs to no tenant.
    UnknownIdentityProvider,
    /// Sign-in: the member has been deactivated by a tenant admin.
    MembershipDeactivated,
    /// Sign-in: the sign-in attempt expired, was replayed, or came from another browser.
    SignInExpired,
    /// Sign-in: the identity provider or user pool refused or failed the sign-in.
    SignInFailed,
    /// The caller's role and scopes allow the action in general, but not on this resource (403), for example
    /// editing another member's report.
    NotPermitted,
    /// The tenant's plan does not allow more of this resource (403).
    PlanLimitReached,
    /// The tenant's plan does not include this feature, for example CSV export on `basic` (403).
    PlanFeatureUnavailable,
    /// The change would leave the tenant without an active admin (409).
    LastAdmin,
    /// The resource already exists, for example a pending invitation for the same email (409).
    Conflict,
    /// Sign-in: the organisation admits only invited people, and this person has no invitation.
    NotInvited,
    /// The tenant stores as much as its plan allows; no more uploads until files are deleted (403).
    StorageQuotaExceeded,
    /// 429: too many requests from this client; the `Retry-After` header says when to try again.
    TooManyRequests,
    /// Sign-in: the platform's operators suspended the organisation; nobody of it can sign in until it is
    /// resumed.
    TenantSuspended,
    /// 409: another organisation has proven this email domain; it cannot be claimed or routed here.
    DomainTaken,
    /// 422: the domain cannot be claimed: a public email provider's, a public suffix, or not a domain name.
    DomainNotAllowed,
    /// 422: the domain's TXT record was not found (the message says what the lookup found instead).
    DomainNotVerified,
    /// 401: the set-up link is unknown, already opened, revoked, completed or expired (or the set-up
    /// session it started has ended).
    SetupLinkInvalid,
    /// 422: the identity provider's settings failed the check (the message says which and why).
    ProviderCheckFailed,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::MemberInactive => "member_inactive",
            ErrorCode::CsrfRejected => "csrf_rejected",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::NoSignInForDomain => "no_sign_in_for_domain",
            ErrorCode::UnknownIdentityProvider => "unknown_identity_provider",
            ErrorCode::MembershipDeactivated => "membership_deactivated",
            ErrorCode::SignInExpired => "sign_in_expired",
            ErrorCode::SignInFailed => "sign_in_failed",
            ErrorCode::NotPermitted => "not_permitted",
            ErrorCode::PlanLimitReached => "plan_limit_reached",
            ErrorCode::PlanFeatureUnavailable => "plan_feature_unavailable",
            ErrorCode::LastAdmin => "last_admin",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NotInvited => "not_invited",
            ErrorCode::StorageQuotaExceeded => "storage_quota_exceeded",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::TenantSuspended => "tenant_suspended",
            ErrorCode::DomainTaken => "domain_taken",
            ErrorCode::DomainNotAllowed => "domain_not_allowed",
            ErrorCode::DomainNotVerified => "domain_not_verified",
            ErrorCode::SetupLinkInvalid => "setup_link_invalid",
            ErrorCode::ProviderCheckFailed => "provider_check_failed",
        }
    }

    /// Parses a wire code; unknown codes are `None` (a client must cope with codes added later).
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// Every code, for exhaustive tests and lookups.
    pub const ALL: [ErrorCode; 29] = [
        ErrorCode::Unauthenticated,
        ErrorCode::InsufficientScope,
        ErrorCode::MemberInactive,
        ErrorCode::CsrfRejected,
        ErrorCode::NotFound,
        ErrorCode::InvalidRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Internal,
        ErrorCode::InvalidEmail,
        ErrorCode::NoSignInForDomain,
        ErrorCode::UnknownIdentityProvider,
        ErrorCode::MembershipDeactivated,
        ErrorCode::SignInExpired,
        ErrorCode::SignInFailed,
        ErrorCode::NotPermitted,
        ErrorCode::PlanLimitReached,
        ErrorCode::PlanFeatureUnavailable,
        ErrorCode::LastAdmin,
        ErrorCode::Conflict,
        ErrorCode::NotInvited,
        ErrorCode::StorageQuotaExceeded,
        ErrorCode::TooManyRequests,
        ErrorCode::TenantSuspended,
        ErrorCode::DomainTaken,
        ErrorCode::DomainNotAllowed,
        ErrorCode::DomainNotVerified,
        ErrorCode::SetupLinkInvalid,
        ErrorCode::ProviderCheckFailed,
    ];

    /// A sentence a person can read, used where the server gives no message of its own
    /// (for example when the sign-in flow redirects back to the app with only a code).
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "You are not signed in.",
            ErrorCode::InsufficientScope => "Your role does not allow this.",
            ErrorCode::MemberInactive => {
                "Your membership has been deactivated by an administrator."
            }
            ErrorCode::CsrfRejected => "The request did not come from this application.",
            ErrorCode::NotFound => "Not found.",
            ErrorCode::InvalidRequest => "The request is not valid.",
            ErrorCode::PayloadTooLarge => "The request is too large.",
            ErrorCode::ServiceUnavailable => {
                "A service this application depends on is unavailable. Please try again shortly."
            }
            ErrorCode::Internal => "Something went wrong on our side.",
            ErrorCode::InvalidEmail => "Please enter a valid work email address.",
            ErrorCode::NoSignInForDomain => {
                "No organisation has set up sign-in for this email domain. Check the address or ask your administrator."
            }
            ErrorCode::UnknownIdentityProvider => {
                "Your identity provider is not connected to any organisation here."
            }
            ErrorCode::MembershipDeactivated => {
                "Your membership has been deactivated. Contact your organisation's administrator."
            }
            ErrorCode::SignInExpired => {
                "The sign-in attempt expired or was already used. Please sign in again."
            }
            ErrorCode::SignInFailed => "Sign-in did not complete. Please try again.",
            ErrorCode::NotPermitted => "You are not permitted to change this.",
            ErrorCode::PlanLimitReached => {
                "Your organisation's plan does not allow more of these. Upgrade the plan or remove some first."
            }
            ErrorCode::PlanFeatureUnavailable => {
                "Your organisation's plan does not include this feature."
            }
            ErrorCode::LastAdmin => {
                "The organisation must keep at least one active admin. Make someone else an admin first."
            }
            ErrorCode::Conflict => "This already exists.",
            ErrorCode::NotInvited => {
                "Your organisation admits only invited people. Ask an administrator for an invitation."
            }
            ErrorCode::StorageQuotaExceeded => {
                "Your organisation has used all the storage its plan includes. Delete files or upgrade the plan."
            }
            ErrorCode::TooManyRequests => "Too many attempts. Please wait a moment and try again.",
            ErrorCode::TenantSuspended => {
                "Your organisation's access is suspended. Contact your organisation's administrator."
            }
            ErrorCode::DomainTaken => "Another organisation has proven this domain.",
            ErrorCode::DomainNotAllowed => "This domain cannot be used for single sign-on.",
            ErrorCode::DomainNotVerified => "The domain's DNS record was not found.",
            ErrorCode::SetupLinkInvalid => {
                "This set-up link is no longer valid. Ask for a new one."
            }
            ErrorCode::ProviderCheckFailed => {
                "The identity provider's settings did not pass the check."
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response: `{"code": "not_found", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The stable code.
    pub code: ErrorCode,
    /// A message for people; never contains internal detail.
    pub message: String,
}

impl ErrorBody {
    /// An error body with the code's default message.
    pub fn new(code: ErrorCode) -> Self {
        ErrorBody {
            code,
            message: code.default_message().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_its_wire_name_and_parses_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!(!code.default_message().is_empty());
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}
