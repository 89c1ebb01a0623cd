//! The application wired for one test: the local AWS stand-ins on ephemeral ports (the user pool invoking the
//! real `pre-token-generation` Lambda binary through the Lambda stand-in), the demo world seeded with the
//! stand-ins' issuers and its identity providers created in the user pool by the backend's reconciler, and
//! the backend on `http://localhost:<port>`; plus the pieces of that wiring the benchmarks take on their own.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use backend::app::Application;
use backend::config::{AwsKey, Config, Secret, StorageConfig};
use backend::state::AppState;
use local_aws::config::LocalAwsConfig;
use local_aws::lambda::FunctionRuntime;
use local_aws::{LocalAws, Ports};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

use crate::infra_dir;
use crate::outage::Gate;
use crate::postgres::TestDatabase;

/// The shortest token lifetime Cognito's API accepts.
const COGNITO_MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A running application: the stand-ins and the backend on a test database with the demo world.
pub struct Stack {
    /// The backend, stopped when dropped.
    pub backend: Backend,
    /// `http://localhost:<port>`, the origin browsers use (the app and the stand-ins are different hosts for a
    /// browser, as in production).
    pub address: String,
    /// The configuration the backend runs with.
    pub config: Config,
    /// The local AWS stand-ins.
    pub aws: LocalAws,
    /// The database the backend uses.
    pub db: TestDatabase,
    /// The identity pool as the backend reaches it: through a gate, which tests close to take the identity
    /// pool away from the backend and reopen to bring it back.
    pub identity_pool: Gate,
}

impl Stack {
    /// Starts the stand-ins and the backend on `db`, serving the web app in `web_dist_dir`, with the trigger
    /// Lambda run from `trigger_bootstrap`; seeds the demo world and creates its identity providers in the user
    /// pool, as `backend seed-demo` does.
    ///
    /// `customize` changes the backend's and the stand-ins' configuration before anything starts; what comes
    /// from the running stand-ins (issuer, client, endpoints, keys) is set after it. Token lifetimes below
    /// Cognito's minimum are set on the running user pool, since the reconciler's `UpdateUserPoolClient` would
    /// refuse them.
    pub async fn start(
        db: TestDatabase,
        web_dist_dir: PathBuf,
        trigger_bootstrap: PathBuf,
        customize: impl FnOnce(&mut Config, &mut LocalAwsConfig),
    ) -> anyhow::Result<Stack> {
        // The port must be known before the stand-ins start: the web client's redirect URIs name it.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the backend's port")?;
        let local_addr = listener
            .local_addr()
            .context("reading the backend's address")?;
        let address = format!("http://localhost:{}", local_addr.port());

        let mut aws_config =
            LocalAwsConfig::load(&infra_dir()).context("reading the stand-ins' configuration")?;
        let web = aws_config
            .user_pool
            .clients
            .get_mut("web")
            .context("the user pool has no `web` client")?;
        web.callback_urls = vec![
            format!("{address}/auth/callback"),
            format!("{address}/setup/auth/callback"),
        ];
        web.logout_urls = vec![format!("{address}/")];
        let console = aws_config
            .user_pool_named_mut("operators")
            .and_then(|pool| pool.clients.get_mut("console"))
            .context("the operators' pool has no `console` client")?;
        console.callback_urls = vec![format!("{address}/operator/auth/callback")];
        console.logout_urls = vec![format!("{address}/operator")];
        let trigger_environment =
            trigger_environment(&db.app_url, &aws_config.user_pool.user_pool_id);
        aws_config
            .user_pool
            .use_trigger(
                FunctionRuntime::Command(trigger_bootstrap),
                trigger_environment,
            )
            .context("configuring the trigger Lambda")?;

        let mut config = Config::local_defaults();
        config.bind_addr = local_addr;
        config.public_url = Url::parse(&address).context("the app's URL")?;
        config.database_url = Secret::new(db.app_url.clone());
        config.web_dist_dir = web_dist_dir;
        config.cookie_secure = false;
        customize(&mut config, &mut aws_config);
        let web = aws_config
            .user_pool
            .clients
            .get_mut("web")
            .context("the user pool has no `web` client")?;
        let short_lifetimes = (web.access_token_validity < COGNITO_MIN_TOKEN_LIFETIME
            || web.id_token_validity < COGNITO_MIN_TOKEN_LIFETIME)
            .then(|| {
                let short = (web.access_token_validity, web.id_token_validity);
                web.access_token_validity =
                    web.access_token_validity.max(COGNITO_MIN_TOKEN_LIFETIME);
                web.id_token_validity = web.id_token_validity.max(COGNITO_MIN_TOKEN_LIFETIME);
                short
            });

        let aws = LocalAws::start(aws_config, Ipv4Addr::LOCALHOST.into(), Ports::ephemeral())
            .await
            .context("starting the local AWS stand-ins")?;
        point_at_stand_ins(&mut config, &aws)?;
        let identity_pool_url =
            Url::parse(&aws.identity_pool_endpoint()).context("the identity pool's endpoint")?;
        let identity_pool = Gate::open_to(&identity_pool_url).await?;
        config.storage.identity_pool_endpoint = Some(identity_pool.url_for(&identity_pool_url)?);

        let world = backend::seed::DemoWorld::load(&infra_dir())?;
        backend::seed::demo_world(&db.owner, &world, &demo_issuers(&aws))
            .await
            .context("seeding the demo world")?;
        let secrets = world.client_secrets();
        let report = backend::idp_sync::Reconciler::new(&config)
            .await?
            .run(&db.app, &|name| secrets.get(name).cloned())
            .await
            .context("creating the demo identity providers in the user pool")?;
        ensure!(
            report.is_complete(),
            "the demo providers are incomplete: {report:?}"
        );
        if let Some((access, id)) = short_lifetimes {
            ensure!(
                aws.set_token_lifetimes("web", access, id),
                "the user pool has no `web` client"
            );
        }

        let backend = Backend::serve(config.clone(), listener).await?;
        Ok(Stack {
            backend,
            address,
            config,
            aws,
            db,
            identity_pool,
        })
    }
}

