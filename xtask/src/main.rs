//! Project automation, run as `cargo xtask <command>`: set-up, the local development stack, and every test.
//!
//! Each command installs or builds what it needs (caching it outside the clone) or stops with the exact
//! instruction to run when it cannot (for example when root rights are needed for a system package).

mod artifacts;
mod aws;
mod bench;
mod cmd;
mod dev;
mod docker;
mod lint;
mod paths;
mod sqlx;
mod test;
mod tools;
mod web;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  dev         build everything, start Postgres, the local AWS stand-ins, the backend and the web app,
              load the demo world, and print where to open it (Ctrl-C stops it)
  test        set up what tests need, then run the checks of `lint` and every test, browser tests
              included
  lint [fmt|machete|deny|clippy|doc]...
              formatting, unused dependencies (cargo machete), licenses, bans, sources and
              advisories (cargo deny, deny.toml), clippy, and the API docs with rustdoc's warnings
              denied; all of them, or the steps named
  e2e         run only the browser end-to-end tests (after the same set-up)
  bench       the access-token verifier benchmark (criterion) against the bare RSA check, the API
              load test over 50 tenants (bearer and session) against /healthz and the same SQL
              sent straight to Postgres, a 200 MB upload through the S3 stand-in with and without
              policy evaluation, the trigger Lambda's cold start, in release builds (needs the
              Docker engine, like test); then the developer loop (warm `dev` until it serves, and
              after a backend change; port 3000 must be free); figures also go to
              <target>/bench/summary.json
  soak        a minute of mixed traffic (sign-ins, reads, writes, upload credentials,
              uploads) against the release backend process on loopback: fails on any 5xx,
              resident memory growing 10% or more after the warm-up, or unbounded sockets
              (SOAK_SECONDS, SOAK_WARMUP_SECONDS, SOAK_CONCURRENCY; needs the Docker engine)
  build-web   build the web app (wasm) into frontend/dist
  build-lambda
              build the pre-token-generation trigger for AWS Lambda (provided.al2023, static musl
              release build) into <target>/deploy/lambda/pre-token-generation/bootstrap
  sqlx-prepare
              write backend/.sqlx, the offline data of the compile-checked SQL, from the queries and
              the migrations (against a throwaway Postgres); run it after changing either, and commit
              the result (`test` fails while it is stale)
  setup       install or build the tools and images the other commands need, and stop
  deploy --env <env>
              deploy to AWS as infra/aws/config/<env>.json says: builds the release executables,
              the web app and the backend image, runs `cdk deploy` of every stack, and prints the
              database migration command to run next (needs Node.js 20+, Docker, the AWS CLI and
              credentials for the configured account; see infra/aws/README.md)
  destroy --env <env>
              delete the environment's stacks after you type its name; the user pool, the buckets,
              the database's final snapshot and its secrets are kept, and the commands that remove
              them are printed
";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    match command.as_deref() {
        Some("dev") => dev::run(&rest),
        Some("test") => test::run(test::Scope::All, &rest),
        Some("lint") => lint::run(&rest).map(|_| ()),
        Some("e2e") => test::run(test::Scope::BrowserOnly, &rest),
        Some("bench") => bench::run(),
        Some("soak") => bench::soak(),
        Some("build-web") => {
            let tools = tools::Tools::ensure(tools::Need { browser: false })?;
            web::build(&tools).map(|_| ())
        }
        Some("build-lambda") => artifacts::build_lambda().map(|_| ()),
        Some("deploy") => {
            let env = aws::env_argument(&rest)?;
            // Stop before the long build when the deployment cannot happen.
            aws::preflight(&env)?;
            let tools = tools::Tools::ensure(tools::Need { browser: false })?;
            let artifacts = artifacts::build(&tools)?;
            aws::deploy(&env, &artifacts)
        }
        Some("destroy") => aws::destroy(&aws::env_argument(&rest)?),
        Some("sqlx-prepare") => {
            let engine = docker::Engine::ensure()?;
            let result = engine
                .postgres_image()
                .and_then(|image| sqlx::prepare(&engine, &image, sqlx::Mode::Write));
            engine.stop_if_started();
            result
        }
        Some("setup") => {
            let tools = tools::Tools::ensure(tools::Need { browser: true })?;
            let engine = docker::Engine::ensure()?;
            let image = engine.postgres_image()?;
            println!(
                "ready: wasm-bindgen {}, postgres image {image}",
                tools.wasm_bindgen.display()
            );
            engine.stop_if_started();
            Ok(())
        }
        Some("help" | "-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}
