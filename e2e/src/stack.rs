//! The whole application for one test: Postgres, the local AWS stand-ins and the backend serving the web app.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use backend::app::Application;
use backend::config::{Config, Secret};
use backend::db::members::MemberStatus;
use backend::db::{MemberId, TenantId};
use backend::seed::DemoWorld;
use local_aws::config::{LocalAwsConfig, TriggerConfig};
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
/// The secret the user pool stand-in sends with trigger calls.
const TRIGGER_SECRET: &str = "e2e-trigger-secret-not-for-production";

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
        aws_config.trigger = Some(TriggerConfig {
            url: format!("{app_url}{}", backend::api::cognito_trigger::PATH),
            shared_secret: TRIGGER_SECRET.to_owned(),
        });
        change(&mut aws_config);
        let aws = LocalAws::start(
            aws_config,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            Ports::ephemeral(),
        )
        .await
        .context("starting the local AWS stand-ins")?;

        let world = DemoWorld::load(&infra_dir)?;
        backend::seed::demo_world(&owner, &world, &|provider| aws.idp_issuer(provider))
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
        config.database_url = Secret::new(postgres.url(APP_USER, APP_PASSWORD, DATABASE));
        config.cognito_issuer = Url::parse(&aws.issuer()).context("the user pool's issuer")?;
        config.cognito_auth_domain =
            Url::parse(&aws.auth_domain()).context("the user pool's domain")?;
        config.cognito_client_id = web_client.client_id;
        config.cognito_client_secret = Secret::new(web_client.client_secret);
        config.trigger_shared_secret = Some(Secret::new(TRIGGER_SECRET));
        config.web_dist_dir = web_dist_dir;
        config.cookie_secure = false;
        config.storage = backend::config::StorageConfig::for_stand_ins(&aws)
            .context("the storage stand-ins' URLs")?;
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
    /// `POST /api/v1/files` records one: only the row, which is what the storage quota counts.
    pub async fn record_earlier_upload(
        &self,
        tenant_id: &str,
        member_id: &str,
        name: &str,
        size: i64,
    ) -> anyhow::Result<()> {
        let tenant = TenantId(Uuid::parse_str(tenant_id).context("the tenant id")?);
        let member = MemberId(Uuid::parse_str(member_id).context("the member id")?);
        let key = format!(
            "{tenant_id}/{member_id}/uploads/{}/{name}",
            Uuid::new_v4().simple()
        );
        let mut tx = backend::db::tenant_tx(&self.owner, tenant).await?;
        let recorded = backend::db::files::create(
            &mut tx,
            tenant,
            &backend::db::files::NewFile {
                uploader_id: member,
                key: &key,
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
