//! Configuration of the stand-ins, read from the same files the AWS deployment uses plus the local-only ones.
//!
//! One file per user pool in `infra/config/` (`user-pool.json` for the tenants' pool, `operator-pool.json` for
//! the operators': pool, resource server, app clients), `infra/local-aws/local.json` (which pools run, their
//! ids, client ids and secrets, URLs, trigger, ports) and `infra/local-aws/directories.json` (the mock IdPs'
//! users and the applications registered with them). Another pool is another file and another entry of
//! `local.json`'s `user_pools`, not code. Every field of the result is public so tests can change it
//! before [`crate::LocalAws::start`].
//!
//! Tenant identity providers are not configuration: as on AWS, they are runtime data of the pool, created
//! through the user-pool API (`CreateIdentityProvider`) by whoever owns them (the backend's reconciler).
//! The pool starts without any.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::Ports;
use crate::lambda::{FunctionConfig, FunctionRuntime, FunctionSettings};

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

/// The most principal tags an identity pool maps (`SetPrincipalTagAttributeMap`'s `PrincipalTags`: at most
/// 50 entries, tag keys of 1 to 128 characters, attribute names of 1 to 256,
/// <https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_SetPrincipalTagAttributeMap.html>).
pub const MAX_PRINCIPAL_TAGS: usize = 50;
/// See [`MAX_PRINCIPAL_TAGS`].
pub const MAX_PRINCIPAL_TAG_KEY: usize = 128;
/// The longest attribute (claim) name a principal tag maps, and also the longest session tag value STS
/// accepts (<https://docs.aws.amazon.com/STS/latest/APIReference/API_Tag.html>).
pub const MAX_PRINCIPAL_TAG_VALUE: usize = 256;
/// "The aggregated character limit for all attributes is 460 bytes": the attribute names a pool maps, together
/// (<https://docs.aws.amazon.com/cognito/latest/developerguide/using-afac-with-cognito-identity-pools.html>).
pub const MAX_PRINCIPAL_TAG_ATTRIBUTES_BYTES: usize = 460;

/// Refuses principal tag mappings AWS refuses: more than [`MAX_PRINCIPAL_TAGS`]; a tag key that is empty,
/// longer than [`MAX_PRINCIPAL_TAG_KEY`] or outside the characters tag keys may use; an attribute name that is
/// empty or longer than [`MAX_PRINCIPAL_TAG_VALUE`]; attribute names over
/// [`MAX_PRINCIPAL_TAG_ATTRIBUTES_BYTES`] in all.
fn check_principal_tags(tags: &BTreeMap<String, String>) -> anyhow::Result<()> {
    if tags.len() > MAX_PRINCIPAL_TAGS {
        bail!(
            "identity-pool.json maps {} principal tags; at most {MAX_PRINCIPAL_TAGS} are allowed",
            tags.len()
        );
    }
    for (tag, claim) in tags {
        let valid = !tag.is_empty()
            && tag.chars().count() <= MAX_PRINCIPAL_TAG_KEY
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c));
        if !valid {
            bail!(
                "identity-pool.json's principal tag {tag:?} is not a valid tag key (1 to {MAX_PRINCIPAL_TAG_KEY} \
                 letters, digits, spaces or _.:/=+-@)"
            );
        }
        if claim.is_empty() || claim.chars().count() > MAX_PRINCIPAL_TAG_VALUE {
            bail!(
                "identity-pool.json's principal tag {tag:?} maps the attribute {claim:?}; attribute names have 1 \
                 to {MAX_PRINCIPAL_TAG_VALUE} characters"
            );
        }
    }
    let bytes: usize = tags.values().map(String::len).sum();
    if bytes > MAX_PRINCIPAL_TAG_ATTRIBUTES_BYTES {
        bail!(
            "identity-pool.json's principal tags map attribute names of {bytes} bytes in all; at most \
             {MAX_PRINCIPAL_TAG_ATTRIBUTES_BYTES} are allowed"
        );
    }
    Ok(())
}

/// Cognito's limit on a federated sign-in (see [`LocalAwsConfig::federation_timeout`]).
pub const FEDERATION_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Everything the stand-ins need to run the demo world.
#[derive(Debug, Clone)]
pub struct LocalAwsConfig {
    /// The AWS region the pools pretend to live in (`eu-west-1`).
    pub region: String,
    /// The AWS account the pools, the roles and the backend's user belong to (`000000000000`).
    pub account_id: String,
    /// The tenants' user pool, the first of `local.json`'s `user_pools`: the pool the identity pool trusts and
    /// the tenants' identity providers federate into.
    pub user_pool: UserPoolConfig,
    /// The other pools of `local.json`'s `user_pools` (the operators' pool), each on a domain of its own and
    /// sharing the `cognito-idp` host, where each has its own issuer path and keys.
    pub other_user_pools: Vec<UserPoolConfig>,
    /// The mock IdPs' directories (users, passwords, groups, registered applications).
    pub directories: Directories,
    /// How long a federated sign-in may take from the pool's redirect to the IdP until the IdP's answer
    /// reaches `/oauth2/idpresponse`: Cognito's fixed five minutes ("Amazon Cognito cancels authentication
    /// requests that do not complete within 5 minutes",
    /// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-oidc-flow.html>). Tests
    /// shorten it to watch a late answer fail.
    pub federation_timeout: Duration,
    /// The dev default ports from `local.json` (tests use [`Ports::ephemeral`] instead).
    pub ports: Ports,
    /// The DNS stand-in's zones (`local.json`'s `dns`).
    pub dns: DnsConfig,
    /// The identity pool (`config/identity-pool.json` with the local pool id and the upload role's policies).
    pub identity_pool: IdentityPoolConfig,
    /// The backend's own long-term key and its permission policies.
    pub backend_user: BackendUser,
    /// The operator administrators' key (`operator_admin_key` in `local.json`) and their policy,
    /// `infra/policies/operator-admin-permissions.json`: what `backend operators` runs as to manage the
    /// operators' accounts, which the running backend's own key may not do.
    pub operator_admin: BackendUser,
    /// The bucket recorded files are copied into (`files_bucket` in `local.json`): only the backend's policy
    /// names it, so no browser credential can change or remove a recorded file. It has no CORS rules and no
    /// lifecycle rules.
    pub files_bucket: String,
}

