//! Configuration of the stand-ins, read from the same files the AWS deployment uses plus the local-only ones.
//!
//! `infra/config/user-pool.json` (pool, resource server, app clients), `infra/tenants/demo.json` (tenants and
//! their identity providers), `infra/local-aws/local.json` (pool id, client ids and secrets, URLs, trigger,
//! ports) and `infra/local-aws/directories.json` (the mock IdPs' users). Every field of the result is public so
//! tests can change it before [`crate::LocalAws::start`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::Ports;

/// How long the pool waits for the pre-token-generation trigger, like Cognito's 5-second Lambda limit.
pub const DEFAULT_TRIGGER_TIMEOUT: Duration = Duration::from_secs(5);

/// The standard attributes every Cognito user pool has (the OIDC standard claims). `sub` is left out: no
/// client and no identity provider may write it.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

/// The scope that lets a signed-in user call the user pools API on their own account (`GetUser`,
/// `UpdateUserAttributes`, ...), and so rewrite every attribute their app client may write.
pub const SELF_SERVICE_SCOPE: &str = "aws.cognito.signin.user.admin";

/// Everything the stand-ins need to run the demo world.
#[derive(Debug, Clone)]
pub struct LocalAwsConfig {
    /// The AWS region the pool pretends to live in (`eu-west-1`).
    pub region: String,
    /// The user pool id (`<region>_<id>`), the last path segment of the issuer.
    pub user_pool_id: String,
    /// The pool's name, shown on the managed login page.
    pub pool_name: String,
    /// The resource server whose scopes (`<identifier>/<name>`) access tokens carry.
    pub resource_server: ResourceServer,
    /// The pool's custom attributes (`custom:<name>`), next to the standard ones.
    pub custom_attributes: Vec<CustomAttribute>,
    /// App clients by their logical name (`web`, `machine`).
    pub clients: BTreeMap<String, AppClient>,
    /// Every tenant's identity providers, in the order of `demo.json`.
    pub identity_providers: Vec<IdentityProvider>,
    /// The mock IdPs' directories (users, passwords, groups).
    pub directories: Directories,
    /// Where the pre-token-generation trigger is invoked; `None` issues tokens without additions.
    pub trigger: Option<TriggerConfig>,
    /// How long to wait for the trigger before failing the sign-in.
    pub trigger_timeout: Duration,
    /// How long an authorization code issued by the pool stays valid.
    pub authorization_code_validity: Duration,
    /// The dev default ports from `local.json` (tests use [`Ports::ephemeral`] instead).
    pub ports: Ports,
    /// The identity pool (`config/identity-pool.json` with the local pool id and the upload role's policies).
    pub identity_pool: IdentityPoolConfig,
    /// The backend's own long-term S3 key and its permission policy.
    pub backend_user: BackendUser,
}

/// The IAM user the backend calls S3 as (on AWS its task role): a long-term key from `local.json` and the
/// permission policy `infra/policies/backend-storage-permissions.json`.
#[derive(Debug, Clone)]
pub struct BackendUser {
    /// The user's ARN (`arn:aws:iam::<account>:user/saas-reference-backend`).
    pub arn: String,
    /// The access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret access key (a local demo secret).
    pub secret_access_key: String,
    /// The permission policy.
    pub permissions: crate::iam::PolicySet,
}

/// The Cognito identity pool: which user pool clients' ID tokens it accepts, the principal tags it puts on
/// sessions, and the role its authenticated identities assume.
#[derive(Debug, Clone)]
pub struct IdentityPoolConfig {
    /// The pool id, `<region>:<uuid>`.
    pub id: String,
    /// The pool's name.
    pub name: String,
    /// The app client ids whose ID tokens the pool accepts (`aud`).
    pub client_ids: Vec<String>,
    /// Session tag → token claim (`tenant_id ← tenant_id`, `user_id ← sub`).
    pub principal_tags: BTreeMap<String, String>,
    /// The authenticated role's ARN (`arn:aws:iam::<account>:role/<name>`).
    pub role_arn: String,
    /// The bucket the role's permission policy names.
    pub bucket: String,
    /// The role's trust and permission policies, from `infra/policies/`.
    pub role: crate::iam::UploadRole,
    /// The bucket's CORS rules, `infra/policies/bucket-cors.json`.
    pub bucket_cors: crate::s3::BucketCors,
    /// How long the credentials of `GetCredentialsForIdentity` last: Cognito's fixed hour. Tests shorten it to
    /// watch the web app renew credentials during an upload.
    pub session_duration: std::time::Duration,
}

