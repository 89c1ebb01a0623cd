//! The backend's configuration: one [`Config`] read from environment variables, with defaults for local development.
//!
//! Tests and embedders build a [`Config`] directly (start from [`Config::local_defaults`] and change fields);
//! the binary reads it with [`Config::from_env`].

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

/// The shortest `TRIGGER_SHARED_SECRET` accepted: 32 bytes (256 bits, e.g. `openssl rand -base64 32`).
pub const MIN_TRIGGER_SECRET_BYTES: usize = 32;
/// The longest `SESSION_IDLE_MINUTES` accepted (30 days).
pub const MAX_SESSION_IDLE_MINUTES: i64 = 30 * 24 * 60;
/// The longest `SESSION_ABSOLUTE_HOURS` accepted (90 days).
pub const MAX_SESSION_ABSOLUTE_HOURS: i64 = 90 * 24;

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
    /// `TRIGGER_SHARED_SECRET`: the secret the user pool sends in `x-trigger-secret` when it calls the
    /// pre-token-generation trigger over HTTP; at least [`MIN_TRIGGER_SECRET_BYTES`] bytes. Unset: the
    /// trigger route is not mounted at all.
    pub trigger_shared_secret: Option<Secret>,
    /// `SESSION_ENCRYPTION_KEY`: base64 of 32 random bytes; the AES-256-GCM key that encrypts the tokens kept
    /// in the session store. When unset and `PUBLIC_URL` is a plain-http localhost URL, a random key is made
    /// per process (sessions do not survive a restart) with a warning; anywhere else start-up fails.
    pub session_encryption_key: SessionKey,
    /// `SESSION_IDLE_MINUTES`: a session unused for this long expires. Default `30`.
    pub session_idle: time::Duration,
    /// `SESSION_ABSOLUTE_HOURS`: a session expires this long after sign-in, however active. Default `12`.
    pub session_absolute: time::Duration,
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
    /// Where uploads go: the identity pool that vends browser credentials and the S3 bucket.
    pub storage: StorageConfig,
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
    /// `S3_ENDPOINT`: the S3 endpoint (path-style); `aws` means the real service. Default: the local stand-in,
    /// `http://127.0.0.1:9234`. Browsers are sent to the same endpoint.
    pub s3_endpoint: Option<Url>,
    /// `S3_ACCESS_KEY_ID` and `S3_SECRET_ACCESS_KEY`: the backend's own S3 credentials (it checks, presigns
    /// and deletes objects with them). Unset: the default AWS credential chain (environment, instance or task
    /// role). Default: the local stand-in's backend key.
    pub s3_credentials: Option<(String, Secret)>,
}

impl StorageConfig {
    /// The local stand-ins' storage settings (`infra/config/identity-pool.json`, `infra/local-aws/local.json`).
    pub fn local() -> StorageConfig {
        StorageConfig {
            region: "eu-west-1".to_owned(),
            identity_pool_id: LOCAL_IDENTITY_POOL_ID.to_owned(),
            identity_pool_endpoint: Some(literal_url("http://127.0.0.1:9233")),
            bucket: "saas-reference-uploads".to_owned(),
            s3_endpoint: Some(literal_url("http://127.0.0.1:9234")),
            s3_credentials: Some((
                LOCAL_S3_ACCESS_KEY_ID.to_owned(),
                Secret::new(LOCAL_S3_SECRET_ACCESS_KEY),
            )),
        }
    }
}

impl StorageConfig {
    /// The storage settings for stand-ins running anywhere (tests start them on ephemeral ports).
    pub fn for_stand_ins(aws: &local_aws::LocalAws) -> Result<StorageConfig, url::ParseError> {
        let (key, secret) = aws.backend_s3_key();
        Ok(StorageConfig {
            region: aws.region().to_owned(),
            identity_pool_id: aws.identity_pool_id().to_owned(),
            identity_pool_endpoint: Some(Url::parse(&aws.identity_pool_endpoint())?),
            bucket: aws.bucket().to_owned(),
            s3_endpoint: Some(Url::parse(&aws.s3_endpoint())?),
            s3_credentials: Some((key, Secret::new(secret))),
        })
    }
}

