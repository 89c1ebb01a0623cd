//! Seeding the demo world (`infra/tenants/demo.json`): tenants and their identity providers.
//!
//! Used by `cargo xtask dev` (`backend seed-demo`) and the tests, never by production start-up. The database
//! gets the tenants and every provider's federation settings; the user pool gets the providers afterwards
//! from the reconciler ([`crate::idp_sync`]), exactly as for a tenant onboarded at run time, with the demo
//! client secrets of [`DemoWorld::client_secrets`]. Members are not seeded: they are created at their first
//! sign-in, exactly as in production.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;
use shared::{Plan, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Secret;
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

/// An identity provider of a demo tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoIdentityProvider {
    /// The user pool's name for the provider (`acme-entra`); binds the provider's users to this tenant.
    pub name: String,
    /// The kind of provider.
    pub kind: IdentityProviderKind,
    /// Entra ID: the directory (tenant) id, which the issuer names.
    #[serde(default)]
    pub entra_tenant_id: Option<String>,
    /// Okta: the org (`globex` in `globex.okta.com`).
    #[serde(default)]
    pub okta_org: Option<String>,
    /// The user pool's client id at the provider.
    pub client_id: String,
    /// The user pool's client secret at the provider: a demo value, handed to the user pool and never
    /// written to the database.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The scopes the user pool asks the provider for (space-separated, `openid` among them).
    pub authorize_scopes: String,
    /// User pool attribute → the provider's claim.
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
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
                // Invitations trust `email_verified` alone, so it must come from the vendor's own claim.
                if let Some(claim) = provider.kind.email_verified_claim() {
                    ensure!(
                        provider
                            .attribute_mapping
                            .get("email_verified")
                            .map(String::as_str)
                            == Some(claim),
                        "provider {:?} of kind {} must map email_verified from the {claim:?} claim",
                        provider.name,
                        provider.kind.as_str()
                    );
                }
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

    /// The demo client secret of each provider that has one, by provider name, for the reconciler to hand to
    /// the user pool when it creates the provider.
    pub fn client_secrets(&self) -> BTreeMap<String, Secret> {
        self.tenants
            .iter()
            .flat_map(|tenant| &tenant.identity_providers)
            .filter_map(|idp| {
                let secret = idp.client_secret.as_ref()?;
                Some((idp.name.clone(), Secret::new(secret.clone())))
            })
            .collect()
    }
}

/// Where the demo providers live: the real vendors' hosts by default, or the local mock identity providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIssuers {
    /// The Entra ID authority: `https://login.microsoftonline.com`, or the mock's base URL.
    pub entra_authority: String,
    /// The Okta org's base URL; `None` means `https://<org>.okta.com`. The mock serves one org per listener.
    pub okta_base: Option<String>,
}

impl Default for DemoIssuers {
    fn default() -> Self {
        DemoIssuers {
            entra_authority: "https://login.microsoftonline.com".to_owned(),
            okta_base: None,
        }
    }
}

impl DemoIssuers {
    /// The OpenID issuer of `idp`, as the vendor defines it: Entra ID v2
    /// `<authority>/<tenant id>/v2.0`, Okta's default authorization server `<org URL>/oauth2/default`.
    pub fn issuer(&self, idp: &DemoIdentityProvider) -> Option<String> {
        match idp.kind {
            IdentityProviderKind::Entra => Some(format!(
                "{}/{}/v2.0",
                self.entra_authority.trim_end_matches('/'),
                idp.entra_tenant_id.as_deref()?
            )),
            IdentityProviderKind::Okta => {
                let base = match &self.okta_base {
                    Some(base) => base.trim_end_matches('/').to_owned(),
                    None => format!("https://{}.okta.com", idp.okta_org.as_deref()?),
                };
                Some(format!("{base}/oauth2/default"))
            }
            IdentityProviderKind::Oidc => None,
        }
    }
}

