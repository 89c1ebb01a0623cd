//! Postgres for tests and benchmarks: a container holding a migrated template database, and for every test a
//! database of its own cloned from that template.
//!
//! Migrating a database takes far longer than `CREATE DATABASE ... TEMPLATE`, which copies it; so a container
//! is migrated once, into its template, and every test gets a clone. Postgres clones a database only while
//! nobody is connected to it, so the template's own pool is closed once it is migrated, and from then on the
//! template accepts no connections at all.
//!
//! A container lives in one of two ways: [`Postgres::shared`], one per test process, or [`Postgres::start`],
//! one owned by the caller and removed when dropped. Both carry the label `saas-reference.test=true`, by which
//! `cargo xtask test` removes whatever a run leaves behind.
//!
//! Settings: `POSTGRES_IMAGE` (`name:tag`, default `postgres:16-alpine`) and `DOCKER_HOST` (read by
//! testcontainers).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use backend::db::members::MemberStatus;
use backend::db::{self, MemberId, TenantId};
use backend::seed::{self, DemoWorld};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection, PgPool};
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::infra_dir;

/// The image used when `POSTGRES_IMAGE` is not set.
const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The label `cargo xtask test` looks for to remove the containers tests leave behind.
const CLEANUP_LABEL: (&str, &str) = ("saas-reference.test", "true");
/// The container's superuser, who owns every test database (as the migration role does in production).
const SUPERUSER: &str = "postgres";
const SUPERUSER_PASSWORD: &str = "test-only-superuser-password";
/// The database that is always there, for creating the others.
const MAINTENANCE_DATABASE: &str = "postgres";
/// The application's login role in tests (a member of `saas_app`, see `db::ensure_app_login`).
pub const APP_LOGIN: &str = "saas_app_test";
const APP_PASSWORD: &str = "test-only-app-password";
/// How long the server may take to accept connections; the official image restarts once during init.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The pause between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// A Postgres server in a container, with its migrated template database made on first use.
pub struct Postgres {
    host: String,
    port: u16,
    container_id: String,
    /// The container of [`Postgres::start`]; `None` for the shared one, which its own thread keeps.
    container: Option<ContainerAsync<GenericImage>>,
    /// The name of the migrated template, once it is made.
    template: OnceCell<String>,
}

/// The test process's container (see [`Postgres::shared`]).
static SHARED: OnceCell<Postgres> = OnceCell::const_new();

