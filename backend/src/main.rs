//! The backend binary: `backend serve` (the default), `backend migrate`, `backend reconcile-idps`,
//! `backend seed-demo`, `backend openapi` and `backend operators`.
//!
//! Configuration comes from the environment (see `backend::config::Config`); logs go to stderr, filtered by
//! `RUST_LOG` (default `info`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use backend::app::Application;
use backend::config::{
    Config, database_url_from, is_on_this_machine, refuse_published_database_passwords,
};
use backend::operators::{OperatorAccounts, OperatorAdminSettings};
use backend::{db, idp_sync, seed};
use sqlx::{Connection as _, PgConnection, PgPool};
use tracing_subscriber::EnvFilter;
use url::Url;

const USAGE: &str = "usage: backend [serve | migrate | reconcile-idps | seed-demo | openapi | operators ...]

  serve           run the HTTP server (default); also reconciles the user pool's identity providers with the
                  database at start-up and every IDP_RECONCILE_MINUTES
  migrate         apply migrations as DATABASE_OWNER_URL (+ DATABASE_OWNER_PASSWORD), then create or update
                  the login role of DATABASE_URL (+ DATABASE_PASSWORD)
  reconcile-idps  make the user pool's identity providers and the web client's provider list match the
                  database once, print what changed, and fail when a provider could not be created
  seed-demo       load the demo tenants of <INFRA_DIR>/tenants/demo.json (INFRA_DIR defaults to `infra`) as
                  DATABASE_OWNER_URL, then create their identity providers in the user pool with the demo
                  client secrets; the issuers are the vendors' unless DEMO_ENTRA_AUTHORITY and DEMO_OKTA_URL
                  name the mock identity providers (local development only)
  openapi         print the OpenAPI document of /api/v1 (the one served at /api/openapi.json) and stop; the
                  deployment reads each route's scope from it
  operators add <email> | resend <email> | list | disable <email> | enable <email> | remove <email>
                  manage the platform operators' accounts in their own user pool (OPERATOR_USER_POOL_ID):
                  `add` has the pool email a temporary password, to be changed at the first sign-in with an
                  authenticator app set up; `resend` sends a new temporary password to an operator who has not
                  signed in yet. Runs with the caller's AWS credentials (an operator
                  administrator's), never the backend's; locally the stand-ins' operator administrator key";

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("reconcile-idps") => reconcile_idps().await,
        Some("seed-demo") => seed_demo().await,
        Some("openapi") => openapi().await,
        Some("operators") => operators(std::env::args().skip(2).collect()).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// `backend operators <action> [email]`.
async fn operators(args: Vec<String>) -> anyhow::Result<()> {
    let settings = OperatorAdminSettings::from_lookup(|name| std::env::var(name).ok())
        .context("reading the operators' pool settings")?;
    let accounts = OperatorAccounts::new(&settings).await;
    let email = |args: &[String]| -> anyhow::Result<String> {
        match args {
            [_, email] => Ok(email.clone()),
            _ => bail!("expected one email address\n\n{USAGE}"),
        }
    };
    match args.first().map(String::as_str) {
        Some("add") => {
            let operator = accounts.add(&email(&args)?).await?;
            println!(
                "created the operator account of {} ({}); the user pool emailed them a temporary password, to be \
                 changed at their first sign-in, when they also set up an authenticator app",
                operator.email, operator.status
            );
        }
        Some("resend") => {
            let operator = accounts.resend(&email(&args)?).await?;
            println!(
                "sent {} a new temporary password; the earlier one no longer works",
                operator.email
            );
        }
        Some("list") => {
            for operator in accounts.list().await? {
                println!(
                    "{}\t{}\t{}",
                    operator.email,
                    operator.status,
                    if operator.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }
                );
            }
        }
        Some("disable") => {
            let email = email(&args)?;
            accounts.disable(&email).await?;
            println!("disabled {email}: no new sign-in, and their sign-ins are revoked");
        }
        Some("enable") => {
            let email = email(&args)?;
            accounts.enable(&email).await?;
            println!("enabled {email}");
        }
        Some("remove") => {
            let email = email(&args)?;
            accounts.remove(&email).await?;
            println!("removed the operator account of {email}");
        }
        _ => bail!("expected add, resend, list, disable, enable or remove\n\n{USAGE}"),
    }
    Ok(())
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env().context("reading the configuration")?;
    refuse_an_unsafe_database_role(config.database_url.expose()).await?;
    let reconciler = idp_sync::Reconciler::new(&config)
        .await
        .context("configuring the user-pool API client")?;
    let interval = config.idp_reconcile_interval;
    let application = Application::build(config).await?;
    tokio::spawn(idp_sync::keep_in_step(
        reconciler,
        application.state().db.clone(),
        interval,
    ));
    tokio::spawn(backend::sso::claims::keep_rechecking(
        application.state().clone(),
    ));
    tracing::info!(address = %application.local_addr(), "backend listening");
    application
        .run_until(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("backend stopped");
    Ok(())
}

