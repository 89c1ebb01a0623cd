//! Pages fetched when a member first opens them instead of with the app. The build (`cargo xtask build-web`)
//! splits the wasm at the functions below, with the `wasm_split` tool Leptos uses for its lazy routes: each
//! group of pages becomes a module of its own (code several groups share, a module of its own too), fetched
//! the first time one of its pages is opened. A first visit downloads the sign-in page, the workspace's frame
//! and the dashboard, not the upload code or the administration pages.
//!
//! Leptos' `#[lazy_route]` ends the whole app (a panic, which aborts the wasm) when a module cannot be fetched:
//! the network is down, or a new build has replaced the files the open tab was started from. These split
//! functions are `fallible` instead, and such a page says what happened and offers to reload.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;
use leptos::wasm_split::{SplitLoaderError, wasm_split};
use leptos_router::ChooseView;

use crate::components::set_page_title;
use crate::pages::{
    AuditPage, EditReportPage, FilesPage, InvitationsPage, MemberSessionsPage, MembersPage,
    NewReportPage, ProfilePage, ReportPage, ReportsPage, SignInSettingsPage,
};

/// A page's view once its module is there.
type Loading = Pin<Box<dyn Future<Output = Result<AnyView, SplitLoaderError>>>>;

/// A route's page fetched on demand. The router waits for it, keeping the current page on screen, before it
/// shows the new one.
#[derive(Clone, Copy)]
pub struct OnDemand {
    load: fn() -> Loading,
}

impl ChooseView for OnDemand {
    async fn choose(self) -> AnyView {
        match (self.load)().await {
            Ok(view) => view,
            Err(_) => view! { <PageNotLoaded /> }.into_any(),
        }
    }

    // Fetching starts when the route is chosen; nothing is fetched ahead of that.
    async fn preload(&self) {}
}

/// Shown when a page's module could not be fetched.
#[component]
fn PageNotLoaded() -> impl IntoView {
    set_page_title("Page not loaded");
    let reload = |_| {
        let _ = window().location().reload();
    };
    view! {
        <section id="page-not-loaded" class="card empty-state" role="alert">
            <h1 class="page-title">"This page could not be loaded"</h1>
            <p>
                "The connection may have dropped, or the app was updated since you opened it. Reloading \
                 fetches the current version."
            </p>
            <button id="reload-app" class="button button-primary" type="button" on:click=reload>
                "Reload"
            </button>
        </section>
    }
}

/// `/reports`.
pub const REPORTS: OnDemand = OnDemand {
    load: || Box::pin(reports_page()),
};
/// `/reports/:id`.
pub const REPORT: OnDemand = OnDemand {
    load: || Box::pin(report_page()),
};
/// `/reports/new`.
pub const NEW_REPORT: OnDemand = OnDemand {
    load: || Box::pin(new_report_page()),
};
/// `/reports/:id/edit`.
pub const EDIT_REPORT: OnDemand = OnDemand {
    load: || Box::pin(edit_report_page()),
};
/// `/files`, with the upload code (S3 requests and their signatures).
pub const FILES: OnDemand = OnDemand {
    load: || Box::pin(files_page()),
};
/// `/members`; the administration pages share a module.
pub const MEMBERS: OnDemand = OnDemand {
    load: || Box::pin(members_page()),
};
/// `/members/:id/sessions`.
pub const MEMBER_SESSIONS: OnDemand = OnDemand {
    load: || Box::pin(member_sessions_page()),
};
/// `/invitations`.
pub const INVITATIONS: OnDemand = OnDemand {
    load: || Box::pin(invitations_page()),
};
/// `/settings`.
pub const SIGN_IN_SETTINGS: OnDemand = OnDemand {
    load: || Box::pin(sign_in_settings_page()),
};
/// `/audit`.
pub const AUDIT: OnDemand = OnDemand {
    load: || Box::pin(audit_page()),
};
/// `/profile`: the member's own profile and sessions.
pub const PROFILE: OnDemand = OnDemand {
    load: || Box::pin(profile_page()),
};

// The split points: each function below is called through the module named first in its attribute, which is
// fetched on the first call. Pages of one name share a module: code several modules use goes into a module of
// its own for each combination of them, so a few large groups mean a few requests per page.

#[wasm_split(reports, fallible, wasm_split_path = ::leptos::wasm_split)]
fn reports_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <ReportsPage /> }.into_any())
}

#[wasm_split(reports, fallible, wasm_split_path = ::leptos::wasm_split)]
fn report_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <ReportPage /> }.into_any())
}

#[wasm_split(reports, fallible, wasm_split_path = ::leptos::wasm_split)]
fn new_report_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <NewReportPage /> }.into_any())
}

#[wasm_split(reports, fallible, wasm_split_path = ::leptos::wasm_split)]
fn edit_report_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <EditReportPage /> }.into_any())
}

#[wasm_split(files, fallible, wasm_split_path = ::leptos::wasm_split)]
fn files_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <FilesPage /> }.into_any())
}

#[wasm_split(admin, fallible, wasm_split_path = ::leptos::wasm_split)]
fn members_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <MembersPage /> }.into_any())
}

#[wasm_split(admin, fallible, wasm_split_path = ::leptos::wasm_split)]
fn member_sessions_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <MemberSessionsPage /> }.into_any())
}

#[wasm_split(admin, fallible, wasm_split_path = ::leptos::wasm_split)]
fn invitations_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <InvitationsPage /> }.into_any())
}

#[wasm_split(admin, fallible, wasm_split_path = ::leptos::wasm_split)]
fn sign_in_settings_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <SignInSettingsPage /> }.into_any())
}

#[wasm_split(admin, fallible, wasm_split_path = ::leptos::wasm_split)]
fn audit_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <AuditPage /> }.into_any())
}

#[wasm_split(profile, fallible, wasm_split_path = ::leptos::wasm_split)]
fn profile_page() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <ProfilePage /> }.into_any())
}
