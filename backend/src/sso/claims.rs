//! Claiming, proving and removing a tenant's email domains: what the set-up wizard, the tenant admins' sign-in
//! settings and the operators' console share, each with its own actors for the audit logs.
//!
//! The DNS lookup runs outside any transaction (it may take seconds); its outcome is recorded afterwards in
//! the tenant's transaction, against the claim as it then is.

use axum::http::StatusCode;
use serde_json::json;
use shared::ErrorCode;
use shared::api::{AuditAction, Domain, DomainStatus, DomainVerification, PlatformAuditAction};
use time::OffsetDateTime;

use super::domains::{self, DomainError, Lookup};
use super::links::{Actors, audit_both};
use super::wizard::SetupCaller;
use crate::api::paging::rfc3339;
use crate::db::audit::Target;
use crate::db::domains::{CheckOutcome, DomainClaim};
use crate::db::{self, TenantId};
use crate::error::ApiError;
use crate::state::AppState;

/// The most domains one tenant may claim.
pub const MAX_DOMAINS_PER_TENANT: usize = 20;

/// A claim as the API shows it.
pub fn to_wire(claim: &DomainClaim) -> Result<Domain, ApiError> {
    Ok(Domain {
        domain: claim.domain.clone(),
        status: claim.status,
        record_name: domains::record_name(&claim.domain),
        record_value: domains::record_value(&claim.verification_token),
        verified_at: claim.verified_at.map(rfc3339).transpose()?,
        last_checked_at: claim.last_checked_at.map(rfc3339).transpose()?,
    })
}

/// The tenant's domains.
pub async fn list(state: &AppState, tenant: TenantId) -> Result<Vec<Domain>, ApiError> {
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    let claims = db::domains::list(&mut tx).await?;
    tx.commit().await?;
    claims.iter().map(to_wire).collect()
}

fn domain_target(domain: &str) -> Target {
    Target {
        kind: "domain",
        id: domain.to_owned(),
        label: domain.to_owned(),
    }
}

/// The normalised domain of a path segment, or 404 (a name that is not a domain is claimed by nobody).
pub fn path_domain(segment: &str) -> Result<String, ApiError> {
    domains::normalise(segment).map_err(|_| ApiError::NotFound)
}

/// Claims `input` for `tenant`: 422 `invalid_request` for what is not a domain, 422 `domain_not_allowed` for
/// a public email provider or a public suffix, 409 `domain_taken` when another tenant has proven it, 409
/// `conflict` when the tenant already claims it, 422 beyond [`MAX_DOMAINS_PER_TENANT`]. `link`: the set-up
/// session it comes through, if it does, which must still be open when the claim is written (401
/// `setup_link_invalid` otherwise).
pub async fn claim(
    state: &AppState,
    tenant: TenantId,
    input: &str,
    actors: &Actors,
    link: Option<&SetupCaller>,
) -> Result<Domain, ApiError> {
    let domain = domains::normalise(input).map_err(|error| match error {
        DomainError::Invalid(message) => ApiError::unprocessable(format!("domain: {message}")),
        DomainError::NotAllowed(message) => ApiError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DomainNotAllowed,
            message,
        ),
    })?;
    domains::check_claimable(&domain).map_err(|error| {
        ApiError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DomainNotAllowed,
            error.to_string(),
        )
    })?;
    if db::domains::proven_by_another_tenant(&state.db, &domain, tenant).await? {
        return Err(taken(&domain));
    }
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    hold_open(&mut tx, link).await?;
    // The tenant's row lock serialises concurrent claims, so the count below holds.
    crate::api::lock_tenant(&mut tx).await?;
    let existing = db::domains::list(&mut tx).await?;
    if existing.iter().any(|claim| claim.domain == domain) {
        return Err(ApiError::Conflict(format!("{domain} is already listed.")));
    }
    if existing.len() >= MAX_DOMAINS_PER_TENANT {
        return Err(ApiError::unprocessable(format!(
            "domain: an organisation can list at most {MAX_DOMAINS_PER_TENANT} domains; remove one first."
        )));
    }
    let claim = db::domains::claim(&mut tx, &domain, &domains::new_token())
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("{domain} is already listed.")))?;
    audit_both(
        &mut tx,
        actors,
        (
            AuditAction::DomainClaimed,
            PlatformAuditAction::DomainClaimed,
        ),
        domain_target(&domain),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, domain, "domain claimed");
    to_wire(&claim)
}

