//! The signed-in workspace: a header with the tenant and the member, and the member's profile card.

use leptos::prelude::*;
use shared::Scope;
use shared::api::Me;

/// The page a signed-in member sees.
#[component]
pub fn AppShell(me: Me) -> impl IntoView {
    view! {
        <div class="shell">
            <Header me=me.clone() />
            <main class="content">
                <h1 class="page-title">"Your profile"</h1>
                <ProfileCard me=me />
            </main>
        </div>
    }
}

/// The top bar: which organisation this workspace belongs to, and who is signed in.
#[component]
fn Header(me: Me) -> impl IntoView {
    let initials = initials(&me.user.name);
    view! {
        <header class="topbar">
            <div class="topbar-tenant">
                <span class="brand-mark" aria-hidden="true">"S"</span>
                <span class="topbar-tenant-name">{me.tenant.name}</span>
                <span class="badge badge-plan" title="Plan">{me.tenant.plan.as_str()}</span>
            </div>
            <div class="topbar-user">
                <span class="avatar" aria-hidden="true">{initials}</span>
                <span class="topbar-user-name">{me.user.name}</span>
                <SignOutButton />
            </div>
        </header>
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
                <dt>"Scopes"</dt>
                <dd>
                    <ScopeList scopes=me.scopes />
                </dd>
            </dl>
        </section>
    }
}

/// The API scopes the session holds, as chips with a description on hover.
#[component]
fn ScopeList(scopes: Vec<Scope>) -> impl IntoView {
    view! {
        <ul id="scopes" class="chips">
            {scopes
                .into_iter()
                .map(|scope| {
                    view! {
                        <li class="chip" title=scope_description(scope)>
                            {scope.as_str()}
                        </li>
                    }
                })
                .collect_view()}
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

/// What a scope lets the session do, for the scope chips' tooltips.
fn scope_description(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "Read the organisation's data",
        Scope::Write => "Create and change the organisation's data",
        Scope::Admin => "Administer the organisation: members and sign-in settings",
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
