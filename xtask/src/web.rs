//! Builds the Leptos web app: `cargo build --target wasm32-unknown-unknown`, the split into a main module and
//! on-demand ones (`frontend/src/on_demand.rs`), `wasm-bindgen --target web`, optionally `wasm-opt`, and the
//! static files, into `frontend/dist` (what cargo-leptos or trunk would do).
//!
//! Every file the page loads goes to `dist/assets/` under a name carrying a hash of its content
//! (`style.3f2a….css`; the app's JavaScript and wasm, which refer to one another by relative URLs, in a
//! directory named for all of their contents, `app.9c1e…/`), which `index.html` is rewritten to name; the
//! backend serves those with immutable caching and `index.html` with `no-store`, so a new build is picked up
//! at once and an unchanged file is never downloaded twice. Each file also gets brotli and gzip siblings
//! (`.br`, `.gz`) for the backend to serve to browsers that accept them, compressed once here at the highest
//! levels rather than per request.
//!
//! wasm-opt and the compression are the slow part of a build; their results are kept by the content they were
//! made from ([`ContentCache`]), so rebuilding an unchanged app takes seconds.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest as _, Sha256};

use crate::tools::Tools;
use crate::{cmd, paths};

/// The cargo profile the wasm is built with (`Cargo.toml`): the release profile built for size, in one unit.
const PROFILE: &str = "wasm-release";

/// The name wasm-bindgen gives the app's JavaScript (`frontend.js`) and wasm (`frontend_bg.wasm`).
const APP: &str = "frontend";
/// The JavaScript that fetches the on-demand modules, which the main wasm imports.
const SPLIT_LOADER: &str = "frontend_split.js";

/// What a build made, for measuring it.
pub struct Built {
    /// The JavaScript and wasm files a first visit downloads.
    pub first_load: Vec<PathBuf>,
    /// The wasm modules fetched when a page that needs them is opened (`frontend/src/on_demand.rs`).
    pub on_demand: Vec<PathBuf>,
}

