//! Criterion benchmark of the access-token verifier against a bare `jsonwebtoken::decode` of the same token,
//! and against the floor: the RSA signature check alone.
//!
//! All five contenders check one real-shaped Cognito access token (the claims the local user pool issues,
//! plus the ones the pre-token-generation trigger adds), signed by the in-process user-pool stand-in:
//!
//! - `verifier_full`: [`AccessTokenVerifier::verify`] with its token cache off, so every call is a full
//!   verification (the first request with a token, or every request without the cache);
//! - `verifier_cached`: the same with the default token cache, warm (every later request with that token);
//! - `jsonwebtoken_decode`: `jsonwebtoken::decode` with the same public key, already parsed, and the checks
//!   `jsonwebtoken` can express (RS256, issuer, `exp`, `nbf`, leeway, required claims);
//! - `rsa_pkcs1_verify`: the floor, an RSA-2048 PKCS#1 v1.5 SHA-256 verification of the token's signature
//!   with `aws-lc-rs` (the library `jsonwebtoken` is built on here) and the key parsed beforehand, nothing
//!   else: no base64, no JSON, no key parsing;
//! - `rsa_pkcs1_verify_parsing_key`: the same with the key given as its modulus and exponent, parsed at each
//!   call (as `jsonwebtoken` does), to show what parsing the key costs.
//!
//! The verifiers fetch the JWKS from the stand-in before measuring, so their key caches are warm. All
//! run through the same `block_on`, so the ratios printed after criterion's report compare the work alone:
//! full verification against the bare decode is the cost of the verifier's own checks (the structure and
//! type checks of aws-jwt-verify, issuer pinning, `token_use`, `client_id`, the key lookup).
//!
//! Run with `cargo bench -p backend --bench verifier` (or `cargo xtask bench`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use backend::verifier::{AccessTokenVerifier, IssuerConfig, VerifierConfig};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use serde_json::{Map, Value, json};
use testkit::bench::Figure;
use tokio::runtime::Runtime;
use uuid::Uuid;

/// The criterion group; its results are in `<criterion home>/<GROUP>/<id>/new/estimates.json`.
const GROUP: &str = "access_token";
/// The benchmark of [`AccessTokenVerifier::verify`] without its token cache.
const FULL_ID: &str = "verifier_full";
/// The benchmark of [`AccessTokenVerifier::verify`] answering from its warm token cache.
const CACHED_ID: &str = "verifier_cached";
/// The benchmark of the bare `jsonwebtoken::decode`.
const DECODE_ID: &str = "jsonwebtoken_decode";
/// The benchmark of the bare signature check, the key parsed beforehand (the floor).
const RSA_ID: &str = "rsa_pkcs1_verify";
/// The benchmark of the bare signature check, the key parsed at each call.
const RSA_PARSING_ID: &str = "rsa_pkcs1_verify_parsing_key";
/// The verifier's default leeway, in seconds, which the bare decode copies.
const LEEWAY_SECS: u64 = 5;

fn main() -> anyhow::Result<()> {
    let started = SystemTime::now();
    let runtime = Runtime::new().context("building the Tokio runtime")?;
    let fixture = runtime.block_on(Fixture::start())?;

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    group.bench_function(FULL_ID, |bench| {
        bench.iter(|| runtime.block_on(fixture.uncached.verify(black_box(&fixture.token))))
    });
    group.bench_function(CACHED_ID, |bench| {
        bench.iter(|| runtime.block_on(fixture.cached.verify(black_box(&fixture.token))))
    });
    group.bench_function(DECODE_ID, |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                jsonwebtoken::decode::<Map<String, Value>>(
                    black_box(&fixture.token),
                    &fixture.decoding_key,
                    &fixture.validation,
                )
            })
        })
    });
    group.bench_function(RSA_ID, |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                fixture.parsed_key.verify_sig(
                    black_box(fixture.signed.as_bytes()),
                    black_box(&fixture.signature),
                )
            })
        })
    });
    group.bench_function(RSA_PARSING_ID, |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                fixture.rsa_key.verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    black_box(fixture.signed.as_bytes()),
                    black_box(&fixture.signature),
                )
            })
        })
    });
    group.finish();
    criterion.final_summary();

    print_ratio(started);
    // Not in `--test` mode (`cargo xtask test` runs each benchmark once, to see that it works).
    if !std::env::args().any(|arg| arg == "--test") {
        print_side_by_side(&runtime, &fixture);
    }
    runtime.block_on(fixture.aws.shutdown());
    Ok(())
}

