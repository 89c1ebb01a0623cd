//! What the crate's unit tests share.

use proptest::test_runner::{Config, RngSeed};

/// The configuration of a property test: a fixed seed, so that a run is repeatable and a failure
/// reproducible, no failure files, and `cases` cases, or `PROPTEST_CASES` when it is set (the longer run of
/// `cargo xtask bench`).
pub fn property_config(cases: u32, seed: u64) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(cases),
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}
