//! The `tenant_domains` table: the email domains a tenant claims and the DNS proof of each.
//!
//! A domain is proven (verified or lapsed) by one tenant at most: the partial unique index
//! `tenant_domains_proven_once` makes a second tenant's verification fail, whatever either can see, and
//! [`proven_by_another_tenant`] refuses such a claim up front.

use sqlx::PgPool;
use time::OffsetDateTime;

use super::{TenantId, TenantTx};

/// Where a domain's proof stands (the `status` column).
pub use shared::api::DomainStatus;

/// A claimed domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainClaim {
    /// The domain, lower-case.
    pub domain: String,
    /// The token its TXT record must hold.
    pub verification_token: String,
    /// Where its proof stands.
    pub status: DomainStatus,
    /// When it was claimed.
    pub created_at: OffsetDateTime,
    /// When it was first verified.
    pub verified_at: Option<OffsetDateTime>,
    /// When its record was last looked up.
    pub last_checked_at: Option<OffsetDateTime>,
    /// Since when its record has been missing at every re-check (a proven domain only).
    pub failing_since: Option<OffsetDateTime>,
}

struct Row {
    domain: String,
    verification_token: String,
    status: String,
    created_at: OffsetDateTime,
    verified_at: Option<OffsetDateTime>,
    last_checked_at: Option<OffsetDateTime>,
    failing_since: Option<OffsetDateTime>,
}

impl TryFrom<Row> for DomainClaim {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<DomainClaim, sqlx::Error> {
        Ok(DomainClaim {
            domain: row.domain,
            verification_token: row.verification_token,
            status: match row.status.as_str() {
                "pending" => DomainStatus::Pending,
                "verified" => DomainStatus::Verified,
                "lapsed" => DomainStatus::Lapsed,
                other => {
                    return Err(sqlx::Error::ColumnDecode {
                        index: "status".to_owned(),
                        source: format!("unexpected value {other:?}").into(),
                    });
                }
            },
            created_at: row.created_at,
            verified_at: row.verified_at,
            last_checked_at: row.last_checked_at,
            failing_since: row.failing_since,
        })
    }
}

/// The transaction's tenant's domains, by name.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<DomainClaim>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Row,
        "SELECT domain, verification_token, status, created_at, verified_at, last_checked_at, failing_since
         FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(DomainClaim::try_from)
    .collect()
}

/// The transaction's tenant's claim on `domain`. Not locked: callers look its record up in DNS outside any
/// transaction, then [`lock`] it to record the outcome.
pub async fn get(tx: &mut TenantTx, domain: &str) -> Result<Option<DomainClaim>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Row,
        "SELECT domain, verification_token, status, created_at, verified_at, last_checked_at, failing_since
         FROM tenant_domains WHERE tenant_id = $1 AND domain = $2",
        tenant.0,
        domain
    )
    .fetch_optional(tx.conn())
    .await?
    .map(DomainClaim::try_from)
    .transpose()
}

/// The transaction's tenant's claim on `domain`, locked until the transaction ends: a lookup's outcome is
/// recorded against the claim as it is once concurrent checks and removals of it have ended, so that two
/// verifications at once audit one verification, and an outcome for a claim removed and made again with a new
/// token meanwhile is not applied to it.
pub async fn lock(tx: &mut TenantTx, domain: &str) -> Result<Option<DomainClaim>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Row,
        "SELECT domain, verification_token, status, created_at, verified_at, last_checked_at, failing_since
         FROM tenant_domains WHERE tenant_id = $1 AND domain = $2 FOR UPDATE",
        tenant.0,
        domain
    )
    .fetch_optional(tx.conn())
    .await?
    .map(DomainClaim::try_from)
    .transpose()
}

/// Claims `domain` for the transaction's tenant with `token`; `None` when the tenant already claims it.
pub async fn claim(
    tx: &mut TenantTx,
    domain: &str,
    token: &str,
) -> Result<Option<DomainClaim>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Row,
        "INSERT INTO tenant_domains (tenant_id, domain, verification_token) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, domain) DO NOTHING
         RETURNING domain, verification_token, status, created_at, verified_at, last_checked_at, failing_since",
        tenant.0,
        domain,
        token
    )
    .fetch_optional(tx.conn())
    .await?
    .map(DomainClaim::try_from)
    .transpose()
}

/// Whether a tenant other than `tenant` has proven `domain`.
pub async fn proven_by_another_tenant(
    pool: &PgPool,
    domain: &str,
    tenant: TenantId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT domain_proven_by_another_tenant($1, $2) AS "taken!""#,
        domain,
        tenant.0
    )
    .fetch_one(pool)
    .await
}

/// What a lookup of a domain's record concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The expected record was found.
    Found,
    /// It was not: a pending domain stays pending; a proven one starts (or goes on) failing, and lapses once
    /// it has failed since `lapse_before` or earlier.
    Missing {
        /// A proven domain failing since this instant or earlier lapses.
        lapse_before: OffsetDateTime,
    },
}

/// Records a lookup of the transaction's tenant's `domain` at `now` and returns the claim after it.
///
/// Found: the domain is verified (first `verified_at` kept), failing cleared. Missing: a pending domain only
/// gets its check time; a verified one starts failing (or goes on), and lapses when it has failed since
/// `lapse_before` or earlier. The unique index refuses a verification of a domain another tenant proved
/// (a unique violation the caller reports).
pub async fn record_check(
    tx: &mut TenantTx,
    domain: &str,
    outcome: CheckOutcome,
    now: OffsetDateTime,
) -> Result<Option<DomainClaim>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let (found, lapse_before) = match outcome {
        CheckOutcome::Found => (true, None),
        CheckOutcome::Missing { lapse_before } => (false, Some(lapse_before)),
    };
    sqlx::query_as!(
        Row,
        r#"UPDATE tenant_domains SET
               last_checked_at = $4,
               status = CASE
                   WHEN $3 THEN 'verified'
                   WHEN status = 'verified' AND coalesce(failing_since, $4) <= $5 THEN 'lapsed'
                   ELSE status END,
               verified_at = CASE WHEN $3 THEN coalesce(verified_at, $4) ELSE verified_at END,
               failing_since = CASE
                   WHEN $3 OR status = 'pending' THEN NULL
                   ELSE coalesce(failing_since, $4) END
           WHERE tenant_id = $1 AND domain = $2
           RETURNING domain, verification_token, status, created_at, verified_at, last_checked_at,
                     failing_since"#,
        tenant.0,
        domain,
        found,
        now,
        lapse_before
    )
    .fetch_optional(tx.conn())
    .await?
    .map(DomainClaim::try_from)
    .transpose()
}

/// Removes the transaction's tenant's claim on `domain`; `false` when it had none.
pub async fn remove(tx: &mut TenantTx, domain: &str) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    let result = sqlx::query!(
        "DELETE FROM tenant_domains WHERE tenant_id = $1 AND domain = $2",
        tenant.0,
        domain
    )
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Proven domains due for their periodic re-check (last checked before `checked_before`), oldest first, at
/// most `limit`, across tenants (identifiers only).
pub async fn due_for_recheck(
    pool: &PgPool,
    checked_before: OffsetDateTime,
    limit: i32,
) -> Result<Vec<(TenantId, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!", domain AS "domain!"
           FROM domains_due_for_recheck($1, $2)"#,
        checked_before,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (TenantId(row.tenant_id), row.domain))
        .collect())
}