/// One user pool: its file in `infra/config/` merged with its entry of `local.json`'s `user_pools`.
#[derive(Debug, Clone)]
pub struct UserPoolConfig {
    /// The pool's logical name in `local.json` (`tenants`, `operators`), by which tools and tests find it.
    pub name: String,
    /// The user pool id (`<region>_<id>`), the last path segment of the issuer.
    pub user_pool_id: String,
    /// The pool's name, shown on the managed login page.
    pub pool_name: String,
    /// The resource server whose scopes (`<identifier>/<name>`) access tokens carry.
    pub resource_server: ResourceServer,
    /// Whether user names are case-sensitive (`sign_in_case_sensitive` in the pool's file, the deployment's
    /// `UsernameConfiguration`). A case-insensitive pool lower-cases every user name it outputs, federated
    /// users' `<provider>_<sub>` included.
    pub sign_in_case_sensitive: bool,
    /// The pool's custom attributes (`custom:<name>`), next to the standard ones.
    pub custom_attributes: Vec<CustomAttribute>,
    /// App clients by their logical name (`web`, `machine`), as they are at start; `UpdateUserPoolClient`
    /// changes the running pool's copy, never this one.
    pub clients: BTreeMap<String, AppClient>,
    /// The pre-token-generation trigger's function as `local.json` describes it (`pre_token_generation`:
    /// name, timeout, memory, concurrency). What runs it comes from whoever starts the stand-ins
    /// ([`UserPoolConfig::use_trigger`]).
    pub trigger_function: Option<FunctionSettings>,
    /// The pre-token-generation trigger the pool invokes through the Lambda stand-in, with its runtime and
    /// environment; `None` (as loaded) issues tokens without additions.
    pub trigger: Option<FunctionConfig>,
    /// How long an authorization code issued by the pool stays valid.
    pub authorization_code_validity: Duration,
    /// How the pool's own users sign in.
    pub native_users: NativeUsers,
}

/// The IAM user the backend calls S3 and the user-pool API as (on AWS its task role): a long-term key from
/// `local.json` and the permission policies `infra/policies/backend-storage-permissions.json` and
/// `infra/policies/backend-cognito-permissions.json`.
#[derive(Debug, Clone)]
pub struct BackendUser {
    /// The user's ARN (`arn:aws:iam::<account>:user/saas-reference-backend`).
    pub arn: String,
    /// The access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret access key (a local demo secret).
    pub secret_access_key: String,
    /// The permission policies, both of them: `backend-storage-permissions` and
    /// `backend-cognito-permissions`.
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
    /// Those of `client_ids` whose provider entry has `server_side_token_check`: their ID tokens get
    /// credentials only while the sign-in stands in the user pool (not signed out, user not deleted).
    pub server_side_token_check: Vec<String>,
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
    /// The bucket's lifecycle rules, `infra/policies/bucket-lifecycle.json` (always there as loaded);
    /// `None` is a bucket without a lifecycle configuration.
    pub bucket_lifecycle: Option<crate::s3::BucketLifecycle>,
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

/// How the pool's own users (created in the pool, not federated) sign in: `native_users` in the pool's file,
/// the deployment's `UsernameAttributes`, `AdminCreateUserConfig`, `MfaConfiguration` and `Policies`. A pool
/// file without it gets Cognito's defaults ([`NativeUsers::default`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeUsers {
    /// `["email"]`: users sign in with their email address, and their user name is a generated id, the same as
    /// their `sub` (Cognito's `UsernameAttributes`). Empty: users sign in with their user name.
    #[serde(default)]
    pub username_attributes: Vec<String>,
    /// Only administrators create users (`AllowAdminCreateUserOnly`); the stand-in has no self sign-up, so
    /// this must be `true`.
    pub allow_admin_create_user_only: bool,
    /// `OFF`, `OPTIONAL` or `ON` (every user must set up MFA before signing in).
    pub mfa: MfaConfiguration,
    /// Whether authenticator apps (TOTP) are an MFA factor (`SoftwareTokenMfaConfiguration`); the only factor
    /// the stand-in offers, so `mfa: ON` requires it.
    pub software_token_mfa: bool,
    /// The password policy.
    pub password_policy: PasswordPolicy,
    /// The invitation `AdminCreateUser` emails: `{username}` and `{####}` (the temporary password) in it.
    pub invitation: MessageTemplate,
    /// The email with a password reset code: `{####}` in it.
    pub password_reset: MessageTemplate,
}

impl Default for NativeUsers {
    /// Cognito's defaults for a new pool: sign-in by user name, MFA off, a policy of 8 characters with all
    /// four kinds, temporary passwords valid 7 days, and Cognito's default messages.
    fn default() -> NativeUsers {
        NativeUsers {
            username_attributes: Vec::new(),
            allow_admin_create_user_only: true,
            mfa: MfaConfiguration::Off,
            software_token_mfa: false,
            password_policy: PasswordPolicy {
                minimum_length: 8,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: true,
                temporary_password_validity_days: 7,
            },
            invitation: MessageTemplate {
                email_subject: "Your temporary password".to_owned(),
                email_message: "Your username is {username} and temporary password is {####}. "
                    .to_owned(),
            },
            password_reset: MessageTemplate {
                email_subject: "Your verification code".to_owned(),
                email_message: "Your password reset code is {####}".to_owned(),
            },
        }
    }
}

