//! `/api/v1/tenant/settings`: the tenant's sign-in settings, read and replaced by its admins: whether
//! uninvited people join at their first sign-in (just-in-time), and each identity provider's group → role
//! mapping. Domains, issuers and the plan are the platform operators' and are shown read-only.
//!
//! A new mapping applies at each member's next sign-in or token refresh, to members whose role comes from the
//! identity provider; roles an admin set stay. A mapping change is refused (`last_admin`, 409) when it would
//! leave no active admin who keeps the role at their next sign-in: none whose role an admin set, and none whose
//! groups at their last sign-in map to admin under the new mapping (see [`super::last_admin`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use shared::ErrorBody;
use shared::Scope;
use shared::api::{
    AuditAction, GroupMapping, IdentityProviderSettings, TenantSettings, TenantSettingsUpdate,
};

use super::last_admin::{self, Standing};
use crate::auth::{Principal, ScopedRouter};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, NewEvent, Target};
use crate::db::identity_providers::{GroupRoleMapping, ProviderSettings};
use crate::db::{self, TenantTx, identity_providers, tenants};
use crate::error::{ApiError, AppJson};
use crate::state::AppState;

/// The longest group name, in characters.
pub const GROUP_NAME_MAX_CHARS: usize = 256;
/// The most mapped groups per identity provider.
pub const MAX_GROUPS_PER_PROVIDER: usize = 100;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/tenant/settings", Scope::Admin, read)
        .put("/tenant/settings", Scope::Admin, replace)
}

/// The tenant's sign-in settings.
#[utoipa::path(
    get,
    path = "/api/v1/tenant/settings",
    tag = "settings",
    responses(
        (status = 200, description = "The tenant's sign-in settings.", body = TenantSettings),
    )
)]
async fn read(mut tx: TenantTx) -> Result<AppJson<TenantSettings>, ApiError> {
    let settings = load(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(settings))
}

/// Replaces the editable settings and answers with all of them.
#[utoipa::path(
    put,
    path = "/api/v1/tenant/settings",
    tag = "settings",
    request_body = TenantSettingsUpdate,
    responses(
        (status = 200, description = "The settings after the change.", body = TenantSettings),
        (status = 409, description = "The mappings would leave no admin who keeps the role at their next sign-in (`last_admin`).", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn replace(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    AppJson(update): AppJson<TenantSettingsUpdate>,
) -> Result<AppJson<TenantSettings>, ApiError> {
    let mappings = validate(&update)?;
    let tenant = principal.tenant_id;
    // Like every change that could cost the tenant its admin, after the active admins' locks: a concurrent
    // demotion is checked against this change, or this one against it.
    db::members::lock_active_admins(&mut tx).await?;
    let admins = db::members::active_admin_standings(&mut tx).await?;
    let mappings_before = last_admin::mappings(&mut tx).await?;
    let before = load(&mut tx).await?;
    for (index, (provider, mapping)) in mappings.iter().enumerate() {
        if !before
            .identity_providers
            .iter()
            .any(|p| &p.name == provider)
        {
            return Err(ApiError::unprocessable(format!(
                "group_mappings[{index}].provider: the organisation has no identity provider {provider:?}."
            )));
        }
        identity_providers::set_group_role_mapping(&mut tx, provider, mapping).await?;
    }
    let mappings_after = last_admin::mappings(&mut tx).await?;
    last_admin::check(
        Standing {
            admins: &admins,
            mappings: &mappings_before,
        },
        Standing {
            admins: &admins,
            mappings: &mappings_after,
        },
    )?;
    if !tenants::set_just_in_time(&mut tx, update.just_in_time).await? {
        return Err(ApiError::NotFound);
    }
    let after = load(&mut tx).await?;
    if after != before {
        let event = NewEvent {
            action: AuditAction::SettingsChanged,
            actor: Some(principal.audit_actor()),
            target: Some(Target {
                kind: "tenant",
                id: tenant.to_string(),
                label: "sign-in settings".into(),
            }),
            details: changes(&before, &after),
            source_ip,
        };
        audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(AppJson(after))
}

/// Reads the settings inside the tenant transaction.
async fn load(tx: &mut TenantTx) -> Result<TenantSettings, ApiError> {
    let tenant = super::current_tenant(tx).await?;
    let providers = identity_providers::list(tx).await?;
    Ok(TenantSettings {
        just_in_time: tenant.just_in_time,
        identity_providers: providers.into_iter().map(to_wire).collect(),
    })
}

/// Checks every mapping and returns them by provider: group names of 1 to [`GROUP_NAME_MAX_CHARS`]
/// characters without surrounding spaces (they must match the identity provider's names exactly), each group
/// once, at most [`MAX_GROUPS_PER_PROVIDER`] per provider, each provider once.
fn validate(update: &TenantSettingsUpdate) -> Result<Vec<(String, GroupRoleMapping)>, ApiError> {
    let mut providers = BTreeSet::new();
    let mut result = Vec::new();
    for (index, entry) in update.group_mappings.iter().enumerate() {
        if !providers.insert(entry.provider.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "group_mappings[{index}].provider: {:?} is listed twice.",
                entry.provider
            )));
        }
        if entry.group_mapping.len() > MAX_GROUPS_PER_PROVIDER {
            return Err(ApiError::unprocessable(format!(
                "group_mappings[{index}].group_mapping: at most {MAX_GROUPS_PER_PROVIDER} groups."
            )));
        }
        let mut mapping = BTreeMap::new();
        for (row, GroupMapping { group, role }) in entry.group_mapping.iter().enumerate() {
            let field = format!("group_mappings[{index}].group_mapping[{row}].group");
            let chars = group.chars().count();
            if chars == 0 || chars > GROUP_NAME_MAX_CHARS || group.trim() != group {
                return Err(ApiError::unprocessable(format!(
                    "{field}: a group name has 1 to {GROUP_NAME_MAX_CHARS} characters and no surrounding spaces."
                )));
            }
            if group.chars().any(char::is_control) {
                return Err(ApiError::unprocessable(format!(
                    "{field}: a group name cannot contain control characters."
                )));
            }
            if mapping.insert(group.clone(), *role).is_some() {
                return Err(ApiError::unprocessable(format!(
                    "{field}: {group:?} is mapped twice."
                )));
            }
        }
        result.push((entry.provider.clone(), GroupRoleMapping(mapping)));
    }
    Ok(result)
}

