//! The wizard's provider steps: what to register on the provider's side, the provider's settings checked by
//! discovery and saved for a test (the secret handed to the user pool through the reconciler, never stored
//! here), and activation with the group → role mapping.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shared::api::{
    Activated, Activation, AuditAction, PROVIDER_KINDS, PlatformAuditAction, ProviderForm,
    ProviderInstructions, SetupProvider,
};
use shared::{ErrorCode, Role};

use super::discovery::{self, ProviderSettings};
use super::links::audit_both;
use super::wizard::SetupCaller;
use crate::client_ip::ClientIp;
use crate::config::Secret;
use crate::db::audit::Target;
use crate::db::identity_providers::{self, GroupRoleMapping, IdentityProviderKind};
use crate::db::{self, setup_links};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

/// The longest client secret accepted, in characters.
pub const MAX_SECRET_CHARS: usize = 1024;
/// The most mapped groups at activation.
const MAX_GROUPS: usize = 100;

/// What the user pool asks each kind for, and where each kind puts what the tenant needs.
struct KindDefaults {
    kind: IdentityProviderKind,
    scopes: &'static str,
    /// The provider's claim carrying the groups (Entra's app roles).
    groups_claim: &'static str,
}

fn defaults(kind: &str) -> Result<KindDefaults, ApiError> {
    match kind {
        "entra" => Ok(KindDefaults {
            kind: IdentityProviderKind::Entra,
            scopes: "openid email profile",
            groups_claim: "roles",
        }),
        "okta" => Ok(KindDefaults {
            kind: IdentityProviderKind::Okta,
            scopes: "openid email profile groups",
            groups_claim: "groups",
        }),
        "oidc" => Ok(KindDefaults {
            kind: IdentityProviderKind::Oidc,
            scopes: "openid email profile",
            groups_claim: "groups",
        }),
        other => Err(ApiError::unprocessable(format!(
            "kind: {other:?} is not one of {}.",
            PROVIDER_KINDS.join(", ")
        ))),
    }
}

impl KindDefaults {
    /// User pool attribute → the provider's claim: email, whether it is verified (the claim each vendor
    /// documents for it), name and the groups.
    fn attribute_mapping(&self) -> BTreeMap<String, String> {
        let verified = self.kind.email_verified_claim().unwrap_or("email_verified");
        BTreeMap::from([
            ("email".to_owned(), "email".to_owned()),
            ("email_verified".to_owned(), verified.to_owned()),
            ("name".to_owned(), "name".to_owned()),
            ("custom:idp_groups".to_owned(), self.groups_claim.to_owned()),
        ])
    }
}

/// Query of the instructions.
#[derive(Debug, Deserialize)]
pub struct KindQuery {
    /// `entra`, `okta` or `oidc`.
    pub kind: String,
}