/// The stand-in, the warmed-up verifiers, the token, and what the bare decode needs.
struct Fixture {
    aws: LocalAws,
    uncached: AccessTokenVerifier,
    cached: AccessTokenVerifier,
    token: String,
    decoding_key: DecodingKey,
    validation: Validation,
    /// The published key as `aws-lc-rs` takes it, with the token's signed part and its signature, decoded.
    rsa_key: RsaPublicKeyComponents<Vec<u8>>,
    /// The same key, parsed.
    parsed_key: ParsedPublicKey,
    signed: String,
    signature: Vec<u8>,
}

impl Fixture {
    /// Starts the user-pool stand-in, signs a token, warms the verifiers' caches, and checks that every
    /// contender accepts the token (a benchmark of a failing verification would measure the wrong thing).
    async fn start() -> anyhow::Result<Fixture> {
        let infra = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra");
        let config =
            LocalAwsConfig::load(&infra).context("loading the stand-ins' configuration")?;
        let aws = LocalAws::start(config, [127, 0, 0, 1].into(), Ports::ephemeral())
            .await
            .context("starting the local AWS stand-ins")?;
        let web = aws
            .client("web")
            .context("the stand-in has no web client")?;
        let issuer = aws.issuer();

        let config = VerifierConfig {
            issuers: vec![IssuerConfig::cognito(&issuer, [web.client_id.clone()])],
            ..VerifierConfig::default()
        };
        let uncached = AccessTokenVerifier::new(VerifierConfig {
            token_cache_capacity: 0,
            ..config.clone()
        })?;
        let cached = AccessTokenVerifier::new(config)?;
        let token = aws.sign_access_token(&access_claims(&issuer, &web.client_id));
        for verifier in [&uncached, &cached] {
            let verified = verifier
                .verify(&token)
                .await
                .context("the verifier refused the benchmark token")?;
            if verified.member_id.is_none() || verified.tenant_id.is_none() {
                bail!("the verified token lost its tenant binding");
            }
        }

        let (n, e) = published_access_key(&aws).await?;
        let decoding_key = DecodingKey::from_rsa_components(&n, &e)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.set_issuer(&[issuer.as_str()]);
        jsonwebtoken::decode::<Map<String, Value>>(&token, &decoding_key, &validation)
            .context("jsonwebtoken refused the benchmark token")?;

        let (signed, signature) = token
            .rsplit_once('.')
            .context("the benchmark token has no signature")?;
        let base64 = |value: &str| URL_SAFE_NO_PAD.decode(value);
        let rsa_key = RsaPublicKeyComponents {
            n: base64(&n)?,
            e: base64(&e)?,
        };
        let signature = base64(signature)?;
        rsa_key
            .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
            .map_err(|_| anyhow::anyhow!("aws-lc-rs refused the benchmark token's signature"))?;
        let parsed_key = rsa_key
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|error| anyhow::anyhow!("aws-lc-rs refused the published key: {error}"))?;
        parsed_key
            .verify_sig(signed.as_bytes(), &signature)
            .map_err(|_| anyhow::anyhow!("aws-lc-rs refused the signature with the parsed key"))?;

        Ok(Fixture {
            aws,
            uncached,
            cached,
            signed: signed.to_owned(),
            token,
            decoding_key,
            validation,
            rsa_key,
            parsed_key,
            signature,
        })
    }
}

