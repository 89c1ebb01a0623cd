//! Soak: the `backend serve` binary under a steady mix of what people do, for a bounded time, on loopback.
//!
//! Postgres in a container of its own, the local AWS stand-ins and the demo world are set up by the test kit
//! (`testkit::Stack`); the backend under test is the release `backend` executable started as a child process,
//! so that its memory and sockets are its own (`/proc/<pid>`). `SOAK_CONCURRENCY` (default 8) workers, each
//! signed in as one of the demo users, go round a weighted mix for `SOAK_WARMUP_SECONDS` (default 15,
//! unrecorded) and then `SOAK_SECONDS` (default 60): reads (reports, dashboard, audit, `me`), report writes,
//! credential vending followed by an upload to the S3 stand-in with those credentials, recording the file and
//! deleting it, and whole sign-ins (through the user pool, the identity provider's login form and the trigger
//! Lambda) ending in a sign-out. Viewers only read.
//!
//! Every second the child's resident memory (`VmRSS`) and open sockets are sampled. The run fails, after
//! printing its figures, when any answer is a 5xx or another status the operation does not expect, when the
//! resident memory at the end is 10% or more above what it was after the warm-up (medians of five samples),
//! or when the sockets ever exceed five per worker (its connection, a sign-in's, the backend's to the user
//! pool, the identity pool and S3) plus the database pool plus 8 (the listener, the user pool's keys).
//!
//! Run with `cargo xtask soak` (or `cargo bench -p backend --bench soak`, with `POSTGRES_IMAGE` and
//! `DOCKER_HOST` as for the tests).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng as _, RngCore as _, SeedableRng as _};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use shared::api::{FileInfo, Report as ReportInfo, StorageCredentials};
use testkit::demo::{ALICE, BOB, CAROL, DAVE, DemoUser, ERIN, PASSWORD};
use testkit::env::number;
use testkit::sign_in::{FlowEnd, browser, location, walk};
use testkit::{Postgres, Stack};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use url::Url;

/// The database pool of the backend under test (its default).
const DATABASE_MAX_CONNECTIONS: usize = 10;
/// The most the resident memory may grow after the warm-up.
const MAX_RSS_GROWTH: f64 = 0.10;
/// The backend's sockets one worker can account for at once: its own connection, a sign-in's, and the
/// backend's connections to the user pool (code exchange, revocation), the identity pool and S3 on its
/// behalf (the clients keep them open for the next request).
const SOCKETS_PER_WORKER: usize = 5;
/// The size of every uploaded file.
const UPLOAD_BYTES: usize = 64 * 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    eprintln!("soak: starting Postgres");
    let postgres = Postgres::start().await?;
    let outcome = run(&settings, &postgres).await;
    if let Err(error) = postgres.remove().await {
        eprintln!("soak: could not remove the Postgres container: {error:#}");
    }
    let report = outcome?;
    println!();
    println!("== soak results ==");
    print!("{}", report.text);
    ensure!(
        report.failures.is_empty(),
        "the soak failed:\n- {}",
        report.failures.join("\n- ")
    );
    Ok(())
}

/// The run's knobs, from the environment.
struct Settings {
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        Ok(Settings {
            concurrency: number("SOAK_CONCURRENCY", 8)?.max(1),
            warmup: Duration::from_secs(number("SOAK_WARMUP_SECONDS", 15)? as u64),
            duration: Duration::from_secs(number("SOAK_SECONDS", 60)?.max(5) as u64),
        })
    }
}

/// What the run printed and why it failed, if it did.
struct Report {
    text: String,
    failures: Vec<String>,
}

