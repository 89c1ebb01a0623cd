//! The operators' console at `/operator`: a separate app in the same build, for the platform's own staff.
//!
//! It has its own session (the backend's console session, from the operators' user pool), its own sign-in
//! (`/operator/auth/login`, the operators' pool's managed login with password and authenticator code) and its
//! own pages: the tenants (search, create, one tenant's plan, suspension, export and deletion) and the
//! platform audit log. It asks `GET /operator/api/v1/me` who is signed in; a member's session is no
//! operator's, so a member who opens `/operator` sees this sign-in page.

mod audit;
mod tenant;
mod tenants;

use gloo_net::http::Request;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;
use shared::api::OperatorMe;

use crate::api::{Api, provide_api_client};
use crate::components::{NoticeBar, provide_notices, set_page_title};
use crate::pages::NotFoundPage;
use crate::session::{Problem, Session, problem_from_error};
use crate::sign_in::sign_in_error_message;
use crate::status::LoadingScreen;

/// Where the console lives.
pub const CONSOLE_PATH: &str = "/operator";
/// `GET /operator/api/v1/me`.
const ME: &str = "/operator/api/v1/me";
/// `GET|POST /operator/api/v1/tenants`.
pub const TENANTS: &str = "/operator/api/v1/tenants";
/// `GET /operator/api/v1/audit`.
pub const AUDIT: &str = "/operator/api/v1/audit";

/// Whether `path` is the console's.
pub fn is_console_path(path: &str) -> bool {
    path == CONSOLE_PATH || path.starts_with("/operator/")
}

/// What the console knows about the visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Console {
    Loading,
    /// No operator is signed in; `expired` when the session ended while the console was open.
    SignedOut {
        expired: bool,
    },
    SignedIn(OperatorMe),
    Unavailable(Problem),
}

/// The console app.
#[component]
pub fn ConsoleApp() -> impl IntoView {
    let state = RwSignal::new(Console::Loading);
    // An API answer that ends the session (401) shows the sign-in page again.
    provide_api_client(Api::reporting_to(Callback::new(move |ended| {
        state.set(match ended {
            Session::Unavailable(problem) => Console::Unavailable(problem),
            _ => Console::SignedOut { expired: true },
        });
    })));
    load(state);
    move || {
        match state.get() {
        Console::Loading => view! { <LoadingScreen /> }.into_any(),
        Console::SignedOut { expired } => view! { <ConsoleSignIn expired=expired /> }.into_any(),
        Console::SignedIn(me) => view! { <ConsoleShell me=me /> }.into_any(),
        Console::Unavailable(problem) => {
            view! { <ConsoleProblem problem=problem on_retry=Callback::new(move |()| load(state)) /> }
                .into_any()
        }
    }
    }
}

/// Asks the backend who is signed in to the console.
fn load(state: RwSignal<Console>) {
    state.set(Console::Loading);
    spawn_local(async move {
        let answer = Request::get(ME)
            .header("Accept", "application/json")
            .send()
            .await;
        let loaded = match answer {
            Err(_) => Console::Unavailable(Problem::unreachable()),
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                match status {
                    200 => serde_json::from_str::<OperatorMe>(&body).map_or_else(
                        |_| Console::Unavailable(problem_from_error(500, "")),
                        Console::SignedIn,
                    ),
                    401 => Console::SignedOut { expired: false },
                    _ => Console::Unavailable(problem_from_error(status, &body)),
                }
            }
        };
        state.set(loaded);
    });
}

