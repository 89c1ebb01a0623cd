//! The invitations page (admins): invite a person by email with the role they get on joining, see the
//! pending invitations and withdraw one. An invited person joins at their first sign-in through the
//! organisation's identity provider, even when just-in-time joining is off.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Role;
use shared::api::{Invitation, InvitationList, NewInvitation, TenantSettings};

use crate::api::{INVITATIONS, TENANT_SETTINGS, item_path, use_api};
use crate::components::{
    ActionTableHead, AdminOnly, ConfirmDialog, Confirmation, CopyField, ErrorSlot, Loading,
    PageHeader, ProblemAlert, RoleBadge, SubmitButton, Timestamp,
};
use crate::pages::members::RoleHelp;
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
    let withdrawn = RwSignal::new(None::<String>);
    let on_withdrawn = Callback::new(move |id: String| {
        pending.update(|pending| {
            if let Pending::Loaded(items) = pending {
                if let Some(gone) = items.iter().find(|invitation| invitation.id == id) {
                    withdrawn.set(Some(format!(
                        "The invitation for {} was withdrawn: they can no longer join through it.",
                        gone.email
                    )));
                }
                items.retain(|invitation| invitation.id != id);
            }
        });
    });
    // The domains invitations may go to: those the organisation's identity providers are verified for.
    let domains = RwSignal::new(None::<Vec<String>>);
    spawn_local(async move {
        if let Ok(settings) = api.get::<TenantSettings>(TENANT_SETTINGS.to_owned()).await {
            domains.set(Some(
                settings
                    .identity_providers
                    .into_iter()
                    .flat_map(|provider| provider.verified_domains)
                    .collect(),
            ));
        }
    });

    view! {
        <PageHeader title="Invitations" />
        <InviteForm on_invited=on_invited domains=domains />
        <section class="card table-card" aria-labelledby="pending-title">
            <h2 id="pending-title" class="card-title">"Pending invitations"</h2>
            <p class="hint">
                "No email is sent: share each person's sign-in link with them. It takes them to your "
                "organisation's identity provider; the invitation applies when that provider signs them in "
                "with the invited address."
            </p>
            <ErrorSlot id="withdraw-error" error=list_error />
            {move || {
                withdrawn
                    .get()
                    .map(|text| {
                        view! {
                            <div id="invitation-withdrawn" class="banner banner-success" role="status">
                                {text}
                            </div>
                        }
                    })
            }}
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
fn InviteForm(
    on_invited: Callback<Invitation>,
    domains: RwSignal<Option<Vec<String>>>,
) -> impl IntoView {
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
                        "{} can join as {} at their first sign-in. No email is sent: copy their sign-in \
                         link below and send it to them.",
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
            <RoleHelp />
            <p class="hint" id="invite-domains">
                {move || match domains.get() {
                    Some(domains) if !domains.is_empty() => {
                        format!(
                            "Addresses in {} can be invited: they sign in through your organisation's identity provider.",
                            domains.join(", ")
                        )
                    }
                    Some(_) => "Your organisation has no verified email domain yet, so nobody can be invited.".to_owned(),
                    None => String::new(),
                }}
            </p>
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
            <ActionTableHead columns=&["Email", "Role", "Sign-in link", "Invited by", "Created", "Expires"] />
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
    let link = sign_in_link(&invitation.email);
    let asked = RwSignal::new(None::<Confirmation>);
    let question = Confirmation {
        title: format!("Withdraw the invitation for {}?", invitation.email),
        message: "They will no longer join through it. You can invite them again later.".to_owned(),
        confirm: "Withdraw",
        danger: true,
    };
    let withdraw = Callback::new(move |()| {
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
    });
    view! {
        <tr class="invitation-row" data-invitation-email=invitation.email.clone()>
            <td class="invitation-email">{invitation.email.clone()}</td>
            <td>
                <RoleBadge role=invitation.role />
            </td>
            <td>
                <CopyField
                    value=link
                    class="invitation-link"
                    label=format!("Sign-in link for {}", invitation.email)
                />
            </td>
            <td>
                {invitation
                    .invited_by
                    .as_ref()
                    .map_or_else(|| "Platform operators".to_owned(), |admin| admin.name.clone())}
            </td>
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
                    on:click=move |_| asked.set(Some(question.clone()))
                >
                    "Withdraw"
                </button>
                <ConfirmDialog request=asked on_confirm=withdraw />
            </td>
        </tr>
    }
}

/// The address that starts `email`'s sign-in: the app's `/auth/login` with the email, which routes to the
/// organisation's identity provider and fills the email in there.
fn sign_in_link(email: &str) -> String {
    let origin = window().location().origin().unwrap_or_default();
    format!(
        "{origin}/auth/login?email={}",
        percent_encoding::utf8_percent_encode(email, percent_encoding::NON_ALPHANUMERIC)
    )
}
