//! Local stand-ins for Amazon Cognito (user pool and its hosted endpoints) and for the enterprise identity
//! providers the demo tenants sign in with (a mock Microsoft Entra ID and a mock Okta).
//!
//! They are real protocol servers: OIDC discovery, JWKS, authorization code + PKCE, federation through
//! `/oauth2/idpresponse`, the pre-token-generation trigger (event version 2) invoked as a Lambda function
//! through a Lambda stand-in ([`lambda`]) that runs its `bootstrap` behind the Runtime API, refresh,
//! revocation, userInfo, logout and client credentials, with the claim shapes and error shapes of the real
//! services. The application tells them from AWS only by URL.
//!
//! Each real host gets its own listener ([`Ports`]): `cognito-idp.<region>.amazonaws.com` (every pool's issuer,
//! discovery and JWKS under `/<poolId>`, and the user-pool API for identity providers and app clients,
//! SigV4-signed and decided by the caller's IAM policy), each user pool's domain
//! `<domain>.auth.<region>.amazoncognito.com` (hosted endpoints; the tenants' pool and the others of
//! `local.json`, such as the operators' pool, each on a port of its own),
//! `login.microsoftonline.com` (Entra ID, one or more directories by tenant id) and `<org>.okta.com` (Okta:
//! every org of `directories.json` on a listener of its own, as each org is a host of its own; the first on
//! `Ports::okta`, the others on `Ports::okta_orgs`, found by [`LocalAws::okta_org_base`]).
//!
//! Beside them, [`dns`] is the authoritative name server of the demo customers' zones (`acme.example`,
//! `globex.example`, `initech.example`), answering UDP and TCP on one port ([`LocalAws::dns_addr`]), where a
//! customer's IT administrator publishes records such as a domain-verification TXT record: they are set and
//! removed while everything runs through [`LocalAws::dns`], or by a person through an admin listener of its
//! own ([`LocalAws::dns_admin_url`]).
//!
//! Deliberate simplifications, none of which the application can observe in a way that matters:
//! no single sign-on session at the pool or at the IdPs (every sign-in shows the IdP's login form, which
//! keeps tests deterministic), all state in memory, and IdP discovery repeated on every federated sign-in
//! instead of cached.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use local_aws::{LocalAws, Ports, config::LocalAwsConfig};
//! let config = LocalAwsConfig::load(std::path::Path::new("infra"))?;
//! let aws = LocalAws::start(config, "127.0.0.1".parse()?, Ports::ephemeral()).await?;
//! println!("issuer {}", aws.issuer());
//! aws.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod credentials;
pub mod dns;
pub mod iam;
mod identity_pool;
mod idp;
mod keys;
pub mod lambda;
pub mod mail;
mod oauth;
pub mod s3;
mod sigv4;
mod store;
mod trigger;
mod user_pool;
mod web;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::LocalAwsConfig;
use crate::keys::SigningKey;
pub use crate::keys::{KeyAdmin, KeyError};
pub use crate::user_pool::totp_code;

/// The listeners' ports, one per real host name. `0` binds an ephemeral port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    /// `cognito-idp.<region>.amazonaws.com`: issuer, discovery, JWKS.
    pub cognito_idp: u16,
    /// The tenants' user pool domain: `/oauth2/*`, `/login`, `/logout`.
    pub auth: u16,
    /// The domains of the other user pools, by the pool's logical name (`operators`); a pool not named
    /// here gets an ephemeral port.
    #[serde(default)]
    pub user_pool_domains: std::collections::BTreeMap<String, u16>,
    /// `login.microsoftonline.com`: the mock Entra ID.
    pub entra: u16,
    /// `<org>.okta.com` of the first Okta org of `directories.json`: the mock Okta.
    pub okta: u16,
    /// The listeners of the other Okta orgs (`initech.okta.com`), by org name; an org not named here gets an
    /// ephemeral port.
    #[serde(default)]
    pub okta_orgs: std::collections::BTreeMap<String, u16>,
    /// `cognito-identity.<region>.amazonaws.com`: the identity pool.
    #[serde(default)]
    pub cognito_identity: u16,
    /// `s3.<region>.amazonaws.com` (path-style): the upload bucket.
    #[serde(default)]
    pub s3: u16,
    /// `lambda.<region>.amazonaws.com`: Lambda's `Invoke` (the pre-token-generation trigger's function).
    #[serde(default)]
    pub lambda: u16,
    /// The outbox where the pools' emails land (`crate::mail`), in place of Amazon SES and an inbox.
    #[serde(default)]
    pub mail: u16,
    /// The authoritative name server of the demo zones ([`dns`]), UDP and TCP on the same port.
    #[serde(default)]
    pub dns: u16,
    /// The DNS stand-in's admin listener: its records for a person and the JSON API that changes them.
    #[serde(default)]
    pub dns_admin: u16,
}

