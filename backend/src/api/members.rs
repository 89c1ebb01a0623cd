//! `/api/v1/members`: tenant admins list members and change their role and status.
//!
//! A role set here is the admin's choice ([`RoleSource::Admin`]) and sign-ins stop re-mapping it from the
//! identity provider's groups until an admin hands it back. A demotion takes effect on the member's next
//! request (the API reads the role from the database on every request); a promotion adds scopes at the
//! member's next token refresh or sign-in, because the scopes in a token can only shrink. Deactivation is
//! refused on the next request, whatever the member's token says. No change may leave the tenant without an
//! active admin, nor without an admin who keeps the role at their next sign-in (see [`super::last_admin`]):
//! handing the last such admin's role back to the identity provider is refused when their groups do not map
//! to admin. The tenant's active admins are locked first, so concurrent changes cannot race past that check.
//! Every change is audited in the same transaction.

use serde::Deserialize;
use serde_json::json;
use shared::ErrorBody;
use shared::api::{AuditAction, Member, MemberPage, MemberPatch, RoleSource};
use shared::{MemberStatus, Role, Scope};

use super::PathId;
use super::last_admin::{self, Standing};
use super::paging::{self, rfc3339};
use crate::auth::{Principal, ScopedRouter};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, NewEvent, Target};
use crate::db::members::{ListFilter, ListOrder, ListPosition};
use crate::db::{self, MemberId, TenantTx};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/members", Scope::Admin, list)
        .patch("/members/{id}", Scope::Admin, change)
}

/// The query string of `GET /api/v1/members`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
    role: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The longest search text accepted, in characters.
const MAX_SEARCH_CHARS: usize = 100;

/// One page of the tenant's members, by email or name, optionally searched and filtered.
#[utoipa::path(
    get,
    path = "/api/v1/members",
    tag = "members",
    params(
        ("q" = Option<String>, Query, description = "Only members whose email or name contains this text (any case, at most 100 characters)."),
        ("role" = Option<Role>, Query, description = "Only members with this role."),
        ("status" = Option<MemberStatus>, Query, description = "Only members with this status."),
        ("sort" = Option<String>, Query, description = "`email` (default) or `name`."),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page (of the same sort)."),
    ),
    responses(
        (status = 200, description = "One page of members.", body = MemberPage),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn list(
    mut tx: TenantTx,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<AppJson<MemberPage>, ApiError> {
    let limit = paging::page_size(query.limit)?;
    let (filter, order) = list_filter(&query)?;
    let after = paging::decode_cursor::<ListPosition>(query.cursor.as_deref())?;
    if after.as_ref().is_some_and(|after| after.order != order) {
        return Err(ApiError::unprocessable(
            "cursor: it belongs to another sort; start again without it.",
        ));
    }
    let mut members = db::members::list(&mut tx, &filter, order, after.as_ref(), limit + 1).await?;
    tx.commit().await?;
    let next_cursor = paging::next_cursor(&mut members, limit, |m| ListPosition {
        order,
        key: match order {
            ListOrder::Email => m.email.clone(),
            ListOrder::Name => m.name.clone(),
        },
        id: m.id,
    })?;
    let items = members.into_iter().map(to_wire).collect::<Result<_, _>>()?;
    Ok(AppJson(MemberPage { items, next_cursor }))
}

/// The checked search, filters and order of a member list, or 422 naming the parameter.
fn list_filter(query: &ListQuery) -> Result<(ListFilter, ListOrder), ApiError> {
    let text = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            if text.chars().count() > MAX_SEARCH_CHARS {
                Err(ApiError::unprocessable(format!(
                    "q: search for at most {MAX_SEARCH_CHARS} characters."
                )))
            } else {
                Ok(text.to_owned())
            }
        })
        .transpose()?;
    let role = query
        .role
        .as_deref()
        .map(|role| {
            role.parse::<Role>()
                .map_err(|_| ApiError::unprocessable("role must be one of viewer, member, admin."))
        })
        .transpose()?;
    let status = query
        .status
        .as_deref()
        .map(|status| match status {
            "active" => Ok(MemberStatus::Active),
            "deactivated" => Ok(MemberStatus::Deactivated),
            _ => Err(ApiError::unprocessable(
                "status must be one of active, deactivated.",
            )),
        })
        .transpose()?;
    let order = match query.sort.as_deref() {
        None | Some("email") => ListOrder::Email,
        Some("name") => ListOrder::Name,
        Some(_) => return Err(ApiError::unprocessable("sort must be one of email, name.")),
    };
    Ok((ListFilter { text, role, status }, order))
}