impl Postgres {
    /// The test process's container, started on first use. It lives on a thread with a runtime of its own, so
    /// it outlives the runtime of the `#[tokio::test]` that happened to start it; this process never removes it
    /// (statics are not dropped), the label does.
    pub async fn shared() -> anyhow::Result<&'static Postgres> {
        SHARED.get_or_try_init(start_shared).await
    }

    /// Starts a container of the caller's own, on the caller's runtime; it is removed when the value is dropped
    /// (or by [`Postgres::remove`], which reports failure).
    pub async fn start() -> anyhow::Result<Postgres> {
        let (container, mut postgres) = start_container().await?;
        postgres.container = Some(container);
        Ok(postgres)
    }

    /// Removes the container of [`Postgres::start`] (the shared one stays).
    pub async fn remove(mut self) -> anyhow::Result<()> {
        match self.container.take() {
            Some(container) => container
                .rm()
                .await
                .with_context(|| format!("removing the Postgres container {}", self.container_id)),
            None => Ok(()),
        }
    }

    /// The container's id (for `docker stats`, say, and error messages).
    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// The URL of `user` with `password` for `database`.
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@{}:{}/{database}",
            self.host, self.port
        )
    }

    /// The superuser's URL for `database`.
    pub fn owner_url(&self, database: &str) -> String {
        self.url(SUPERUSER, SUPERUSER_PASSWORD, database)
    }

    /// A database of its own for one test: a clone of the migrated template (made on the first call), with
    /// the application login role ready.
    pub async fn database(&self) -> anyhow::Result<TestDatabase> {
        let template = self
            .template
            .get_or_try_init(|| self.make_template())
            .await?;
        let name = unique_name("test");
        self.run_as_owner(&format!(
            r#"CREATE DATABASE "{name}" template "{template}""#
        ))
        .await?;
        TestDatabase::connect(self, name).await
    }

    /// An empty database, not migrated (for tests of the migrations themselves); returns its name.
    pub async fn empty_database(&self) -> anyhow::Result<String> {
        let name = unique_name("empty");
        self.run_as_owner(&format!(r#"CREATE DATABASE "{name}""#))
            .await?;
        Ok(name)
    }

    /// Creates the template, migrates it and ensures the application login role (roles are cluster-wide, so
    /// the clones share it), then closes it to connections so that it can be cloned.
    async fn make_template(&self) -> anyhow::Result<String> {
        let name = unique_name("template");
        self.run_as_owner(&format!(r#"CREATE DATABASE "{name}""#))
            .await?;
        let owner = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.owner_url(&name))
            .await
            .context("connecting to the template as the owner")?;
        let prepared = async {
            db::migrate(&owner)
                .await
                .context("migrating the template database")?;
            db::ensure_app_login(&owner, APP_LOGIN, APP_PASSWORD)
                .await
                .context("ensuring the application login role")
        }
        .await;
        // Postgres refuses to clone a database while anyone is connected to it.
        owner.close().await;
        prepared?;
        // From now on no connection can reach the template, so none can make a clone fail; and as a template
        // it cannot be dropped by mistake.
        self.run_as_owner(&format!(
            r#"ALTER DATABASE "{name}" WITH is_template TRUE allow_connections FALSE"#
        ))
        .await?;
        Ok(name)
    }

    /// Runs `statement` as the superuser on a connection of its own to the maintenance database.
    async fn run_as_owner(&self, statement: &str) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.owner_url(MAINTENANCE_DATABASE))
            .await
            .context("connecting to the maintenance database")?;
        sqlx::raw_sql(statement)
            .execute(&mut admin)
            .await
            .with_context(|| format!("running `{statement}`"))?;
        admin
            .close()
            .await
            .context("closing the maintenance connection")
    }

    /// Retries a connection and `select 1` until the server answers: the port is published before Postgres
    /// listens, and the official image runs a temporary server without TCP during init, then restarts.
    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let url = self.owner_url(MAINTENANCE_DATABASE);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let attempt = async {
                let mut conn = PgConnection::connect(&url).await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
                conn.close().await
            };
            match attempt.await {
                Ok(()) => return Ok(()),
                Err(error) if Instant::now() >= deadline => bail!(
                    "Postgres in container {} did not answer within {READY_TIMEOUT:?}: {error}",
                    self.container_id
                ),
                Err(_) => tokio::time::sleep(PROBE_INTERVAL).await,
            }
        }
    }
}

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
    async fn connect(server: &Postgres, name: String) -> anyhow::Result<TestDatabase> {
        let owner_url = server.owner_url(&name);
        let owner = PgPoolOptions::new()
            .max_connections(3)
            .connect(&owner_url)
            .await
            .context("connecting as the owner")?;
        let app_url = server.url(APP_LOGIN, APP_PASSWORD, &name);
        let app = db::connect(&app_url, 5)
            .await
            .context("creating the application pool")?;
        Ok(TestDatabase {
            name,
            owner_url,
            app_url,
            owner,
            app,
        })
    }

    /// Seeds the demo world (`infra/tenants/demo.json`) with made-up issuers and returns it.
    ///
    /// Panics when the demo world cannot be read or seeded, as the test would.
    pub async fn seed_demo_world(&self) -> DemoWorld {
        let world = DemoWorld::load(&infra_dir())
            .unwrap_or_else(|error| panic!("loading the demo world: {error:#}"));
        let issuers = seed::DemoIssuers {
            entra_authority: "https://entra.idp.test".to_owned(),
            okta_base: Some("https://okta.idp.test".to_owned()),
        };
        seed::demo_world(&self.owner, &world, &issuers)
            .await
            .unwrap_or_else(|error| panic!("seeding the demo world: {error:#}"));
        world
    }

    /// The id of the tenant with `slug`, read as the owner.
    ///
    /// Panics when there is no such tenant.
    pub async fn tenant_id(&self, slug: &str) -> TenantId {
        let id: Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.owner)
            .await
            .unwrap_or_else(|e| panic!("no tenant {slug:?}: {e}"));
        TenantId(id)
    }

    /// Sets a member's status as the owner, the way a tenant admin's change lands in the database: inside a
    /// transaction bound to the member's tenant. Fails when the tenant has no such member.
    pub async fn set_member_status(
        &self,
        tenant: TenantId,
        member: MemberId,
        status: MemberStatus,
    ) -> anyhow::Result<()> {
        let mut tx = db::tenant_tx(&self.owner, tenant).await?;
        let changed = db::members::set_status(&mut tx, member, status).await?;
        tx.commit().await?;
        ensure!(changed, "tenant {tenant} has no member {member}");
        Ok(())
    }
}

