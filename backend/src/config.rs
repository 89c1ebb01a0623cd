//! The backend's configuration: one [`Config`] read from environment variables, with defaults for local development.
//!
//! Tests and embedders build a [`Config`] directly (start from [`Config::local_defaults`] and change fields);
//! the binary reads it with [`Config::from_env`].
//!
//! The defaults point at the local stand-ins and carry their published demo secrets. They are good only for
//! development on this machine: when `PUBLIC_URL` is anything but plain-http localhost or an AWS endpoint is
//! not a stand-in on this machine ([`Config::is_local_development`]), every setting that has a local default
//! must be set explicitly, any value published in this repository (demo client ids and secrets, local
//! passwords, the stand-ins' key, pool ids and bucket) is refused even when set, and the endpoints must be
//! https URLs off this machine ([`ConfigError::NotForProduction`] lists every offending variable at once). The commands without a `PUBLIC_URL` to go by (`backend migrate`, the trigger function) refuse a
//! published password for any database beyond this machine ([`refuse_published_database_passwords`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore as _;
use thiserror::Error;
use url::Url;

/// The local demo web client of the user-pool stand-in (`infra/local-aws/local.json`).
const LOCAL_WEB_CLIENT_ID: &str = "3n4k1ocal0web0c1ient0id00";
/// The local demo web client's secret (a published demo value, only ever accepted by the local stand-in).
const LOCAL_WEB_CLIENT_SECRET: &str = "local-demo-web-client-secret-not-for-production";
/// The local user pool's id (`infra/local-aws/local.json`), the last segment of the default issuer.
const LOCAL_USER_POOL_ID: &str = "eu-west-1_L0caLP00l";
/// The local operators' pool's id (`infra/local-aws/local.json`), the last segment of the default operator
/// issuer.
pub(crate) const LOCAL_OPERATOR_USER_POOL_ID: &str = "eu-west-1_L0caL0pera";
/// The local operators' console client of the stand-in (`infra/local-aws/local.json`).
const LOCAL_CONSOLE_CLIENT_ID: &str = "4c0ns0le0loca10c1ient0id0";
/// The local console client's secret (a published demo value, only ever accepted by the local stand-in).
const LOCAL_CONSOLE_CLIENT_SECRET: &str = "local-demo-console-client-secret-not-for-production";

/// Client ids published in this repository: the user-pool stand-in's app clients
/// (`infra/local-aws/local.json`) and the demo tenants' registrations at their identity providers
/// (`infra/tenants/demo.json`). A test checks that the list covers those files.
const PUBLISHED_CLIENT_IDS: [&str; 7] = [
    LOCAL_WEB_CLIENT_ID,
    "6m2ch1ne0loca10c1ient0id0",
    LOCAL_CONSOLE_CLIENT_ID,
    "9a1b2c3d-4e5f-4a6b-8c7d-ac3e0000c11e",
    "0oaglobex0client0id",
    "0oainitech0client0id",
    "5e6f7a8b-9c0d-4e1f-a2b3-1a17ec00c11e",
];

/// Secrets and passwords published in this repository, which anyone can read and so protect nothing: the
/// stand-ins' client secrets and backend key (`infra/local-aws/local.json`), the demo identity providers'
/// client secrets (`infra/tenants/demo.json`) and users' password (`infra/local-aws/directories.json`), the
/// default database password and those of `cargo xtask dev`. A test checks that the list covers those files.
const PUBLISHED_SECRETS: [&str; 13] = [
    LOCAL_WEB_CLIENT_SECRET,
    "local-demo-operator-admin-secret-not-for-production",
    "local-demo-machine-client-secret-not-for-production",
    LOCAL_CONSOLE_CLIENT_SECRET,
    LOCAL_SECRET_ACCESS_KEY,
    "local-demo-acme-entra-secret",
    "local-demo-globex-okta-secret",
    "local-demo-initech-okta-secret",
    "local-demo-initech-entra-secret",
    "Passw0rd!",
    LOCAL_DATABASE_PASSWORD,
    "local-dev-app-password",
    "local-dev-owner-password",
];

/// The shortest `SESSION_ENCRYPTION_KEY` accepted when it is not base64 of 32 bytes: 43 characters, so that a
/// random alphanumeric string (what AWS Secrets Manager generates) carries at least 256 bits.
pub const MIN_SESSION_SECRET_CHARS: usize = 43;
/// The longest `SESSION_IDLE_MINUTES` accepted (30 days).
pub const MAX_SESSION_IDLE_MINUTES: i64 = 30 * 24 * 60;
/// The longest `SESSION_ABSOLUTE_HOURS` accepted (90 days).
pub const MAX_SESSION_ABSOLUTE_HOURS: i64 = 90 * 24;

/// The longest `SIGN_IN_REVOCATION_DAYS` accepted (Cognito's longest refresh-token validity, 10 years).
pub const MAX_SIGN_IN_REVOCATION_DAYS: i64 = 3650;
/// The most `SIGN_IN_STARTS_PER_MINUTE` accepted.
pub const MAX_SIGN_IN_STARTS_PER_MINUTE: i64 = 10_000;
/// The longest `SHUTDOWN_GRACE_SECONDS` accepted (an hour).
pub const MAX_SHUTDOWN_GRACE_SECONDS: i64 = 3600;

/// Everything the backend needs to know about its environment.
///
/// Secrets are held in [`Secret`], whose `Debug` output is redacted, so logging a `Config` leaks nothing.
#[derive(Clone, Debug)]
pub struct Config {
    /// `BIND_ADDR`: the socket address the HTTP server listens on. Default `127.0.0.1:3000`.
    pub bind_addr: SocketAddr,
    /// `PUBLIC_URL`: the URL browsers use to reach the app. Its origin is the cookie origin and the origin
    /// the CSRF check expects; the OAuth callback is `<PUBLIC_URL>/auth/callback`.
    /// Default `http://localhost:3000`.
    pub public_url: Url,
    /// `DATABASE_URL`: Postgres URL of the application's login role (member of `saas_app`: neither owner nor
    /// superuser, so row-level security applies). Default: the local development database.
    /// `DATABASE_PASSWORD`, when set, is the password (so the URL itself need not be secret; deployments
    /// inject the password from a secret store).
    pub database_url: Secret,
    /// `DATABASE_MAX_CONNECTIONS`: size of the application's connection pool. Default `10`.
    pub database_max_connections: u32,
    /// `COGNITO_ISSUER`: the user pool's issuer (`https://cognito-idp.<region>.amazonaws.com/<userPoolId>`);
    /// discovery and JWKS are read below it. Default: the local stand-in,
    /// `http://127.0.0.1:9229/eu-west-1_L0caLP00l`.
    pub cognito_issuer: Url,
    /// `COGNITO_AUTH_DOMAIN`: the user pool's hosted domain, where `/oauth2/revoke` and `/logout` live
    /// (`https://<prefix>.auth.<region>.amazoncognito.com`). Default: the local stand-in, `http://127.0.0.1:9230`.
    pub cognito_auth_domain: Url,
    /// `COGNITO_CLIENT_ID`: the confidential web app client the backend signs users in with.
    /// Default: the local demo web client.
    pub cognito_client_id: String,
    /// `COGNITO_CLIENT_SECRET`: that client's secret. Default: the local demo web client's secret.
    pub cognito_client_secret: Secret,
    /// `API_CLIENT_IDS`: further app client ids whose access tokens the API accepts as bearer tokens
    /// (comma-separated). The web client is always accepted. Default: none.
    pub api_client_ids: Vec<String>,
    /// `RESOURCE_SERVER_ID`: the user pool resource server whose scopes (`<id>/read|write|admin`) the API
    /// understands. Default `saas-api`.
    pub resource_server_id: String,
    /// `COGNITO_IDP_ENDPOINT`: the user-pool API (`cognito-idp`), through which the backend keeps the pool's
    /// tenant identity providers in step with the database; `aws` means the real service's regional endpoint.
    /// Default: the local stand-in, `http://127.0.0.1:9229`.
    pub cognito_idp_endpoint: Option<Url>,
    /// The operators' own user pool and the console client they sign in through (`OPERATOR_COGNITO_*`).
    pub operators: OperatorPoolConfig,
    /// `IDP_RECONCILE_MINUTES`: how often `backend serve` reconciles the user pool's identity providers with
    /// the database (also once at start-up); `0` turns the periodic run off. Default `5`.
    pub idp_reconcile_interval: Option<std::time::Duration>,
    /// The backend's own AWS key for S3 and the user-pool API. From `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) when set; otherwise the local stand-ins' backend key
    /// while every AWS endpoint is a local stand-in, and `None` (the default credential chain: the task or
    /// instance role) as soon as one is `aws`.
    pub aws_credentials: Option<AwsKey>,
    /// `SESSION_ENCRYPTION_KEY`: the AES-256-GCM key that encrypts the tokens kept in the session store: base64
    /// of 32 random bytes (`openssl rand -base64 32`), or a random string of at least
    /// [`MIN_SESSION_SECRET_CHARS`] characters (as generated by AWS Secrets Manager), from which the key is
    /// derived with SHA-256. When unset and `PUBLIC_URL` is a plain-http localhost URL, a random key is made
    /// per process (sessions do not survive a restart) with a warning; anywhere else start-up fails.
    pub session_encryption_key: SessionKey,
    /// `SESSION_IDLE_MINUTES`: a session unused for this long expires. Default `30`.
    pub session_idle: time::Duration,
    /// `SESSION_ABSOLUTE_HOURS`: a session expires this long after sign-in, however active. Default `12`.
    pub session_absolute: time::Duration,
    /// `SIGN_IN_REVOCATION_DAYS`: how long a revoked sign-in stays on the revocation list: at least the
    /// longest refresh-token validity of any app client whose tokens the API accepts, since every token
    /// refreshed from a sign-in carries its `origin_jti`. Default `30` (`infra/config/user-pool.json`'s
    /// longest).
    pub sign_in_revocation: time::Duration,
    /// `SIGN_IN_STARTS_PER_MINUTE`: how many sign-ins (`GET /auth/login`) one client address may start per
    /// minute on one backend instance, with as many at once; beyond that the answer is 429 with `Retry-After`.
    /// Default `20`.
    pub sign_in_starts_per_minute: u32,
    /// `WEB_DIST_DIR`: the built web app, served with `index.html` as the fallback for client routes.
    /// Default `frontend/dist`.
    pub web_dist_dir: PathBuf,
    /// `COOKIE_SECURE`: whether the session cookie carries `Secure`. Default `true`, except when `PUBLIC_URL`
    /// is plain-http `localhost` or `127.0.0.1` (browsers drop `Secure` cookies there).
    pub cookie_secure: bool,
    /// `TRUST_X_FORWARDED_FOR`: whether the client address recorded in the audit log is the last entry of
    /// `X-Forwarded-For` (set it only behind a proxy or load balancer that appends that header, such as an
    /// AWS ALB; otherwise clients could write whatever address they like). Default `false`: the TCP peer.
    pub trust_x_forwarded_for: bool,
    /// `TRUSTED_PROXY_CIDRS`: networks of proxies of our own in front of the load balancer (comma-separated
    /// CIDRs; on AWS the VPC, where API Gateway's VPC link connects from). When the address the load balancer
    /// appended lies in one, the client is the one that proxy appended to `Forwarded`. Default: none.
    pub trusted_proxy_networks: Vec<ipnet::IpNet>,
    /// Where uploads go: the identity pool that vends browser credentials and the S3 bucket.
    pub storage: StorageConfig,
    /// `SHUTDOWN_GRACE_SECONDS`: after SIGTERM (or Ctrl-C) the server stops accepting connections and lets the
    /// requests in flight finish for at most this long, then stops anyway. Default `20`, within the 30 seconds
    /// ECS waits before it kills a task.
    pub shutdown_grace: std::time::Duration,
    /// Self-serve SSO: where domain proofs are looked up and provider URLs may point (`DNS_RESOLVER`, ...).
    pub sso: SsoConfig,
}

