//! Load test of `GET /api/v1/reports` with bearer access tokens and with session cookies of many members
//! spread over many tenants, side by side with a baseline of the same server answering `GET /healthz` and with
//! the floor: the same SQL statements issued straight to Postgres, without HTTP.
//!
//! Everything runs in this process, as in the API tests: Postgres in a container of its own (`testkit`, honouring
//! `POSTGRES_IMAGE` and `DOCKER_HOST`), the local AWS stand-ins, and the backend built by
//! `Application::build_with_listener` on port 0. In-process rather than a child process because the figures
//! that matter are the ratios between the two phases: both phases pay the same client and runtime overhead
//! on the same cores, and there is no binary, environment or port to hand over (nor a process to clean up
//! when the run fails).
//!
//! The world: `LOAD_TENANTS` tenants (at least 50), each with its own identity provider, members of that
//! provider, `LOAD_REPORTS_PER_TENANT` reports and as many audit events, inserted in bulk as the database
//! owner; one access token per member with the claims the pre-token-generation trigger adds, signed with the
//! stand-in user pool's key. Then phases of `LOAD_DURATION_SECS` each (after `LOAD_WARMUP_SECS` of unrecorded warm-up), `LOAD_CONCURRENCY` clients
//! going round-robin over the members: A `GET /healthz`; B `GET /api/v1/reports` with the member's access
//! token; C the same with a session cookie (one server-side session per member, holding the encrypted token as
//! a sign-in leaves it); D the floor, what the backend asks of Postgres for B and C (a connection from a pool
//! of the backend's size with the same options, the tenant transaction, the live membership and revocation
//! check, the first page of reports, commit) issued by as many tasks, without HTTP, token or JSON; D2 the same
//! with the pool's check of a connection before handing it out switched off, which prices that round trip.
//! B, C, D and D2 take turns: `LOAD_ROUNDS` rounds (5) in which each runs for its share of the phase, so that
//! the drift of a shared machine's speed, which moves figures measured a minute apart by a tenth or more, does
//! not move their ratios. Then scale: a second set of as many tenants, seeded alike, has grown to
//! `LOAD_SCALE_ROWS` reports and audit events each (older than the seeded ones, so the first pages stay the
//! same) before any phase runs; E `GET /api/v1/reports` with the first set's tokens, F the same with the grown
//! set's, G `GET /api/v1/audit` with the first set's admins' tokens and H with the grown set's take turns in
//! rounds as B, C and D do, and F's and H's p99 are compared with E's and G's. Two sets rather than one set
//! measured before and after growing it, because the phases compared must take turns.
//! Any answer but 200 (any failed statement in D) is an error and fails the run after the table is printed.
//! The figures also go to the benchmarks' summary file (`testkit::bench`).
//!
//! Run with `cargo bench -p backend --bench load` (or `cargo xtask bench`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use backend::auth::session::{COOKIE_NAME, SIGNED_IN_KEY, SessionTokens, SignedIn};
use backend::config::{Config, Secret};
use backend::db::{MemberId, TenantId};
use backend::state::AppState;
use hdrhistogram::Histogram;
use local_aws::LocalAws;
use local_aws::Ports;
use local_aws::config::LocalAwsConfig;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::json;
use shared::api::{AuditPage, ReportPage};
use shared::{Plan, Role};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use testkit::bench::Figure;
use testkit::env::number;
use testkit::stack::point_at_stand_ins;
use testkit::{Backend, Postgres};
use tokio::task::JoinSet;
use tower_sessions::SessionStore as _;
use tower_sessions::session::{Id, Record};
use uuid::Uuid;

