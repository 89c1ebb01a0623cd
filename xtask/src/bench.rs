//! `cargo xtask bench`: the access-token verifier against a bare `jsonwebtoken` decode (criterion), the load
//! test of `GET /api/v1/reports` against a `/healthz` baseline, a 200 MB multipart upload through the S3
//! stand-in with and without policy evaluation (with the backend's CPU time meanwhile), and the trigger
//! Lambda's cold start and warm invocations (the static release `bootstrap` that ships, under the Lambda
//! stand-in) against Cognito's 5-second limit, all in release builds. The last three need Postgres, so the
//! Docker engine and image are prepared as for the tests. Then the developer loop: how long a warm
//! `cargo xtask dev` takes to serve, and how long after a change to the backend's source. Between the two, the
//! web app's first load (its wasm and JavaScript as the browser downloads them, gzip and brotli) and the
//! dashboard's time to interactive in headless Chromium, first visit and return visit; then the property
//! and differential tests with many more cases than the test suite runs.
//!
//! Every benchmark adds its figures to `<target>/bench/summary.json` (`testkit::bench`: name, value, unit,
//! floor, ratio), the developer loop too.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::docker::Engine;
use crate::{artifacts, cmd, paths, tools, web};

/// Runs the four benchmarks; each prints its own figures and ratios. Then the web app's first load and the
/// dashboard in a browser, then the developer loop.
pub fn run() -> Result<()> {
    let engine = Engine::ensure()?;
    let result = run_with(&engine).and_then(|bootstrap| {
        web_size()?;
        dashboard(&engine, &bootstrap)
    });
    engine.remove_test_containers();
    engine.stop_if_started();
    result?;
    properties()?;
    dev_loop()
}

/// Cases of each property test in the longer run (the tests run 256 to 512 with their fixed seeds).
const PROPERTY_CASES: &str = "8192";
/// Generated policies and requests the IAM evaluator and the simulator decide in the longer run (500 in tests).
const IAM_GENERATED_CASES: &str = "20000";
/// Upload cases of the longer run: each makes a dozen requests to the stand-ins (about 70 ms).
const UPLOAD_CASES: &str = "2000";

/// The property and differential tests again with many more cases than `cargo xtask test` runs: the CSV
/// cell rules, the token verifier and the trigger event parser (proptest), the web app's upload keys and
/// signatures against the backend and the S3 stand-in, and the IAM evaluator against the pinned simulator on
/// generated policies and requests.
fn properties() -> Result<()> {
    println!();
    println!("== property and differential tests, longer run ==");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = paths::root();
    cmd::run(
        Command::new(&cargo)
            .current_dir(&root)
            .args(["test", "--package", "backend", "--lib", "properties"])
            .env("PROPTEST_CASES", PROPERTY_CASES),
    )?;
    cmd::run(
        Command::new(&cargo)
            .current_dir(&root)
            .args(["test", "--package", "e2e", "--test", "upload_rules"])
            .env("PROPTEST_CASES", UPLOAD_CASES),
    )?;
    tools::ensure_iam_simulate()?;
    cmd::run(
        Command::new(&cargo)
            .current_dir(&root)
            .args([
                "test",
                "--package",
                "local-aws",
                "--test",
                "local_aws",
                "--",
                "iam::generated",
                "--nocapture",
            ])
            .env("IAM_GENERATED_CASES", IAM_GENERATED_CASES)
            .env("SAAS_REFERENCE_CACHE", paths::cache())
            .env("IAM_SIMULATE_REQUIRED", "1"),
    )
}

/// The dashboard's time to interactive in headless Chromium (`e2e/benches/dashboard.rs`), on the web app
/// [`web_size`] built, with the trigger Lambda as it ships.
fn dashboard(engine: &Engine, bootstrap: &Path) -> Result<()> {
    println!();
    let tools = tools::Tools::ensure(tools::Need { browser: true })?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(paths::root())
        .args(["bench", "--package", "e2e", "--bench", "dashboard"])
        .env("POSTGRES_IMAGE", engine.postgres_image()?)
        .env("WEB_DIST_DIR", paths::web_dist())
        .env("TRIGGER_BOOTSTRAP", bootstrap);
    if let Some(host) = &engine.host {
        command.env("DOCKER_HOST", host);
    }
    if let (Some(chrome), Some(driver)) = (&tools.chrome, &tools.chromedriver) {
        command.env("CHROME", chrome).env("CHROMEDRIVER", driver);
    }
    cmd::run(&mut command)
}

