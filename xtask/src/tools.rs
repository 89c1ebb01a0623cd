//! The build and test tools: the wasm32 target, the wasm-bindgen CLI (pinned to the crate's version in
//! Cargo.lock), wasm-opt from npm's `binaryen`, Chromium with ChromeDriver for browser tests, and the pinned
//! cargo plugins of `cargo xtask lint` (cargo-deny, cargo-machete).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cmd, paths};

/// The binaryen release whose wasm-opt is known to produce working Leptos builds. Debian's binaryen 108
/// silently breaks them (`WebAssembly.Table.set(): Argument 1 is invalid`), so it is never used.
const BINARYEN_VERSION: &str = "132.0.0";

/// cargo-deny, for licenses, advisories, bans and sources (`deny.toml`). 0.20.2 needs rustc 1.88; the `=`
/// pin keeps a newer release, which may need a newer rustc or change the configuration's meaning, out until
/// chosen.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// cargo-machete, for unused dependencies: it reads the sources, so it needs no build.
pub const CARGO_MACHETE_VERSION: &str = "0.9.2";

/// What a command needs besides the wasm tool chain.
#[derive(Clone, Copy)]
pub struct Need {
    /// Chromium and ChromeDriver, for browser tests.
    pub browser: bool,
}

/// Paths of the tools, once ensured.
pub struct Tools {
    /// The wasm-bindgen CLI matching the crate version.
    pub wasm_bindgen: PathBuf,
    /// wasm-opt, when it could be installed (optional: only makes the wasm smaller).
    pub wasm_opt: Option<PathBuf>,
    /// Chromium, when requested.
    pub chrome: Option<PathBuf>,
    /// ChromeDriver, when requested.
    pub chromedriver: Option<PathBuf>,
}

impl Tools {
    /// Installs what is missing, or stops with an exact instruction.
    pub fn ensure(need: Need) -> Result<Tools> {
        ensure_wasm_target()?;
        let wasm_bindgen = ensure_wasm_bindgen()?;
        let wasm_opt = ensure_wasm_opt();
        let (chrome, chromedriver) = if need.browser {
            let (chrome, driver) = ensure_browser()?;
            (Some(chrome), Some(driver))
        } else {
            (None, None)
        };
        Ok(Tools {
            wasm_bindgen,
            wasm_opt,
            chrome,
            chromedriver,
        })
    }
}

/// Adds the wasm32 target with rustup when it is missing.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]));
    match installed {
        Some(list)
            if list
                .lines()
                .any(|line| line.trim() == "wasm32-unknown-unknown") =>
        {
            Ok(())
        }
        Some(_) => {
            cmd::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
        }
        None => bail!(
            "rustup was not found; the web app needs the wasm32 target. Install Rust with rustup \
             (https://rustup.rs), then run `rustup target add wasm32-unknown-unknown`"
        ),
    }
}

/// The wasm-bindgen crate version recorded in Cargo.lock: the CLI must be exactly the same version.
fn wasm_bindgen_version() -> Result<String> {
    paths::locked_version("wasm-bindgen")
}

fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let version = wasm_bindgen_version()?;
    let root = paths::cache()
        .join("tools")
        .join(format!("wasm-bindgen-{version}"));
    let binary = root.join("bin").join("wasm-bindgen");
    if cmd::output(Command::new(&binary).arg("--version")).is_some_and(|v| v.ends_with(&version)) {
        return Ok(binary);
    }
    eprintln!(
        "installing wasm-bindgen-cli {version} into {} (a few minutes, once)",
        root.display()
    );
    // Without --locked: the CLI's own lock file names crate versions a mirror may lack.
    cmd::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &version,
                "--root",
            ])
            .arg(&root)
            // Build the tool in its own target directory so it never invalidates the project's.
            .env(
                "CARGO_TARGET_DIR",
                paths::cache().join("tools").join("build"),
            ),
    )?;
    Ok(binary)
}

/// Installs the cargo plugin `krate` at exactly `version` into `<cache>/tools/<krate>-<version>` (its own
/// lock file: `--locked`), once, and returns the path of its executable `binary`.
pub fn ensure_cargo_tool(krate: &str, version: &str, binary: &str) -> Result<PathBuf> {
    ensure_cargo_tool_with(krate, version, binary, &[])
}

/// Like [`ensure_cargo_tool`], with further `cargo install` arguments (a feature selection, say).
pub fn ensure_cargo_tool_with(
    krate: &str,
    version: &str,
    binary: &str,
    install_args: &[&str],
) -> Result<PathBuf> {
    let root = paths::cache()
        .join("tools")
        .join(format!("{krate}-{version}"));
    let path = root.join("bin").join(binary);
    if path.exists() {
        return Ok(path);
    }
    eprintln!(
        "installing {krate} {version} into {} (a few minutes, once)",
        root.display()
    );
    cmd::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", krate, "--locked", "--version"])
            .arg(format!("={version}"))
            .args(install_args)
            .arg("--root")
            .arg(&root)
            .env(
                "CARGO_TARGET_DIR",
                paths::cache().join("tools").join("build"),
            ),
    )?;
    Ok(path)
}