/// The settings of self-serve SSO set-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoConfig {
    /// `DNS_RESOLVER`: the name server (`ip:port`, UDP and TCP) that domain proofs (TXT records) are looked up
    /// at; `system` for the machine's resolvers (`/etc/resolv.conf`). Default: the local DNS stand-in,
    /// `127.0.0.1:9238`, in local development; the system's resolvers anywhere else.
    pub dns_resolver: Option<SocketAddr>,
    /// `ENTRA_AUTHORITY`: the Microsoft Entra ID authority an Entra directory's issuer is built on
    /// (`<authority>/<directory id>/v2.0`). Default `https://login.microsoftonline.com`; in local development
    /// the mock Entra ID, `http://127.0.0.1:9231`.
    pub entra_authority: Url,
    /// `SSO_ALLOW_PRIVATE_ADDRESSES`: whether the provider URLs an IT admin enters may lead to loopback or
    /// private addresses (the local stand-ins). Default: `true` in local development only; refused elsewhere,
    /// where it would let anyone with a set-up link make the backend call into its own network.
    pub allow_private_addresses: bool,
    /// `SETUP_LINK_DAYS`: how long a set-up link stays valid when its creator does not say. Default `7`.
    pub setup_link_validity: time::Duration,
    /// `DOMAIN_RECHECK_HOURS`: how often a proven domain's record is looked up again; `0` turns the periodic
    /// re-check off. Default `24`.
    pub domain_recheck_interval: Option<std::time::Duration>,
    /// `DOMAIN_LAPSE_DAYS`: how long a proven domain's record may be missing at every re-check before the
    /// domain lapses (stops routing). Default `7`.
    pub domain_lapse_after: time::Duration,
}

impl SsoConfig {
    /// The local development settings: the DNS and Entra stand-ins, private addresses allowed.
    pub fn local() -> SsoConfig {
        SsoConfig {
            dns_resolver: Some(SocketAddr::from(([127, 0, 0, 1], 9238))),
            entra_authority: literal_url("http://127.0.0.1:9231"),
            allow_private_addresses: true,
            ..SsoConfig::production()
        }
    }

    /// The settings away from this machine: the system's resolvers, Microsoft's authority, public addresses.
    pub fn production() -> SsoConfig {
        SsoConfig {
            dns_resolver: None,
            entra_authority: literal_url("https://login.microsoftonline.com"),
            allow_private_addresses: false,
            setup_link_validity: time::Duration::days(7),
            domain_recheck_interval: Some(std::time::Duration::from_secs(24 * 3600)),
            domain_lapse_after: time::Duration::days(7),
        }
    }
}

/// The longest `SETUP_LINK_DAYS` accepted.
pub const MAX_SETUP_LINK_DAYS: i64 = 30;

/// The platform operators' user pool, separate from the tenants' one: native accounts with MFA, and the
/// console's confidential client, through which the backend signs operators in to `/operator`.
#[derive(Clone, Debug)]
pub struct OperatorPoolConfig {
    /// `OPERATOR_COGNITO_ISSUER`: the operators' pool's issuer. Default: the local stand-in,
    /// `http://127.0.0.1:9229/eu-west-1_L0caL0pera`.
    pub issuer: Url,
    /// `OPERATOR_COGNITO_AUTH_DOMAIN`: the operators' pool's own hosted domain (its managed login, `/logout`,
    /// `/oauth2/revoke`). Default: the local stand-in, `http://127.0.0.1:9236`.
    pub auth_domain: Url,
    /// `OPERATOR_COGNITO_CLIENT_ID`: the console client. Default: the local demo console client.
    pub client_id: String,
    /// `OPERATOR_COGNITO_CLIENT_SECRET`: its secret. Default: the local demo console client's secret.
    pub client_secret: Secret,
    /// `OPERATOR_RESOURCE_SERVER_ID`: the operators' pool's resource server, whose `<id>/operate` scope every
    /// operator route requires. Default `saas-operator-api` (`infra/config/operator-pool.json`).
    pub resource_server_id: String,
}

impl OperatorPoolConfig {
    /// The stand-in's operators' pool and its demo console client.
    pub fn local() -> OperatorPoolConfig {
        OperatorPoolConfig {
            issuer: literal_url("http://127.0.0.1:9229/eu-west-1_L0caL0pera"),
            auth_domain: literal_url("http://127.0.0.1:9236"),
            client_id: LOCAL_CONSOLE_CLIENT_ID.to_owned(),
            client_secret: Secret::new(LOCAL_CONSOLE_CLIENT_SECRET),
            resource_server_id: "saas-operator-api".to_owned(),
        }
    }

    /// The scope every operator route requires: `<resource server>/operate`.
    pub fn operate_scope(&self) -> String {
        format!("{}/operate", self.resource_server_id)
    }

    /// A URL on the operators' pool's hosted domain (`oauth2/revoke`, `logout`).
    pub fn auth_domain_url(&self, path: &str) -> Url {
        join(&self.auth_domain, path)
    }

    /// The operators' pool id: the last path segment of the issuer.
    pub fn user_pool_id(&self) -> Option<&str> {
        self.issuer
            .path_segments()?
            .rfind(|segment| !segment.is_empty())
    }
}

/// The upload storage: the Cognito identity pool that vends browser credentials, and the S3 bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// `AWS_REGION`: the region of the identity pool and the bucket. Default `eu-west-1`.
    pub region: String,
    /// `IDENTITY_POOL_ID`: the identity pool (`<region>:<uuid>`). Default: the local stand-in's.
    pub identity_pool_id: String,
    /// `IDENTITY_POOL_ENDPOINT`: the identity pool's endpoint; `aws` means the real service's regional
    /// endpoint. Default: the local stand-in, `http://127.0.0.1:9233`.
    pub identity_pool_endpoint: Option<Url>,
    /// `UPLOAD_BUCKET`: the bucket browsers upload into. Default `saas-reference-uploads`.
    pub bucket: String,
    /// `FILES_BUCKET`: the bucket recorded files are copied into, which only the backend writes; never the
    /// upload bucket. Default `saas-reference-files`.
    pub files_bucket: String,
    /// `S3_ENDPOINT`: the S3 endpoint (path-style); `aws` means the real service. Default: the local stand-in,
    /// `http://127.0.0.1:9234`. Browsers are sent to the same endpoint.
    pub s3_endpoint: Option<Url>,
}

/// A static AWS access key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKey {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
}

impl AwsKey {
    /// The local stand-ins' long-term key for the backend (`infra/local-aws/local.json`), a demo secret.
    pub fn local() -> AwsKey {
        AwsKey::long_term(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
    }

    /// A long-term key (no session token).
    pub fn long_term(access_key_id: impl Into<String>, secret: impl Into<String>) -> AwsKey {
        AwsKey {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret),
            session_token: None,
        }
    }
}

impl StorageConfig {
    /// The local stand-ins' storage settings (`infra/config/identity-pool.json`, `infra/local-aws/local.json`).
    pub fn local() -> StorageConfig {
        StorageConfig {
            region: "eu-west-1".to_owned(),
            identity_pool_id: LOCAL_IDENTITY_POOL_ID.to_owned(),
            identity_pool_endpoint: Some(literal_url("http://127.0.0.1:9233")),
            bucket: LOCAL_UPLOAD_BUCKET.to_owned(),
            files_bucket: LOCAL_FILES_BUCKET.to_owned(),
            s3_endpoint: Some(literal_url("http://127.0.0.1:9234")),
        }
    }
}

/// The S3 stand-in's bucket (`infra/config/identity-pool.json`). Bucket names are global: on AWS this one may
/// belong to anybody, so a deployment never uses it (its buckets are named after its environment and account).
const LOCAL_UPLOAD_BUCKET: &str = "saas-reference-uploads";
/// The local stand-in's files bucket (`files_bucket` in `infra/local-aws/local.json`).
const LOCAL_FILES_BUCKET: &str = "saas-reference-files";
/// The local identity pool's id (`infra/local-aws/local.json`).
const LOCAL_IDENTITY_POOL_ID: &str = "eu-west-1:10ca1000-0000-4000-8000-000000000001";
/// The local stand-ins' key for the backend (`infra/local-aws/local.json`); a demo secret for 127.0.0.1.
const LOCAL_ACCESS_KEY_ID: &str = "AKIALOCALBACKEND0001";
/// Its secret.
const LOCAL_SECRET_ACCESS_KEY: &str = "local-demo-backend-s3-secret-not-for-production";
/// The local development database URL.
const LOCAL_DATABASE_URL: &str = "postgres://saas_api:saas_api_local_password@127.0.0.1:5432/saas";
/// Its password.
const LOCAL_DATABASE_PASSWORD: &str = "saas_api_local_password";

/// A configuration value that must never appear in logs: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

/// The 32-byte key that encrypts tokens at rest in the session store. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SessionKey(bytes)
    }

    /// A fresh random key (sessions encrypted with it die with the process).
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SessionKey(bytes)
    }

    /// Parses `SESSION_ENCRYPTION_KEY`: base64 (standard alphabet, padded) of exactly 32 bytes, or a random
    /// string of at least [`MIN_SESSION_SECRET_CHARS`] characters whose SHA-256 digest is the key. A string of
    /// that length carries 256 bits only if it was drawn at random, which is what secret stores generate; a
    /// chosen passphrase is no key, and the documentation says so.
    pub fn from_setting(value: &str) -> Result<Self, ConfigError> {
        let value = value.trim();
        if let Ok(bytes) = BASE64.decode(value)
            && let Ok(bytes) = <[u8; 32]>::try_from(bytes)
        {
            return Ok(SessionKey(bytes));
        }
        if value.chars().count() >= MIN_SESSION_SECRET_CHARS {
            use sha2::Digest as _;
            return Ok(SessionKey(sha2::Sha256::digest(value.as_bytes()).into()));
        }
        Err(ConfigError::Invalid {
            name: "SESSION_ENCRYPTION_KEY",
            reason: format!(
                "must be base64 of exactly 32 bytes (generate one with `openssl rand -base64 32`) or a \
                 random string of at least {MIN_SESSION_SECRET_CHARS} characters"
            ),
        })
    }

    /// The key bytes, for the cipher.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