/// Refuses to start when the database answers and `DATABASE_URL`'s role could bypass row-level security
/// (see `db::check_app_role`). A database that does not answer yet is no reason not to start: the pool runs
/// the same check on every connection it opens, and `/readyz` answers 503 until then.
async fn refuse_an_unsafe_database_role(database_url: &str) -> anyhow::Result<()> {
    let connected = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        PgConnection::connect(database_url),
    )
    .await;
    let mut conn = match connected {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "the database is not available yet; its role is checked at first use");
            return Ok(());
        }
        Err(_) => {
            tracing::warn!("the database did not answer in time; its role is checked at first use");
            return Ok(());
        }
    };
    let checked = db::check_app_role(&mut conn).await;
    let _ = conn.close().await;
    match checked {
        Ok(()) => Ok(()),
        Err(db::RoleCheckError::Unsafe(unsafe_role)) => {
            Err(unsafe_role).context("refusing to serve with DATABASE_URL")
        }
        Err(db::RoleCheckError::Database(err)) => {
            tracing::warn!(error = %err, "could not check the database role yet; it is checked at first use");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (what container runtimes send to stop a process).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The environment, as configuration lookups see it.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Connects as the database owner (`DATABASE_OWNER_URL`, `DATABASE_OWNER_PASSWORD`), which only `migrate` and
/// `seed-demo` use.
async fn owner_pool() -> anyhow::Result<PgPool> {
    let url = database_url_from(&env_var, "DATABASE_OWNER_URL", "DATABASE_OWNER_PASSWORD")?
        .context("DATABASE_OWNER_URL must be set to the database owner's URL (postgres://owner@host/db, the password in it or in DATABASE_OWNER_PASSWORD)")?;
    let pool = db::connect_owner(url.expose(), 2)
        .await
        .context("DATABASE_OWNER_URL is not a valid Postgres URL")?;
    db::ping(&pool)
        .await
        .context("connecting to the database as its owner (DATABASE_OWNER_URL)")?;
    Ok(pool)
}

async fn migrate() -> anyhow::Result<()> {
    // Only DATABASE_URL matters here; the rest of the configuration is the server's business. Its local
    // default (a published password) is good for a database on this machine only.
    let owner_url = database_url_from(&env_var, "DATABASE_OWNER_URL", "DATABASE_OWNER_PASSWORD")?;
    // Migrate has no PUBLIC_URL to tell a local start by: a database beyond this machine is not local, and
    // must not get (or be reached with) a password anyone can read in this repository.
    refuse_published_database_passwords(
        &env_var,
        &[
            ("DATABASE_OWNER_URL", "DATABASE_OWNER_PASSWORD"),
            ("DATABASE_URL", "DATABASE_PASSWORD"),
        ],
    )?;
    let database_url = match database_url_from(&env_var, "DATABASE_URL", "DATABASE_PASSWORD")? {
        Some(url) => url,
        None if owner_url
            .as_ref()
            .is_some_and(|url| is_on_this_machine(url.expose())) =>
        {
            Config::local_defaults().database_url
        }
        None => bail!(
            "DATABASE_URL must name the application's login role to create or update \
             (postgres://user@host/db, with its password in the URL or in DATABASE_PASSWORD); the local default \
             is used only for a database on this machine"
        ),
    };
    let owner = owner_pool().await?;
    db::migrate(&owner).await.context("applying migrations")?;
    let app_url = Url::parse(database_url.expose()).context("DATABASE_URL is not a URL")?;
    let user = percent_decode(app_url.username());
    let password = app_url.password().map(percent_decode).unwrap_or_default();
    if user.is_empty() || password.is_empty() {
        bail!(
            "DATABASE_URL must name the application's login role and its password (postgres://user:password@host/db)"
        );
    }
    db::ensure_app_login(&owner, &user, &password)
        .await
        .context("creating the application's login role")?;
    tracing::info!(role = %user, "migrations applied; application login role ready");
    Ok(())
}

async fn seed_demo() -> anyhow::Result<()> {
    let config = Config::from_env().context("reading the configuration")?;
    // Demo tenants, with published client secrets, have no place in a real deployment: not with a public
    // URL or real AWS endpoints, not in a database beyond this machine.
    if !config.is_local_development() {
        bail!(
            "seed-demo loads the demo world, for local development only: PUBLIC_URL must be a plain-http \
             localhost URL and every AWS endpoint a local stand-in"
        );
    }
    let owner_elsewhere =
        database_url_from(&env_var, "DATABASE_OWNER_URL", "DATABASE_OWNER_PASSWORD")?
            .is_some_and(|url| !is_on_this_machine(url.expose()));
    if owner_elsewhere {
        bail!(
            "seed-demo loads the demo world, for local development only: DATABASE_OWNER_URL must name a \
             database on this machine"
        );
    }
    let infra_dir =
        PathBuf::from(std::env::var("INFRA_DIR").unwrap_or_else(|_| "infra".to_owned()));
    let world = seed::DemoWorld::load(&infra_dir)?;
    let defaults = seed::DemoIssuers::default();
    let issuers = seed::DemoIssuers {
        entra_authority: env_var("DEMO_ENTRA_AUTHORITY").unwrap_or(defaults.entra_authority),
        okta_base: env_var("DEMO_OKTA_URL"),
    };
    let owner = owner_pool().await?;
    seed::demo_world(&owner, &world, &issuers)
        .await
        .context("seeding the demo world")?;
    tracing::info!(tenants = world.tenants.len(), "demo world seeded");
    let secrets = world.client_secrets();
    let reconciler = idp_sync::Reconciler::new(&config).await?;
    let report = reconciler
        .run(&owner, &|name| secrets.get(name).cloned())
        .await
        .context("creating the demo identity providers in the user pool")?;
    print_report(&report)
}

/// `backend reconcile-idps`: one reconciliation, with no client secret at hand.
async fn reconcile_idps() -> anyhow::Result<()> {
    let config = Config::from_env().context("reading the configuration")?;
    let pool = db::connect(config.database_url.expose(), 2)
        .await
        .context("DATABASE_URL is not a valid Postgres URL")?;
    let reconciler = idp_sync::Reconciler::new(&config).await?;
    let report = reconciler
        .run(&pool, &idp_sync::no_secrets)
        .await
        .context("reconciling the user pool's identity providers")?;
    print_report(&report)
}

/// Prints a reconciliation's report as JSON; fails when the pool still differs from the database.
fn print_report(report: &idp_sync::Report) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(report).context("printing the report")?
    );
    if !report.is_complete() {
        bail!(
            "the user pool does not match the database yet: missing_secret lists providers whose client \
             secret must be handed over again; kept_unlisted lists providers kept because the database lists \
             none"
        );
    }
    Ok(())
}

/// Prints the OpenAPI document. It depends on no running service: the state is built with the local defaults
/// (nothing connects until used) and a Secure cookie, as in every deployment.
async fn openapi() -> anyhow::Result<()> {
    let mut config = Config::local_defaults();
    config.cookie_secure = true;
    let state = backend::state::AppState::new(config).await?;
    let document = backend::api::openapi::document(&state);
    let text =
        serde_json::to_string_pretty(&document).context("serializing the OpenAPI document")?;
    println!("{text}");
    Ok(())
}

/// Decodes the percent-encoding of a URL's user or password part.
fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}
