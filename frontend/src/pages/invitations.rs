//! The invitations page (admins): invite a person by email with the role they get on joining, see the
//! pending invitations and withdraw one. An invited person joins at their first sign-in through the
//! organisation's identity provider, even when just-in-time joining is off.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Role;
use shared::api::{Invitation, InvitationList, NewInvitation};

use crate::api::{INVITATIONS, item_path, use_api};
use crate::components::{
    ActionTableHead, AdminOnly, ErrorSlot, Loading, PageHeader, ProblemAlert, RoleBadge,
    SubmitButton, Timestamp,
};
use crate::session::Problem;

/// `/invitations`.
#[component]
pub fn InvitationsPage() -> impl IntoView {
    view! {
        <AdminOnly title="Invitations">
            <InvitationsAdmin />
        </AdminOnly>
    }
}

/// Where the list of pending invitations stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Loading,
    Loaded(Vec<Invitation>),
    Failed(Problem),
}

/// The invite form and the pending invitations.
#[component]
fn InvitationsAdmin() -> impl IntoView {
    let api = use_api();
    let pending = RwSignal::new(Pending::Loading);
    let list_error = RwSignal::new(None::<Problem>);
    let reload = Callback::new(move |()| {
        pending.set(Pending::Loading);
        spawn_local(async move {
            let loaded = api.get::<InvitationList>(INVITATIONS.to_owned()).await;
            pending.set(match loaded {
                Ok(list) => Pending::Loaded(list.items),
                Err(problem) => Pending::Failed(problem),
            });
        });
    });
    reload.run(());

    let on_invited = Callback::new(move |invitation: Invitation| {
        pending.update(|pending| {
            if let Pending::Loaded(items) = pending {
                items.insert(0, invitation);
            }
        });
    });
    let on_withdrawn = Callback::new(move |id: String| {
        pending.update(|pending| {
            if let Pending::Loaded(items) = pending {
                items.retain(|invitation| invitation.id != id);
            }
        });
    });

    view! {
        <PageHeader title="Invitations" />
        <InviteForm on_invited=on_invited />
        <section class="card table-card" aria-labelledby="pending-title">
            <h2 id="pending-title" class="card-title">"Pending invitations"</h2>
            <ErrorSlot id="withdraw-error" error=list_error />
            {move || match pending.get() {
                Pending::Loading => view! { <Loading label="Loading invitations…" /> }.into_any(),
                Pending::Failed(problem) => {
                    view! { <ProblemAlert problem=problem id="invitations-error" on_retry=reload /> }
                        .into_any()
                }
                Pending::Loaded(items) if items.is_empty() => {
                    view! { <p id="no-invitations" class="muted">"No pending invitations."</p> }
                        .into_any()
                }
                Pending::Loaded(items) => {
                    view! {
                        <InvitationTable
                            items=items
                            on_withdrawn=on_withdrawn
                            error=list_error
                        />
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The email and role of a new invitation.
#[component]
fn InviteForm(on_invited: Callback<Invitation>) -> impl IntoView {
    let api = use_api();
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Member);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(None::<String>);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let invitation = NewInvitation {
            email: email.get_untracked().trim().to_owned(),
            role: role.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            match api
                .post::<_, Invitation>(INVITATIONS.to_owned(), &invitation)
                .await
            {
                Ok(created) => {
                    done.set(Some(format!(
                        "{} is invited as {}. They join at their first sign-in.",
                        created.email,
                        created.role.as_str()
                    )));
                    email.set(String::new());
                    on_invited.run(created);
                }
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };

    view! {
        <form id="invite-form" class="card form form-inline" on:submit=on_submit>
            <h2 class="card-title">"Invite someone"</h2>
            <ErrorSlot id="invitation-error" error=error />
            {move || {
                done.get()
                    .map(|text| {
                        view! {
                            <div id="invitation-sent" class="banner banner-success" role="status">
                                {text}
                            </div>
                        }
                    })
            }}
            <div class="form-row">
                <div class="field field-grow">
                    <label for="invite-email">"Work email"</label>
                    <input
                        id="invite-email"
                        name="email"
                        type="email"
                        required=true
                        autocomplete="off"
                        placeholder="name@company.example"
                        prop:value=move || email.get()
                        on:input=move |event| email.set(event_target_value(&event))
                    />
                </div>
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select
                        id="invite-role"
                        name="role"
                        on:change=move |event| {
                            if let Ok(picked) = event_target_value(&event).parse::<Role>() {
                                role.set(picked);
                            }
                        }
                    >
                        {Role::ALL
                            .into_iter()
                            .map(|option| {
                                view! {
                                    <option value=option.as_str() selected=option == Role::Member>
                                        {option.as_str()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <SubmitButton id="send-invitation" busy=busy label="Invite" busy_label="Inviting…" />
            </div>
        </form>
    }
}

/// The pending invitations, each with Withdraw.
#[component]
fn InvitationTable(
    items: Vec<Invitation>,
    on_withdrawn: Callback<String>,
    error: RwSignal<Option<Problem>>,
) -> impl IntoView {
    view! {
        <table id="invitation-table" class="table">
            <ActionTableHead columns=&["Email", "Role", "Invited by", "Sent", "Expires"] />
            <tbody>
                {items
                    .into_iter()
                    .map(|invitation| {
                        view! {
                            <InvitationRow invitation=invitation on_withdrawn=on_withdrawn error=error />
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// One pending invitation.
#[component]
fn InvitationRow(
    invitation: Invitation,
    on_withdrawn: Callback<String>,
    error: RwSignal<Option<Problem>>,
) -> impl IntoView {
    let api = use_api();
    let busy = RwSignal::new(false);
    let id = invitation.id.clone();
    let withdraw = move |_| {
        let Some(path) = item_path(INVITATIONS, &id) else {
            return;
        };
        let id = id.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.delete(path).await {
                Ok(()) => on_withdrawn.run(id),
                Err(problem) => {
                    busy.set(false);
                    error.set(Some(problem));
                }
            }
        });
    };
    view! {
        <tr class="invitation-row" data-invitation-email=invitation.email.clone()>
            <td class="invitation-email">{invitation.email.clone()}</td>
            <td>
                <RoleBadge role=invitation.role />
            </td>
            <td>{invitation.invited_by.name.clone()}</td>
            <td>
                <Timestamp at=invitation.created_at.clone() />
            </td>
            <td>
                <Timestamp at=invitation.expires_at.clone() />
            </td>
            <td class="row-actions">
                <button
                    class="button button-danger-outline button-small withdraw-invitation"
                    type="button"
                    aria-label=format!("Withdraw the invitation of {}", invitation.email)
                    disabled=move || busy.get()
                    on:click=withdraw
                >
                    "Withdraw"
                </button>
            </td>
        </tr>
    }
}
