//! The deployment artifacts: the release executables for `provided.al2023` and the container image (static
//! musl builds), staged where the AWS deployment picks them up, and the OpenAPI document it reads the API
//! Gateway routes from.
//!
//! One `cargo build --release --target x86_64-unknown-linux-musl --package backend --bins` produces both
//! executables: `backend` (the image's entry point) and `pre-token-generation` (the trigger Lambda, shipped as
//! `bootstrap`). Static musl executables run on Amazon Linux 2023 and in a distroless image whatever their C
//! library; a glibc build from this machine would need a glibc at least as new as Debian 12's, which Amazon
//! Linux 2023 does not promise.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tools::Tools;
use crate::{cmd, paths, web};

/// The target the deployment's executables are built for.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// The trigger Lambda's binary target in the backend package.
pub const TRIGGER_BIN: &str = "pre-token-generation";

/// Where the staged artifacts are.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The Lambda asset directory: holds the executable `bootstrap` (the trigger).
    pub lambda_dir: PathBuf,
    /// The container image's build context: `Dockerfile`, the `backend` executable, the built web app `web/`.
    pub image_dir: PathBuf,
    /// The OpenAPI document of `/api/v1` (what `backend openapi` prints).
    pub openapi: PathBuf,
}

/// The release executables of the backend package, built for [`MUSL_TARGET`].
#[derive(Debug, Clone)]
pub struct ReleaseBinaries {
    /// The server (`backend serve | migrate | reconcile-idps | …`).
    pub backend: PathBuf,
    /// The pre-token-generation trigger on the Lambda runtime.
    pub trigger: PathBuf,
}

/// Builds the release executables and the web app, and stages everything the deployment needs under
/// `<target dir>/deploy/`.
pub fn build(tools: &Tools) -> Result<Artifacts> {
    let binaries = release_binaries()?;
    web::build(tools)?;
    let deploy = paths::target_dir().join("deploy");
    let lambda_dir = stage_lambda(&binaries, &deploy)?;
    let image_dir = stage_image(&binaries, &paths::web_dist(), &deploy)?;
    let openapi = deploy.join("openapi.json");
    let document = cmd::output(Command::new(&binaries.backend).arg("openapi"))
        .context("`backend openapi` failed")?;
    std::fs::write(&openapi, document + "\n")
        .with_context(|| format!("writing {}", openapi.display()))?;
    Ok(Artifacts {
        lambda_dir,
        image_dir,
        openapi,
    })
}

/// `cargo xtask build-lambda`: builds the release executables and stages the trigger's Lambda asset;
/// returns its directory.
pub fn build_lambda() -> Result<PathBuf> {
    let binaries = release_binaries()?;
    let dir = stage_lambda(&binaries, &paths::target_dir().join("deploy"))?;
    let size = std::fs::metadata(dir.join("bootstrap"))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "trigger Lambda staged: {} ({:.1} MB, static, for provided.al2023 x86_64)",
        dir.join("bootstrap").display(),
        size as f64 / 1_000_000.0
    );
    Ok(dir)
}

/// Builds `backend` and `pre-token-generation` in release mode for [`MUSL_TARGET`], installing the target and
/// the musl C compiler (for the crates that compile C) when they are missing.
pub fn release_binaries() -> Result<ReleaseBinaries> {
    ensure_musl_toolchain()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    cmd::run(Command::new(&cargo).current_dir(paths::root()).args([
        "build",
        "--release",
        "--target",
        MUSL_TARGET,
        "--package",
        "backend",
        "--bins",
    ]))?;
    let dir = paths::target_dir().join(MUSL_TARGET).join("release");
    let binaries = ReleaseBinaries {
        backend: dir.join("backend"),
        trigger: dir.join(TRIGGER_BIN),
    };
    for binary in [&binaries.backend, &binaries.trigger] {
        if !binary.is_file() {
            bail!("the build finished but {} is missing", binary.display());
        }
    }
    Ok(binaries)
}

fn ensure_musl_toolchain() -> Result<()> {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]));
    match installed {
        Some(list) if list.lines().any(|line| line.trim() == MUSL_TARGET) => {}
        Some(_) => cmd::run(Command::new("rustup").args(["target", "add", MUSL_TARGET]))?,
        None => bail!(
            "rustup was not found; the deployment's executables need the {MUSL_TARGET} target. Install Rust \
             with rustup (https://rustup.rs), then run `rustup target add {MUSL_TARGET}`"
        ),
    }
    if !cmd::exists("musl-gcc") {
        cmd::apt_install(
            &["musl-tools"],
            "Building the static executables for AWS (crates that compile C need musl-gcc)",
        )?;
    }
    Ok(())
}

/// Copies the trigger to `<deploy>/lambda/pre-token-generation/bootstrap`, the name `provided.al2023` runs.
fn stage_lambda(binaries: &ReleaseBinaries, deploy: &Path) -> Result<PathBuf> {
    let dir = deploy.join("lambda").join(TRIGGER_BIN);
    fresh_dir(&dir)?;
    copy_executable(&binaries.trigger, &dir.join("bootstrap"))?;
    Ok(dir)
}

/// Stages the container image's build context: the Dockerfile of `infra/containers/backend`, the `backend`
/// executable and the web app.
fn stage_image(binaries: &ReleaseBinaries, web_dist: &Path, deploy: &Path) -> Result<PathBuf> {
    let dir = deploy.join("image").join("backend");
    fresh_dir(&dir)?;
    let dockerfile = paths::root()
        .join("infra")
        .join("containers")
        .join("backend")
        .join("Dockerfile");
    std::fs::copy(&dockerfile, dir.join("Dockerfile"))
        .with_context(|| format!("copying {}", dockerfile.display()))?;
    copy_executable(&binaries.backend, &dir.join("backend"))?;
    copy_tree(web_dist, &dir.join("web"))?;
    Ok(dir)
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", to.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}
