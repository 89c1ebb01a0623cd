//! `cargo xtask dev`: the whole application on this machine with the demo world.
//!
//! Postgres runs in a container that keeps its data between runs (`saas-reference-dev-postgres`); the local
//! AWS stand-ins and the backend run as child processes on their documented ports and stop with Ctrl-C. The
//! pre-token-generation trigger runs as it ships: the static release `bootstrap` of `cargo xtask
//! build-lambda`, started by the Lambda stand-in, which the user-pool stand-in invokes. The tenant identity
//! providers reach the user-pool stand-in the way they reach Cognito: `backend seed-demo` writes the demo
//! world into the database and its reconciler creates them through the Cognito API.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt as _;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;

use crate::docker::Engine;
use crate::tools::{Need, Tools};
use crate::{artifacts, cmd, paths, web};

const CONTAINER: &str = "saas-reference-dev-postgres";
const VOLUME: &str = "saas-reference-dev-pgdata";
const DB_PORT: u16 = 55432;
const OWNER_PASSWORD: &str = "local-dev-owner-password";
const APP_USER: &str = "saas_app_login";
const APP_PASSWORD: &str = "local-dev-app-password";
const BACKEND_ADDR: &str = "127.0.0.1:3000";
const PUBLIC_URL: &str = "http://localhost:3000";

/// The demo users printed at start (all passwords are `Passw0rd!`, local stand-ins only).
const DEMO_USERS: &[(&str, &str)] = &[
    ("alice@acme.example", "Acme Corp (pro) via Entra ID: admin"),
    ("bob@acme.example", "Acme Corp via Entra ID: member"),
    ("erin@acme.example", "Acme Corp via Entra ID: viewer"),
    ("carol@globex.example", "Globex (basic) via Okta: admin"),
    ("dave@globex.example", "Globex via Okta: viewer"),
    (
        "mallory@acme.example",
        "in Globex's Okta only: refused by Acme, lands in Globex via /auth/login?org=globex",
    ),
];

/// The demo platform operator, invited at every start (the stand-ins keep the operators' pool in memory).
const DEMO_OPERATOR: &str = "operator@example.com";