/// The pool's resource server (`saas-api`) and its scopes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceServer {
    /// The identifier, the prefix of every custom scope.
    pub identifier: String,
    /// A human-readable name.
    pub name: String,
    /// The scopes, without the identifier prefix.
    pub scopes: Vec<ResourceServerScope>,
}

impl ResourceServer {
    /// Every scope of the resource server as it appears in tokens (`saas-api/read`).
    pub fn qualified_scopes(&self) -> Vec<String> {
        self.scopes
            .iter()
            .map(|s| format!("{}/{}", self.identifier, s.name))
            .collect()
    }
}

/// A custom attribute of the pool's schema, from `user-pool.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomAttribute {
    /// The name without the `custom:` prefix (`idp_groups`).
    pub name: String,
    /// Cognito's data type (`String`, `Number`, `DateTime`, `Boolean`).
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether the value may change after the user is created; an immutable attribute is written once.
    pub mutable: bool,
    /// Developer-only attributes (`dev:custom:<name>`) can be written by administrators only, never by an
    /// app client or an identity provider.
    #[serde(default)]
    pub developer_only: bool,
}

impl CustomAttribute {
    /// The attribute's name in tokens, mappings and client permissions (`custom:idp_groups`).
    pub fn qualified_name(&self) -> String {
        if self.developer_only {
            format!("dev:custom:{}", self.name)
        } else {
            format!("custom:{}", self.name)
        }
    }
}

/// One scope of the resource server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceServerScope {
    /// The short name (`read`).
    pub name: String,
    /// What the scope allows.
    pub description: String,
}

/// An app client: settings from `user-pool.json` merged with ids, secrets and URLs from `local.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppClient {
    /// The client id the pool issued.
    pub client_id: String,
    /// The client secret; `None` for a public client.
    pub client_secret: Option<String>,
    /// Redirect URIs allowed at `/oauth2/authorize`, matched exactly.
    pub callback_urls: Vec<String>,
    /// Sign-out URIs allowed at `/logout`, matched exactly.
    pub logout_urls: Vec<String>,
    /// OAuth flows: `code`, `implicit`, `client_credentials`.
    pub allowed_oauth_flows: Vec<String>,
    /// Scopes the client may request (OIDC scopes and resource-server scopes).
    pub allowed_oauth_scopes: Vec<String>,
    /// Identity providers the client may sign in through (names from `demo.json`).
    pub supported_identity_providers: Vec<String>,
    /// User attributes the client may read (ID token claims and userInfo).
    pub read_attributes: Vec<String>,
    /// User attributes the client may write. A federated sign-in through the client writes the identity
    /// provider's mapped attributes, so each of them must be here or the sign-in fails.
    pub write_attributes: Vec<String>,
    /// Whether `/oauth2/revoke` works for the client's refresh tokens.
    pub enable_token_revocation: bool,
    /// Access-token lifetime.
    pub access_token_validity: Duration,
    /// ID-token lifetime.
    pub id_token_validity: Duration,
    /// Refresh-token lifetime.
    pub refresh_token_validity: Duration,
}

impl AppClient {
    /// Whether the client may use an OAuth flow (`code`, `implicit`, `client_credentials`).
    pub fn allows_flow(&self, flow: &str) -> bool {
        self.allowed_oauth_flows.iter().any(|f| f == flow)
    }
}

/// A tenant's identity provider, as the pool knows it (a federated OIDC provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    /// The provider name in the pool (`acme-entra`); federated usernames start with it.
    pub name: String,
    /// The slug of the tenant the provider belongs to (`acme`).
    pub tenant: String,
    /// Which mock serves it and where.
    pub kind: IdentityProviderKind,
    /// The pool's client id at the IdP.
    pub client_id: String,
    /// The pool's client secret at the IdP (from `local.json`).
    pub client_secret: String,
    /// Email domains that route to this provider (`idp_identifier`).
    pub verified_domains: Vec<String>,
    /// The scopes the pool asks the IdP for (space-separated).
    pub authorize_scopes: String,
    /// Pool attribute → IdP claim. The username is not in it: for an OIDC provider Cognito always names the
    /// user `<name>_<sub>` (a `username` → `sub` entry in the file is accepted and dropped, any other
    /// `username` entry is refused).
    pub attribute_mapping: BTreeMap<String, String>,
}