/// The resource server of `infra/config/user-pool.json`, whose scopes access tokens carry.
const RESOURCE_SERVER: &str = "saas-api";
/// The page size of the listing, as the web app asks for it (and the API's default).
const PAGE_ROWS: usize = 20;
/// [`PAGE_ROWS`] as the listing's SQL takes it.
const PAGE: i64 = PAGE_ROWS as i64;
/// Verifications timed after the phases to put the verifier's cost next to the request rate.
const VERIFY_SAMPLES: usize = 2000;
/// The least the run accepts, so that every recorded figure comes from a multi-tenant load.
const MIN_TENANTS: usize = 50;
const MIN_TOKENS: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let started = Instant::now();
    eprintln!("load: starting Postgres");
    let postgres = Postgres::start().await?;
    let outcome = run(&settings, &postgres).await;
    if let Err(error) = postgres.remove().await {
        eprintln!("load: could not remove the Postgres container: {error:#}");
    }
    let report = outcome?;
    println!();
    println!("== load results ==");
    print!("{report}");
    println!(
        "whole run (set-up included): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Everything after Postgres is up; returns the printed report, or fails (after printing it) on errors.
async fn run(settings: &Settings, postgres: &Postgres) -> anyhow::Result<String> {
    let db = postgres.database().await?;
    let owner = &db.owner;

    eprintln!("load: starting the local AWS stand-ins");
    let aws_config = LocalAwsConfig::load(&testkit::infra_dir())
        .context("loading the stand-ins' configuration")?;
    let aws = LocalAws::start(aws_config, [127, 0, 0, 1].into(), Ports::ephemeral())
        .await
        .context("starting the local AWS stand-ins")?;

    eprintln!(
        "load: seeding {} tenants × {} members × {} reports",
        settings.tenants, settings.members_per_tenant, settings.reports_per_tenant
    );
    let world = World::seed(owner, settings, "bench").await?;
    eprintln!(
        "load: seeding as many tenants again and growing them to {} reports and audit events each",
        settings.scale_rows
    );
    let grown = World::seed(owner, settings, "grown").await?;
    grown.grow(owner, settings.scale_rows).await?;
    let web = aws
        .client("web")
        .context("the stand-in has no web client")?;
    let tokens = world.tokens(&aws, &web.client_id);
    let grown_tokens = grown.tokens(&aws, &web.client_id);

    let mut config = Config::local_defaults();
    config.database_url = Secret::new(db.app_url.clone());
    config.cookie_secure = false;
    point_at_stand_ins(&mut config, &aws)?;
    let pool_size = config.database_max_connections;
    let backend = Backend::spawn(config).await?;
    let state = backend.state().clone();
    // The address itself, not `localhost`: no name resolution (nor a try of ::1 first) in the figures.
    let base = format!("http://{}", backend.local_addr());

    let client = Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    eprintln!("load: checking every token once");
    preflight(&client, &base, &world, &tokens).await?;
    preflight(&client, &base, &grown, &grown_tokens).await?;

    eprintln!("load: one session per member");
    let cookies = Arc::new(sessions(&state, &tokens).await?);
    preflight_sessions(&client, &base, &cookies).await?;

    let container_id = postgres.container_id().to_owned();
    let healthz_url = format!("{base}/healthz");
    let reports_url = format!("{base}/api/v1/reports");
    let tokens = Arc::new(tokens);
    let healthz = {
        let (client, url) = (client.clone(), healthz_url.clone());
        move |_: usize| fetch(client.get(&url))
    };
    // `GET /api/v1/reports` with the tokens' members in turn.
    let reports_of = |tokens: Arc<Vec<MemberToken>>| {
        let (client, url) = (client.clone(), reports_url.clone());
        move |n: usize| {
            fetch(
                client
                    .get(&url)
                    .bearer_auth(&tokens[n % tokens.len()].token),
            )
        }
    };
    let bearer = reports_of(tokens.clone());
    let session = {
        let (client, url, cookies) = (client.clone(), reports_url.clone(), cookies.clone());
        move |n: usize| {
            fetch(
                client
                    .get(&url)
                    .header("cookie", &cookies[n % cookies.len()]),
            )
        }
    };
    // The floor's pool: the backend's own options and size, logged in as the application role.
    let floor_pool = backend::db::connect(&db.app_url, pool_size).await?;
    let floor = {
        let (pool, tokens) = (floor_pool.clone(), tokens.clone());
        move |n: usize| same_sql(pool.clone(), tokens[n % tokens.len()].binding.clone())
    };
    let measure = |name: &'static str| {
        eprintln!(
            "load: {name} ({} s warm-up, {} s measured)",
            settings.warmup.as_secs(),
            settings.duration.as_secs()
        );
    };
    let phase = |duration: Duration| (container_id.as_str(), settings.concurrency, duration);
    measure("phase A, GET /healthz");
    run_phase(phase(settings.warmup), &healthz).await?;
    let phase_a = run_phase(phase(settings.duration), &healthz).await?;
    // The same without the round trip the pool spends checking a connection before handing it out
    // (`test_before_acquire`, on in the backend so that connections killed by a database restart are replaced
    // instead of failing a request each): what that check costs.
    let unchecked_pool = PgPoolOptions::new()
        .max_connections(pool_size)
        .test_before_acquire(false)
        .connect(&db.app_url)
        .await?;
    let unchecked = {
        let (pool, tokens) = (unchecked_pool.clone(), tokens.clone());
        move |n: usize| same_sql(pool.clone(), tokens[n % tokens.len()].binding.clone())
    };
    // B, C, D and D2 are compared with one another, so they are measured in turns: `rounds` rounds in which
    // each runs for its share of the phase. The machine's speed drifts by a tenth or more within a minute; in
    // turns, every phase sees the same machine, where one after the other each would see its own.
    eprintln!(
        "load: phases B, C, D and D2 in {} rounds of {} ms each ({} s warm-up each first)",
        settings.rounds,
        settings.round_slice().as_millis(),
        settings.warmup.as_secs()
    );
    run_phase(phase(settings.warmup), &bearer).await?;
    run_phase(phase(settings.warmup), &session).await?;
    run_phase(phase(settings.warmup), &floor).await?;
    run_phase(phase(settings.warmup), &unchecked).await?;
    let slice = phase(settings.round_slice());
    let (mut phase_b, mut phase_c, mut phase_d, mut phase_d2) = (
        PhaseResult::empty()?,
        PhaseResult::empty()?,
        PhaseResult::empty()?,
        PhaseResult::empty()?,
    );
    for round in 0..settings.rounds {
        eprintln!("load: round {} of {}", round + 1, settings.rounds);
        phase_b.absorb(run_phase(slice, &bearer).await?)?;
        phase_c.absorb(run_phase(slice, &session).await?)?;
        phase_d.absorb(run_phase(slice, &floor).await?)?;
        phase_d2.absorb(run_phase(slice, &unchecked).await?)?;
    }
    floor_pool.close().await;
    unchecked_pool.close().await;

    // Scale: the reports list and the audit log of the seeded tenants and of the grown ones, in turns.
    let audit_url = format!("{base}/api/v1/audit");
    let admins = |tokens: &[MemberToken]| -> Arc<Vec<String>> {
        Arc::new(
            tokens
                .iter()
                .filter(|token| token.role == Role::Admin)
                .map(|token| token.token.clone())
                .collect(),
        )
    };
    let (admin_tokens, grown_admin_tokens) = (admins(&tokens), admins(&grown_tokens));
    let first_page = world.reports_per_tenant.min(PAGE_ROWS);
    preflight_audit(&client, &audit_url, &admin_tokens, first_page).await?;
    preflight_audit(&client, &audit_url, &grown_admin_tokens, PAGE_ROWS).await?;
    let grown_tokens = Arc::new(grown_tokens);
    let bearer_grown = reports_of(grown_tokens.clone());
    let audit_of = |tokens: Arc<Vec<String>>| {
        let (client, url) = (client.clone(), audit_url.clone());
        move |n: usize| fetch(client.get(&url).bearer_auth(&tokens[n % tokens.len()]))
    };
    let (audit, audit_grown) = (audit_of(admin_tokens), audit_of(grown_admin_tokens));
    eprintln!(
        "load: phases E, F, G and H in {} rounds of {} ms each ({} s warm-up each first)",
        settings.rounds,
        settings.round_slice().as_millis(),
        settings.warmup.as_secs()
    );
    run_phase(phase(settings.warmup), &bearer).await?;
    run_phase(phase(settings.warmup), &bearer_grown).await?;
    run_phase(phase(settings.warmup), &audit).await?;
    run_phase(phase(settings.warmup), &audit_grown).await?;
    let (mut phase_e, mut phase_f, mut phase_g, mut phase_h) = (
        PhaseResult::empty()?,
        PhaseResult::empty()?,
        PhaseResult::empty()?,
        PhaseResult::empty()?,
    );
    for round in 0..settings.rounds {
        eprintln!("load: scale round {} of {}", round + 1, settings.rounds);
        phase_e.absorb(run_phase(slice, &bearer).await?)?;
        phase_f.absorb(run_phase(slice, &bearer_grown).await?)?;
        phase_g.absorb(run_phase(slice, &audit).await?)?;
        phase_h.absorb(run_phase(slice, &audit_grown).await?)?;
    }

    let verify_mean = time_verifier(&state.verifier, &tokens).await?;
    drop(backend);
    aws.shutdown().await;

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let figures = RunFigures {
        settings,
        tokens: tokens.len(),
        pool_size,
        cores,
        healthz: &phase_a,
        bearer: &phase_b,
        session: &phase_c,
        floor: &phase_d,
        floor_unchecked: &phase_d2,
        reports: &phase_e,
        reports_grown: &phase_f,
        audit: &phase_g,
        audit_grown: &phase_h,
        verify_mean,
    };
    let report = render(&figures);
    let phases = [
        ("/healthz", &phase_a),
        ("bearer", &phase_b),
        ("session", &phase_c),
        ("floor", &phase_d),
        ("floor, unchecked", &phase_d2),
        ("bearer, scale", &phase_e),
        ("bearer, grown", &phase_f),
        ("audit", &phase_g),
        ("audit, grown", &phase_h),
    ];
    if phases.iter().any(|(_, phase)| phase.errors() > 0) {
        print!("{report}");
        let failures: Vec<String> = phases
            .iter()
            .map(|(name, phase)| format!("{name} {:?}", phase.failures))
            .collect();
        bail!("requests failed: {}", failures.join(", "));
    }
    let recorded = testkit::bench::record(&summary(&figures))?;
    Ok(format!(
        "{report}figures recorded in {}\n",
        recorded.display()
    ))
}

