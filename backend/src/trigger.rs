//! The Cognito pre-token-generation trigger (event version 2): binds a sign-in to a tenant and a member and
//! puts the tenant context into the tokens.
//!
//! The tenant is the one bound to the identity provider the user actually came through, never the email
//! domain. The member is found by (provider, subject), never by email. A newcomer joins at first sign-in
//! through an open invitation for the email the tenant's own provider asserts (with the invitation's role), or
//! else just-in-time if the tenant allows it; otherwise they are refused. The role comes from the provider's
//! groups through the tenant's mapping unless an admin set it (the groups are recorded too), except that the
//! tenant's last active admin keeps the admin role when their groups no longer map to it (audited, never a
//! refusal), and the access token loses every API scope the role may not hold. A deactivated member is
//! refused, at sign-in and at token refresh. Joins and refusals are written to the tenant's audit log.

pub mod event;
pub mod lambda;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::api::{AuditAction, RoleSource};
use shared::{ErrorCode, Role, Scope, TenantStatus};
use sqlx::PgPool;

use crate::db::audit::{self, Actor, NewEvent, Target};
use crate::db::members::{self, Member, MemberStatus, NewMember, SignInProfile};
use crate::db::tenants::Tenant;
use crate::db::{self, TenantId, TenantTx, identity_providers, invitations, routing, tenants};
use event::{
    AccessTokenGeneration, ClaimsAndScopeOverrideDetails, IdTokenGeneration,
    PreTokenGenerationEvent, Response,
};

/// Why the trigger did not produce tokens.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The sign-in is refused for a reason the user is told: `UnknownIdentityProvider` (no tenant owns the
    /// provider, or the user is not federated), `MembershipDeactivated`, or `NotInvited` (just-in-time
    /// joining is off and there is no invitation).
    #[error("sign-in refused: {0}")]
    Refused(ErrorCode),
    /// The event is not a well-formed token-generation event for a federated user.
    #[error("invalid pre-token-generation event: {0}")]
    InvalidEvent(String),
    /// The database failed; the sign-in should be retried later.
    #[error("database error in the pre-token-generation trigger")]
    Database(#[from] sqlx::Error),
}

/// The user attribute holding the user's federated identities (a JSON array in a string).
const IDENTITIES_ATTRIBUTE: &str = "identities";
/// The user attribute the providers' groups are mapped to (see `infra/tenants/demo.json`).
const GROUPS_ATTRIBUTE: &str = "custom:idp_groups";