/// Why the configuration could not be read.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A variable is set to a value that cannot be used.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Outside local development (see [`Config::is_local_development`]), settings were left at their local
    /// defaults or hold demo values. Every offending variable is listed with what is wrong.
    #[error(
        "PUBLIC_URL is not a plain-http localhost URL or an AWS endpoint is not a local stand-in, so the local \
         development defaults and the values published in this repository are refused; fix these variables: {}",
        .0.iter().map(|(name, why)| format!("{name} ({why})")).collect::<Vec<_>>().join("; ")
    )]
    NotForProduction(Vec<(&'static str, &'static str)>),
    /// A database beyond this machine is to be reached with a password published in this repository (for the
    /// commands that have no `PUBLIC_URL` to go by). Every offending variable is listed.
    #[error(
        "a database beyond this machine must not be reached with a password published in this repository; \
         fix these variables: {}",
        .0.join(", ")
    )]
    PublishedDatabasePassword(Vec<&'static str>),
}

impl Config {
    /// The local development configuration: every default, and a random session key.
    pub fn local_defaults() -> Config {
        let public_url = literal_url("http://localhost:3000");
        Config {
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            cookie_secure: !is_plain_http_localhost(&public_url),
            trust_x_forwarded_for: false,
            trusted_proxy_networks: Vec::new(),
            storage: StorageConfig::local(),
            shutdown_grace: std::time::Duration::from_secs(20),
            sso: SsoConfig::local(),
            public_url,
            database_url: Secret::new(LOCAL_DATABASE_URL),
            database_max_connections: 10,
            cognito_issuer: literal_url("http://127.0.0.1:9229/eu-west-1_L0caLP00l"),
            cognito_auth_domain: literal_url("http://127.0.0.1:9230"),
            cognito_client_id: LOCAL_WEB_CLIENT_ID.to_owned(),
            cognito_client_secret: Secret::new(LOCAL_WEB_CLIENT_SECRET),
            api_client_ids: Vec::new(),
            resource_server_id: "saas-api".to_owned(),
            cognito_idp_endpoint: Some(literal_url("http://127.0.0.1:9229")),
            operators: OperatorPoolConfig::local(),
            idp_reconcile_interval: Some(std::time::Duration::from_secs(5 * 60)),
            aws_credentials: Some(AwsKey::local()),
            session_encryption_key: SessionKey::random(),
            session_idle: time::Duration::minutes(30),
            session_absolute: time::Duration::hours(12),
            sign_in_revocation: time::Duration::days(30),
            sign_in_starts_per_minute: 20,
            web_dist_dir: PathBuf::from("frontend/dist"),
        }
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Reads the configuration through `lookup` (variable name → value), so it can be tested without
    /// touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::local_defaults();
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let bind_addr = match get("BIND_ADDR") {
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                name: "BIND_ADDR",
                reason: format!("`{value}` is not a socket address such as 127.0.0.1:3000"),
            })?,
            None => defaults.bind_addr,
        };
        let public_url = match get("PUBLIC_URL") {
            Some(value) => parse_origin_url("PUBLIC_URL", &value)?,
            None => defaults.public_url,
        };
        let database_url = database_url_from(&get, "DATABASE_URL", "DATABASE_PASSWORD")?
            .unwrap_or(defaults.database_url);
        let database_max_connections = match get("DATABASE_MAX_CONNECTIONS") {
            Some(value) => {
                value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "DATABASE_MAX_CONNECTIONS",
                        reason: format!("`{value}` is not a positive number"),
                    })?
            }
            None => defaults.database_max_connections,
        };
        let cognito_issuer = match get("COGNITO_ISSUER") {
            Some(value) => parse_url("COGNITO_ISSUER", &value)?,
            None => defaults.cognito_issuer,
        };
        let cognito_auth_domain = match get("COGNITO_AUTH_DOMAIN") {
            Some(value) => parse_origin_url("COGNITO_AUTH_DOMAIN", &value)?,
            None => defaults.cognito_auth_domain,
        };
        let cognito_client_id = get("COGNITO_CLIENT_ID").unwrap_or(defaults.cognito_client_id);
        let cognito_client_secret = get("COGNITO_CLIENT_SECRET")
            .map(Secret::new)
            .unwrap_or(defaults.cognito_client_secret);
        let api_client_ids = get("API_CLIENT_IDS")
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let resource_server_id = get("RESOURCE_SERVER_ID").unwrap_or(defaults.resource_server_id);
        let cognito_idp_endpoint =
            endpoint_from(&get, "COGNITO_IDP_ENDPOINT", defaults.cognito_idp_endpoint)?;
        let operators = OperatorPoolConfig {
            issuer: match get("OPERATOR_COGNITO_ISSUER") {
                Some(value) => parse_url("OPERATOR_COGNITO_ISSUER", &value)?,
                None => defaults.operators.issuer,
            },
            auth_domain: match get("OPERATOR_COGNITO_AUTH_DOMAIN") {
                Some(value) => parse_origin_url("OPERATOR_COGNITO_AUTH_DOMAIN", &value)?,
                None => defaults.operators.auth_domain,
            },
            client_id: get("OPERATOR_COGNITO_CLIENT_ID").unwrap_or(defaults.operators.client_id),
            client_secret: get("OPERATOR_COGNITO_CLIENT_SECRET")
                .map(Secret::new)
                .unwrap_or(defaults.operators.client_secret),
            resource_server_id: get("OPERATOR_RESOURCE_SERVER_ID")
                .unwrap_or(defaults.operators.resource_server_id),
        };
        let idp_reconcile_interval = match get("IDP_RECONCILE_MINUTES") {
            Some(value) => match value.parse::<u64>() {
                Ok(0) => None,
                Ok(minutes) if minutes <= 24 * 60 => {
                    Some(std::time::Duration::from_secs(minutes * 60))
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "IDP_RECONCILE_MINUTES",
                        reason: format!("`{value}` is not a whole number from 0 to 1440"),
                    });
                }
            },
            None => defaults.idp_reconcile_interval,
        };
        let local = is_plain_http_localhost(&public_url);
        let session_encryption_key = match get("SESSION_ENCRYPTION_KEY") {
            Some(value) => SessionKey::from_setting(&value)?,
            None => {
                if local {
                    tracing::warn!(
                        "SESSION_ENCRYPTION_KEY is not set: using a random key for this process \
                         (local development only; sessions end when the process stops)"
                    );
                }
                defaults.session_encryption_key
            }
        };
        // A whole number of `unit`s from 1 to `max`, or the default when the variable is unset.
        let duration = |name: &'static str,
                        max: i64,
                        unit: fn(i64) -> time::Duration,
                        default: time::Duration| {
            get(name)
                .map(|value| bounded(name, &value, max).map(unit))
                .unwrap_or(Ok(default))
        };
        let session_idle = duration(
            "SESSION_IDLE_MINUTES",
            MAX_SESSION_IDLE_MINUTES,
            time::Duration::minutes,
            defaults.session_idle,
        )?;
        let session_absolute = duration(
            "SESSION_ABSOLUTE_HOURS",
            MAX_SESSION_ABSOLUTE_HOURS,
            time::Duration::hours,
            defaults.session_absolute,
        )?;
        let sign_in_revocation = duration(
            "SIGN_IN_REVOCATION_DAYS",
            MAX_SIGN_IN_REVOCATION_DAYS,
            time::Duration::days,
            defaults.sign_in_revocation,
        )?;
        let shutdown_grace = match get("SHUTDOWN_GRACE_SECONDS") {
            Some(value) => std::time::Duration::from_secs(
                bounded("SHUTDOWN_GRACE_SECONDS", &value, MAX_SHUTDOWN_GRACE_SECONDS)?
                    .unsigned_abs(),
            ),
            None => defaults.shutdown_grace,
        };
        let sign_in_starts_per_minute = match get("SIGN_IN_STARTS_PER_MINUTE") {
            Some(value) => u32::try_from(bounded(
                "SIGN_IN_STARTS_PER_MINUTE",
                &value,
                MAX_SIGN_IN_STARTS_PER_MINUTE,
            )?)
            .map_err(|_| ConfigError::Invalid {
                name: "SIGN_IN_STARTS_PER_MINUTE",
                reason: format!("`{value}` is too large"),
            })?,
            None => defaults.sign_in_starts_per_minute,
        };
        let web_dist_dir = get("WEB_DIST_DIR")
            .map(PathBuf::from)
            .unwrap_or(defaults.web_dist_dir);
        let cookie_secure = match get("COOKIE_SECURE") {
            Some(value) => parse_bool("COOKIE_SECURE", &value)?,
            None => !local,
        };
        let trust_x_forwarded_for = match get("TRUST_X_FORWARDED_FOR") {
            Some(value) => parse_bool("TRUST_X_FORWARDED_FOR", &value)?,
            None => false,
        };
        let trusted_proxy_networks = match get("TRUSTED_PROXY_CIDRS") {
            Some(value) => value
                .split(',')
                .map(str::trim)
                .filter(|cidr| !cidr.is_empty())
                .map(|cidr| {
                    cidr.parse().map_err(|_| ConfigError::Invalid {
                        name: "TRUSTED_PROXY_CIDRS",
                        reason: format!("`{cidr}` is not a network such as 10.40.0.0/16"),
                    })
                })
                .collect::<Result<Vec<ipnet::IpNet>, ConfigError>>()?,
            None => Vec::new(),
        };
        let storage = storage_from(&get, defaults.storage)?;
        let aws_credentials = match aws_key_from(&get)? {
            Some(key) => Some(key),
            None => {
                // The demo key is good only for the stand-ins; real AWS means the default credential chain.
                let all_local = [
                    &storage.s3_endpoint,
                    &storage.identity_pool_endpoint,
                    &cognito_idp_endpoint,
                ]
                .iter()
                .all(|endpoint| endpoint.is_some());
                if all_local {
                    defaults.aws_credentials
                } else {
                    None
                }
            }
        };

        let sso = sso_from(&get, local)?;
        let mut config = Config {
            sso,
            bind_addr,
            public_url,
            database_url,
            database_max_connections,
            cognito_issuer,
            cognito_auth_domain,
            cognito_client_id,
            cognito_client_secret,
            api_client_ids,
            resource_server_id,
            cognito_idp_endpoint,
            operators,
            idp_reconcile_interval,
            aws_credentials,
            session_encryption_key,
            session_idle,
            session_absolute,
            sign_in_revocation,
            sign_in_starts_per_minute,
            web_dist_dir,
            cookie_secure,
            trust_x_forwarded_for,
            trusted_proxy_networks,
            storage,
            shutdown_grace,
        };
        if !config.is_local_development() {
            // A localhost PUBLIC_URL with real AWS behind it is no local development either: the SSO
            // settings' defaults are production's then.
            config.sso = sso_from(&get, false)?;
            let problems = production_problems(&config, &get);
            if !problems.is_empty() {
                return Err(ConfigError::NotForProduction(problems));
            }
        }
        Ok(config)
    }

    /// Whether this is local development, where the local defaults and demo values are accepted: `PUBLIC_URL`
    /// is plain-http localhost and every AWS endpoint (both user pools' issuers and domains, the user-pool API,
    /// the identity pool, S3) is a stand-in on this machine. A start that reaches real AWS is no local one, whatever
    /// `PUBLIC_URL` says (a one-off task that forgot it, say).
    pub fn is_local_development(&self) -> bool {
        let endpoints = [
            Some(&self.cognito_issuer),
            Some(&self.cognito_auth_domain),
            self.cognito_idp_endpoint.as_ref(),
            self.storage.identity_pool_endpoint.as_ref(),
            self.storage.s3_endpoint.as_ref(),
            Some(&self.operators.issuer),
            Some(&self.operators.auth_domain),
        ];
        is_plain_http_localhost(&self.public_url)
            && endpoints
                .iter()
                .all(|endpoint| endpoint.is_some_and(is_loopback_host))
    }

    /// The origin browsers send in `Origin` for requests from the app (`http://localhost:3000`).
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// The OAuth redirect URI registered with the user pool: `<PUBLIC_URL>/auth/callback`.
    pub fn callback_url(&self) -> Url {
        join(&self.public_url, "auth/callback")
    }

    /// Where the user pool sends the browser after sign-out: `<PUBLIC_URL>/`.
    pub fn logout_return_url(&self) -> Url {
        join(&self.public_url, "")
    }

    /// The OAuth redirect URI registered with the operators' pool for the console client:
    /// `<PUBLIC_URL>/operator/auth/callback`.
    pub fn operator_callback_url(&self) -> Url {
        join(&self.public_url, "operator/auth/callback")
    }

    /// The redirect URI of a set-up's test sign-in, registered with the web client too:
    /// `<PUBLIC_URL>/setup/auth/callback`.
    pub fn setup_callback_url(&self) -> Url {
        join(&self.public_url, "setup/auth/callback")
    }

    /// Where the operators' pool sends the browser after sign-out: `<PUBLIC_URL>/operator`.
    pub fn operator_logout_return_url(&self) -> Url {
        join(&self.public_url, "operator")
    }

    /// A URL on the user pool's hosted domain (`oauth2/revoke`, `logout`).
    pub fn auth_domain_url(&self, path: &str) -> Url {
        join(&self.cognito_auth_domain, path)
    }

    /// The user pool id: the last path segment of `COGNITO_ISSUER`
    /// (`https://cognito-idp.<region>.amazonaws.com/<userPoolId>`).
    pub fn user_pool_id(&self) -> Option<&str> {
        self.cognito_issuer
            .path_segments()?
            .rfind(|segment| !segment.is_empty())
    }

    /// Every app client id whose access tokens the API accepts: the web client and `API_CLIENT_IDS`.
    pub fn accepted_client_ids(&self) -> Vec<String> {
        let mut ids = vec![self.cognito_client_id.clone()];
        for id in &self.api_client_ids {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// Joins `path` (relative, no leading slash) below `base`, treating `base` as a directory.
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Whether `url` is plain http on localhost or 127.0.0.1, where browsers refuse `Secure` cookies.
fn is_plain_http_localhost(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|err| ConfigError::Invalid {
        name,
        reason: format!("`{value}` is not a URL ({err})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("`{value}` must be an http(s) URL with a host"),
        });
    }
    Ok(url)
}

/// Parses a URL that must have no query or fragment (it is used as an origin and as a base for paths).
fn parse_origin_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = parse_url(name, value)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::Invalid {
            name,
            reason: "must not have a query or fragment".to_owned(),
        });
    }
    Ok(url)
}