impl NativeUsers {
    /// Whether users sign in with their email address rather than a user name.
    pub fn email_is_username(&self) -> bool {
        self.username_attributes.iter().any(|a| a == "email")
    }

    /// Refuses what Cognito refuses when the pool is created, and what the stand-in does not implement.
    fn validate(&self, pool: &str) -> anyhow::Result<()> {
        if let Some(other) = self.username_attributes.iter().find(|a| *a != "email") {
            bail!("user pool {pool:?}: username attribute {other:?} is not supported (only email)");
        }
        if !self.allow_admin_create_user_only {
            bail!(
                "user pool {pool:?}: self sign-up is not implemented; allow_admin_create_user_only must be true"
            );
        }
        if self.mfa != MfaConfiguration::Off && !self.software_token_mfa {
            bail!(
                "user pool {pool:?}: MFA {:?} needs a factor, and software_token_mfa is the only one",
                self.mfa
            );
        }
        let policy = &self.password_policy;
        if !(6..=99).contains(&policy.minimum_length) {
            bail!("user pool {pool:?}: a password's minimum length must be 6 to 99");
        }
        if !(1..=365).contains(&policy.temporary_password_validity_days) {
            bail!("user pool {pool:?}: temporary passwords are valid 1 to 365 days");
        }
        for (what, template, placeholders) in [
            (
                "invitation",
                &self.invitation,
                &["{####}", "{username}"][..],
            ),
            ("password_reset", &self.password_reset, &["{####}"][..]),
        ] {
            if let Some(missing) = placeholders
                .iter()
                .find(|p| !template.email_message.contains(**p))
            {
                bail!("user pool {pool:?}: the {what} message has no {missing}");
            }
        }
        Ok(())
    }
}

/// Cognito's `MfaConfiguration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MfaConfiguration {
    /// No user is asked for a second factor.
    Off,
    /// Users who set up a factor are asked for it.
    Optional,
    /// Every user sets up a factor at their first sign-in and is asked for it at every sign-in.
    On,
}

/// Cognito's `PasswordPolicyType`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// 6 to 99.
    pub minimum_length: usize,
    /// At least one of A-Z.
    pub require_uppercase: bool,
    /// At least one of a-z.
    pub require_lowercase: bool,
    /// At least one of 0-9.
    pub require_numbers: bool,
    /// At least one of Cognito's symbols (ASCII punctuation, or a space not at either end).
    pub require_symbols: bool,
    /// How long a temporary password from `AdminCreateUser` can be used for a first sign-in.
    pub temporary_password_validity_days: u64,
}

/// An email a pool sends: its subject and its body with placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTemplate {
    /// The subject.
    pub email_subject: String,
    /// The body: `{####}` is the code or password, `{username}` the user name.
    pub email_message: String,
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
    /// Identity providers the client may sign in through (provider names, or `COGNITO`).
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
    /// `AllowedOAuthFlowsUserPoolClient`: without it the client may use none of the OAuth flows.
    pub allowed_oauth_flows_user_pool_client: bool,
    /// `ExplicitAuthFlows` (the user-pool API's own sign-in flows, which the stand-in does not serve).
    pub explicit_auth_flows: Vec<String>,
    /// `PreventUserExistenceErrors` is `ENABLED` (rather than `LEGACY`).
    pub prevent_user_existence_errors: bool,
}

impl AppClient {
    /// Whether the client may use an OAuth flow (`code`, `implicit`, `client_credentials`).
    pub fn allows_flow(&self, flow: &str) -> bool {
        self.allowed_oauth_flows_user_pool_client
            && self.allowed_oauth_flows.iter().any(|f| f == flow)
    }
}

/// The DNS stand-in's settings: `local.json`'s `dns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The zones the name server is authoritative for (`acme.example`), lower-case without the trailing
    /// dot as loaded; none nested in another.
    #[serde(default)]
    pub zones: Vec<String>,
    /// TXT records the server starts with (the demo domains' ownership proofs), by name.
    #[serde(default)]
    pub records: Vec<DnsRecordConfig>,
}

/// A TXT record the DNS stand-in starts with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DnsRecordConfig {
    /// The record's name, inside one of the zones.
    pub name: String,
    /// Its values, one TXT record each.
    pub values: Vec<String>,
}

/// The mock IdPs' directories.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Directories {
    /// Entra ID directories, by `tenant_id`.
    #[serde(default)]
    pub entra: Vec<EntraDirectory>,
    /// Okta orgs, each served on its own listener as each `<org>.okta.com` is its own host: the first on
    /// `ports.okta`, the others on `ports.okta_orgs.<org>`.
    #[serde(default)]
    pub okta: Vec<OktaOrg>,
}

impl Directories {
    /// Refuses directories the mocks cannot tell apart: an Entra tenant id or an Okta org name twice (orgs are
    /// host names, compared without regard to case), or an org name that is no host name label.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut tenants = std::collections::BTreeSet::new();
        for directory in &self.entra {
            if !tenants.insert(directory.tenant_id.to_ascii_lowercase()) {
                bail!(
                    "directories.json has the Entra tenant {} twice",
                    directory.tenant_id
                );
            }
        }
        let mut orgs = std::collections::BTreeSet::new();
        for org in &self.okta {
            let label = !org.org.is_empty()
                && org.org.len() <= 63
                && org
                    .org
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !org.org.starts_with('-')
                && !org.org.ends_with('-');
            if !label {
                bail!(
                    "directories.json's Okta org {:?} is not a host name label (<org>.okta.com)",
                    org.org
                );
            }
            if !orgs.insert(org.org.to_ascii_lowercase()) {
                bail!("directories.json has the Okta org {} twice", org.org);
            }
        }
        Ok(())
    }

    /// The Okta org with this name (compared without regard to case).
    pub fn okta_org(&self, org: &str) -> Option<&OktaOrg> {
        self.okta.iter().find(|o| o.org.eq_ignore_ascii_case(org))
    }
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
    /// The email domains the directory's administrators have verified ownership of: a user's email in one of
    /// them is domain-owner verified (the `xms_edov` claim is true).
    #[serde(default)]
    pub verified_domains: Vec<String>,
    /// The applications registered in the directory (app registrations), the user pool among them.
    #[serde(default)]
    pub apps: Vec<RegisteredApplication>,
}