/// Handles one pre-token-generation event and returns it with `response` filled in: `tenant_id`,
/// `tenant_role`, `tenant_plan` and `member_id` added to both tokens, and the `<resource_server>/<scope>`
/// scopes the member's role may not hold suppressed from the access token. Scopes are never added.
///
/// All database work (find or create the member, record the sign-in) happens in one tenant transaction;
/// a refusal changes nothing.
pub async fn pre_token_generation(
    pool: &PgPool,
    resource_server: &str,
    mut event: PreTokenGenerationEvent,
) -> Result<PreTokenGenerationEvent, TriggerError> {
    let is_refresh = classify(&event)?;
    let identity = FederatedIdentity::from_event(&event)?;
    let Some(binding) = routing::tenant_for_provider(pool, &identity.provider).await? else {
        tracing::info!(provider = %identity.provider, "sign-in refused: no tenant owns the identity provider");
        return Err(TriggerError::Refused(ErrorCode::UnknownIdentityProvider));
    };
    if binding.testing {
        tracing::info!(provider = %identity.provider, tenant_id = %binding.tenant_id, "test sign-in through a provider being set up");
        return Ok(test_sign_in(event, resource_server));
    }
    let tenant_id = binding.tenant_id;
    let attributes = &event.request.user_attributes;
    let groups = groups_of(attributes);
    let email = attributes
        .get("email")
        .map(String::as_str)
        .unwrap_or_default();
    let name = attributes
        .get("name")
        .map(String::as_str)
        .unwrap_or_default();

    // Most sign-ins lock only their own member row. One that would demote an active admin is started again
    // after locking the tenant's active admins first, the order every admin change takes its locks in
    // (`PATCH /members`, the sign-in settings), so that it sees every concurrent change to them.
    let mut admins_locked = false;
    let (tenant, member) = loop {
        let mut tx = db::tenant_tx(pool, tenant_id).await?;
        if admins_locked {
            members::lock_active_admins(&mut tx).await?;
        }
        let tenant = tenants::current(&mut tx)
            .await?
            .ok_or(TriggerError::Refused(ErrorCode::UnknownIdentityProvider))?;
        let mapping = identity_providers::group_role_mapping(&mut tx, &identity.provider)
            .await?
            .ok_or(TriggerError::Refused(ErrorCode::UnknownIdentityProvider))?;
        let role = mapping.role_for(groups.iter().map(String::as_str));
        let profile = SignInProfile {
            email,
            email_verified: attributes.get("email_verified").map(String::as_str),
            name,
            role,
            groups: &groups,
            is_sign_in: !is_refresh,
        };
        if tenant.status != TenantStatus::Active {
            tx.rollback().await?;
            tracing::info!(tenant_id = %tenant.id, status = tenant.status.as_str(), "sign-in refused: the tenant is suspended");
            record_refusal(
                pool,
                tenant_id,
                &identity,
                &profile,
                ErrorCode::TenantSuspended,
                None,
            )
            .await?;
            return Err(TriggerError::Refused(ErrorCode::TenantSuspended));
        }
        match sign_in_member(&mut tx, &tenant, &identity, &profile, admins_locked).await {
            Ok(member) => {
                tx.commit().await?;
                break (tenant, member);
            }
            // Only answered while the admins are not locked, so the loop runs at most twice.
            Err(SignInError::DemotesAnAdmin) => {
                tx.rollback().await?;
                admins_locked = true;
            }
            Err(SignInError::Refused { code, member }) => {
                // Nothing of the refused sign-in is kept but its audit entry, written on its own.
                tx.rollback().await?;
                record_refusal(pool, tenant_id, &identity, &profile, code, member.as_ref()).await?;
                return Err(TriggerError::Refused(code));
            }
            Err(SignInError::Database(err)) => return Err(err.into()),
        }
    };

    let claims = token_claims(&member, tenant.plan);
    event.response = Response {
        claims_and_scope_override_details: Some(ClaimsAndScopeOverrideDetails {
            id_token_generation: Some(IdTokenGeneration {
                claims_to_add_or_override: claims.clone(),
                claims_to_suppress: Vec::new(),
            }),
            access_token_generation: Some(AccessTokenGeneration {
                claims_to_add_or_override: claims,
                claims_to_suppress: Vec::new(),
                scopes_to_add: Vec::new(),
                scopes_to_suppress: scopes_to_suppress(
                    &event.request.scopes,
                    resource_server,
                    member.role,
                ),
            }),
            group_override_details: None,
        }),
    };
    Ok(event)
}

