//! The `tenant_identity_providers` table: each tenant's identity providers and how their groups map to roles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::Role;
use sqlx::types::Json;

use super::TenantTx;

/// The kind of an enterprise identity provider, which decides the claims it sends (Entra's `sub` is pairwise
/// per app registration, Okta's is the user id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityProviderKind {
    /// Microsoft Entra ID (v2 endpoints).
    Entra,
    /// Okta (custom authorization server `default`).
    Okta,
    /// Any other OpenID Connect provider.
    Oidc,
}

impl IdentityProviderKind {
    /// The claim the user pool's `email_verified` attribute must be mapped from for this kind: the one the
    /// vendor documents as saying the email is verified. Okta sends `email_verified`; Entra ID sends none and
    /// offers the optional claim `xms_edov` (email domain owner verified) instead. `None` for a generic
    /// provider, whose configuration names its own.
    pub fn email_verified_claim(self) -> Option<&'static str> {
        match self {
            IdentityProviderKind::Entra => Some("xms_edov"),
            IdentityProviderKind::Okta => Some("email_verified"),
            IdentityProviderKind::Oidc => None,
        }
    }

    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityProviderKind::Entra => "entra",
            IdentityProviderKind::Okta => "okta",
            IdentityProviderKind::Oidc => "oidc",
        }
    }
}

/// How an identity provider's groups (Entra app roles, Okta groups) map to tenant roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupRoleMapping(pub BTreeMap<String, Role>);

impl GroupRoleMapping {
    /// The role for a user in `groups`: the highest role any of the groups maps to, or viewer when none
    /// maps (a member of the tenant always holds at least read access). Group names match exactly.
    pub fn role_for<'a>(&self, groups: impl IntoIterator<Item = &'a str>) -> Role {
        groups
            .into_iter()
            .filter_map(|group| self.0.get(group).copied())
            .max()
            .unwrap_or(Role::Viewer)
    }
}

/// Reads the group → role mapping of `provider` of the transaction's tenant; `None` when the tenant has no
/// such provider.
pub async fn group_role_mapping(
    tx: &mut TenantTx,
    provider: &str,
) -> Result<Option<GroupRoleMapping>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT group_role_mapping AS "group_role_mapping: Json<GroupRoleMapping>"
           FROM tenant_identity_providers WHERE tenant_id = $1 AND provider_name = $2"#,
        tenant.0,
        provider
    )
    .fetch_optional(tx.conn())
    .await
    .map(|mapping| mapping.map(|Json(mapping)| mapping))
}

/// One of a tenant's identity providers, as its admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// The user pool's name for the provider.
    pub name: String,
    /// The kind of provider.
    pub kind: IdentityProviderKind,
    /// The email domains that route to it.
    pub verified_domains: Vec<String>,
    /// Its group → role mapping.
    pub group_role_mapping: GroupRoleMapping,
}

/// The active identity providers of the transaction's tenant, by name (one still being set up is the set-up's).
pub async fn list(tx: &mut TenantTx) -> Result<Vec<ProviderSettings>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let rows = sqlx::query!(
        r#"SELECT provider_name, kind, verified_domains,
                  group_role_mapping AS "group_role_mapping: Json<GroupRoleMapping>"
           FROM tenant_identity_providers WHERE tenant_id = $1 AND status = 'active'
           ORDER BY provider_name"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|row| {
            let kind = serde_json::from_value(serde_json::Value::String(row.kind.clone()))
                .map_err(|_| sqlx::Error::ColumnDecode {
                    index: "kind".to_owned(),
                    source: format!("unexpected value {:?}", row.kind).into(),
                })?;
            Ok(ProviderSettings {
                name: row.provider_name,
                kind,
                verified_domains: row.verified_domains,
                group_role_mapping: row.group_role_mapping.0,
            })
        })
        .collect()
}