/// Builds the web app (the [`PROFILE`] profile, split into its main module and the on-demand ones, then
/// wasm-opt when available) into `frontend/dist`.
pub fn build(tools: &Tools) -> Result<Built> {
    let root = paths::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build.current_dir(&root).args([
        "build",
        "--profile",
        PROFILE,
        "--package",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    cmd::run(&mut build)?;

    let wasm = paths::target_dir()
        .join("wasm32-unknown-unknown")
        .join(PROFILE)
        .join("frontend.wasm");
    let dist = paths::web_dist();
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    std::fs::create_dir_all(dist.join(ASSETS))?;
    let work = paths::target_dir().join("web-build");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    let (split, pkg) = (work.join("split"), work.join("pkg"));
    std::fs::create_dir_all(&split)?;
    std::fs::create_dir_all(&pkg)?;

    let main = split.join(format!("{APP}.wasm"));
    let on_demand = split_on_demand(&wasm, &split, &main)?;
    // The main module keeps exporting what the on-demand ones import from it (`--keep-lld-exports`, which
    // wasm-bindgen would otherwise drop); `--no-demangle` as Leptos' own build passes it with the split.
    cmd::run(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--keep-lld-exports"])
            .args(["--no-demangle", "--out-name", APP, "--out-dir"])
            .arg(&pkg)
            .arg(&main),
    )?;
    for file in on_demand.iter().chain([&split.join(SPLIT_LOADER)]) {
        std::fs::copy(file, pkg.join(file_name(file)?))
            .with_context(|| format!("copying {}", file.display()))?;
    }
    let mut cache = ContentCache::open(paths::target_dir().join("web-cache"))?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&pkg).with_context(|| format!("listing {}", pkg.display()))? {
        let path = entry?.path();
        if let (Some(wasm_opt), "wasm") = (&tools.wasm_opt, extension(&path)) {
            optimise(&mut cache, wasm_opt, &path)?;
        }
        let content =
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push((file_name(&path)?.to_owned(), content));
    }
    files.sort();

    // The app's files refer to one another by relative URLs (`./frontend.js`, `./split_0.wasm`), so they go
    // together into one directory named for all of their contents: a new build is a new directory.
    let mut app_hash = Sha256::new();
    for (name, content) in &files {
        app_hash.update(name.as_bytes());
        app_hash.update([0]);
        app_hash.update(Sha256::digest(content));
    }
    let app_dir = format!("app.{}", hex(&app_hash.finalize()[..8]));
    std::fs::create_dir_all(dist.join(ASSETS).join(&app_dir))?;
    let mut built = Built {
        first_load: Vec::new(),
        on_demand: Vec::new(),
    };
    let on_demand_names: Vec<&str> = on_demand
        .iter()
        .map(|path| file_name(path))
        .collect::<Result<_>>()?;
    for (name, content) in &files {
        let path = dist.join(ASSETS).join(&app_dir).join(name);
        write_compressed(&mut cache, &path, content)?;
        if on_demand_names.contains(&name.as_str()) {
            built.on_demand.push(path);
        } else {
            built.first_load.push(path);
        }
    }

    let frontend = root.join("frontend");
    let mut index = std::fs::read_to_string(frontend.join("index.html"))
        .context("reading frontend/index.html")?;
    for name in [format!("{APP}.js"), format!("{APP}_bg.wasm")] {
        index = replace_placeholder(&index, &name, &format!("/{ASSETS}/{app_dir}/{name}"))?;
    }
    for source in [frontend.join("style.css"), frontend.join("favicon.svg")] {
        let name = file_name(&source)?;
        let content =
            std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
        let path = format!("/{ASSETS}/{}", hashed_name(name, &content));
        index = replace_placeholder(&index, name, &path)?;
        write_compressed(
            &mut cache,
            &dist.join(path.trim_start_matches('/')),
            &content,
        )?;
    }
    if let Some(left) = index.find("{{asset:") {
        bail!(
            "frontend/index.html refers to an asset the build does not make: {}",
            &index[left..index[left..]
                .find("}}")
                .map_or(index.len(), |end| left + end + 2)]
        );
    }
    write_compressed(&mut cache, &dist.join("index.html"), index.as_bytes())?;
    std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    cache.prune()?;
    eprintln!("web app built into {}", dist.display());
    Ok(built)
}

/// `index` with `{{asset:<name>}}` replaced by `path`; an error if `index` does not name it.
fn replace_placeholder(index: &str, name: &str, path: &str) -> Result<String> {
    let placeholder = format!("{{{{asset:{name}}}}}");
    if !index.contains(&placeholder) {
        bail!("frontend/index.html does not refer to {name} as {placeholder}");
    }
    Ok(index.replace(&placeholder, path))
}

/// Splits the app's `wasm` at its split points (`#[wasm_split]`, `frontend/src/on_demand.rs`) with the tool
/// Leptos' own build uses: the main module goes to `main`, for wasm-bindgen; the on-demand modules and the
/// JavaScript that fetches them ([`SPLIT_LOADER`], which the main module imports) go to `dir`. Returns the
/// on-demand modules. The wasm must be linked with `--emit-relocs` (`.cargo/config.toml`): the tool moves
/// code between modules by its relocations.
fn split_on_demand(wasm: &Path, dir: &Path, main: &Path) -> Result<Vec<PathBuf>> {
    let input = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let main_module = format!("./{APP}.js");
    let link_name = format!("./{SPLIT_LOADER}");
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = dir;
    options.main_out_path = main;
    options.main_module = &main_module;
    options.link_name = &link_name;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|error| anyhow::anyhow!("splitting {}: {error:?}", wasm.display()))?;
    Ok(split.split_modules)
}

/// wasm-opt's arguments: size first (`-Oz`), and the features rustc enables by default for wasm32, which must
/// be enabled in wasm-opt too.
const WASM_OPT_ARGS: [&str; 7] = [
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-mutable-globals",
];

/// Runs wasm-opt on `file` in place, or, when the same wasm-opt already optimised a wasm with exactly these
/// bytes, takes that result from the cache (wasm-opt is most of a warm build's time, and its output depends
/// only on its input, its version and its arguments).
fn optimise(cache: &mut ContentCache, wasm_opt: &Path, file: &Path) -> Result<()> {
    let input = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut key = Sha256::new();
    key.update(wasm_opt.as_os_str().as_encoded_bytes());
    for arg in WASM_OPT_ARGS {
        key.update([0]);
        key.update(arg);
    }
    key.update([0]);
    key.update(&input);
    let entry = cache.entry(&hex(&key.finalize()), "wasm");
    if let Some(optimised) = cache.get(&entry)? {
        eprintln!("wasm-opt: the wasm is unchanged; reusing the optimised copy in the build cache");
        return std::fs::write(file, optimised)
            .with_context(|| format!("writing {}", file.display()));
    }
    cmd::run(
        Command::new(wasm_opt)
            .args(WASM_OPT_ARGS)
            .arg(file)
            .arg("-o")
            .arg(file),
    )?;
    let optimised = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    cache.put(&entry, &optimised)
}

/// Build outputs kept by the content they were made from, under `<target>/web-cache/`: the optimised wasm and
/// the compressed files, so a build whose inputs did not change redoes none of that work. Only what the latest
/// build used is kept ([`ContentCache::prune`]), so the cache never grows past one build's worth.
struct ContentCache {
    dir: PathBuf,
    used: BTreeSet<PathBuf>,
}