/// The tokens of a test sign-in, through a provider a tenant's IT admin is still setting up: no member is
/// found or created and nothing is written; the tokens carry `setup_test: true`, no tenant, and no scope of
/// the API (every one requested is suppressed), so they open nothing. The set-up's own callback reads the
/// provider's claims from the ID token and shows them to the set-up session only.
fn test_sign_in(
    mut event: PreTokenGenerationEvent,
    resource_server: &str,
) -> PreTokenGenerationEvent {
    let mut claims = Map::new();
    claims.insert("setup_test".to_owned(), Value::Bool(true));
    let ours: Vec<String> = event
        .request
        .scopes
        .iter()
        .filter(|scope| {
            scope
                .strip_prefix(resource_server)
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .cloned()
        .collect();
    event.response = Response {
        claims_and_scope_override_details: Some(ClaimsAndScopeOverrideDetails {
            id_token_generation: Some(IdTokenGeneration {
                claims_to_add_or_override: claims.clone(),
                claims_to_suppress: Vec::new(),
            }),
            access_token_generation: Some(AccessTokenGeneration {
                claims_to_add_or_override: claims,
                claims_to_suppress: Vec::new(),
                scopes_to_add: Vec::new(),
                scopes_to_suppress: ours,
            }),
            group_override_details: None,
        }),
    };
    event
}

/// Checks the event's version and trigger source; `true` for a token refresh.
fn classify(event: &PreTokenGenerationEvent) -> Result<bool, TriggerError> {
    // Version 3 events have the same shape for user sign-ins (they add machine-to-machine sources, which
    // carry no user and are refused below), so a pool upgraded to V3_0 keeps working.
    if event.version != "2" && event.version != "3" {
        return Err(TriggerError::InvalidEvent(format!(
            "unsupported event version {:?}",
            event.version
        )));
    }
    if !event
        .trigger_source
        .starts_with(event::TRIGGER_SOURCE_PREFIX)
        || event.trigger_source == "TokenGeneration_ClientCredentials"
    {
        return Err(TriggerError::InvalidEvent(format!(
            "unsupported trigger source {:?}",
            event.trigger_source
        )));
    }
    Ok(event.trigger_source == event::TRIGGER_SOURCE_REFRESH_TOKENS)
}

/// The identity a federated user signed in with: the user pool's provider name and the provider's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FederatedIdentity {
    provider: String,
    subject: String,
}

/// One entry of the `identities` attribute.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityEntry {
    user_id: String,
    provider_name: String,
    #[serde(default)]
    primary: Value,
}

impl IdentityEntry {
    /// Cognito writes `"primary": "true"` (a string); a boolean is accepted too.
    fn is_primary(&self) -> bool {
        matches!(&self.primary, Value::Bool(true))
            || matches!(&self.primary, Value::String(s) if s == "true")
    }
}

impl FederatedIdentity {
    /// Reads the primary identity from the `identities` attribute and checks it against `userName`, which
    /// Cognito builds as `<ProviderName>_<subject>`, lower-cased, for federated users. A user without identities signed in
    /// with a user pool password: no tenant IdP vouches for them, so they are refused.
    fn from_event(event: &PreTokenGenerationEvent) -> Result<FederatedIdentity, TriggerError> {
        let refused = TriggerError::Refused(ErrorCode::UnknownIdentityProvider);
        let Some(raw) = event.request.user_attributes.get(IDENTITIES_ATTRIBUTE) else {
            return Err(refused);
        };
        let entries: Vec<IdentityEntry> = serde_json::from_str(raw).map_err(|e| {
            TriggerError::InvalidEvent(format!("the identities attribute is not valid: {e}"))
        })?;
        let primary: Vec<&IdentityEntry> =
            entries.iter().filter(|entry| entry.is_primary()).collect();
        let entry = match (primary.as_slice(), entries.as_slice()) {
            (_, []) => return Err(refused),
            ([only], _) => *only,
            ([], [only]) => only,
            _ => {
                return Err(TriggerError::InvalidEvent(
                    "no single primary identity".into(),
                ));
            }
        };
        if entry.provider_name.is_empty() || entry.user_id.is_empty() {
            return Err(TriggerError::InvalidEvent(
                "the primary identity has no provider or user id".into(),
            ));
        }
        // Cognito lower-cases the user name of a federated user while `identities` keeps the provider name and
        // the subject as they are, so the two agree without regard to case: a provider named `Acme-Entra` is
        // user `acme-entra_<subject>`.
        let expected = format!("{}_{}", entry.provider_name, entry.user_id);
        if event.user_name.to_lowercase() != expected.to_lowercase() {
            return Err(TriggerError::InvalidEvent(format!(
                "userName is not the identity's provider and subject {:?}",
                entry.provider_name
            )));
        }
        Ok(FederatedIdentity {
            provider: entry.provider_name.clone(),
            subject: entry.user_id.clone(),
        })
    }
}

/// Why `custom:idp_groups` was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("custom:idp_groups is not a JSON array of strings: {0}")]
struct MalformedGroups(String);