/// The local identity pool's id (`infra/local-aws/local.json`).
const LOCAL_IDENTITY_POOL_ID: &str = "eu-west-1:10ca1000-0000-4000-8000-000000000001";
/// The local S3 stand-in's key for the backend (`infra/local-aws/local.json`); a demo secret for 127.0.0.1.
const LOCAL_S3_ACCESS_KEY_ID: &str = "AKIALOCALBACKEND0001";
/// Its secret.
const LOCAL_S3_SECRET_ACCESS_KEY: &str = "local-demo-backend-s3-secret-not-for-production";

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

    /// Parses the base64 (standard alphabet, padded) form used in `SESSION_ENCRYPTION_KEY`.
    pub fn from_base64(value: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            name: "SESSION_ENCRYPTION_KEY",
            reason: reason.to_owned(),
        };
        let bytes = BASE64
            .decode(value.trim())
            .map_err(|_| invalid("not valid base64"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            invalid("must decode to exactly 32 bytes (generate one with `openssl rand -base64 32`)")
        })?;
        Ok(SessionKey(bytes))
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
    /// No session encryption key is configured outside local development.
    #[error(
        "SESSION_ENCRYPTION_KEY must be set (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) \
         unless PUBLIC_URL is a plain-http localhost URL"
    )]
    MissingSessionKey,
}