/// An application registered with a mock IdP: the pool as an OIDC client of that IdP. The IdP side of the
/// federation, set up by the IdP's administrator and independent of the pool's own configuration: the pool's
/// `CreateIdentityProvider` must name this client id and secret. Its only redirect URI is the pool's
/// `/oauth2/idpresponse`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RegisteredApplication {
    /// The client (application) id the IdP issued.
    pub client_id: String,
    /// The client secret the IdP issued (a local demo secret).
    pub client_secret: String,
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
    /// The applications registered in the org (OIDC app integrations), the user pool among them.
    #[serde(default)]
    pub apps: Vec<RegisteredApplication>,
    /// The filter of the authorization server's `groups` claim; without one every group is released.
    #[serde(default)]
    pub groups_claim_filter: Option<GroupsClaimFilter>,
}

/// An Okta groups claim filter ("Starts with" is the one the stand-in implements).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupsClaimFilter {
    /// Only groups whose names start with this are released.
    pub starts_with: String,
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

impl UserPoolConfig {
    /// Makes the trigger function of `local.json` the pool's pre-token-generation trigger, run by `runtime`
    /// (the `bootstrap` of the backend's trigger binary, or an external runtime) with the function's own
    /// `environment`. Fails when `local.json` describes no trigger function or the environment is one Lambda
    /// refuses.
    pub fn use_trigger(
        &mut self,
        runtime: FunctionRuntime,
        environment: BTreeMap<String, String>,
    ) -> anyhow::Result<()> {
        let settings = self
            .trigger_function
            .clone()
            .context("local.json describes no pre_token_generation function")?;
        let function = settings.with_runtime(runtime, environment);
        function.validate()?;
        self.trigger = Some(function);
        Ok(())
    }
}

impl LocalAwsConfig {
    /// Reads the configuration files below `infra_dir` (the repository's `infra/` directory) and the policies
    /// of `infra/policies/`.
    pub fn load(infra_dir: &Path) -> anyhow::Result<LocalAwsConfig> {
        let local: files::LocalFile = read_json(&infra_dir.join("local-aws/local.json"))?;
        let pool_files = local
            .user_pools
            .iter()
            .map(|entry| read_json(&pool_file_path(infra_dir, &entry.config)?))
            .collect::<anyhow::Result<Vec<files::UserPoolFile>>>()?;
        let directories: Directories = read_json(&infra_dir.join("local-aws/directories.json"))?;
        let identity_pool: files::IdentityPoolFile =
            read_json(&infra_dir.join("config/identity-pool.json"))?;
        LocalAwsConfig::from_files(pool_files, local, directories, identity_pool, infra_dir)
    }

    fn from_files(
        pool_files: Vec<files::UserPoolFile>,
        mut local: files::LocalFile,
        directories: Directories,
        identity_pool: files::IdentityPoolFile,
        infra_dir: &Path,
    ) -> anyhow::Result<LocalAwsConfig> {
        let entries = std::mem::take(&mut local.user_pools);
        let mut pools = pool_files
            .into_iter()
            .zip(entries)
            .map(|(file, entry)| user_pool_config(file, entry))
            .collect::<anyhow::Result<Vec<LoadedPool>>>()?
            .into_iter();
        let user_pool = pools
            .next()
            .context("local.json's user_pools is empty: the tenants' pool must come first")?;
        let other_user_pools: Vec<LoadedPool> = pools.collect();
        let mut seen = std::collections::BTreeSet::new();
        for pool in std::iter::once(&user_pool).chain(&other_user_pools) {
            if !seen.insert(pool.name.as_str()) || !seen.insert(pool.user_pool_id.as_str()) {
                bail!(
                    "local.json names the user pool {:?} (id {:?}) twice",
                    pool.name,
                    pool.user_pool_id
                );
            }
            if pool.region != user_pool.region {
                bail!(
                    "user pool {:?} is in region {:?}, the tenants' pool in {:?}: the stand-ins run one region",
                    pool.name,
                    pool.region,
                    user_pool.region
                );
            }
        }
        let region = user_pool.region.clone();
        directories.validate()?;
        check_okta_org_ports(&local.ports, &directories)?;
        let dns = DnsConfig {
            zones: crate::dns::check_zones(&local.dns.zones)?,
            records: local.dns.records.clone(),
        };

        let identity_pool =
            identity_pool_config(identity_pool, &local, &user_pool.clients, infra_dir)?;
        let pool_arns: Vec<(String, String)> = std::iter::once(&user_pool)
            .chain(&other_user_pools)
            .map(|pool| {
                (
                    pool.name.clone(),
                    crate::user_pool::user_pool_arn(&region, &local.account_id, &pool.user_pool_id),
                )
            })
            .collect();
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
                    files_bucket: local.files_bucket.clone(),
                    identity_pool_id: identity_pool.id.clone(),
                },
            )
            .context("loading the backend's storage policy")?
            .with(
                crate::user_pool::COGNITO_POLICY_NAME,
                crate::user_pool::load_cognito_permissions(infra_dir, &pool_arns)?,
            ),
        };

        let operator_admin = BackendUser {
            arn: format!(
                "arn:aws:iam::{}:user/saas-reference-operator-admin",
                local.account_id
            ),
            access_key_id: local.operator_admin_key.access_key_id.clone(),
            secret_access_key: local.operator_admin_key.secret_access_key.clone(),
            permissions: crate::iam::PolicySet::new().with(
                crate::user_pool::OPERATOR_ADMIN_POLICY_NAME,
                crate::user_pool::load_pool_policy(
                    infra_dir,
                    crate::user_pool::OPERATOR_ADMIN_POLICY_FILE,
                    &pool_arns,
                )?,
            ),
        };
        if operator_admin.access_key_id == backend_user.access_key_id {
            bail!("local.json gives the operator administrators the backend's own key");
        }

        Ok(LocalAwsConfig {
            region,
            account_id: local.account_id,
            user_pool: user_pool.config,
            other_user_pools: other_user_pools
                .into_iter()
                .map(|pool| pool.config)
                .collect(),
            directories,
            federation_timeout: FEDERATION_TIMEOUT,
            ports: local.ports,
            dns,
            identity_pool,
            backend_user,
            operator_admin,
            files_bucket: local.files_bucket,
        })
    }

    /// Every user pool: the tenants' first, then the others in `local.json`'s order.
    pub fn user_pools(&self) -> impl Iterator<Item = &UserPoolConfig> {
        std::iter::once(&self.user_pool).chain(&self.other_user_pools)
    }

    /// The user pool with this logical name (`tenants`, `operators`).
    pub fn user_pool_named(&self, name: &str) -> Option<&UserPoolConfig> {
        self.user_pools().find(|pool| pool.name == name)
    }

    /// The user pool with this logical name, to change before [`crate::LocalAws::start`].
    pub fn user_pool_named_mut(&mut self, name: &str) -> Option<&mut UserPoolConfig> {
        std::iter::once(&mut self.user_pool)
            .chain(&mut self.other_user_pools)
            .find(|pool| pool.name == name)
    }
}