/// `GET /setup/api/v1/provider/instructions?kind=`: what to register on the provider's side.
pub async fn instructions(
    State(state): State<AppState>,
    _caller: SetupCaller,
    AppQuery(query): AppQuery<KindQuery>,
) -> Result<AppJson<ProviderInstructions>, ApiError> {
    let kind = defaults(&query.kind)?;
    let redirect_uri = format!(
        "{}/oauth2/idpresponse",
        state
            .config
            .cognito_auth_domain
            .as_str()
            .trim_end_matches('/')
    );
    let scopes: Vec<String> = kind.scopes.split(' ').map(str::to_owned).collect();
    let (claims, steps) = match kind.kind {
        IdentityProviderKind::Entra => (
            vec![
                "email: the user's email address".to_owned(),
                "xms_edov: whether the email's domain is verified (optional claim of the ID token)".to_owned(),
                "roles: the app roles assigned to the user (their names map to roles here)".to_owned(),
            ],
            vec![
                "In the Microsoft Entra admin center, open App registrations and choose New registration."
                    .to_owned(),
                format!("Add a Web redirect URI: {redirect_uri}"),
                "Under Certificates & secrets, create a client secret and copy its value.".to_owned(),
                "Under Token configuration, add the optional ID-token claims email and xms_edov.".to_owned(),
                "Under App roles, create the roles you will map (for example SaaS-Admins) and assign them to users or groups in Enterprise applications.".to_owned(),
                "Copy the Directory (tenant) ID and the Application (client) ID from Overview.".to_owned(),
            ],
        ),
        IdentityProviderKind::Okta => (
            vec![
                "email and email_verified".to_owned(),
                "groups: the user's groups (a groups claim filter on the authorization server)".to_owned(),
            ],
            vec![
                "In the Okta Admin Console, create an App Integration: OIDC, Web Application.".to_owned(),
                format!("Set the Sign-in redirect URI to {redirect_uri}"),
                "Grant type: Authorization Code. Copy the Client ID and Client secret.".to_owned(),
                "On the authorization server (Security → API), add a groups claim to the ID token with a filter for the groups you will map.".to_owned(),
                "Assign the app to the people or groups who should sign in.".to_owned(),
            ],
        ),
        IdentityProviderKind::Oidc => (
            vec![
                "email and email_verified".to_owned(),
                "groups: the user's groups, if you want to map them to roles".to_owned(),
            ],
            vec![
                "Register a confidential web client (authorization code flow) with your provider.".to_owned(),
                format!("Register the redirect URI {redirect_uri}"),
                "Allow the scopes openid, email and profile; release email, email_verified and groups in the ID token.".to_owned(),
                "Copy the issuer URL, the client ID and the client secret.".to_owned(),
            ],
        ),
    };
    Ok(AppJson(ProviderInstructions {
        kind: query.kind,
        redirect_uri,
        scopes,
        claims,
        steps,
    }))
}

/// The settings of `form` for the discovery check, or the field that is wrong.
fn settings_of(form: &ProviderForm) -> Result<ProviderSettings, ApiError> {
    let client_id = form.client_id.clone();
    Ok(match form.kind.as_str() {
        "entra" => ProviderSettings::Entra {
            directory_id: form.directory_id.clone(),
            client_id,
        },
        "okta" => ProviderSettings::Okta {
            org_url: form.org_url.clone(),
            authorization_server: form.authorization_server.clone(),
            client_id,
        },
        "oidc" => ProviderSettings::Oidc {
            issuer: form.issuer.clone(),
            client_id,
        },
        other => {
            return Err(ApiError::unprocessable(format!(
                "kind: {other:?} is not one of {}.",
                PROVIDER_KINDS.join(", ")
            )));
        }
    })
}

/// The user pool's name for the tenant's provider of `kind`: `<slug>-<kind>`, the slug shortened so the
/// name fits the pool's 32 characters.
fn provider_name(slug: &str, kind: &str) -> String {
    let room = 32 - 1 - kind.len();
    let prefix: String = slug.chars().take(room).collect();
    format!("{}-{kind}", prefix.trim_end_matches('-'))
}

/// A provider as the wizard shows it.
pub fn to_wire(provider: &identity_providers::SetupProvider) -> SetupProvider {
    SetupProvider {
        name: provider.name.clone(),
        kind: provider.kind.as_str().to_owned(),
        issuer: provider.issuer.clone(),
        client_id: provider.client_id.clone(),
        status: if provider.testing {
            "testing"
        } else {
            "active"
        }
        .to_owned(),
    }
}

