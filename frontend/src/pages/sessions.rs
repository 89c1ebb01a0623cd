//! Browser sessions: the member's own on the profile page (this device marked, sign out another one, sign
//! out everywhere), and any member's for admins at `/members/:id/sessions` (end one, end all). The server
//! ends a session at once: that browser's next request finds itself signed out.

use std::future::Future;

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_params_map};
use shared::ErrorCode;
use shared::api::{SessionInfo, SessionList, SessionsEnded};

use crate::api::{MEMBERS, MY_SESSIONS, item_path, use_api};
use crate::components::{
    ActionTableHead, AdminOnly, ConfirmDialog, Confirmation, ErrorSlot, Loading, Notices,
    ProblemAlert, Timestamp, set_page_title, use_notices,
};
use crate::session::Problem;

/// Whose sessions a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// The signed-in member's own.
    Me,
    /// A member's, for an admin (the member id).
    Member(String),
}

impl Owner {
    /// The list's path, or `None` for a member id this API never hands out.
    fn list_path(&self) -> Option<String> {
        match self {
            Owner::Me => Some(MY_SESSIONS.to_owned()),
            Owner::Member(id) => item_path(MEMBERS, id).map(|member| format!("{member}/sessions")),
        }
    }

    /// The path of one session of the list.
    fn session_path(&self, session: &str) -> Option<String> {
        item_path(&self.list_path()?, session)
    }
}

/// Where a list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loaded {
    Loading,
    Ready(SessionList),
    Failed(Problem),
}

/// What a list's actions share: where a refusal is said, the page's notice, and loading the list again.
#[derive(Debug, Clone, Copy)]
struct ListActions {
    error: RwSignal<Option<Problem>>,
    reload: Callback<()>,
    notices: Notices,
    page: Memo<String>,
}

impl ListActions {
    /// Sends `request` with `busy` set and the last refusal cleared. A refusal is said above the list; a
    /// success goes to `done`, and the notice it returns (if any) is shown on this page as the list reloads.
    fn run<T: 'static>(
        self,
        busy: RwSignal<bool>,
        request: impl Future<Output = Result<T, Problem>> + 'static,
        done: impl FnOnce(T) -> Option<String> + 'static,
    ) {
        busy.set(true);
        self.error.set(None);
        spawn_local(async move {
            match request.await {
                Ok(answer) => {
                    if let Some(text) = done(answer) {
                        busy.set(false);
                        self.notices.show(self.page.get_untracked(), text);
                        self.reload.run(());
                    }
                }
                Err(problem) => {
                    busy.set(false);
                    self.error.set(Some(problem));
                }
            }
        });
    }
}

/// The profile page's "Your sessions" card.
#[component]
pub fn MySessions() -> impl IntoView {
    view! { <SessionsCard owner=Owner::Me /> }
}

/// `/members/:id/sessions` (admins).
#[component]
pub fn MemberSessionsPage() -> impl IntoView {
    view! {
        <AdminOnly title="Sessions">
            <MemberSessions />
        </AdminOnly>
    }
}

/// An admin's view of one member's sessions.
#[component]
fn MemberSessions() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("id").unwrap_or_default();
    set_page_title("Sessions");
    view! {
        <div class="back-link">
            <A href="/members">"← Members"</A>
        </div>
        <SessionsCard owner=Owner::Member(id) />
    }
}