fn taken(domain: &str) -> ApiError {
    ApiError::refused(
        StatusCode::CONFLICT,
        ErrorCode::DomainTaken,
        format!(
            "{domain} has been proven by another organisation on this platform, so it cannot be claimed or \
             route sign-ins here. If your organisation owns it, contact support."
        ),
    )
}

/// Looks up the proof of `tenant`'s claim on `domain` and records the outcome: verified (200, `verified`) when
/// the record holds this claim's token; otherwise 422 `domain_not_verified` saying what the lookup found.
/// 409 `domain_taken` when another tenant proved it meanwhile; 503 when DNS gives no answer. `link` as for
/// [`claim`].
pub async fn verify(
    state: &AppState,
    tenant: TenantId,
    domain: &str,
    actors: &Actors,
    link: Option<&SetupCaller>,
) -> Result<DomainVerification, ApiError> {
    let claim = {
        let mut tx = db::tenant_tx(&state.db, tenant).await?;
        let claim = db::domains::get(&mut tx, domain)
            .await?
            .ok_or(ApiError::NotFound)?;
        tx.commit().await?;
        claim
    };
    let lookup = state
        .domain_prover
        .lookup(domain, &claim.verification_token)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "domain proof lookup failed");
            ApiError::refused(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                format!(
                    "The DNS lookup of {} did not answer. Try again in a minute.",
                    domains::record_name(domain)
                ),
            )
        })?;
    let now = OffsetDateTime::now_utc();
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    hold_open(&mut tx, link).await?;
    // The claim as it is once concurrent verifications of it have ended: the outcome is judged against that.
    let before = db::domains::lock(&mut tx, domain)
        .await?
        .ok_or(ApiError::NotFound)?;
    if before.verification_token != claim.verification_token {
        return Err(ApiError::Conflict(format!(
            "{domain} was removed and listed again while it was being verified; verify it again."
        )));
    }
    let status_before = before.status;
    let proven = matches!(status_before, DomainStatus::Verified | DomainStatus::Lapsed);
    let recorded = if lookup != Lookup::Found && proven {
        // A verification someone asked for leaves a proven domain whose record is missing to the periodic
        // re-check: it neither lapses it nor counts as its check, or a tenant verifying by hand every day
        // would keep a domain it no longer controls from ever being re-checked.
        before
    } else {
        let outcome = match &lookup {
            Lookup::Found => CheckOutcome::Found,
            Lookup::Missing(_) => CheckOutcome::Missing {
                lapse_before: OffsetDateTime::UNIX_EPOCH,
            },
        };
        match db::domains::record_check(&mut tx, domain, outcome, now).await {
            Ok(recorded) => recorded.ok_or(ApiError::NotFound)?,
            Err(error) if is_proven_elsewhere(&error) => return Err(taken(domain)),
            Err(error) => return Err(error.into()),
        }
    };
    let newly_verified = lookup == Lookup::Found && status_before != DomainStatus::Verified;
    if newly_verified {
        // An organisation with its sign-in active routes the new domain at once.
        db::identity_providers::route_proven_domains(&mut tx).await?;
        audit_both(
            &mut tx,
            actors,
            (
                AuditAction::DomainVerified,
                PlatformAuditAction::DomainVerified,
            ),
            domain_target(domain),
            json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    let wire = to_wire(&recorded)?;
    match lookup {
        Lookup::Found => {
            if newly_verified {
                tracing::info!(tenant_id = %tenant, domain, "domain verified");
            }
            Ok(DomainVerification {
                domain: wire,
                verified: true,
                found: Vec::new(),
                message: format!("{domain} is verified."),
            })
        }
        Lookup::Missing(found) => {
            let mut message = not_found_message(domain, &wire.record_value, &found);
            if recorded.status == DomainStatus::Verified {
                message.push_str(&still_verified_message(
                    domain,
                    state.config.sso.domain_lapse_after,
                ));
            }
            Err(ApiError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::DomainNotVerified,
                message,
            ))
        }
    }
}