async fn run(settings: &Settings, postgres: &Postgres) -> anyhow::Result<Report> {
    // The child's port must be known before the stand-ins start: the web client's redirect URIs name it.
    let child_addr = {
        let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        probe.local_addr()?
    };
    let app = format!("http://localhost:{}", child_addr.port());
    // The web app is not what this measures: a page stands in for it.
    let web_dist = std::env::temp_dir().join(format!("saas-soak-web-{}", std::process::id()));
    std::fs::create_dir_all(&web_dist)?;
    std::fs::write(
        web_dist.join("index.html"),
        "<!doctype html><title>SaaS reference</title>",
    )?;
    eprintln!("soak: starting the stand-ins and seeding the demo world");
    let bootstrap =
        testkit::stack::trigger_bootstrap(Some(env!("CARGO_BIN_EXE_pre-token-generation").into()))?;
    let stack = Stack::start(
        postgres.database().await?,
        web_dist.clone(),
        bootstrap,
        |_, aws| {
            if let Some(web) = aws.user_pool.clients.get_mut("web") {
                web.callback_urls.push(format!("{app}/auth/callback"));
                web.logout_urls.push(format!("{app}/"));
            }
        },
    )
    .await?;

    eprintln!("soak: starting `backend serve` on {app}");
    let mut child = serve(&stack, &app, child_addr).await?;
    let pid = child.id().context("the backend has no process id")?;

    let outcome = soak(settings, &stack, &app, pid).await;
    child.start_kill().ok();
    child.wait().await.ok();
    std::fs::remove_dir_all(&web_dist).ok();
    outcome
}

/// Starts the release `backend serve` against the stack's database and stand-ins, and waits until it answers.
async fn serve(stack: &Stack, app: &str, address: SocketAddr) -> anyhow::Result<Child> {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backend"));
    command.arg("serve");
    testkit::stack::backend_env(&mut command, app, &stack.config, &stack.aws);
    command
        .env("BIND_ADDR", address.to_string())
        .env(
            "DATABASE_MAX_CONNECTIONS",
            DATABASE_MAX_CONNECTIONS.to_string(),
        )
        // Every worker signs in from 127.0.0.1; the limit is per client address.
        .env("SIGN_IN_STARTS_PER_MINUTE", "10000")
        .env("IDP_RECONCILE_MINUTES", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut command = Command::from(command);
    command.kill_on_drop(true);
    let mut child = command.spawn().context("starting `backend serve`")?;
    let client = Client::new();
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{app}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            return Ok(child);
        }
        if let Some(status) = child.try_wait()? {
            bail!("`backend serve` exited with {status} before serving");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("`backend serve` did not answer /healthz within 10 s")
}

/// The operations of the mix, with their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    ListReports,
    Dashboard,
    Audit,
    Me,
    WriteReport,
    Upload,
    SignIn,
}

impl Operation {
    /// The mix of a member or an admin; viewers draw again when they draw a write.
    const MIX: [(Operation, u32); 7] = [
        (Operation::ListReports, 35),
        (Operation::Dashboard, 15),
        (Operation::Audit, 5),
        (Operation::Me, 10),
        (Operation::WriteReport, 20),
        (Operation::Upload, 10),
        (Operation::SignIn, 5),
    ];

    fn draw(rng: &mut StdRng, writes: bool) -> Operation {
        let total: u32 = Operation::MIX.iter().map(|(_, weight)| weight).sum();
        loop {
            let mut pick = rng.gen_range(0..total);
            for (operation, weight) in Operation::MIX {
                if pick < weight {
                    if writes || !matches!(operation, Operation::WriteReport | Operation::Upload) {
                        return operation;
                    }
                    break;
                }
                pick -= weight;
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Operation::ListReports => "GET /api/v1/reports",
            Operation::Dashboard => "GET /api/v1/dashboard",
            Operation::Audit => "GET /api/v1/audit",
            Operation::Me => "GET /api/v1/me",
            Operation::WriteReport => "report: create, change (admins: delete)",
            Operation::Upload => "credentials, S3 PUT, record, delete",
            Operation::SignIn => "sign-in, me, sign-out",
        }
    }
}

/// What one operation's runs added up to while recording.
struct Tally {
    latencies: Histogram<u64>,
    failures: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latencies: Histogram::new_with_bounds(1, 60_000_000, 3)
                .context("creating a latency histogram")?,
            failures: BTreeMap::new(),
        })
    }
}

/// What the workers share.
struct Shared {
    app: String,
    users: Vec<&'static DemoUser>,
    tallies: Mutex<BTreeMap<Operation, Tally>>,
    recording: AtomicBool,
    stop: AtomicBool,
}

/// One resource sample of the child.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    sockets: usize,
}