/// A member's sessions with the ways to end them, and the heading that says whose they are.
#[component]
fn SessionsCard(owner: Owner) -> impl IntoView {
    let api = use_api();
    let loaded = RwSignal::new(Loaded::Loading);
    let error = RwSignal::new(None::<Problem>);
    let list_path = owner.list_path();
    let reload = Callback::new(move |()| {
        let Some(path) = list_path.clone() else {
            loaded.set(Loaded::Failed(no_such_member()));
            return;
        };
        spawn_local(async move {
            let list = api.get::<SessionList>(path).await;
            loaded.set(match list {
                Ok(list) => Loaded::Ready(list),
                Err(problem) if problem.code == Some(ErrorCode::NotFound) => {
                    Loaded::Failed(no_such_member())
                }
                Err(problem) => Loaded::Failed(problem),
            });
        });
    });
    reload.run(());
    let own = owner == Owner::Me;
    let actions = ListActions {
        error,
        reload,
        notices: use_notices(),
        page: use_location().pathname,
    };

    view! {
        <section id="sessions" class="card sessions-card" aria-labelledby="sessions-title">
            {move || match loaded.get() {
                Loaded::Loading => view! { <Loading label="Loading sessions…" /> }.into_any(),
                Loaded::Failed(problem) => {
                    view! { <ProblemAlert problem=problem id="sessions-error" on_retry=reload /> }.into_any()
                }
                Loaded::Ready(list) => {
                    view! {
                        <SessionsHeader list=list.clone() owner=owner.clone() actions=actions />
                        <ErrorSlot id="session-action-error" error=error />
                        <SessionTable list=list owner=owner.clone() actions=actions />
                    }
                        .into_any()
                }
            }}
            {own.then(|| view! { <p class="muted sessions-note">{OWN_NOTE}</p> })}
        </section>
    }
}

/// What the profile says about sessions and tokens.
const OWN_NOTE: &str = "Signing a session out ends it at once: that browser's next step shows the sign-in \
                        page. Sessions also end on their own after a while without use.";

/// The answer for a member id that names nobody in the organisation.
fn no_such_member() -> Problem {
    Problem {
        code: Some(ErrorCode::NotFound),
        message: "This member does not exist in your organisation.".to_owned(),
    }
}

/// The card's heading (the page's own on an admin's page), and the button that ends every session (after a
/// confirmation).
#[component]
fn SessionsHeader(list: SessionList, owner: Owner, actions: ListActions) -> impl IntoView {
    let api = use_api();
    let busy = RwSignal::new(false);
    let asked = RwSignal::new(None::<Confirmation>);
    let sign_out_form = NodeRef::<html::Form>::new();
    let own = owner == Owner::Me;
    let name = list.member.name.clone();
    if !own {
        set_page_title(&format!("Sessions of {name}"));
    }
    let (title, question, button_id, button_label) = if own {
        (
            "Your sessions".to_owned(),
            Confirmation {
                title: "Sign out everywhere?".to_owned(),
                message:
                    "Every browser signed in as you is signed out at once, this one included, and \
                          API tokens of your sign-ins stop working."
                        .to_owned(),
                confirm: "Sign out everywhere",
                danger: true,
            },
            "sign-out-everywhere",
            "Sign out everywhere",
        )
    } else {
        (
            format!("Sessions of {name}"),
            Confirmation {
                title: format!("End all sessions of {name}?"),
                message: format!(
                    "{name} is signed out at once in every browser. They can sign in again unless you \
                     also deactivate them."
                ),
                confirm: "End all sessions",
                danger: true,
            },
            "end-all-sessions",
            "End all sessions",
        )
    };
    let path = owner.list_path();
    let end_all = Callback::new(move |()| {
        let Some(path) = path.clone() else {
            return;
        };
        let name = name.clone();
        let request = api.delete_json::<SessionsEnded>(path);
        actions.run(busy, request, move |ended| {
            if own {
                // This browser's session is gone too; the ordinary sign-out also ends the user pool's own
                // session here, so the next sign-in asks who is signing in.
                if let Some(form) = sign_out_form.get_untracked() {
                    let _ = form.submit();
                }
                return None;
            }
            Some(format!(
                "{} of {name} ended: they are signed out at once.",
                sessions_count(ended.ended)
            ))
        });
    });
    let nothing_to_end = !own && list.sessions.is_empty();
    view! {
        <div class="card-header">
            {if own {
                view! { <h2 id="sessions-title" class="card-title">{title}</h2> }.into_any()
            } else {
                view! { <h1 id="sessions-title" class="page-title">{title}</h1> }.into_any()
            }}
            <button
                id=button_id
                class="button button-danger-outline button-small"
                type="button"
                disabled=move || busy.get() || nothing_to_end
                on:click=move |_| asked.set(Some(question.clone()))
            >
                {button_label}
            </button>
            <ConfirmDialog request=asked on_confirm=end_all />
            {own
                .then(|| {
                    view! {
                        <form node_ref=sign_out_form method="post" action="/auth/logout" hidden=true></form>
                    }
                })}
        </div>
        {(!own)
            .then(|| {
                view! {
                    <p class="lead">
                        <span id="session-owner-email">{list.member.email.clone()}</span>
                        ": the browsers signed in as this member, most recently used first."
                    </p>
                }
            })}
    }
}

