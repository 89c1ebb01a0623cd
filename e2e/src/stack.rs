//! The whole application for one test: Postgres, the local AWS stand-ins and the backend serving the web app.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use backend::app::Application;
use backend::config::{AwsKey, Config, Secret, StorageConfig};
use backend::db::members::MemberStatus;
use backend::db::{MemberId, TenantId};
use backend::seed::DemoWorld;
use local_aws::config::LocalAwsConfig;
use local_aws::lambda::FunctionRuntime;
use local_aws::{LocalAws, Ports};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;
use uuid::Uuid;

use crate::postgres::TestPostgres;
use crate::{init_logging, repo_dir};

/// The database the application uses inside the throwaway server.
const DATABASE: &str = "postgres";
/// The application's login role (a member of `saas_app`: neither owner nor superuser).
const APP_USER: &str = "saas_api";
/// That role's password inside the throwaway server.
const APP_PASSWORD: &str = "e2e-app-password";

/// A running application. Everything stops when the value is dropped.
pub struct Stack {
    app_url: String,
    aws: LocalAws,
    server: JoinHandle<()>,
    owner: PgPool,
    _postgres: TestPostgres,
}

impl Stack {
    /// Starts Postgres (migrated, with the application role and the demo world), the stand-ins on ephemeral
    /// ports of 127.0.0.1, and the backend on `127.0.0.1:0` published as `http://localhost:<port>`: the app
    /// and the stand-ins are different hosts for the browser, as in production.
    pub async fn start() -> anyhow::Result<Stack> {
        Stack::start_with(|_| {}).await
    }

