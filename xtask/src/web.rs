//! Builds the Leptos web app: `cargo build --target wasm32-unknown-unknown`, `wasm-bindgen --target web`,
//! optionally `wasm-opt`, and the static files, into `frontend/dist` (what cargo-leptos or trunk would do).
//!
//! Every file the page loads goes to `dist/assets/` under a name carrying a hash of its content
//! (`style.3f2a….css`), which `index.html` is rewritten to name; the backend serves those with immutable
//! caching and `index.html` with `no-store`, so a new build is picked up at once and an unchanged file is
//! never downloaded twice. Each file also gets brotli and gzip siblings (`.br`, `.gz`) for the backend to
//! serve to browsers that accept them, compressed once here at the highest levels rather than per request.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest as _, Sha256};

use crate::tools::Tools;
use crate::{cmd, paths};

/// Builds the web app (release profile, then wasm-opt when available) into `frontend/dist`.
pub fn build(tools: &Tools) -> Result<()> {
    let root = paths::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build.current_dir(&root).args([
        "build",
        "--release",
        "--package",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    cmd::run(&mut build)?;

    let wasm = paths::target_dir()
        .join("wasm32-unknown-unknown")
        .join("release")
        .join("frontend.wasm");
    let dist = paths::web_dist();
    let pkg = dist.join("pkg");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    std::fs::create_dir_all(&pkg)?;
    std::fs::create_dir_all(dist.join(ASSETS))?;
    cmd::run(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm),
    )?;
    if let Some(wasm_opt) = &tools.wasm_opt {
        let file = pkg.join("frontend_bg.wasm");
        // The features rustc enables by default for wasm32 must be enabled in wasm-opt too.
        cmd::run(
            Command::new(wasm_opt)
                .args([
                    "-Oz",
                    "--enable-bulk-memory",
                    "--enable-nontrapping-float-to-int",
                    "--enable-sign-ext",
                ])
                .args([
                    "--enable-reference-types",
                    "--enable-multivalue",
                    "--enable-mutable-globals",
                ])
                .arg(&file)
                .arg("-o")
                .arg(&file),
        )?;
    }
    let frontend = root.join("frontend");
    let mut index = std::fs::read_to_string(frontend.join("index.html"))
        .context("reading frontend/index.html")?;
    for source in [
        pkg.join("frontend.js"),
        pkg.join("frontend_bg.wasm"),
        frontend.join("style.css"),
        frontend.join("favicon.svg"),
    ] {
        let name = file_name(&source)?;
        let content =
            std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        let path = format!("/{ASSETS}/{}", hashed_name(name, &content));
        let placeholder = format!("{{{{asset:{name}}}}}");
        if !index.contains(&placeholder) {
            bail!("frontend/index.html does not refer to {name} as {placeholder}");
        }
        index = index.replace(&placeholder, &path);
        write_compressed(&dist.join(path.trim_start_matches('/')), &content)?;
    }
    if let Some(left) = index.find("{{asset:") {
        bail!(
            "frontend/index.html refers to an asset the build does not make: {}",
            &index[left..index[left..]
                .find("}}")
                .map_or(index.len(), |end| left + end + 2)]
        );
    }
    write_compressed(&dist.join("index.html"), index.as_bytes())?;
    std::fs::remove_dir_all(&pkg).with_context(|| format!("removing {}", pkg.display()))?;
    eprintln!("web app built into {}", dist.display());
    Ok(())
}

/// The directory of `dist` holding the content-hashed files (`/assets/…` on the server).
const ASSETS: &str = "assets";

/// `style.css` with `content` → `style.<first 16 hex digits of its SHA-256>.css`.
fn hashed_name(name: &str, content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let hash: String = digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{name}.{hash}"),
    }
}

fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|name| name.to_str())
        .with_context(|| format!("{} has no file name", path.display()))
}

/// Writes `content` to `path`, and brotli (quality 11) and gzip (level 9) copies to `path.br` and `path.gz`.
fn write_compressed(path: &Path, content: &[u8]) -> Result<()> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;

    let mut brotli = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut brotli, 64 * 1024, 11, 22);
        writer.write_all(content)?;
    }
    let br = path.with_extension(format!("{}.br", extension(path)));
    std::fs::write(&br, brotli).with_context(|| format!("writing {}", br.display()))?;

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(content)?;
    let gz = path.with_extension(format!("{}.gz", extension(path)));
    std::fs::write(&gz, gzip.finish()?).with_context(|| format!("writing {}", gz.display()))?;
    Ok(())
}

fn extension(path: &Path) -> &str {
    path.extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or_default()
}