/// A fresh database in the test process's shared container (see [`Postgres::shared`] and
/// [`Postgres::database`]).
///
/// Panics when there is none to be had, as the test would.
pub async fn fresh_database() -> TestDatabase {
    let database = async { Postgres::shared().await?.database().await }.await;
    database.unwrap_or_else(|error| panic!("a test database: {error:#}"))
}

/// A database name no other in the container has.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// Starts the shared container on a thread with its own runtime, which then keeps the container handle (and
/// the runtime its Docker client lives on) for the rest of the process.
async fn start_shared() -> anyhow::Result<Postgres> {
    let (started, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("postgres-container".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ =
                        started
                            .send(Err(anyhow::Error::from(error)
                                .context("building the container's runtime")));
                    return;
                }
            };
            runtime.block_on(async move {
                match start_container().await {
                    Ok((container, postgres)) => {
                        let _ = started.send(Ok(postgres));
                        let _keep_alive = container;
                        std::future::pending::<()>().await;
                    }
                    Err(error) => {
                        let _ = started.send(Err(error));
                    }
                }
            });
        })
        .context("spawning the container's thread")?;
    result.await.context("the container's thread ended")?
}

/// Starts a container from `POSTGRES_IMAGE` and waits until it answers queries.
async fn start_container() -> anyhow::Result<(ContainerAsync<GenericImage>, Postgres)> {
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
        .with_context(|| format!("starting a container from {image} (is DOCKER_HOST set?)"))?;
    let host = container
        .get_host()
        .await
        .context("reading the container's host")?
        .to_string();
    let port = container
        .get_host_port_ipv4(5432.tcp())
        .await
        .context("reading the container's port")?;
    let postgres = Postgres {
        host,
        port,
        container_id: container.id().to_owned(),
        container: None,
        template: OnceCell::new(),
    };
    postgres.wait_until_ready().await?;
    Ok((container, postgres))
}

/// Splits `registry/name:tag` into name and tag; a colon inside the registry's host:port is not a tag.
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_into_name_and_tag() {
        assert_eq!(split_image("postgres:16-alpine"), ("postgres", "16-alpine"));
        assert_eq!(split_image("local/postgres:15"), ("local/postgres", "15"));
        assert_eq!(
            split_image("registry.example:5000/pg"),
            ("registry.example:5000/pg", "latest")
        );
        assert_eq!(
            split_image("registry.example:5000/pg:15"),
            ("registry.example:5000/pg", "15")
        );
        assert_eq!(split_image("postgres"), ("postgres", "latest"));
    }

    #[tokio::test]
    async fn every_test_database_is_a_migrated_clone_of_its_own_with_the_app_login_ready() {
        let migrations = std::fs::read_dir(crate::repo_dir().join("backend/migrations"))
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "sql"))
            })
            .count();
        let (first, second) = tokio::join!(fresh_database(), fresh_database());
        assert_ne!(first.name, second.name);
        for db in [&first, &second] {
            let applied: i64 =
                sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&db.owner)
                    .await
                    .unwrap();
            assert_eq!(applied, i64::try_from(migrations).unwrap());
            let user: String = sqlx::query_scalar("SELECT current_user::text")
                .fetch_one(&db.app)
                .await
                .unwrap();
            assert_eq!(user, APP_LOGIN);
        }
        first.seed_demo_world().await;
        first.tenant_id("acme").await;
        let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
            .fetch_one(&second.owner)
            .await
            .unwrap();
        assert_eq!(tenants, 0, "a clone shares no rows with another");
    }
}