/// One server-side session per member, as a sign-in leaves it (the access token encrypted for that session,
/// the member and tenant it was issued for), created in the backend's own session store: the `Cookie` header
/// of each.
async fn sessions(state: &AppState, tokens: &[MemberToken]) -> anyhow::Result<Vec<String>> {
    let now = time::OffsetDateTime::now_utc();
    let mut cookies = Vec::with_capacity(tokens.len());
    for token in tokens {
        let id = Id::default();
        let encrypt = |token: &str| {
            state
                .tokens
                .encrypt(token, &id)
                .map_err(|error| anyhow::anyhow!("encrypting a token: {error}"))
        };
        let signed_in = SignedIn {
            member_id: token.binding.member.0,
            tenant_id: token.binding.tenant.0,
            tokens: SessionTokens {
                access_token: encrypt(&token.token)?,
                id_token: encrypt(&token.token)?,
                refresh_token: None,
                origin_jti: Some(token.binding.origin_jti.clone()),
                access_expires_at: token.expires_at,
                signed_in_at: now.unix_timestamp(),
                last_seen_at: now.unix_timestamp(),
            },
        };
        let mut record = Record {
            id,
            data: HashMap::from([(SIGNED_IN_KEY.to_owned(), serde_json::to_value(&signed_in)?)]),
            expiry_date: now + time::Duration::hours(2),
        };
        state
            .sessions
            .create(&mut record)
            .await
            .map_err(|error| anyhow::anyhow!("creating a session: {error}"))?;
        cookies.push(format!("{COOKIE_NAME}={}", record.id));
    }
    Ok(cookies)
}

/// One request per session before measuring: each must answer 200 (the session path works end to end).
async fn preflight_sessions(client: &Client, base: &str, cookies: &[String]) -> anyhow::Result<()> {
    for (index, cookie) in cookies.iter().enumerate() {
        let status = client
            .get(format!("{base}/api/v1/reports"))
            .header("cookie", cookie)
            .send()
            .await?
            .status();
        ensure!(
            status == StatusCode::OK,
            "session {index}: GET /api/v1/reports answered {status}"
        );
    }
    Ok(())
}

/// Sends `request` and reads the whole answer: `Ok` for a 200.
async fn fetch(request: RequestBuilder) -> Result<(), String> {
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(_) if status == StatusCode::OK => Ok(()),
                Ok(_) => Err(format!("HTTP {}", status.as_u16())),
                Err(error) => Err(format!("body: {error}")),
            }
        }
        Err(error) => Err(format!("request: {error}")),
    }
}

