//! Where things live: the repository root, the cache outside the clone, the cargo target directory.

use std::path::PathBuf;

/// The repository root (the parent of the xtask crate).
///
/// Taken from the `CARGO_MANIFEST_DIR` that `cargo run` sets at run time, not the one compiled in: clones
/// that share a cargo target directory share the uplifted `target/debug/xtask` binary, and a compiled-in
/// path would point at whichever clone built it last.
pub fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cache directory outside the clone, shared by every clone on the machine:
/// `$SAAS_REFERENCE_CACHE`, else `$XDG_CACHE_HOME/saas-reference`, else `~/.cache/saas-reference`.
pub fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("SAAS_REFERENCE_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("saas-reference")
}

/// The cargo target directory in use (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Where the built web app goes; the backend serves it.
pub fn web_dist() -> PathBuf {
    root().join("frontend").join("dist")
}

/// The version of the package `name` recorded in Cargo.lock (the first one listed, when several are).
pub fn locked_version(name: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    anyhow::bail!("Cargo.lock names no {name} version")
}
