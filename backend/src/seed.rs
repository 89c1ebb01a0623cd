//! Seeding the demo world (`infra/tenants/demo.json`): tenants and their identity providers.
//!
//! Used by `cargo xtask dev` and the tests, never by production start-up. Members are not seeded: they are
//! created at their first sign-in, exactly as in production.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use shared::{Plan, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::identity_providers::IdentityProviderKind;

/// The demo world: the tenants of `infra/tenants/demo.json` with their identity providers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoWorld {
    /// The tenants, in file order.
    pub tenants: Vec<DemoTenant>,
}

/// A tenant of the demo world.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoTenant {
    /// The tenant's slug (`acme`).
    pub slug: String,
    /// The display name (`Acme Corp`).
    pub name: String,
    /// The plan.
    pub plan: Plan,
    /// The identity providers the tenant's users sign in through.
    pub identity_providers: Vec<DemoIdentityProvider>,
}

/// An identity provider of a demo tenant (fields the database does not need, such as client ids and attribute
/// mappings, are read by the user pool stand-in and ignored here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoIdentityProvider {
    /// The user pool's name for the provider (`acme-entra`); binds the provider's users to this tenant.
    pub name: String,
    /// The kind of provider.
    pub kind: IdentityProviderKind,
    /// The email domains the tenant has verified; home-realm discovery routes only these.
    pub verified_domains: Vec<String>,
    /// The provider's group → role mapping.
    pub group_role_mapping: BTreeMap<String, Role>,
}

impl DemoWorld {
    /// Reads `<infra_dir>/tenants/demo.json`. Domains are lower-cased; duplicate slugs, provider names or
    /// verified domains are refused, because each of them must route to exactly one tenant.
    pub fn load(infra_dir: &Path) -> anyhow::Result<DemoWorld> {
        let path = infra_dir.join("tenants").join("demo.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut world: DemoWorld =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        world
            .normalize()
            .with_context(|| format!("checking {}", path.display()))?;
        Ok(world)
    }

    fn normalize(&mut self) -> anyhow::Result<()> {
        let mut slugs = BTreeSet::new();
        let mut providers = BTreeSet::new();
        let mut domains = BTreeSet::new();
        for tenant in &mut self.tenants {
            ensure!(
                slugs.insert(tenant.slug.clone()),
                "tenant slug {:?} appears twice",
                tenant.slug
            );
            for provider in &mut tenant.identity_providers {
                ensure!(
                    providers.insert(provider.name.clone()),
                    "provider {:?} appears twice",
                    provider.name
                );
                for domain in &mut provider.verified_domains {
                    *domain = domain.trim().to_lowercase();
                    ensure!(
                        domains.insert(domain.clone()),
                        "verified domain {domain:?} appears twice"
                    );
                }
            }
        }
        Ok(())
    }

    /// Looks up a tenant by slug.
    pub fn tenant(&self, slug: &str) -> Option<&DemoTenant> {
        self.tenants.iter().find(|tenant| tenant.slug == slug)
    }
}

/// Upserts the demo world's tenants and identity providers, as the database owner, in one transaction.
/// Running it again changes nothing, except that it applies what the platform operators own and edited in the
/// file (names, plans, provider kinds, issuers and verified domains). What tenant admins own (the group → role
/// mappings and just-in-time joining) is written only when the tenant or provider is first created, so
/// re-seeding never undoes an admin's change.
/// `issuer_of` gives the issuer URL of a provider by name, which depends on where the stand-ins listen.
///
/// Each tenant's rows are written with that tenant set in the transaction, so seeding respects the
/// row-level security policies even when the owner is not a superuser (as on managed Postgres).
pub async fn demo_world(
    owner: &PgPool,
    world: &DemoWorld,
    issuer_of: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let mut tx = owner
        .begin()
        .await
        .context("beginning the seeding transaction")?;
    for tenant in &world.tenants {
        let existing: Option<Uuid> = sqlx::query_scalar("select id from tenants where slug = $1")
            .bind(&tenant.slug)
            .fetch_optional(&mut *tx)
            .await
            .with_context(|| format!("looking up tenant {:?}", tenant.slug))?;
        let tenant_id = existing.unwrap_or_else(Uuid::new_v4);
        sqlx::query("select set_config('app.tenant_id', $1, true)")
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .context("setting the tenant for seeding")?;
        sqlx::query(
            "insert into tenants (id, slug, name, plan) values ($1, $2, $3, $4) \
             on conflict (slug) do update set name = excluded.name, plan = excluded.plan",
        )
        .bind(tenant_id)
        .bind(&tenant.slug)
        .bind(&tenant.name)
        .bind(tenant.plan.as_str())
        .execute(&mut *tx)
        .await
        .with_context(|| format!("upserting tenant {:?}", tenant.slug))?;

        for provider in &tenant.identity_providers {
            // A provider already bound to another tenant is not silently moved: that would hand one
            // tenant's users to another. The conditional update leaves such a row alone and returns nothing.
            let bound: Option<Uuid> = sqlx::query_scalar(
                "insert into tenant_identity_providers \
                 (id, tenant_id, provider_name, kind, issuer, verified_domains, group_role_mapping) \
                 values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (provider_name) do update set kind = excluded.kind, issuer = excluded.issuer, \
                 verified_domains = excluded.verified_domains \
                 where tenant_identity_providers.tenant_id = excluded.tenant_id \
                 returning tenant_id",
            )
            .bind(Uuid::new_v4())
            .bind(tenant_id)
            .bind(&provider.name)
            .bind(provider.kind.as_str())
            .bind(issuer_of(&provider.name))
            .bind(&provider.verified_domains)
            .bind(sqlx::types::Json(&provider.group_role_mapping))
            .fetch_optional(&mut *tx)
            .await
            .with_context(|| format!("upserting identity provider {:?}", provider.name))?;
            if bound.is_none() {
                bail!(
                    "identity provider {:?} is already bound to another tenant",
                    provider.name
                );
            }
        }
    }
    tx.commit().await.context("committing the demo world")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infra_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra")
    }