/// A backend serving in this process; it stops when dropped.
pub struct Backend {
    /// `http://localhost:<port>`.
    pub address: String,
    local_addr: SocketAddr,
    state: AppState,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    /// Starts a backend with `config` on a fresh port of 127.0.0.1, published as `http://localhost:<port>`;
    /// `BIND_ADDR` and `PUBLIC_URL` are set here.
    pub async fn spawn(mut config: Config) -> anyhow::Result<Backend> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the backend's port")?;
        config.bind_addr = listener
            .local_addr()
            .context("reading the backend's address")?;
        config.public_url = Url::parse(&format!("http://localhost:{}", config.bind_addr.port()))
            .context("the backend's URL")?;
        Backend::serve(config, listener).await
    }

    /// Starts a backend with `config` on `listener`, which `config` already names.
    pub async fn serve(config: Config, listener: TcpListener) -> anyhow::Result<Backend> {
        let local_addr = listener
            .local_addr()
            .context("reading the backend's address")?;
        let application = Application::build_with_listener(config, listener)
            .await
            .context("building the backend")?;
        let state = application.state().clone();
        let task = tokio::spawn(async move {
            if let Err(error) = application.run_until_stopped().await {
                eprintln!("the backend stopped serving: {error}");
            }
        });
        Ok(Backend {
            address: format!("http://localhost:{}", local_addr.port()),
            local_addr,
            state,
            task,
        })
    }

    /// An absolute URL of this backend.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Where the backend listens (`127.0.0.1:<port>`), for clients that should not resolve `localhost`.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The backend's shared state (its verifier, say).
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

/// Points `config` at the running stand-ins: the user pool's issuer and hosted domain, its `web` client, the
/// operators' pool and its `console` client, the identity pool and S3 (storage), the user-pool API, the
/// backend's AWS key, the DNS server domain proofs are looked up at, and the mock Entra ID's authority.
pub fn point_at_stand_ins(config: &mut Config, aws: &LocalAws) -> anyhow::Result<()> {
    let web = aws
        .client("web")
        .context("the stand-ins have no `web` client")?;
    config.cognito_issuer = Url::parse(&aws.issuer()).context("the user pool's issuer")?;
    config.cognito_auth_domain =
        Url::parse(&aws.auth_domain()).context("the user pool's domain")?;
    config.cognito_client_id = web.client_id;
    config.cognito_client_secret = Secret::new(web.client_secret);
    let operators = aws
        .user_pool("operators")
        .context("the stand-ins have no operators' pool")?;
    let console = operators
        .client("console")
        .context("the operators' pool has no `console` client")?;
    config.operators.issuer =
        Url::parse(operators.issuer()).context("the operators' pool's issuer")?;
    config.operators.auth_domain =
        Url::parse(operators.auth_domain()).context("the operators' pool's domain")?;
    config.operators.client_id = console.client_id;
    config.operators.client_secret = Secret::new(console.client_secret);
    config.storage = storage_for(aws)?;
    config.cognito_idp_endpoint =
        Some(Url::parse(&aws.user_pool_endpoint()).context("the user-pool API")?);
    let (key, secret) = aws.backend_s3_key();
    config.aws_credentials = Some(AwsKey::long_term(key, secret));
    config.sso.dns_resolver = Some(aws.dns_addr());
    config.sso.entra_authority = Url::parse(&aws.entra_base()).context("the mock Entra ID")?;
    Ok(())
}