/// The path of a pool's file, `infra/config/<file>`: a bare file name, so that `local.json` cannot point
/// elsewhere.
fn pool_file_path(infra_dir: &Path, file: &str) -> anyhow::Result<PathBuf> {
    let plain = Path::new(file).file_name().and_then(|name| name.to_str()) == Some(file);
    if !plain || !file.ends_with(".json") {
        bail!("local.json's user pool file {file:?} must be a JSON file name of infra/config/");
    }
    Ok(infra_dir.join("config").join(file))
}

/// Refuses `local.json`'s `ports.okta_orgs` entries that name no org of `directories.json`, or its first org
/// (which listens on `ports.okta`): a misspelt org would otherwise get an ephemeral port unnoticed.
pub(crate) fn check_okta_org_ports(ports: &Ports, directories: &Directories) -> anyhow::Result<()> {
    for org in ports.okta_orgs.keys() {
        match directories
            .okta
            .iter()
            .position(|o| o.org.eq_ignore_ascii_case(org))
        {
            None => bail!(
                "local.json's ports.okta_orgs names {org:?}, which is no Okta org of directories.json"
            ),
            Some(0) => bail!(
                "local.json's ports.okta_orgs names {org:?}, the first Okta org of directories.json, which listens \
                 on ports.okta"
            ),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A pool's configuration while the whole is being checked: with the region its file states.
struct LoadedPool {
    region: String,
    config: UserPoolConfig,
}

impl std::ops::Deref for LoadedPool {
    type Target = UserPoolConfig;

    fn deref(&self) -> &UserPoolConfig {
        &self.config
    }
}

/// One pool from its file and its `local.json` entry: the app clients' settings merged with their local ids,
/// secrets and URLs, and checked the way Cognito checks them when it creates a client.
fn user_pool_config(
    pool: files::UserPoolFile,
    mut local: files::LocalUserPool,
) -> anyhow::Result<LoadedPool> {
    let pool_label = &local.name;
    let mut clients = BTreeMap::new();
    for (name, settings) in pool.app_clients {
        let local_client = local.clients.remove(&name).with_context(|| {
            format!("local.json has no client {name} in the user pool {pool_label:?}")
        })?;
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
                         attribute nor a custom attribute of the pool's file that an app client may {kind}"
                    );
                }
            }
        }
        // The pool starts without identity providers, so a client can only name the pool's own users;
        // whoever creates the providers adds them to the client with `UpdateUserPoolClient`.
        let supported_identity_providers = local_client
            .supported_identity_providers
            .unwrap_or_default();
        if let Some(provider) = supported_identity_providers
            .iter()
            .find(|p| *p != crate::user_pool::COGNITO_PROVIDER)
        {
            bail!(
                "client {name} supports identity provider {provider}, but the pool starts without identity \
                 providers: they are created through the user-pool API (CreateIdentityProvider, then \
                 UpdateUserPoolClient)"
            );
        }
        let oauth = !settings.allowed_oauth_flows.is_empty();
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
                allowed_oauth_flows_user_pool_client: oauth,
                explicit_auth_flows: settings.explicit_auth_flows,
                prevent_user_existence_errors: settings.prevent_user_existence_errors,
            },
        );
    }
    if let Some(name) = local.clients.keys().next() {
        bail!(
            "local.json has a client {name} that the user pool {pool_label:?}'s file does not declare"
        );
    }

    // The function's timeout and memory are the deployment's (the pool's file); its name and the most
    // instances the stand-in starts are local settings (`local.json`).
    let trigger_function = match (local.pre_token_generation, &pool.pre_token_generation) {
        (None, _) => None,
        (Some(local), Some(deployed)) => Some(local.into_settings(deployed)),
        (Some(_), None) => bail!(
            "local.json describes a pre_token_generation function for the user pool {pool_label:?}, whose file \
             has no pre_token_generation trigger"
        ),
    };
    if let Some(settings) = &trigger_function {
        settings
            .validate()
            .context("local.json pre_token_generation")?;
    }
    let native_users = pool.native_users.unwrap_or_default();
    native_users.validate(pool_label)?;
    Ok(LoadedPool {
        region: pool.region,
        config: UserPoolConfig {
            name: local.name,
            user_pool_id: local.user_pool_id,
            pool_name: pool.pool_name,
            sign_in_case_sensitive: pool.sign_in_case_sensitive,
            resource_server: pool.resource_server,
            custom_attributes: pool.custom_attributes,
            clients,
            trigger_function,
            trigger: None,
            authorization_code_validity: Duration::from_secs(
                pool.authorization_code_validity_seconds,
            ),
            native_users,
        },
    })
}

