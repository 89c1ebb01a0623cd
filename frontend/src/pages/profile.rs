//! The profile page: everything the session says about the signed-in member, and their browser sessions.

use leptos::prelude::*;
use shared::Scope;
use shared::api::Me;

use super::sessions::MySessions;
use crate::access::use_me;
use crate::components::PageHeader;

/// `/profile`.
#[component]
pub fn ProfilePage() -> impl IntoView {
    view! {
        <PageHeader title="Your profile" />
        <ProfileCard me=use_me() />
        <MySessions />
    }
}

/// Everything the session says about the member, one labelled line each.
#[component]
fn ProfileCard(me: Me) -> impl IntoView {
    view! {
        <section class="card profile-card" aria-label="Profile">
            <dl class="facts">
                <dt>"Name"</dt>
                <dd id="user-name">{me.user.name}</dd>
                <dt>"Email"</dt>
                <dd id="user-email">{me.user.email}</dd>
                <dt>"Organisation"</dt>
                <dd id="tenant-name">{me.tenant.name}</dd>
                <dt>"Plan"</dt>
                <dd>
                    <span id="tenant-plan" class="badge badge-plan">{me.tenant.plan.as_str()}</span>
                </dd>
                <dt>"Role"</dt>
                <dd>
                    <span id="role" class="badge badge-role">{me.role.as_str()}</span>
                </dd>
                <dt>"What you can do"</dt>
                <dd>
                    <ScopeList scopes=me.scopes />
                </dd>
            </dl>
        </section>
    }
}

/// What the session's API scopes let the member do, one line each (the scope's name on hover and in
/// `data-scope`, for API users).
#[component]
fn ScopeList(scopes: Vec<Scope>) -> impl IntoView {
    view! {
        <ul id="scopes" class="abilities">
            {scopes
                .into_iter()
                .map(|scope| {
                    view! {
                        <li class="ability" data-scope=scope.as_str() title=format!("API scope: {}", scope.as_str())>
                            {scope_description(scope)}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// What a scope lets the session do, for the scope chips' tooltips.
fn scope_description(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "See the organisation's reports and files, and download them",
        Scope::Write => "Write reports and upload files, and change or delete your own",
        Scope::Admin => {
            "Manage members, invitations and sign-in settings, read the audit log, and change or delete \
             anyone's reports and files"
        }
    }
}
