//! Upload throughput through the S3 stand-in with IAM policy evaluation on every request, side by side with
//! the same upload through a stand-in whose authorization is switched off (`Authorization::BenchmarkOnlyDisabled`,
//! which skips the policy and nothing else: SigV4, the session token and its expiry are still checked), and the
//! backend's CPU time while the bytes flow.
//!
//! The upload is the browser's: credentials from the identity pool for an ID token (exchanged by the backend's
//! own `Storage::vend`), then `UPLOAD_MB` (default 200) MB in 8 MiB parts, three in flight at once
//! (`CreateMultipartUpload`, `UploadPart`, `CompleteMultipartUpload`), with the real `aws-sdk-s3` client.
//! With policy evaluation the object is then recorded through the API (`POST /api/v1/files`, which checks it
//! with `HeadObject`), as the web app does. `UPLOAD_ROUNDS` (default 3) rounds alternate the two stand-ins;
//! the table shows the median of each.
//!
//! The backend runs in this process on a runtime of its own whose threads are named `backend`, so its CPU
//! time is read from those threads alone (`/proc/self/task/<tid>/schedstat`), apart from the client's and
//! the stand-ins'.
//!
//! Run with `cargo bench -p backend --bench upload` (or `cargo xtask bench`).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use backend::app::Application;
use backend::config::{Config, Secret};
use backend::storage::Storage;
use bytes::Bytes;
use local_aws::config::LocalAwsConfig;
use local_aws::s3::{Authorization, S3Options};
use local_aws::{LocalAws, Ports};
use serde_json::json;
use shared::{Plan, Role};
use sqlx::PgPool;
use testkit::Postgres;
use testkit::env::number;
use testkit::stack::point_at_stand_ins;
use tokio::task::JoinSet;
use uuid::Uuid;

/// The resource server of `infra/config/user-pool.json`, whose scopes access tokens carry.
const RESOURCE_SERVER: &str = "saas-api";
/// The web app's part size and how many parts it keeps in flight.
const PART_SIZE: usize = 8 * 1024 * 1024;
const PARALLEL_PARTS: usize = 3;
/// The thread name of the backend's runtime.
const BACKEND_THREADS: &str = "backend";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    eprintln!("upload: starting Postgres");
    let postgres = Postgres::start().await?;
    let outcome = run(&settings, &postgres).await;
    if let Err(error) = postgres.remove().await {
        eprintln!("upload: could not remove the Postgres container: {error:#}");
    }
    let report = outcome?;
    println!();
    println!("== upload results ==");
    print!("{report}");
    Ok(())
}

/// The run's knobs, from the environment.
struct Settings {
    megabytes: usize,
    rounds: usize,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let settings = Settings {
            megabytes: number("UPLOAD_MB", 200)?,
            rounds: number("UPLOAD_ROUNDS", 3)?,
        };
        ensure!(
            settings.megabytes * 1_000_000 > PART_SIZE,
            "UPLOAD_MB must be more than one part (8 MiB)"
        );
        ensure!(settings.rounds > 0, "UPLOAD_ROUNDS must be at least 1");
        Ok(settings)
    }
}

/// The member who uploads.
struct Uploader {
    tenant_id: Uuid,
    member_id: Uuid,
    provider: String,
    subject: Uuid,
    /// The user pool `sub`, the same in the ID and access tokens.
    sub: Uuid,
}

/// One stand-in the upload goes through, and credentials for it.
struct Target {
    label: &'static str,
    aws: LocalAws,
    storage: Storage,
}

/// What one upload measured.
struct Measured {
    seconds: f64,
    backend_cpu: Option<Duration>,
}

