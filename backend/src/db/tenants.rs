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
}

/// Reads the tenant `id`. Run it inside that tenant's transaction ([`super::tenant_tx`]); row-level security
/// hides every other tenant, so asking for another tenant's id answers `None`.
pub async fn get(conn: &mut PgConnection, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
    let row: Option<(Uuid, String, String, String)> =
        sqlx::query_as("select id, slug, name, plan from tenants where id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(|(id, slug, name, plan)| {
        Ok(Tenant {
            id: TenantId(id),
            slug,
            name,
            plan: decode_name("plan", &plan)?,
        })
    })
    .transpose()
}
