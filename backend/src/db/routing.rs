//! Platform lookups that run before a tenant is known: home-realm discovery and binding a sign-in to a tenant.
//!
//! They call SECURITY DEFINER functions that return only routing data (a provider name, a tenant id), so the
//! tables keep row-level security for the application role. Routing grants nothing: a provider for an email
//! domain only chooses a login page; the tenant is decided by the provider the user actually signed in with.

use sqlx::PgPool;

use super::TenantId;

/// The identity provider for a verified email domain (`acme.example` → `acme-entra`), compared
/// case-insensitively. Unverified, unknown or ambiguous domains answer `None`.
pub async fn provider_for_domain(
    pool: &PgPool,
    domain: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT routing_provider_for_domain($1)", domain)
        .fetch_one(pool)
        .await
}

/// The identity provider of the tenant with `slug`, when the tenant has exactly one.
pub async fn provider_for_tenant_slug(
    pool: &PgPool,
    slug: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT routing_provider_for_tenant_slug($1)", slug)
        .fetch_one(pool)
        .await
}

/// The tenant an identity provider is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderBinding {
    /// The tenant the provider belongs to.
    pub tenant_id: TenantId,
    /// The provider's user pool name.
    pub provider_name: String,
    /// Whether the provider is still being set up: a sign-in through it is a test sign-in, which creates no
    /// member and grants nothing.
    pub testing: bool,
}

/// The tenant bound to the identity provider `provider_name`; `None` for a provider no tenant owns.
pub async fn tenant_for_provider(
    pool: &PgPool,
    provider_name: &str,
) -> Result<Option<ProviderBinding>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!: TenantId", provider_name AS "provider_name!",
                  status AS "status!"
           FROM routing_tenant_for_provider($1)"#,
        provider_name
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| ProviderBinding {
        tenant_id: row.tenant_id,
        provider_name: row.provider_name,
        testing: row.status == "testing",
    }))
}
