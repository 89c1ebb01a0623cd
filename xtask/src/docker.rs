//! A Docker engine for testcontainers and the development database, and the Postgres image.
//!
//! On a laptop the usual engine (Docker Desktop, a system dockerd) is used as it is, and the official
//! `postgres:16-alpine` image is pulled. On machines without a running engine or without registry access
//! (CI boxes), xtask starts Debian's dockerd itself on 127.0.0.1:2375 and builds a Postgres image from Debian
//! packages (`infra/containers/postgres`), caching both outside the clone.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cmd, paths};

/// The address of the engine xtask starts itself. A TCP address (not the unix socket) because inside a
/// container testcontainers would otherwise report the host as the bridge gateway, where ports bound to
/// 127.0.0.1 cannot be reached.
const OWN_ENGINE: &str = "tcp://127.0.0.1:2375";
/// The image the official one is replaced by when no registry can be reached.
const LOCAL_POSTGRES_IMAGE: &str = "local/postgres:15";
const LOCAL_BASE_IMAGE: &str = "local/debian:bookworm";
const OFFICIAL_POSTGRES_IMAGE: &str = "postgres:16-alpine";
/// The label the test fixtures put on their containers, so they can be removed after a run.
pub const TEST_LABEL: &str = "saas-reference.test=true";

/// A reachable Docker engine.
pub struct Engine {
    /// The value to export as DOCKER_HOST (None: the client's default).
    pub host: Option<String>,
    /// The dockerd this process started, stopped by [`Engine::stop_if_started`].
    started: Option<Child>,
}

impl Engine {
    /// Finds a running engine, or starts Debian's dockerd (installing it if needed and allowed).
    pub fn ensure() -> Result<Engine> {
        if !cmd::exists("docker") {
            cmd::apt_install(&["docker.io"], "Postgres for tests (testcontainers)")?;
        }
        if let Ok(host) = std::env::var("DOCKER_HOST") {
            if ping(Some(&host)) {
                return Ok(Engine {
                    host: Some(host),
                    started: None,
                });
            }
            bail!("DOCKER_HOST={host} is set but no Docker engine answers there");
        }
        if ping(Some(OWN_ENGINE)) {
            return Ok(Engine {
                host: Some(OWN_ENGINE.into()),
                started: None,
            });
        }
        let in_container = std::path::Path::new("/.dockerenv").exists();
        if !in_container && ping(None) {
            return Ok(Engine {
                host: None,
                started: None,
            });
        }
        Engine::start_own()
    }