/// What `GET /api/v1/reports` asks of Postgres, issued directly: a pooled connection, the tenant
/// transaction, the live membership and revocation check, the first page (one more row than shown, as the
/// handler asks), commit.
async fn same_sql(pool: PgPool, binding: Binding) -> Result<(), String> {
    let failed = |error: sqlx::Error| format!("sql: {error}");
    let mut tx = backend::db::tenant_tx(&pool, binding.tenant)
        .await
        .map_err(failed)?;
    let member = backend::db::members::get_with_sign_in_revoked(
        &mut tx,
        binding.member,
        &binding.origin_jti,
        binding.auth_time,
    )
    .await
    .map_err(failed)?;
    if !member.is_some_and(|live| !live.sign_in_revoked && !live.tenant_suspended) {
        return Err("sql: the member is missing or revoked, or the tenant suspended".to_owned());
    }
    backend::db::reports::list(&mut tx, None, PAGE + 1)
        .await
        .map_err(failed)?;
    tx.commit().await.map_err(failed)
}

/// The run's knobs, from the environment.
struct Settings {
    duration: Duration,
    /// Rounds in which the phases compared with one another take turns (see `run`).
    rounds: u32,
    warmup: Duration,
    concurrency: usize,
    tenants: usize,
    members_per_tenant: usize,
    reports_per_tenant: usize,
    scale_rows: usize,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let settings = Settings {
            duration: Duration::from_secs(number("LOAD_DURATION_SECS", 10)?.try_into()?),
            rounds: number("LOAD_ROUNDS", 5)?.try_into()?,
            warmup: Duration::from_secs(number("LOAD_WARMUP_SECS", 1)?.try_into()?),
            concurrency: number("LOAD_CONCURRENCY", 32)?,
            tenants: number("LOAD_TENANTS", MIN_TENANTS)?,
            members_per_tenant: number("LOAD_MEMBERS_PER_TENANT", 5)?,
            reports_per_tenant: number("LOAD_REPORTS_PER_TENANT", 100)?,
            scale_rows: number("LOAD_SCALE_ROWS", 10_000)?,
        };
        ensure!(
            !settings.duration.is_zero(),
            "LOAD_DURATION_SECS must be at least 1"
        );
        ensure!(settings.rounds > 0, "LOAD_ROUNDS must be at least 1");
        ensure!(
            settings.concurrency > 0,
            "LOAD_CONCURRENCY must be at least 1"
        );
        ensure!(
            settings.tenants >= MIN_TENANTS,
            "LOAD_TENANTS must be at least {MIN_TENANTS}"
        );
        ensure!(
            settings.tenants * settings.members_per_tenant >= MIN_TOKENS,
            "LOAD_TENANTS × LOAD_MEMBERS_PER_TENANT must be at least {MIN_TOKENS} (one token per member)"
        );
        ensure!(
            settings.reports_per_tenant > 0,
            "LOAD_REPORTS_PER_TENANT must be at least 1"
        );
        ensure!(
            settings.scale_rows > settings.reports_per_tenant,
            "LOAD_SCALE_ROWS must be more than LOAD_REPORTS_PER_TENANT"
        );
        Ok(settings)
    }

    /// How long each phase runs in each round of the phases measured in turns.
    fn round_slice(&self) -> Duration {
        self.duration / self.rounds
    }
}

/// One seeded member and what its token needs.
struct Member {
    id: Uuid,
    tenant: usize,
    subject: Uuid,
    provider: String,
    role: Role,
}

/// The seeded tenants and members.
struct World {
    tenant_ids: Vec<Uuid>,
    members: Vec<Member>,
    reports_per_tenant: usize,
    /// The creation time of the oldest seeded report and audit event.
    epoch: time::OffsetDateTime,
}

/// A member's access token and the tenant it must see.
struct MemberToken {
    token: String,
    tenant: usize,
    /// The member's role: only admins may read the audit log.
    role: Role,
    /// The token's `exp`.
    expires_at: i64,
    binding: Binding,
}

/// What the token binds the request to, as the backend reads it.
#[derive(Clone)]
struct Binding {
    tenant: TenantId,
    member: MemberId,
    origin_jti: String,
    auth_time: i64,
}

