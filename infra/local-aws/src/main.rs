//! `local-aws`: runs the Cognito user pool, mock Entra ID, mock Okta, identity pool, S3, Lambda and DNS
//! stand-ins until Ctrl-C or SIGTERM.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use local_aws::config::LocalAwsConfig;
use local_aws::lambda::FunctionRuntime;
use local_aws::s3::{S3Options, Storage};
use local_aws::{LocalAws, Ports};
use tracing_subscriber::EnvFilter;

const HELP: &str = "\
local-aws: local stand-ins for the Cognito user pool, Entra ID, Okta, the identity pool, S3, Lambda and DNS

USAGE:
    local-aws [--infra <dir>] [--bind <ip>] [--trigger-bootstrap <file> [--trigger-env NAME=VALUE]...]

OPTIONS:
    --infra <dir>   the repository's infra/ directory (default: ./infra)
    --bind <ip>     the address every listener binds (default: 127.0.0.1)
    --trigger-bootstrap <file>
                    the pre-token-generation trigger's Lambda executable (a custom runtime's `bootstrap`),
                    run by the Lambda stand-in as the function local.json describes; without it the pool
                    issues tokens without the trigger's additions
    --trigger-env NAME=VALUE
                    an environment variable of the trigger function (repeatable; after the env file's)
    -h, --help      print this help

ENVIRONMENT (overrides local.json and the options' defaults):
    LOCAL_AWS_INFRA_DIR                 like --infra
    LOCAL_AWS_BIND                      like --bind
    LOCAL_AWS_COGNITO_IDP_PORT          issuer, discovery and JWKS (default 9229)
    LOCAL_AWS_AUTH_PORT                 hosted endpoints: /oauth2/*, /login, /logout (default 9230)
    LOCAL_AWS_ENTRA_PORT                mock Entra ID (default 9231)
    LOCAL_AWS_OKTA_PORT                 mock Okta, the first org of directories.json (default 9232)
    LOCAL_AWS_OKTA_ORG_<ORG>_PORT       mock Okta, another org (<ORG> upper-case, - as _; default from
                                        local.json's okta_orgs, initech 9240, else a free port)
    LOCAL_AWS_COGNITO_IDENTITY_PORT     identity pool (default 9233)
    LOCAL_AWS_S3_PORT                   S3, path-style (default 9234)
    LOCAL_AWS_S3_DIR                    where S3 objects are kept across restarts
                                        (default: $CARGO_TARGET_DIR/local-aws/s3, else target/local-aws/s3)
    LOCAL_AWS_LAMBDA_PORT               Lambda Invoke, the trigger's function (default 9235)
    LOCAL_AWS_MAIL_PORT                 the outbox of the pools' emails (default 9237)
    LOCAL_AWS_DNS_PORT                  the demo zones' name server, UDP and TCP (default 9238)
    LOCAL_AWS_DNS_ADMIN_PORT            the DNS records for a person and their JSON API (default 9239)
    LOCAL_AWS_TRIGGER_BOOTSTRAP         like --trigger-bootstrap
    LOCAL_AWS_TRIGGER_ENV_FILE          a file of the trigger function's variables, NAME=VALUE per line
                                        (blank lines and lines starting with # ignored)
    RUST_LOG                            log filter (default: info,s3s=off)
";

struct Options {
    infra: PathBuf,
    bind: IpAddr,
    trigger_bootstrap: Option<PathBuf>,
    trigger_env: Vec<(String, String)>,
}

/// `NAME=VALUE`, as `--trigger-env` and the env file give a variable.
fn variable(text: &str) -> anyhow::Result<(String, String)> {
    let (name, value) = text
        .split_once('=')
        .with_context(|| format!("{text:?} is not NAME=VALUE"))?;
    Ok((name.trim().to_owned(), value.to_owned()))
}

/// The trigger function's variables from `LOCAL_AWS_TRIGGER_ENV_FILE`, when it is set.
fn trigger_env_file() -> anyhow::Result<Vec<(String, String)>> {
    let Some(path) = std::env::var_os("LOCAL_AWS_TRIGGER_ENV_FILE") else {
        return Ok(Vec::new());
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading LOCAL_AWS_TRIGGER_ENV_FILE {}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| variable(line).with_context(|| format!("in {}", path.display())))
        .collect()
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
    let mut trigger_bootstrap = std::env::var_os("LOCAL_AWS_TRIGGER_BOOTSTRAP").map(PathBuf::from);
    let mut trigger_env = trigger_env_file()?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--infra" => infra = args.next().context("--infra needs a directory")?.into(),
            "--bind" => {
                let value = args.next().context("--bind needs an address")?;
                bind = value.parse().with_context(|| format!("--bind {value:?}"))?;
            }
            "--trigger-bootstrap" => {
                trigger_bootstrap = Some(
                    args.next()
                        .context("--trigger-bootstrap needs a file")?
                        .into(),
                );
            }
            "--trigger-env" => {
                let value = args.next().context("--trigger-env needs NAME=VALUE")?;
                trigger_env.push(variable(&value).context("--trigger-env")?);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(Some(Options {
        infra,
        bind,
        trigger_bootstrap,
        trigger_env,
    }))
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

/// The ports of the Okta orgs after the first: `local.json`'s `okta_orgs`, each overridden by
/// `LOCAL_AWS_OKTA_ORG_<ORG>_PORT` when set.
fn okta_org_ports(config: &LocalAwsConfig) -> anyhow::Result<BTreeMap<String, u16>> {
    let mut ports = config.ports.okta_orgs.clone();
    for org in config.directories.okta.iter().skip(1) {
        let variable = format!(
            "LOCAL_AWS_OKTA_ORG_{}_PORT",
            org.org.to_ascii_uppercase().replace('-', "_")
        );
        if std::env::var_os(&variable).is_some() {
            let port = port_override(&variable, 0)?;
            ports.retain(|name, _| !name.eq_ignore_ascii_case(&org.org));
            ports.insert(org.org.clone(), port);
        }
    }
    Ok(ports)
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
        lambda: port_override("LOCAL_AWS_LAMBDA_PORT", config.ports.lambda)?,
        mail: port_override("LOCAL_AWS_MAIL_PORT", config.ports.mail)?,
        dns: port_override("LOCAL_AWS_DNS_PORT", config.ports.dns)?,
        dns_admin: port_override("LOCAL_AWS_DNS_ADMIN_PORT", config.ports.dns_admin)?,
        user_pool_domains: config.ports.user_pool_domains.clone(),
        okta_orgs: okta_org_ports(&config)?,
    };
    match &options.trigger_bootstrap {
        Some(bootstrap) => {
            // Absolute, so that the runtime's task root and working directory are where the file is.
            let bootstrap = std::fs::canonicalize(bootstrap)
                .with_context(|| format!("the trigger's bootstrap {}", bootstrap.display()))?;
            let environment: BTreeMap<String, String> =
                options.trigger_env.iter().cloned().collect();
            config
                .user_pool
                .use_trigger(FunctionRuntime::Command(bootstrap), environment)
                .context("the pre-token-generation trigger")?;
        }
        None if !options.trigger_env.is_empty() => {
            bail!("--trigger-env or LOCAL_AWS_TRIGGER_ENV_FILE without a trigger bootstrap")
        }
        None => {}
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
    for org in aws.okta_orgs() {
        if let Some(base) = aws.okta_org_base(&org) {
            println!("okta {org:<13} {base}");
        }
    }
    if aws.okta_orgs().is_empty() {
        println!(
            "okta               {} (no org in directories.json)",
            aws.okta_base()
        );
    }
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
    match aws.lambda().functions().first() {
        Some(function) => println!(
            "lambda             {} (pre-token-generation trigger: {function})",
            aws.lambda_endpoint()
        ),
        None => println!(
            "lambda             {} (no trigger function: tokens without additions)",
            aws.lambda_endpoint()
        ),
    }
    println!(
        "dns                {} (udp and tcp; zones {})",
        aws.dns_addr(),
        aws.dns().zones().join(", ")
    );
    println!("dns records        {}", aws.dns_admin_url());
    println!("mail               {}", aws.mail_url());
    terminated().await;
    tracing::info!("shutting down");
    aws.shutdown().await;
    Ok(())
}
