//! The `tenants` table: the customer organisations, read inside their own tenant transaction.

use shared::{Plan, TenantStatus};

use super::{TenantId, TenantTx, decode_name};

/// A tenant (customer organisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The tenant id.
    pub id: TenantId,
    /// The short, unique, URL-safe name (`acme`).
    pub slug: String,
    /// The display name (`Acme Corp`).
    pub name: String,
    /// The subscription plan.
    pub plan: Plan,
    /// Whether uninvited people from the tenant's identity providers join at their first sign-in.
    pub just_in_time: bool,
    /// Whether its members may sign in (platform operators suspend and resume tenants).
    pub status: TenantStatus,
}

/// A `tenants` row as stored.
struct TenantRow {
    id: TenantId,
    slug: String,
    name: String,
    plan: String,
    just_in_time: bool,
    status: String,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = sqlx::Error;

    fn try_from(row: TenantRow) -> Result<Tenant, sqlx::Error> {
        Ok(Tenant {
            id: row.id,
            slug: row.slug,
            name: row.name,
            plan: decode_name("plan", &row.plan)?,
            just_in_time: row.just_in_time,
            status: decode_name("status", &row.status)?,
        })
    }
}

/// The transaction's tenant; `None` when it no longer exists.
pub async fn current(tx: &mut TenantTx) -> Result<Option<Tenant>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        TenantRow,
        r#"SELECT id AS "id: TenantId", slug, name, plan, just_in_time, status FROM tenants WHERE id = $1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Tenant::try_from)
    .transpose()
}

/// Like [`current`], and locks the tenant's row until the transaction ends. Every count-then-insert under a
/// plan limit takes this lock first, so concurrent requests of one tenant are applied one after the other
/// and cannot exceed the limit together.
pub async fn lock(tx: &mut TenantTx) -> Result<Option<Tenant>, sqlx::Error> {
    let tenant = tx.tenant_id();
    // The application role has no UPDATE on `tenants`, so the row lock is taken by `lock_tenant`, which can
    // lock only the transaction's own tenant (see its migration).
    sqlx::query_as!(
        TenantRow,
        r#"SELECT id AS "id: TenantId", slug, name, plan, just_in_time, status
           FROM tenants WHERE id = $1 AND lock_tenant(id)"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .map(Tenant::try_from)
    .transpose()
}

/// Turns just-in-time joining on or off for the transaction's tenant; `false` when it no longer exists.
pub async fn set_just_in_time(tx: &mut TenantTx, just_in_time: bool) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    let result = sqlx::query!(
        "UPDATE tenants SET just_in_time = $2 WHERE id = $1",
        tenant.0,
        just_in_time
    )
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}