impl World {
    /// Inserts the tenants (slugs `<label>-000`, `<label>-001`, …), one OIDC identity provider each, the members of that provider (one admin, then
    /// members and viewers) and the reports, as the owner in one transaction. Each tenant's rows are written
    /// with that tenant set, so the row-level security policies hold even for an owner that is no superuser.
    async fn seed(owner: &PgPool, settings: &Settings, label: &str) -> anyhow::Result<World> {
        let mut tx = owner.begin().await?;
        let mut tenant_ids = Vec::with_capacity(settings.tenants);
        let mut members = Vec::new();
        let epoch = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        for tenant in 0..settings.tenants {
            let tenant_id = Uuid::new_v4();
            let slug = format!("{label}-{tenant:03}");
            let provider = format!("{slug}-oidc");
            sqlx::query("SELECT set_config('app.tenant_id', $1, TRUE)")
                .bind(tenant_id.to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO tenants (id, slug, name, plan) VALUES ($1, $2, $3, $4)")
                .bind(tenant_id)
                .bind(&slug)
                .bind(format!("Bench tenant {tenant:03}"))
                .bind(Plan::Pro.as_str())
                .execute(&mut *tx)
                .await
                .with_context(|| format!("inserting tenant {slug}"))?;
            sqlx::query(
                "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind, issuer) \
                 VALUES ($1, $2, $3, 'oidc', $4)",
            )
            .bind(Uuid::new_v4())
            .bind(tenant_id)
            .bind(&provider)
            .bind(format!("https://idp.bench.invalid/{slug}"))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("inserting identity provider {provider}"))?;

            let first = members.len();
            for index in 0..settings.members_per_tenant {
                let role = match index % 3 {
                    0 => Role::Admin,
                    1 => Role::Member,
                    _ => Role::Viewer,
                };
                members.push(Member {
                    id: Uuid::new_v4(),
                    tenant,
                    subject: Uuid::new_v4(),
                    provider: provider.clone(),
                    role,
                });
            }
            let tenant_members = &members[first..];
            sqlx::query(
                "INSERT INTO members (id, tenant_id, provider, subject, email, name, role) \
                 SELECT m.id, $1, $2, m.subject, m.email, m.name, m.role \
                 FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[]) \
                   AS m(id, subject, email, name, role)",
            )
            .bind(tenant_id)
            .bind(&provider)
            .bind(tenant_members.iter().map(|m| m.id).collect::<Vec<_>>())
            .bind(
                tenant_members
                    .iter()
                    .map(|m| m.subject.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(
                (0..tenant_members.len())
                    .map(|i| format!("user{i}@{slug}.example"))
                    .collect::<Vec<_>>(),
            )
            .bind(
                (0..tenant_members.len())
                    .map(|i| format!("User {i} of {slug}"))
                    .collect::<Vec<_>>(),
            )
            .bind(
                tenant_members
                    .iter()
                    .map(|m| m.role.as_str().to_owned())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *tx)
            .await
            .with_context(|| format!("inserting the members of {slug}"))?;

            // Distinct creation times keep the listing's order (and so its pages) the same on every request.
            let reports = settings.reports_per_tenant;
            let created: Vec<time::OffsetDateTime> = (0..reports)
                .map(|i| epoch + time::Duration::seconds(i64::try_from(i).unwrap_or(i64::MAX)))
                .collect();
            sqlx::query(
                "INSERT INTO reports (id, tenant_id, author_id, title, body, created_at, updated_at) \
                 SELECT gen_random_uuid(), $1, r.author, r.title, r.body, r.created, r.created \
                 FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) \
                   AS r(author, title, body, created)",
            )
            .bind(tenant_id)
            .bind(
                (0..reports)
                    .map(|i| tenant_members[i % tenant_members.len()].id)
                    .collect::<Vec<_>>(),
            )
            .bind(
                (0..reports)
                    .map(|i| format!("Quarterly figures {i} of {slug}"))
                    .collect::<Vec<_>>(),
            )
            .bind(
                (0..reports)
                    .map(|i| format!("Report {i} of {slug}. ").repeat(20))
                    .collect::<Vec<_>>(),
            )
            .bind(&created)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("inserting the reports of {slug}"))?;
            // As many audit events at the same times: sign-ins of the tenant's members.
            sqlx::query(
                "INSERT INTO audit_events (id, tenant_id, at, action, actor_id, actor_name, actor_email) \
                 SELECT gen_random_uuid(), $1, e.at, 'sign_in', m.id, m.name, m.email \
                 FROM unnest($2::uuid[], $3::timestamptz[]) AS e(actor, at) \
                 JOIN members AS m ON m.tenant_id = $1 AND m.id = e.actor",
            )
            .bind(tenant_id)
            .bind(
                (0..reports)
                    .map(|i| tenant_members[i % tenant_members.len()].id)
                    .collect::<Vec<_>>(),
            )
            .bind(&created)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("inserting the audit events of {slug}"))?;
            tenant_ids.push(tenant_id);
        }
        tx.commit().await?;
        Ok(World {
            tenant_ids,
            members,
            reports_per_tenant: settings.reports_per_tenant,
            epoch,
        })
    }

    /// Grows every tenant to `rows` reports and as many audit events, the added ones older than those seeded,
    /// so that the first page stays the same and only the tenants' size changes; then lets the database settle
    /// as it would on its own some time after such a growth: vacuumed (hint bits and visibility map set, so the
    /// next reads write nothing), statistics refreshed, and the dirty pages written out by a checkpoint, so
    /// that the phases that follow measure the size, not the aftermath of a million inserts.
    async fn grow(&self, owner: &PgPool, rows: usize) -> anyhow::Result<()> {
        let added = i64::try_from(rows.saturating_sub(self.reports_per_tenant))?;
        let mut tx = owner.begin().await?;
        for tenant_id in &self.tenant_ids {
            sqlx::query("SELECT set_config('app.tenant_id', $1, TRUE)")
                .bind(tenant_id.to_string())
                .execute(&mut *tx)
                .await?;
            for insert in [
                "INSERT INTO reports (id, tenant_id, author_id, title, body, created_at, updated_at) \
                 SELECT gen_random_uuid(), $1, a.id, 'Older report ' || g, repeat('Older report. ', 20), \
                        $2 - g * interval '1 second', $2 - g * interval '1 second' \
                 FROM generate_series(1, $3::bigint) AS g, \
                      (SELECT id FROM members WHERE tenant_id = $1 ORDER BY id LIMIT 1) AS a",
                "INSERT INTO audit_events (id, tenant_id, at, action, actor_id, actor_name, actor_email) \
                 SELECT gen_random_uuid(), $1, $2 - g * interval '1 second', 'sign_in', a.id, a.name, a.email \
                 FROM generate_series(1, $3::bigint) AS g, \
                      (SELECT id, name, email FROM members WHERE tenant_id = $1 ORDER BY id LIMIT 1) AS a",
            ] {
                sqlx::query(insert)
                    .bind(tenant_id)
                    .bind(self.epoch)
                    .bind(added)
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("growing tenant {tenant_id}"))?;
            }
        }
        tx.commit().await?;
        sqlx::query("VACUUM (ANALYZE) reports, audit_events")
            .execute(owner)
            .await?;
        sqlx::query("CHECKPOINT").execute(owner).await?;
        Ok(())
    }

    /// One access token per member with the claims the pre-token-generation trigger adds (`tenant_id`,
    /// `member_id`, `tenant_role`, `tenant_plan`, and the scopes of the member's role), signed with the
    /// stand-in user pool's access-token key; valid for an hour, like Cognito's default.
    fn tokens(&self, aws: &LocalAws, client_id: &str) -> Vec<MemberToken> {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        self.members
            .iter()
            .map(|member| {
                let scopes: Vec<String> = ["openid".to_owned(), "email".to_owned()]
                    .into_iter()
                    .chain(
                        member
                            .role
                            .scopes()
                            .iter()
                            .map(|scope| scope.qualified(RESOURCE_SERVER)),
                    )
                    .collect();
                let origin_jti = Uuid::new_v4().to_string();
                let claims = json!({
                    "sub": Uuid::new_v4(),
                    "cognito:groups": [format!("{}_{}", aws.user_pool_id(), member.provider)],
                    "iss": aws.issuer(),
                    "client_id": client_id,
                    "origin_jti": origin_jti,
                    "token_use": "access",
                    "scope": scopes.join(" "),
                    "auth_time": now,
                    "exp": now + 3600,
                    "iat": now,
                    "jti": Uuid::new_v4(),
                    "username": format!("{}_{}", member.provider, member.subject),
                    "tenant_id": self.tenant_ids[member.tenant],
                    "tenant_role": member.role.as_str(),
                    "tenant_plan": Plan::Pro.as_str(),
                    "member_id": member.id,
                });
                MemberToken {
                    token: aws.sign_access_token(&claims),
                    tenant: member.tenant,
                    role: member.role,
                    expires_at: now + 3600,
                    binding: Binding {
                        tenant: TenantId(self.tenant_ids[member.tenant]),
                        member: MemberId(member.id),
                        origin_jti,
                        auth_time: now,
                    },
                }
            })
            .collect()
    }
}

