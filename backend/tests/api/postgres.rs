//! The Postgres fixture: one container per test process, and a fresh, migrated database for every test.
//!
//! The container is started lazily on its own long-lived runtime thread, so it outlives the runtime of the
//! `#[tokio::test]` that happened to start it. It is never removed by this process (statics are not
//! dropped); it carries the label `saas-reference.test=true` so that `cargo xtask test` removes it afterwards.
//!
//! Settings: `POSTGRES_IMAGE` (`name:tag`, default `postgres:16-alpine`) and `DOCKER_HOST` (read by
//! testcontainers).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use backend::db::{self, TenantId};
use backend::seed::{self, DemoWorld};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The image used when `POSTGRES_IMAGE` is not set.
const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The label `cargo xtask test` looks for to remove the containers tests leave behind.
const CLEANUP_LABEL: (&str, &str) = ("saas-reference.test", "true");
/// The container's superuser, who owns every test database (as the migration role does in production).
const SUPERUSER: &str = "postgres";
const SUPERUSER_PASSWORD: &str = "test-only-superuser-password";
/// The application's login role in tests (a member of `saas_app`, see `db::ensure_app_login`).
pub const APP_LOGIN: &str = "saas_app_test";
const APP_PASSWORD: &str = "test-only-app-password";
/// How long the server may take to accept connections; the official image restarts once during init.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A database of its own for one test: migrated, with the application login role ready.
pub struct TestDatabase {
    /// The database name (unique within the container).
    pub name: String,
    /// A URL connecting as the owner (the container's superuser).
    pub owner_url: String,
    /// A URL connecting as the application login role (subject to row-level security).
    pub app_url: String,
    /// A pool connecting as the owner.
    pub owner: PgPool,
    /// A pool connecting as the application role, built by `db::connect` as the backend builds it.
    pub app: PgPool,
}

impl TestDatabase {
    /// Seeds the demo world (`infra/tenants/demo.json`) and returns it.
    pub async fn seed_demo_world(&self) -> DemoWorld {
        let world = DemoWorld::load(&infra_dir()).expect("loading the demo world");
        let issuers = seed::DemoIssuers {
            entra_authority: "https://entra.idp.test".to_owned(),
            okta_base: Some("https://okta.idp.test".to_owned()),
        };
        seed::demo_world(&self.owner, &world, &issuers)
            .await
            .expect("seeding the demo world");
        world
    }

    /// The id of the tenant with `slug`, read as the owner.
    pub async fn tenant_id(&self, slug: &str) -> TenantId {
        let id: Uuid = sqlx::query_scalar("select id from tenants where slug = $1")
            .bind(slug)
            .fetch_one(&self.owner)
            .await
            .unwrap_or_else(|e| panic!("no tenant {slug:?}: {e}"));
        TenantId(id)
    }
}

/// The repository's `infra/` directory.
pub fn infra_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra")
}

/// Creates a new database in the shared container, migrates it as the owner and ensures the application login
/// role, then returns pools for both.
pub async fn fresh_database() -> TestDatabase {
    let server = server().await;
    let name = format!("test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&server.url(SUPERUSER, SUPERUSER_PASSWORD, "postgres"))
        .await
        .expect("connecting to the maintenance database");
    sqlx::raw_sql(&format!(r#"create database "{name}""#))
        .execute(&mut admin)
        .await
        .expect("creating the test database");
    admin
        .close()
        .await
        .expect("closing the maintenance connection");

    let owner_url = server.url(SUPERUSER, SUPERUSER_PASSWORD, &name);
    let owner = PgPoolOptions::new()
        .max_connections(3)
        .connect(&owner_url)
        .await
        .expect("connecting as the owner");
    db::migrate(&owner)
        .await
        .expect("migrating the test database");
    db::ensure_app_login(&owner, APP_LOGIN, APP_PASSWORD)
        .await
        .expect("ensuring the application login role");
    let app_url = server.url(APP_LOGIN, APP_PASSWORD, &name);
    let app = db::connect(&app_url, 5)
        .await
        .expect("creating the application pool");
    TestDatabase {
        name,
        owner_url,
        app_url,
        owner,
        app,
    }
}

/// Where the shared container listens.
struct Server {
    host: String,
    port: u16,
}

impl Server {
    fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@{}:{}/{database}",
            self.host, self.port
        )
    }
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

async fn server() -> &'static Server {
    SERVER.get_or_init(start_server).await
}

/// Starts the container on a thread with its own runtime, which then keeps the container handle (and the
/// runtime its Docker client lives on) for the rest of the process.
async fn start_server() -> Server {
    let (started, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("postgres-container".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("building the container runtime");
            runtime.block_on(async move {
                match start_container().await {
                    Ok((container, server)) => {
                        let _ = started.send(Ok(server));
                        let _keep_alive = container;
                        std::future::pending::<()>().await;
                    }
                    Err(error) => {
                        let _ = started.send(Err(error));
                    }
                }
            });
        })
        .expect("spawning the container thread");
    result
        .await
        .expect("the container thread ended")
        .unwrap_or_else(|error| panic!("starting Postgres: {error}"))
}

async fn start_container() -> Result<(testcontainers::ContainerAsync<GenericImage>, Server), String>
{
    let image = std::env::var("POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    let (name, tag) = split_image(&image);
    let container = GenericImage::new(name, tag)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::Nothing)
        .with_env_var("POSTGRES_USER", SUPERUSER)
        .with_env_var("POSTGRES_PASSWORD", SUPERUSER_PASSWORD)
        .with_label(CLEANUP_LABEL.0, CLEANUP_LABEL.1)
        .start()
        .await
        .map_err(|e| format!("starting a container from {image}: {e}"))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| format!("reading the container host: {e}"))?
        .to_string();
    let port = container
        .get_host_port_ipv4(5432.tcp())
        .await
        .map_err(|e| format!("reading the container port: {e}"))?;
    let server = Server { host, port };
    wait_until_ready(&server).await?;
    Ok((container, server))
}

/// Retries a connection and `select 1` until the server answers: the port is published before Postgres
/// listens, and the official image runs a temporary server during init, then restarts.
async fn wait_until_ready(server: &Server) -> Result<(), String> {
    let url = server.url(SUPERUSER, SUPERUSER_PASSWORD, "postgres");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let attempt = async {
            let mut conn = PgConnection::connect(&url).await?;
            sqlx::query("select 1").execute(&mut conn).await?;
            conn.close().await
        };
        match attempt.await {
            Ok(()) => return Ok(()),
            Err(error) if Instant::now() >= deadline => {
                return Err(format!(
                    "Postgres was not ready after {READY_TIMEOUT:?}: {error}"
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Splits `name:tag`; a colon inside a registry host (`host:5000/name`) is not a tag separator.
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}
