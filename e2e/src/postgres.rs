//! A throwaway Postgres server in a container, for one test.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::postgres::{PgPool, PgPoolOptions};
use testcontainers::core::IntoContainerPort;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::net::TcpStream;

/// The image used when `POSTGRES_IMAGE` is not set.
const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The superuser's password inside the throwaway container.
const OWNER_PASSWORD: &str = "e2e-owner-password";
/// How long the server may take to accept connections and answer `select 1`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The pause between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// A running Postgres container. The container is removed when this value is dropped.
pub struct TestPostgres {
    container: ContainerAsync<GenericImage>,
    host: String,
    port: u16,
}

impl TestPostgres {
    /// Starts the image named by `POSTGRES_IMAGE` (labelled `saas-reference.test=true`, so a leftover
    /// container can be found and removed) and waits until the server answers queries over TCP.
    pub async fn start() -> anyhow::Result<TestPostgres> {
        let image = std::env::var("POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
        let (name, tag) = split_image(&image);
        let container = GenericImage::new(name, tag)
            .with_exposed_port(5432.tcp())
            .with_env_var("POSTGRES_PASSWORD", OWNER_PASSWORD)
            .with_label("saas-reference.test", "true")
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
        let postgres = TestPostgres {
            container,
            host,
            port,
        };
        postgres.wait_until_ready().await?;
        Ok(postgres)
    }

    /// The superuser's URL for `database`.
    pub fn owner_url(&self, database: &str) -> String {
        self.url("postgres", OWNER_PASSWORD, database)
    }

    /// The URL of `user` with `password` for `database`.
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@{}:{}/{database}",
            self.host, self.port
        )
    }

    /// The container's id, for error messages.
    pub fn container_id(&self) -> &str {
        self.container.id()
    }

    /// Polls until a TCP connection succeeds and `select 1` answers. The official image runs a temporary
    /// server without TCP while it initialises, so an open port alone does not mean ready.
    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = self.owner_url("postgres");
        let mut last_error = String::from("no attempt made");
        while Instant::now() < deadline {
            match TcpStream::connect((self.host.as_str(), self.port)).await {
                Ok(_) => match select_one(&url).await {
                    Ok(()) => return Ok(()),
                    Err(error) => last_error = error.to_string(),
                },
                Err(error) => last_error = error.to_string(),
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        bail!(
            "Postgres in container {} did not answer within {READY_TIMEOUT:?}: {last_error}",
            self.container_id()
        )
    }
}

async fn select_one(url: &str) -> Result<(), sqlx::Error> {
    let pool: PgPool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(url)
        .await?;
    sqlx::query("select 1").execute(&pool).await?;
    pool.close().await;
    Ok(())
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
}