/// The kind of an identity provider and the directory that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityProviderKind {
    /// Microsoft Entra ID v2, one directory (tenant) id.
    Entra {
        /// The directory id (`tid`).
        tenant_id: String,
    },
    /// Okta's default authorization server of one org.
    Okta {
        /// The org name (`globex` in `globex.okta.com`).
        org: String,
    },
}

/// The mock IdPs' directories.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Directories {
    /// Entra ID directories, by `tenant_id`.
    #[serde(default)]
    pub entra: Vec<EntraDirectory>,
    /// Okta orgs. One org is served per Okta listener: the first one.
    #[serde(default)]
    pub okta: Vec<OktaOrg>,
}

/// One Entra ID directory (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntraDirectory {
    /// The directory id (`tid`).
    pub tenant_id: String,
    /// Shown on the login page.
    pub display_name: String,
    /// The directory's users.
    pub users: Vec<EntraUser>,
}

/// A user of an Entra ID directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntraUser {
    /// The object id, stable and unique in the directory.
    pub oid: String,
    /// The sign-in name (`alice@acme.example`).
    pub user_principal_name: String,
    /// The mail attribute (Entra does not verify it).
    pub email: String,
    /// The display name.
    pub name: String,
    /// The password the mock login page accepts.
    pub password: String,
    /// App roles assigned to the user (the `roles` claim).
    #[serde(default)]
    pub app_roles: Vec<String>,
}

/// One Okta org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OktaOrg {
    /// The org name (`globex`).
    pub org: String,
    /// Shown on the login page.
    pub display_name: String,
    /// The org's users.
    pub users: Vec<OktaUser>,
}

/// A user of an Okta org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OktaUser {
    /// The user id (`00u…`), the `sub` claim.
    pub id: String,
    /// The sign-in name.
    pub login: String,
    /// The primary email.
    pub email: String,
    /// Whether Okta verified the email.
    pub email_verified: bool,
    /// The display name.
    pub name: String,
    /// The password the mock login page accepts.
    pub password: String,
    /// Group names (the `groups` claim).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Where and how the pool invokes the pre-token-generation trigger.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TriggerConfig {
    /// The URL the event is POSTed to.
    pub url: String,
    /// Sent as the `x-trigger-secret` header so the receiver knows the call comes from the pool.
    pub shared_secret: String,
}

impl LocalAwsConfig {
    /// Reads the four configuration files below `infra_dir` (the repository's `infra/` directory).
    pub fn load(infra_dir: &Path) -> anyhow::Result<LocalAwsConfig> {
        let pool: files::UserPoolFile = read_json(&infra_dir.join("config/user-pool.json"))?;
        let tenants: files::TenantsFile = read_json(&infra_dir.join("tenants/demo.json"))?;
        let local: files::LocalFile = read_json(&infra_dir.join("local-aws/local.json"))?;
        let directories: Directories = read_json(&infra_dir.join("local-aws/directories.json"))?;
        let identity_pool: files::IdentityPoolFile =
            read_json(&infra_dir.join("config/identity-pool.json"))?;
        LocalAwsConfig::from_files(pool, tenants, local, directories, identity_pool, infra_dir)
    }