async fn run(settings: &Settings, postgres: &Postgres) -> anyhow::Result<String> {
    let db = postgres.database().await?;
    let uploader = seed(&db.owner).await?;

    eprintln!("upload: starting two sets of stand-ins (policy evaluated, authorization off)");
    let infra = testkit::infra_dir();
    let load = || LocalAwsConfig::load(&infra).context("loading the stand-ins' configuration");
    let evaluated = LocalAws::start(load()?, [127, 0, 0, 1].into(), Ports::ephemeral())
        .await
        .context("starting the stand-ins")?;
    let unauthorized = LocalAws::start_with_s3(
        load()?,
        [127, 0, 0, 1].into(),
        Ports::ephemeral(),
        S3Options {
            authorization: Authorization::BenchmarkOnlyDisabled,
            ..S3Options::default()
        },
    )
    .await
    .context("starting the stand-ins without authorization")?;

    let config = backend_config(&evaluated, &db.app_url)?;
    let base = start_backend(config.clone())?;
    let access_token = access_token(&evaluated, &uploader)?;
    let client = reqwest::Client::new();
    wait_for_backend(&client, &base).await?;

    let mut targets = Vec::new();
    for (label, aws) in [
        ("policy evaluated", evaluated),
        ("authorization off", unauthorized),
    ] {
        let config = backend_config(&aws, &db.app_url)?;
        let storage = Storage::new(&config)
            .await
            .context("the backend's storage client")?;
        targets.push(Target {
            label,
            aws,
            storage,
        });
    }

    let size = settings.megabytes * 1_000_000;
    eprintln!("upload: preparing {} MB", settings.megabytes);
    let body = bytes_of(size);
    let mut results: Vec<Vec<Measured>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 1..=settings.rounds {
        for (index, target) in targets.iter().enumerate() {
            eprintln!(
                "upload: round {round}/{}, {}",
                settings.rounds, target.label
            );
            let record = (index == 0).then_some((&client, base.as_str(), access_token.as_str()));
            results[index].push(upload_once(target, &uploader, &body, record).await?);
        }
    }
    for target in targets {
        target.aws.shutdown().await;
    }
    Ok(render(settings, &results))
}

/// One tenant with its identity provider and one member, as the owner, with the tenant set for RLS.
async fn seed(owner: &PgPool) -> anyhow::Result<Uploader> {
    let uploader = Uploader {
        tenant_id: Uuid::new_v4(),
        member_id: Uuid::new_v4(),
        provider: "bench-upload-oidc".to_owned(),
        subject: Uuid::new_v4(),
        sub: Uuid::new_v4(),
    };
    let mut tx = owner.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, TRUE)")
        .bind(uploader.tenant_id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO tenants (id, slug, name, plan) VALUES ($1, 'bench-upload', 'Bench upload', $2)")
        .bind(uploader.tenant_id)
        .bind(Plan::Pro.as_str())
        .execute(&mut *tx)
        .await
        .context("inserting the tenant")?;
    sqlx::query(
        "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind, issuer) \
         VALUES ($1, $2, $3, 'oidc', 'https://idp.bench.invalid/bench-upload')",
    )
    .bind(Uuid::new_v4())
    .bind(uploader.tenant_id)
    .bind(&uploader.provider)
    .execute(&mut *tx)
    .await
    .context("inserting the identity provider")?;
    sqlx::query(
        "INSERT INTO members (id, tenant_id, provider, subject, email, name, role) \
         VALUES ($1, $2, $3, $4, 'uploader@bench-upload.example', 'Bench Uploader', $5)",
    )
    .bind(uploader.member_id)
    .bind(uploader.tenant_id)
    .bind(&uploader.provider)
    .bind(uploader.subject.to_string())
    .bind(Role::Member.as_str())
    .execute(&mut *tx)
    .await
    .context("inserting the member")?;
    tx.commit().await?;
    Ok(uploader)
}

/// The backend's configuration against `aws` and the database at `database_url`.
fn backend_config(aws: &LocalAws, database_url: &str) -> anyhow::Result<Config> {
    let mut config = Config::local_defaults();
    config.database_url = Secret::new(database_url.to_owned());
    config.cookie_secure = false;
    point_at_stand_ins(&mut config, aws)?;
    Ok(config)
}

