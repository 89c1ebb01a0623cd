//! `local-aws`: runs the Cognito user pool, mock Entra ID, mock Okta, identity pool and S3 stand-ins until
//! Ctrl-C or SIGTERM.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use local_aws::config::{LocalAwsConfig, TriggerConfig};
use local_aws::s3::{S3Options, Storage};
use local_aws::{LocalAws, Ports};
use tracing_subscriber::EnvFilter;

const HELP: &str = "\
local-aws: local stand-ins for the Cognito user pool, Entra ID, Okta, the identity pool and S3

USAGE:
    local-aws [--infra <dir>] [--bind <ip>]

OPTIONS:
    --infra <dir>   the repository's infra/ directory (default: ./infra)
    --bind <ip>     the address every listener binds (default: 127.0.0.1)
    -h, --help      print this help

ENVIRONMENT (overrides local.json and the options' defaults):
    LOCAL_AWS_INFRA_DIR                 like --infra
    LOCAL_AWS_BIND                      like --bind
    LOCAL_AWS_COGNITO_IDP_PORT          issuer, discovery and JWKS (default 9229)
    LOCAL_AWS_AUTH_PORT                 hosted endpoints: /oauth2/*, /login, /logout (default 9230)
    LOCAL_AWS_ENTRA_PORT                mock Entra ID (default 9231)
    LOCAL_AWS_OKTA_PORT                 mock Okta (default 9232)
    LOCAL_AWS_COGNITO_IDENTITY_PORT     identity pool (default 9233)
    LOCAL_AWS_S3_PORT                   S3, path-style (default 9234)
    LOCAL_AWS_S3_DIR                    where S3 objects are kept across restarts
                                        (default: $CARGO_TARGET_DIR/local-aws/s3, else target/local-aws/s3)
    LOCAL_AWS_TRIGGER_URL               where the pre-token-generation trigger is POSTed
    LOCAL_AWS_TRIGGER_SECRET            its x-trigger-secret header value
    RUST_LOG                            log filter (default: info,s3s=off)
";

struct Options {
    infra: PathBuf,
    bind: IpAddr,
}

fn parse_args() -> anyhow::Result<Option<Options>> {
    let mut infra = std::env::var_os("LOCAL_AWS_INFRA_DIR")
        .map_or_else(|| PathBuf::from("infra"), PathBuf::from);
    let mut bind: IpAddr = match std::env::var("LOCAL_AWS_BIND") {
        Ok(value) => value
            .parse()
            .with_context(|| format!("LOCAL_AWS_BIND={value:?}"))?,
        Err(_) => IpAddr::from([127, 0, 0, 1]),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--infra" => infra = args.next().context("--infra needs a directory")?.into(),
            "--bind" => {
                let value = args.next().context("--bind needs an address")?;
                bind = value.parse().with_context(|| format!("--bind {value:?}"))?;
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(Some(Options { infra, bind }))
}

/// Where the S3 stand-in keeps objects: `LOCAL_AWS_S3_DIR`, else `local-aws/s3` under Cargo's target
/// directory, which is ignored by git and survives restarts of `cargo xtask dev`.
fn s3_directory() -> PathBuf {
    if let Some(directory) = std::env::var_os("LOCAL_AWS_S3_DIR") {
        return PathBuf::from(directory);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("local-aws")
        .join("s3")
}

fn port_override(name: &str, default: u16) -> anyhow::Result<u16> {
    match std::env::var(name) {
        Ok(value) => value.parse().with_context(|| format!("{name}={value:?}")),
        Err(_) => Ok(default),
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; stop with Ctrl-C");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // s3s logs every refused request at error level; the S3 stand-in logs refusals (debug) and
            // failures (error) itself.
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,s3s=off")),
        )
        .init();
    let Some(options) = parse_args()? else {
        print!("{HELP}");
        return Ok(());
    };
    let mut config = LocalAwsConfig::load(&options.infra).with_context(|| {
        format!(
            "loading the configuration under {}",
            options.infra.display()
        )
    })?;
    let ports = Ports {
        cognito_idp: port_override("LOCAL_AWS_COGNITO_IDP_PORT", config.ports.cognito_idp)?,
        auth: port_override("LOCAL_AWS_AUTH_PORT", config.ports.auth)?,
        entra: port_override("LOCAL_AWS_ENTRA_PORT", config.ports.entra)?,
        okta: port_override("LOCAL_AWS_OKTA_PORT", config.ports.okta)?,
        cognito_identity: port_override(
            "LOCAL_AWS_COGNITO_IDENTITY_PORT",
            config.ports.cognito_identity,
        )?,
        s3: port_override("LOCAL_AWS_S3_PORT", config.ports.s3)?,
    };
    if let Ok(url) = std::env::var("LOCAL_AWS_TRIGGER_URL") {
        let shared_secret = std::env::var("LOCAL_AWS_TRIGGER_SECRET")
            .ok()
            .or_else(|| config.trigger.as_ref().map(|t| t.shared_secret.clone()))
            .context("LOCAL_AWS_TRIGGER_URL is set but no trigger secret is configured")?;
        config.trigger = Some(TriggerConfig { url, shared_secret });
    }
    let s3_options = S3Options {
        storage: Storage::Directory(s3_directory()),
        ..S3Options::default()
    };
    let aws = LocalAws::start_with_s3(config, options.bind, ports, s3_options).await?;
    println!("user pool issuer   {}", aws.issuer());
    let issuer = aws.issuer();
    let cognito_idp = issuer
        .rsplit_once('/')
        .map_or(issuer.as_str(), |(base, _)| base);
    println!("cognito-idp        {cognito_idp}");
    println!("auth domain        {}", aws.auth_domain());
    println!("entra id           {}", aws.entra_base());
    println!("okta               {}", aws.okta_base());
    println!(
        "identity pool      {} ({})",
        aws.identity_pool_endpoint(),
        aws.identity_pool_id()
    );
    println!(
        "s3                 {} (bucket {}, path-style)",
        aws.s3_endpoint(),
        aws.bucket()
    );
    terminated().await;
    tracing::info!("shutting down");
    aws.shutdown().await;
    Ok(())
}