/// A whole number from 1 to `max`. The bound keeps the durations built from it (and the expiry dates
/// computed from those) far from overflowing.
fn bounded(name: &'static str, value: &str, max: i64) -> Result<i64, ConfigError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("`{value}` is not a whole number from 1 to {max}"),
        })
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("`{value}` is not true or false"),
        }),
    }
}

/// The storage settings from the environment over `defaults`. `aws` as an endpoint means the real service.
fn storage_from(
    get: &dyn Fn(&str) -> Option<String>,
    defaults: StorageConfig,
) -> Result<StorageConfig, ConfigError> {
    let bucket = get("UPLOAD_BUCKET").unwrap_or(defaults.bucket);
    let files_bucket = get("FILES_BUCKET").unwrap_or(defaults.files_bucket);
    if files_bucket == bucket {
        return Err(ConfigError::Invalid {
            name: "FILES_BUCKET",
            reason: "it must not be the upload bucket, where browsers may write".to_owned(),
        });
    }
    Ok(StorageConfig {
        region: get("AWS_REGION").unwrap_or(defaults.region),
        identity_pool_id: get("IDENTITY_POOL_ID").unwrap_or(defaults.identity_pool_id),
        identity_pool_endpoint: endpoint_from(
            get,
            "IDENTITY_POOL_ENDPOINT",
            defaults.identity_pool_endpoint,
        )?,
        bucket,
        files_bucket,
        s3_endpoint: endpoint_from(get, "S3_ENDPOINT", defaults.s3_endpoint)?,
    })
}

/// An endpoint setting: a URL, `aws` for the real service (`None`), or `default` when unset.
/// The key of `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`); `None` when neither is
/// set, an error when only one is.
pub(crate) fn aws_key_from(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<AwsKey>, ConfigError> {
    match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret)) => Ok(Some(AwsKey {
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
        })),
        (None, None) => Ok(None),
        _ => Err(ConfigError::Invalid {
            name: "AWS_ACCESS_KEY_ID",
            reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together".to_owned(),
        }),
    }
}

pub(crate) fn endpoint_from(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: Option<Url>,
) -> Result<Option<Url>, ConfigError> {
    match get(name) {
        Some(value) if value == "aws" => Ok(None),
        Some(value) => parse_url(name, &value).map(Some),
        None => Ok(default),
    }
}

/// A database URL setting, with the password from `password_name` when that is set (percent-encoded into
/// the URL). `None` when the URL is unset.
pub fn database_url_from(
    get: &dyn Fn(&str) -> Option<String>,
    url_name: &'static str,
    password_name: &'static str,
) -> Result<Option<Secret>, ConfigError> {
    let Some(value) = get(url_name) else {
        return match get(password_name) {
            Some(_) => Err(ConfigError::Invalid {
                name: password_name,
                reason: format!("is set but {url_name} is not"),
            }),
            None => Ok(None),
        };
    };
    let Some(password) = get(password_name) else {
        return Ok(Some(Secret::new(value)));
    };
    let mut url = Url::parse(&value).map_err(|_| ConfigError::Invalid {
        name: url_name,
        // The URL may hold a password: never echo it.
        reason: "is not a URL such as postgres://user@host:5432/database".to_owned(),
    })?;
    url.set_password(Some(&password))
        .map_err(|()| ConfigError::Invalid {
            name: url_name,
            reason: "has no host, so no password can be added to it".to_owned(),
        })?;
    Ok(Some(Secret::new(String::from(url))))
}

/// Whether `value` is a secret or password published in this repository ([`PUBLISHED_SECRETS`]).
fn is_published_secret(value: &str) -> bool {
    PUBLISHED_SECRETS.contains(&value)
}

/// The password of a Postgres URL, in the URL's user part or its `password` query parameter (both of which
/// the driver reads), percent-decoded. `None` when it names none or is no URL.
fn database_password(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let in_query = url
        .query_pairs()
        .find(|(name, _)| name == "password")
        .map(|(_, value)| value.into_owned());
    let in_user_part = url.password().map(|password| {
        percent_encoding::percent_decode_str(password)
            .decode_utf8_lossy()
            .into_owned()
    });
    in_query.or(in_user_part)
}

/// Whether a URL (a Postgres URL, an endpoint) reaches this machine: host `localhost`, a loopback address, a
/// Unix socket, or none (a Postgres driver then uses `localhost`). A Postgres URL's `host` or `hostaddr` query
/// parameter overrides its host, as the driver reads it. Anything unparsable counts as beyond this machine.
pub fn is_on_this_machine(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    let in_query = url
        .query_pairs()
        .filter(|(name, _)| name == "host" || name == "hostaddr")
        .map(|(_, value)| value.into_owned())
        .collect::<Vec<_>>();
    if !in_query.is_empty() {
        return in_query.iter().all(|host| is_local_host_name(host));
    }
    // Postgres URLs are not "special" URLs, so their IPv4 hosts come back as domain names: parse the text.
    url.host_str().is_none_or(is_local_host_name)
}

/// Whether a host as written in a URL is this machine: empty, `localhost`, a loopback address, or a Unix
/// socket's directory.
fn is_local_host_name(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The variable that gave the database URL read from `url_name` (and `password_name`) a password published in
/// this repository: `password_name` when that is set, else `url_name`. `None` when its password is not one.
fn published_database_password_in(
    get: &dyn Fn(&str) -> Option<String>,
    url_name: &'static str,
    password_name: &'static str,
    url: &Secret,
) -> Option<&'static str> {
    let password = database_password(url.expose())?;
    if !is_published_secret(&password) {
        return None;
    }
    Some(if get(password_name).is_some() {
        password_name
    } else {
        url_name
    })
}

/// Refuses database settings that reach a database beyond this machine with a password published in this
/// repository, naming every offending variable. For the commands that have no `PUBLIC_URL` to go by (`backend
/// migrate`, the trigger function): there, a database on this machine is what makes a start local.
/// `settings` are pairs of a URL variable and its password variable, as [`database_url_from`] reads them.
pub fn refuse_published_database_passwords(
    get: &dyn Fn(&str) -> Option<String>,
    settings: &[(&'static str, &'static str)],
) -> Result<(), ConfigError> {
    let mut offending = Vec::new();
    for &(url_name, password_name) in settings {
        let Some(url) = database_url_from(get, url_name, password_name)? else {
            continue;
        };
        if is_on_this_machine(url.expose()) {
            continue;
        }
        if let Some(name) = published_database_password_in(get, url_name, password_name, &url) {
            offending.push(name);
        }
    }
    if offending.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::PublishedDatabasePassword(offending))
    }
}