/// Starts the backend on `127.0.0.1:0` on a runtime of its own (threads named [`BACKEND_THREADS`]) and
/// returns its base URL.
fn start_backend(mut config: Config) -> anyhow::Result<String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("binding the backend's port")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    config.bind_addr = address;
    config.public_url = url::Url::parse(&format!("http://localhost:{}", address.port()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(BACKEND_THREADS)
        .enable_all()
        .build()
        .context("building the backend's runtime")?;
    std::thread::Builder::new()
        .name(BACKEND_THREADS.to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let served = async {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let application = Application::build_with_listener(config, listener).await?;
                    application.run_until_stopped().await?;
                    anyhow::Ok(())
                };
                if let Err(error) = served.await {
                    eprintln!("upload: the backend stopped: {error:#}");
                }
            });
        })
        .context("starting the backend's thread")?;
    Ok(format!("http://{address}"))
}

async fn wait_for_backend(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the backend did not answer /healthz within 20 s")
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// The uploader's access token with the claims the pre-token-generation trigger adds.
fn access_token(aws: &LocalAws, uploader: &Uploader) -> anyhow::Result<String> {
    let web = aws
        .client("web")
        .context("the stand-in has no web client")?;
    let now = now();
    let scopes: Vec<String> = Role::Member
        .scopes()
        .iter()
        .map(|scope| scope.qualified(RESOURCE_SERVER))
        .collect();
    Ok(aws.sign_access_token(&json!({
        "sub": uploader.sub,
        "cognito:groups": [format!("{}_{}", aws.user_pool_id(), uploader.provider)],
        "iss": aws.issuer(),
        "client_id": web.client_id,
        "origin_jti": Uuid::new_v4(),
        "token_use": "access",
        "scope": scopes.join(" "),
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": Uuid::new_v4(),
        "username": format!("{}_{}", uploader.provider, uploader.subject),
        "tenant_id": uploader.tenant_id,
        "tenant_role": Role::Member.as_str(),
        "tenant_plan": Plan::Pro.as_str(),
        "member_id": uploader.member_id,
    })))
}

/// The uploader's ID token from `aws`'s user pool: what the backend exchanges at the identity pool.
fn id_token(aws: &LocalAws, uploader: &Uploader) -> anyhow::Result<String> {
    let web = aws
        .client("web")
        .context("the stand-in has no web client")?;
    let now = now();
    Ok(aws.sign_id_token(&json!({
        "sub": uploader.sub,
        "iss": aws.issuer(),
        "aud": web.client_id,
        "token_use": "id",
        "tenant_id": uploader.tenant_id,
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
    })))
}

/// Bytes that neither compress nor repeat.
fn bytes_of(len: usize) -> Bytes {
    Bytes::from(testkit::rng::bytes(0x2545_f491_4f6c_dd1d, len))
}

/// Uploads `body` through `target` as the web app does, then (with `record`) records it through the API.
/// Only the upload and the record are timed; the backend's CPU is read around the same window.
async fn upload_once(
    target: &Target,
    uploader: &Uploader,
    body: &Bytes,
    record: Option<(&reqwest::Client, &str, &str)>,
) -> anyhow::Result<Measured> {
    let vended = target
        .storage
        .vend(&id_token(&target.aws, uploader)?)
        .await
        .map_err(|error| anyhow::anyhow!("vending credentials: {error:?}"))?;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(target.aws.region().to_owned()))
            .endpoint_url(target.aws.s3_endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                vended.access_key_id,
                vended.secret_access_key,
                Some(vended.session_token),
                None,
                "identity-pool",
            ))
            .build(),
    );
    let bucket = target.aws.bucket().to_owned();
    let key = format!(
        "{}/{}/uploads/{}/bench.bin",
        uploader.tenant_id,
        uploader.sub,
        Uuid::new_v4().simple()
    );

    let cpu_before = backend_cpu_time();
    let started = Instant::now();
    let created = s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key(&key)
        .content_type("application/octet-stream")
        .send()
        .await
        .context("CreateMultipartUpload")?;
    let upload_id = created.upload_id().context("no upload id")?.to_owned();
    let ranges: Vec<(i32, std::ops::Range<usize>)> = (0..body.len())
        .step_by(PART_SIZE)
        .enumerate()
        .map(|(index, start)| {
            let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
            (number, start..(start + PART_SIZE).min(body.len()))
        })
        .collect();
    let mut pending = ranges.into_iter();
    let mut in_flight = JoinSet::new();
    let mut parts = Vec::new();
    loop {
        while in_flight.len() < PARALLEL_PARTS {
            let Some((number, range)) = pending.next() else {
                break;
            };
            let request = s3
                .upload_part()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&upload_id)
                .part_number(number)
                .body(ByteStream::from(body.slice(range)));
            in_flight.spawn(async move {
                let output = request.send().await.context("UploadPart")?;
                let e_tag = output.e_tag().context("no ETag")?.to_owned();
                anyhow::Ok(
                    CompletedPart::builder()
                        .part_number(number)
                        .e_tag(e_tag)
                        .build(),
                )
            });
        }
        let Some(done) = in_flight.join_next().await else {
            break;
        };
        parts.push(done??);
    }
    parts.sort_by_key(|part| part.part_number());
    s3.complete_multipart_upload()
        .bucket(&bucket)
        .key(&key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .context("CompleteMultipartUpload")?;
    if let Some((client, base, token)) = record {
        let response = client
            .post(format!("{base}/api/v1/files"))
            .bearer_auth(token)
            .json(&json!({ "key": key }))
            .send()
            .await
            .context("recording the file")?;
        ensure!(
            response.status() == reqwest::StatusCode::CREATED,
            "recording the file answered {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let backend_cpu = cpu_before
        .zip(backend_cpu_time())
        .map(|(before, after)| after.saturating_sub(before));

    s3.delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .context("deleting the uploaded object")?;
    Ok(Measured {
        seconds,
        backend_cpu,
    })
}

/// The CPU time the backend's threads have used so far: the first field of each thread's
/// `/proc/self/task/<tid>/schedstat` (nanoseconds), for the threads named [`BACKEND_THREADS`]. `None` where
/// unavailable (not Linux).
fn backend_cpu_time() -> Option<Duration> {
    let mut total: u64 = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let task = entry.ok()?.path();
        let name = std::fs::read_to_string(task.join("comm")).ok()?;
        if name.trim() != BACKEND_THREADS {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn render(settings: &Settings, results: &[Vec<Measured>]) -> String {
    let megabytes = settings.megabytes as f64;
    let mut rates: Vec<f64> = results
        .iter()
        .map(|runs| {
            let mut rates: Vec<f64> = runs.iter().map(|run| megabytes / run.seconds).collect();
            median(&mut rates)
        })
        .collect();
    let (evaluated, off) = (rates.remove(0), rates.remove(0));
    let cpu: Vec<String> = results[0]
        .iter()
        .map(|run| {
            run.backend_cpu.map_or_else(
                || "n/a".to_owned(),
                |cpu| format!("{:.1} ms", cpu.as_secs_f64() * 1000.0),
            )
        })
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!(
        "{} MB in 8 MiB parts, 3 in flight, {} rounds (median), {cores} cores\n\
         S3 stand-in with policy evaluation   {evaluated:>8.1} MB/s\n\
         S3 stand-in, authorization off       {off:>8.1} MB/s\n\
         ratio (evaluated / off)              {:>8.3}\n\
         backend CPU per upload (credentials vended before; recording after, included): {}\n",
        settings.megabytes,
        settings.rounds,
        evaluated / off,
        cpu.join(", ")
    )
}