/// What the first visit downloads of the web app at most, gzipped (the goal); brotli is smaller still.
const FIRST_LOAD_GOAL_KB: f64 = 400.0;

/// Builds the web app as `cargo xtask build-web` does and measures what a first visit downloads (the main
/// wasm and the JavaScript), gzipped and as brotli (the backend serves whichever the browser accepts), and,
/// apart, the modules fetched when a page that needs them is opened.
fn web_size() -> Result<()> {
    println!();
    println!("== web app, first load ==");
    let tools = tools::Tools::ensure(tools::Need { browser: false })?;
    let built = web::build(&tools)?;
    let kb = |bytes: u64| bytes as f64 / 1000.0;
    let mut figures = Vec::new();
    let mut total = (0, 0);
    for kind in ["wasm", "js"] {
        let files: Vec<&PathBuf> = built
            .first_load
            .iter()
            .filter(|path| path.extension().is_some_and(|extension| extension == kind))
            .collect();
        let (gzip, brotli) = compressed_sizes(&files)?;
        println!(
            "{kind}: {:.0} kB gzipped, {:.0} kB as brotli",
            kb(gzip),
            kb(brotli)
        );
        figures.push((format!("web.first_load.{kind}_gzip"), kb(gzip)));
        total = (total.0 + gzip, total.1 + brotli);
    }
    let (total_gzip, total_brotli) = total;
    println!(
        "first load: {:.0} kB gzipped (goal {FIRST_LOAD_GOAL_KB:.0} kB: {:.2}x), {:.0} kB as brotli",
        kb(total_gzip),
        kb(total_gzip) / FIRST_LOAD_GOAL_KB,
        kb(total_brotli)
    );
    figures.push(("web.first_load.gzip".to_owned(), kb(total_gzip)));
    figures.push(("web.first_load.brotli".to_owned(), kb(total_brotli)));
    let on_demand: Vec<&PathBuf> = built.on_demand.iter().collect();
    let (gzip, brotli) = compressed_sizes(&on_demand)?;
    println!(
        "on demand (pages fetched when first opened): {} modules, {:.0} kB gzipped, {:.0} kB as brotli",
        on_demand.len(),
        kb(gzip),
        kb(brotli)
    );
    figures.push(("web.on_demand.gzip".to_owned(), kb(gzip)));
    let summary = paths::target_dir().join("bench").join("summary.json");
    let figures: Vec<(&str, f64, &str)> = figures
        .iter()
        .map(|(name, value)| (name.as_str(), *value, "kB"))
        .collect();
    record(&summary, &figures)
}

/// The sizes of the gzip and brotli copies the build made of `files`, summed.
fn compressed_sizes(files: &[&PathBuf]) -> Result<(u64, u64)> {
    let mut sizes = (0, 0);
    for file in files {
        let size = |encoding: &str| {
            let mut copy = file.as_os_str().to_owned();
            copy.push(format!(".{encoding}"));
            std::fs::metadata(&copy)
                .map(|metadata| metadata.len())
                .with_context(|| format!("reading the size of {}", PathBuf::from(&copy).display()))
        };
        sizes = (sizes.0 + size("gz")?, sizes.1 + size("br")?);
    }
    Ok(sizes)
}

