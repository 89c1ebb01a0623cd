//! The test kit: what the backend's integration tests (`backend/tests/api`), the browser tests (`e2e`) and the
//! benchmarks (`backend/benches`) share, so that each starts Postgres, the local AWS stand-ins and the backend
//! the same way.
//!
//! - [`postgres`]: a Postgres container (one per test process, or one owned by the caller) holding a migrated
//!   template database, and a fresh database cloned from it for every test.
//! - [`stack`]: the stand-ins and the backend wired to a test database, with the demo world seeded.
//! - [`sign_in`]: a sign-in walked through the user pool and an identity provider without a browser.
//! - [`outage`]: a TCP gate in front of a real server, closed and reopened to make it go away and come back.
//! - [`demo`]: the demo users of `infra/local-aws/directories.json` and `infra/tenants/demo.json`.
//! - [`rng`]: the one seeded random number generator, for reproducible test data.
//! - [`env`](mod@env): whole-number knobs from the environment (the benchmarks' settings).
//! - [`bench`](mod@bench): the benchmarks' summary file, every figure beside its floor.
//!
//! Settings come from the environment: `POSTGRES_IMAGE` (default `postgres:16-alpine`), `DOCKER_HOST` (read
//! by testcontainers) and `TRIGGER_BOOTSTRAP` (the trigger Lambda's executable, see
//! [`stack::trigger_bootstrap`]).

pub mod bench;
pub mod demo;
pub mod env;
pub mod outage;
pub mod postgres;
pub mod rng;
pub mod sign_in;
pub mod stack;

use std::path::{Path, PathBuf};

pub use postgres::{APP_LOGIN, Postgres, TestDatabase, fresh_database};
pub use stack::{Backend, Stack};

/// The repository's root directory (the workspace root).
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The repository's `infra/` directory: the stand-ins' configuration and the demo world.
pub fn infra_dir() -> PathBuf {
    repo_dir().join("infra")
}