impl Ports {
    /// All ports 0: every listener gets a free port (tests).
    pub fn ephemeral() -> Ports {
        Ports {
            cognito_idp: 0,
            auth: 0,
            user_pool_domains: std::collections::BTreeMap::new(),
            entra: 0,
            okta: 0,
            okta_orgs: std::collections::BTreeMap::new(),
            cognito_identity: 0,
            s3: 0,
            lambda: 0,
            mail: 0,
            dns: 0,
            dns_admin: 0,
        }
    }
}

/// An app client's credentials, for tests and tools that act as that client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret (empty for a public client).
    pub client_secret: String,
}

/// The base URLs of the running listeners.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    /// `http://<host>:<cognito_idp port>/<userPoolId>` of the tenants' pool (in a pool's own copy, that
    /// pool's).
    pub issuer: String,
    /// `http://<host>:<auth port>`, the tenants' pool domain (in a pool's own copy, that pool's).
    pub auth_domain: String,
    /// `http://<host>:<entra port>`.
    pub entra: String,
    /// `http://<host>:<okta port>`.
    pub okta: String,
    /// `http://<host>:<cognito_identity port>`.
    pub identity_pool: String,
    /// `http://<host>:<s3 port>`.
    pub s3: String,
    /// `http://<host>:<lambda port>`: where the pool invokes its trigger.
    pub lambda: String,
    /// `http://<host>:<mail port>`: the outbox.
    pub mail: String,
}

/// One Okta org's listener.
struct OktaOrgListener {
    org: Arc<idp::okta::Okta>,
    listener: TcpListener,
}

/// The running stand-ins. Dropping the value or calling [`LocalAws::shutdown`] stops every listener.
pub struct LocalAws {
    config: Arc<LocalAwsConfig>,
    urls: Urls,
    keys: KeyAdmin,
    entra: Arc<idp::entra::Entra>,
    /// Every Okta org, the first of `directories.json` first (or an empty org when there is none).
    okta: Vec<Arc<idp::okta::Okta>>,
    /// The tenants' pool.
    pool: Arc<user_pool::Pool>,
    /// Every pool, the tenants' first.
    pools: user_pool::Pools,
    credentials: credentials::CredentialStore,
    /// The S3 stand-in: its lifecycle sweep, and its temporary directory, removed when the stand-ins stop.
    s3: s3::S3StandIn,
    /// Dropped with the stand-ins: every function instance is stopped, its process killed.
    lambda: lambda::Lambda,
    /// Every email the pools sent.
    outbox: mail::Outbox,
    /// The DNS stand-in's zones and records.
    dns: dns::Zones,
    /// Where the name server answers, UDP and TCP.
    dns_addr: SocketAddr,
    /// `http://<host>:<dns_admin port>`.
    dns_admin_url: String,
    /// While set, the `cognito-idp` host answers every request 503 (see [`LocalAws::set_cognito_idp_down`]).
    cognito_idp_down: Arc<AtomicBool>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalAws {
    /// Binds the listeners on `bind`, generates fresh signing keys and serves until shut down. S3 objects
    /// live in a temporary directory removed at shutdown.
    pub async fn start(
        config: LocalAwsConfig,
        bind: IpAddr,
        ports: Ports,
    ) -> anyhow::Result<LocalAws> {
        LocalAws::start_with_s3(config, bind, ports, s3::S3Options::default()).await
    }

    /// Like [`LocalAws::start`], with the S3 stand-in's storage and authorization chosen by `s3_options`.
    pub async fn start_with_s3(
        config: LocalAwsConfig,
        bind: IpAddr,
        ports: Ports,
        s3_options: s3::S3Options,
    ) -> anyhow::Result<LocalAws> {
        validate(&config, &ports)?;
        let cognito_listener = listen(bind, ports.cognito_idp, "cognito-idp").await?;
        let auth_listener = listen(bind, ports.auth, "auth").await?;
        let mut other_domain_listeners = Vec::new();
        for pool in &config.other_user_pools {
            let port = ports
                .user_pool_domains
                .get(&pool.name)
                .copied()
                .unwrap_or(0);
            other_domain_listeners.push(listen(bind, port, "user pool domain").await?);
        }
        let entra_listener = listen(bind, ports.entra, "entra").await?;
        let okta_listener = listen(bind, ports.okta, "okta").await?;
        // Each further org is another host: another listener, on its port of `okta_orgs` or an ephemeral one.
        let mut other_okta_listeners = Vec::new();
        for org in config.directories.okta.iter().skip(1) {
            let port = ports
                .okta_orgs
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&org.org))
                .map_or(0, |(_, port)| *port);
            other_okta_listeners.push(listen(bind, port, "okta org").await?);
        }
        let identity_listener = listen(bind, ports.cognito_identity, "cognito-identity").await?;
        let s3_listener = listen(bind, ports.s3, "s3").await?;
        let lambda_listener = listen(bind, ports.lambda, "lambda").await?;
        let mail_listener = listen(bind, ports.mail, "mail").await?;
        let (dns_udp, dns_tcp) = dns::bind(bind, ports.dns).await?;
        let dns_admin_listener = listen(bind, ports.dns_admin, "dns admin").await?;