/// Upserts the demo world's tenants and identity providers, as the database owner, in one transaction.
/// Running it again changes nothing, except that it applies what the platform operators own and edited in the
/// file (names, plans, provider kinds, issuers, federation settings and verified domains). What tenant admins
/// own (the group → role mappings and just-in-time joining) is written only when the tenant or provider is
/// first created, so re-seeding never undoes an admin's change. `issuers` says where the providers live.
///
/// Each tenant's rows are written with that tenant set in the transaction, so seeding respects the
/// row-level security policies even when the owner is not a superuser (as on managed Postgres).
pub async fn demo_world(
    owner: &PgPool,
    world: &DemoWorld,
    issuers: &DemoIssuers,
) -> anyhow::Result<()> {
    let mut tx = owner
        .begin()
        .await
        .context("beginning the seeding transaction")?;
    for tenant in &world.tenants {
        let existing = sqlx::query_scalar!("SELECT id FROM tenants WHERE slug = $1", &tenant.slug)
            .fetch_optional(&mut *tx)
            .await
            .with_context(|| format!("looking up tenant {:?}", tenant.slug))?;
        let tenant_id = existing.unwrap_or_else(Uuid::new_v4);
        sqlx::query_scalar!(
            "SELECT set_config('app.tenant_id', $1, true)",
            tenant_id.to_string()
        )
        .fetch_one(&mut *tx)
        .await
        .context("setting the tenant for seeding")?;
        sqlx::query!(
            "INSERT INTO tenants (id, slug, name, plan) VALUES ($1, $2, $3, $4)
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name, plan = excluded.plan",
            tenant_id,
            &tenant.slug,
            &tenant.name,
            tenant.plan.as_str()
        )
        .execute(&mut *tx)
        .await
        .with_context(|| format!("upserting tenant {:?}", tenant.slug))?;

        for provider in &tenant.identity_providers {
            // A provider already bound to another tenant is not silently moved: that would hand one
            // tenant's users to another. The conditional update leaves such a row alone and returns nothing.
            let bound = sqlx::query_scalar!(
                "INSERT INTO tenant_identity_providers
                     (id, tenant_id, provider_name, kind, issuer, verified_domains, group_role_mapping,
                      client_id, authorize_scopes, attribute_mapping)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (provider_name) DO UPDATE SET kind = excluded.kind, issuer = excluded.issuer,
                     verified_domains = excluded.verified_domains, client_id = excluded.client_id,
                     authorize_scopes = excluded.authorize_scopes,
                     attribute_mapping = excluded.attribute_mapping
                 WHERE tenant_identity_providers.tenant_id = excluded.tenant_id
                 RETURNING tenant_id",
                Uuid::new_v4(),
                tenant_id,
                &provider.name,
                provider.kind.as_str(),
                issuers.issuer(provider),
                &provider.verified_domains,
                sqlx::types::Json(&provider.group_role_mapping) as _,
                &provider.client_id,
                &provider.authorize_scopes,
                sqlx::types::Json(&provider.attribute_mapping) as _
            )
            .fetch_optional(&mut *tx)
            .await
            .with_context(|| format!("upserting identity provider {:?}", provider.name))?;
            if bound.is_none() {
                bail!(
                    "identity provider {:?} is already bound to another tenant",
                    provider.name
                );
            }
            // The demo domains were proven by the operators who onboarded the demo tenants: routing
            // requires a verified claim of the provider's tenant on each domain it lists.
            for domain in &provider.verified_domains {
                sqlx::query!(
                    "INSERT INTO tenant_domains (tenant_id, domain, verification_token, status, verified_at)
                     VALUES ($1, $2, $3, 'verified', now())
                     ON CONFLICT (tenant_id, domain) DO UPDATE SET status = 'verified',
                         verified_at = coalesce(tenant_domains.verified_at, now()), failing_since = NULL",
                    tenant_id,
                    domain,
                    demo_proof_token(domain)
                )
                .execute(&mut *tx)
                .await
                .with_context(|| format!("proving demo domain {domain:?}"))?;
            }
        }
    }
    tx.commit().await.context("committing the demo world")?;
    Ok(())
}

