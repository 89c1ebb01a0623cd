//! The stand-ins driven by clients nobody here wrote: boto3 (the AWS SDK for Python) against the identity
//! pool, S3 and the user-pool API, and Authlib (a generic OAuth 2.0 / OpenID Connect client) through the
//! user pool's sign-in, in `tests/fidelity/` (pytest); the AWS SDK for JavaScript v3 and openid-client (a
//! certified OpenID Connect relying party) in `tests/fidelity-js/` (node's test runner). Each case sits next
//! to the AWS documentation address of the answer it expects; this test starts the demo world in-process
//! and runs both suites against it.
//!
//! `cargo xtask test` installs the pinned environments (`tests/fidelity/requirements.txt` into
//! `$SAAS_REFERENCE_CACHE/tools/fidelity-python`, `tests/fidelity-js/package-lock.json` into
//! `$SAAS_REFERENCE_CACHE/tools/fidelity-js`) and sets `FIDELITY_REQUIRED`, so that a missing environment
//! fails there; a plain `cargo test` without them skips the suites and says so.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::json;

use crate::helpers::*;

/// The suite's directory.
fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity")
}

/// Where `xtask` installs the Python environment, by default under `~/.cache/saas-reference`.
fn environment_dir() -> Option<PathBuf> {
    let cache = match std::env::var_os("SAAS_REFERENCE_CACHE") {
        Some(cache) => PathBuf::from(cache),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache")
            .join("saas-reference"),
    };
    Some(cache.join("tools").join("fidelity-python"))
}

/// The JavaScript suite's directory.
fn js_suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity-js")
}

/// Where `xtask` installs the JavaScript suite's packages, when a complete install from its current lock file
/// is there.
fn js_environment() -> Option<PathBuf> {
    let dir = environment_dir()?.with_file_name("fidelity-js");
    let installed = std::fs::read_to_string(dir.join("installed-package-lock.json")).ok()?;
    let pinned = std::fs::read_to_string(js_suite_dir().join("package-lock.json")).ok()?;
    (installed == pinned).then_some(dir)
}

/// The environment's Python, when it was installed from the suite's current requirements.
fn python() -> Option<PathBuf> {
    let dir = environment_dir()?;
    let installed = std::fs::read_to_string(dir.join("requirements.txt")).ok()?;
    let pinned = std::fs::read_to_string(suite_dir().join("requirements.txt")).ok()?;
    let python = dir.join("bin").join("python");
    (installed == pinned && python.exists()).then_some(python)
}

#[tokio::test]
async fn outside_clients_get_the_answers_aws_documents() {
    let (Some(python), Some(js)) = (python(), js_environment()) else {
        assert!(
            std::env::var_os("FIDELITY_REQUIRED").is_none(),
            "the fidelity suites' environments are not installed (or not from the current requirements.txt \
             and package-lock.json) under $SAAS_REFERENCE_CACHE/tools/fidelity-python and fidelity-js: \
             `cargo xtask test` installs them"
        );
        eprintln!("the fidelity suites' environments are not installed; the suites were skipped");
        return;
    };
    let world = World::start().await;
    // The upload role's policy needs the tenant claim the trigger adds; this world runs without the trigger,
    // so the harness signs the ID token the backend would hand to the identity pool.
    let tenant = "0d8f6a3e-2b7c-4e1a-9c55-7a1d2b3c4d5e";
    let user = "5b0f7a3c-0000-4000-8000-00000000a11c";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tagged_id_token = world.aws.sign_id_token(&json!({
        "sub": user,
        "iss": world.aws.issuer(),
        "aud": world.web.client_id,
        "token_use": "id",
        "tenant_id": tenant,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
    }));
    let machine = world.aws.client("machine").unwrap();
    let (backend_key, backend_secret) = world.aws.backend_s3_key();
    let settings = json!({
        "region": world.aws.region(),
        "issuer": world.aws.issuer(),
        "auth_domain": world.aws.auth_domain(),
        "user_pool_id": world.aws.user_pool_id(),
        "user_pool_endpoint": world.aws.user_pool_endpoint(),
        "web_client_id": world.web.client_id,
        "web_client_secret": world.web.client_secret,
        "machine_client_id": machine.client_id,
        "machine_client_secret": machine.client_secret,
        "callback": world.callback,
        "user": ALICE,
        "password": PASSWORD,
        "provider": "acme-entra",
        "identity_pool_endpoint": world.aws.identity_pool_endpoint(),
        "identity_pool_id": world.aws.identity_pool_id(),
        "tagged_id_token": tagged_id_token,
        "tenant_id": tenant,
        "user_sub": user,
        "s3_endpoint": world.aws.s3_endpoint(),
        "bucket": world.aws.bucket(),
        "backend_access_key": backend_key,
        "backend_secret_key": backend_secret,
    });
    let mut python_suite = tokio::process::Command::new(python);
    python_suite
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"])
        .arg(suite_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run_suite(python_suite, &settings).await;
    // Node resolves packages from where a module lies, so the suite runs from a copy beside its packages.
    let suite = js.join("fidelity.test.mjs");
    std::fs::copy(js_suite_dir().join("fidelity.test.mjs"), &suite).unwrap();
    let mut js_suite = tokio::process::Command::new("node");
    js_suite.arg("--test").arg(&suite);
    run_suite(js_suite, &settings).await;
}

/// Runs one suite with the world's settings and no credentials of whoever runs the tests; fails the test
/// with its report when it fails.
async fn run_suite(mut suite: tokio::process::Command, settings: &serde_json::Value) {
    let output = suite
        .env("FIDELITY_SETTINGS", settings.to_string())
        // The SDKs must not find credentials or settings of whoever runs the tests.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "a fidelity suite failed:\n{report}"
    );
}