    fn from_files(
        pool: files::UserPoolFile,
        tenants: files::TenantsFile,
        mut local: files::LocalFile,
        directories: Directories,
        identity_pool: files::IdentityPoolFile,
        infra_dir: &Path,
    ) -> anyhow::Result<LocalAwsConfig> {
        let mut identity_providers = Vec::new();
        for tenant in tenants.tenants {
            for idp in tenant.identity_providers {
                let kind = match idp.kind.as_str() {
                    "entra" => IdentityProviderKind::Entra {
                        tenant_id: idp.entra_tenant_id.with_context(|| {
                            format!("identity provider {} has no entra_tenant_id", idp.name)
                        })?,
                    },
                    "okta" => IdentityProviderKind::Okta {
                        org: idp.okta_org.with_context(|| {
                            format!("identity provider {} has no okta_org", idp.name)
                        })?,
                    },
                    other => bail!("identity provider {} has unknown kind {other:?}", idp.name),
                };
                let client_secret = local
                    .identity_provider_client_secrets
                    .get(&idp.name)
                    .cloned()
                    .with_context(|| {
                        format!(
                            "local.json has no client secret for identity provider {}",
                            idp.name
                        )
                    })?;
                let mut attribute_mapping = idp.attribute_mapping;
                check_username_mapping(&idp.name, &attribute_mapping)?;
                // Cognito takes the subject from `sub` whatever the file says, so the entry carries nothing.
                attribute_mapping.remove(USERNAME_ATTRIBUTE);
                identity_providers.push(IdentityProvider {
                    name: idp.name,
                    tenant: tenant.slug.clone(),
                    kind,
                    client_id: idp.client_id,
                    client_secret,
                    verified_domains: idp
                        .verified_domains
                        .iter()
                        .map(|d| d.to_ascii_lowercase())
                        .collect(),
                    authorize_scopes: idp.authorize_scopes,
                    attribute_mapping,
                });
            }
        }

        let mut clients = BTreeMap::new();
        for (name, settings) in pool.app_clients {
            let local_client = local
                .clients
                .remove(&name)
                .with_context(|| format!("local.json has no client {name}"))?;
            if settings.generate_secret && local_client.client_secret.is_none() {
                bail!("client {name} generates a secret but local.json has none");
            }
            for (kind, attributes) in [
                ("read", &settings.read_attributes),
                ("write", &settings.write_attributes),
            ] {
                for attribute in attributes {
                    let known = is_declared(&pool.custom_attributes, attribute);
                    // Cognito refuses such a client: "Invalid <kind> attributes specified while creating a client".
                    let developer_only = kind == "write" && attribute.starts_with("dev:");
                    if !known || developer_only {
                        bail!(
                            "client {name} has invalid {kind} attribute {attribute:?}: it is neither a standard \
                             attribute nor a custom attribute of user-pool.json that an app client may {kind}"
                        );
                    }
                }
            }
            let supported_identity_providers = match local_client.supported_identity_providers {
                Some(list) => list,
                // A client that signs users in supports every tenant's provider unless local.json narrows it.
                None if settings
                    .allowed_oauth_flows
                    .iter()
                    .any(|f| f == "code" || f == "implicit") =>
                {
                    identity_providers
                        .iter()
                        .map(|idp| idp.name.clone())
                        .collect()
                }
                None => Vec::new(),
            };
            clients.insert(
                name,
                AppClient {
                    client_id: local_client.client_id,
                    client_secret: local_client
                        .client_secret
                        .filter(|_| settings.generate_secret),
                    callback_urls: local_client.callback_urls,
                    logout_urls: local_client.logout_urls,
                    allowed_oauth_flows: settings.allowed_oauth_flows,
                    allowed_oauth_scopes: settings.allowed_oauth_scopes,
                    supported_identity_providers,
                    read_attributes: settings.read_attributes,
                    write_attributes: settings.write_attributes,
                    enable_token_revocation: settings.enable_token_revocation,
                    access_token_validity: Duration::from_secs(
                        settings.access_token_validity_minutes * 60,
                    ),
                    id_token_validity: Duration::from_secs(settings.id_token_validity_minutes * 60),
                    refresh_token_validity: Duration::from_secs(
                        settings.refresh_token_validity_days * 86_400,
                    ),
                },
            );
        }

        let identity_pool = identity_pool_config(identity_pool, &local, &clients, infra_dir)?;
        let backend_user = BackendUser {
            arn: format!(
                "arn:aws:iam::{}:user/saas-reference-backend",
                local.account_id
            ),
            access_key_id: local.backend_s3_key.access_key_id.clone(),
            secret_access_key: local.backend_s3_key.secret_access_key.clone(),
            permissions: crate::iam::upload_role::load_backend_permissions(
                infra_dir,
                &crate::iam::PolicyParameters {
                    bucket: identity_pool.bucket.clone(),
                    identity_pool_id: identity_pool.id.clone(),
                },
            )
            .context("loading the backend's storage policy")?,
        };

        Ok(LocalAwsConfig {
            region: pool.region,
            user_pool_id: local.user_pool_id,
            pool_name: pool.pool_name,
            resource_server: pool.resource_server,
            custom_attributes: pool.custom_attributes,
            clients,
            identity_providers,
            directories,
            trigger: local.pre_token_generation,
            trigger_timeout: DEFAULT_TRIGGER_TIMEOUT,
            authorization_code_validity: Duration::from_secs(
                pool.authorization_code_validity_seconds,
            ),
            ports: local.ports,
            identity_pool,
            backend_user,
        })
    }