impl UserPoolConfig {
    /// The app client with this client id, as it is at start (the running pool's settings may have changed
    /// since, through `UpdateUserPoolClient`).
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

impl LocalAwsConfig {
    /// What the S3 stand-in serves and checks: the buckets, the upload bucket's CORS and lifecycle rules,
    /// and the permission policies of the principals that call S3.
    pub(crate) fn s3_settings(&self) -> crate::s3::S3Settings {
        crate::s3::S3Settings {
            region: self.region.clone(),
            upload_bucket: self.identity_pool.bucket.clone(),
            files_bucket: self.files_bucket.clone(),
            cors: self.identity_pool.bucket_cors.clone(),
            app_origins: self.app_origins(),
            lifecycle: self.identity_pool.bucket_lifecycle.clone(),
            permissions: vec![
                (
                    self.identity_pool.role_arn.clone(),
                    self.identity_pool.role.permissions.clone(),
                ),
                (
                    self.backend_user.arn.clone(),
                    self.backend_user.permissions.clone(),
                ),
            ],
            identity_pool_id: self.identity_pool.id.clone(),
        }
    }

    /// The origins browsers call the upload bucket from: those of the callback URLs of the app clients whose
    /// users the identity pool gives credentials to (`http://localhost:3000` for the demo's web client).
    fn app_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .identity_pool
            .client_ids
            .iter()
            .filter_map(|client_id| self.user_pool.client_by_id(client_id))
            .flat_map(|client| client.callback_urls.iter())
            .filter_map(|callback| url::Url::parse(callback).ok())
            .map(|callback| callback.origin().ascii_serialization())
            .collect();
        origins.sort();
        origins.dedup();
        origins
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
    check_principal_tags(&file.principal_tags)?;
    let mut client_ids = Vec::new();
    let mut server_side_token_check = Vec::new();
    for provider in &file.cognito_identity_providers {
        let client = clients.get(&provider.app_client).with_context(|| {
            format!(
                "identity-pool.json names the unknown app client {:?}",
                provider.app_client
            )
        })?;
        client_ids.push(client.client_id.clone());
        if provider.server_side_token_check {
            server_side_token_check.push(client.client_id.clone());
        }
    }
    let role = crate::iam::UploadRole::load(
        infra_dir,
        &crate::iam::PolicyParameters {
            bucket: file.authenticated_role.bucket.clone(),
            files_bucket: local.files_bucket.clone(),
            identity_pool_id: local.identity_pool_id.clone(),
        },
    )
    .context("loading the upload role's policies")?;
    let bucket_cors =
        crate::s3::BucketCors::load(infra_dir).context("loading the bucket's CORS rules")?;
    let bucket_lifecycle = crate::s3::BucketLifecycle::load(infra_dir)
        .context("loading the bucket's lifecycle rules")?;
    Ok(IdentityPoolConfig {
        id: local.identity_pool_id.clone(),
        name: file.identity_pool_name,
        client_ids,
        server_side_token_check,
        principal_tags: file.principal_tags,
        role_arn: format!(
            "arn:aws:iam::{}:role/{}",
            local.account_id, file.authenticated_role.name
        ),
        bucket: file.authenticated_role.bucket,
        role,
        bucket_cors,
        bucket_lifecycle: Some(bucket_lifecycle),
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

    use super::{CustomAttribute, ResourceServer};
    use crate::Ports;

    #[derive(Deserialize)]
    pub(super) struct UserPoolFile {
        pub region: String,
        pub pool_name: String,
        pub sign_in_case_sensitive: bool,
        pub resource_server: ResourceServer,
        #[serde(default)]
        pub custom_attributes: Vec<CustomAttribute>,
        pub app_clients: BTreeMap<String, ClientSettings>,
        pub authorization_code_validity_seconds: u64,
        /// Cognito's defaults when absent.
        #[serde(default)]
        pub native_users: Option<super::NativeUsers>,
        /// A pool without one issues tokens as Cognito does without a trigger.
        #[serde(default)]
        pub pre_token_generation: Option<TriggerDeployment>,
    }

    /// `user-pool.json`'s `pre_token_generation`: the trigger function as it is deployed.
    #[derive(Deserialize)]
    pub(super) struct TriggerDeployment {
        pub timeout_seconds: u64,
        pub memory_size_mb: u32,
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
        #[serde(default)]
        pub explicit_auth_flows: Vec<String>,
        #[serde(default)]
        pub prevent_user_existence_errors: bool,
        pub access_token_validity_minutes: u64,
        pub id_token_validity_minutes: u64,
        pub refresh_token_validity_days: u64,
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
        pub server_side_token_check: bool,
    }

    #[derive(Deserialize)]
    pub(super) struct AuthenticatedRole {
        pub name: String,
        pub bucket: String,
    }

    #[derive(Deserialize)]
    pub(super) struct LocalFile {
        pub user_pools: Vec<LocalUserPool>,
        pub identity_pool_id: String,
        pub account_id: String,
        pub backend_s3_key: BackendS3Key,
        pub operator_admin_key: BackendS3Key,
        pub files_bucket: String,
        pub ports: Ports,
        /// The DNS stand-in's zones; none when absent.
        #[serde(default)]
        pub dns: super::DnsConfig,
    }

    /// An entry of `local.json`'s `user_pools`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct LocalUserPool {
        /// The logical name (`tenants`, `operators`).
        pub name: String,
        /// The pool's file in `infra/config/`.
        pub config: String,
        pub user_pool_id: String,
        pub clients: BTreeMap<String, LocalClient>,
        pub pre_token_generation: Option<TriggerFunction>,
    }

    /// `local.json`'s `pre_token_generation`: the trigger function's local settings. `max_instances` caps the
    /// processes the stand-in starts (as a reserved concurrency would; the deployed function has none).
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct TriggerFunction {
        pub function_name: String,
        pub max_instances: u32,
    }

    impl TriggerFunction {
        pub(super) fn into_settings(
            self,
            deployed: &TriggerDeployment,
        ) -> crate::lambda::FunctionSettings {
            crate::lambda::FunctionSettings {
                timeout: std::time::Duration::from_secs(deployed.timeout_seconds),
                memory_size_mb: deployed.memory_size_mb,
                reserved_concurrency: self.max_instances,
                ..crate::lambda::FunctionSettings::new(self.function_name)
            }
        }
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
        /// Optional: the client's providers at start; only `COGNITO` can be named, since the pool starts
        /// without identity providers (default: none).
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

    /// Loads the demo world after `change` edits the raw `user-pool.json` and the tenants pool's entry of
    /// `local.json`.
    fn load_changed(change: impl FnOnce(&mut Value, &mut Value)) -> anyhow::Result<LocalAwsConfig> {
        let mut pool = file("config/user-pool.json");
        let mut local = file("local-aws/local.json");
        change(&mut pool, &mut local["user_pools"][0]);
        let mut pools = vec![serde_json::from_value(pool).unwrap()];
        for entry in local["user_pools"].as_array().unwrap().iter().skip(1) {
            let name = entry["config"].as_str().unwrap();
            pools.push(serde_json::from_value(file(&format!("config/{name}"))).unwrap());
        }
        LocalAwsConfig::from_files(
            pools,
            serde_json::from_value(local).unwrap(),
            serde_json::from_value(file("local-aws/directories.json")).unwrap(),
            serde_json::from_value(file("config/identity-pool.json")).unwrap(),
            &infra_dir(),
        )
    }

    #[test]
    fn the_app_origins_are_the_web_clients_callback_origins() {
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        assert_eq!(config.app_origins(), vec!["http://localhost:3000"]);
    }

    #[test]
    fn loads_the_demo_world() {
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        assert_eq!(config.region, "eu-west-1");
        let web = &config.user_pool.clients["web"];
        assert!(web.allows_flow("code"));
        assert!(!web.allows_flow("implicit"));
        assert!(
            web.supported_identity_providers.is_empty(),
            "the pool starts without identity providers"
        );
        assert_eq!(web.explicit_auth_flows, vec!["ALLOW_REFRESH_TOKEN_AUTH"]);
        assert!(web.prevent_user_existence_errors);
        assert_eq!(web.access_token_validity, Duration::from_secs(3600));
        assert!(
            web.write_attributes
                .contains(&"custom:idp_groups".to_owned())
        );
        assert!(
            config.user_pool.clients["machine"]
                .supported_identity_providers
                .is_empty()
        );
        let acme = &config.directories.entra[0];
        assert_eq!(acme.apps[0].client_secret, "local-demo-acme-entra-secret");
        assert_eq!(
            config.directories.okta[0].apps[0].client_id,
            "0oaglobex0client0id"
        );
        assert_eq!(
            config
                .backend_user
                .permissions
                .policies()
                .map(|(name, _)| name)
                .collect::<Vec<_>>(),
            vec!["backend-storage-permissions", "backend-cognito-permissions"]
        );
        assert_eq!(
            config.user_pool.resource_server.qualified_scopes(),
            vec!["saas-api/read", "saas-api/write", "saas-api/admin"]
        );
        assert!(config.user_pool.declares_attribute("custom:idp_groups"));
        assert!(config.user_pool.declares_attribute("email_verified"));
        assert!(!config.user_pool.declares_attribute("custom:tenant_id"));
        assert!(!config.user_pool.declares_attribute("username"));
        assert_eq!(
            config.user_pool.authorization_code_validity,
            Duration::from_secs(300)
        );
        assert!(
            config.user_pool.trigger.is_none(),
            "what runs the trigger comes from the caller"
        );
        let trigger = config.user_pool.trigger_function.as_ref().unwrap();
        // As deployed (user-pool.json), not a local choice.
        assert_eq!(trigger.timeout, Duration::from_secs(5));
        assert_eq!(trigger.memory_size_mb, 256);
        assert!(
            trigger.reserved_concurrency >= 3,
            "room for Cognito's retries"
        );
    }

    #[test]
    fn every_okta_org_gets_a_port_and_the_dns_zones_are_loaded() {
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        let orgs: Vec<&str> = config
            .directories
            .okta
            .iter()
            .map(|org| org.org.as_str())
            .collect();
        assert_eq!(orgs, ["globex", "initech"]);
        assert_eq!(config.ports.okta_orgs["initech"], 9240);
        assert_eq!((config.ports.dns, config.ports.dns_admin), (9238, 9239));
        assert_eq!(
            config.dns.zones,
            ["acme.example", "globex.example", "initech.example"]
        );
        let initech = config.directories.okta_org("Initech").unwrap();
        assert_eq!(initech.apps[0].client_id, "0oainitech0client0id");
        assert!(
            config
                .directories
                .entra
                .iter()
                .any(|d| d.verified_domains == ["initech.example"])
        );
    }

    #[test]
    fn orgs_and_directories_named_twice_and_ports_of_unknown_orgs_are_refused() {
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        let mut twice = config.directories.clone();
        let mut copy = twice.okta[1].clone();
        copy.org = "INITECH".into();
        twice.okta.push(copy);
        assert!(twice.validate().unwrap_err().to_string().contains("twice"));
        let mut twice = config.directories.clone();
        twice.entra.push(twice.entra[0].clone());
        assert!(twice.validate().is_err());
        for bad in ["", "init tech", "-initech", "initech.okta.com"] {
            let mut named = config.directories.clone();
            named.okta[1].org = bad.into();
            assert!(named.validate().is_err(), "{bad:?}");
        }

        let mut ports = config.ports.clone();
        ports.okta_orgs.insert("umbrella".into(), 9241);
        let error = check_okta_org_ports(&ports, &config.directories).unwrap_err();
        assert!(error.to_string().contains("umbrella"), "{error}");
        let mut ports = config.ports.clone();
        ports.okta_orgs.insert("globex".into(), 9241);
        let error = check_okta_org_ports(&ports, &config.directories).unwrap_err();
        assert!(error.to_string().contains("ports.okta"), "{error}");
        assert!(check_okta_org_ports(&config.ports, &config.directories).is_ok());
    }

    #[test]
    fn the_operators_pool_is_configuration_beside_the_tenants_pool() {
        let config = LocalAwsConfig::load(&infra_dir()).unwrap();
        assert_eq!(config.user_pool.name, "tenants");
        let names: Vec<&str> = config.user_pools().map(|pool| pool.name.as_str()).collect();
        assert_eq!(names, ["tenants", "operators"]);
        let operators = config.user_pool_named("operators").unwrap();
        assert_ne!(operators.user_pool_id, config.user_pool.user_pool_id);
        assert!(operators.trigger_function.is_none());
        let console = &operators.clients["console"];
        assert!(console.allows_flow("code"));
        assert_eq!(console.supported_identity_providers, ["COGNITO"]);
        assert_eq!(
            operators.resource_server.qualified_scopes(),
            ["saas-operator-api/operate"]
        );
        // The identity pool serves the tenants' pool only.
        assert!(
            config
                .identity_pool
                .client_ids
                .iter()
                .all(|id| operators.client_by_id(id).is_none())
        );
    }

    #[test]
    fn a_pool_file_outside_infra_config_a_pool_named_twice_and_an_undeclared_client_are_refused() {
        let infra = infra_dir();
        for name in [
            "../local-aws/local.json",
            "/etc/passwd",
            "user-pool.yaml",
            "",
        ] {
            assert!(pool_file_path(&infra, name).is_err(), "{name}");
        }
        assert_eq!(
            pool_file_path(&infra, "operator-pool.json").unwrap(),
            infra.join("config/operator-pool.json")
        );

        let error = load_changed(|_, tenants| tenants["name"] = json!("operators")).unwrap_err();
        assert!(error.to_string().contains("twice"), "{error}");

        let error = load_changed(|_, tenants| {
            tenants["clients"]["stray"] = json!({"client_id": "x", "callback_urls": []});
        })
        .unwrap_err();
        assert!(error.to_string().contains("stray"), "{error}");
    }

    #[test]
    fn principal_tag_mappings_beyond_the_session_tag_limits_are_refused() {
        let tags = |entries: Vec<(String, String)>| entries.into_iter().collect::<BTreeMap<_, _>>();
        assert!(
            check_principal_tags(&tags(vec![("tenant_id".into(), "tenant_id".into())])).is_ok()
        );
        let fifty_one = (0..51)
            .map(|i| (format!("t{i}"), "sub".to_owned()))
            .collect();
        assert!(check_principal_tags(&tags(fifty_one)).is_err());
        let fifty = (0..50)
            .map(|i| (format!("t{i}"), "sub".to_owned()))
            .collect();
        assert!(check_principal_tags(&tags(fifty)).is_ok());
        for bad in ["".to_owned(), "k".repeat(129), "tenant<id>".to_owned()] {
            assert!(
                check_principal_tags(&tags(vec![(bad.clone(), "sub".into())])).is_err(),
                "{bad}"
            );
        }
        assert!(check_principal_tags(&tags(vec![("k".repeat(128), "sub".into())])).is_ok());
        for bad in ["".to_owned(), "c".repeat(257)] {
            assert!(
                check_principal_tags(&tags(vec![("t".into(), bad.clone())])).is_err(),
                "{bad}"
            );
        }
        // 460 bytes of attribute names in all, not one more.
        let names = |total: usize| {
            (0..2)
                .map(|i| (format!("t{i}"), "a".repeat(total / 2 + i * (total % 2))))
                .collect()
        };
        assert!(check_principal_tags(&tags(names(460))).is_ok());
        assert!(check_principal_tags(&tags(names(461))).is_err());
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
        for (name, client) in &config.user_pool.clients {
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
    fn a_client_can_name_no_identity_provider_at_start_but_cognito() {
        let error = load_changed(|_, local| {
            local["clients"]["web"]["supported_identity_providers"] = json!(["acme-entra"]);
        })
        .unwrap_err();
        assert!(error.to_string().contains("acme-entra"), "{error}");
        let config = load_changed(|_, local| {
            local["clients"]["web"]["supported_identity_providers"] = json!(["COGNITO"]);
        })
        .unwrap();
        assert_eq!(
            config.user_pool.clients["web"].supported_identity_providers,
            vec!["COGNITO"]
        );
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
