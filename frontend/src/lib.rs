//! The web app: a Leptos client-side app that shows the sign-in page or the signed-in member's workspace, and
//! at `/operator` the platform operators' console (`console.rs`), and at `/setup` the single sign-on set-up
//! wizard a customer's IT admin opens from a set-up link (`setup.rs`).
//!
//! The backend serves this crate's wasm build at `/` (and at every other non-API path, so the workspace's
//! own paths survive a reload). The app never sees a token: it asks `GET /api/v1/me` (the session cookie
//! travels with the request) and renders what the answer says; the workspace's pages call the JSON API the
//! same way (`api.rs`) and offer only the controls the session's scopes allow (`access.rs`). Files go from
//! the browser straight to storage with short-lived credentials the API hands out (`upload.rs`). The upload rules (object keys, URLs, signatures) are
//! public so that tests outside the crate run them against the S3 stand-in and the backend.

mod access;
mod api;
mod app;
mod components;
mod console;
mod domains;
mod downloads;
mod drafts;
mod format;
mod on_demand;
mod pages;
mod paging;
mod session;
mod setup;
mod shell;
mod sign_in;
mod status;
mod time;
pub mod upload;

use wasm_bindgen::prelude::wasm_bindgen;

pub use app::App;
pub use session::{Problem, Session, load_session, session_from_response};
pub use sign_in::sign_in_error_message;

/// Mounts the app on the page's `<body>`; runs when `index.html` calls the module's `init()`. The static
/// loading state `index.html` shows until then gives way to the app's own.
#[wasm_bindgen(start)]
pub fn start() {
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
    let path = leptos::prelude::window()
        .location()
        .pathname()
        .unwrap_or_default();
    if console::is_console_path(&path) {
        leptos::mount::mount_to_body(console::ConsoleApp);
    } else if setup::is_setup_path(&path) {
        leptos::mount::mount_to_body(setup::SetupApp);
    } else {
        leptos::mount::mount_to_body(App);
    }
}
