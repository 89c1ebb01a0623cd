//! An organisation's email domains and their proof by a DNS TXT record, as both the set-up wizard (through
//! `/setup/api/v1/domains`) and the admins' sign-in settings (through `/api/v1/tenant/sso/domains`) show them:
//! one list with each domain's state, the record to publish, verify and remove, and a form for a new one.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{Domain, DomainStatus, DomainVerification, NewDomain};

use crate::api::use_api;
use crate::components::{ConfirmDialog, Confirmation, CopyField, ErrorSlot, SubmitButton};
use crate::session::Problem;

/// The domains at `base`, each with its record and actions; `on_change` runs after a verification or a
/// removal, to load the list again.
#[component]
pub fn Domains(
    /// The domains, as the API listed them.
    domains: Vec<Domain>,
    /// The domains' collection in the API.
    base: &'static str,
    /// Runs after a change.
    on_change: Callback<()>,
) -> impl IntoView {
    view! {
        <ul class="domain-list" id="domains">
            {domains
                .into_iter()
                .map(|domain| view! { <DomainRow domain=domain base=base on_change=on_change /> })
                .collect_view()}
        </ul>
    }
}

/// One domain: its state; until verified, the TXT record to publish and Verify; Remove, confirmed first when
/// the domain routes sign-ins.
#[component]
fn DomainRow(domain: Domain, base: &'static str, on_change: Callback<()>) -> impl IntoView {
    let api = use_api();
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);
    let name = domain.domain.clone();
    let verify = {
        let path = format!("{base}/{name}/verify");
        move |_| {
            let path = path.clone();
            busy.set(true);
            error.set(None);
            spawn_local(async move {
                match api
                    .post::<_, DomainVerification>(path, &serde_json::json!({}))
                    .await
                {
                    Ok(_) => on_change.run(()),
                    Err(problem) => error.set(Some(problem)),
                }
                busy.set(false);
            });
        }
    };
    let remove = {
        let path = format!("{base}/{name}");
        Callback::new(move |()| {
            let path = path.clone();
            error.set(None);
            spawn_local(async move {
                match api.delete(path).await {
                    Ok(()) => on_change.run(()),
                    Err(problem) => error.set(Some(problem)),
                }
            });
        })
    };
    let asked = RwSignal::new(None::<Confirmation>);
    let verified = domain.status == DomainStatus::Verified;
    let question = Confirmation {
        title: format!("Remove {name}?"),
        message: format!(
            "People whose addresses end with @{name} can no longer sign in through your identity provider, \
             from now on. Adding the domain again needs a new DNS proof."
        ),
        confirm: "Remove",
        danger: true,
    };
    let status = match domain.status {
        DomainStatus::Pending => "pending",
        DomainStatus::Verified => "verified",
        DomainStatus::Lapsed => "lapsed",
    };
    // Element ids unique on the page, for the labels of the record's fields.
    let slug = name.replace('.', "-");
    let record_name_id = format!("record-name-{slug}");
    let record_value_id = format!("record-value-{slug}");
    view! {
        <li class="domain-row" data-domain=name.clone() data-status=status>
            <div class="domain-head">
                <strong>{name.clone()}</strong>
                <span class=format!("badge badge-domain-{status}")>{status}</span>
            </div>
            {(!verified)
                .then(|| {
                    view! {
                        <div class="field">
                            <label for=record_name_id.clone()>"TXT record name"</label>
                            <CopyField id=record_name_id class="record-name" value=domain.record_name.clone() />
                        </div>
                        <div class="field">
                            <label for=record_value_id.clone()>"TXT record value"</label>
                            <CopyField id=record_value_id class="record-value" value=domain.record_value.clone() />
                        </div>
                        <button class="button button-primary button-small verify-domain" type="button" disabled=move || busy.get() on:click=verify>
                            {move || if busy.get() { "Looking up…" } else { "Verify" }}
                        </button>
                    }
                })}
            <button
                class="button button-secondary button-small remove-domain"
                type="button"
                aria-label=format!("Remove {name}")
                on:click=move |_| {
                    if verified {
                        asked.set(Some(question.clone()));
                    } else {
                        remove.run(());
                    }
                }
            >
                "Remove"
            </button>
            <ConfirmDialog request=asked on_confirm=remove />
            <ErrorSlot error=error />
        </li>
    }
}

/// Adds a domain at `base`; `on_change` runs once it is added.
#[component]
pub fn NewDomainForm(
    /// The domains' collection in the API.
    base: &'static str,
    /// Runs after the domain is added.
    on_change: Callback<()>,
) -> impl IntoView {
    let api = use_api();
    let new_domain = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let body = NewDomain {
            domain: new_domain.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.post::<_, Domain>(base.to_owned(), &body).await {
                Ok(_) => {
                    new_domain.set(String::new());
                    on_change.run(());
                }
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };
    view! {
        <form id="domain-form" class="form form-row" on:submit=on_submit>
            <ErrorSlot id="domain-error" error=error />
            <div class="field field-grow">
                <label for="new-domain">"Domain"</label>
                <input
                    id="new-domain"
                    type="text"
                    autocomplete="off"
                    placeholder="example.com"
                    prop:value=move || new_domain.get()
                    on:input=move |event| new_domain.set(event_target_value(&event))
                />
            </div>
            <SubmitButton id="add-domain" busy=busy label="Add domain" busy_label="Adding…" />
        </form>
    }
}
