//! `cargo xtask lint`: the checks that need neither a database nor a browser, which `cargo xtask test` runs
//! first: formatting, clippy (the host crates, and the web app for wasm32), the dependency policy of
//! `deny.toml` (`cargo deny`: licenses, bans, sources, advisories), unused dependencies (`cargo machete`), and
//! the documentation (`cargo doc --no-deps` with rustdoc's warnings denied, broken intra-doc links among
//! them; `shared` and `local-aws` also warn on `missing_docs`, which clippy's `-D warnings` makes an error).
//!
//! `cargo xtask lint <step>...` runs only the steps named: `fmt`, `machete`, `deny`, `clippy`, `doc`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};

use crate::tools::{self, CARGO_DENY_VERSION, CARGO_MACHETE_VERSION};
use crate::{cmd, paths};

/// One step of the lint run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Fmt,
    Machete,
    Deny,
    Clippy,
    Doc,
}

/// Every step, cheapest first; `doc` after `clippy`, whose checked dependencies it reuses.
const ALL: [Step; 5] = [
    Step::Fmt,
    Step::Machete,
    Step::Deny,
    Step::Clippy,
    Step::Doc,
];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Fmt => "fmt",
            Step::Machete => "machete",
            Step::Deny => "deny",
            Step::Clippy => "clippy",
            Step::Doc => "doc",
        }
    }
}

/// Cargo-deny's own limit on the age of an advisory database it is told not to fetch (its
/// `maximum-db-staleness`, 90 days by default): an older one no longer counts as checked.
const MAX_DB_AGE: Duration = Duration::from_secs(90 * 24 * 3600);

/// A database fetched less than this long ago is used without fetching it again.
const DB_REFRESH_AFTER: Duration = Duration::from_secs(12 * 3600);

