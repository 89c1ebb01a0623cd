//! The pre-token-generation trigger as a Lambda function: how long a cold start takes (the runtime's init, then
//! the first invocation, which also opens the database connection) and a warm invocation, against Cognito's
//! limit of 5 seconds per attempt.
//!
//! The function is the static release `bootstrap` that ships (`TRIGGER_BOOTSTRAP`, which `cargo xtask bench`
//! builds and names), else this package's `pre-token-generation` binary in the bench profile; it runs under the
//! Lambda stand-in of `infra/local-aws`, exactly as in `cargo xtask dev`, against a migrated Postgres with the
//! demo world. Each round starts a fresh stand-in, so that its first invocation is a cold start; the warm
//! figure is the median of `TRIGGER_WARM_INVOCATIONS` (default 200) invocations of the last round.
//! `TRIGGER_ROUNDS` (default 10) sets the number of cold starts.
//!
//! Run with `cargo bench -p backend --bench trigger` (or `cargo xtask bench`).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use backend::seed::{DemoIssuers, DemoWorld};
use local_aws::lambda::{FunctionRuntime, FunctionSettings, Lambda, LambdaSettings};
use serde_json::json;
use testkit::Postgres;
use testkit::env::number;
use testkit::stack::{trigger_bootstrap, trigger_environment};
const FUNCTION: &str = "pre-token-generation";
const USER_POOL_ID: &str = "eu-west-1_BenchPool";
/// Cognito waits this long for a trigger attempt.
const COGNITO_LIMIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds = number("TRIGGER_ROUNDS", 10)?;
    let warm_invocations = number("TRIGGER_WARM_INVOCATIONS", 200)?;
    ensure!(
        rounds > 0 && warm_invocations > 0,
        "TRIGGER_ROUNDS and TRIGGER_WARM_INVOCATIONS must be positive"
    );
    let bootstrap = trigger_bootstrap(Some(env!("CARGO_BIN_EXE_pre-token-generation").into()))?;
    eprintln!("trigger: {} with Postgres", bootstrap.display());
    let postgres = Postgres::start().await?;
    let outcome = run(&postgres, &bootstrap, rounds, warm_invocations).await;
    if let Err(error) = postgres.remove().await {
        eprintln!("trigger: could not remove the Postgres container: {error:#}");
    }
    let report = outcome?;
    println!();
    println!("== trigger Lambda results ==");
    print!("{report}");
    Ok(())
}

async fn run(
    postgres: &Postgres,
    bootstrap: &Path,
    rounds: usize,
    warm_invocations: usize,
) -> anyhow::Result<String> {
    let db = postgres.database().await?;
    let world = DemoWorld::load(&testkit::infra_dir())?;
    backend::seed::demo_world(&db.owner, &world, &DemoIssuers::default()).await?;
    let event = alice_event().to_string();

    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    let mut warm = Vec::new();
    for round in 0..rounds {
        let lambda = Lambda::new(settings(&db.app_url, bootstrap))?;
        let started = Instant::now();
        let output = lambda.invoke(FUNCTION, event.clone()).await?;
        let first = started.elapsed();
        ensure!(
            output.response().is_some(),
            "the trigger failed: {:?}",
            output.function_error()
        );
        inits.push(
            output
                .init_duration
                .context("the first invocation was not a cold start")?,
        );
        firsts.push(first);
        if round + 1 == rounds {
            for _ in 0..warm_invocations {
                let started = Instant::now();
                let output = lambda.invoke(FUNCTION, event.clone()).await?;
                warm.push(started.elapsed());
                ensure!(
                    output.init_duration.is_none(),
                    "a warm invocation started an instance"
                );
            }
        }
    }

    let init = median(&mut inits);
    let first = median(&mut firsts);
    let warm = median(&mut warm);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut report = String::new();
    report.push_str(&format!(
        "| {:<60} | {:>10} | {:>16} |\n|{:-<62}|{:->12}|{:->18}|\n",
        "measure (median)", "ms", "share of 5 s", "", "", ""
    ));
    for (label, value) in [
        (
            format!("cold start: init (process start to first `next`), {rounds} rounds"),
            init,
        ),
        (
            "cold start: whole first invocation (init, connect, answer)".to_owned(),
            first,
        ),
        (
            format!("warm invocation, {} invocations", warm_invocations),
            warm,
        ),
    ] {
        report.push_str(&format!(
            "| {label:<60} | {:>10.1} | {:>15.3}x |\n",
            ms(value),
            value.as_secs_f64() / COGNITO_LIMIT.as_secs_f64()
        ));
    }
    Ok(report)
}

/// The Lambda stand-in with the trigger function, as `cargo xtask dev` runs it.
fn settings(database_url: &str, bootstrap: &Path) -> LambdaSettings {
    let environment = trigger_environment(database_url, USER_POOL_ID);
    let mut function = FunctionSettings::new(FUNCTION);
    function.timeout = COGNITO_LIMIT;
    LambdaSettings {
        region: "eu-west-1".to_owned(),
        account_id: "000000000000".to_owned(),
        functions: vec![
            function.with_runtime(FunctionRuntime::Command(bootstrap.to_owned()), environment),
        ],
    }
}

/// Alice's sign-in event (she joins Acme at her first sign-in, later ones find her).
fn alice_event() -> serde_json::Value {
    let subject = "0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001";
    let identities = json!([{
        "userId": subject, "providerName": "acme-entra", "providerType": "OIDC", "issuer": null,
        "primary": "true", "dateCreated": "1700000000000"
    }]);
    json!({
        "version": "2",
        "triggerSource": "TokenGeneration_HostedAuth",
        "region": "eu-west-1",
        "userPoolId": USER_POOL_ID,
        "userName": format!("acme-entra_{subject}"),
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "bench-client"},
        "request": {
            "userAttributes": {
                "sub": "5f0c7b9e-0000-4000-8000-00000000a11c",
                "email": "alice@acme.example",
                "name": "Alice Anderson",
                "identities": identities.to_string(),
                "custom:idp_groups": "[\"SaaS-Admins\"]",
            },
            "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null},
            "scopes": ["openid", "saas-api/read", "saas-api/write", "saas-api/admin"],
        },
        "response": {"claimsAndScopeOverrideDetails": null}
    })
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}