    fn start_own() -> Result<Engine> {
        if !cmd::is_root() {
            bail!(
                "no Docker engine is running. Start one (for example `sudo systemctl start docker`, or Docker \
                 Desktop) and make sure your user may use it, then rerun"
            );
        }
        if !cmd::exists("dockerd") {
            cmd::apt_install(&["docker.io"], "Postgres for tests (testcontainers)")?;
        }
        let dir = paths::cache().join("docker");
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("dockerd.log"))?;
        eprintln!(
            "starting dockerd on {OWN_ENGINE} (data in {})",
            dir.display()
        );
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args(["--host", OWN_ENGINE, "--ip", "127.0.0.1"])
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting dockerd")?;
        let engine = Engine {
            host: Some(OWN_ENGINE.into()),
            started: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ping(engine.host.as_deref()) {
            if Instant::now() > deadline {
                bail!(
                    "dockerd did not answer within 30 s; see {}",
                    dir.join("dockerd.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(engine)
    }

    /// A `docker` command aimed at this engine.
    pub fn docker(&self) -> Command {
        let mut command = Command::new("docker");
        if let Some(host) = &self.host {
            command.env("DOCKER_HOST", host);
        }
        command
    }

    fn has_image(&self, image: &str) -> bool {
        cmd::output(
            self.docker()
                .args(["image", "inspect", "--format", "{{.Id}}", image]),
        )
        .is_some()
    }

    /// The Postgres image for tests and development: `POSTGRES_IMAGE` if set; else an image already here;
    /// else the official one if it can be pulled; else one built locally from Debian packages.
    pub fn postgres_image(&self) -> Result<String> {
        if let Ok(image) = std::env::var("POSTGRES_IMAGE") {
            return Ok(image);
        }
        for image in [OFFICIAL_POSTGRES_IMAGE, LOCAL_POSTGRES_IMAGE] {
            if self.has_image(image) {
                return Ok(image.into());
            }
        }
        let pulled = cmd::output(
            self.docker()
                .args(["pull", "--quiet", OFFICIAL_POSTGRES_IMAGE]),
        );
        if pulled.is_some() {
            return Ok(OFFICIAL_POSTGRES_IMAGE.into());
        }
        eprintln!(
            "{OFFICIAL_POSTGRES_IMAGE} cannot be pulled here; building {LOCAL_POSTGRES_IMAGE} from Debian packages"
        );
        self.build_local_postgres()?;
        Ok(LOCAL_POSTGRES_IMAGE.into())
    }

    fn build_local_postgres(&self) -> Result<()> {
        if !self.has_image(LOCAL_BASE_IMAGE) {
            if !cmd::exists("debootstrap") {
                cmd::apt_install(&["debootstrap"], "Building a local Postgres image")?;
            }
            if !cmd::is_root() {
                bail!(
                    "building the base image needs root (debootstrap); rerun as root or set POSTGRES_IMAGE"
                );
            }
            let rootfs: PathBuf = paths::cache().join("debian-rootfs");
            if rootfs.exists() {
                std::fs::remove_dir_all(&rootfs)?;
            }
            cmd::run(
                Command::new("debootstrap")
                    .args(["--variant=minbase", "bookworm"])
                    .arg(&rootfs),
            )?;
            // `tar -C rootfs -c . | docker import - local/debian:bookworm`
            let mut tar = Command::new("tar")
                .arg("-C")
                .arg(&rootfs)
                .args(["-c", "."])
                .stdout(Stdio::piped())
                .spawn()
                .context("starting tar")?;
            let stdout = tar.stdout.take().context("tar has no stdout")?;
            cmd::run(
                self.docker()
                    .args(["import", "-", LOCAL_BASE_IMAGE])
                    .stdin(stdout),
            )?;
            if !tar.wait()?.success() {
                bail!("tar of the Debian root file system failed");
            }
            std::fs::remove_dir_all(&rootfs)?;
        }
        cmd::run(
            self.docker()
                .args(["build", "--network", "host", "-t", LOCAL_POSTGRES_IMAGE])
                .arg(
                    paths::root()
                        .join("infra")
                        .join("containers")
                        .join("postgres"),
                ),
        )
    }

    /// Removes the containers test fixtures left behind (they live for a whole test process).
    pub fn remove_test_containers(&self) {
        let ids = cmd::output(self.docker().args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={TEST_LABEL}"),
        ]));
        let ids: Vec<String> = ids
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        if !ids.is_empty() {
            let _removed = cmd::output(self.docker().args(["rm", "-f", "-v"]).args(&ids));
        }
    }

    /// Stops the dockerd this process started (it changes iptables' FORWARD policy while it runs).
    pub fn stop_if_started(mut self) {
        if let Some(mut child) = self.started.take() {
            let _signalled = cmd::output(Command::new("kill").arg(child.id().to_string()));
            let _exited = child.wait();
        }
    }
}

fn ping(host: Option<&str>) -> bool {
    if let Some(address) = host.and_then(|h| h.strip_prefix("tcp://")) {
        // A cheap first check so an absent engine answers at once.
        let Ok(parsed) = address.parse() else {
            return false;
        };
        if TcpStream::connect_timeout(&parsed, Duration::from_millis(300)).is_err() {
            return false;
        }
    }
    let mut command = Command::new("docker");
    if let Some(host) = host {
        command.env("DOCKER_HOST", host);
    }
    cmd::output(command.args(["version", "--format", "{{.Server.Version}}"])).is_some()
}