/// `POST /setup/api/v1/provider`: checks the settings at once (the issuer they imply, its discovery
/// document and keys: 422 `provider_check_failed` saying precisely what is wrong), then saves the provider
/// for a test and hands its secret to the user pool (502 `provider_check_failed` when the pool refuses it).
/// An active provider is not changed here (409).
pub async fn save(
    State(state): State<AppState>,
    caller: SetupCaller,
    ClientIp(source_ip): ClientIp,
    AppJson(form): AppJson<ProviderForm>,
) -> Result<AppJson<SetupProvider>, ApiError> {
    let kind = defaults(&form.kind)?;
    let settings = settings_of(&form)?;
    let secret = form.client_secret.trim();
    if secret.is_empty()
        || secret.chars().count() > MAX_SECRET_CHARS
        || secret.chars().any(char::is_control)
    {
        return Err(ApiError::unprocessable(format!(
            "client_secret: the client secret, 1 to {MAX_SECRET_CHARS} characters."
        )));
    }
    let expected = discovery::expected_issuer(&settings, &state.config.sso.entra_authority)
        .map_err(|error| {
            ApiError::unprocessable(format!("{}: {}", error.field.as_str(), error.message))
        })?;
    let discovered = discovery::check_provider(&state.egress, &expected)
        .await
        .map_err(|error| {
            tracing::info!(code = error.code(), %error, "identity provider check failed");
            ApiError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ProviderCheckFailed,
                error.to_string(),
            )
        })?;

    let mut tx = db::tenant_tx(&state.db, caller.tenant_id).await?;
    // The check above may have taken seconds: the link must still be open now.
    caller.hold_open(&mut tx).await?;
    let tenant = db::tenants::current(&mut tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let current = identity_providers::setup_provider(&mut tx).await?;
    if current.as_ref().is_some_and(|p| !p.testing) {
        return Err(ApiError::Conflict(
            "Your organisation's identity provider is active; its secret is rotated from the sign-in settings."
                .into(),
        ));
    }
    let provider = identity_providers::SetupProvider {
        name: provider_name(&tenant.slug, kind.kind.as_str()),
        kind: kind.kind,
        issuer: discovered.issuer.clone(),
        client_id: form.client_id.clone(),
        authorize_scopes: kind.scopes.to_owned(),
        attribute_mapping: kind.attribute_mapping(),
        testing: true,
    };
    if let Err(error) = identity_providers::save_for_test(&mut tx, &provider).await {
        if error
            .as_database_error()
            .is_some_and(|e| e.is_unique_violation())
        {
            return Err(ApiError::Conflict(format!(
                "The provider name {} is taken on this platform; contact support.",
                provider.name
            )));
        }
        return Err(error.into());
    }
    // A new provider means a new test.
    setup_links::clear_test(&mut tx, caller.link_id).await?;
    audit_both(
        &mut tx,
        &caller.actors(source_ip),
        (AuditAction::SsoProviderSaved, PlatformAuditAction::SsoProviderSaved),
        provider_target(&provider.name),
        json!({ "kind": provider.kind.as_str(), "issuer": provider.issuer, "client_id": provider.client_id }),
    )
    .await?;
    tx.commit().await?;

    // The secret goes to the user pool now, and nowhere else.
    let secret = Secret::new(secret);
    let name = provider.name.clone();
    let report = state
        .idp_sync
        .run(&state.db, &|candidate: &str| {
            (candidate == name).then(|| secret.clone())
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "reconciling after a set-up's provider failed");
            ApiError::unavailable(error)
        })?;
    if let Some(failure) = report.failed.iter().find(|f| f.provider == provider.name) {
        return Err(ApiError::refused(
            StatusCode::BAD_GATEWAY,
            ErrorCode::ProviderCheckFailed,
            format!(
                "The user pool did not accept the provider: {}",
                failure.error
            ),
        ));
    }
    tracing::info!(tenant_id = %caller.tenant_id, provider = %provider.name, "set-up provider saved for a test");
    Ok(AppJson(to_wire(&provider)))
}

fn provider_target(name: &str) -> Target {
    Target {
        kind: "tenant",
        id: name.to_owned(),
        label: format!("identity provider {name}"),
    }
}

