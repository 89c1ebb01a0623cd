//! The rule that keeps every tenant administrable, for changes made in the app (member roles and statuses, role
//! sources, group mappings).
//!
//! A tenant must always have an active admin. The trigger guarantees it at sign-in by keeping the last active
//! admin's role (a sign-in cannot be refused for it); changes made in the app are checked before they are
//! written, so that an admin is told at once instead. An active admin *keeps* the role at their next sign-in
//! when an admin set it, or when it comes from the identity provider and the groups of their last sign-in map
//! to admin through their provider's mapping (unknown groups map to nothing). A change is refused with
//! `last_admin` when it would leave no active admin at all, or when it would turn a tenant that has an admin
//! who keeps the role into one that has none. Callers hold [`crate::db::members::lock_active_admins`] while
//! they read the admins and write the change, so concurrent changes are checked one after the other.

use std::collections::BTreeMap;

use shared::Role;
use shared::api::RoleSource;

use crate::db::TenantTx;
use crate::db::identity_providers::{self, GroupRoleMapping};
use crate::db::members::AdminStanding;
use crate::error::ApiError;

/// Each of the tenant's identity providers' group → role mapping, by provider name.
pub type Mappings = BTreeMap<String, GroupRoleMapping>;

/// The active admins and the mappings, before or after a change.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    /// The active admins.
    pub admins: &'a [AdminStanding],
    /// The group mappings.
    pub mappings: &'a Mappings,
}

impl Standing<'_> {
    /// How many of the admins keep the role at their next sign-in.
    fn lasting(&self) -> usize {
        self.admins
            .iter()
            .filter(|admin| keeps_admin(admin, self.mappings))
            .count()
    }
}

/// Whether `admin` keeps the admin role at their next sign-in under `mappings`.
pub fn keeps_admin(admin: &AdminStanding, mappings: &Mappings) -> bool {
    match admin.role_source {
        RoleSource::Admin => true,
        RoleSource::IdentityProvider => {
            let (Some(groups), Some(mapping)) = (&admin.idp_groups, mappings.get(&admin.provider))
            else {
                return false;
            };
            mapping.role_for(groups.iter().map(String::as_str)) == Role::Admin
        }
    }
}

/// Checks a change from `before` to `after`: refused when no active admin would remain, or when the admins
/// who keep the role would drop from some to none.
pub fn check(before: Standing<'_>, after: Standing<'_>) -> Result<(), ApiError> {
    if after.admins.is_empty() && !before.admins.is_empty() {
        return Err(ApiError::LastAdmin);
    }
    if before.lasting() > 0 && after.lasting() == 0 {
        return Err(ApiError::LastAdminBecause(
            "This change would leave no admin who keeps the admin role at their next sign-in. An admin keeps \
             it when it was set on the Members page, or when the groups of their last sign-in map to admin. \
             Make another member admin on the Members page first, or keep a group an admin holds mapped to \
             admin."
                .to_owned(),
        ));
    }
    Ok(())
}

/// The tenant's group mappings, by provider.
pub async fn mappings(tx: &mut TenantTx) -> Result<Mappings, sqlx::Error> {
    Ok(identity_providers::list(tx)
        .await?
        .into_iter()
        .map(|provider| (provider.name, provider.group_role_mapping))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::MemberId;

    fn admin(role_source: RoleSource, groups: Option<&[&str]>) -> AdminStanding {
        AdminStanding {
            id: MemberId(uuid::Uuid::new_v4()),
            email: "a@acme.example".into(),
            provider: "acme-entra".into(),
            role_source,
            idp_groups: groups.map(|g| g.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn mapping(groups: &[(&str, Role)]) -> Mappings {
        let mapping = groups.iter().map(|(g, r)| ((*g).to_owned(), *r)).collect();
        BTreeMap::from([("acme-entra".to_owned(), GroupRoleMapping(mapping))])
    }

    #[test]
    fn an_admin_set_role_is_kept_and_an_idp_role_only_through_a_group_mapped_to_admin() {
        let mappings = mapping(&[("SaaS-Admins", Role::Admin), ("SaaS-Users", Role::Member)]);
        assert!(keeps_admin(&admin(RoleSource::Admin, None), &mappings));
        let idp = |groups| admin(RoleSource::IdentityProvider, groups);
        assert!(keeps_admin(&idp(Some(&["SaaS-Admins"])), &mappings));
        assert!(!keeps_admin(&idp(Some(&["SaaS-Users"])), &mappings));
        assert!(!keeps_admin(&idp(Some(&[])), &mappings));
        assert!(
            !keeps_admin(&idp(None), &mappings),
            "unknown groups map to nothing"
        );
        let mut other = admin(RoleSource::IdentityProvider, Some(&["SaaS-Admins"]));
        other.provider = "acme-okta".into();
        assert!(
            !keeps_admin(&other, &mappings),
            "another provider's mapping"
        );
    }

    #[test]
    fn a_mapping_that_leaves_no_admin_group_an_admin_holds_is_refused() {
        let alice = [admin(RoleSource::IdentityProvider, Some(&["SaaS-Admins"]))];
        let before = mapping(&[("SaaS-Admins", Role::Admin)]);
        let after = mapping(&[("SaaS-Admins", Role::Member)]);
        let result = check(
            Standing {
                admins: &alice,
                mappings: &before,
            },
            Standing {
                admins: &alice,
                mappings: &after,
            },
        );
        assert!(matches!(result, Err(ApiError::LastAdminBecause(_))));
        // With an admin whose role an admin set, the same change is fine.
        let both = [alice[0].clone(), admin(RoleSource::Admin, None)];
        assert!(
            check(
                Standing {
                    admins: &both,
                    mappings: &before
                },
                Standing {
                    admins: &both,
                    mappings: &after
                },
            )
            .is_ok()
        );
    }

    #[test]
    fn removing_the_last_active_admin_is_refused_even_when_none_keeps_the_role() {
        let mappings = mapping(&[]);
        let unknown = [admin(RoleSource::IdentityProvider, None)];
        let result = check(
            Standing {
                admins: &unknown,
                mappings: &mappings,
            },
            Standing {
                admins: &[],
                mappings: &mappings,
            },
        );
        assert!(matches!(result, Err(ApiError::LastAdmin)));
    }

    #[test]
    fn a_tenant_whose_admins_already_keep_nothing_is_not_blocked_by_changes_that_change_nothing_for_them()
     {
        let mappings = mapping(&[]);
        let two = [
            admin(RoleSource::IdentityProvider, None),
            admin(RoleSource::IdentityProvider, None),
        ];
        assert!(
            check(
                Standing {
                    admins: &two,
                    mappings: &mappings
                },
                Standing {
                    admins: &two[..1],
                    mappings: &mappings
                },
            )
            .is_ok()
        );
    }
}