fn ensure_wasm_opt() -> Option<PathBuf> {
    let root = paths::cache()
        .join("tools")
        .join(format!("binaryen-{BINARYEN_VERSION}"));
    let binary = root.join("node_modules").join(".bin").join("wasm-opt");
    if binary.exists() {
        return Some(binary);
    }
    if !cmd::exists("npm") {
        eprintln!(
            "note: npm not found; the web app is built without wasm-opt (larger, still correct)"
        );
        return None;
    }
    let installed = cmd::run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&root)
            .arg(format!("binaryen@{BINARYEN_VERSION}")),
    );
    match installed {
        Ok(()) if binary.exists() => Some(binary),
        _ => {
            eprintln!("note: could not install binaryen from npm; building without wasm-opt");
            None
        }
    }
}

fn ensure_browser() -> Result<(PathBuf, PathBuf)> {
    let chrome = std::env::var_os("CHROME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into());
    if !chrome.exists() || !driver.exists() {
        cmd::apt_install(&["chromium", "chromium-driver"], "The browser tests")?;
    }
    if !chrome.exists() || !driver.exists() {
        bail!(
            "Chromium or ChromeDriver still missing at {} / {}; set CHROME and CHROMEDRIVER to their paths",
            chrome.display(),
            driver.display()
        );
    }
    Ok((chrome, driver))
}

/// Installs npm `@cloud-copilot/iam-simulate`, pinned by `infra/local-aws/tests/iam/package-lock.json`, into
/// `<cache>/tools/iam-simulate`, where the IAM evaluator's cross-check test looks for it.
pub fn ensure_iam_simulate() -> Result<()> {
    npm_ci_pinned(
        "infra/local-aws/tests/iam",
        "iam-simulate",
        "the IAM simulator the IAM evaluator's tests compare with",
    )
}

/// Creates the fidelity suite's Python environment (boto3, Authlib, pytest), pinned by
/// `infra/local-aws/tests/fidelity/requirements.txt`, in `<cache>/tools/fidelity-python`, where the suite's
/// harness looks for it. Made afresh when the requirements change; a copy of them inside marks what was
/// installed.
pub fn ensure_fidelity_python() -> Result<()> {
    let requirements = paths::root().join("infra/local-aws/tests/fidelity/requirements.txt");
    let pinned = std::fs::read(&requirements)
        .context("reading infra/local-aws/tests/fidelity/requirements.txt")?;
    let venv = paths::cache().join("tools").join("fidelity-python");
    let marker = venv.join("requirements.txt");
    let python = venv.join("bin").join("python");
    if python.exists() && std::fs::read(&marker).ok() == Some(pinned.clone()) {
        return Ok(());
    }
    if !cmd::exists("python3") {
        cmd::apt_install(
            &["python3", "python3-venv"],
            "The stand-ins' fidelity suite (boto3, Authlib)",
        )?;
    }
    let fresh = || -> Result<()> {
        if venv.exists() {
            std::fs::remove_dir_all(&venv)
                .with_context(|| format!("clearing {}", venv.display()))?;
        }
        cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
    };
    if fresh().is_err() {
        // Debian splits venv (and the pip it bootstraps) into its own package.
        cmd::apt_install(&["python3-venv"], "A virtualenv for the fidelity suite")?;
        fresh()?;
    }
    cmd::run(
        Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--requirement",
            ])
            .arg(&requirements),
    )
    .context("installing the fidelity suite's Python packages from PyPI")?;
    // Written last: an interrupted install is redone next time.
    std::fs::write(&marker, pinned).with_context(|| format!("writing {}", marker.display()))
}

/// Installs the JavaScript fidelity suite's packages (the AWS SDK for JavaScript v3, openid-client), pinned
/// by `infra/local-aws/tests/fidelity-js/package-lock.json`, into `<cache>/tools/fidelity-js`, where the
/// suite's harness runs it.
pub fn ensure_fidelity_js() -> Result<()> {
    npm_ci_pinned(
        "infra/local-aws/tests/fidelity-js",
        "fidelity-js",
        "the stand-ins' JavaScript fidelity suite",
    )
}

/// Installs the npm packages that `<root>/<source>/package-lock.json` pins into `<cache>/tools/<tool>` with
/// `npm ci`, afresh whenever the lock file changes. `installed-package-lock.json`, written last, marks a
/// complete install (and is what the tests compare with the repository's lock file).
fn npm_ci_pinned(source: &str, tool: &str, what: &str) -> Result<()> {
    let source_dir = paths::root().join(source);
    let target = paths::cache().join("tools").join(tool);
    let marker = target.join("installed-package-lock.json");
    let lock = std::fs::read(source_dir.join("package-lock.json"))
        .with_context(|| format!("reading {source}/package-lock.json"))?;
    if std::fs::read(&marker).ok() == Some(lock.clone()) {
        return Ok(());
    }
    if !cmd::exists("npm") {
        bail!(
            "npm is needed to install {what}. Install Node.js 20 or newer (Debian: `apt-get install nodejs \
             npm`) and run the command again."
        );
    }
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .with_context(|| format!("clearing {}", target.display()))?;
    }
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source_dir.join(file), target.join(file))
            .with_context(|| format!("copying {file} to {}", target.display()))?;
    }
    cmd::run(
        Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&target),
    )
    .with_context(|| format!("installing {what} with npm"))?;
    std::fs::write(&marker, lock).with_context(|| format!("writing {}", marker.display()))
}
