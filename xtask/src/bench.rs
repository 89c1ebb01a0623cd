//! `cargo xtask bench`: the access-token verifier against a bare `jsonwebtoken` decode (criterion), the load
//! test of `GET /api/v1/reports` against a `/healthz` baseline, a 200 MB multipart upload through the S3
//! stand-in with and without policy evaluation (with the backend's CPU time meanwhile), and the trigger
//! Lambda's cold start and warm invocations (the static release `bootstrap` that ships, under the Lambda
//! stand-in) against Cognito's 5-second limit, all in release builds. The last three need Postgres, so the
//! Docker engine and image are prepared as for the tests.

use std::process::Command;

use anyhow::Result;

use crate::docker::Engine;
use crate::{artifacts, cmd, paths};

/// Runs the four benchmarks; each prints its own figures and ratios.
pub fn run() -> Result<()> {
    let engine = Engine::ensure()?;
    let result = run_with(&engine);
    engine.remove_test_containers();
    engine.stop_if_started();
    result
}

fn run_with(engine: &Engine) -> Result<()> {
    let image = engine.postgres_image()?;
    let bootstrap = artifacts::build_lambda()?.join("bootstrap");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = paths::root();
    cmd::run(Command::new(&cargo).current_dir(&root).args([
        "bench",
        "--package",
        "backend",
        "--bench",
        "verifier",
    ]))?;
    for bench in ["load", "upload", "trigger"] {
        let mut command = Command::new(&cargo);
        command
            .current_dir(&root)
            .args(["bench", "--package", "backend", "--bench", bench])
            .env("POSTGRES_IMAGE", &image)
            .env("TRIGGER_BOOTSTRAP", &bootstrap);
        if let Some(host) = &engine.host {
            command.env("DOCKER_HOST", host);
        }
        cmd::run(&mut command)?;
    }
    Ok(())
}