/// Holds `link`, the set-up session a change comes through, open until `tx` ends (see
/// [`SetupCaller::hold_open`]): a revocation of the link is never outrun by a change it meant to stop.
async fn hold_open(tx: &mut db::TenantTx, link: Option<&SetupCaller>) -> Result<(), ApiError> {
    match link {
        Some(caller) => caller.hold_open(tx).await,
        None => Ok(()),
    }
}

/// What a failed verification tells the person: what was expected, and what was found instead.
fn not_found_message(domain: &str, expected: &str, found: &[String]) -> String {
    let name = domains::record_name(domain);
    if found.is_empty() {
        format!(
            "No TXT record was found at {name}. Publish one holding {expected:?} with your DNS provider, wait \
             for it to propagate (usually minutes), then verify again."
        )
    } else {
        format!(
            "The TXT record at {name} holds {} instead of {expected:?}. Change it to the expected value, then \
             verify again.",
            found
                .iter()
                .map(|value| format!("{value:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Said after a failed verification of a domain that is verified: it keeps routing until the periodic
/// re-check has missed its record for `lapse_after`.
fn still_verified_message(domain: &str, lapse_after: time::Duration) -> String {
    format!(
        " {domain} stays verified meanwhile: it stops routing sign-ins only once its record has been missing \
         at every periodic re-check for {} days.",
        lapse_after.whole_days()
    )
}

/// Whether `error` is the unique index refusing a second tenant's proof of a domain.
fn is_proven_elsewhere(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|constraint| constraint == "tenant_domains_proven_once")
}

/// Removes `tenant`'s claim on `domain` (it stops routing at once); 404 when it has none. `link` as for
/// [`claim`].
pub async fn remove(
    state: &AppState,
    tenant: TenantId,
    domain: &str,
    actors: &Actors,
    link: Option<&SetupCaller>,
) -> Result<(), ApiError> {
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    hold_open(&mut tx, link).await?;
    if !db::domains::remove(&mut tx, domain).await? {
        return Err(ApiError::NotFound);
    }
    db::identity_providers::route_proven_domains(&mut tx).await?;
    audit_both(
        &mut tx,
        actors,
        (
            AuditAction::DomainRemoved,
            PlatformAuditAction::DomainRemoved,
        ),
        domain_target(domain),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, domain, "domain removed");
    Ok(())
}

/// What a re-check of the proven domains did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recheck {
    /// Domains whose record was found (a lapsed one among them is verified again).
    pub found: Vec<String>,
    /// Domains whose record was missing (still within the grace period).
    pub missing: Vec<String>,
    /// Domains that lapsed at this re-check.
    pub lapsed: Vec<String>,
    /// Domains whose lookup gave no answer (left as they were).
    pub unanswered: Vec<String>,
}

/// Looks up again the proven domains last checked more than `every` ago (at most `batch` of them), as of
/// `now`: a domain whose record has been missing at every re-check for `lapse_after` lapses (routes nothing,
/// stays the tenant's), and a lapsed one whose record is back is verified again. A lookup without an answer
/// changes nothing: only a record seen missing counts against a domain. Lapses and returns are audited in both
/// logs as the platform's own doing (`actor_kind` `system`).
pub async fn recheck(
    state: &AppState,
    now: OffsetDateTime,
    every: std::time::Duration,
    lapse_after: time::Duration,
    batch: i32,
) -> Result<Recheck, ApiError> {
    let checked_before = now - every;
    let due = db::domains::due_for_recheck(&state.db, checked_before, batch).await?;
    let mut report = Recheck::default();
    let system = Actors {
        platform: crate::db::platform::OperatorRef {
            kind: crate::db::platform::ActorKind::System,
            id: "domain-recheck".to_owned(),
            email: String::new(),
        },
        tenant: None,
        source_ip: None,
    };
    for (tenant, domain) in due {
        let mut tx = db::tenant_tx(&state.db, tenant).await?;
        let Some(claim) = db::domains::get(&mut tx, &domain).await? else {
            continue;
        };
        tx.commit().await?;
        let outcome = match state
            .domain_prover
            .lookup(&domain, &claim.verification_token)
            .await
        {
            Ok(Lookup::Found) => CheckOutcome::Found,
            Ok(Lookup::Missing(_)) => CheckOutcome::Missing {
                lapse_before: now - lapse_after,
            },
            Err(error) => {
                tracing::warn!(%error, domain, "domain re-check: no answer; trying again next time");
                report.unanswered.push(domain);
                continue;
            }
        };
        let mut tx = db::tenant_tx(&state.db, tenant).await?;
        // The claim as it is once a verification of it in flight has ended, so that a change is audited once;
        // a claim removed and made again meanwhile is left to its own checks.
        let Some(before) = db::domains::lock(&mut tx, &domain).await? else {
            continue;
        };
        if before.verification_token != claim.verification_token {
            continue;
        }
        let after = match db::domains::record_check(&mut tx, &domain, outcome, now).await {
            Ok(Some(after)) => after,
            Ok(None) => continue,
            // Another tenant proved it meanwhile (only possible for a domain this tenant let go): leave it.
            Err(error) if is_proven_elsewhere(&error) => continue,
            Err(error) => return Err(error.into()),
        };
        let found = outcome == CheckOutcome::Found;
        let changed = match (before.status, after.status) {
            (DomainStatus::Verified, DomainStatus::Lapsed) => {
                Some((AuditAction::DomainLapsed, PlatformAuditAction::DomainLapsed))
            }
            (DomainStatus::Lapsed, DomainStatus::Verified) => Some((
                AuditAction::DomainVerified,
                PlatformAuditAction::DomainVerified,
            )),
            _ => None,
        };
        if after.status == DomainStatus::Lapsed && before.status != DomainStatus::Lapsed {
            report.lapsed.push(domain.clone());
        } else if found {
            report.found.push(domain.clone());
        } else {
            report.missing.push(domain.clone());
        }
        if let Some(actions) = changed {
            db::identity_providers::route_proven_domains(&mut tx).await?;
            audit_both(&mut tx, &system, actions, domain_target(&domain), json!({})).await?;
            tracing::info!(tenant_id = %tenant, domain, status = ?after.status, "domain proof changed at its re-check");
        }
        tx.commit().await?;
    }
    Ok(report)
}

/// `backend serve`'s periodic re-check of the proven domains (`DOMAIN_RECHECK_HOURS`, `DOMAIN_LAPSE_DAYS`):
/// every hour it re-checks the domains whose last check is older than the interval, a batch at a time.
pub async fn keep_rechecking(state: AppState) {
    let Some(every) = state.config.sso.domain_recheck_interval else {
        return;
    };
    let lapse_after = state.config.sso.domain_lapse_after;
    let tick = every.min(std::time::Duration::from_secs(3600));
    loop {
        match recheck(&state, OffsetDateTime::now_utc(), every, lapse_after, 100).await {
            Ok(report) if report != Recheck::default() => {
                tracing::info!(?report, "proven domains re-checked");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "re-checking the proven domains failed; retrying later")
            }
        }
        tokio::time::sleep(tick).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_verification_says_what_it_found() {
        let none = not_found_message("initech.example", "saas-verification=abc", &[]);
        assert!(
            none.contains("No TXT record was found at _saas-verification.initech.example"),
            "{none}"
        );
        let other = not_found_message(
            "initech.example",
            "saas-verification=abc",
            &["saas-verification=xyz".to_owned()],
        );
        assert!(
            other.contains("\"saas-verification=xyz\" instead of \"saas-verification=abc\""),
            "{other}"
        );
    }
}