/// Runs the steps named in `args`, or all of them, and returns what they could not check (so far only the
/// advisories, without a database), for the caller to repeat at the end of its output.
pub fn run(args: &[String]) -> Result<Vec<String>> {
    let steps = if args.is_empty() {
        ALL.to_vec()
    } else {
        args.iter()
            .map(|arg| {
                ALL.into_iter()
                    .find(|step| step.name() == arg)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown lint step `{arg}`; the steps are fmt, machete, deny, clippy, doc"
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?
    };
    let mut not_checked = Vec::new();
    for step in steps {
        let start = Instant::now();
        let skipped = match step {
            Step::Fmt => fmt().map(|()| None)?,
            Step::Machete => machete().map(|()| None)?,
            Step::Deny => deny()?,
            Step::Clippy => clippy().map(|()| None)?,
            Step::Doc => doc().map(|()| None)?,
        };
        let took = start.elapsed().as_secs_f64();
        match skipped {
            None => eprintln!("lint: {} passed in {took:.1} s", step.name()),
            Some(what) => {
                eprintln!("lint: {} passed in {took:.1} s, but {what}", step.name());
                not_checked.push(what);
            }
        }
    }
    Ok(not_checked)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(paths::root());
    command
}

fn fmt() -> Result<()> {
    cmd::run(cargo().args(["fmt", "--all", "--check"]))
}

fn clippy() -> Result<()> {
    cmd::run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "frontend",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    tools::ensure_wasm_target()?;
    cmd::run(cargo().args([
        "clippy",
        "--package",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The API documentation of every crate of the workspace, the web app's for wasm32 as it is built, with
/// rustdoc's warnings (broken and private intra-doc links, malformed HTML, bare URLs) as errors.
fn doc() -> Result<()> {
    cmd::run(
        cargo()
            .args(["doc", "--no-deps", "--workspace", "--exclude", "frontend"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    tools::ensure_wasm_target()?;
    cmd::run(
        cargo()
            .args([
                "doc",
                "--no-deps",
                "--package",
                "frontend",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )
}

/// Dependencies a crate declares and never uses (`cargo machete` reads the sources: no build).
fn machete() -> Result<()> {
    let machete =
        tools::ensure_cargo_tool("cargo-machete", CARGO_MACHETE_VERSION, "cargo-machete")?;
    cmd::run(Command::new(machete).current_dir(paths::root()).arg("."))
}

/// `deny.toml`: licenses, duplicate versions and banned crates, sources, then the advisories. Says what it
/// could not check.
fn deny() -> Result<Option<String>> {
    let deny = tools::ensure_cargo_tool("cargo-deny", CARGO_DENY_VERSION, "cargo-deny")?;
    cmd::run(
        Command::new(&deny)
            .current_dir(paths::root())
            // Every duplicate version is a warning with its whole inclusion graph otherwise: thousands of
            // lines. `cargo tree --invert <crate>` shows how one comes in.
            .args([
                "check",
                "--hide-inclusion-graph",
                "licenses",
                "bans",
                "sources",
            ]),
    )?;
    advisories(&deny)
}

/// The advisory check against the RustSec database, a git repository cargo-deny clones from GitHub into
/// `$CARGO_HOME/advisory-dbs` (outside the clone, shared with every other use of cargo-deny on the machine).
///
/// The database is fetched when the copy there is missing or older than [`DB_REFRESH_AFTER`], then the check
/// runs without fetching. Without network access to GitHub the copy there is used as long as cargo-deny
/// accepts it (fetched less than 90 days ago). With no usable copy the advisories are not checked, and this
/// says so loudly (and returns it); `ADVISORY_DB_REQUIRED=1` makes that an error.
fn advisories(deny: &Path) -> Result<Option<String>> {
    let root = advisory_db_root();
    if newest_db_age(&root).is_none_or(|age| age > DB_REFRESH_AFTER) {
        let fetched = Command::new(deny)
            .current_dir(paths::root())
            .args(["fetch", "db"])
            // A stalled transfer gives up instead of holding the run.
            .env("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
            .env("GIT_HTTP_LOW_SPEED_TIME", "30")
            .status()
            .is_ok_and(|status| status.success());
        if !fetched {
            eprintln!(
                "note: the RustSec advisory database could not be fetched (no access to GitHub?); using the copy \
                 under {}, if there is one",
                root.display()
            );
        }
    }
    match newest_db_age(&root) {
        Some(age) if age <= MAX_DB_AGE => cmd::run(
            Command::new(deny)
                .current_dir(paths::root())
                // `--offline`: no fetch (the database is as fresh as it gets by now), and the crates are
                // already there from the check above.
                .args(["--offline", "check", "advisories"]),
        )
        .map(|()| None),
        found => {
            let why = match found {
                Some(age) => format!(
                    "the advisory database under {} was fetched {} days ago, longer ago than cargo-deny accepts",
                    root.display(),
                    age.as_secs() / 86_400
                ),
                None => format!("there is no advisory database under {}", root.display()),
            };
            let message = format!(
                "ADVISORIES NOT CHECKED: {why}, and it could not be fetched. Run `cargo xtask lint deny` on a \
                 machine that reaches GitHub, or copy {} from one (`cargo deny fetch db` fills it).",
                root.display()
            );
            if std::env::var_os("ADVISORY_DB_REQUIRED").is_some_and(|v| v == "1") {
                bail!("{message}");
            }
            eprintln!("\n*** {message}\n");
            Ok(Some(
                "the advisories were NOT checked (no usable advisory database)".to_owned(),
            ))
        }
    }
}

/// Where cargo-deny keeps its advisory databases by default: `$CARGO_HOME/advisory-dbs`.
fn advisory_db_root() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home.join("advisory-dbs")
}

/// How long ago the newest advisory database under `root` was fetched, as cargo-deny tells it: the time of
/// the clone's `FETCH_HEAD`, else of its `HEAD`.
fn newest_db_age(root: &Path) -> Option<Duration> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("advisory-db-")
        })
        .filter_map(|entry| {
            let git = entry.path().join(".git");
            let modified =
                |name: &str| std::fs::metadata(git.join(name)).and_then(|m| m.modified());
            modified("FETCH_HEAD").or_else(|_| modified("HEAD")).ok()
        })
        .filter_map(|time| SystemTime::now().duration_since(time).ok())
        .min()
}