/// Builds and starts everything, prints where to open it, and waits for Ctrl-C.
pub fn run(_args: &[String]) -> Result<()> {
    let root = paths::root();
    let tools = Tools::ensure(Need { browser: false })?;
    let engine = Engine::ensure()?;
    let image = engine.postgres_image()?;
    web::build(&tools)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    cmd::run(Command::new(&cargo).current_dir(&root).args([
        "build",
        "--package",
        "backend",
        "--package",
        "local-aws",
    ]))?;
    let trigger_bootstrap = artifacts::build_lambda()?.join("bootstrap");

    let local = read_local_settings()?;
    let mut wanted = local.ports.clone();
    wanted.push(("backend".to_owned(), 3000));
    for (name, port) in wanted {
        if TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(200),
        )
        .is_ok()
        {
            bail!(
                "port {port} (for {name}) is already in use: stop whatever listens there (an earlier `cargo xtask dev`?)"
            );
        }
    }
    start_database(&engine, &image)?;

    let owner_url = format!("postgres://postgres:{OWNER_PASSWORD}@127.0.0.1:{DB_PORT}/saas");
    let app_url = format!("postgres://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{DB_PORT}/saas");
    let bin = paths::target_dir().join("debug");
    let session_key = dev_session_key()?;
    let backend_env = |command: &mut Command| {
        command
            .current_dir(&root)
            .env("DATABASE_URL", &app_url)
            .env("DATABASE_OWNER_URL", &owner_url)
            .env("INFRA_DIR", root.join("infra"))
            .env("BIND_ADDR", BACKEND_ADDR)
            .env("PUBLIC_URL", PUBLIC_URL)
            .env("WEB_DIST_DIR", paths::web_dist())
            .env("SESSION_ENCRYPTION_KEY", &session_key);
    };

    // Postgres accepts connections a moment after the container starts; migrate as soon as it does, and show
    // the output of a failed attempt only when the last one fails.
    eprintln!("waiting for the dev database, then migrating it");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut migrate = Command::new(bin.join("backend"));
        migrate.arg("migrate");
        backend_env(&mut migrate);
        let out = migrate.output().context("running `backend migrate`")?;
        if out.status.success() {
            break;
        }
        // A database made by an older checkout whose migrations were since changed will not recover by waiting.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("was previously applied but has been modified")
            || stderr.contains("was previously applied but is missing")
        {
            eprint!("{stderr}");
            let docker_host = engine
                .host
                .as_deref()
                .map(|host| format!("DOCKER_HOST={host} "))
                .unwrap_or_default();
            bail!(
                "the dev database was migrated by a different version of the migrations (output above); \
                 it holds only the demo world, so remove it and start again: \
                 {docker_host}docker rm -f {CONTAINER} && {docker_host}docker volume rm {VOLUME} && cargo xtask dev"
            );
        }
        if Instant::now() > deadline {
            eprint!("{}", String::from_utf8_lossy(&out.stdout));
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            bail!("`backend migrate` kept failing for 60 s (output above)");
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the Ctrl-C handler")?;

    let mut children: Vec<(&str, Child)> = Vec::new();
    let outcome = (|| -> Result<()> {
        let trigger_env = trigger_env_file(&app_url, &local.user_pool_id)?;
        let aws = Command::new(bin.join("local-aws"))
            .current_dir(&root)
            .arg("--infra")
            .arg(root.join("infra"))
            .arg("--trigger-bootstrap")
            .arg(&trigger_bootstrap)
            .env("LOCAL_AWS_TRIGGER_ENV_FILE", &trigger_env)
            .spawn()?;
        children.push(("local-aws", aws));
        for port in local.ports.iter().map(|(_, port)| *port) {
            wait_for_port(port, &stop)?;
        }
        let mut seed = Command::new(bin.join("backend"));
        seed.arg("seed-demo");
        backend_env(&mut seed);
        // The demo providers' issuers are the mock Entra ID and Okta of the stand-ins.
        seed.env(
            "DEMO_ENTRA_AUTHORITY",
            format!("http://127.0.0.1:{}", local.port("entra")?),
        )
        .env(
            "DEMO_OKTA_URL",
            format!("http://127.0.0.1:{}", local.port("okta")?),
        );
        cmd::run(&mut seed)?;
        // The demo operator, invited as `backend operators add` invites one on AWS: the operators' pool emails
        // a temporary password (to the stand-ins' outbox). The command uses the stand-ins' operator
        // administrator key; credentials of the developer's own shell must not replace it.
        let mut operator = Command::new(bin.join("backend"));
        operator.args(["operators", "add", DEMO_OPERATOR]);
        backend_env(&mut operator);
        operator
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("OPERATOR_USER_POOL_ID")
            .env_remove("COGNITO_IDP_ENDPOINT");
        cmd::run(&mut operator)?;
        let mut serve = Command::new(bin.join("backend"));
        serve.arg("serve");
        backend_env(&mut serve);
        children.push(("backend", serve.spawn()?));
        wait_for_port(3000, &stop)?;
        print_banner(local.port("mail")?, local.port("dns_admin")?);
        while !stop.load(Ordering::SeqCst) {
            for (name, child) in children.iter_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("{name} exited ({status}); see its log above");
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(())
    })();
    for (_, child) in children.iter_mut() {
        let _signalled = cmd::output(Command::new("kill").arg("-INT").arg(child.id().to_string()));
    }
    for (_, child) in children.iter_mut() {
        let _exited = child.wait();
    }
    eprintln!(
        "stopped. The dev database keeps running in container {CONTAINER} (docker stop {CONTAINER})."
    );
    outcome
}

struct LocalSettings {
    /// Each listener's name (a host's, or `<pool> pool domain`) and port.
    ports: Vec<(String, u16)>,
    user_pool_id: String,
}

impl LocalSettings {
    fn port(&self, name: &str) -> Result<u16> {
        self.ports
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, port)| *port)
            .with_context(|| format!("local.json has no port {name}"))
    }
}

/// Writes the trigger function's environment (the application login's database URL: a secret, so not on a
/// command line) to a file only this user can read, and returns its path.
fn trigger_env_file(database_url: &str, user_pool_id: &str) -> Result<std::path::PathBuf> {
    let path = paths::cache().join("dev-trigger.env");
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    let text = format!(
        "DATABASE_URL={database_url}\nRESOURCE_SERVER_ID=saas-api\nCOGNITO_USER_POOL_ID={user_pool_id}\n"
    );
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(path)
}