/// The ownership-proof token of a demo domain: derived from the domain, so that every seeding claims it with the
/// same token and the DNS stand-in's records (`infra/local-aws/local.json`) keep proving it. Demo values only:
/// anyone can compute them, and they prove only the reserved `.example` domains of the demo world.
pub fn demo_proof_token(domain: &str) -> String {
    use sha2::Digest as _;
    let digest =
        sha2::Sha256::digest(format!("saas-reference demo domain proof:{domain}").as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
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
    fn issuers_are_the_vendors_own_unless_the_mocks_are_named() {
        let world = DemoWorld::load(&infra_dir()).unwrap();
        let entra = &world.tenant("acme").unwrap().identity_providers[0];
        let okta = &world.tenant("globex").unwrap().identity_providers[0];
        let real = DemoIssuers::default();
        assert_eq!(
            real.issuer(entra).unwrap(),
            "https://login.microsoftonline.com/6f1c2a3e-0acb-4d5e-9f10-ac3e00000001/v2.0"
        );
        assert_eq!(
            real.issuer(okta).unwrap(),
            "https://globex.okta.com/oauth2/default"
        );
        let mocks = DemoIssuers {
            entra_authority: "http://127.0.0.1:9231/".to_owned(),
            okta_base: Some("http://127.0.0.1:9232".to_owned()),
        };
        assert_eq!(
            mocks.issuer(entra).unwrap(),
            "http://127.0.0.1:9231/6f1c2a3e-0acb-4d5e-9f10-ac3e00000001/v2.0"
        );
        assert_eq!(
            mocks.issuer(okta).unwrap(),
            "http://127.0.0.1:9232/oauth2/default"
        );
    }

    #[test]
    fn every_demo_provider_has_a_client_secret_for_the_user_pool() {
        let world = DemoWorld::load(&infra_dir()).unwrap();
        let secrets = world.client_secrets();
        assert_eq!(
            secrets.keys().collect::<Vec<_>>(),
            ["acme-entra", "globex-okta"]
        );
    }

    #[test]
    fn an_entra_or_okta_provider_must_map_email_verified_from_its_vendors_claim() {
        let world = DemoWorld::load(&infra_dir()).unwrap();
        for (slug, wrong) in [("acme", "email_verified"), ("globex", "xms_edov")] {
            for mapping in [Some(wrong), None] {
                let mut changed = world.clone();
                let attributes = &mut changed
                    .tenants
                    .iter_mut()
                    .find(|t| t.slug == slug)
                    .unwrap()
                    .identity_providers[0]
                    .attribute_mapping;
                match mapping {
                    Some(claim) => attributes.insert("email_verified".into(), claim.into()),
                    None => attributes.remove("email_verified"),
                };
                let error = changed.normalize().unwrap_err();
                assert!(error.to_string().contains("email_verified"), "{error}");
            }
        }
    }

    #[test]
    fn the_dns_stand_in_publishes_the_demo_domains_proofs() {
        let local: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(infra_dir().join("local-aws/local.json")).unwrap_or_default(),
        )
        .unwrap_or_default();
        let world = DemoWorld::load(&infra_dir()).unwrap_or_else(|e| panic!("{e}"));
        for domain in world
            .tenants
            .iter()
            .flat_map(|t| &t.identity_providers)
            .flat_map(|p| &p.verified_domains)
        {
            let name = crate::sso::domains::record_name(domain);
            let value = crate::sso::domains::record_value(&demo_proof_token(domain));
            let published = local["dns"]["records"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|record| {
                    record["name"] == name.as_str() && record["values"][0] == value.as_str()
                });
            assert!(published, "local.json publishes no proof {value} at {name}");
        }
    }

    #[test]
    fn a_domain_verified_by_two_providers_is_refused() {
        let provider = |name: &str, domain: &str| DemoIdentityProvider {
            name: name.to_owned(),
            kind: IdentityProviderKind::Oidc,
            entra_tenant_id: None,
            okta_org: None,
            client_id: "c".to_owned(),
            client_secret: None,
            authorize_scopes: "openid".to_owned(),
            attribute_mapping: BTreeMap::new(),
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