    #[test]
    fn the_demo_world_has_acme_on_entra_and_globex_on_okta() {
        let world = DemoWorld::load(&infra_dir()).unwrap();
        let acme = world.tenant("acme").unwrap();
        assert_eq!(acme.plan, Plan::Pro);
        assert_eq!(acme.identity_providers[0].name, "acme-entra");
        assert_eq!(acme.identity_providers[0].kind, IdentityProviderKind::Entra);
        assert_eq!(
            acme.identity_providers[0].verified_domains,
            vec!["acme.example".to_owned()]
        );
        assert_eq!(
            acme.identity_providers[0]
                .group_role_mapping
                .get("SaaS-Admins"),
            Some(&Role::Admin)
        );
        let globex = world.tenant("globex").unwrap();
        assert_eq!(globex.plan, Plan::Basic);
        assert_eq!(
            globex.identity_providers[0].kind,
            IdentityProviderKind::Okta
        );
        assert_eq!(
            globex.identity_providers[0]
                .group_role_mapping
                .get("saas-viewer"),
            Some(&Role::Viewer)
        );
    }

    #[test]
    fn a_domain_verified_by_two_providers_is_refused() {
        let provider = |name: &str, domain: &str| DemoIdentityProvider {
            name: name.to_owned(),
            kind: IdentityProviderKind::Oidc,
            verified_domains: vec![domain.to_owned()],
            group_role_mapping: BTreeMap::new(),
        };
        let mut world = DemoWorld {
            tenants: vec![
                DemoTenant {
                    slug: "a".into(),
                    name: "A".into(),
                    plan: Plan::Basic,
                    identity_providers: vec![provider("a-idp", "Shared.Example")],
                },
                DemoTenant {
                    slug: "b".into(),
                    name: "B".into(),
                    plan: Plan::Basic,
                    identity_providers: vec![provider("b-idp", "shared.example")],
                },
            ],
        };
        assert!(world.normalize().is_err());
    }
}