/// Parses `custom:idp_groups`: the JSON text of an array of group names, which is how Cognito stores the
/// multi-valued OIDC claim each provider kind sends (Entra's `roles`, Okta's `groups`) in a String attribute.
/// An absent or empty attribute is no groups. Nothing else is accepted: not Cognito's `[a, b]` rendering of
/// multi-valued SAML attributes, not a comma-separated list, not a bare name. Those forms cannot tell a group
/// named `x, saas-admin` from two groups, so reading them could raise a role; a malformed value is refused as
/// a whole and the caller maps it to no groups (the lowest role).
fn parse_idp_groups(value: Option<&str>) -> Result<Vec<String>, MalformedGroups> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    serde_json::from_str::<Vec<String>>(value).map_err(|e| MalformedGroups(e.to_string()))
}

/// The member's groups from the event; a malformed attribute counts as no groups and is logged.
fn groups_of(attributes: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    match parse_idp_groups(attributes.get(GROUPS_ATTRIBUTE).map(String::as_str)) {
        Ok(groups) => groups,
        Err(error) => {
            tracing::warn!(%error, "ignoring the identity provider's groups: the member gets the lowest role");
            Vec::new()
        }
    }
}

/// Why [`sign_in_member`] admitted nobody.
enum SignInError {
    /// The sign-in is refused (`MembershipDeactivated` or `NotInvited`); the member, if there is one.
    Refused {
        code: ErrorCode,
        member: Option<Member>,
    },
    /// The sign-in would demote an active admin, which needs the tenant's active admins locked first.
    DemotesAnAdmin,
    /// The database failed.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for SignInError {
    fn from(err: sqlx::Error) -> Self {
        SignInError::Database(err)
    }
}

/// Finds the member by (provider, subject) and records the sign-in, or admits a new member at first sign-in:
/// through an open invitation for the asserted email (with the invitation's role), or else just-in-time when
/// the tenant allows it (with the mapped role). A deactivated member, and a newcomer without invitation while
/// just-in-time joining is off, are refused before anything is written.
///
/// A member whose role comes from the identity provider gets the mapped role, except that the tenant's last
/// active admin keeps the admin role (audited as `member_role_kept`): a sign-in is never refused for it.
/// Deciding that needs the active admins locked (`admins_locked`); without that lock such a sign-in answers
/// [`SignInError::DemotesAnAdmin`] having written nothing, and the caller starts again with it.
async fn sign_in_member(
    tx: &mut TenantTx,
    tenant: &Tenant,
    identity: &FederatedIdentity,
    profile: &SignInProfile<'_>,
    admins_locked: bool,
) -> Result<Member, SignInError> {
    // Two rounds suffice: if a concurrent first sign-in of the same identity wins the insert, the second
    // round finds (and locks) the row it committed.
    for _ in 0..2 {
        if let Some(member) =
            members::lock_by_identity(tx, &identity.provider, &identity.subject).await?
        {
            if member.status == MemberStatus::Deactivated {
                tracing::info!(member_id = %member.id, "sign-in refused: the member is deactivated");
                return Err(SignInError::Refused {
                    code: ErrorCode::MembershipDeactivated,
                    member: Some(member),
                });
            }
            let demotes_an_admin = member.status == MemberStatus::Active
                && member.role == Role::Admin
                && member.role_source == RoleSource::IdentityProvider
                && profile.role != Role::Admin;
            let mut keeps_admin = false;
            if demotes_an_admin {
                if !admins_locked {
                    return Err(SignInError::DemotesAnAdmin);
                }
                keeps_admin = members::count_other_active_admins(tx, member.id).await? == 0;
            }
            let recorded = SignInProfile {
                role: if keeps_admin {
                    Role::Admin
                } else {
                    profile.role
                },
                ..profile.clone()
            };
            let updated = members::record_sign_in(tx, member.id, &recorded)
                .await?
                .ok_or(SignInError::Database(sqlx::Error::RowNotFound))?;
            if keeps_admin {
                record_role_kept(tx, &updated, profile).await?;
            }
            return Ok(updated);
        }
        // The email is asserted by the tenant's own identity provider (the tenant was chosen by provider), so
        // an invitation is matched only within the tenant that issued it, and only to an address the provider
        // has not said is unverified.
        let invitation = match profile.invitation_email() {
            Some(email) => invitations::lock_open_for_email(tx, email).await?,
            None => None,
        };
        let (role, role_source, via) = match &invitation {
            Some(invitation) => (invitation.role, RoleSource::Admin, "invitation"),
            None if tenant.just_in_time => {
                (profile.role, RoleSource::IdentityProvider, "just_in_time")
            }
            None => {
                tracing::info!(tenant_id = %tenant.id, "sign-in refused: not invited and just-in-time joining is off");
                return Err(SignInError::Refused {
                    code: ErrorCode::NotInvited,
                    member: None,
                });
            }
        };
        let new = NewMember {
            provider: &identity.provider,
            subject: &identity.subject,
            email: profile.email,
            name: profile.name,
            role,
            role_source,
            idp_groups: profile.groups,
        };
        if let Some(member) = members::create(tx, &new).await? {
            if let Some(invitation) = &invitation {
                invitations::accept(tx, invitation.id, member.id).await?;
            }
            let event = NewEvent {
                action: AuditAction::MemberJoined,
                actor: Some(Actor {
                    id: member.id,
                    name: member.name.clone(),
                    email: member.email.clone(),
                }),
                target: Some(Target::member(member.id, &member.email)),
                details: json!({
                    "via": via,
                    "role": member.role.as_str(),
                    "provider": identity.provider,
                    "invitation_id": invitation.as_ref().map(|i| i.id.to_string()),
                }),
                source_ip: None,
            };
            audit::record(tx, &event).await?;
            tracing::info!(member_id = %member.id, tenant_id = %tenant.id, via, "member joined at first sign-in");
            return Ok(member);
        }
    }
    Err(SignInError::Database(sqlx::Error::RowNotFound))
}