impl ContentCache {
    fn open(dir: PathBuf) -> Result<ContentCache> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ContentCache {
            dir,
            used: BTreeSet::new(),
        })
    }

    /// The cache file for `key` (hex) with `extension`; counted as used by this build.
    fn entry(&mut self, key: &str, extension: &str) -> PathBuf {
        let path = self.dir.join(format!("{key}.{extension}"));
        self.used.insert(path.clone());
        path
    }

    /// The cached bytes of `entry`, if there are any.
    fn get(&self, entry: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(entry) {
            Ok(content) => Ok(Some(content)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {}", entry.display())),
        }
    }

    /// Stores `content` as `entry`, whole or not at all (written aside, then renamed), so an interrupted build
    /// never leaves a truncated entry for the next one to trust.
    fn put(&self, entry: &Path, content: &[u8]) -> Result<()> {
        let partial = entry.with_extension("partial");
        std::fs::write(&partial, content)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, entry).with_context(|| format!("writing {}", entry.display()))
    }

    /// Deletes every entry this build did not use.
    fn prune(&self) -> Result<()> {
        for file in std::fs::read_dir(&self.dir)
            .with_context(|| format!("listing {}", self.dir.display()))?
        {
            let path = file?.path();
            if !self.used.contains(&path) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The directory of `dist` holding the content-hashed files (`/assets/…` on the server).
pub const ASSETS: &str = "assets";

/// `style.css` with `content` → `style.<first 16 hex digits of its SHA-256>.css`.
fn hashed_name(name: &str, content: &[u8]) -> String {
    let hash = hex(&Sha256::digest(content)[..8]);
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

/// Writes `content` to `path`, and brotli (quality 11) and gzip (level 9) copies to `path.br` and `path.gz`;
/// the copies come from the cache when the same content was compressed before (quality 11 takes seconds).
fn write_compressed(cache: &mut ContentCache, path: &Path, content: &[u8]) -> Result<()> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    let key = hex(&Sha256::digest(content));
    for (encoding, compress) in [
        ("br", brotli_compressed as fn(&[u8]) -> Result<Vec<u8>>),
        ("gz", gzip_compressed),
    ] {
        let entry = cache.entry(&key, encoding);
        let compressed = match cache.get(&entry)? {
            Some(compressed) => compressed,
            None => {
                let compressed = compress(content)?;
                cache.put(&entry, &compressed)?;
                compressed
            }
        };
        let copy = path.with_extension(format!("{}.{encoding}", extension(path)));
        std::fs::write(&copy, compressed).with_context(|| format!("writing {}", copy.display()))?;
    }
    Ok(())
}

fn brotli_compressed(content: &[u8]) -> Result<Vec<u8>> {
    let mut brotli = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut brotli, 64 * 1024, 11, 22);
        writer.write_all(content)?;
    }
    Ok(brotli)
}

fn gzip_compressed(content: &[u8]) -> Result<Vec<u8>> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(content)?;
    Ok(gzip.finish()?)
}

fn extension(path: &Path) -> &str {
    path.extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn compressed_copies_come_from_the_cache_for_the_same_content_and_unused_entries_are_pruned() {
        let root = scratch("cache");
        let content = b"body { color: black }".repeat(100);
        let file = root.join("style.css");

        let mut first = ContentCache::open(root.join("cache")).unwrap();
        write_compressed(&mut first, &file, &content).unwrap();
        first.prune().unwrap();
        let gz = root.join("style.css.gz");
        let made = std::fs::read(&gz).unwrap();
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&made[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, content);

        // The same content again: the copy is the cached one, byte for byte, even if the cache entry was
        // tampered with (which shows it was not compressed again).
        let key = hex(&Sha256::digest(&content));
        std::fs::write(
            root.join("cache").join(format!("{key}.gz")),
            b"from the cache",
        )
        .unwrap();
        let mut second = ContentCache::open(root.join("cache")).unwrap();
        write_compressed(&mut second, &file, &content).unwrap();
        assert_eq!(std::fs::read(&gz).unwrap(), b"from the cache");

        // Other content: compressed afresh, and the first content's entries go at the prune.
        let mut third = ContentCache::open(root.join("cache")).unwrap();
        write_compressed(&mut third, &file, b"other").unwrap();
        third.prune().unwrap();
        let mut left: Vec<String> = std::fs::read_dir(root.join("cache"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let other = hex(&Sha256::digest(b"other"));
        assert_eq!(left, [format!("{other}.br"), format!("{other}.gz")]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn hashed_names_keep_the_extension_after_the_hash() {
        let name = hashed_name("style.css", b"x");
        assert!(
            name.starts_with("style.") && name.ends_with(".css"),
            "{name}"
        );
        assert_eq!(name.len(), "style.".len() + 16 + ".css".len());
        assert_ne!(name, hashed_name("style.css", b"y"));
    }
}