        // URLs name the loopback address when listening on all interfaces: a browser cannot go to 0.0.0.0.
        let host = match bind {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            other => other,
        };
        let base = |listener: &TcpListener| -> anyhow::Result<String> {
            let port = listener
                .local_addr()
                .context("reading a listener's address")?
                .port();
            Ok(format!("http://{}", SocketAddr::new(host, port)))
        };
        let cognito_idp = base(&cognito_listener)?;
        let urls = Urls {
            issuer: format!("{cognito_idp}/{}", config.user_pool.user_pool_id),
            auth_domain: base(&auth_listener)?,
            entra: base(&entra_listener)?,
            okta: base(&okta_listener)?,
            identity_pool: base(&identity_listener)?,
            s3: base(&s3_listener)?,
            lambda: base(&lambda_listener)?,
            mail: base(&mail_listener)?,
        };

        // 2048-bit keys, two for each pool and one for each IdP: generate them side by side off the async
        // threads.
        let pool_keys = tokio::task::spawn_blocking(KeyAdmin::generate);
        let other_pool_keys: Vec<_> = config
            .other_user_pools
            .iter()
            .map(|_| tokio::task::spawn_blocking(KeyAdmin::generate))
            .collect();
        let entra_key = tokio::task::spawn_blocking(SigningKey::generate);
        // Each Okta org signs with a key of its own, as each real org does.
        let okta_keys: Vec<_> = (0..=other_okta_listeners.len())
            .map(|_| tokio::task::spawn_blocking(SigningKey::generate))
            .collect();
        let keys = pool_keys.await.context("key generation task")??;
        let mut other_keys = Vec::new();
        for task in other_pool_keys {
            other_keys.push(task.await.context("key generation task")??);
        }
        let entra_key = entra_key.await.context("key generation task")??;
        let mut okta_keys_generated = Vec::new();
        for task in okta_keys {
            okta_keys_generated.push(task.await.context("key generation task")??);
        }
        let mut okta_keys = okta_keys_generated.into_iter();

        let lambda = lambda::Lambda::new(lambda::LambdaSettings {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            functions: config
                .user_pools()
                .filter_map(|pool| pool.trigger.clone())
                .collect(),
        })?;
        let config = Arc::new(config);
        let http = reqwest::Client::builder()
            // Following redirects from an IdP or the trigger would open the pool to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;

