//! The `tenants` table: the customer organisations, read inside their own tenant transaction.

use shared::Plan;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{TenantId, decode_name};

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
}

/// Reads the tenant `id`. Run it inside that tenant's transaction ([`super::tenant_tx`]); row-level security
/// hides every other tenant, so asking for another tenant's id answers `None`.
pub async fn get(conn: &mut PgConnection, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
    let row: Option<(Uuid, String, String, String, bool)> =
        sqlx::query_as("select id, slug, name, plan, just_in_time from tenants where id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(|(id, slug, name, plan, just_in_time)| {
        Ok(Tenant {
            id: TenantId(id),
            slug,
            name,
            plan: decode_name("plan", &plan)?,
            just_in_time,
        })
    })
    .transpose()
}

/// Turns just-in-time joining on or off for the tenant of the current transaction; `false` if the tenant is
/// not visible (another tenant's id).
pub async fn set_just_in_time(
    conn: &mut PgConnection,
    id: TenantId,
    just_in_time: bool,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("update tenants set just_in_time = $2 where id = $1")
        .bind(id)
        .bind(just_in_time)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