/// The storage settings for stand-ins listening on ephemeral ports.
pub fn storage_for(aws: &LocalAws) -> anyhow::Result<StorageConfig> {
    Ok(StorageConfig {
        region: aws.region().to_owned(),
        identity_pool_id: aws.identity_pool_id().to_owned(),
        identity_pool_endpoint: Some(
            Url::parse(&aws.identity_pool_endpoint()).context("the identity pool's endpoint")?,
        ),
        bucket: aws.bucket().to_owned(),
        files_bucket: aws.files_bucket().to_owned(),
        s3_endpoint: Some(Url::parse(&aws.s3_endpoint()).context("the S3 endpoint")?),
    })
}

/// Sets the environment under which the `backend` binary (its `serve` and other commands) talks to the
/// database and stand-ins `config` names, published at `address`, as a backend configured with `config`
/// does; the rest of the environment is cleared (`PATH` kept, `RUST_LOG=warn`).
pub fn backend_env(
    command: &mut std::process::Command,
    address: &str,
    config: &Config,
    aws: &LocalAws,
) {
    let (key, secret) = aws.backend_s3_key();
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("PUBLIC_URL", address)
        .env("DATABASE_URL", config.database_url.expose())
        .env("COGNITO_ISSUER", config.cognito_issuer.as_str())
        .env("COGNITO_AUTH_DOMAIN", config.cognito_auth_domain.as_str())
        .env("COGNITO_CLIENT_ID", &config.cognito_client_id)
        .env(
            "COGNITO_CLIENT_SECRET",
            config.cognito_client_secret.expose(),
        )
        .env("COGNITO_IDP_ENDPOINT", aws.user_pool_endpoint())
        .env("OPERATOR_COGNITO_ISSUER", config.operators.issuer.as_str())
        .env(
            "OPERATOR_COGNITO_AUTH_DOMAIN",
            config.operators.auth_domain.as_str(),
        )
        .env("OPERATOR_COGNITO_CLIENT_ID", &config.operators.client_id)
        .env(
            "OPERATOR_COGNITO_CLIENT_SECRET",
            config.operators.client_secret.expose(),
        )
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", aws.region())
        .env("IDENTITY_POOL_ID", aws.identity_pool_id())
        .env("IDENTITY_POOL_ENDPOINT", aws.identity_pool_endpoint())
        .env("S3_ENDPOINT", aws.s3_endpoint())
        .env("UPLOAD_BUCKET", aws.bucket())
        .env("FILES_BUCKET", aws.files_bucket())
        .env("DNS_RESOLVER", aws.dns_addr().to_string())
        .env("ENTRA_AUTHORITY", aws.entra_base());
}

/// Where the stand-ins' mock identity providers are, for seeding the demo world.
pub fn demo_issuers(aws: &LocalAws) -> backend::seed::DemoIssuers {
    backend::seed::DemoIssuers {
        entra_authority: aws.entra_base(),
        okta_base: Some(aws.okta_base()),
    }
}

/// The trigger function's own environment: the application login's database and the pool it serves.
pub fn trigger_environment(database_url: &str, user_pool_id: &str) -> BTreeMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("RESOURCE_SERVER_ID", "saas-api"),
        ("COGNITO_USER_POOL_ID", user_pool_id),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The trigger Lambda's executable: the one `TRIGGER_BOOTSTRAP` names (the staged release `bootstrap` that
/// `cargo xtask test`, `e2e` and `bench` build, the very artifact that ships), else `built` (a test or bench
/// of the backend passes its `CARGO_BIN_EXE_pre-token-generation`), else the `pre-token-generation` binary of
/// the profile the running test was built in.
pub fn trigger_bootstrap(built: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TRIGGER_BOOTSTRAP") {
        let path = PathBuf::from(path);
        ensure!(
            path.is_file(),
            "TRIGGER_BOOTSTRAP names {}, which does not exist",
            path.display()
        );
        return Ok(path);
    }
    // A test runs from `target/<profile>/deps/`; cargo puts the package's binaries in `target/<profile>/`.
    let next_to_tests = || {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.parent()?.join("pre-token-generation"))
    };
    match built.or_else(next_to_tests) {
        Some(path) if path.is_file() => Ok(path),
        _ => bail!(
            "no trigger Lambda to run: build it with `cargo build -p backend --bin pre-token-generation`, \
             run the tests through `cargo xtask test` or `cargo xtask e2e` (which build it), or set \
             TRIGGER_BOOTSTRAP"
        ),
    }
}