/// The sessions, one row each.
#[component]
fn SessionTable(list: SessionList, owner: Owner, actions: ListActions) -> impl IntoView {
    if list.sessions.is_empty() {
        return view! {
            <p id="no-sessions" class="empty-note">
                "No browser is signed in as this member."
            </p>
        }
        .into_any();
    }
    let name = list.member.name.clone();
    view! {
        <div class="table-scroll">
            <table id="session-table" class="table">
                <ActionTableHead columns=&["Device", "Address", "Signed in", "Last seen"] />
                <tbody>
                    {list
                        .sessions
                        .into_iter()
                        .map(|session| {
                            view! {
                                <SessionRow
                                    session=session
                                    owner=owner.clone()
                                    name=name.clone()
                                    actions=actions
                                />
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// One session: the device (the full `User-Agent` on hover), address, times, and a way to end it unless it
/// is the session showing the page (the top bar's "Sign out" is for that).
#[component]
fn SessionRow(
    session: SessionInfo,
    owner: Owner,
    name: String,
    actions: ListActions,
) -> impl IntoView {
    let api = use_api();
    let busy = RwSignal::new(false);
    let own = owner == Owner::Me;
    let path = owner.session_path(&session.id);
    let device = session.device.clone();
    let end = move |_| {
        let Some(path) = path.clone() else {
            return;
        };
        let text = if own {
            format!("Signed out {device}.")
        } else {
            format!("{name}'s session on {device} ended: it is signed out at once.")
        };
        actions.run(busy, api.delete(path), move |()| Some(text));
    };
    let label = if own { "Sign out" } else { "End session" };
    view! {
        <tr class="session-row" data-session-id=session.id.clone() data-current=session.current.to_string()>
            <td class="session-device">
                <span title=session.user_agent.clone()>{session.device.clone()}</span>
                {session
                    .current
                    .then(|| view! { <span class="badge badge-active this-device">"This device"</span> })}
            </td>
            <td class="session-address">
                {match session.address.clone() {
                    Some(address) => view! { <span>{address}</span> }.into_any(),
                    None => view! { <span class="muted">"Unknown"</span> }.into_any(),
                }}
            </td>
            <td>
                <Timestamp at=session.signed_in_at.clone() />
            </td>
            <td class="session-last-seen">
                <Timestamp at=session.last_seen_at.clone() />
            </td>
            <td class="row-actions">
                {(!session.current)
                    .then(|| {
                        view! {
                            <button
                                class="button button-secondary button-small end-session"
                                type="button"
                                aria-label=format!("{label}: {}", session.device)
                                disabled=move || busy.get()
                                on:click=end.clone()
                            >
                                {label}
                            </button>
                        }
                    })}
            </td>
        </tr>
    }
}

/// "1 session", "3 sessions".
fn sessions_count(count: u32) -> String {
    if count == 1 {
        "1 session".to_owned()
    } else {
        format!("{count} sessions")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_paths_take_only_ids() {
        assert_eq!(
            Owner::Me.list_path().as_deref(),
            Some("/api/v1/me/sessions")
        );
        assert_eq!(
            Owner::Me.session_path("3f2a-9").as_deref(),
            Some("/api/v1/me/sessions/3f2a-9")
        );
        let bob = Owner::Member("b0b".to_owned());
        assert_eq!(
            bob.list_path().as_deref(),
            Some("/api/v1/members/b0b/sessions")
        );
        assert_eq!(
            bob.session_path("5e5").as_deref(),
            Some("/api/v1/members/b0b/sessions/5e5")
        );
        assert_eq!(Owner::Member("..".to_owned()).list_path(), None);
        assert_eq!(bob.session_path("../../reports"), None);
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(sessions_count(1), "1 session");
        assert_eq!(sessions_count(0), "0 sessions");
        assert_eq!(sessions_count(3), "3 sessions");
    }
}