/// Audits that `member`, the tenant's last active admin, kept the admin role although their groups now map to
/// `profile.role`, so that the tenant's admins see they must appoint another admin or fix the groups.
async fn record_role_kept(
    tx: &mut TenantTx,
    member: &Member,
    profile: &SignInProfile<'_>,
) -> Result<(), sqlx::Error> {
    tracing::warn!(member_id = %member.id, tenant_id = %member.tenant_id, mapped_role = profile.role.as_str(),
        "the last active admin's groups no longer map to admin: the admin role is kept");
    let event = NewEvent {
        action: AuditAction::MemberRoleKept,
        actor: None,
        target: Some(Target::member(member.id, &member.email)),
        details: json!({
            "reason": "last_admin",
            "role": member.role.as_str(),
            "mapped_role": profile.role.as_str(),
            "groups": profile.groups,
            "token_refresh": !profile.is_sign_in,
        }),
        source_ip: None,
    };
    audit::record(tx, &event).await
}

/// Writes the audit entry of a refused sign-in in a transaction of its own (the sign-in's was rolled back).
async fn record_refusal(
    pool: &PgPool,
    tenant: TenantId,
    identity: &FederatedIdentity,
    profile: &SignInProfile<'_>,
    code: ErrorCode,
    member: Option<&Member>,
) -> Result<(), TriggerError> {
    let event = NewEvent {
        action: AuditAction::SignInRefused,
        actor: None,
        target: member.map(|m| Target::member(m.id, &m.email)),
        details: json!({
            "reason": code.as_str(),
            "email": profile.email,
            "provider": identity.provider,
            "token_refresh": !profile.is_sign_in,
        }),
        source_ip: None,
    };
    let mut tx = db::tenant_tx(pool, tenant).await?;
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// The claims both tokens carry.
fn token_claims(member: &Member, plan: shared::Plan) -> Map<String, Value> {
    let claims = json!({
        "tenant_id": member.tenant_id.to_string(),
        "tenant_role": member.role.as_str(),
        "tenant_plan": plan.as_str(),
        "member_id": member.id.to_string(),
    });
    match claims {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The requested scopes of `resource_server` that `role` may not hold. Unknown scopes of our resource server
/// are suppressed too (fail closed); other scopes (`openid`, `email`, ...) are left alone.
fn scopes_to_suppress(requested: &[String], resource_server: &str, role: Role) -> Vec<String> {
    requested
        .iter()
        .filter(|scope| {
            let ours = scope
                .strip_prefix(resource_server)
                .is_some_and(|rest| rest.starts_with('/'));
            ours && !Scope::from_qualified(scope, resource_server).is_some_and(|s| role.allows(s))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    mod properties;

    use std::collections::BTreeMap;

    use super::*;
    use crate::trigger::event::{CallerContext, Request};

    fn event(user_name: &str, identities: Option<&str>) -> PreTokenGenerationEvent {
        let mut user_attributes = BTreeMap::new();
        if let Some(identities) = identities {
            user_attributes.insert("identities".to_owned(), identities.to_owned());
        }
        PreTokenGenerationEvent {
            version: "2".into(),
            trigger_source: "TokenGeneration_HostedAuth".into(),
            region: "eu-west-1".into(),
            user_pool_id: "eu-west-1_pool".into(),
            user_name: user_name.into(),
            caller_context: CallerContext::default(),
            request: Request {
                user_attributes,
                ..Request::default()
            },
            response: Response::default(),
        }
    }

    const ALICE: &str = r#"[{"userId":"oid-1","providerName":"acme-entra","providerType":"OIDC","issuer":null,"primary":"true","dateCreated":"1"}]"#;

    #[test]
    fn the_identity_is_the_primary_identities_entry() {
        let identity =
            FederatedIdentity::from_event(&event("acme-entra_oid-1", Some(ALICE))).unwrap();
        assert_eq!(
            identity,
            FederatedIdentity {
                provider: "acme-entra".into(),
                subject: "oid-1".into()
            }
        );
    }

    #[test]
    fn a_lower_cased_user_name_agrees_with_a_provider_and_subject_in_any_case() {
        let identities = r#"[{"userId":"AbC-1","providerName":"Acme-Entra","primary":"true"}]"#;
        let identity =
            FederatedIdentity::from_event(&event("acme-entra_abc-1", Some(identities))).unwrap();
        assert_eq!(
            identity,
            FederatedIdentity {
                provider: "Acme-Entra".into(),
                subject: "AbC-1".into()
            },
            "the identity keeps its case: members are keyed by it"
        );
    }

    #[test]
    fn a_user_name_from_another_provider_or_subject_is_an_invalid_event() {
        let result = FederatedIdentity::from_event(&event("globex-okta_oid-1", Some(ALICE)));
        assert!(matches!(result, Err(TriggerError::InvalidEvent(_))));
        let result = FederatedIdentity::from_event(&event("acme-entraX_oid-1", Some(ALICE)));
        assert!(matches!(result, Err(TriggerError::InvalidEvent(_))));
        let result = FederatedIdentity::from_event(&event("acme-entra_", Some(ALICE)));
        assert!(matches!(result, Err(TriggerError::InvalidEvent(_))));
        let result = FederatedIdentity::from_event(&event("acme-entra_oid-2", Some(ALICE)));
        assert!(matches!(result, Err(TriggerError::InvalidEvent(_))));
    }

    #[test]
    fn a_native_pool_user_is_refused_as_an_unknown_provider() {
        for identities in [None, Some("[]")] {
            let result = FederatedIdentity::from_event(&event("alice", identities));
            assert!(matches!(
                result,
                Err(TriggerError::Refused(ErrorCode::UnknownIdentityProvider))
            ));
        }
    }

    #[test]
    fn malformed_or_ambiguous_identities_are_invalid_events() {
        let two_primaries = r#"[{"userId":"a","providerName":"p","primary":"true"},
                                {"userId":"b","providerName":"q","primary":"true"}]"#;
        for identities in ["not json", r#"{"userId":"a"}"#, two_primaries] {
            let result = FederatedIdentity::from_event(&event("p_a", Some(identities)));
            assert!(
                matches!(result, Err(TriggerError::InvalidEvent(_))),
                "{identities}"
            );
        }
    }

    #[test]
    fn groups_are_read_from_the_json_array_cognito_stores() {
        assert_eq!(
            parse_idp_groups(Some(r#"["SaaS-Admins","SaaS-Users"]"#)),
            Ok(vec!["SaaS-Admins".to_owned(), "SaaS-Users".to_owned()])
        );
        assert_eq!(
            parse_idp_groups(Some(r#" [ "SaaS-Admins" ] "#)),
            Ok(vec!["SaaS-Admins".to_owned()])
        );
        assert_eq!(parse_idp_groups(Some("[]")), Ok(Vec::new()));
        assert_eq!(parse_idp_groups(Some("  ")), Ok(Vec::new()));
        assert_eq!(parse_idp_groups(None), Ok(Vec::new()));
    }

    #[test]
    fn a_group_name_containing_a_comma_is_one_group_and_never_escalates() {
        let groups = parse_idp_groups(Some(r#"["x, saas-admin"]"#)).unwrap();
        assert_eq!(groups, ["x, saas-admin"]);
        let mapping = crate::db::identity_providers::GroupRoleMapping(
            [("saas-admin".to_owned(), Role::Admin)].into(),
        );
        assert_eq!(
            mapping.role_for(groups.iter().map(String::as_str)),
            Role::Viewer
        );
    }

    #[test]
    fn ambiguous_or_malformed_group_values_are_refused_as_a_whole() {
        for value in [
            "[x, saas-admin]",
            "[SaaS-Admins]",
            "x, saas-admin",
            "saas-admin",
            r#"["saas-admin", 1]"#,
            r#"[["saas-admin"]]"#,
            r#"{"groups":["saas-admin"]}"#,
            r#""saas-admin""#,
            r#"["saas-admin""#,
        ] {
            assert!(parse_idp_groups(Some(value)).is_err(), "{value}");
        }
        let attributes = [(GROUPS_ATTRIBUTE.to_owned(), "[x, saas-admin]".to_owned())].into();
        assert!(groups_of(&attributes).is_empty());
    }

    #[test]
    fn scopes_beyond_the_role_are_suppressed_and_others_kept() {
        let requested: Vec<String> = [
            "openid",
            "email",
            "saas-api/read",
            "saas-api/write",
            "saas-api/admin",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(
            scopes_to_suppress(&requested, "saas-api", Role::Admin),
            Vec::<String>::new()
        );
        assert_eq!(
            scopes_to_suppress(&requested, "saas-api", Role::Member),
            vec!["saas-api/admin"]
        );
        assert_eq!(
            scopes_to_suppress(&requested, "saas-api", Role::Viewer),
            vec!["saas-api/write", "saas-api/admin"]
        );
    }

    #[test]
    fn unknown_scopes_of_the_resource_server_are_suppressed_but_other_servers_are_left_alone() {
        let requested = vec![
            "saas-api/root".to_owned(),
            "saas-apix/admin".to_owned(),
            "other/admin".to_owned(),
        ];
        assert_eq!(
            scopes_to_suppress(&requested, "saas-api", Role::Admin),
            vec!["saas-api/root"]
        );
    }

    #[test]
    fn only_version_2_or_3_token_generation_events_are_accepted() {
        let mut e = event("p_a", None);
        assert!(!classify(&e).unwrap());
        e.trigger_source = "TokenGeneration_RefreshTokens".into();
        assert!(classify(&e).unwrap());
        e.trigger_source = "TokenGeneration_ClientCredentials".into();
        assert!(classify(&e).is_err());
        e.trigger_source = "PreSignUp_SignUp".into();
        assert!(classify(&e).is_err());
        e.trigger_source = "TokenGeneration_HostedAuth".into();
        e.version = "1".into();
        assert!(classify(&e).is_err());
    }
}