    /// Like [`Stack::start`], with the stand-ins' configuration changed by `change` before they start.
    pub async fn start_with(change: impl FnOnce(&mut LocalAwsConfig)) -> anyhow::Result<Stack> {
        init_logging();
        let web_dist_dir = web_dist_dir()?;
        let infra_dir = repo_dir().join("infra");

        let postgres = TestPostgres::start().await?;
        let owner = PgPoolOptions::new()
            .max_connections(2)
            .connect(&postgres.owner_url(DATABASE))
            .await
            .context("connecting to Postgres as the owner")?;
        backend::db::migrate(&owner)
            .await
            .context("running the migrations")?;
        backend::db::ensure_app_login(&owner, APP_USER, APP_PASSWORD)
            .await
            .context("creating the application's login role")?;

        // The port must be known before the stand-ins start: the web client's redirect URIs name it.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the backend's port")?;
        let port = listener
            .local_addr()
            .context("reading the backend's port")?
            .port();
        let app_url = format!("http://localhost:{port}");

        let mut aws_config =
            LocalAwsConfig::load(&infra_dir).context("reading the stand-ins' configuration")?;
        let web_client = aws_config
            .clients
            .get_mut("web")
            .context("the user pool has no `web` client")?;
        web_client.callback_urls = vec![format!("{app_url}/auth/callback")];
        web_client.logout_urls = vec![format!("{app_url}/")];
        let database_url = postgres.url(APP_USER, APP_PASSWORD, DATABASE);
        let trigger_environment: BTreeMap<String, String> = [
            ("DATABASE_URL", database_url.as_str()),
            ("RESOURCE_SERVER_ID", "saas-api"),
            ("COGNITO_USER_POOL_ID", aws_config.user_pool_id.as_str()),
            ("RUST_LOG", "warn"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        aws_config
            .use_trigger(
                FunctionRuntime::Command(trigger_bootstrap()?),
                trigger_environment,
            )
            .context("configuring the trigger Lambda")?;
        change(&mut aws_config);
        let aws = LocalAws::start(
            aws_config,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Ports::ephemeral(),
        )
        .await
        .context("starting the local AWS stand-ins")?;

        let world = DemoWorld::load(&infra_dir)?;
        let issuers = backend::seed::DemoIssuers {
            entra_authority: aws.entra_base(),
            okta_base: Some(aws.okta_base()),
        };
        backend::seed::demo_world(&owner, &world, &issuers)
            .await
            .context("seeding the demo world")?;

        let web_client = aws
            .client("web")
            .context("the stand-ins have no `web` client")?;
        let mut config = Config::local_defaults();
        config.bind_addr = listener
            .local_addr()
            .context("reading the backend's address")?;
        config.public_url = Url::parse(&app_url).context("the app URL")?;
        config.database_url = Secret::new(database_url);
        config.cognito_issuer = Url::parse(&aws.issuer()).context("the user pool's issuer")?;
        config.cognito_auth_domain =
            Url::parse(&aws.auth_domain()).context("the user pool's domain")?;
        config.cognito_client_id = web_client.client_id;
        config.cognito_client_secret = Secret::new(web_client.client_secret);
        config.web_dist_dir = web_dist_dir;
        config.cookie_secure = false;
        config.storage = StorageConfig {
            region: aws.region().to_owned(),
            identity_pool_id: aws.identity_pool_id().to_owned(),
            identity_pool_endpoint: Some(Url::parse(&aws.identity_pool_endpoint())?),
            bucket: aws.bucket().to_owned(),
            files_bucket: aws.files_bucket().to_owned(),
            s3_endpoint: Some(Url::parse(&aws.s3_endpoint())?),
        };
        config.cognito_idp_endpoint = Some(Url::parse(&aws.user_pool_endpoint())?);
        let (key, secret) = aws.backend_s3_key();
        config.aws_credentials = Some(AwsKey::long_term(key, secret));

        // The user pool's identity providers come from the database through the Cognito API, as
        // `backend seed-demo` creates them.
        let app_pool = backend::db::connect(config.database_url.expose(), 2).await?;
        let secrets = world.client_secrets();
        let report = backend::idp_sync::Reconciler::new(&config)
            .await?
            .run(&app_pool, &|name| secrets.get(name).cloned())
            .await
            .context("creating the demo identity providers in the user pool")?;
        ensure!(
            report.is_complete(),
            "the demo providers are incomplete: {report:?}"
        );
        let app = Application::build_with_listener(config, listener)
            .await
            .context("building the backend")?;
        let server = tokio::spawn(async move {
            if let Err(error) = app.run_until_stopped().await {
                eprintln!("the backend stopped serving: {error}");
            }
        });

        Ok(Stack {
            app_url,
            aws,
            server,
            owner,
            _postgres: postgres,
        })
    }

    /// The web app's URL as a browser sees it: `http://localhost:<port>` (no trailing slash).
    pub fn app_url(&self) -> String {
        self.app_url.clone()
    }

    /// The URL of `path` (starting with `/`) on the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app_url)
    }

    /// The mock Entra ID's base URL (`login.microsoftonline.com`'s stand-in).
    pub fn entra_base(&self) -> String {
        self.aws.entra_base()
    }

    /// The S3 stand-in's endpoint (`http://127.0.0.1:<port>`), where download links lead.
    pub fn s3_endpoint(&self) -> String {
        self.aws.s3_endpoint()
    }

    /// The mock Okta's base URL (`<org>.okta.com`'s stand-in).
    pub fn okta_base(&self) -> String {
        self.aws.okta_base()
    }

    /// Deactivates or reactivates a member (ids as `GET /api/v1/me` shows them), the way a tenant admin's
    /// change lands in the database: inside a transaction bound to the member's tenant.
    pub async fn set_member_status(
        &self,
        tenant_id: &str,
        member_id: &str,
        status: MemberStatus,
    ) -> anyhow::Result<()> {
        let tenant = TenantId(Uuid::parse_str(tenant_id).context("the tenant id")?);
        let member = MemberId(Uuid::parse_str(member_id).context("the member id")?);
        let mut tx = backend::db::tenant_tx(&self.owner, tenant).await?;
        let changed = backend::db::members::set_status(&mut tx, member, status).await?;
        tx.commit().await?;
        ensure!(changed, "tenant {tenant_id} has no member {member_id}");
        Ok(())
    }

    /// Records a file of `size` bytes uploaded earlier by a member (ids as `GET /api/v1/me` shows them), as
    /// `POST /api/v1/files` records one: only the row (no copy in the files bucket), which is what the storage
    /// quota counts.
    pub async fn record_earlier_upload(
        &self,
        tenant_id: &str,
        member_id: &str,
        name: &str,
        size: i64,
    ) -> anyhow::Result<()> {
        let tenant = TenantId(Uuid::parse_str(tenant_id).context("the tenant id")?);
        let member = MemberId(Uuid::parse_str(member_id).context("the member id")?);
        let upload_key = format!(
            "{tenant_id}/{member_id}/uploads/{}/{name}",
            Uuid::new_v4().simple()
        );
        let id = Uuid::new_v4();
        let key = format!("{tenant_id}/{id}");
        let mut tx = backend::db::tenant_tx(&self.owner, tenant).await?;
        let recorded = backend::db::files::create(
            &mut tx,
            &backend::db::files::NewFile {
                id,
                uploader_id: member,
                key: &key,
                upload_key: &upload_key,
                etag: "\"00000000000000000000000000000000\"",
                name,
                size,
                content_type: "application/octet-stream",
            },
        )
        .await?;
        tx.commit().await?;
        ensure!(recorded.is_some(), "the file {key} was recorded already");
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The built web app: `WEB_DIST_DIR`, or `<repo>/frontend/dist`.
fn web_dist_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("WEB_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("frontend").join("dist"));
    if !dir.join("index.html").is_file() {
        bail!(
            "the web app is not built ({} has no index.html): run `cargo xtask build-web` first",
            dir.display()
        );
    }
    Ok(dir)
}

/// The trigger Lambda's executable: `TRIGGER_BOOTSTRAP` (the staged release `bootstrap` that `cargo xtask e2e`
/// and `cargo xtask test` build, the very artifact that ships), else the debug `pre-token-generation` binary
/// next to this test's own directory.
fn trigger_bootstrap() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TRIGGER_BOOTSTRAP") {
        let path = PathBuf::from(path);
        ensure!(
            path.is_file(),
            "TRIGGER_BOOTSTRAP names {}, which does not exist",
            path.display()
        );
        return Ok(path);
    }
    let debug_build = std::env::current_exe()?
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("pre-token-generation"));
    match debug_build {
        Some(path) if path.is_file() => Ok(path),
        _ => bail!(
            "no trigger Lambda to run: run the browser tests with `cargo xtask e2e` (which builds it), or \
             build it with `cargo build -p backend --bin pre-token-generation`, or set TRIGGER_BOOTSTRAP"
        ),
    }
}