/// The claims of an access token the local user pool issues to a federated user after the
/// pre-token-generation trigger has added the tenant binding.
fn access_claims(issuer: &str, client_id: &str) -> Value {
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
    let sub = Uuid::new_v4();
    json!({
        "sub": sub,
        "cognito:groups": ["eu-west-1_L0caLP00l_acme-entra"],
        "iss": issuer,
        "client_id": client_id,
        "origin_jti": Uuid::new_v4(),
        "token_use": "access",
        "scope": "openid email profile saas-api/read saas-api/write",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": Uuid::new_v4(),
        "username": format!("acme-entra_{sub}"),
        "tenant_id": Uuid::new_v4(),
        "tenant_role": "member",
        "tenant_plan": "pro",
        "member_id": Uuid::new_v4(),
    })
}

/// The stand-in's current access-token key (`n` and `e`, base64url), read from its published JWKS as any
/// relying party would.
async fn published_access_key(aws: &LocalAws) -> anyhow::Result<(String, String)> {
    let url = format!("{}/.well-known/jwks.json", aws.issuer());
    let jwks: Value = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("fetching {url}"))?
        .json()
        .await
        .with_context(|| format!("parsing {url}"))?;
    let kid = aws.keys().access_kid();
    let key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|key| key["kid"].as_str() == Some(kid.as_str()))
        .with_context(|| format!("the JWKS has no key {kid}"))?;
    let component = |name: &str| {
        key[name]
            .as_str()
            .with_context(|| format!("the key {kid} has no `{name}`"))
    };
    Ok((component("n")?.to_owned(), component("e")?.to_owned()))
}

/// Prints the means and their ratios to the bare decode and to the floor (the signature check alone), from
/// criterion's own estimates, when this run measured them (not in `--test` mode, nor when a filter skipped
/// one of them).
fn print_ratio(started: SystemTime) {
    let home = criterion_home();
    let mean = |id: &str| mean_nanos(&home.join(GROUP).join(id), started);
    println!();
    println!("== verifier results ==");
    let (Some(decode), Some(floor)) = (mean(DECODE_ID), mean(RSA_ID)) else {
        println!(
            "access-token verification: no ratios (this run did not measure the bare decode and the signature \
             check; results are read from {})",
            home.display()
        );
        return;
    };
    println!(
        "floor, aws-lc-rs RSA-2048 PKCS#1 v1.5 verification alone, key parsed beforehand: {} per call (mean)",
        micros(floor)
    );
    let parsing = mean(RSA_PARSING_ID);
    if let Some(parsing) = parsing {
        println!(
            "the same, parsing the key at each call: {} per call (mean), ratio to the floor {:.3}x",
            micros(parsing),
            parsing / floor
        );
    }
    println!(
        "bare jsonwebtoken::decode: {} per call (mean), ratio to the floor {:.3}x",
        micros(decode),
        decode / floor
    );
    let as_micros = |nanos: f64| nanos / 1000.0;
    let mut figures = vec![
        Figure::new("verifier.rsa_pkcs1_verify", as_micros(floor), "µs"),
        Figure::against(
            "verifier.jsonwebtoken_decode",
            as_micros(decode),
            "µs",
            as_micros(floor),
        ),
    ];
    if let Some(parsing) = parsing {
        figures.push(Figure::against(
            format!("verifier.{RSA_PARSING_ID}"),
            as_micros(parsing),
            "µs",
            as_micros(floor),
        ));
    }
    for (id, what) in [
        (FULL_ID, "AccessTokenVerifier::verify, full verification"),
        (CACHED_ID, "AccessTokenVerifier::verify, warm token cache"),
    ] {
        match mean(id) {
            Some(nanos) => {
                println!(
                    "{what}: {} per call (mean), ratio to the floor {:.3}x, to the bare decode {:.3}x",
                    micros(nanos),
                    nanos / floor,
                    nanos / decode
                );
                figures.push(Figure::against(
                    format!("verifier.{id}"),
                    as_micros(nanos),
                    "µs",
                    as_micros(floor),
                ));
            }
            None => println!("{what}: not measured in this run"),
        }
    }
    match testkit::bench::record(&figures) {
        Ok(path) => println!("figures recorded in {}", path.display()),
        Err(error) => println!("the figures could not be recorded: {error:#}"),
    }
}