/// Replaces the group → role mapping of the transaction's tenant's provider `provider`; `false` if the
/// tenant has no such provider.
pub async fn set_group_role_mapping(
    tx: &mut TenantTx,
    provider: &str,
    mapping: &GroupRoleMapping,
) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    let result = sqlx::query!(
        "UPDATE tenant_identity_providers SET group_role_mapping = $3
         WHERE tenant_id = $1 AND provider_name = $2",
        tenant.0,
        provider,
        Json(mapping) as _
    )
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A provider as the self-serve set-up writes it (the client secret goes to the user pool only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupProvider {
    /// The user pool's name for it.
    pub name: String,
    /// Its kind.
    pub kind: IdentityProviderKind,
    /// Its OpenID issuer, as its discovery document states it.
    pub issuer: String,
    /// The user pool's client id at the provider.
    pub client_id: String,
    /// The scopes the user pool asks for.
    pub authorize_scopes: String,
    /// User pool attribute → the provider's claim.
    pub attribute_mapping: BTreeMap<String, String>,
    /// Whether it is still being tested (`false`: active).
    pub testing: bool,
}

/// Saves the transaction's tenant's provider under test (`sso_save_provider`: a new one, or new settings for
/// the one under test; the tenant's other provider under test is replaced). Fails with a unique violation
/// when another tenant holds the name, and with `object_not_in_prerequisite_state` when it is active.
pub async fn save_for_test(tx: &mut TenantTx, provider: &SetupProvider) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT sso_save_provider($1, $2, $3, $4, $5, $6)",
        provider.name,
        provider.kind.as_str(),
        provider.issuer,
        provider.client_id,
        provider.authorize_scopes,
        Json(&provider.attribute_mapping) as _
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(())
}

/// Activates the transaction's tenant's provider `name` under test with `mapping`; the domains it routes
/// from now on. `None` when the tenant has no such provider under test.
pub async fn activate(
    tx: &mut TenantTx,
    name: &str,
    mapping: &GroupRoleMapping,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    match sqlx::query_scalar!(
        r#"SELECT sso_activate_provider($1, $2) AS "routed!""#,
        name,
        Json(mapping) as _
    )
    .fetch_one(tx.conn())
    .await
    {
        Ok(routed) => Ok(Some(routed)),
        Err(error)
            if error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "P0002") =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Makes the transaction's tenant's one active provider route exactly its proven domains
/// (`sso_route_proven_domains`).
pub async fn route_proven_domains(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT sso_route_proven_domains()")
        .fetch_one(tx.conn())
        .await?;
    Ok(())
}

/// The provider the set-up shows: the transaction's tenant's provider under test, else its active one (the
/// first by name).
pub async fn setup_provider(tx: &mut TenantTx) -> Result<Option<SetupProvider>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let row = sqlx::query!(
        r#"SELECT provider_name, kind, issuer, client_id, authorize_scopes, status,
                  attribute_mapping AS "attribute_mapping: Json<BTreeMap<String, String>>"
           FROM tenant_identity_providers WHERE tenant_id = $1
           ORDER BY status = 'testing' DESC, provider_name LIMIT 1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?;
    row.map(|row| {
        let kind =
            serde_json::from_value(serde_json::Value::String(row.kind.clone())).map_err(|_| {
                sqlx::Error::ColumnDecode {
                    index: "kind".to_owned(),
                    source: format!("unexpected value {:?}", row.kind).into(),
                }
            })?;
        Ok(SetupProvider {
            name: row.provider_name,
            kind,
            issuer: row.issuer.unwrap_or_default(),
            client_id: row.client_id,
            authorize_scopes: row.authorize_scopes,
            attribute_mapping: row.attribute_mapping.0,
            testing: row.status == "testing",
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> GroupRoleMapping {
        GroupRoleMapping(BTreeMap::from([
            ("SaaS-Admins".to_owned(), Role::Admin),
            ("SaaS-Users".to_owned(), Role::Member),
        ]))
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        assert_eq!(acme().role_for(["SaaS-Users", "SaaS-Admins"]), Role::Admin);
        assert_eq!(acme().role_for(["Other", "SaaS-Users"]), Role::Member);
    }

    #[test]
    fn no_mapped_group_means_viewer() {
        assert_eq!(acme().role_for([]), Role::Viewer);
        assert_eq!(acme().role_for(["Everyone"]), Role::Viewer);
    }

    #[test]
    fn group_names_match_exactly() {
        assert_eq!(acme().role_for(["saas-admins"]), Role::Viewer);
        assert_eq!(acme().role_for(["SaaS-Admins "]), Role::Viewer);
    }

    #[test]
    fn mappings_deserialize_from_the_stored_json_object() {
        let mapping: GroupRoleMapping = serde_json::from_value(
            serde_json::json!({"saas-admin": "admin", "saas-viewer": "viewer"}),
        )
        .unwrap_or_default();
        assert_eq!(mapping.role_for(["saas-admin"]), Role::Admin);
        assert!(
            serde_json::from_value::<GroupRoleMapping>(serde_json::json!({"x": "root"})).is_err()
        );
    }
}