/// Reads the stand-ins' ports and the tenants' user pool id from `infra/local-aws/local.json`.
fn read_local_settings() -> Result<LocalSettings> {
    let path = paths::root()
        .join("infra")
        .join("local-aws")
        .join("local.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut ports = Vec::new();
    for name in [
        "cognito_idp",
        "auth",
        "entra",
        "okta",
        "cognito_identity",
        "s3",
        "lambda",
        "mail",
        "dns",
        "dns_admin",
    ] {
        let port = json["ports"][name]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok());
        ports.push((
            name.to_owned(),
            port.with_context(|| format!("{}: ports.{name} missing", path.display()))?,
        ));
    }
    // The domains of the pools after the first (the operators' pool), each on a port of its own.
    if let Some(domains) = json["ports"]["user_pool_domains"].as_object() {
        for (pool, port) in domains {
            let port = port
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| {
                    format!(
                        "{}: ports.user_pool_domains.{pool} is no port",
                        path.display()
                    )
                })?;
            ports.push((format!("{pool} pool domain"), port));
        }
    }
    // Each Okta org of the directories file is a host of its own, on a port of its own.
    if let Some(orgs) = json["ports"]["okta_orgs"].as_object() {
        for (org, port) in orgs {
            let port = port
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| format!("{}: ports.okta_orgs.{org} is no port", path.display()))?;
            ports.push((format!("Okta org {org}"), port));
        }
    }
    let user_pool_id = json["user_pools"][0]["user_pool_id"]
        .as_str()
        .with_context(|| format!("{}: user_pools[0].user_pool_id missing", path.display()))?
        .to_owned();
    Ok(LocalSettings {
        ports,
        user_pool_id,
    })
}

/// A session encryption key kept in the cache, so restarting `cargo xtask dev` keeps people signed in.
fn dev_session_key() -> Result<String> {
    let path = paths::cache().join("dev-session-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut bytes))
        .context("reading /dev/urandom for the dev session key")?;
    let key = base64::engine::general_purpose::STANDARD.encode(bytes);
    std::fs::create_dir_all(paths::cache())?;
    // Readable by this user only: the key decrypts the tokens kept in dev sessions.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, key.as_bytes())?;
    Ok(key)
}

fn start_database(engine: &Engine, image: &str) -> Result<()> {
    let state =
        cmd::output(
            engine
                .docker()
                .args(["inspect", "--format", "{{.State.Running}}", CONTAINER]),
        );
    match state.as_deref() {
        Some("true") => Ok(()),
        Some(_) => cmd::run(engine.docker().args(["start", CONTAINER])),
        None => cmd::run(engine.docker().args([
            "run",
            "--detach",
            "--name",
            CONTAINER,
            "--env",
            &format!("POSTGRES_PASSWORD={OWNER_PASSWORD}"),
            "--env",
            "POSTGRES_DB=saas",
            "--publish",
            &format!("127.0.0.1:{DB_PORT}:5432"),
            "--volume",
            &format!("{VOLUME}:/var/lib/postgresql/data"),
            image,
        ])),
    }
}

fn wait_for_port(port: u16, stop: &AtomicBool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if stop.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        if Instant::now() > deadline {
            bail!("nothing listens on port {port} after 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn print_banner(mail_port: u16, dns_admin_port: u16) {
    println!();
    println!("  The application is running: open {PUBLIC_URL}");
    println!();
    println!("  Demo users (password Passw0rd! for all; local stand-ins only):");
    for (email, what) in DEMO_USERS {
        println!("    {email:<24} {what}");
    }
    println!();
    println!("  Operator console: {PUBLIC_URL}/operator");
    println!(
        "    {DEMO_OPERATOR:<24} its temporary password is in the stand-ins' outbox, http://127.0.0.1:{mail_port}"
    );
    println!(
        "    {:<24} the first sign-in sets a new password and an authenticator app (the page shows its",
        ""
    );
    println!(
        "    {:<24} secret key and QR code); later sign-ins ask for a code from it",
        ""
    );
    println!();
    println!(
        "  Customer Initech (no tenant yet) can be onboarded from the console: its domain's DNS records are set at"
    );
    println!("    http://127.0.0.1:{dns_admin_port} (README: Onboarding a customer)");
    println!();
    println!("  Press Ctrl-C to stop.");
    println!();
}