/// What changed, for the audit log.
fn changes(before: &TenantSettings, after: &TenantSettings) -> serde_json::Value {
    let mut details = serde_json::Map::new();
    if before.just_in_time != after.just_in_time {
        details.insert(
            "just_in_time".into(),
            json!({ "from": before.just_in_time, "to": after.just_in_time }),
        );
    }
    for provider in &after.identity_providers {
        let old = before
            .identity_providers
            .iter()
            .find(|p| p.name == provider.name);
        if old.map(|p| &p.group_mapping) != Some(&provider.group_mapping) {
            let as_map = |mapping: &[GroupMapping]| {
                mapping
                    .iter()
                    .map(|m| (m.group.clone(), json!(m.role.as_str())))
                    .collect::<serde_json::Map<_, _>>()
            };
            details.insert(
                format!("group_mapping:{}", provider.name),
                json!({
                    "from": old.map(|p| as_map(&p.group_mapping)),
                    "to": as_map(&provider.group_mapping),
                }),
            );
        }
    }
    serde_json::Value::Object(details)
}

/// The wire form of a provider's settings; groups in name order.
fn to_wire(provider: ProviderSettings) -> IdentityProviderSettings {
    IdentityProviderSettings {
        name: provider.name,
        kind: provider.kind.as_str().to_owned(),
        verified_domains: provider.verified_domains,
        group_mapping: provider
            .group_role_mapping
            .0
            .into_iter()
            .map(|(group, role)| GroupMapping { group, role })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use shared::Role;
    use shared::api::ProviderGroupMapping;

    use super::*;

    fn update(groups: &[(&str, Role)]) -> TenantSettingsUpdate {
        TenantSettingsUpdate {
            just_in_time: true,
            group_mappings: vec![ProviderGroupMapping {
                provider: "acme-entra".into(),
                group_mapping: groups
                    .iter()
                    .map(|(group, role)| GroupMapping {
                        group: (*group).to_owned(),
                        role: *role,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn a_valid_mapping_is_accepted() {
        let mappings = validate(&update(&[
            ("SaaS-Admins", Role::Admin),
            ("Staff", Role::Member),
        ]))
        .unwrap();
        assert_eq!(mappings[0].1.role_for(["Staff"]), Role::Member);
    }

    #[test]
    fn bad_group_names_and_duplicates_are_refused_naming_the_field() {
        for groups in [
            vec![("", Role::Admin)],
            vec![(" padded", Role::Admin)],
            vec![("a\u{0}b", Role::Admin)],
            vec![("Same", Role::Admin), ("Same", Role::Viewer)],
        ] {
            let err = validate(&update(&groups)).unwrap_err();
            assert!(
                err.to_string().contains("group_mappings[0].group_mapping["),
                "{err}"
            );
        }
        let long = "g".repeat(GROUP_NAME_MAX_CHARS + 1);
        assert!(validate(&update(&[(long.as_str(), Role::Admin)])).is_err());
    }

    #[test]
    fn a_provider_listed_twice_is_refused() {
        let mut twice = update(&[]);
        twice.group_mappings.push(twice.group_mappings[0].clone());
        assert!(validate(&twice).is_err());
    }
}
