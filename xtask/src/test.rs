//! `cargo xtask test` (the checks of `cargo xtask lint`, then every test, browser tests included) and `cargo
//! xtask e2e`.

use std::process::Command;

use anyhow::Result;

use crate::docker::Engine;
use crate::tools::{Need, Tools};
use crate::{artifacts, cmd, paths, web};

/// Which tests to run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The checks of `cargo xtask lint`, and every test of the workspace.
    All,
    /// Only the browser end-to-end tests.
    BrowserOnly,
}

/// Sets up the tools, the Docker engine and the Postgres image, builds the web app, and runs the tests.
/// Extra arguments are passed to `cargo test` after `--` (for example a test name filter).
pub fn run(scope: Scope, extra: &[String]) -> Result<()> {
    let tools = Tools::ensure(Need { browser: true })?;
    let engine = Engine::ensure()?;
    let result = run_with(scope, extra, &tools, &engine);
    engine.remove_test_containers();
    engine.stop_if_started();
    result
}

fn run_with(scope: Scope, extra: &[String], tools: &Tools, engine: &Engine) -> Result<()> {
    let image = engine.postgres_image()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = paths::root();

    let not_checked = if scope == Scope::All {
        let not_checked = crate::lint::run(&[])?;
        crate::sqlx::prepare(engine, &image, crate::sqlx::Mode::Check)?;
        not_checked
    } else {
        Vec::new()
    };
    // The browser tests run the trigger Lambda exactly as it ships: the static release build, under the
    // Lambda stand-in.
    let trigger_bootstrap = if scope == Scope::All {
        check_backend_links_no_stand_in(&cargo)?;
        let artifacts = artifacts::build(tools)?;
        // The AWS deployment, offline: synthesis, cdk-nag, cfn-lint, the CDK assertion tests, hadolint.
        crate::aws::check(&artifacts)?;
        artifacts.lambda_dir.join("bootstrap")
    } else {
        web::build(tools)?;
        artifacts::build_lambda()?.join("bootstrap")
    };
    if scope == Scope::All {
        crate::tools::ensure_iam_simulate()?;
        crate::tools::ensure_fidelity_python()?;
        crate::tools::ensure_fidelity_js()?;
        // The web app's own unit tests run on the host (the browser tests below drive the wasm build).
        cmd::run(Command::new(&cargo).current_dir(&root).args([
            "test",
            "--package",
            "frontend",
            "--lib",
        ]))?;
    }

    let mut test = Command::new(&cargo);
    test.current_dir(&root).arg("test");
    match scope {
        Scope::All => test.args(["--workspace", "--exclude", "frontend"]),
        Scope::BrowserOnly => test.args(["--package", "e2e"]),
    };
    if !extra.is_empty() {
        test.arg("--").args(extra);
    }
    test.env("POSTGRES_IMAGE", &image)
        .env("WEB_DIST_DIR", paths::web_dist())
        // The IAM cross-check must run, from where `ensure_iam_simulate` installed the simulator.
        .env("SAAS_REFERENCE_CACHE", paths::cache())
        .env("IAM_SIMULATE_REQUIRED", "1")
        // So must the fidelity suite, from where `ensure_fidelity_python` made its environment.
        .env("FIDELITY_REQUIRED", "1")
        .env("TRIGGER_BOOTSTRAP", &trigger_bootstrap);
    if let Some(host) = &engine.host {
        test.env("DOCKER_HOST", host);
    }
    if let (Some(chrome), Some(driver)) = (&tools.chrome, &tools.chromedriver) {
        test.env("CHROME", chrome).env("CHROMEDRIVER", driver);
    }
    cmd::run(&mut test)?;
    for what in not_checked {
        eprintln!("note: {what}; see the lint output above");
    }
    Ok(())
}

/// The production backend must not link the local stand-ins: `cargo tree` of its normal dependencies names
/// neither `local-aws` nor `s3s` (they are test dependencies only).
fn check_backend_links_no_stand_in(cargo: &str) -> Result<()> {
    let tree = cmd::output(Command::new(cargo).current_dir(paths::root()).args([
        "tree",
        "--package",
        "backend",
        "--edges",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]))
    .ok_or_else(|| anyhow::anyhow!("`cargo tree --package backend` failed"))?;
    let linked: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or_default();
            matches!(name, "local-aws" | "s3s" | "s3s-fs")
        })
        .collect();
    if !linked.is_empty() {
        anyhow::bail!(
            "the backend links stand-in code through its normal dependencies: {}",
            linked.join(", ")
        );
    }
    eprintln!("the backend's normal dependencies include no stand-in (local-aws, s3s)");
    Ok(())
}
