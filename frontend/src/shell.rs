//! The signed-in workspace: the top bar (organisation, member, sign-out), the navigation and the page the
//! address names.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;
use shared::api::Me;
use wasm_bindgen::JsCast as _;

use crate::access::{is_admin, provide_me};
use crate::components::{NoticeBar, provide_notices};
use crate::on_demand;
use crate::pages::{DashboardPage, NotFoundPage};
use crate::upload::provide_uploader;

/// The workspace a signed-in member sees.
#[component]
pub fn AppShell(me: Me) -> impl IntoView {
    provide_me(me.clone());
    provide_notices();
    provide_uploader();
    view! {
        <Router>
            <div id="workspace" class="shell">
                <SkipLink />
                <Header me=me.clone() />
                <div class="workspace">
                    <Navigation admin=is_admin(&me) />
                    <main class="content" id="main" tabindex="-1">
                        <NoticeBar />
                        <Routes fallback=NotFoundPage>
                            <Route path=path!("/") view=DashboardPage />
                            <Route path=path!("/reports") view=on_demand::REPORTS />
                            <Route path=path!("/reports/new") view=on_demand::NEW_REPORT />
                            <Route path=path!("/reports/:id") view=on_demand::REPORT />
                            <Route path=path!("/reports/:id/edit") view=on_demand::EDIT_REPORT />
                            <Route path=path!("/files") view=on_demand::FILES />
                            <Route path=path!("/members") view=on_demand::MEMBERS />
                            <Route path=path!("/members/:id/sessions") view=on_demand::MEMBER_SESSIONS />
                            <Route path=path!("/invitations") view=on_demand::INVITATIONS />
                            <Route path=path!("/settings") view=on_demand::SIGN_IN_SETTINGS />
                            <Route path=path!("/audit") view=on_demand::AUDIT />
                            <Route path=path!("/profile") view=on_demand::PROFILE />
                        </Routes>
                    </main>
                </div>
            </div>
        </Router>
    }
}

/// "Skip to content": the keyboard's first stop, which moves the focus past the top bar and the navigation
/// to the page itself. The focus is moved by hand: the router would treat `#main` as a navigation.
#[component]
fn SkipLink() -> impl IntoView {
    let skip = |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        if let Some(main) = document().get_element_by_id("main")
            && let Ok(main) = main.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = main.focus();
        }
    };
    view! {
        <a id="skip-link" class="skip-link" href="#main" on:click=skip>
            "Skip to content"
        </a>
    }
}

/// The top bar: which organisation this workspace belongs to, and who is signed in (their name opens
/// their profile).
#[component]
fn Header(me: Me) -> impl IntoView {
    let initials = initials(&me.user.name);
    view! {
        <header class="topbar">
            <A href="/" attr:class="topbar-tenant" attr:id="home-link">
                <span class="brand-mark" aria-hidden="true">"S"</span>
                <span class="topbar-tenant-name">{me.tenant.name}</span>
                <span class="badge badge-plan" title="Plan">{me.tenant.plan.as_str()}</span>
            </A>
            <div class="topbar-user">
                <A href="/profile" attr:class="topbar-profile" attr:id="profile-link" attr:title="Your profile">
                    <span class="avatar" aria-hidden="true">{initials}</span>
                    <span class="topbar-user-name">{me.user.name}</span>
                </A>
                <SignOutButton />
            </div>
        </header>
    }
}

/// The pages of the workspace; the administration pages only for admins.
#[component]
fn Navigation(admin: bool) -> impl IntoView {
    view! {
        <nav class="sidenav" aria-label="Workspace">
            <ul class="nav-list">
                <li>
                    <A href="/" exact=true attr:id="nav-dashboard" attr:class="nav-link">
                        "Dashboard"
                    </A>
                </li>
                <li>
                    <A href="/reports" attr:id="nav-reports" attr:class="nav-link">
                        "Reports"
                    </A>
                </li>
                <li>
                    <A href="/files" attr:id="nav-files" attr:class="nav-link">
                        "Files"
                    </A>
                </li>
            </ul>
            {admin.then(|| view! { <AdminNavigation /> })}
        </nav>
    }
}

/// The administration pages.
#[component]
fn AdminNavigation() -> impl IntoView {
    view! {
        <p class="nav-heading" id="nav-admin-heading">"Administration"</p>
        <ul class="nav-list" id="nav-admin" aria-labelledby="nav-admin-heading">
            <li>
                <A href="/members" attr:id="nav-members" attr:class="nav-link">
                    "Members"
                </A>
            </li>
            <li>
                <A href="/invitations" attr:id="nav-invitations" attr:class="nav-link">
                    "Invitations"
                </A>
            </li>
            <li>
                <A href="/settings" attr:id="nav-settings" attr:class="nav-link">
                    "Sign-in settings"
                </A>
            </li>
            <li>
                <A href="/audit" attr:id="nav-audit" attr:class="nav-link">
                    "Audit log"
                </A>
            </li>
        </ul>
    }
}

/// Ends the session on the server. A plain POST form: the server revokes the session and redirects.
#[component]
pub fn SignOutButton() -> impl IntoView {
    view! {
        <form class="sign-out" method="post" action="/auth/logout">
            <button id="sign-out" class="button button-secondary" type="submit">
                "Sign out"
            </button>
        </form>
    }
}

/// Up to two initials for the avatar: "Alice Anderson" → "AA", "carol" → "C".
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_the_first_two_words() {
        assert_eq!(initials("Alice Anderson"), "AA");
        assert_eq!(initials("carol"), "C");
        assert_eq!(initials("  Mallory  Q. Moss "), "MQ");
        assert_eq!(initials(""), "");
    }
}
