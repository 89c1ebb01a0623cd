//! Whole-number knobs read from the environment, as the benchmarks take their settings.

use anyhow::Context as _;

/// The whole number in the environment variable `name`, or `default` when it is unset.
pub fn number(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .with_context(|| format!("{name}={value:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}