/// One request per token before measuring: each must answer 200 with a full first page of its own tenant's
/// reports only. This proves the load below exercises the real path (verification, membership, RLS) and not
/// an error path, and it warms the verifier's key cache and both connection pools.
async fn preflight(
    client: &Client,
    base: &str,
    world: &World,
    tokens: &[MemberToken],
) -> anyhow::Result<()> {
    let status = client.get(format!("{base}/healthz")).send().await?.status();
    ensure!(status == StatusCode::OK, "GET /healthz answered {status}");
    let mut members_of: HashMap<usize, HashSet<String>> = HashMap::new();
    for member in &world.members {
        members_of
            .entry(member.tenant)
            .or_default()
            .insert(member.id.to_string());
    }
    let expected = world.reports_per_tenant.min(PAGE_ROWS);
    for (index, token) in tokens.iter().enumerate() {
        let response = client
            .get(format!("{base}/api/v1/reports"))
            .bearer_auth(&token.token)
            .send()
            .await?;
        let status = response.status();
        if status != StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            bail!("token {index}: GET /api/v1/reports answered {status}: {body}");
        }
        let page: ReportPage = response.json().await?;
        let own = &members_of[&token.tenant];
        ensure!(
            page.items.len() == expected,
            "token {index}: {} reports instead of {expected}",
            page.items.len()
        );
        ensure!(
            page.items
                .iter()
                .all(|report| own.contains(&report.author.id)),
            "token {index}: a report of another tenant was listed"
        );
    }
    Ok(())
}

/// One request per admin token to `url` (the audit log) before measuring: each must answer 200 with a page
/// of `expected` events.
async fn preflight_audit(
    client: &Client,
    url: &str,
    tokens: &[String],
    expected: usize,
) -> anyhow::Result<()> {
    ensure!(!tokens.is_empty(), "no admin among the members");
    for (index, token) in tokens.iter().enumerate() {
        let response = client.get(url).bearer_auth(token).send().await?;
        let status = response.status();
        if status != StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            bail!("admin token {index}: GET /api/v1/audit answered {status}: {body}");
        }
        let page: AuditPage = response.json().await?;
        ensure!(
            page.items.len() == expected,
            "admin token {index}: {} audit events instead of {expected}",
            page.items.len()
        );
    }
    Ok(())
}

/// What one phase measured.
struct PhaseResult {
    /// Latencies of successful requests, in microseconds.
    latencies: Histogram<u64>,
    /// Failed requests by status (or transport error).
    failures: BTreeMap<String, u64>,
    elapsed: Duration,
    /// CPU time this process (client and server, not Postgres) spent during the phase, where measurable.
    cpu: Option<Duration>,
    /// CPU time of the Postgres container during the phase, where its cgroup is readable from here.
    postgres_cpu: Option<Duration>,
}

impl PhaseResult {
    /// Nothing measured yet, to [`absorb`](Self::absorb) the slices of a phase measured in rounds.
    fn empty() -> anyhow::Result<PhaseResult> {
        Ok(PhaseResult {
            latencies: latency_histogram()?,
            failures: BTreeMap::new(),
            elapsed: Duration::ZERO,
            cpu: Some(Duration::ZERO),
            postgres_cpu: Some(Duration::ZERO),
        })
    }

    /// Adds a slice of the same phase: its requests, failures, time and CPU time.
    fn absorb(&mut self, slice: PhaseResult) -> anyhow::Result<()> {
        self.latencies
            .add(&slice.latencies)
            .context("merging latency histograms")?;
        for (failure, count) in slice.failures {
            *self.failures.entry(failure).or_default() += count;
        }
        self.elapsed += slice.elapsed;
        self.cpu = self.cpu.zip(slice.cpu).map(|(total, more)| total + more);
        self.postgres_cpu = self
            .postgres_cpu
            .zip(slice.postgres_cpu)
            .map(|(total, more)| total + more);
        Ok(())
    }

    fn errors(&self) -> u64 {
        self.failures.values().sum()
    }

