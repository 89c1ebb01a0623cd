//! The single sign-on part of the sign-in settings (admins): the organisation's identity provider and its
//! client secret, its email domains and their DNS proof, and set-up links for the organisation's IT admin.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{
    CreatedSetupLink, DomainList, NewSetupLink, SecretRotation, SetupLinkList, SetupLinkState,
    SetupProvider,
};

use crate::api::use_api;
use crate::components::{ErrorSlot, ProblemAlert, SubmitButton, Timestamp};
use crate::domains::{Domains, NewDomainForm};
use crate::session::Problem;

const PROVIDER: &str = "/api/v1/tenant/sso/provider";
const SECRET: &str = "/api/v1/tenant/sso/provider/secret";
const DOMAINS: &str = "/api/v1/tenant/sso/domains";
const LINKS: &str = "/api/v1/tenant/sso/setup-links";

/// The section, under the group mappings.
#[component]
pub fn SsoSettings() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="sso-title" id="sso-settings">
            <h2 id="sso-title" class="card-title">"Single sign-on"</h2>
            <ProviderPanel />
            <DomainsPanel />
            <SetupLinksPanel base=LINKS.to_owned() />
        </section>
    }
}

/// The identity provider and its client secret.
#[component]
fn ProviderPanel() -> impl IntoView {
    let api = use_api();
    let provider =
        LocalResource::new(
            move || async move { api.get::<SetupProvider>(PROVIDER.to_owned()).await },
        );
    let secret = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(false);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let body = SecretRotation {
            client_secret: secret.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        done.set(false);
        spawn_local(async move {
            match api.post_no_content(SECRET.to_owned(), &body).await {
                Ok(()) => {
                    secret.set(String::new());
                    done.set(true);
                }
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };
    view! {
        <h3>"Identity provider"</h3>
        {move || match provider.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(_)) => view! { <p class="muted" id="sso-no-provider">"Not set up yet: create a set-up link below for your IT admin."</p> }.into_any(),
            Some(Ok(provider)) => {
                let active = provider.status == "active";
                view! {
                    <p id="sso-provider" data-status=provider.status.clone()>
                        <strong>{provider.name.clone()}</strong> " (" {provider.kind.clone()} ", " {provider.status.clone()} "), issuer "
                        <code>{provider.issuer.clone()}</code>
                    </p>
                    {active
                        .then(|| {
                            view! {
                                <form id="rotate-secret-form" class="form form-row" on:submit=on_submit>
                                    <ErrorSlot id="rotate-secret-error" error=error />
                                    <div class="field field-grow">
                                        <label for="new-client-secret">"New client secret"</label>
                                        <input
                                            id="new-client-secret"
                                            type="password"
                                            autocomplete="off"
                                            prop:value=move || secret.get()
                                            on:input=move |event| secret.set(event_target_value(&event))
                                        />
                                    </div>
                                    <SubmitButton id="rotate-secret" busy=busy label="Replace secret" busy_label="Replacing…" />
                                    {move || done.get().then(|| view! { <p role="status" class="hint">"The new secret is in use."</p> })}
                                </form>
                            }
                        })}
                }
                    .into_any()
            }
        }}
    }
}

/// The email domains: each one's state and record, verify and remove; a new one.
#[component]
fn DomainsPanel() -> impl IntoView {
    let api = use_api();
    let version = RwSignal::new(0_u32);
    let domains = LocalResource::new(move || {
        version.get();
        async move { api.get::<DomainList>(DOMAINS.to_owned()).await }
    });
    let on_change = Callback::new(move |()| version.update(|v| *v += 1));
    view! {
        <h3>"Email domains"</h3>
        {move || match domains.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(problem)) => view! { <ProblemAlert problem=problem /> }.into_any(),
            Some(Ok(list)) => {
                view! { <Domains domains=list.items base=DOMAINS on_change=on_change /> }.into_any()
            }
        }}
        <NewDomainForm base=DOMAINS on_change=on_change />
    }
}

/// Set-up links at `base` (the admins' `/api/v1/tenant/sso/setup-links`, or a tenant's in the operators'
/// console): their states, a new one (its URL shown once), revoking the open one.
#[component]
pub fn SetupLinksPanel(base: String) -> impl IntoView {
    let api = use_api();
    let version = RwSignal::new(0_u32);
    let list_path = base.clone();
    let links = LocalResource::new(move || {
        version.get();
        let path = list_path.clone();
        async move { api.get::<SetupLinkList>(path).await }
    });
    let create_path = base.clone();
    let created = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let create = move |_| {
        busy.set(true);
        error.set(None);
        let path = create_path.clone();
        spawn_local(async move {
            match api
                .post::<_, CreatedSetupLink>(path, &NewSetupLink::default())
                .await
            {
                Ok(link) => {
                    created.set(Some(link.url));
                    version.update(|v| *v += 1);
                }
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };
    view! {
        <h3>"Set-up links"</h3>
        <p class="hint">
            "A set-up link lets your IT admin configure the identity provider and prove your domains, without an "
            "account. It works once and expires after 7 days; a new link replaces the open one."
        </p>
        <ErrorSlot id="setup-link-error" error=error />
        <button id="new-setup-link" class="button button-primary" type="button" disabled=move || busy.get() on:click=create>
            "New set-up link"
        </button>
        {move || {
            created
                .get()
                .map(|url| {
                    view! {
                        <div class="field">
                            <label for="setup-link-url">"Send this link to your IT admin (shown once)"</label>
                            <input id="setup-link-url" type="text" readonly=true value=url />
                        </div>
                    }
                })
        }}
        {move || match links.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(problem)) => view! { <ProblemAlert problem=problem /> }.into_any(),
            Some(Ok(list)) => {
                let base = base.clone();
                view! {
                    <ul class="setup-links" id="setup-links">
                        {list
                            .items
                            .into_iter()
                            .map(|link| {
                                let open = matches!(link.state, SetupLinkState::Pending | SetupLinkState::Opened);
                                let state = format!("{:?}", link.state).to_lowercase();
                                let state_attr = state.clone();
                                let revoke_path = format!("{base}/{}/revoke", link.id);
                                let revoke = move |_| {
                                    let path = revoke_path.clone();
                                    spawn_local(async move {
                                        match api.post::<_, shared::api::SetupLink>(path, &serde_json::json!({})).await {
                                            Ok(_) => version.update(|v| *v += 1),
                                            Err(problem) => error.set(Some(problem)),
                                        }
                                    });
                                };
                                view! {
                                    <li class="setup-link" data-state=state_attr>
                                        <span class="badge">{state}</span>
                                        " created " <Timestamp at=link.created_at.clone() />
                                        ", expires " <Timestamp at=link.expires_at.clone() />
                                        {open
                                            .then(|| view! { <button class="button button-secondary button-small" type="button" on:click=revoke.clone()>"Revoke"</button> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }
        }}
    }
}
