//! The dashboard's time to interactive in headless Chromium on localhost: from the start of the navigation
//! (Navigation Timing's time origin) to the User Timing mark `dashboard-interactive`, which the app sets once
//! the dashboard's figures are on the page (`frontend/src/pages/dashboard.rs`). Against the goal of 1 s.
//!
//! - First visit: a browser with a fresh profile (nothing cached, no compiled wasm) holding a signed-in
//!   session's cookie opens `/`: the page, the wasm and the JavaScript are downloaded and compiled, the app
//!   asks who is signed in, then for the dashboard.
//! - Return visit: the same browser opens `/` again, its files coming from the cache.
//!
//! It also prints what the first visit downloaded of wasm and JavaScript, as Resource Timing reports it.
//!
//! Run by `cargo xtask bench` (which builds the web app and sets `WEB_DIST_DIR`, `CHROME`, `CHROMEDRIVER`,
//! `POSTGRES_IMAGE` and `TRIGGER_BOOTSTRAP`); `DASHBOARD_ROUNDS` (default 10) sets the rounds of each kind.

use anyhow::{Context as _, bail};
use e2e::{ALICE, Browser, DEMO_PASSWORD, Page, Stack};
use testkit::bench::{Figure, record};

/// The mark the dashboard sets when it is interactive.
const MARK: &str = "dashboard-interactive";
/// The goal: interactive within a second of navigation.
const GOAL_MS: f64 = 1000.0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = match std::env::var("DASHBOARD_ROUNDS") {
        Ok(value) => value.parse().context("DASHBOARD_ROUNDS must be a number")?,
        Err(_) => 10,
    };
    let stack = Stack::start().await?;
    let signed_in = Browser::launch("bench_dashboard").await?;
    signed_in.open(&stack.app_url()).await?;
    if signed_in.wait_for_app().await? != Page::SignIn {
        bail!("a fresh browser should see the sign-in page");
    }
    signed_in.continue_with_email(ALICE).await?;
    signed_in.wait_for_identity_provider().await?;
    signed_in
        .sign_in_at_identity_provider(ALICE, DEMO_PASSWORD)
        .await?;
    signed_in.wait_for_dashboard().await?;

    let mut first = Vec::with_capacity(rounds);
    let mut downloaded = 0;
    for _ in 0..rounds {
        let browser = Browser::launch("bench_dashboard_first_visit").await?;
        // A page of the app's site that loads nothing of the app, to be on the site the cookie is for.
        browser.open(&stack.url("/healthz")).await?;
        browser.take_cookies_of(&signed_in).await?;
        first.push(interactive(&browser, &stack).await?);
        downloaded = browser
            .fetched_resources()
            .await?
            .into_iter()
            .filter(|(name, _)| name.ends_with(".wasm") || name.ends_with(".js"))
            .map(|(_, bytes)| bytes)
            .sum::<u64>();
        browser.close().await?;
    }
    let mut again = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        again.push(interactive(&signed_in, &stack).await?);
    }
    signed_in.close().await?;

    println!("== dashboard interactive (headless Chromium, localhost, {rounds} rounds each) ==");
    let mut figures = Vec::new();
    for (name, label, times) in [
        ("first_visit", "first visit (nothing cached)", &mut first),
        ("return_visit", "return visit (files cached)", &mut again),
    ] {
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let worst = times[times.len() - 1];
        println!(
            "{label}: median {median:.0} ms, slowest {worst:.0} ms (goal {GOAL_MS:.0} ms: {:.2}x)",
            median / GOAL_MS
        );
        figures.push(Figure::against(
            format!("web.dashboard_interactive.{name}.median"),
            median,
            "ms",
            GOAL_MS,
        ));
        figures.push(Figure::new(
            format!("web.dashboard_interactive.{name}.slowest"),
            worst,
            "ms",
        ));
    }
    // As compressed for this browser: Chromium accepts brotli from localhost, so this is the build's brotli
    // count (`cargo xtask bench`, "web app, first load") as a browser receives it.
    println!(
        "first visit downloaded {:.0} kB of wasm and JavaScript (compressed as the browser accepted)",
        downloaded as f64 / 1000.0
    );
    figures.push(Figure::new(
        "web.dashboard_first_visit.downloaded".to_owned(),
        downloaded as f64 / 1000.0,
        "kB",
    ));
    let path = record(&figures)?;
    println!("recorded in {}", path.display());
    Ok(())
}

/// Opens the dashboard in `browser` and returns how long after the navigation started it was interactive.
async fn interactive(browser: &Browser, stack: &Stack) -> anyhow::Result<f64> {
    browser.open(&stack.url("/")).await?;
    browser.wait_for_dashboard().await?;
    browser
        .user_timing_mark(MARK)
        .await?
        .with_context(|| format!("the dashboard set no {MARK:?} mark"))
}