async fn soak(settings: &Settings, stack: &Stack, app: &str, pid: u32) -> anyhow::Result<Report> {
    let users: Vec<&'static DemoUser> = vec![&ALICE, &BOB, &CAROL, &DAVE, &ERIN];
    let shared = Arc::new(Shared {
        app: app.to_owned(),
        users,
        tallies: Mutex::new(BTreeMap::new()),
        recording: AtomicBool::new(false),
        stop: AtomicBool::new(false),
    });
    let region = stack.aws.region().to_owned();
    let s3_endpoint = stack.aws.s3_endpoint();

    eprintln!(
        "soak: {} workers signing in, then {} s of warm-up and {} s recorded",
        settings.concurrency,
        settings.warmup.as_secs(),
        settings.duration.as_secs()
    );
    let mut workers = tokio::task::JoinSet::new();
    for index in 0..settings.concurrency {
        let shared = shared.clone();
        let user = shared.users[index % shared.users.len()];
        let s3 = S3Target {
            region: region.clone(),
            endpoint: s3_endpoint.clone(),
        };
        let client = signed_in(&shared.app, user).await?;
        workers.spawn(async move { worker(shared, index, user, client, s3).await });
    }

    let started = Instant::now();
    let mut samples = Vec::new();
    let total = settings.warmup + settings.duration;
    while started.elapsed() < total {
        if started.elapsed() >= settings.warmup && !shared.recording.load(Ordering::Relaxed) {
            eprintln!("soak: recording");
            shared.recording.store(true, Ordering::Relaxed);
        }
        samples.push(sample(pid, started.elapsed())?);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    while let Some(finished) = workers.join_next().await {
        finished.context("a worker panicked")??;
    }
    samples.push(sample(pid, started.elapsed())?);
    let tallies = std::mem::take(&mut *shared.tallies.lock().await);
    Ok(report(settings, &tallies, &samples))
}

/// Where uploads go.
struct S3Target {
    region: String,
    endpoint: String,
}

/// A fresh client (cookies kept, no redirect followed) signed in as `user`.
async fn signed_in(app: &str, user: &DemoUser) -> anyhow::Result<Client> {
    let client = browser()?;
    let start = Url::parse(&format!("{app}/auth/login?email={}", user.email))?;
    let callback = match walk(&client, start, app, user.email, PASSWORD).await? {
        FlowEnd::Callback(url) => url,
        other => bail!("the sign-in of {} ended at {other:?}", user.email),
    };
    let response = client.get(callback).send().await?;
    let landing = location(&response)?;
    ensure!(
        landing.path() == "/" && landing.query().is_none(),
        "the sign-in of {} landed at {landing}",
        user.email
    );
    Ok(client)
}

/// One worker: draws operations until told to stop, recording each while the run records.
async fn worker(
    shared: Arc<Shared>,
    index: usize,
    user: &'static DemoUser,
    client: Client,
    s3: S3Target,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(0x50a4 + index as u64);
    let writes = user.role != shared::Role::Viewer;
    while !shared.stop.load(Ordering::Relaxed) {
        let operation = Operation::draw(&mut rng, writes);
        let began = Instant::now();
        let outcome = perform(operation, &shared.app, user, &client, &s3, &mut rng).await;
        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
        if shared.recording.load(Ordering::Relaxed) {
            let mut tallies = shared.tallies.lock().await;
            let tally = match tallies.entry(operation) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => entry.insert(Tally::new()?),
            };
            match outcome {
                Ok(()) => tally.latencies.saturating_record(micros),
                Err(failure) => *tally.failures.entry(failure).or_default() += 1,
            }
        } else if let Err(failure) = outcome {
            eprintln!("soak: during the warm-up, {}: {failure}", operation.name());
        }
    }
    Ok(())
}

