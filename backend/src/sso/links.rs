//! Set-up links: creating, listing and revoking them (for operators and tenant admins alike), and the audit
//! entries every set-up step writes to both logs.
//!
//! A link's URL is `<PUBLIC_URL>/setup#<token>`: the token travels after `#`, which browsers never send to a
//! server nor put in a `Referer`, so it reaches no log. The token is 256 random bits, stored as its SHA-256
//! only, and shown once.

use std::net::IpAddr;

use axum::http::StatusCode;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use shared::api::{AuditAction, CreatedSetupLink, PlatformAuditAction, SetupLink};
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::api::paging::rfc3339;
use crate::config::MAX_SETUP_LINK_DAYS;
use crate::db::audit::{self, Actor, NewEvent, Target};
use crate::db::platform::{self, NewPlatformEvent, OperatorRef, TenantRef};
use crate::db::setup_links::{self, Creator};
use crate::db::{self, TenantTx};
use crate::error::ApiError;

/// A fresh secret (for a link or a set-up session) and its SHA-256: 32 random bytes, base64url.
pub fn new_secret() -> (String, [u8; 32]) {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = digest(&secret);
    (secret, hash)
}

/// The SHA-256 of a secret as presented.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` has the shape [`new_secret`] gives (43 base64url characters): anything else is refused
/// before any lookup.
pub fn is_well_formed(secret: &str) -> bool {
    secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The URL of a link with `token` on the app at `public_url`.
pub fn url(public_url: &Url, token: &str) -> String {
    format!(
        "{}/setup#{token}",
        public_url.as_str().trim_end_matches('/')
    )
}

/// Who acts on a tenant's set-up: as each audit log names them.
#[derive(Debug, Clone)]
pub struct Actors {
    /// The platform log's actor.
    pub platform: OperatorRef,
    /// The tenant log's actor: the member, or `None` for an operator or the IT admin behind a link (the
    /// details say which).
    pub tenant: Option<Actor>,
    /// The client address.
    pub source_ip: Option<IpAddr>,
}

/// Appends one step of the set-up to the tenant's audit log and to the platform's, in the tenant's
/// transaction: a step neither log can record does not happen.
pub async fn audit_both(
    tx: &mut TenantTx,
    actors: &Actors,
    actions: (AuditAction, PlatformAuditAction),
    target: Target,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let tenant = db::tenants::current(tx).await?.ok_or(ApiError::NotFound)?;
    let mut tenant_details = details.clone();
    if let Some(object) = tenant_details.as_object_mut()
        && actors.tenant.is_none()
    {
        object.insert("by".into(), json!(actors.platform.kind.as_str()));
    }
    audit::record(
        tx,
        &NewEvent {
            action: actions.0,
            actor: actors.tenant.clone(),
            target: Some(target.clone()),
            details: tenant_details,
            source_ip: actors.source_ip,
        },
    )
    .await?;
    let mut platform_details = details;
    if let Some(object) = platform_details.as_object_mut() {
        object.insert(target.kind.to_owned(), json!(target.label));
    }
    platform::record_event(
        tx.conn(),
        &NewPlatformEvent {
            action: actions.1,
            operator: actors.platform.clone(),
            tenant: Some(TenantRef {
                id: tenant.id,
                slug: tenant.slug,
                name: tenant.name,
            }),
            details: platform_details,
            source_ip: actors.source_ip,
        },
    )
    .await?;
    Ok(())
}

/// A link as operators and admins see it.
pub fn to_wire(link: &setup_links::SetupLink, now: OffsetDateTime) -> Result<SetupLink, ApiError> {
    Ok(SetupLink {
        id: link.id.to_string(),
        state: link.state(now),
        created_at: rfc3339(link.created_at)?,
        expires_at: rfc3339(link.expires_at)?,
        created_by_kind: link.created_by_kind.clone(),
        created_by_email: link.created_by_email.clone(),
        opened_at: link.opened_at.map(rfc3339).transpose()?,
    })
}

/// The validity of a new link: `valid_days` (1 to [`MAX_SETUP_LINK_DAYS`]) or `default`.
pub fn validity(
    valid_days: Option<u32>,
    default: time::Duration,
) -> Result<time::Duration, ApiError> {
    match valid_days {
        None => Ok(default),
        Some(days) if (1..=MAX_SETUP_LINK_DAYS).contains(&i64::from(days)) => {
            Ok(time::Duration::days(i64::from(days)))
        }
        Some(_) => Err(ApiError::unprocessable(format!(
            "valid_days: a whole number of days from 1 to {MAX_SETUP_LINK_DAYS}."
        ))),
    }
}

/// Creates a link for the transaction's tenant (revoking its open one), audited in both logs; the caller
/// commits. A tenant being deleted gets no link.
pub async fn create(
    tx: &mut TenantTx,
    public_url: &Url,
    validity: time::Duration,
    creator: &Creator,
    actors: &Actors,
) -> Result<CreatedSetupLink, ApiError> {
    let tenant = db::tenants::current(tx).await?.ok_or(ApiError::NotFound)?;
    if tenant.status == shared::TenantStatus::Deleting {
        return Err(ApiError::refused(
            StatusCode::CONFLICT,
            shared::ErrorCode::Conflict,
            "This tenant is being deleted.",
        ));
    }
    let (token, hash) = new_secret();
    let now = OffsetDateTime::now_utc();
    let (link, revoked) = setup_links::create(tx, &hash, now + validity, creator).await?;
    for id in &revoked {
        audit_both(
            tx,
            actors,
            (
                AuditAction::SetupLinkRevoked,
                PlatformAuditAction::SetupLinkRevoked,
            ),
            link_target(*id),
            json!({ "replaced_by": link.id.to_string() }),
        )
        .await?;
    }
    audit_both(
        tx,
        actors,
        (
            AuditAction::SetupLinkCreated,
            PlatformAuditAction::SetupLinkCreated,
        ),
        link_target(link.id),
        json!({ "expires_at": rfc3339(link.expires_at)? }),
    )
    .await?;
    Ok(CreatedSetupLink {
        link: to_wire(&link, now)?,
        url: url(public_url, &token),
    })
}

/// Revokes the transaction's tenant's link `id` (audited when it was still open); 404 when it has none.
pub async fn revoke(tx: &mut TenantTx, id: Uuid, actors: &Actors) -> Result<SetupLink, ApiError> {
    let now = OffsetDateTime::now_utc();
    let before = setup_links::get(tx, id).await?.ok_or(ApiError::NotFound)?;
    let after = setup_links::revoke(tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if before.revoked_at.is_none() && after.revoked_at.is_some() {
        audit_both(
            tx,
            actors,
            (
                AuditAction::SetupLinkRevoked,
                PlatformAuditAction::SetupLinkRevoked,
            ),
            link_target(id),
            json!({}),
        )
        .await?;
    }
    to_wire(&after, now)
}

/// The transaction's tenant's links, newest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<SetupLink>, ApiError> {
    let now = OffsetDateTime::now_utc();
    setup_links::list(tx)
        .await?
        .iter()
        .map(|link| to_wire(link, now))
        .collect()
}

/// A link as the audit logs name it.
pub fn link_target(id: Uuid) -> Target {
    Target {
        kind: "setup_link",
        id: id.to_string(),
        label: "set-up link".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_well_formed_and_stored_as_their_digest() {
        let (secret, hash) = new_secret();
        assert!(is_well_formed(&secret), "{secret}");
        assert_eq!(digest(&secret), hash);
        assert_ne!(new_secret().0, secret);
        for bad in [
            "",
            "short",
            &format!("{secret}x"),
            &secret.replace(|_| true, "!"),
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn the_token_travels_after_the_fragment_mark() {
        let public = Url::parse("https://app.example.com/").unwrap();
        assert_eq!(url(&public, "tok"), "https://app.example.com/setup#tok");
    }

    #[test]
    fn validity_is_bounded() {
        let week = time::Duration::days(7);
        assert_eq!(validity(None, week).ok(), Some(week));
        assert_eq!(
            validity(Some(30), week).ok(),
            Some(time::Duration::days(30))
        );
        assert!(validity(Some(0), week).is_err());
        assert!(validity(Some(31), week).is_err());
    }
}