    /// The identity provider with this name.
    pub fn identity_provider(&self, name: &str) -> Option<&IdentityProvider> {
        self.identity_providers.iter().find(|idp| idp.name == name)
    }

    /// The app client with this client id.
    pub fn client_by_id(&self, client_id: &str) -> Option<&AppClient> {
        self.clients.values().find(|c| c.client_id == client_id)
    }

    /// Whether the pool's schema has this attribute: a standard one or a declared custom one.
    pub fn declares_attribute(&self, name: &str) -> bool {
        is_declared(&self.custom_attributes, name)
    }

    /// The custom attribute with this qualified name (`custom:idp_groups`).
    pub fn custom_attribute(&self, name: &str) -> Option<&CustomAttribute> {
        self.custom_attributes
            .iter()
            .find(|a| a.qualified_name() == name)
    }
}

/// The pseudo-attribute an attribute mapping would use to choose the subject.
const USERNAME_ATTRIBUTE: &str = "username";

/// Refuses a mapping that tries to choose the username claim. Cognito names every user of an OIDC provider
/// `<provider>_<sub>`; a mapping that says otherwise (Entra's `oid`, say) would make the stand-in key users
/// in a way the real pool never does.
pub(crate) fn check_username_mapping(
    provider: &str,
    mapping: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    match mapping.get(USERNAME_ATTRIBUTE) {
        Some(claim) if claim != "sub" => bail!(
            "identity provider {provider} maps the claim {claim:?} to username, but Cognito always names an \
             OIDC provider's users <provider>_<sub>: remove the username entry (or map it to \"sub\")"
        ),
        _ => Ok(()),
    }
}

fn is_declared(custom: &[CustomAttribute], name: &str) -> bool {
    STANDARD_ATTRIBUTES.contains(&name) || custom.iter().any(|a| a.qualified_name() == name)
}

