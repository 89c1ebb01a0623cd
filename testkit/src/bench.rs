//! The benchmarks' summary: every figure `cargo xtask bench` measures, with the floor it is compared with, in
//! one JSON file (`<target>/bench/summary.json`) that runs can be compared by over time.
//!
//! Each benchmark records its own figures; a figure replaces the one of the same name from an earlier run,
//! so the file always holds the latest value of every figure, and a benchmark run alone updates only its own.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// One measured figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// What was measured, unique across the benchmarks (`load.reports_bearer.requests_per_second`).
    pub name: String,
    /// The measurement.
    pub value: f64,
    /// Its unit (`µs`, `req/s`, `ms`, `kB`, `s`).
    pub unit: String,
    /// The same measurement of the floor (the least the work can cost, or the most it can deliver), taken in
    /// the same run, where there is one.
    pub floor: Option<f64>,
    /// `value / floor`, where there is a floor.
    pub ratio: Option<f64>,
}

impl Figure {
    /// A figure without a floor.
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            floor: None,
            ratio: None,
        }
    }

    /// A figure beside its floor.
    pub fn against(
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        floor: f64,
    ) -> Figure {
        Figure {
            floor: Some(floor),
            ratio: (floor != 0.0).then(|| value / floor),
            ..Figure::new(name, value, unit)
        }
    }
}

/// The summary file of the target directory this benchmark binary was built in (`<target>/release/deps/…`
/// → `<target>/bench/summary.json`), or `target/bench/summary.json` when that cannot be told.
pub fn summary_path() -> PathBuf {
    let target = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then_some(())?;
        Some(deps.parent()?.parent()?.to_path_buf())
    });
    target
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("bench")
        .join("summary.json")
}

/// Records `figures` in the summary at [`summary_path`] and returns that path.
pub fn record(figures: &[Figure]) -> anyhow::Result<PathBuf> {
    let path = summary_path();
    record_at(&path, figures)?;
    Ok(path)
}

/// Records `figures` in the summary file `path`: each replaces the figure of the same name, the others stay;
/// kept sorted by name. Written to a temporary file first, so a reader never sees half a summary.
pub fn record_at(path: &Path, figures: &[Figure]) -> anyhow::Result<()> {
    let mut summary: Vec<Figure> = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {} (delete it to start afresh)", path.display()))?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    summary.retain(|old| figures.iter().all(|new| new.name != old.name));
    summary.extend(figures.iter().cloned());
    summary.sort_by(|a, b| a.name.cmp(&b.name));
    let dir = path.parent().context("the summary path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_figure_replaces_its_namesake_and_leaves_the_others() {
        let dir = std::env::temp_dir().join(format!("bench-summary-{}", std::process::id()));
        let path = dir.join("summary.json");
        let _ = std::fs::remove_file(&path);
        record_at(
            &path,
            &[
                Figure::against("verifier.full", 30.0, "µs", 20.0),
                Figure::new("load.healthz", 30_000.0, "req/s"),
            ],
        )
        .unwrap();
        record_at(&path, &[Figure::against("verifier.full", 24.0, "µs", 20.0)]).unwrap();

        let summary: Vec<Figure> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            summary,
            [
                Figure::new("load.healthz", 30_000.0, "req/s"),
                Figure {
                    name: "verifier.full".into(),
                    value: 24.0,
                    unit: "µs".into(),
                    floor: Some(20.0),
                    ratio: Some(1.2),
                },
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