/// `POST /setup/api/v1/activate`: activates the provider under test with the group → role mapping, once a
/// test sign-in went through it and at least one domain is proven; the set-up link is then completed (its
/// session ends). From then on the proven domains route to the provider.
pub async fn activate(
    State(state): State<AppState>,
    caller: SetupCaller,
    ClientIp(source_ip): ClientIp,
    AppJson(body): AppJson<Activation>,
) -> Result<AppJson<Activated>, ApiError> {
    if body.group_mapping.len() > MAX_GROUPS {
        return Err(ApiError::unprocessable(format!(
            "group_mapping: at most {MAX_GROUPS} groups."
        )));
    }
    let mut mapping = BTreeMap::new();
    for (index, entry) in body.group_mapping.iter().enumerate() {
        let group = entry.group.as_str();
        if group.is_empty()
            || group.trim() != group
            || group.chars().count() > crate::api::settings::GROUP_NAME_MAX_CHARS
        {
            return Err(ApiError::unprocessable(format!(
                "group_mapping[{index}].group: 1 to {} characters, without surrounding spaces.",
                crate::api::settings::GROUP_NAME_MAX_CHARS
            )));
        }
        if mapping.insert(group.to_owned(), entry.role).is_some() {
            return Err(ApiError::unprocessable(format!(
                "group_mapping[{index}].group: {group:?} is listed twice."
            )));
        }
    }
    if !mapping.values().any(|role| *role == Role::Admin) {
        return Err(ApiError::unprocessable(
            "group_mapping: map at least one group to admin, so that your organisation has an administrator.",
        ));
    }
    let mapping = GroupRoleMapping(mapping);

    let mut tx = db::tenant_tx(&state.db, caller.tenant_id).await?;
    caller.hold_open(&mut tx).await?;
    let provider = identity_providers::setup_provider(&mut tx)
        .await?
        .filter(|p| p.testing)
        .ok_or_else(|| ApiError::Conflict("Save your identity provider first.".into()))?;
    let link = setup_links::get(&mut tx, caller.link_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if link.tested_at.is_none() {
        return Err(ApiError::Conflict(
            "Run a test sign-in through your identity provider first.".into(),
        ));
    }
    let routed = identity_providers::activate(&mut tx, &provider.name, &mapping)
        .await?
        .ok_or_else(|| ApiError::Conflict("Save your identity provider first.".into()))?;
    if routed.is_empty() {
        return Err(ApiError::Conflict(
            "Verify at least one email domain first: it is how your people are sent to your sign-in.".into(),
        ));
    }
    setup_links::complete(&mut tx, caller.link_id).await?;
    audit_both(
        &mut tx,
        &caller.actors(source_ip),
        (AuditAction::SsoActivated, PlatformAuditAction::SsoActivated),
        provider_target(&provider.name),
        json!({ "domains": routed, "group_mapping": mapping.0 }),
    )
    .await?;
    tx.commit().await?;
    // The pool's provider already exists (saved for the test); a run brings the rest in line.
    if let Err(error) = state
        .idp_sync
        .run(&state.db, &crate::idp_sync::no_secrets)
        .await
    {
        tracing::warn!(%error, "reconciling after an activation failed; the periodic run will retry");
    }
    tracing::info!(tenant_id = %caller.tenant_id, provider = %provider.name, "set-up provider activated");
    let provider = identity_providers::SetupProvider {
        testing: false,
        ..provider
    };
    Ok(AppJson(Activated {
        provider: to_wire(&provider),
        routed_domains: routed,
        roles: mapping.0.into_iter().collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_fit_the_pool_and_keep_the_kind() {
        assert_eq!(provider_name("initech", "okta"), "initech-okta");
        let long = provider_name(&"a".repeat(63), "entra");
        assert_eq!(long.len(), 32);
        assert!(long.ends_with("-entra"));
        assert_eq!(
            provider_name(&format!("{}-x", "b".repeat(26)), "oidc"),
            format!("{}-oidc", "b".repeat(26))
        );
    }

    #[test]
    fn each_kind_maps_the_claim_its_vendor_uses() {
        let entra = defaults("entra")
            .unwrap_or_else(|_| unreachable!())
            .attribute_mapping();
        assert_eq!(entra["email_verified"], "xms_edov");
        assert_eq!(entra["custom:idp_groups"], "roles");
        let okta = defaults("okta").unwrap_or_else(|_| unreachable!());
        assert!(okta.scopes.contains("groups"));
        assert_eq!(okta.attribute_mapping()["email_verified"], "email_verified");
        assert!(defaults("saml").is_err());
    }
}