/// Changes a member's role, role source or status.
#[utoipa::path(
    patch,
    path = "/api/v1/members/{id}",
    tag = "members",
    params(("id" = String, Path, description = "The member id.")),
    request_body = MemberPatch,
    responses(
        (status = 200, description = "The changed member.", body = Member),
        (status = 409, description = "The change would leave no active admin, or no admin who keeps the role at their next sign-in (`last_admin`).", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn change(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<MemberId>,
    AppJson(patch): AppJson<MemberPatch>,
) -> Result<AppJson<Member>, ApiError> {
    let requested = Requested::from_patch(&patch)?;
    // The admins first, then the member: every change takes the locks in this order.
    let active_admins = db::members::lock_active_admins(&mut tx).await?;
    let current = db::members::lock(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let role = requested.role.unwrap_or(current.role);
    let role_source = requested.role_source.unwrap_or(current.role_source);
    let status = requested.status.unwrap_or(current.status);
    let stays_active_admin = role == Role::Admin && status == MemberStatus::Active;
    if active_admins.contains(&id) {
        // Only a change to an active admin can leave the tenant without one.
        let before = db::members::active_admin_standings(&mut tx).await?;
        let mappings = last_admin::mappings(&mut tx).await?;
        let after: Vec<_> = before
            .iter()
            .filter(|admin| admin.id != id || stays_active_admin)
            .cloned()
            .map(|mut admin| {
                if admin.id == id {
                    admin.role_source = role_source;
                }
                admin
            })
            .collect();
        last_admin::check(
            Standing {
                admins: &before,
                mappings: &mappings,
            },
            Standing {
                admins: &after,
                mappings: &mappings,
            },
        )?;
    }
    let updated = db::members::update_administration(&mut tx, id, role, role_source, status)
        .await?
        .ok_or(ApiError::NotFound)?;

    let target = Target::member(id, &current.email);
    let mut events = Vec::new();
    // A role change reads `from → to`; a change of where the role comes from alone (set here, or handed back
    // to the groups) is recorded as that, never as a role "changed" to itself.
    let source_change = json!({
        "from": db::members::role_source_name(current.role_source),
        "to": db::members::role_source_name(updated.role_source),
    });
    if current.role != updated.role {
        events.push((
            AuditAction::MemberRoleChanged,
            json!({
                "from": current.role.as_str(),
                "to": updated.role.as_str(),
                "role_source": db::members::role_source_name(updated.role_source),
            }),
        ));
    } else if current.role_source != updated.role_source {
        events.push((
            AuditAction::MemberRoleChanged,
            json!({ "role": updated.role.as_str(), "role_source": source_change }),
        ));
    }
    if current.status != updated.status {
        let action = match updated.status {
            MemberStatus::Active => AuditAction::MemberReactivated,
            MemberStatus::Deactivated => AuditAction::MemberDeactivated,
        };
        events.push((action, json!({})));
    }
    for (action, details) in events {
        let event = NewEvent {
            action,
            actor: Some(principal.audit_actor()),
            target: Some(target.clone()),
            details,
            source_ip,
        };
        audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(AppJson(to_wire(updated)?))
}

/// A checked [`MemberPatch`]: what the admin asked to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Requested {
    role: Option<Role>,
    role_source: Option<RoleSource>,
    status: Option<MemberStatus>,
}

impl Requested {
    /// Setting a role makes it admin-set; `role_source: identity_provider` alone hands it back to the group
    /// mapping (the current role stays until the member's next sign-in maps it again).
    fn from_patch(patch: &MemberPatch) -> Result<Requested, ApiError> {
        let role_source = match (patch.role, patch.role_source) {
            (Some(_), Some(RoleSource::IdentityProvider)) => {
                return Err(ApiError::unprocessable(
                    "role_source: a role set by an admin cannot come from the identity provider; send role \
                     or role_source, not both.",
                ));
            }
            (None, Some(RoleSource::Admin)) => {
                return Err(ApiError::unprocessable(
                    "role_source: to make the role admin-set, send the role.",
                ));
            }
            (Some(_), _) => Some(RoleSource::Admin),
            (None, source) => source,
        };
        if patch.role.is_none() && role_source.is_none() && patch.status.is_none() {
            return Err(ApiError::unprocessable(
                "The body must change at least one of role, role_source and status.",
            ));
        }
        Ok(Requested {
            role: patch.role,
            role_source,
            status: patch.status,
        })
    }
}

/// The wire form of a member.
fn to_wire(member: db::members::Member) -> Result<Member, ApiError> {
    Ok(Member {
        id: member.id.to_string(),
        email: member.email,
        name: member.name,
        role: member.role,
        role_source: member.role_source,
        status: member.status,
        provider: member.provider,
        created_at: rfc3339(member.created_at)?,
        last_sign_in_at: member.last_sign_in_at.map(rfc3339).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(
        role: Option<Role>,
        role_source: Option<RoleSource>,
        status: Option<MemberStatus>,
    ) -> MemberPatch {
        MemberPatch {
            role,
            role_source,
            status,
        }
    }

    #[test]
    fn setting_a_role_makes_it_admin_set() {
        let requested = Requested::from_patch(&patch(Some(Role::Member), None, None)).unwrap();
        assert_eq!(requested.role_source, Some(RoleSource::Admin));
        let requested =
            Requested::from_patch(&patch(Some(Role::Member), Some(RoleSource::Admin), None))
                .unwrap();
        assert_eq!(requested.role_source, Some(RoleSource::Admin));
    }

    #[test]
    fn the_role_can_be_handed_back_to_the_identity_provider_alone() {
        let requested =
            Requested::from_patch(&patch(None, Some(RoleSource::IdentityProvider), None)).unwrap();
        assert_eq!(
            (requested.role, requested.role_source),
            (None, Some(RoleSource::IdentityProvider))
        );
    }

    #[test]
    fn contradictory_or_empty_patches_are_refused() {
        for bad in [
            patch(None, None, None),
            patch(Some(Role::Admin), Some(RoleSource::IdentityProvider), None),
            patch(None, Some(RoleSource::Admin), None),
        ] {
            assert!(Requested::from_patch(&bad).is_err(), "{bad:?}");
        }
    }
}