/// Runs `operation` as `user`; the error is a short description of what went wrong (a status, say).
async fn perform(
    operation: Operation,
    app: &str,
    user: &DemoUser,
    client: &Client,
    s3: &S3Target,
    rng: &mut StdRng,
) -> Result<(), String> {
    match operation {
        Operation::ListReports => get(client, app, "/api/v1/reports").await,
        Operation::Dashboard => get(client, app, "/api/v1/dashboard").await,
        Operation::Me => get(client, app, "/api/v1/me").await,
        Operation::Audit if user.role == shared::Role::Admin => {
            get(client, app, "/api/v1/audit").await
        }
        Operation::Audit => get(client, app, "/api/v1/reports?limit=5").await,
        Operation::WriteReport => {
            let body = json!({
                "title": format!("Soak {}", rng.r#gen::<u32>()),
                "body": "Written by the soak.",
            });
            let created = send(
                client,
                app,
                Method::POST,
                "/api/v1/reports",
                Some(body),
                StatusCode::CREATED,
            )
            .await?;
            let report: ReportInfo =
                serde_json::from_slice(&created).map_err(|error| format!("the report: {error}"))?;
            let path = format!("/api/v1/reports/{}", report.id);
            let change = json!({ "body": "Changed by the soak." });
            send(
                client,
                app,
                Method::PATCH,
                &path,
                Some(change),
                StatusCode::OK,
            )
            .await?;
            // Admins delete what they wrote, so a plan's report limit is never reached; members cannot.
            if user.role == shared::Role::Admin {
                send(
                    client,
                    app,
                    Method::DELETE,
                    &path,
                    None,
                    StatusCode::NO_CONTENT,
                )
                .await?;
            }
            Ok(())
        }
        Operation::Upload => upload(client, app, s3, rng).await,
        Operation::SignIn => {
            let fresh = signed_in(app, user)
                .await
                .map_err(|error| format!("{error:#}"))?;
            get(&fresh, app, "/api/v1/me").await?;
            send(
                &fresh,
                app,
                Method::POST,
                "/auth/logout",
                None,
                StatusCode::SEE_OTHER,
            )
            .await
            .map(drop)
        }
    }
}

/// Credentials from the API, a `PutObject` with them, the file recorded and then deleted.
async fn upload(client: &Client, app: &str, s3: &S3Target, rng: &mut StdRng) -> Result<(), String> {
    let answer = send(
        client,
        app,
        Method::POST,
        "/api/v1/storage/credentials",
        None,
        StatusCode::OK,
    )
    .await?;
    let credentials: StorageCredentials =
        serde_json::from_slice(&answer).map_err(|error| format!("credentials: {error}"))?;
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(s3.region.clone()))
        .endpoint_url(&s3.endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            credentials.access_key_id,
            credentials.secret_access_key,
            Some(credentials.session_token),
            None,
            "soak",
        ))
        .build();
    let key = format!(
        "{}{:032x}/soak.bin",
        credentials.prefix,
        rng.r#gen::<u128>()
    );
    let mut body = vec![0; UPLOAD_BYTES];
    rng.fill_bytes(&mut body);
    aws_sdk_s3::Client::from_conf(config)
        .put_object()
        .bucket(&credentials.bucket)
        .key(&key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|error| format!("S3 PutObject: {error}"))?;
    let recorded = send(
        client,
        app,
        Method::POST,
        "/api/v1/files",
        Some(json!({ "key": key })),
        StatusCode::CREATED,
    )
    .await?;
    let file: FileInfo =
        serde_json::from_slice(&recorded).map_err(|error| format!("the file: {error}"))?;
    send(
        client,
        app,
        Method::DELETE,
        &format!("/api/v1/files/{}", file.id),
        None,
        StatusCode::NO_CONTENT,
    )
    .await
    .map(drop)
}

async fn get(client: &Client, app: &str, path: &str) -> Result<(), String> {
    send(client, app, Method::GET, path, None, StatusCode::OK)
        .await
        .map(drop)
}

