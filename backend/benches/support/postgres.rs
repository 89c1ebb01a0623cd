//! Postgres for the benchmarks: a container started through testcontainers, as the API tests start theirs
//! (`POSTGRES_IMAGE`, default `postgres:16-alpine`, on the engine `DOCKER_HOST` names).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection, PgPool};
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

/// The image used when `POSTGRES_IMAGE` is not set (the tests' default).
const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The label `cargo xtask` removes leftover containers by, should this process die before removing its own.
const CLEANUP_LABEL: (&str, &str) = ("saas-reference.test", "true");
const SUPERUSER: &str = "postgres";
const SUPERUSER_PASSWORD: &str = "bench-only-superuser-password";
/// The benchmarks' database.
pub const DATABASE: &str = "saas_bench";
/// How long Postgres may take to accept connections; the official image restarts once during init.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The Postgres container, kept until the end of the run.
pub struct Postgres {
    pub container: ContainerAsync<GenericImage>,
    host: String,
    port: u16,
}

impl Postgres {
    /// Starts a container from `POSTGRES_IMAGE` (default `postgres:16-alpine`) on the engine testcontainers
    /// finds (`DOCKER_HOST`), as the API tests do, and waits until it answers.
    pub async fn start() -> anyhow::Result<Postgres> {
        let image = std::env::var("POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
        let (name, tag) = match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (image.as_str(), "latest"),
        };
        let container = GenericImage::new(name, tag)
            .with_exposed_port(5432.tcp())
            .with_wait_for(WaitFor::Nothing)
            .with_env_var("POSTGRES_USER", SUPERUSER)
            .with_env_var("POSTGRES_PASSWORD", SUPERUSER_PASSWORD)
            .with_env_var("POSTGRES_DB", DATABASE)
            .with_label(CLEANUP_LABEL.0, CLEANUP_LABEL.1)
            .start()
            .await
            .with_context(|| format!("starting a container from {image}"))?;
        let host = container.get_host().await?.to_string();
        let port = container.get_host_port_ipv4(5432.tcp()).await?;
        let postgres = Postgres {
            container,
            host,
            port,
        };
        postgres.wait_until_ready().await?;
        Ok(postgres)
    }

    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@{}:{}/{database}",
            self.host, self.port
        )
    }

    /// The port is published before Postgres listens, and the official image restarts once during init.
    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let url = self.url(SUPERUSER, SUPERUSER_PASSWORD, DATABASE);
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
                    bail!("Postgres was not ready after {READY_TIMEOUT:?}: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    pub async fn owner_pool(&self) -> anyhow::Result<PgPool> {
        PgPoolOptions::new()
            .max_connections(3)
            .connect(&self.url(SUPERUSER, SUPERUSER_PASSWORD, DATABASE))
            .await
            .context("connecting as the owner")
    }
}