/// Rounds of the side-by-side comparison, and calls of each contender per round.
const SIDE_BY_SIDE_ROUNDS: usize = 400;
const CALLS_PER_ROUND: u32 = 40;

/// The ratios of the full verification, the bare decode and the check parsing its key to the floor, measured
/// side by side: rounds in which each contender makes a few calls in turn, the ratio taken within each round,
/// and the median over the rounds. Criterion measures one contender for seconds and then the next, and on a
/// shared machine whose speed drifts by a tenth within a minute, the ratio of two such means moves by as
/// much; within one round of a few milliseconds the machine is the same for all.
fn print_side_by_side(runtime: &Runtime, fixture: &Fixture) {
    let time = |call: &dyn Fn()| {
        let started = std::time::Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            call();
        }
        started.elapsed().as_secs_f64()
    };
    let floor = || {
        let _ = black_box(fixture.parsed_key.verify_sig(
            black_box(fixture.signed.as_bytes()),
            black_box(&fixture.signature),
        ));
    };
    let decode = || {
        let _ = black_box(jsonwebtoken::decode::<Map<String, Value>>(
            black_box(&fixture.token),
            &fixture.decoding_key,
            &fixture.validation,
        ));
    };
    let parsing = || {
        let _ = black_box(fixture.rsa_key.verify(
            &RSA_PKCS1_2048_8192_SHA256,
            black_box(fixture.signed.as_bytes()),
            black_box(&fixture.signature),
        ));
    };
    // The verification is async (a key may have to be fetched); one `block_on` per round, not per call, so
    // that entering the runtime is not what is measured.
    let full_round = || {
        runtime.block_on(async {
            let started = std::time::Instant::now();
            for _ in 0..CALLS_PER_ROUND {
                let _ = black_box(fixture.uncached.verify(black_box(&fixture.token)).await);
            }
            started.elapsed().as_secs_f64()
        })
    };
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for _ in 0..SIDE_BY_SIDE_ROUNDS {
        let floor_time = time(&floor);
        ratios[0].push(full_round() / floor_time);
        ratios[1].push(time(&decode) / floor_time);
        ratios[2].push(time(&parsing) / floor_time);
    }
    println!(
        "side by side ({SIDE_BY_SIDE_ROUNDS} rounds of {CALLS_PER_ROUND} calls each, median of the rounds' ratios to the floor):"
    );
    let mut figures = Vec::new();
    for (mut ratios, (id, what)) in ratios.into_iter().zip([
        (FULL_ID, "AccessTokenVerifier::verify, full verification"),
        (DECODE_ID, "bare jsonwebtoken::decode"),
        (RSA_PARSING_ID, "the signature check parsing its key"),
    ]) {
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!("  {what}: {median:.3}x");
        figures.push(Figure::new(
            format!("verifier.{id}.side_by_side_ratio"),
            median,
            "x",
        ));
    }
    match testkit::bench::record(&figures) {
        Ok(path) => println!("figures recorded in {}", path.display()),
        Err(error) => println!("the figures could not be recorded: {error:#}"),
    }
}

fn micros(nanos: f64) -> String {
    format!("{:.1} µs", nanos / 1000.0)
}

/// The mean (criterion's point estimate, in nanoseconds) of the benchmark whose directory is `dir`, if
/// criterion wrote it during this run.
fn mean_nanos(dir: &Path, started: SystemTime) -> Option<f64> {
    let file = dir.join("new").join("estimates.json");
    let written = std::fs::metadata(&file).and_then(|m| m.modified()).ok()?;
    if written < started {
        return None;
    }
    let estimates: Value = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

/// Where criterion writes its results, found the way criterion finds it: `CRITERION_HOME`, else
/// `<cargo target directory>/criterion` (from `CARGO_TARGET_DIR` or `cargo metadata`), else
/// `target/criterion`.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let metadata = std::env::var_os("CARGO").and_then(|cargo| {
        Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .ok()
    });
    metadata
        .and_then(|out| serde_json::from_slice::<Value>(&out.stdout).ok())
        .and_then(|value| value["target_directory"].as_str().map(PathBuf::from))
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}