/// Sends a request as the web app does (the `Origin` header is what the CSRF check reads); any status but
/// `expected` is a failure, described by its status (and code, for JSON errors).
async fn send(
    client: &Client,
    app: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    expected: StatusCode,
) -> Result<Vec<u8>, String> {
    let mut request = client
        .request(method.clone(), format!("{app}{path}"))
        .header("origin", app);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .map_err(|error| format!("{method} {path}: no answer ({error})"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| format!("{method} {path}: body cut ({error})"))?;
    if status == expected {
        return Ok(bytes.to_vec());
    }
    let code = serde_json::from_slice::<shared::ErrorBody>(&bytes)
        .map(|body| format!(" {:?}", body.code))
        .unwrap_or_default();
    let path = path.split('?').next().unwrap_or(path);
    Err(format!("{method} {path}: {status}{code}"))
}

/// The child's resident memory and open sockets now.
fn sample(pid: u32, at: Duration) -> anyhow::Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading the backend's /proc status (has it exited?)")?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .context("no VmRSS in the backend's status")?;
    let sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .context("listing the backend's file descriptors")?
        .filter_map(Result::ok)
        .filter(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count();
    Ok(Sample {
        at,
        rss_kib,
        sockets,
    })
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// The table of operations and resources, and every broken promise.
fn report(settings: &Settings, tallies: &BTreeMap<Operation, Tally>, samples: &[Sample]) -> Report {
    let mut text = String::new();
    let mut failures = Vec::new();
    let seconds = settings.duration.as_secs_f64();
    text.push_str(&format!(
        "{} workers, {} s recorded after {} s of warm-up\n\n",
        settings.concurrency,
        settings.duration.as_secs(),
        settings.warmup.as_secs()
    ));
    text.push_str(&format!(
        "{:<40} {:>8} {:>8} {:>9} {:>9} {:>9}\n",
        "operation", "ok", "failed", "per s", "p50 ms", "p99 ms"
    ));
    let mut total = 0;
    for (operation, tally) in tallies {
        let ok = tally.latencies.len();
        let failed: u64 = tally.failures.values().sum();
        total += ok + failed;
        text.push_str(&format!(
            "{:<40} {:>8} {:>8} {:>9.1} {:>9.1} {:>9.1}\n",
            operation.name(),
            ok,
            failed,
            (ok + failed) as f64 / seconds,
            tally.latencies.value_at_quantile(0.5) as f64 / 1000.0,
            tally.latencies.value_at_quantile(0.99) as f64 / 1000.0,
        ));
        for (failure, count) in &tally.failures {
            failures.push(format!("{count} × {failure}"));
        }
    }
    text.push_str(&format!(
        "{:<40} {:>17} {:>9.1}\n",
        "all",
        total,
        total as f64 / seconds
    ));
    if total == 0 {
        failures.push("no operation was recorded".to_owned());
    }

    let recorded: Vec<&Sample> = samples.iter().filter(|s| s.at >= settings.warmup).collect();
    let baseline = median(recorded.iter().take(5).map(|s| s.rss_kib).collect());
    let end = median(recorded.iter().rev().take(5).map(|s| s.rss_kib).collect());
    let peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or_default();
    let growth = if baseline > 0 {
        end as f64 / baseline as f64 - 1.0
    } else {
        0.0
    };
    text.push_str(&format!(
        "\nresident memory: {:.1} MiB after the warm-up, {:.1} MiB at the end ({:+.1}%, at most {:+.0}%), peak {:.1} MiB\n",
        baseline as f64 / 1024.0,
        end as f64 / 1024.0,
        growth * 100.0,
        MAX_RSS_GROWTH * 100.0,
        peak as f64 / 1024.0
    ));
    let timeline: Vec<String> = samples
        .iter()
        .step_by(10)
        .map(|s| format!("{:.1}", s.rss_kib as f64 / 1024.0))
        .collect();
    text.push_str(&format!(
        "resident memory every 10 s from the start (MiB): {}\n",
        timeline.join(" ")
    ));
    if growth >= MAX_RSS_GROWTH {
        failures.push(format!(
            "resident memory grew {:.1}% after the warm-up",
            growth * 100.0
        ));
    }
    let most_sockets = samples.iter().map(|s| s.sockets).max().unwrap_or_default();
    let socket_bound = SOCKETS_PER_WORKER * settings.concurrency + DATABASE_MAX_CONNECTIONS + 8;
    text.push_str(&format!(
        "sockets: at most {most_sockets} open (bound {socket_bound}: {SOCKETS_PER_WORKER} per worker, the database pool, 8 more), {} at the end\n",
        samples.last().map(|s| s.sockets).unwrap_or_default()
    ));
    if most_sockets > socket_bound {
        failures.push(format!(
            "{most_sockets} sockets open, more than {socket_bound}"
        ));
    }
    text.push_str(&format!(
        "{}\n",
        if failures.is_empty() {
            "no 5xx, no unexpected answer"
        } else {
            "FAILED"
        }
    ));
    Report { text, failures }
}
