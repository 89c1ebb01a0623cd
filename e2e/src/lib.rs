//! Browser end-to-end tests' harness: the whole application (Postgres, the local AWS stand-ins, the backend
//! serving the built web app) started in-process, and Chromium driven through WebDriver.
//!
//! A test starts a [`Stack`], opens a [`Browser`] on it and acts like a person would:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use e2e::{ALICE, Browser, DEMO_PASSWORD, Stack};
//! let stack = Stack::start().await?;
//! let browser = Browser::launch("alice_signs_in").await?;
//! browser.open(&stack.app_url()).await?;
//! browser.continue_with_email(ALICE).await?;
//! browser.sign_in_at_identity_provider(ALICE, DEMO_PASSWORD).await?;
//! browser.wait_for_profile().await?;
//! # Ok(()) }
//! ```
//!
//! Settings come from the environment: `POSTGRES_IMAGE` (default `postgres:16-alpine`), `WEB_DIST_DIR`
//! (default `<repo>/frontend/dist`, built by `cargo xtask build-web`), `CHROMEDRIVER` (default
//! `/usr/bin/chromedriver`) and `CHROME` (default `/usr/bin/chromium`). Screenshots land in `e2e/artifacts/`.

mod browser;
mod files;
mod stack;
mod workspace;

pub use browser::{Browser, Page, Profile};
pub use files::FileRow;
pub use stack::{Stack, copy_of_the_web_app};
pub use testkit::repo_dir;
pub use workspace::{AuditRow, DashboardView, MemberRow, Nav};

/// Acme's admin, in Acme's Entra ID directory.
pub const ALICE: &str = testkit::demo::ALICE.email;
/// Globex's admin, in Globex's Okta org.
pub const CAROL: &str = testkit::demo::CAROL.email;
/// Acme's member, in Acme's Entra ID directory (group `SaaS-Users`).
pub const BOB: &str = testkit::demo::BOB.email;
/// Acme's viewer, in Acme's Entra ID directory (no mapped group).
pub const ERIN: &str = testkit::demo::ERIN.email;
/// A Globex Okta user whose email claims an Acme address: she must land in Globex or be refused.
pub const MALLORY: &str = testkit::demo::MALLORY.email;
/// The password of every demo user in the mock identity providers.
pub const DEMO_PASSWORD: &str = testkit::demo::PASSWORD;

/// Sends log output of the stand-ins and the backend to the test output when `RUST_LOG` is set.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