        let credentials = credentials::CredentialStore::default();
        credentials.register_long_term(
            &config.backend_user.access_key_id,
            &config.backend_user.secret_access_key,
            &config.backend_user.arn,
        );
        credentials.register_long_term(
            &config.operator_admin.access_key_id,
            &config.operator_admin.secret_access_key,
            &config.operator_admin.arn,
        );
        let s3 = s3::S3StandIn::new(config.s3_settings(), credentials.clone(), s3_options)?;
        let outbox = mail::Outbox::default();
        let pool = user_pool::Pool::new(
            config.clone(),
            config.user_pool.clone(),
            urls.clone(),
            keys.clone(),
            http.clone(),
            outbox.clone(),
        );
        let mut pools = vec![pool.clone()];
        let mut other_domains = Vec::new();
        for ((settings, listener), keys) in config
            .other_user_pools
            .iter()
            .zip(other_domain_listeners)
            .zip(other_keys)
        {
            let pool_urls = Urls {
                issuer: format!("{cognito_idp}/{}", settings.user_pool_id),
                auth_domain: base(&listener)?,
                ..urls.clone()
            };
            let other = user_pool::Pool::new(
                config.clone(),
                settings.clone(),
                pool_urls,
                keys,
                http.clone(),
                outbox.clone(),
            );
            pools.push(other.clone());
            other_domains.push((listener, other));
        }
        let pools = user_pool::Pools::new(config.clone(), credentials.clone(), pools);
        let identity_pool = identity_pool::IdentityPool::new(
            config.clone(),
            urls.issuer.clone(),
            keys.clone(),
            credentials.clone(),
            pool.clone(),
        );
        let entra = idp::entra::Entra::new(&config, &urls, entra_key);
        let first_okta_key = okta_keys
            .next()
            .context("a signing key for the first Okta org")?;
        let first_okta = idp::okta::Okta::new(
            config.directories.okta.first(),
            &urls.okta,
            &urls,
            first_okta_key,
        )?;
        let mut okta_orgs = Vec::new();
        for ((org, listener), key) in config
            .directories
            .okta
            .iter()
            .skip(1)
            .zip(other_okta_listeners)
            .zip(okta_keys)
        {
            let org = idp::okta::Okta::new(Some(org), &base(&listener)?, &urls, key)?;
            okta_orgs.push(OktaOrgListener { org, listener });
        }
        let okta: Vec<Arc<idp::okta::Okta>> = std::iter::once(first_okta.clone())
            .chain(okta_orgs.iter().map(|o| o.org.clone()))
            .collect();
        let dns_addr = SocketAddr::new(
            host,
            dns_udp
                .local_addr()
                .context("reading the DNS listener's address")?
                .port(),
        );
        let dns_admin_url = base(&dns_admin_listener)?;
        let zones = dns::Zones::new(&dns::check_zones(&config.dns.zones)?, host)?;
        for record in &config.dns.records {
            zones
                .set_txt(&record.name, record.values.clone())
                .await
                .with_context(|| format!("local.json: the DNS record {}", record.name))?;
        }