/// The identity pool's settings: the file's, with the local pool id and account, app client names resolved
/// to client ids, and the role's policies loaded. Unauthenticated identities and the classic (basic) flow are
/// refused outright: the stand-in implements neither, and security.md requires both off.
fn identity_pool_config(
    file: files::IdentityPoolFile,
    local: &files::LocalFile,
    clients: &BTreeMap<String, AppClient>,
    infra_dir: &Path,
) -> anyhow::Result<IdentityPoolConfig> {
    if file.allow_unauthenticated_identities {
        bail!("identity-pool.json allows unauthenticated identities; they must stay off");
    }
    if file.allow_classic_flow {
        bail!("identity-pool.json allows the classic (basic) flow; it must stay off");
    }
    let mut client_ids = Vec::new();
    for provider in &file.cognito_identity_providers {
        let client = clients.get(&provider.app_client).with_context(|| {
            format!(
                "identity-pool.json names the unknown app client {:?}",
                provider.app_client
            )
        })?;
        client_ids.push(client.client_id.clone());
    }
    let role = crate::iam::UploadRole::load(
        infra_dir,
        &crate::iam::PolicyParameters {
            bucket: file.authenticated_role.bucket.clone(),
            identity_pool_id: local.identity_pool_id.clone(),
        },
    )
    .context("loading the upload role's policies")?;
    let bucket_cors =
        crate::s3::BucketCors::load(infra_dir).context("loading the bucket's CORS rules")?;
    Ok(IdentityPoolConfig {
        id: local.identity_pool_id.clone(),
        name: file.identity_pool_name,
        client_ids,
        principal_tags: file.principal_tags,
        role_arn: format!(
            "arn:aws:iam::{}:role/{}",
            local.account_id, file.authenticated_role.name
        ),
        bucket: file.authenticated_role.bucket,
        role,
        bucket_cors,
        session_duration: crate::credentials::SESSION_DURATION,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The files' own shapes; only the fields the stand-ins use are read.
mod files {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::{CustomAttribute, ResourceServer, TriggerConfig};
    use crate::Ports;

    #[derive(Deserialize)]
    pub(super) struct UserPoolFile {
        pub region: String,
        pub pool_name: String,
        pub resource_server: ResourceServer,
        #[serde(default)]
        pub custom_attributes: Vec<CustomAttribute>,
        pub app_clients: BTreeMap<String, ClientSettings>,
        pub authorization_code_validity_seconds: u64,
    }

    #[derive(Deserialize)]
    pub(super) struct ClientSettings {
        pub generate_secret: bool,
        pub allowed_oauth_flows: Vec<String>,
        pub allowed_oauth_scopes: Vec<String>,
        #[serde(default)]
        pub read_attributes: Vec<String>,
        #[serde(default)]
        pub write_attributes: Vec<String>,
        pub enable_token_revocation: bool,
        pub access_token_validity_minutes: u64,
        pub id_token_validity_minutes: u64,
        pub refresh_token_validity_days: u64,
    }

    #[derive(Deserialize)]
    pub(super) struct TenantsFile {
        pub tenants: Vec<Tenant>,
    }

    #[derive(Deserialize)]
    pub(super) struct Tenant {
        pub slug: String,
        pub identity_providers: Vec<TenantIdp>,
    }

    #[derive(Deserialize)]
    pub(super) struct TenantIdp {
        pub name: String,
        pub kind: String,
        pub entra_tenant_id: Option<String>,
        pub okta_org: Option<String>,
        pub client_id: String,
        #[serde(default)]
        pub verified_domains: Vec<String>,
        pub authorize_scopes: String,
        pub attribute_mapping: BTreeMap<String, String>,
    }

    #[derive(Deserialize)]
    pub(super) struct IdentityPoolFile {
        pub identity_pool_name: String,
        pub allow_unauthenticated_identities: bool,
        pub allow_classic_flow: bool,
        pub cognito_identity_providers: Vec<IdentityPoolProvider>,
        pub principal_tags: BTreeMap<String, String>,
        pub authenticated_role: AuthenticatedRole,
    }

    #[derive(Deserialize)]
    pub(super) struct IdentityPoolProvider {
        pub app_client: String,
    }

    #[derive(Deserialize)]
    pub(super) struct AuthenticatedRole {
        pub name: String,
        pub bucket: String,
    }

    #[derive(Deserialize)]
    pub(super) struct LocalFile {
        pub user_pool_id: String,
        pub identity_pool_id: String,
        pub account_id: String,
        pub backend_s3_key: BackendS3Key,
        pub ports: Ports,
        pub clients: BTreeMap<String, LocalClient>,
        pub identity_provider_client_secrets: BTreeMap<String, String>,
        pub pre_token_generation: Option<TriggerConfig>,
    }

    #[derive(Deserialize)]
    pub(super) struct BackendS3Key {
        pub access_key_id: String,
        pub secret_access_key: String,
    }

    #[derive(Deserialize)]
    pub(super) struct LocalClient {
        pub client_id: String,
        pub client_secret: Option<String>,
        #[serde(default)]
        pub callback_urls: Vec<String>,
        #[serde(default)]
        pub logout_urls: Vec<String>,
        /// Optional: narrows the providers a client may use (default: all of them for sign-in clients).
        pub supported_identity_providers: Option<Vec<String>>,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn infra_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn file(relative: &str) -> Value {
        read_json(&infra_dir().join(relative)).unwrap()
    }

    /// Loads the demo world after `change` edits the raw `user-pool.json` and `demo.json`.
    fn load_changed(change: impl FnOnce(&mut Value, &mut Value)) -> anyhow::Result<LocalAwsConfig> {
        let mut pool = file("config/user-pool.json");
        let mut tenants = file("tenants/demo.json");
        change(&mut pool, &mut tenants);
        LocalAwsConfig::from_files(
            serde_json::from_value(pool).unwrap(),
            serde_json::from_value(tenants).unwrap(),
            serde_json::from_value(file("local-aws/local.json")).unwrap(),
            serde_json::from_value(file("local-aws/directories.json")).unwrap(),
            serde_json::from_value(file("config/identity-pool.json")).unwrap(),
            &infra_dir(),
        )
    }

    #[test]
    fn loads_the_demo_world() {
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        assert_eq!(config.region, "eu-west-1");
        let web = &config.clients["web"];
        assert!(web.allows_flow("code"));
        assert!(!web.allows_flow("implicit"));
        assert_eq!(
            web.supported_identity_providers,
            vec!["acme-entra", "globex-okta"]
        );
        assert_eq!(web.access_token_validity, Duration::from_secs(3600));
        assert!(
            web.write_attributes
                .contains(&"custom:idp_groups".to_owned())
        );
        assert!(
            config.clients["machine"]
                .supported_identity_providers
                .is_empty()
        );
        let entra = config.identity_provider("acme-entra").unwrap();
        assert_eq!(entra.tenant, "acme");
        assert!(!entra.attribute_mapping.contains_key("username"));
        assert_eq!(entra.attribute_mapping["custom:idp_groups"], "roles");
        assert_eq!(entra.client_secret, "local-demo-acme-entra-secret");
        assert_eq!(
            config.resource_server.qualified_scopes(),
            vec!["saas-api/read", "saas-api/write", "saas-api/admin"]
        );
        assert!(config.declares_attribute("custom:idp_groups"));
        assert!(config.declares_attribute("email_verified"));
        assert!(!config.declares_attribute("custom:tenant_id"));
        assert!(!config.declares_attribute("username"));
        assert_eq!(config.authorization_code_validity, Duration::from_secs(300));
        assert!(config.trigger.is_some());
    }

    #[test]
    fn no_app_client_lets_users_rewrite_their_own_attributes() {
        // With aws.cognito.signin.user.admin a user's access token could call UpdateUserAttributes and set
        // every attribute the client may write, custom:idp_groups (and so the role) included.
        let pool = file("config/user-pool.json");
        let clients = pool["app_clients"].as_object().unwrap();
        assert!(!clients.is_empty());
        for (name, client) in clients {
            let scopes = client["allowed_oauth_scopes"].as_array().unwrap();
            assert!(
                !scopes.iter().any(|s| s == SELF_SERVICE_SCOPE),
                "client {name} allows {SELF_SERVICE_SCOPE}"
            );
        }
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        for (name, client) in &config.clients {
            assert!(
                !client
                    .allowed_oauth_scopes
                    .iter()
                    .any(|s| s == SELF_SERVICE_SCOPE),
                "client {name}"
            );
        }
    }

    #[test]
    fn a_username_mapping_other_than_sub_is_refused() {
        let error = load_changed(|_, tenants| {
            tenants["tenants"][0]["identity_providers"][0]["attribute_mapping"]["username"] =
                json!("oid");
        })
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("acme-entra"), "{message}");
        assert!(message.contains("\"oid\" to username"), "{message}");
    }

    #[test]
    fn a_username_mapping_to_sub_is_accepted_and_changes_nothing() {
        let config = load_changed(|_, tenants| {
            tenants["tenants"][1]["identity_providers"][0]["attribute_mapping"]["username"] =
                json!("sub");
        })
        .unwrap();
        let okta = config.identity_provider("globex-okta").unwrap();
        assert!(!okta.attribute_mapping.contains_key("username"));
        assert_eq!(okta.attribute_mapping["email"], "email");
    }

    #[test]
    fn a_client_may_only_read_or_write_attributes_of_the_schema() {
        let error = load_changed(|pool, _| {
            pool["app_clients"]["web"]["write_attributes"] = json!(["email", "custom:tenant_id"]);
        })
        .unwrap_err();
        assert!(error.to_string().contains("custom:tenant_id"), "{error}");
        let error = load_changed(|pool, _| {
            pool["app_clients"]["web"]["read_attributes"] = json!(["nickname", "username"]);
        })
        .unwrap_err();
        assert!(error.to_string().contains("\"username\""), "{error}");
    }

    #[test]
    fn developer_only_attributes_are_never_client_writable() {
        let error = load_changed(|pool, _| {
            pool["custom_attributes"].as_array_mut().unwrap().push(
                json!({ "name": "tenant", "type": "String", "mutable": true, "developer_only": true }),
            );
            pool["app_clients"]["web"]["write_attributes"] = json!(["dev:custom:tenant"]);
        })
        .unwrap_err();
        assert!(error.to_string().contains("dev:custom:tenant"), "{error}");
    }
}