/// Whether `url`'s host is this machine, where only the local stand-ins run.
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Why `config` (read through `get`) cannot serve outside local development: local defaults left in place,
/// values published in this repository, and endpoints that are not https or point at this machine.
/// The self-serve SSO settings (`DNS_RESOLVER`, `ENTRA_AUTHORITY`, `SSO_ALLOW_PRIVATE_ADDRESSES`,
/// `SETUP_LINK_DAYS`, `DOMAIN_RECHECK_HOURS`, `DOMAIN_LAPSE_DAYS`), with the defaults of local development
/// when `local`.
fn sso_from(get: &dyn Fn(&str) -> Option<String>, local: bool) -> Result<SsoConfig, ConfigError> {
    let defaults = if local {
        SsoConfig::local()
    } else {
        SsoConfig::production()
    };
    let dns_resolver = match get("DNS_RESOLVER") {
        Some(value) if value.trim() == "system" => None,
        Some(value) => Some(value.trim().parse().map_err(|_| ConfigError::Invalid {
            name: "DNS_RESOLVER",
            reason: format!("`{value}` is neither `system` nor an address such as 10.0.0.2:53"),
        })?),
        None => defaults.dns_resolver,
    };
    let entra_authority = match get("ENTRA_AUTHORITY") {
        Some(value) => parse_origin_url("ENTRA_AUTHORITY", &value)?,
        None => defaults.entra_authority,
    };
    let allow_private_addresses = match get("SSO_ALLOW_PRIVATE_ADDRESSES") {
        Some(value) => parse_bool("SSO_ALLOW_PRIVATE_ADDRESSES", &value)?,
        None => defaults.allow_private_addresses,
    };
    let setup_link_validity = match get("SETUP_LINK_DAYS") {
        Some(value) => {
            time::Duration::days(bounded("SETUP_LINK_DAYS", &value, MAX_SETUP_LINK_DAYS)?)
        }
        None => defaults.setup_link_validity,
    };
    let domain_recheck_interval = match get("DOMAIN_RECHECK_HOURS") {
        Some(value) => match value.parse::<u64>() {
            Ok(0) => None,
            Ok(hours) if hours <= 24 * 30 => Some(std::time::Duration::from_secs(hours * 3600)),
            _ => {
                return Err(ConfigError::Invalid {
                    name: "DOMAIN_RECHECK_HOURS",
                    reason: format!("`{value}` is not a whole number from 0 to 720"),
                });
            }
        },
        None => defaults.domain_recheck_interval,
    };
    let domain_lapse_after = match get("DOMAIN_LAPSE_DAYS") {
        Some(value) => time::Duration::days(bounded("DOMAIN_LAPSE_DAYS", &value, 365)?),
        None => defaults.domain_lapse_after,
    };
    Ok(SsoConfig {
        dns_resolver,
        entra_authority,
        allow_private_addresses,
        setup_link_validity,
        domain_recheck_interval,
        domain_lapse_after,
    })
}