        let (shutdown, _) = watch::channel(false);
        let cognito_idp_down = Arc::new(AtomicBool::new(false));
        let mut tasks = vec![
            serve(
                cognito_listener,
                user_pool::cognito_idp_router(pools.clone())
                    .layer(axum::middleware::from_fn(outage(cognito_idp_down.clone()))),
                &shutdown,
                "cognito-idp",
            ),
            serve(
                auth_listener,
                user_pool::auth_router(pool.clone()),
                &shutdown,
                "auth",
            ),
            serve(
                entra_listener,
                idp::entra::router(entra.clone()),
                &shutdown,
                "entra",
            ),
            serve(
                okta_listener,
                idp::okta::router(first_okta),
                &shutdown,
                "okta",
            ),
            serve(
                identity_listener,
                identity_pool::router(identity_pool),
                &shutdown,
                "cognito-identity",
            ),
            serve(s3_listener, s3.router(), &shutdown, "s3"),
            serve(lambda_listener, lambda.router(), &shutdown, "lambda"),
            serve(
                mail_listener,
                mail::router(outbox.clone()),
                &shutdown,
                "mail",
            ),
            dns::serve(&zones, dns_udp, dns_tcp, &shutdown),
            serve(
                dns_admin_listener,
                dns::admin_router(zones.clone(), dns_addr, dns_admin_url.clone()),
                &shutdown,
                "dns admin",
            ),
        ];
        for OktaOrgListener { org, listener } in okta_orgs {
            tracing::info!(org = %org.org(), okta = %org.base(), "okta org listening");
            tasks.push(serve(
                listener,
                idp::okta::router(org),
                &shutdown,
                "okta org",
            ));
        }
        for (listener, other) in other_domains {
            tracing::info!(pool = %other.settings.name, issuer = %other.urls.issuer, auth = %other.urls.auth_domain,
                "user pool listening");
            tasks.push(serve(
                listener,
                user_pool::auth_router(other),
                &shutdown,
                "user pool domain",
            ));
        }
        tracing::info!(issuer = %urls.issuer, auth = %urls.auth_domain, entra = %urls.entra, okta = %urls.okta,
            identity_pool = %urls.identity_pool, s3 = %urls.s3, lambda = %urls.lambda, mail = %urls.mail,
            dns = %dns_addr, dns_admin = %dns_admin_url, "local AWS stand-ins listening");
        Ok(LocalAws {
            config,
            urls,
            keys,
            pool,
            pools,
            entra,
            okta,
            credentials,
            s3,
            lambda,
            outbox,
            dns: zones,
            dns_addr,
            dns_admin_url,
            cognito_idp_down,
            shutdown,
            tasks,
        })
    }

    /// The user pool's issuer: `http://127.0.0.1:<port>/<userPoolId>` (no trailing slash).
    pub fn issuer(&self) -> String {
        self.urls.issuer.clone()
    }

    /// The base of the hosted endpoints (`/oauth2/authorize`, `/oauth2/token`, `/login`, `/logout`, ...).
    pub fn auth_domain(&self) -> String {
        self.urls.auth_domain.clone()
    }

    /// The mock Entra ID's base URL (`login.microsoftonline.com`'s stand-in).
    pub fn entra_base(&self) -> String {
        self.urls.entra.clone()
    }

    /// The base URL of the first Okta org of `directories.json` (`<org>.okta.com`'s stand-in).
    pub fn okta_base(&self) -> String {
        self.urls.okta.clone()
    }

    /// The base URL of the Okta org `org` (`https://<org>.okta.com`'s stand-in, each org on its own listener),
    /// compared without regard to case; `None` for an org `directories.json` does not have.
    pub fn okta_org_base(&self, org: &str) -> Option<String> {
        self.okta_org(org).map(|okta| okta.base().to_owned())
    }

    /// The issuer of the Okta org `org`'s default authorization server (`<org base>/oauth2/default`), the
    /// `oidc_issuer` of a pool identity provider for that org; `None` for an org `directories.json` does not
    /// have.
    pub fn okta_org_issuer(&self, org: &str) -> Option<String> {
        self.okta_org(org).map(|okta| okta.issuer().to_owned())
    }

    /// The Okta orgs' names, the first (on [`LocalAws::okta_base`]) first.
    pub fn okta_orgs(&self) -> Vec<String> {
        self.okta
            .iter()
            .map(|okta| okta.org().to_owned())
            .filter(|org| !org.is_empty())
            .collect()
    }

    fn okta_org(&self, org: &str) -> Option<&idp::okta::Okta> {
        self.okta
            .iter()
            .find(|okta| !okta.org().is_empty() && okta.org().eq_ignore_ascii_case(org))
            .map(Arc::as_ref)
    }

    /// The issuer of the mock Entra ID directory `tenant_id` (`<entra_base>/<tenant id>/v2.0`), the
    /// `oidc_issuer` of a pool identity provider for that directory. Whether the directory exists is not checked
    /// here: Entra answers an unknown tenant's discovery with `invalid_tenant`.
    pub fn entra_issuer(&self, tenant_id: &str) -> String {
        idp::entra_issuer(&self.urls.entra, tenant_id)
    }

    /// The issuer of the first Okta org's default authorization server (`<okta_base>/oauth2/default`).
    pub fn okta_issuer(&self) -> String {
        idp::okta_issuer(&self.urls.okta)
    }

    /// The endpoint of the user-pool API (`https://cognito-idp.<region>.amazonaws.com`'s stand-in): the
    /// `cognito_idp` listener's base URL, which AWS SDK clients take as their endpoint URL.
    pub fn user_pool_endpoint(&self) -> String {
        self.urls
            .issuer
            .strip_suffix(&format!("/{}", self.config.user_pool.user_pool_id))
            .unwrap_or(&self.urls.issuer)
            .to_owned()
    }

    /// The user pool's ARN, `arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>`: the resource of the
    /// user-pool API's IAM decisions.
    pub fn user_pool_arn(&self) -> String {
        user_pool::user_pool_arn(
            &self.config.region,
            &self.config.account_id,
            &self.config.user_pool.user_pool_id,
        )
    }

    /// The identity pool's endpoint (`cognito-identity.<region>.amazonaws.com`'s stand-in).
    pub fn identity_pool_endpoint(&self) -> String {
        self.urls.identity_pool.clone()
    }

    /// The identity pool id, `<region>:<uuid>`.
    pub fn identity_pool_id(&self) -> &str {
        &self.config.identity_pool.id
    }

    /// The S3 stand-in's endpoint (path-style: `<endpoint>/<bucket>/<key>`).
    pub fn s3_endpoint(&self) -> String {
        self.urls.s3.clone()
    }

    /// Applies the upload bucket's lifecycle rules as S3's lifecycle run would at `now`: aborts the
    /// incomplete multipart uploads and deletes the objects whose due time (days after initiation or
    /// creation, rounded up to midnight UTC) is `now` or earlier, and reports what it did. The stand-in runs
    /// the same sweep with the real time at start and every ten minutes; tests call this to move the clock
    /// forward by days.
    pub async fn s3_lifecycle_sweep(&self, now: std::time::SystemTime) -> s3::LifecycleSweep {
        self.s3.sweep_lifecycle(now).await
    }

    /// The Lambda stand-in's `Invoke` endpoint (`lambda.<region>.amazonaws.com`'s stand-in).
    pub fn lambda_endpoint(&self) -> String {
        self.urls.lambda.clone()
    }

    /// The DNS stand-in's records: set and remove TXT records of the served zones while everything runs.
    pub fn dns(&self) -> dns::Zones {
        self.dns.clone()
    }

    /// Where the DNS stand-in answers queries, over UDP and TCP on the same port: the name server a resolver
    /// is pointed at.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// The DNS stand-in's admin listener: `/` lists the records for a person, `/records` as JSON, and
    /// `PUT`/`DELETE /records/txt/<name>` change them.
    pub fn dns_admin_url(&self) -> String {
        self.dns_admin_url.clone()
    }

    /// The outbox's base URL: `/` lists the pools' emails for a person, `/messages?to=` as JSON.
    pub fn mail_url(&self) -> String {
        self.urls.mail.clone()
    }

    /// Every email the pools sent (invitations, reset codes), for tests and tools in-process.
    pub fn outbox(&self) -> &mail::Outbox {
        &self.outbox
    }

    /// The Lambda stand-in: invoke its functions, watch their instances, read their cold starts.
    pub fn lambda(&self) -> &lambda::Lambda {
        &self.lambda
    }

    /// The upload bucket: the identity pool role's bucket, where browsers write.
    pub fn bucket(&self) -> &str {
        &self.config.identity_pool.bucket
    }

    /// The bucket of recorded files, which only the backend writes.
    pub fn files_bucket(&self) -> &str {
        &self.config.files_bucket
    }

    /// The backend's own S3 key (access key id, secret), from `local.json`.
    pub fn backend_s3_key(&self) -> (String, String) {
        (
            self.config.backend_user.access_key_id.clone(),
            self.config.backend_user.secret_access_key.clone(),
        )
    }

    /// The operator administrators' key (access key id, secret), from `local.json`: the principal allowed to
    /// manage the operators' pool's users.
    pub fn operator_admin_key(&self) -> (String, String) {
        (
            self.config.operator_admin.access_key_id.clone(),
            self.config.operator_admin.secret_access_key.clone(),
        )
    }

    /// The role sessions the identity pool issued (the S3 stand-in checks requests against them).
    pub fn credentials(&self) -> credentials::CredentialStore {
        self.credentials.clone()
    }

    /// The user pool id.
    pub fn user_pool_id(&self) -> &str {
        &self.config.user_pool.user_pool_id
    }

    /// The user pool with this logical name (`tenants`, `operators`), for tools and tests that sign in
    /// through it.
    pub fn user_pool(&self, name: &str) -> Option<UserPool<'_>> {
        self.pools
            .iter()
            .find(|pool| pool.settings.name == name)
            .map(|pool| UserPool { pool })
    }

    /// The pool's region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The id and secret of the app client with this logical name (`web`, `machine`).
    pub fn client(&self, name: &str) -> Option<ClientCredentials> {
        let client = self.config.user_pool.clients.get(name)?;
        Some(ClientCredentials {
            client_id: client.client_id.clone(),
            client_secret: client.client_secret.clone().unwrap_or_default(),
        })
    }

    /// Takes the `cognito-idp` host (the issuer's discovery document and key set, the user-pool API) down, or
    /// brings it back: while down it answers every request `503 ServiceUnavailable`, as a regional outage
    /// would, and the pool's hosted endpoints (sign-in, token) keep working. For outage tests of the
    /// applications that fetch the pool's keys.
    pub fn set_cognito_idp_down(&self, down: bool) {
        self.cognito_idp_down.store(down, Ordering::SeqCst);
    }

    /// A handle on the pool's signing keys, for rotation without restart.
    pub fn keys(&self) -> KeyAdmin {
        self.keys.clone()
    }

    /// Sets the access- and ID-token lifetimes of the app client with this logical name (`web`) while
    /// everything runs, beyond what `UpdateUserPoolClient` accepts (Cognito's minimum is 5 minutes), so that
    /// tests can watch tokens expire within seconds. `DescribeUserPoolClient` then reports the lifetimes in
    /// seconds. Returns `false` for an unknown client.
    pub fn set_token_lifetimes(&self, client: &str, access: Duration, id: Duration) -> bool {
        let Some(client_id) = self
            .config
            .user_pool
            .clients
            .get(client)
            .map(|c| c.client_id.clone())
        else {
            return false;
        };
        self.pool.state.set_token_lifetimes(&client_id, access, id)
    }

    /// Changes a user of the mock Entra ID (found by user principal name, in any directory) while everything
    /// runs, the way a directory administrator would: the user's next sign-in sees the change (removed app
    /// roles, a new name, ...). Returns `false` when no directory has the user.
    pub fn update_entra_user(
        &self,
        user_principal_name: &str,
        change: impl FnOnce(&mut config::EntraUser),
    ) -> bool {
        self.entra.update_user(user_principal_name, change)
    }

    /// Changes a user of the mock Okta (found by login, in whichever org has it) while everything runs; the
    /// user's next sign-in sees the change. Returns `false` when no org has such a user.
    pub fn update_okta_user(
        &self,
        login: &str,
        change: impl FnOnce(&mut config::OktaUser),
    ) -> bool {
        match self.okta.iter().find(|okta| okta.has_user(login)) {
            Some(okta) => okta.update_user(login, change),
            None => false,
        }
    }

    /// Signs arbitrary claims with the current access-token key, for tests that need tokens the pool would
    /// never issue (expired, wrong `token_use`, foreign client, ...).
    ///
    /// # Panics
    /// Never for a JSON value: RS256 signing with a generated key cannot fail.
    #[allow(
        clippy::expect_used,
        reason = "signing a JSON value with a valid RSA key cannot fail"
    )]
    pub fn sign_access_token(&self, claims: &serde_json::Value) -> String {
        self.keys
            .sign_access(claims)
            .expect("signing with the pool's access-token key")
    }

    /// Signs arbitrary claims with the current ID-token key, for tests that need ID tokens the pool would
    /// never issue (expired, foreign audience, extra claims, ...).
    ///
    /// The token stands for a live sign-in of the pool, as the identity pool's server-side token check wants
    /// it: claims without `cognito:username` get `test_<sub>`, claims without `origin_jti` a fresh one, and
    /// the pool gets a user of that name if it has none. A token naming a sign-in revoked at
    /// `/oauth2/revoke` stays revoked.
    ///
    /// # Panics
    /// Never for a JSON value: RS256 signing with a generated key cannot fail.
    #[allow(
        clippy::expect_used,
        reason = "signing a JSON value with a valid RSA key cannot fail"
    )]
    pub fn sign_id_token(&self, claims: &serde_json::Value) -> String {
        let mut claims = claims.clone();
        if let Some(object) = claims.as_object_mut() {
            let sub = object
                .get("sub")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("anonymous")
                .to_owned();
            let username = object
                .entry("cognito:username")
                .or_insert_with(|| serde_json::json!(format!("test_{sub}")))
                .as_str()
                .map(str::to_owned);
            object
                .entry("origin_jti")
                .or_insert_with(|| serde_json::json!(uuid::Uuid::new_v4().to_string()));
            if let Some(username) = username {
                self.pool.users.ensure_exists(&username, &sub);
            }
        }
        self.keys
            .sign_id(&claims)
            .expect("signing with the pool's ID-token key")
    }

    /// Stops every listener and waits for them to finish (at most a few seconds for open connections).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for LocalAws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAws")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

