//! `/api/v1/invitations`: tenant admins invite people by email with a preset role, list the open invitations
//! and withdraw them.
//!
//! An invitation admits the person whose identity provider asserts that email, and only through the tenant's
//! own identity provider (the pre-token-generation trigger binds the sign-in to a tenant by provider before it
//! looks at invitations), so it matters even when just-in-time joining is off. The invitation's role is an
//! admin's choice: the member keeps it until an admin changes it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::ErrorBody;
use shared::Scope;
use shared::api::{AuditAction, Invitation, InvitationList, MemberRef, NewInvitation};
use time::{Duration, OffsetDateTime};

use super::PathId;
use super::paging::rfc3339;
use crate::auth::login::email_domain;
use crate::auth::{Principal, ScopedRouter};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, NewEvent, Target};
use crate::db::{self, TenantTx};
use crate::error::{ApiError, AppJson};
use crate::state::AppState;

/// How long an invitation stays valid.
pub const INVITATION_VALIDITY: Duration = Duration::days(14);
/// The most open invitations a tenant may have at once (a bound on what one admin session can write).
pub const MAX_OPEN_INVITATIONS: usize = 500;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/invitations", Scope::Admin, list)
        .post("/invitations", Scope::Admin, create)
        .delete("/invitations/{id}", Scope::Admin, withdraw)
}

/// The tenant's open invitations, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/invitations",
    tag = "invitations",
    responses(
        (status = 200, description = "The open invitations, newest first.", body = InvitationList),
    )
)]
async fn list(mut tx: TenantTx) -> Result<AppJson<InvitationList>, ApiError> {
    let invitations = db::invitations::list_open(&mut tx).await?;
    tx.commit().await?;
    let items = invitations
        .into_iter()
        .map(to_wire)
        .collect::<Result<_, _>>()?;
    Ok(AppJson(InvitationList { items }))
}

/// Invites someone: 201 with the invitation; 409 when an open invitation for the email exists or a member
/// already has it.
#[utoipa::path(
    post,
    path = "/api/v1/invitations",
    tag = "invitations",
    request_body = NewInvitation,
    responses(
        (status = 201, description = "The invitation (valid 14 days).", body = Invitation),
        (status = 409, description = "An open invitation or a member with this email exists (`conflict`).", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the email is outside the organisation's verified domains (no such address could sign in); the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn create(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    AppJson(new): AppJson<NewInvitation>,
) -> Result<Response, ApiError> {
    let email = normalise_email(&new.email).ok_or_else(|| {
        ApiError::unprocessable("email must be a valid email address such as dana@acme.example.")
    })?;
    // Only an address in a domain one of the tenant's identity providers is verified for can ever sign in
    // here (home-realm discovery routes only verified domains, and the trigger lets an invitation be claimed
    // only with an email the provider vouches for): anything else would be an invitation nobody can use.
    let domains: Vec<String> = db::identity_providers::list(&mut tx)
        .await?
        .into_iter()
        .flat_map(|provider| provider.verified_domains)
        .collect();
    let domain = email_domain(&email).unwrap_or_default();
    if !domains
        .iter()
        .any(|verified| verified.eq_ignore_ascii_case(&domain))
    {
        return Err(ApiError::unprocessable(match domains.as_slice() {
            [] => "email: the organisation has no verified email domain yet, so no invited address could \
                   sign in; the platform operators verify domains."
                .to_owned(),
            verified => format!(
                "email: {domain} is not a verified domain of the organisation, so this address could never \
                 sign in here. Invite addresses in {}.",
                verified.join(", ")
            ),
        }));
    }
    if db::members::exists_with_email(&mut tx, &email).await? {
        return Err(ApiError::Conflict(
            "A member with this email already belongs to the organisation.".into(),
        ));
    }
    if db::invitations::list_open(&mut tx).await?.len() >= MAX_OPEN_INVITATIONS {
        return Err(ApiError::unprocessable(format!(
            "An organisation can have at most {MAX_OPEN_INVITATIONS} open invitations; withdraw some first."
        )));
    }
    let expires_at = OffsetDateTime::now_utc() + INVITATION_VALIDITY;
    let invitation = db::invitations::create(
        &mut tx,
        &email,
        new.role,
        Some(principal.member_id),
        expires_at,
    )
    .await?
    .ok_or_else(|| ApiError::Conflict("This email already has an open invitation.".into()))?;
    let event = NewEvent {
        action: AuditAction::InvitationCreated,
        actor: Some(principal.audit_actor()),
        target: Some(Target {
            kind: "invitation",
            id: invitation.id.to_string(),
            label: invitation.email.clone(),
        }),
        details: json!({ "role": invitation.role.as_str() }),
        source_ip,
    };
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(to_wire(invitation)?)).into_response())
}

/// Withdraws an open invitation: 204, or 404 when there is no such open invitation in the tenant.
#[utoipa::path(
    delete,
    path = "/api/v1/invitations/{id}",
    tag = "invitations",
    params(("id" = String, Path, description = "The invitation id.")),
    responses(
        (status = 204, description = "Withdrawn (and audited)."),
    )
)]
async fn withdraw(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let (email, role) = db::invitations::delete_open(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let event = NewEvent {
        action: AuditAction::InvitationRevoked,
        actor: Some(principal.audit_actor()),
        target: Some(Target {
            kind: "invitation",
            id: id.to_string(),
            label: email,
        }),
        details: json!({ "role": role.as_str() }),
        source_ip,
    };
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The email as invitations store it: trimmed, lower-cased, the domain in its ASCII form; `None` when it is
/// not a valid address.
pub(crate) fn normalise_email(email: &str) -> Option<String> {
    let domain = email_domain(email)?;
    let (local, _) = email.trim().rsplit_once('@')?;
    Some(format!("{}@{domain}", local.to_lowercase()))
}

/// The wire form of an invitation.
fn to_wire(invitation: db::invitations::Invitation) -> Result<Invitation, ApiError> {
    Ok(Invitation {
        id: invitation.id.to_string(),
        email: invitation.email,
        role: invitation.role,
        invited_by: invitation.invited_by.map(|member| MemberRef {
            id: member.to_string(),
            name: invitation.invited_by_name,
        }),
        created_at: rfc3339(invitation.created_at)?,
        expires_at: rfc3339(invitation.expires_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalise_email("  Dana.Doe@ACME.example "),
            Some("dana.doe@acme.example".to_owned())
        );
    }

    #[test]
    fn invalid_emails_are_refused() {
        for bad in [
            "",
            "dana",
            "dana@",
            "@acme.example",
            "da na@acme.example",
            "dana@localhost",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }
}