    fn requests(&self) -> u64 {
        self.latencies.len() + self.errors()
    }

    fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    /// CPU time of this process per request, in microseconds.
    fn cpu_micros_per_request(&self) -> Option<f64> {
        self.per_request(self.cpu?)
    }

    /// CPU time of the Postgres container per request, in microseconds.
    fn postgres_micros_per_request(&self) -> Option<f64> {
        self.per_request(self.postgres_cpu?)
    }

    fn per_request(&self, total: Duration) -> Option<f64> {
        let requests = self.requests();
        (requests > 0).then(|| total.as_secs_f64() * 1e6 / requests as f64)
    }
}

/// Runs `concurrency` tasks for `duration` (the phase: the Postgres container, the concurrency and the
/// duration), each doing the next unit of `work` of the round-robin as soon as its previous one is done.
async fn run_phase<F, W>(
    (container_id, concurrency, duration): (&str, usize, Duration),
    work: &F,
) -> anyhow::Result<PhaseResult>
where
    F: Fn(usize) -> W + Clone + Send + Sync + 'static,
    W: Future<Output = Result<(), String>> + Send,
{
    let empty = latency_histogram()?;
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu_time();
    let postgres_before = container_cpu_time(container_id);
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = JoinSet::new();
    for _ in 0..concurrency {
        let work = work.clone();
        let next = next.clone();
        let mut latencies = empty.clone();
        clients.spawn(async move {
            let mut failures: BTreeMap<String, u64> = BTreeMap::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let outcome = work(n).await;
                match outcome {
                    Ok(()) => {
                        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                        latencies.saturating_record(micros.max(1));
                    }
                    Err(failure) => *failures.entry(failure).or_default() += 1,
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = empty;
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(joined) = clients.join_next().await {
        match joined {
            Ok((client_latencies, client_failures)) => {
                latencies
                    .add(&client_latencies)
                    .context("merging latency histograms")?;
                for (failure, count) in client_failures {
                    *failures.entry(failure).or_default() += count;
                }
            }
            Err(error) => *failures.entry(format!("client task: {error}")).or_default() += 1,
        }
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let postgres_cpu = container_cpu_time(container_id)
        .zip(postgres_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(PhaseResult {
        latencies,
        failures,
        elapsed,
        cpu,
        postgres_cpu,
    })
}

/// The CPU time all threads of this process have used so far (Linux: the first field of each thread's
/// `/proc/self/task/<tid>/schedstat`, in nanoseconds). Measured rather than derived from wall time and the
/// core count, because other processes may be using the same cores. `None` where unavailable.
fn process_cpu_time() -> Option<Duration> {
    let mut total: u64 = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(entry.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// The CPU time the container's processes have used so far, from its cgroup when the engine runs on this
/// machine: cgroup v1 `cpuacct.usage` (nanoseconds) or cgroup v2 `cpu.stat` `usage_usec`. `None` otherwise
/// (an engine in a virtual machine, say).
fn container_cpu_time(id: &str) -> Option<Duration> {
    let v1 = format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage");
    if let Ok(text) = std::fs::read_to_string(v1) {
        return text.trim().parse().ok().map(Duration::from_nanos);
    }
    let v2 = [
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat"),
        format!("/sys/fs/cgroup/docker/{id}/cpu.stat"),
    ];
    let stat = v2
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())?;
    stat.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|micros| micros.trim().parse().ok())
        .map(Duration::from_micros)
}

/// Microseconds from 1 µs to 60 s with three significant figures.
fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("creating a latency histogram")
}

/// The mean time of one warm `AccessTokenVerifier::verify` of the members' tokens, in the running backend.
async fn time_verifier(
    verifier: &backend::verifier::AccessTokenVerifier,
    tokens: &[MemberToken],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for n in 0..VERIFY_SAMPLES {
        verifier
            .verify(&tokens[n % tokens.len()].token)
            .await
            .context("a member token stopped verifying")?;
    }
    Ok(started.elapsed() / u32::try_from(VERIFY_SAMPLES).unwrap_or(u32::MAX))
}

/// Everything the report shows.
struct RunFigures<'a> {
    settings: &'a Settings,
    tokens: usize,
    pool_size: u32,
    cores: usize,
    healthz: &'a PhaseResult,
    bearer: &'a PhaseResult,
    session: &'a PhaseResult,
    floor: &'a PhaseResult,
    floor_unchecked: &'a PhaseResult,
    /// E: the reports list of the seeded tenants, measured in turns with F, G and H.
    reports: &'a PhaseResult,
    /// F: the reports list of the grown tenants.
    reports_grown: &'a PhaseResult,
    /// G: the audit log of the seeded tenants.
    audit: &'a PhaseResult,
    /// H: the audit log of the grown tenants.
    audit_grown: &'a PhaseResult,
    verify_mean: Duration,
}

/// The quotient, or NaN when the divisor is 0.
fn ratio(x: f64, y: f64) -> f64 {
    if y > 0.0 { x / y } else { f64::NAN }
}

/// The latency at quantile `q`, in milliseconds.
fn millis_at(phase: &PhaseResult, q: f64) -> f64 {
    phase.latencies.value_at_quantile(q) as f64 / 1000.0
}

/// The results as a Markdown table (readable in a terminal, ready to paste into the README) and the ratios.
fn render(figures: &RunFigures<'_>) -> String {
    let row = |name: &str, phase: &PhaseResult| {
        format!(
            "| {name} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |\n",
            phase.requests(),
            phase.errors(),
            phase.per_second(),
            millis_at(phase, 0.5),
            millis_at(phase, 0.99),
            phase.latencies.max() as f64 / 1000.0,
        )
    };
    let ratio_row = |name: &str, x: &PhaseResult, y: &PhaseResult| {
        format!(
            "| {name} | | | {:.3}x | {:.1}x | {:.1}x | {:.1}x |\n",
            ratio(x.per_second(), y.per_second()),
            ratio(millis_at(x, 0.5), millis_at(y, 0.5)),
            ratio(millis_at(x, 0.99), millis_at(y, 0.99)),
            ratio(x.latencies.max() as f64, y.latencies.max() as f64),
        )
    };
    let (a, b, c, d) = (
        figures.healthz,
        figures.bearer,
        figures.session,
        figures.floor,
    );
    let s = figures.settings;
    let mut out = format!(
        "{} s per phase after {} s warm-up (B, C, D and D2 in turns, {} rounds), {} concurrent clients, \
         {} tenants × {} members = {} members (round-robin; a bearer token and a session each), {} reports \
         per tenant (first page of {PAGE}), database pool of {}, {} cores shared by client, server and \
         Postgres\n\n",
        s.duration.as_secs(),
        s.warmup.as_secs(),
        s.rounds,
        s.concurrency,
        s.tenants,
        s.members_per_tenant,
        figures.tokens,
        s.reports_per_tenant,
        figures.pool_size,
        figures.cores,
    );
    out.push_str("| phase | requests | errors | req/s | p50 | p99 | max |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&row("A `GET /healthz`", a));
    out.push_str(&row("B `GET /api/v1/reports`, bearer token", b));
    out.push_str(&row("C `GET /api/v1/reports`, session cookie", c));
    out.push_str(&row("D floor: the same SQL, no HTTP", d));
    out.push_str(&row(
        "D2 the floor, pool's check before acquiring off",
        figures.floor_unchecked,
    ));
    out.push_str(&ratio_row("ratio B / D", b, d));
    out.push_str(&ratio_row("ratio C / D", c, d));
    out.push_str(&ratio_row("ratio B / A", b, a));
    out.push('\n');
    out.push_str(&format!(
        "Scale: the same first pages for {} tenants of {} reports and audit events each and for {} tenants \
         grown to {} (E, F, G and H in turns, {} rounds)\n\n",
        s.tenants, s.reports_per_tenant, s.tenants, s.scale_rows, s.rounds
    ));
    out.push_str("| phase | requests | errors | req/s | p50 | p99 | max |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&row(
        "E `GET /api/v1/reports`, bearer token",
        figures.reports,
    ));
    out.push_str(&row("F the same, grown tenants", figures.reports_grown));
    out.push_str(&ratio_row(
        "ratio F / E",
        figures.reports_grown,
        figures.reports,
    ));
    out.push_str(&row(
        "G `GET /api/v1/audit`, admins' bearer token",
        figures.audit,
    ));
    out.push_str(&row("H the same, grown tenants", figures.audit_grown));
    out.push_str(&ratio_row(
        "ratio H / G",
        figures.audit_grown,
        figures.audit,
    ));
    out.push('\n');
    let verify_micros = figures.verify_mean.as_secs_f64() * 1e6;
    out.push_str(&format!(
        "access-token verification in the running backend (warm keys): {verify_micros:.0} µs per call\n"
    ));
    for (name, phase) in [
        ("/healthz", a),
        ("reports, bearer", b),
        ("reports, session", c),
        ("the floor", d),
        ("reports, bearer, seeded tenants (E)", figures.reports),
        ("reports, bearer, grown tenants", figures.reports_grown),
        ("audit", figures.audit),
        ("audit, grown tenants", figures.audit_grown),
    ] {
        let Some(process) = phase.cpu_micros_per_request() else {
            continue;
        };
        let postgres = phase.postgres_micros_per_request();
        out.push_str(&format!(
            "CPU per request, {name}: {process:.0} µs in this process (load client and backend){}\n",
            postgres.map_or(String::new(), |pg| format!(
                " + {pg:.0} µs in Postgres"
            ))
        ));
    }
    out
}

/// The run's figures for the benchmarks' summary: each API path's rate beside the floor's and its p99 beside
/// the floor's, and the baseline.
fn summary(figures: &RunFigures<'_>) -> Vec<Figure> {
    let floor = figures.floor;
    let mut out = vec![
        Figure::new(
            "load.healthz.requests_per_second",
            figures.healthz.per_second(),
            "req/s",
        ),
        Figure::new(
            "load.floor_sql.requests_per_second",
            floor.per_second(),
            "req/s",
        ),
        Figure::new("load.floor_sql.p99", millis_at(floor, 0.99), "ms"),
        Figure::against(
            "load.floor_sql_unchecked.requests_per_second",
            figures.floor_unchecked.per_second(),
            "req/s",
            floor.per_second(),
        ),
        Figure::new(
            "load.verifier_in_backend",
            figures.verify_mean.as_secs_f64() * 1e6,
            "µs",
        ),
    ];
    for (name, phase) in [
        ("reports_bearer", figures.bearer),
        ("reports_session", figures.session),
    ] {
        out.push(Figure::against(
            format!("load.{name}.requests_per_second"),
            phase.per_second(),
            "req/s",
            floor.per_second(),
        ));
        out.push(Figure::against(
            format!("load.{name}.p99"),
            millis_at(phase, 0.99),
            "ms",
            millis_at(floor, 0.99),
        ));
    }
    for (name, small, grown) in [
        ("reports", figures.reports, figures.reports_grown),
        ("audit", figures.audit, figures.audit_grown),
    ] {
        out.push(Figure::against(
            format!("load.scale.{name}.p99"),
            millis_at(grown, 0.99),
            "ms",
            millis_at(small, 0.99),
        ));
        out.push(Figure::against(
            format!("load.scale.{name}.requests_per_second"),
            grown.per_second(),
            "req/s",
            small.per_second(),
        ));
    }
    out
}