/// Refuses configurations the stand-ins cannot serve faithfully, before anything is bound.
fn validate(config: &LocalAwsConfig, ports: &Ports) -> anyhow::Result<()> {
    config.directories.validate()?;
    config::check_okta_org_ports(ports, &config.directories)?;
    dns::check_zones(&config.dns.zones)?;
    let mut functions = std::collections::BTreeSet::new();
    for pool in config.user_pools() {
        if let Some(trigger) = &pool.trigger {
            trigger.validate()?;
            if !functions.insert(trigger.settings.name.clone()) {
                bail!(
                    "two user pools name the trigger function {}: give each its own",
                    trigger.settings.name
                );
            }
        }
        // The pool starts without identity providers (they are runtime state, created through the user-pool
        // API), so a client can name none but the pool's own users.
        for (name, client) in &pool.clients {
            if let Some(provider) = client
                .supported_identity_providers
                .iter()
                .find(|p| *p != user_pool::COGNITO_PROVIDER)
            {
                bail!(
                    "client {name} supports identity provider {provider}, which does not exist at start: create \
                     it with CreateIdentityProvider and add it with UpdateUserPoolClient"
                );
            }
        }
    }
    Ok(())
}

/// A user pool of the running stand-ins, found by [`LocalAws::user_pool`].
#[derive(Clone, Copy)]
pub struct UserPool<'a> {
    pool: &'a user_pool::Pool,
}