/// Where `cargo xtask dev` serves.
const DEV_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 3000);
/// The longest a `cargo xtask dev` start may take here before the measurement gives up.
const DEV_START_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Times `cargo xtask dev` from its start until the backend answers `/healthz`: once unmeasured (it may have to
/// build), once warm (nothing changed), and once after a backend source file changed (its modification time,
/// which is what cargo looks at: the backend is compiled and linked again).
fn dev_loop() -> Result<()> {
    println!();
    println!("== developer loop ==");
    let xtask = std::env::current_exe().context("locating the xtask binary")?;
    eprintln!("bench: a first `cargo xtask dev`, to build what it needs (not measured)");
    time_dev_start(&xtask)?;
    let warm = time_dev_start(&xtask)?;
    println!(
        "warm `cargo xtask dev` (nothing changed) serving after {:.1} s",
        warm.as_secs_f64()
    );
    let source = paths::root().join("backend").join("src").join("lib.rs");
    std::fs::File::options()
        .append(true)
        .open(&source)
        .and_then(|file| file.set_modified(SystemTime::now()))
        .with_context(|| format!("touching {}", source.display()))?;
    let changed = time_dev_start(&xtask)?;
    println!(
        "`cargo xtask dev` after a backend source change serving after {:.1} s",
        changed.as_secs_f64()
    );
    let summary = paths::target_dir().join("bench").join("summary.json");
    record(
        &summary,
        &[
            ("dev.warm_start_to_serving", warm.as_secs_f64(), "s"),
            ("dev.backend_change_to_serving", changed.as_secs_f64(), "s"),
        ],
    )?;
    println!("figures recorded in {}", summary.display());
    Ok(())
}

/// Starts `cargo xtask dev` (through the running xtask binary), waits until it serves, stops it with Ctrl-C
/// (SIGINT) and returns how long it took to serve.
fn time_dev_start(xtask: &Path) -> Result<Duration> {
    let started = Instant::now();
    let mut dev = Command::new(xtask)
        .arg("dev")
        .stdout(Stdio::null())
        .spawn()
        .context("starting `cargo xtask dev`")?;
    let outcome = loop {
        if let Some(status) = dev.try_wait()? {
            break Err(anyhow::anyhow!(
                "`cargo xtask dev` exited ({status}) before serving"
            ));
        }
        if serves() {
            break Ok(started.elapsed());
        }
        if started.elapsed() > DEV_START_LIMIT {
            break Err(anyhow::anyhow!(
                "`cargo xtask dev` did not serve within {DEV_START_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = cmd::output(Command::new("kill").arg("-INT").arg(dev.id().to_string()));
    dev.wait()
        .context("waiting for `cargo xtask dev` to stop")?;
    outcome
}

/// Whether the backend of `cargo xtask dev` answers `GET /healthz` with 200 (HTTP/1.0 by hand: one request is
/// all this needs).
fn serves() -> bool {
    let address = SocketAddr::from(DEV_ADDR);
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut status = [0; 12];
    stream.read_exact(&mut status).is_ok() && status.ends_with(b" 200")
}

/// Adds `figures` (name, value, unit; no floor) to the summary file, in the format of `testkit::bench` (xtask
/// does not link the test kit): each replaces the figure of the same name, kept sorted by name.
fn record(path: &Path, figures: &[(&str, f64, &str)]) -> Result<()> {
    let mut summary: Vec<Value> = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {} (delete it to start afresh)", path.display()))?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    summary.retain(|old| figures.iter().all(|(name, _, _)| old["name"] != *name));
    for (name, value, unit) in figures {
        summary.push(
            json!({"name": name, "value": value, "unit": unit, "floor": null, "ratio": null}),
        );
    }
    summary.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// `cargo xtask soak`: the release `backend serve` under a minute of mixed traffic on loopback
/// (`backend/benches/soak.rs`): it prints its figures and fails on any 5xx or unexpected answer, on resident
/// memory growing 10% or more after the warm-up, or on unbounded sockets. `SOAK_SECONDS`,
/// `SOAK_WARMUP_SECONDS` and `SOAK_CONCURRENCY` pass through.
pub fn soak() -> Result<()> {
    let engine = Engine::ensure()?;
    let result = (|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(&cargo);
        command
            .current_dir(paths::root())
            .args(["bench", "--package", "backend", "--bench", "soak"])
            .env("POSTGRES_IMAGE", engine.postgres_image()?);
        if let Some(host) = &engine.host {
            command.env("DOCKER_HOST", host);
        }
        cmd::run(&mut command)
    })();
    engine.remove_test_containers();
    engine.stop_if_started();
    result
}

/// The release benchmarks of the backend crate; returns the trigger Lambda's `bootstrap` they ran.
fn run_with(engine: &Engine) -> Result<std::path::PathBuf> {
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
    Ok(bootstrap)
}