/// The console's sign-in page: one button to the operators' own sign-in, and what went wrong last time.
#[component]
fn ConsoleSignIn(expired: bool) -> impl IntoView {
    set_page_title("Operator sign-in");
    let location = window().location();
    let error = location
        .search()
        .ok()
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("error"))
        .map(|code| sign_in_error_message(&code));
    // Back to the console page the operator opened (the backend accepts only console paths).
    let path = location.pathname().unwrap_or_default();
    let href = if is_console_path(&path) && path != CONSOLE_PATH {
        format!(
            "/operator/auth/login?return_to={}",
            js_sys::encode_uri_component(&path)
        )
    } else {
        "/operator/auth/login".to_owned()
    };
    view! {
        <main class="sign-in" id="main">
            <section class="card sign-in-card" aria-labelledby="console-sign-in-title">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true">"S"</span>
                    <span class="brand-name">"SaaS Reference · Operators"</span>
                </div>
                <h1 id="console-sign-in-title">"Operator console"</h1>
                <p class="lead">
                    "For the platform's operators. Sign in with your operator account: your email, your "
                    "password and a code from your authenticator app."
                </p>
                {expired
                    .then(|| {
                        view! {
                            <div id="session-ended" class="banner banner-info" role="status">
                                "Your console session ended. Sign in again to continue."
                            </div>
                        }
                    })}
                {error
                    .map(|message| {
                        view! {
                            <div id="sign-in-error" class="banner banner-error" role="alert">
                                {message}
                            </div>
                        }
                    })}
                <a id="operator-sign-in" class="button button-primary button-block" href=href>
                    "Sign in as an operator"
                </a>
            </section>
        </main>
    }
}

/// Why the console cannot be shown.
#[component]
fn ConsoleProblem(problem: Problem, on_retry: Callback<()>) -> impl IntoView {
    set_page_title("Operator console");
    view! {
        <main class="centered">
            <section id="load-error" class="card problem-card" role="alert">
                <h1>"We can't show the console"</h1>
                <p id="problem-message">{problem.message}</p>
                <div class="actions">
                    <button
                        id="retry"
                        class="button button-primary"
                        type="button"
                        on:click=move |_| on_retry.run(())
                    >
                        "Try again"
                    </button>
                </div>
            </section>
        </main>
    }
}

/// The signed-in console: top bar, navigation, and the page the address names.
#[component]
fn ConsoleShell(me: OperatorMe) -> impl IntoView {
    provide_notices();
    let who = me.email.clone().unwrap_or(me.id);
    view! {
        <Router>
            <div id="console" class="shell">
                <header class="topbar">
                    <A href=CONSOLE_PATH attr:class="topbar-tenant" attr:id="console-home">
                        <span class="brand-mark" aria-hidden="true">"S"</span>
                        <span class="topbar-tenant-name">"Operator console"</span>
                    </A>
                    <div class="topbar-user">
                        <span id="operator-email" class="topbar-user-name">{who}</span>
                        <form class="sign-out" method="post" action="/operator/auth/logout">
                            <button id="operator-sign-out" class="button button-secondary" type="submit">
                                "Sign out"
                            </button>
                        </form>
                    </div>
                </header>
                <div class="workspace">
                    <nav class="sidenav" aria-label="Console">
                        <ul class="nav-list">
                            <li>
                                <A href=CONSOLE_PATH exact=true attr:id="nav-tenants" attr:class="nav-link">
                                    "Tenants"
                                </A>
                            </li>
                            <li>
                                <A href="/operator/audit" attr:id="nav-platform-audit" attr:class="nav-link">
                                    "Audit log"
                                </A>
                            </li>
                        </ul>
                    </nav>
                    <main class="content" id="main" tabindex="-1">
                        <NoticeBar />
                        <Routes fallback=NotFoundPage>
                            <Route path=path!("/operator") view=tenants::TenantsPage />
                            <Route path=path!("/operator/tenants/:id") view=tenant::TenantPage />
                            <Route path=path!("/operator/audit") view=audit::PlatformAuditPage />
                        </Routes>
                    </main>
                </div>
            </div>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_operator_paths_are_the_consoles() {
        for path in [
            "/operator",
            "/operator/",
            "/operator/tenants/x",
            "/operator/audit",
        ] {
            assert!(is_console_path(path), "{path}");
        }
        for path in ["/", "/operators", "/operatorx", "/reports", "/audit"] {
            assert!(!is_console_path(path), "{path}");
        }
    }
}