impl UserPool<'_> {
    /// The pool's logical name (`operators`).
    pub fn name(&self) -> &str {
        &self.pool.settings.name
    }

    /// The pool's issuer, `http://127.0.0.1:<cognito_idp port>/<userPoolId>`.
    pub fn issuer(&self) -> &str {
        &self.pool.urls.issuer
    }

    /// The base of the pool's hosted endpoints (its own domain).
    pub fn auth_domain(&self) -> &str {
        &self.pool.urls.auth_domain
    }

    /// The user pool id.
    pub fn user_pool_id(&self) -> &str {
        &self.pool.settings.user_pool_id
    }

    /// The pool's ARN.
    pub fn arn(&self) -> String {
        user_pool::user_pool_arn(
            &self.pool.config.region,
            &self.pool.config.account_id,
            &self.pool.settings.user_pool_id,
        )
    }

    /// The id and secret of the pool's app client with this logical name (`console`).
    pub fn client(&self, name: &str) -> Option<ClientCredentials> {
        let client = self.pool.settings.clients.get(name)?;
        Some(ClientCredentials {
            client_id: client.client_id.clone(),
            client_secret: client.client_secret.clone().unwrap_or_default(),
        })
    }
}

async fn listen(bind: IpAddr, port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind((bind, port))
        .await
        .with_context(|| format!("binding the {what} listener on {bind}:{port}"))
}

/// A layer answering `503 ServiceUnavailable` (awsJson's error shape) while `down` is set.
fn outage(
    down: Arc<AtomicBool>,
) -> impl Fn(
    axum::extract::Request,
    axum::middleware::Next,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = axum::response::Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |request, next| {
        let down = down.load(Ordering::SeqCst);
        Box::pin(async move {
            if down {
                use axum::response::IntoResponse as _;
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    [("content-type", "application/x-amz-json-1.1")],
                    r#"{"__type":"ServiceUnavailable","message":"Service is unavailable."}"#,
                )
                    .into_response();
            }
            next.run(request).await
        })
    }
}

fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: &watch::Sender<bool>,
    what: &'static str,
) -> JoinHandle<()> {
    let mut stop = shutdown.subscribe();
    let router = router
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::extract::DefaultBodyLimit::max(web::MAX_BODY_BYTES));
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(%error, listener = what, "listener failed");
        }
    })
}