fn production_problems(
    config: &Config,
    get: &dyn Fn(&str) -> Option<String>,
) -> Vec<(&'static str, &'static str)> {
    const UNSET: &str = "not set: the default only suits local development";
    const DEMO: &str = "holds the published local demo value";
    const PUBLISHED: &str = "holds a value published in this repository";
    const HTTP: &str = "must be an https URL";
    const LOOPBACK: &str = "points at this machine, where only the local stand-ins run";
    let mut problems = Vec::new();
    for name in [
        "DATABASE_URL",
        "COGNITO_ISSUER",
        "COGNITO_AUTH_DOMAIN",
        "COGNITO_CLIENT_ID",
        "COGNITO_CLIENT_SECRET",
        "SESSION_ENCRYPTION_KEY",
        "IDENTITY_POOL_ID",
        "IDENTITY_POOL_ENDPOINT",
        "UPLOAD_BUCKET",
        "FILES_BUCKET",
        "S3_ENDPOINT",
        "COGNITO_IDP_ENDPOINT",
        "OPERATOR_COGNITO_ISSUER",
        "OPERATOR_COGNITO_AUTH_DOMAIN",
        "OPERATOR_COGNITO_CLIENT_ID",
        "OPERATOR_COGNITO_CLIENT_SECRET",
    ] {
        if get(name).is_none() {
            problems.push((name, UNSET));
        }
    }
    let set = |name: &str| get(name).is_some();
    if config.sso.allow_private_addresses {
        problems.push((
            "SSO_ALLOW_PRIVATE_ADDRESSES",
            "must be false: provider URLs must not lead into the backend's own network",
        ));
    }
    if config
        .sso
        .dns_resolver
        .is_some_and(|resolver| resolver.ip().is_loopback())
    {
        problems.push(("DNS_RESOLVER", LOOPBACK));
    }
    if config.sso.entra_authority.scheme() != "https" {
        problems.push(("ENTRA_AUTHORITY", HTTP));
    }
    if set("DATABASE_URL")
        && let Some(name) = published_database_password_in(
            get,
            "DATABASE_URL",
            "DATABASE_PASSWORD",
            &config.database_url,
        )
    {
        problems.push((name, PUBLISHED));
    }
    if set("COGNITO_CLIENT_ID") && PUBLISHED_CLIENT_IDS.contains(&config.cognito_client_id.as_str())
    {
        problems.push(("COGNITO_CLIENT_ID", PUBLISHED));
    }
    if config
        .api_client_ids
        .iter()
        .any(|id| PUBLISHED_CLIENT_IDS.contains(&id.as_str()))
    {
        problems.push(("API_CLIENT_IDS", PUBLISHED));
    }
    if set("COGNITO_CLIENT_SECRET") && is_published_secret(config.cognito_client_secret.expose()) {
        problems.push(("COGNITO_CLIENT_SECRET", PUBLISHED));
    }
    if set("OPERATOR_COGNITO_CLIENT_ID")
        && PUBLISHED_CLIENT_IDS.contains(&config.operators.client_id.as_str())
    {
        problems.push(("OPERATOR_COGNITO_CLIENT_ID", PUBLISHED));
    }
    if set("OPERATOR_COGNITO_CLIENT_SECRET")
        && is_published_secret(config.operators.client_secret.expose())
    {
        problems.push(("OPERATOR_COGNITO_CLIENT_SECRET", PUBLISHED));
    }
    if set("OPERATOR_COGNITO_ISSUER")
        && config.operators.user_pool_id() == Some(LOCAL_OPERATOR_USER_POOL_ID)
    {
        problems.push(("OPERATOR_COGNITO_ISSUER", DEMO));
    }
    // A published string long enough to be accepted as a key must not become one.
    if set("SESSION_ENCRYPTION_KEY")
        && PUBLISHED_SECRETS.iter().any(|published| {
            SessionKey::from_setting(published)
                .is_ok_and(|key| key == config.session_encryption_key)
        })
    {
        problems.push(("SESSION_ENCRYPTION_KEY", PUBLISHED));
    }
    if set("IDENTITY_POOL_ID") && config.storage.identity_pool_id == LOCAL_IDENTITY_POOL_ID {
        problems.push(("IDENTITY_POOL_ID", DEMO));
    }
    if set("UPLOAD_BUCKET") && config.storage.bucket == LOCAL_UPLOAD_BUCKET {
        problems.push(("UPLOAD_BUCKET", DEMO));
    }
    if set("FILES_BUCKET") && config.storage.files_bucket == LOCAL_FILES_BUCKET {
        problems.push(("FILES_BUCKET", DEMO));
    }
    if set("COGNITO_ISSUER") && config.user_pool_id() == Some(LOCAL_USER_POOL_ID) {
        problems.push(("COGNITO_ISSUER", DEMO));
    }
    if let Some(key) = &config.aws_credentials {
        if key.access_key_id == LOCAL_ACCESS_KEY_ID {
            problems.push(("AWS_ACCESS_KEY_ID", DEMO));
        }
        if set("AWS_SECRET_ACCESS_KEY") && is_published_secret(key.secret_access_key.expose()) {
            problems.push(("AWS_SECRET_ACCESS_KEY", PUBLISHED));
        }
    }
    let urls: [(&'static str, Option<&Url>); 7] = [
        ("COGNITO_ISSUER", Some(&config.cognito_issuer)),
        ("COGNITO_AUTH_DOMAIN", Some(&config.cognito_auth_domain)),
        ("OPERATOR_COGNITO_ISSUER", Some(&config.operators.issuer)),
        (
            "OPERATOR_COGNITO_AUTH_DOMAIN",
            Some(&config.operators.auth_domain),
        ),
        (
            "IDENTITY_POOL_ENDPOINT",
            config.storage.identity_pool_endpoint.as_ref(),
        ),
        ("S3_ENDPOINT", config.storage.s3_endpoint.as_ref()),
        ("COGNITO_IDP_ENDPOINT", config.cognito_idp_endpoint.as_ref()),
    ];
    for (name, url) in urls {
        let Some(url) = url.filter(|_| set(name)) else {
            continue;
        };
        if url.scheme() != "https" {
            problems.push((name, HTTP));
        }
        if is_loopback_host(url) {
            problems.push((name, LOOPBACK));
        }
    }
    problems
}

/// Parses one of the URL literals above, which are known to be valid.
fn literal_url(value: &'static str) -> Url {
    Url::parse(value).unwrap_or_else(|err| unreachable!("the default URL {value} is valid: {err}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn revoked_sign_ins_are_kept_as_long_as_the_longest_refresh_token_of_the_user_pool_lives() {
        let pool: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../infra/config/user-pool.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let longest_days = pool["app_clients"]
            .as_object()
            .unwrap()
            .values()
            .map(|client| client["refresh_token_validity_days"].as_i64().unwrap())
            .max()
            .unwrap();
        assert!(
            Config::local_defaults().sign_in_revocation >= time::Duration::days(longest_days),
            "SIGN_IN_REVOCATION_DAYS's default must cover a refresh token of {longest_days} days"
        );
    }

    #[test]
    fn revocation_retention_and_the_sign_in_rate_are_bounded_whole_numbers() {
        let config = config_from(&[
            ("SIGN_IN_REVOCATION_DAYS", "90"),
            ("SIGN_IN_STARTS_PER_MINUTE", "5"),
        ])
        .unwrap();
        assert_eq!(config.sign_in_revocation, time::Duration::days(90));
        assert_eq!(config.sign_in_starts_per_minute, 5);
        for (name, value) in [
            ("SIGN_IN_REVOCATION_DAYS", "0"),
            ("SIGN_IN_REVOCATION_DAYS", "3651"),
            ("SIGN_IN_STARTS_PER_MINUTE", "0"),
            ("SIGN_IN_STARTS_PER_MINUTE", "-1"),
            ("SIGN_IN_STARTS_PER_MINUTE", "10001"),
        ] {
            assert!(config_from(&[(name, value)]).is_err(), "{name}={value}");
        }
    }

    #[test]
    fn an_empty_environment_gives_the_local_development_defaults() {
        let config = config_from(&[]).unwrap();
        assert_eq!(config.bind_addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.public_origin(), "http://localhost:3000");
        assert_eq!(
            config.callback_url().as_str(),
            "http://localhost:3000/auth/callback"
        );
        assert_eq!(
            config.logout_return_url().as_str(),
            "http://localhost:3000/"
        );
        assert_eq!(
            config.cognito_issuer.as_str(),
            "http://127.0.0.1:9229/eu-west-1_L0caLP00l"
        );
        assert_eq!(
            config.auth_domain_url("oauth2/revoke").as_str(),
            "http://127.0.0.1:9230/oauth2/revoke"
        );
        assert_eq!(config.resource_server_id, "saas-api");
        assert_eq!(
            config.operator_callback_url().as_str(),
            "http://localhost:3000/operator/auth/callback"
        );
        assert_eq!(
            config.operator_logout_return_url().as_str(),
            "http://localhost:3000/operator"
        );
        assert_eq!(
            config.operators.issuer.as_str(),
            "http://127.0.0.1:9229/eu-west-1_L0caL0pera"
        );
        assert_eq!(
            config.operators.auth_domain_url("logout").as_str(),
            "http://127.0.0.1:9236/logout"
        );
        assert_eq!(
            config.operators.operate_scope(),
            "saas-operator-api/operate"
        );
        assert_eq!(config.session_idle, time::Duration::minutes(30));
        assert_eq!(config.session_absolute, time::Duration::hours(12));
        assert_eq!(config.aws_credentials, Some(AwsKey::local()));
        assert_eq!(
            config.cognito_idp_endpoint.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9229/")
        );
        assert!(
            !config.cookie_secure,
            "browsers drop Secure cookies on plain-http localhost"
        );
    }

    /// What a deployment on AWS sets (the values of `infra/aws`), with `extra` on top.
    fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
        let mut vars: Vec<(&'static str, String)> = [
            ("PUBLIC_URL", "https://app.example.com"),
            (
                "DATABASE_URL",
                "postgres://saas_app_login@db.example.com:5432/saas",
            ),
            ("DATABASE_PASSWORD", "from-secrets-manager"),
            (
                "COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
            ),
            (
                "COGNITO_AUTH_DOMAIN",
                "https://acme.auth.eu-west-1.amazoncognito.com",
            ),
            ("COGNITO_CLIENT_ID", "1example23456789"),
            ("COGNITO_CLIENT_SECRET", "from-secrets-manager-too"),
            (
                "SESSION_ENCRYPTION_KEY",
                "x7PqR2mN9sT4vW8yB3cE6fH1jK5lZ0aD2gJ7nQ4rU9w1",
            ),
            (
                "IDENTITY_POOL_ID",
                "eu-west-1:11111111-2222-4333-8444-555555555555",
            ),
            ("IDENTITY_POOL_ENDPOINT", "aws"),
            ("UPLOAD_BUCKET", "acme-uploads"),
            ("FILES_BUCKET", "acme-files"),
            ("S3_ENDPOINT", "aws"),
            ("COGNITO_IDP_ENDPOINT", "aws"),
            (
                "OPERATOR_COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OpS",
            ),
            (
                "OPERATOR_COGNITO_AUTH_DOMAIN",
                "https://acme-operators.auth.eu-west-1.amazoncognito.com",
            ),
            ("OPERATOR_COGNITO_CLIENT_ID", "2console3456789"),
            (
                "OPERATOR_COGNITO_CLIENT_SECRET",
                "from-secrets-manager-three",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
        for (name, value) in extra {
            vars.retain(|(k, _)| k != name);
            if !value.is_empty() {
                vars.push((name, (*value).to_owned()));
            }
        }
        vars
    }

    fn config_of(vars: &[(&'static str, String)]) -> Result<Config, ConfigError> {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        config_from(&vars)
    }

    #[test]
    fn a_public_deployment_with_everything_set_starts_with_secure_cookies_and_the_credential_chain()
    {
        let config = config_of(&production(&[(
            "API_CLIENT_IDS",
            " machine-a, ,machine-b ",
        )]))
        .unwrap();
        assert!(config.cookie_secure);
        assert_eq!(
            config.accepted_client_ids(),
            vec!["1example23456789", "machine-a", "machine-b"]
        );
        assert_eq!(
            config.aws_credentials, None,
            "the task role signs AWS calls"
        );
        assert_eq!(config.cognito_idp_endpoint, None);
        assert_eq!(
            config.database_url.expose(),
            "postgres://saas_app_login:from-secrets-manager@db.example.com:5432/saas"
        );
    }

    #[test]
    fn a_public_deployment_names_every_setting_left_at_its_local_default() {
        let err = config_from(&[("PUBLIC_URL", "https://app.example.com")]).unwrap_err();
        let ConfigError::NotForProduction(problems) = &err else {
            panic!("{err}");
        };
        let names: Vec<&str> = problems.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "DATABASE_URL",
                "COGNITO_ISSUER",
                "COGNITO_AUTH_DOMAIN",
                "COGNITO_CLIENT_ID",
                "COGNITO_CLIENT_SECRET",
                "SESSION_ENCRYPTION_KEY",
                "IDENTITY_POOL_ID",
                "IDENTITY_POOL_ENDPOINT",
                "UPLOAD_BUCKET",
                "FILES_BUCKET",
                "S3_ENDPOINT",
                "COGNITO_IDP_ENDPOINT",
                "OPERATOR_COGNITO_ISSUER",
                "OPERATOR_COGNITO_AUTH_DOMAIN",
                "OPERATOR_COGNITO_CLIENT_ID",
                "OPERATOR_COGNITO_CLIENT_SECRET",
                "AWS_ACCESS_KEY_ID",
            ]
        );
        assert!(
            err.to_string().contains("SESSION_ENCRYPTION_KEY (not set"),
            "{err}"
        );
    }

    #[test]
    fn a_public_deployment_refuses_demo_secrets_and_local_stand_ins_even_when_set() {
        for (name, value) in [
            ("COGNITO_CLIENT_SECRET", LOCAL_WEB_CLIENT_SECRET),
            ("COGNITO_CLIENT_ID", LOCAL_WEB_CLIENT_ID),
            ("DATABASE_URL", LOCAL_DATABASE_URL),
            ("IDENTITY_POOL_ID", LOCAL_IDENTITY_POOL_ID),
            (
                "COGNITO_ISSUER",
                "http://127.0.0.1:9229/eu-west-1_L0caLP00l",
            ),
            ("S3_ENDPOINT", "http://127.0.0.1:9234"),
            ("COGNITO_IDP_ENDPOINT", "http://127.0.0.1:9229"),
            ("OPERATOR_COGNITO_CLIENT_ID", LOCAL_CONSOLE_CLIENT_ID),
            (
                "OPERATOR_COGNITO_CLIENT_SECRET",
                LOCAL_CONSOLE_CLIENT_SECRET,
            ),
            (
                "OPERATOR_COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_L0caL0pera",
            ),
            ("OPERATOR_COGNITO_AUTH_DOMAIN", "http://127.0.0.1:9236"),
        ] {
            let mut extra = vec![(name, value)];
            if name == "DATABASE_URL" {
                extra.push(("DATABASE_PASSWORD", ""));
            }
            let err = config_of(&production(&extra)).unwrap_err();
            let ConfigError::NotForProduction(problems) = &err else {
                panic!("{name}: {err}");
            };
            assert!(
                problems.iter().any(|(n, _)| *n == name),
                "{name}={value}: {err}"
            );
        }
        let err = config_of(&production(&[
            ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("AWS_ACCESS_KEY_ID (holds the published local demo value)"),
            "{err}"
        );
    }

    /// The problems a public deployment with `extra` over [`production`] is refused for.
    fn problems_of(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        match config_of(&production(extra)) {
            Err(ConfigError::NotForProduction(problems)) => problems,
            other => panic!("{extra:?} should be refused, got {other:?}"),
        }
    }

    fn names(problems: &[(&'static str, &'static str)]) -> Vec<&'static str> {
        problems.iter().map(|(name, _)| *name).collect()
    }

    #[test]
    fn a_public_deployment_refuses_every_published_secret_as_the_web_clients_secret() {
        for secret in PUBLISHED_SECRETS {
            assert_eq!(
                problems_of(&[("COGNITO_CLIENT_SECRET", secret)]),
                [(
                    "COGNITO_CLIENT_SECRET",
                    "holds a value published in this repository"
                )],
                "{secret}"
            );
        }
    }

    #[test]
    fn a_public_deployment_refuses_every_published_secret_as_the_database_password() {
        for secret in PUBLISHED_SECRETS {
            assert_eq!(
                names(&problems_of(&[("DATABASE_PASSWORD", secret)])),
                ["DATABASE_PASSWORD"],
                "{secret}"
            );
            let mut url = Url::parse("postgres://saas_app_login@db.example.com:5432/saas").unwrap();
            url.set_password(Some(secret)).unwrap();
            let url: &'static str = String::from(url).leak();
            assert_eq!(
                names(&problems_of(&[
                    ("DATABASE_URL", url),
                    ("DATABASE_PASSWORD", "")
                ])),
                ["DATABASE_URL"],
                "{url}"
            );
        }
        assert_eq!(
            names(&problems_of(&[
                (
                    "DATABASE_URL",
                    "postgres://saas_app_login@db.example.com/saas?password=local-dev-app-password"
                ),
                ("DATABASE_PASSWORD", ""),
            ])),
            ["DATABASE_URL"],
            "the driver reads a password from the query string too"
        );
    }

    #[test]
    fn a_public_deployment_refuses_every_published_secret_as_the_aws_secret_key() {
        for secret in PUBLISHED_SECRETS {
            assert_eq!(
                names(&problems_of(&[
                    ("AWS_ACCESS_KEY_ID", "AKIAREALKEY000000001"),
                    ("AWS_SECRET_ACCESS_KEY", secret),
                ])),
                ["AWS_SECRET_ACCESS_KEY"],
                "{secret}"
            );
        }
        assert_eq!(
            names(&problems_of(&[
                ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID),
                ("AWS_SECRET_ACCESS_KEY", "a-real-looking-secret"),
            ])),
            ["AWS_ACCESS_KEY_ID"]
        );
    }

    #[test]
    fn a_public_deployment_refuses_a_session_key_made_from_a_published_secret() {
        let long_enough: Vec<&str> = PUBLISHED_SECRETS
            .into_iter()
            .filter(|secret| SessionKey::from_setting(secret).is_ok())
            .collect();
        assert!(
            long_enough.contains(&LOCAL_WEB_CLIENT_SECRET),
            "{long_enough:?}"
        );
        for secret in long_enough {
            assert_eq!(
                names(&problems_of(&[("SESSION_ENCRYPTION_KEY", secret)])),
                ["SESSION_ENCRYPTION_KEY"],
                "{secret}"
            );
        }
    }

    #[test]
    fn a_public_deployment_refuses_every_published_client_id() {
        for id in PUBLISHED_CLIENT_IDS {
            assert_eq!(
                names(&problems_of(&[("COGNITO_CLIENT_ID", id)])),
                ["COGNITO_CLIENT_ID"],
                "{id}"
            );
            let api_clients: &'static str = format!("machine-a,{id}").leak();
            assert_eq!(
                names(&problems_of(&[("API_CLIENT_IDS", api_clients)])),
                ["API_CLIENT_IDS"],
                "{id}"
            );
        }
    }

    #[test]
    fn a_public_deployment_refuses_the_stand_ins_bucket_whose_name_anybody_may_own_on_aws() {
        assert_eq!(
            problems_of(&[("UPLOAD_BUCKET", LOCAL_UPLOAD_BUCKET)]),
            [("UPLOAD_BUCKET", "holds the published local demo value")]
        );
        assert_eq!(
            problems_of(&[("FILES_BUCKET", LOCAL_FILES_BUCKET)]),
            [("FILES_BUCKET", "holds the published local demo value")]
        );
    }

    #[test]
    fn a_public_deployment_refuses_the_local_user_pool_even_behind_https() {
        assert_eq!(
            problems_of(&[(
                "COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_L0caLP00l"
            )]),
            [("COGNITO_ISSUER", "holds the published local demo value")]
        );
    }

    #[test]
    fn a_public_deployment_refuses_endpoints_on_this_machine_even_over_https() {
        for (name, url) in [
            ("COGNITO_ISSUER", "https://127.0.0.1:9229/eu-west-1_AbC"),
            ("COGNITO_AUTH_DOMAIN", "https://localhost:9230"),
            ("IDENTITY_POOL_ENDPOINT", "https://[::1]:9233"),
            ("S3_ENDPOINT", "https://127.0.0.2:9234"),
            ("COGNITO_IDP_ENDPOINT", "https://LOCALHOST:9229"),
        ] {
            assert_eq!(
                problems_of(&[(name, url)]),
                [(
                    name,
                    "points at this machine, where only the local stand-ins run"
                )],
                "{url}"
            );
        }
        assert_eq!(
            names(&problems_of(&[("S3_ENDPOINT", "http://127.0.0.1:9234")])),
            ["S3_ENDPOINT", "S3_ENDPOINT"],
            "plain http and this machine are two problems"
        );
    }

    #[test]
    fn a_public_deployment_lists_every_published_value_at_once() {
        let err = config_of(&production(&[
            ("DATABASE_PASSWORD", "local-dev-app-password"),
            ("COGNITO_CLIENT_ID", LOCAL_WEB_CLIENT_ID),
            ("COGNITO_CLIENT_SECRET", LOCAL_WEB_CLIENT_SECRET),
            ("API_CLIENT_IDS", "6m2ch1ne0loca10c1ient0id0"),
            (
                "SESSION_ENCRYPTION_KEY",
                "local-demo-machine-client-secret-not-for-production",
            ),
            ("IDENTITY_POOL_ID", LOCAL_IDENTITY_POOL_ID),
            (
                "COGNITO_ISSUER",
                "http://127.0.0.1:9229/eu-west-1_L0caLP00l",
            ),
            ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY),
        ]))
        .unwrap_err();
        let ConfigError::NotForProduction(problems) = &err else {
            panic!("{err}");
        };
        let mut listed = names(problems);
        listed.dedup();
        assert_eq!(
            listed,
            [
                "DATABASE_PASSWORD",
                "COGNITO_CLIENT_ID",
                "API_CLIENT_IDS",
                "COGNITO_CLIENT_SECRET",
                "SESSION_ENCRYPTION_KEY",
                "IDENTITY_POOL_ID",
                "COGNITO_ISSUER",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "COGNITO_ISSUER",
            ]
        );
        let message = err.to_string();
        for secret in [
            "local-dev-app-password",
            LOCAL_WEB_CLIENT_SECRET,
            LOCAL_SECRET_ACCESS_KEY,
        ] {
            assert!(!message.contains(secret), "{message}");
        }
    }

    #[test]
    fn local_development_accepts_the_published_values() {
        let config = config_from(&[
            ("DATABASE_URL", LOCAL_DATABASE_URL),
            ("COGNITO_CLIENT_SECRET", LOCAL_WEB_CLIENT_SECRET),
            ("API_CLIENT_IDS", "6m2ch1ne0loca10c1ient0id0"),
            ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY),
        ]);
        assert!(config.is_ok(), "{config:?}");
        assert_eq!(
            database_password(LOCAL_DATABASE_URL).as_deref(),
            Some(LOCAL_DATABASE_PASSWORD)
        );
    }

    /// Every string under `key` anywhere in `json`.
    fn values_of<'a>(json: &'a serde_json::Value, key: &str, found: &mut Vec<&'a str>) {
        match json {
            serde_json::Value::Object(map) => {
                for (name, value) in map {
                    if name == key
                        && let Some(text) = value.as_str()
                    {
                        found.push(text);
                    }
                    values_of(value, key, found);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    values_of(item, key, found);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_published_values_cover_the_repositorys_local_settings_and_demo_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read_json = |path: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(root.join(path)).unwrap()).unwrap()
        };
        let files = [
            read_json("infra/local-aws/local.json"),
            read_json("infra/tenants/demo.json"),
            read_json("infra/local-aws/directories.json"),
        ];
        let mut secrets = Vec::new();
        let mut client_ids = Vec::new();
        for json in &files {
            for key in ["client_secret", "secret_access_key", "password"] {
                values_of(json, key, &mut secrets);
            }
            values_of(json, "client_id", &mut client_ids);
        }
        assert!(secrets.len() >= 8 && client_ids.len() >= 4);
        for secret in secrets {
            assert!(is_published_secret(secret), "{secret} is not listed");
        }
        for id in client_ids {
            assert!(PUBLISHED_CLIENT_IDS.contains(&id), "{id} is not listed");
        }
        let local = &files[0];
        assert_eq!(local["user_pools"][0]["name"], "tenants");
        assert_eq!(local["user_pools"][0]["user_pool_id"], LOCAL_USER_POOL_ID);
        assert_eq!(
            read_json("infra/config/identity-pool.json")["authenticated_role"]["bucket"],
            LOCAL_UPLOAD_BUCKET
        );
        assert_eq!(local["files_bucket"], LOCAL_FILES_BUCKET);
        assert_eq!(local["identity_pool_id"], LOCAL_IDENTITY_POOL_ID);
        assert_eq!(
            local["backend_s3_key"]["access_key_id"],
            LOCAL_ACCESS_KEY_ID
        );
        // `cargo xtask dev`'s database passwords.
        let dev = std::fs::read_to_string(root.join("xtask/src/dev.rs")).unwrap();
        let mut dev_passwords = 0;
        for line in dev.lines() {
            if let Some((_, rest)) = line.split_once("PASSWORD: &str = \"") {
                let password = rest.split('"').next().unwrap();
                assert!(is_published_secret(password), "{password} is not listed");
                dev_passwords += 1;
            }
        }
        assert_eq!(dev_passwords, 2);
    }

    #[test]
    fn this_machine_is_localhost_a_loopback_address_or_a_unix_socket() {
        for url in [
            "postgres://u:p@127.0.0.1:5432/saas",
            "postgres://u:p@127.1.2.3/saas",
            "postgres://u:p@localhost/saas",
            "postgres://u:p@[::1]:5432/saas",
            "postgres:///saas",
            "postgres:///saas?host=/var/run/postgresql",
            "postgres:///saas?host=%2Fvar%2Frun%2Fpostgresql",
            "http://127.0.0.1:9229",
        ] {
            assert!(is_on_this_machine(url), "{url}");
        }
        for url in [
            "postgres://u:p@db.example.com/saas",
            "postgres://u:p@10.0.0.5/saas",
            "postgres://u:p@localhost.example.com/saas",
            "postgres:///saas?host=db.example.com",
            "postgres://u:p@localhost/saas?hostaddr=10.0.0.5",
            "https://cognito-idp.eu-west-1.amazonaws.com",
            "not a url",
        ] {
            assert!(!is_on_this_machine(url), "{url}");
        }
    }

    #[test]
    fn a_database_beyond_this_machine_is_refused_with_a_published_password_naming_each_variable() {
        let vars: HashMap<&str, &str> = [
            (
                "DATABASE_OWNER_URL",
                "postgres://postgres:local-dev-owner-password@db.example.com/saas",
            ),
            (
                "DATABASE_URL",
                "postgres://saas_app_login@db.example.com/saas",
            ),
            ("DATABASE_PASSWORD", "local-dev-app-password"),
        ]
        .into_iter()
        .collect();
        let get = |name: &str| vars.get(name).map(|v| (*v).to_owned());
        let settings = [
            ("DATABASE_OWNER_URL", "DATABASE_OWNER_PASSWORD"),
            ("DATABASE_URL", "DATABASE_PASSWORD"),
        ];
        let err = refuse_published_database_passwords(&get, &settings).unwrap_err();
        assert!(
            matches!(&err, ConfigError::PublishedDatabasePassword(names)
                if names == &["DATABASE_OWNER_URL", "DATABASE_PASSWORD"]),
            "{err}"
        );
        assert!(!err.to_string().contains("local-dev"), "{err}");

        let local = |name: &str| match name {
            "DATABASE_URL" => Some(LOCAL_DATABASE_URL.to_owned()),
            "DATABASE_OWNER_URL" => {
                Some("postgres://postgres:local-dev-owner-password@127.0.0.1:55432/saas".to_owned())
            }
            _ => None,
        };
        assert!(refuse_published_database_passwords(&local, &settings).is_ok());
        let real = |name: &str| {
            (name == "DATABASE_URL")
                .then(|| "postgres://app:a-real-secret@db.example.com/saas".to_owned())
        };
        assert!(refuse_published_database_passwords(&real, &settings).is_ok());
    }

    #[test]
    fn the_session_key_is_base64_of_32_bytes_or_a_long_random_string() {
        let key = BASE64.encode([7u8; 32]);
        let config = config_from(&[("SESSION_ENCRYPTION_KEY", &key)]).unwrap();
        assert_eq!(config.session_encryption_key.as_bytes(), &[7u8; 32]);
        let generated = "Zk3Qm9Xw2Lp7Rt4Vn8Bc1Hd6Jf0Gs5Ya3Ue9Io2Pq7Rm4Tn";
        let config = config_from(&[("SESSION_ENCRYPTION_KEY", generated)]).unwrap();
        use sha2::Digest as _;
        let derived: [u8; 32] = sha2::Sha256::digest(generated.as_bytes()).into();
        assert_eq!(config.session_encryption_key.as_bytes(), &derived);
        let other =
            config_from(&[("SESSION_ENCRYPTION_KEY", &generated.replace('Z', "z"))]).unwrap();
        assert_ne!(other.session_encryption_key, config.session_encryption_key);
    }

    #[test]
    fn a_session_key_of_the_wrong_length_is_rejected_with_a_clear_message() {
        for short in [
            BASE64.encode([1u8; 16]),
            "correct horse battery staple".to_owned(),
        ] {
            let err = config_from(&[("SESSION_ENCRYPTION_KEY", &short)]).unwrap_err();
            assert!(
                err.to_string().starts_with("SESSION_ENCRYPTION_KEY"),
                "{err}"
            );
            assert!(err.to_string().contains("32 bytes"), "{err}");
            assert!(err.to_string().contains("43 characters"), "{err}");
        }
    }

    #[test]
    fn a_database_password_goes_into_the_url_and_needs_a_url() {
        let config = config_from(&[
            ("DATABASE_URL", "postgres://login@db.internal:5432/saas"),
            ("DATABASE_PASSWORD", "p@ss:w/rd"),
        ])
        .unwrap();
        let url = Url::parse(config.database_url.expose()).unwrap();
        assert_eq!(url.password(), Some("p%40ss%3Aw%2Frd"));
        let err = config_from(&[("DATABASE_PASSWORD", "p")]).unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_PASSWORD"), "{err}");
        let err = config_from(&[
            ("DATABASE_URL", "not a url with secret-ish text"),
            ("DATABASE_PASSWORD", "p"),
        ])
        .unwrap_err();
        assert!(!err.to_string().contains("secret-ish"), "{err}");
    }

    #[test]
    fn a_start_that_reaches_real_aws_is_no_local_development_whatever_public_url_says() {
        for (name, value) in [
            ("S3_ENDPOINT", "aws"),
            ("IDENTITY_POOL_ENDPOINT", "aws"),
            ("COGNITO_IDP_ENDPOINT", "aws"),
            (
                "COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
            ),
            (
                "COGNITO_AUTH_DOMAIN",
                "https://acme.auth.eu-west-1.amazoncognito.com",
            ),
        ] {
            let err = config_from(&[(name, value)]).unwrap_err();
            let ConfigError::NotForProduction(problems) = &err else {
                panic!("{name}={value}: {err}");
            };
            assert!(
                names(problems).contains(&"COGNITO_CLIENT_SECRET"),
                "{name}={value}: {err}"
            );
        }
        let config = config_of(&production(&[("PUBLIC_URL", "")])).unwrap();
        assert!(!config.is_local_development());
    }

    #[test]
    fn only_a_plain_http_localhost_url_is_local_development() {
        assert!(config_from(&[]).unwrap().is_local_development());
        assert!(!config_of(&production(&[])).unwrap().is_local_development());
    }

    #[test]
    fn trusted_proxy_networks_are_cidrs() {
        let config = config_from(&[("TRUSTED_PROXY_CIDRS", "10.40.0.0/16, fd00::/8")]).unwrap();
        assert_eq!(config.trusted_proxy_networks.len(), 2);
        let err = config_from(&[("TRUSTED_PROXY_CIDRS", "10.40.0.0")]).unwrap_err();
        assert!(err.to_string().starts_with("TRUSTED_PROXY_CIDRS"), "{err}");
    }

    #[test]
    fn the_reconcile_interval_is_minutes_and_zero_turns_it_off() {
        assert_eq!(
            config_from(&[]).unwrap().idp_reconcile_interval,
            Some(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            config_from(&[("IDP_RECONCILE_MINUTES", "0")])
                .unwrap()
                .idp_reconcile_interval,
            None
        );
        assert!(config_from(&[("IDP_RECONCILE_MINUTES", "-1")]).is_err());
    }

    #[test]
    fn a_public_deployment_keeps_provider_checks_off_private_addresses_and_off_this_machines_resolver()
     {
        let config = config_of(&production(&[])).unwrap();
        assert!(!config.sso.allow_private_addresses);
        assert_eq!(config.sso.dns_resolver, None, "the system's resolvers");
        assert_eq!(
            config.sso.entra_authority.as_str(),
            "https://login.microsoftonline.com/"
        );
        let refused = names(&problems_of(&[
            ("SSO_ALLOW_PRIVATE_ADDRESSES", "true"),
            ("DNS_RESOLVER", "127.0.0.1:9238"),
            ("ENTRA_AUTHORITY", "http://login.example.com"),
        ]));
        for name in [
            "SSO_ALLOW_PRIVATE_ADDRESSES",
            "DNS_RESOLVER",
            "ENTRA_AUTHORITY",
        ] {
            assert!(refused.contains(&name), "{name}: {refused:?}");
        }
        // A resolver of the deployment's own network is what a VPC offers: accepted.
        let config = config_of(&production(&[("DNS_RESOLVER", "10.0.0.2:53")])).unwrap();
        assert_eq!(
            config.sso.dns_resolver,
            Some("10.0.0.2:53".parse().unwrap())
        );
    }

    #[test]
    fn self_serve_sso_settings_default_to_the_stand_ins_locally_and_are_bounded() {
        let local = config_from(&[]).unwrap().sso;
        assert!(local.allow_private_addresses);
        assert_eq!(local.dns_resolver, Some("127.0.0.1:9238".parse().unwrap()));
        assert_eq!(local.setup_link_validity, time::Duration::days(7));
        assert_eq!(local.domain_lapse_after, time::Duration::days(7));
        assert_eq!(
            local.domain_recheck_interval,
            Some(std::time::Duration::from_secs(24 * 3600))
        );
        let set = config_from(&[
            ("DNS_RESOLVER", "system"),
            ("SETUP_LINK_DAYS", "30"),
            ("DOMAIN_RECHECK_HOURS", "0"),
            ("DOMAIN_LAPSE_DAYS", "30"),
        ])
        .unwrap()
        .sso;
        assert_eq!(set.dns_resolver, None);
        assert_eq!(set.setup_link_validity, time::Duration::days(30));
        assert_eq!(
            set.domain_recheck_interval, None,
            "0 turns the re-check off"
        );
        assert_eq!(set.domain_lapse_after, time::Duration::days(30));
        for (name, value) in [
            ("DNS_RESOLVER", "ns.example.com"),
            ("SETUP_LINK_DAYS", "0"),
            ("SETUP_LINK_DAYS", "31"),
            ("DOMAIN_RECHECK_HOURS", "721"),
            ("DOMAIN_LAPSE_DAYS", "-1"),
            ("SSO_ALLOW_PRIVATE_ADDRESSES", "sometimes"),
        ] {
            let err = config_from(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (name, value) in [
            ("BIND_ADDR", "localhost"),
            ("PUBLIC_URL", "not a url"),
            ("PUBLIC_URL", "ftp://example.com"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("SESSION_IDLE_MINUTES", "-5"),
            ("COOKIE_SECURE", "maybe"),
        ] {
            let err = config_from(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn huge_session_durations_are_configuration_errors_not_panics() {
        for (name, value) in [
            ("SESSION_IDLE_MINUTES", "9223372036854775807"),
            ("SESSION_IDLE_MINUTES", "99999999999999999"),
            ("SESSION_IDLE_MINUTES", "43201"),
            ("SESSION_ABSOLUTE_HOURS", "9223372036854775807"),
            ("SESSION_ABSOLUTE_HOURS", "2161"),
            ("SESSION_ABSOLUTE_HOURS", "99999999999999999999999"),
            ("SESSION_ABSOLUTE_HOURS", "0"),
        ] {
            let err = config_from(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{name}={value}: {err}");
        }
        let config = config_from(&[
            ("SESSION_IDLE_MINUTES", "43200"),
            ("SESSION_ABSOLUTE_HOURS", "2160"),
        ])
        .unwrap();
        assert_eq!(config.session_idle, time::Duration::days(30));
        assert_eq!(config.session_absolute, time::Duration::days(90));
    }

    #[test]
    fn the_user_pool_id_is_the_issuers_last_path_segment() {
        let mut config = Config::local_defaults();
        assert_eq!(config.user_pool_id(), Some("eu-west-1_L0caLP00l"));
        config.cognito_issuer =
            Url::parse("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/").unwrap();
        assert_eq!(config.user_pool_id(), Some("eu-west-1_AbC"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut config = Config::local_defaults();
        config.aws_credentials = Some(AwsKey::long_term("AKIAX", "aws-secret-value"));
        let printed = format!("{config:?}");
        assert!(!printed.contains(LOCAL_WEB_CLIENT_SECRET));
        assert!(!printed.contains("aws-secret-value"));
        assert!(!printed.contains("saas_api_local_password"));
    }

    #[test]
    fn cookie_secure_can_be_forced_either_way() {
        assert!(
            config_from(&[("COOKIE_SECURE", "true")])
                .unwrap()
                .cookie_secure
        );
        let config = config_of(&production(&[("COOKIE_SECURE", "false")])).unwrap();
        assert!(!config.cookie_secure);
    }

    #[test]
    fn storage_defaults_to_the_local_stand_ins_and_aws_means_the_real_service() {
        let local = config_from(&[]).unwrap().storage;
        assert_eq!(local, StorageConfig::local());

        let config = config_of(&production(&[
            ("AWS_REGION", "us-east-1"),
            (
                "IDENTITY_POOL_ID",
                "us-east-1:11111111-2222-4333-8444-555555555555",
            ),
        ]))
        .unwrap();
        let aws = &config.storage;
        assert_eq!(aws.region, "us-east-1");
        assert_eq!(aws.identity_pool_endpoint, None);
        assert_eq!(aws.s3_endpoint, None);
        assert_eq!(aws.bucket, "acme-uploads");
        assert_eq!(aws.files_bucket, "acme-files");
        assert!(matches!(
            config_from(&[("UPLOAD_BUCKET", "same"), ("FILES_BUCKET", "same")]),
            Err(ConfigError::Invalid {
                name: "FILES_BUCKET",
                ..
            })
        ));
        assert_eq!(
            config.aws_credentials, None,
            "real AWS uses the default credential chain"
        );
    }

    #[test]
    fn aws_credentials_come_as_a_pair_and_endpoints_must_be_urls() {
        assert!(config_from(&[("AWS_ACCESS_KEY_ID", "AKIAX")]).is_err());
        assert!(config_from(&[("S3_ENDPOINT", "not a url")]).is_err());
        assert!(config_from(&[("COGNITO_IDP_ENDPOINT", "not a url")]).is_err());
        let both = config_from(&[
            ("AWS_ACCESS_KEY_ID", "AKIAX"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(
            both.aws_credentials,
            Some(AwsKey {
                access_key_id: "AKIAX".to_owned(),
                secret_access_key: Secret::new("s"),
                session_token: Some(Secret::new("t")),
            })
        );
    }
}