impl Config {
    /// The local development configuration: every default, and a random session key.
    pub fn local_defaults() -> Config {
        let public_url = literal_url("http://localhost:3000");
        Config {
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            cookie_secure: !is_plain_http_localhost(&public_url),
            trust_x_forwarded_for: false,
            storage: StorageConfig::local(),
            public_url,
            database_url: Secret::new(
                "postgres://saas_api:saas_api_local_password@127.0.0.1:5432/saas",
            ),
            database_max_connections: 10,
            cognito_issuer: literal_url("http://127.0.0.1:9229/eu-west-1_L0caLP00l"),
            cognito_auth_domain: literal_url("http://127.0.0.1:9230"),
            cognito_client_id: LOCAL_WEB_CLIENT_ID.to_owned(),
            cognito_client_secret: Secret::new(LOCAL_WEB_CLIENT_SECRET),
            api_client_ids: Vec::new(),
            resource_server_id: "saas-api".to_owned(),
            trigger_shared_secret: None,
            session_encryption_key: SessionKey::random(),
            session_idle: time::Duration::minutes(30),
            session_absolute: time::Duration::hours(12),
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
        let database_url = get("DATABASE_URL")
            .map(Secret::new)
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
        let trigger_shared_secret = match get("TRIGGER_SHARED_SECRET") {
            Some(value) if value.len() < MIN_TRIGGER_SECRET_BYTES => {
                return Err(ConfigError::Invalid {
                    name: "TRIGGER_SHARED_SECRET",
                    reason: format!(
                        "must be at least {MIN_TRIGGER_SECRET_BYTES} bytes long (generate one with \
                         `openssl rand -base64 32`)"
                    ),
                });
            }
            value => value.map(Secret::new),
        };
        let session_encryption_key = match get("SESSION_ENCRYPTION_KEY") {
            Some(value) => SessionKey::from_base64(&value)?,
            None if is_plain_http_localhost(&public_url) => {
                tracing::warn!(
                    "SESSION_ENCRYPTION_KEY is not set: using a random key for this process \
                     (local development only; sessions end when the process stops)"
                );
                defaults.session_encryption_key
            }
            None => return Err(ConfigError::MissingSessionKey),
        };
        let session_idle = match get("SESSION_IDLE_MINUTES") {
            Some(value) => time::Duration::minutes(bounded(
                "SESSION_IDLE_MINUTES",
                &value,
                MAX_SESSION_IDLE_MINUTES,
            )?),
            None => defaults.session_idle,
        };
        let session_absolute = match get("SESSION_ABSOLUTE_HOURS") {
            Some(value) => time::Duration::hours(bounded(
                "SESSION_ABSOLUTE_HOURS",
                &value,
                MAX_SESSION_ABSOLUTE_HOURS,
            )?),
            None => defaults.session_absolute,
        };
        let web_dist_dir = get("WEB_DIST_DIR")
            .map(PathBuf::from)
            .unwrap_or(defaults.web_dist_dir);
        let cookie_secure = match get("COOKIE_SECURE") {
            Some(value) => parse_bool("COOKIE_SECURE", &value)?,
            None => !is_plain_http_localhost(&public_url),
        };
        let trust_x_forwarded_for = match get("TRUST_X_FORWARDED_FOR") {
            Some(value) => parse_bool("TRUST_X_FORWARDED_FOR", &value)?,
            None => false,
        };
        let storage = storage_from(&get, defaults.storage)?;

        Ok(Config {
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
            trigger_shared_secret,
            session_encryption_key,
            session_idle,
            session_absolute,
            web_dist_dir,
            cookie_secure,
            trust_x_forwarded_for,
            storage,
        })
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

/// Parses one of the URL literals above, which are known to be valid.
/// The storage settings from the environment over `defaults`. `aws` as an endpoint means the real service.
fn storage_from(
    get: &dyn Fn(&str) -> Option<String>,
    defaults: StorageConfig,
) -> Result<StorageConfig, ConfigError> {
    let endpoint = |name: &'static str, default: Option<Url>| match get(name) {
        Some(value) if value == "aws" => Ok(None),
        Some(value) => parse_url(name, &value).map(Some),
        None => Ok(default),
    };
    let s3_credentials = match (get("S3_ACCESS_KEY_ID"), get("S3_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Some((id, Secret::new(secret))),
        (None, None) => {
            // Pointing at real AWS without a key means the default credential chain, not the local key.
            if get("S3_ENDPOINT").as_deref() == Some("aws") {
                None
            } else {
                defaults.s3_credentials
            }
        }
        _ => {
            return Err(ConfigError::Invalid {
                name: "S3_ACCESS_KEY_ID",
                reason: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together".to_owned(),
            });
        }
    };
    Ok(StorageConfig {
        region: get("AWS_REGION").unwrap_or(defaults.region),
        identity_pool_id: get("IDENTITY_POOL_ID").unwrap_or(defaults.identity_pool_id),
        identity_pool_endpoint: endpoint(
            "IDENTITY_POOL_ENDPOINT",
            defaults.identity_pool_endpoint,
        )?,
        bucket: get("UPLOAD_BUCKET").unwrap_or(defaults.bucket),
        s3_endpoint: endpoint("S3_ENDPOINT", defaults.s3_endpoint)?,
        s3_credentials,
    })
}

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
        assert_eq!(config.session_idle, time::Duration::minutes(30));
        assert_eq!(config.session_absolute, time::Duration::hours(12));
        assert!(config.trigger_shared_secret.is_none());
        assert!(
            !config.cookie_secure,
            "browsers drop Secure cookies on plain-http localhost"
        );
    }

    #[test]
    fn a_public_deployment_without_a_session_key_refuses_to_start() {
        let err = config_from(&[("PUBLIC_URL", "https://app.example.com")]).unwrap_err();
        assert!(matches!(err, ConfigError::MissingSessionKey));
        assert!(err.to_string().contains("SESSION_ENCRYPTION_KEY"));
    }

    #[test]
    fn a_public_deployment_gets_secure_cookies_and_its_own_key() {
        let key = BASE64.encode([7u8; 32]);
        let config = config_from(&[
            ("PUBLIC_URL", "https://app.example.com"),
            ("SESSION_ENCRYPTION_KEY", &key),
            ("API_CLIENT_IDS", " machine-a, ,machine-b "),
            ("TRIGGER_SHARED_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap();
        assert!(config.cookie_secure);
        assert_eq!(config.session_encryption_key.as_bytes(), &[7u8; 32]);
        assert_eq!(
            config.accepted_client_ids(),
            vec![LOCAL_WEB_CLIENT_ID, "machine-a", "machine-b"]
        );
        assert_eq!(
            config.trigger_shared_secret.as_ref().map(Secret::expose),
            Some("0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn a_session_key_of_the_wrong_length_is_rejected_with_a_clear_message() {
        let err =
            config_from(&[("SESSION_ENCRYPTION_KEY", &BASE64.encode([1u8; 16]))]).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
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
    fn a_trigger_secret_shorter_than_32_bytes_is_refused() {
        let err =
            config_from(&[("TRIGGER_SHARED_SECRET", "local-demo-trigger-secret")]).unwrap_err();
        assert!(
            err.to_string().starts_with("TRIGGER_SHARED_SECRET"),
            "{err}"
        );
        assert!(err.to_string().contains("32 bytes"), "{err}");
        let config = config_from(&[("TRIGGER_SHARED_SECRET", &"x".repeat(32))]).unwrap();
        assert!(config.trigger_shared_secret.is_some());
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
        config.trigger_shared_secret = Some(Secret::new("trigger-secret-value"));
        let printed = format!("{config:?}");
        assert!(!printed.contains(LOCAL_WEB_CLIENT_SECRET));
        assert!(!printed.contains("trigger-secret-value"));
        assert!(!printed.contains("saas_api_local_password"));
    }

    #[test]
    fn cookie_secure_can_be_forced_either_way() {
        assert!(
            config_from(&[("COOKIE_SECURE", "true")])
                .unwrap()
                .cookie_secure
        );
        let key = BASE64.encode([7u8; 32]);
        let config = config_from(&[
            ("PUBLIC_URL", "https://a.example"),
            ("SESSION_ENCRYPTION_KEY", &key),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap();
        assert!(!config.cookie_secure);
    }

    #[test]
    fn storage_defaults_to_the_local_stand_ins_and_aws_means_the_real_service() {
        let local = config_from(&[]).unwrap().storage;
        assert_eq!(local, StorageConfig::local());
        assert!(local.s3_credentials.is_some());

        let aws = config_from(&[
            ("AWS_REGION", "us-east-1"),
            (
                "IDENTITY_POOL_ID",
                "us-east-1:11111111-2222-4333-8444-555555555555",
            ),
            ("IDENTITY_POOL_ENDPOINT", "aws"),
            ("S3_ENDPOINT", "aws"),
            ("UPLOAD_BUCKET", "acme-uploads"),
        ])
        .unwrap()
        .storage;
        assert_eq!(aws.region, "us-east-1");
        assert_eq!(aws.identity_pool_endpoint, None);
        assert_eq!(aws.s3_endpoint, None);
        assert_eq!(aws.bucket, "acme-uploads");
        assert_eq!(
            aws.s3_credentials, None,
            "real AWS uses the default credential chain"
        );
    }

    #[test]
    fn s3_credentials_come_as_a_pair_and_endpoints_must_be_urls() {
        assert!(config_from(&[("S3_ACCESS_KEY_ID", "AKIAX")]).is_err());
        assert!(config_from(&[("S3_ENDPOINT", "not a url")]).is_err());
        let both = config_from(&[("S3_ACCESS_KEY_ID", "AKIAX"), ("S3_SECRET_ACCESS_KEY", "s")])
            .unwrap()
            .storage;
        assert_eq!(
            both.s3_credentials,
            Some(("AKIAX".to_owned(), Secret::new("s")))
        );
    }
}
