//! Builds the Leptos web app: `cargo build --target wasm32-unknown-unknown`, `wasm-bindgen --target web`,
//! optionally `wasm-opt`, and the static files, into `frontend/dist` (what cargo-leptos or trunk would do).

use std::process::Command;

use anyhow::{Context, Result};

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
    for name in ["index.html", "style.css"] {
        let from = root.join("frontend").join(name);
        std::fs::copy(&from, dist.join(name))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    eprintln!("web app built into {}", dist.display());
    Ok(())
}
