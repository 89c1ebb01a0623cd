//! The single sign-on set-up wizard at `/setup`: a separate app in the same build, for a customer's IT admin
//! who has no account, only a set-up link.
//!
//! The link is `/setup#<secret>`. The page posts the secret to `POST /setup/api/v1/session`, which spends the
//! link and starts a set-up session (a cookie on `/setup`), then drops the secret from the address bar; a
//! reload resumes from `GET /setup/api/v1/session`, which says what is done. The steps: the provider's kind,
//! what to register on its side (with copy buttons), its settings (checked by the backend at once), the email
//! domains and their DNS records, a test sign-in (`/setup/auth/test`, back at `/setup?test=done`), then the
//! group → role mapping and activation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Role;
use shared::api::{
    Activated, Activation, Domain, DomainList, DomainStatus, GroupMapping, OpenSetupLink,
    ProviderForm, ProviderInstructions, SetupProvider, SetupSession,
};
use web_sys::{SubmitEvent, UrlSearchParams};

use crate::api::{Api, provide_api_client, use_api};
use crate::components::{
    CopyField, ErrorSlot, ProblemAlert, SubmitButton, Timestamp, set_page_title,
};
use crate::domains::{Domains, NewDomainForm};
use crate::session::{Problem, Session};
use crate::sign_in::sign_in_error_message;
use crate::status::LoadingScreen;

/// Where the wizard lives.
pub const SETUP_PATH: &str = "/setup";
const SESSION: &str = "/setup/api/v1/session";
const DOMAINS: &str = "/setup/api/v1/domains";
const PROVIDER: &str = "/setup/api/v1/provider";
const INSTRUCTIONS: &str = "/setup/api/v1/provider/instructions";
const ACTIVATE: &str = "/setup/api/v1/activate";
/// Where the test sign-in starts (a full navigation through the provider).
const TEST_SIGN_IN: &str = "/setup/auth/test";

/// Whether `path` is the wizard's.
pub fn is_setup_path(path: &str) -> bool {
    path == SETUP_PATH || path.starts_with("/setup/")
}

/// What the wizard knows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wizard {
    Loading,
    /// The link or its session is not (or no longer) valid, or the server could not be reached.
    Problem(Problem),
    Ready(SetupSession),
    /// Activated: the set-up is complete.
    Done(Activated),
}

/// The wizard app.
#[component]
pub fn SetupApp() -> impl IntoView {
    set_page_title("Set up single sign-on");
    let state = RwSignal::new(Wizard::Loading);
    // A 401 means the set-up session is over (the link was revoked, completed or expired).
    provide_api_client(Api::reporting_to(Callback::new(move |ended| {
        let problem = match ended {
            Session::Unavailable(problem) => problem,
            _ => invalid_link(),
        };
        state.set(Wizard::Problem(problem));
    })));
    open_or_resume(state);
    view! {
        <main class="setup" id="main">
            <header class="setup-header">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true">"S"</span>
                    <span class="brand-name">"SaaS Reference"</span>
                </div>
                <h1>"Set up single sign-on"</h1>
            </header>
            {move || match state.get() {
                Wizard::Loading => view! { <LoadingScreen /> }.into_any(),
                Wizard::Problem(problem) => view! { <ProblemAlert problem=problem id="setup-problem" /> }.into_any(),
                Wizard::Ready(session) => view! { <Steps session=session state=state /> }.into_any(),
                Wizard::Done(done) => view! { <Completed done=done /> }.into_any(),
            }}
        </main>
    }
}

fn invalid_link() -> Problem {
    Problem {
        code: Some(shared::ErrorCode::SetupLinkInvalid),
        message: shared::ErrorCode::SetupLinkInvalid
            .default_message()
            .to_owned(),
    }
}

/// Spends the link's secret when the address has one (then removes it from the address bar and history), or
/// resumes the set-up session.
fn open_or_resume(state: RwSignal<Wizard>) {
    let api = use_api();
    let hash = window().location().hash().unwrap_or_default();
    let token = hash.strip_prefix('#').unwrap_or_default().to_owned();
    spawn_local(async move {
        let loaded = if token.is_empty() {
            api.get::<SetupSession>(SESSION.to_owned()).await
        } else {
            let opened = api
                .post::<_, SetupSession>(SESSION.to_owned(), &OpenSetupLink { token })
                .await;
            if let Ok(history) = window().history() {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(SETUP_PATH),
                );
            }
            opened
        };
        state.set(match loaded {
            Ok(session) => Wizard::Ready(session),
            Err(problem) => Wizard::Problem(problem),
        });
    });
}

/// Reloads the set-up session into `state`.
fn reload(api: Api, state: RwSignal<Wizard>) {
    spawn_local(async move {
        if let Ok(session) = api.get::<SetupSession>(SESSION.to_owned()).await {
            state.set(Wizard::Ready(session));
        }
    });
}

/// The query parameter `name` of the page's address.
fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// Every step, each with what is done so far.
#[component]
fn Steps(session: SetupSession, state: RwSignal<Wizard>) -> impl IntoView {
    let kind = RwSignal::new(
        session
            .provider
            .as_ref()
            .map(|provider| provider.kind.clone())
            .unwrap_or_else(|| "okta".to_owned()),
    );
    // The group → role mapping being edited in step 6, which step 5 applies to the test's groups.
    let rows = RwSignal::new(
        session
            .test
            .as_ref()
            .map(|test| test.groups.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|group| MappingRow {
                group: RwSignal::new(group),
                role: RwSignal::new(Role::Viewer),
            })
            .collect::<Vec<_>>(),
    );
    // The domains of step 4, which step 6 needs one of verified.
    let domains = RwSignal::new(session.domains.clone());
    let returned_error = query_param("error").map(|code| returned_error_message(&code));
    let tested = query_param("test").as_deref() == Some("done");
    view! {
        <p class="lead">
            "You are setting up how people of " <strong>{session.tenant_name.clone()}</strong>
            " sign in. This link works until " <Timestamp at=session.expires_at.clone() />
            ". Each step is saved as you go: you can close this page and come back with the same browser."
        </p>
        {returned_error.map(|message| view! { <div class="banner banner-error" role="alert" id="setup-returned-error">{message}</div> })}
        {tested.then(|| view! { <div class="banner banner-success" role="status" id="setup-tested">"Test sign-in received. Check what your provider sent below."</div> })}
        <KindStep kind=kind />
        <InstructionsStep kind=kind />
        <ProviderStep kind=kind provider=session.provider.clone() state=state />
        <DomainsStep domains=domains />
        <TestStep session=session.clone() returned=tested rows=rows />
        <ActivateStep session=session state=state rows=rows domains=domains />
    }
}

/// What the wizard says when a test sign-in sends the browser back with `?error=<code>`: in the words of the
/// set-up for what only the set-up meets, as the sign-in page says it otherwise.
fn returned_error_message(code: &str) -> &'static str {
    match shared::ErrorCode::parse(code) {
        Some(shared::ErrorCode::UnknownIdentityProvider) => {
            "No identity provider is waiting for a test sign-in: save its settings in step 3, then test again."
        }
        _ => sign_in_error_message(code),
    }
}

/// Step 1: the provider's kind.
#[component]
fn KindStep(kind: RwSignal<String>) -> impl IntoView {
    let choices = [
        ("entra", "Microsoft Entra ID"),
        ("okta", "Okta"),
        ("oidc", "Another OpenID Connect provider"),
    ];
    view! {
        <section class="card setup-step" aria-labelledby="step-kind">
            <h2 id="step-kind" class="card-title">"1. Your identity provider"</h2>
            <fieldset class="choices">
                <legend class="visually-hidden">"Identity provider kind"</legend>
                {choices
                    .into_iter()
                    .map(|(value, label)| {
                        view! {
                            <label class="choice">
                                <input
                                    type="radio"
                                    name="provider-kind"
                                    id=format!("kind-{value}")
                                    value=value
                                    prop:checked=move || kind.get() == value
                                    on:change=move |_| kind.set(value.to_owned())
                                />
                                {label}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </section>
    }
}

/// Step 2: what to register on the provider's side.
#[component]
fn InstructionsStep(kind: RwSignal<String>) -> impl IntoView {
    let api = use_api();
    let instructions = LocalResource::new(move || {
        let kind = kind.get();
        async move {
            api.get_with::<ProviderInstructions>(INSTRUCTIONS.to_owned(), vec![("kind", kind)])
                .await
        }
    });
    view! {
        <section class="card setup-step" aria-labelledby="step-register">
            <h2 id="step-register" class="card-title">"2. Register this application with your provider"</h2>
            {move || match instructions.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(problem)) => view! { <ProblemAlert problem=problem /> }.into_any(),
                Some(Ok(instructions)) => {
                    view! {
                        <div class="field">
                            <label for="redirect-uri">"Redirect URI"</label>
                            <CopyField id="redirect-uri" value=instructions.redirect_uri.clone() />
                        </div>
                        <p>"Scopes: " <code>{instructions.scopes.join(" ")}</code></p>
                        <p>"Claims to release:"</p>
                        <ul>{instructions.claims.iter().map(|claim| view! { <li>{claim.clone()}</li> }).collect_view()}</ul>
                        <ol class="setup-instructions">
                            {instructions.steps.iter().map(|step| view! { <li>{step.clone()}</li> }).collect_view()}
                        </ol>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The provider form's fields (all but the client's) as the IT admin entered them, read back from the
/// saved provider's issuer, so that a resumed wizard shows what was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SavedSettings {
    directory_id: String,
    org_url: String,
    authorization_server: String,
    issuer: String,
}

impl Default for SavedSettings {
    fn default() -> Self {
        SavedSettings {
            directory_id: String::new(),
            org_url: String::new(),
            authorization_server: "default".to_owned(),
            issuer: String::new(),
        }
    }
}

impl SavedSettings {
    /// Entra: `<authority>/<directory id>/v2.0`. Okta: `<org URL>/oauth2/<server>`, or the org URL itself for
    /// the org authorization server. Any other OpenID Connect provider: the issuer.
    fn from_issuer(kind: &str, issuer: &str) -> SavedSettings {
        let mut saved = SavedSettings::default();
        match kind {
            "entra" => {
                let mut segments = issuer.trim_end_matches('/').rsplit('/');
                if segments.next() == Some("v2.0") {
                    saved.directory_id = segments.next().unwrap_or_default().to_owned();
                }
            }
            "okta" => match issuer.split_once("/oauth2/") {
                Some((org, server)) => {
                    saved.org_url = org.to_owned();
                    saved.authorization_server = server.to_owned();
                }
                None => {
                    saved.org_url = issuer.to_owned();
                    saved.authorization_server = String::new();
                }
            },
            _ => saved.issuer = issuer.to_owned(),
        }
        saved
    }
}

/// Step 3: the provider's settings, checked at once.
#[component]
fn ProviderStep(
    kind: RwSignal<String>,
    provider: Option<SetupProvider>,
    state: RwSignal<Wizard>,
) -> impl IntoView {
    let api = use_api();
    let saved = provider
        .as_ref()
        .map(|p| SavedSettings::from_issuer(&p.kind, &p.issuer))
        .unwrap_or_default();
    let directory_id = RwSignal::new(saved.directory_id);
    let org_url = RwSignal::new(saved.org_url);
    let authorization_server = RwSignal::new(saved.authorization_server);
    let issuer = RwSignal::new(saved.issuer);
    let client_id = RwSignal::new(
        provider
            .as_ref()
            .map(|p| p.client_id.clone())
            .unwrap_or_default(),
    );
    let client_secret = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let active = provider.as_ref().is_some_and(|p| p.status == "active");
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let form = ProviderForm {
            kind: kind.get_untracked(),
            directory_id: directory_id.get_untracked(),
            org_url: org_url.get_untracked(),
            authorization_server: authorization_server.get_untracked(),
            issuer: issuer.get_untracked(),
            client_id: client_id.get_untracked(),
            client_secret: client_secret.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api
                .post::<_, SetupProvider>(PROVIDER.to_owned(), &form)
                .await
            {
                Ok(_) => {
                    client_secret.set(String::new());
                    reload(api, state);
                }
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };
    let text_field = move |id: &'static str,
                           label: &'static str,
                           value: RwSignal<String>,
                           hint: &'static str| {
        view! {
            <div class="field field-grow">
                <label for=id>{label}</label>
                <input
                    id=id
                    type="text"
                    autocomplete="off"
                    placeholder=hint
                    prop:value=move || value.get()
                    on:input=move |event| value.set(event_target_value(&event))
                />
            </div>
        }
    };
    view! {
        <section class="card setup-step" aria-labelledby="step-provider">
            <h2 id="step-provider" class="card-title">"3. Your provider's settings"</h2>
            {provider
                .clone()
                .map(|saved| {
                    view! {
                        <p id="provider-saved" data-status=saved.status.clone()>
                            "Saved: " <strong>{saved.name.clone()}</strong> " (" {saved.status.clone()} "), issuer "
                            <code>{saved.issuer.clone()}</code>
                        </p>
                    }
                })}
            {(!active)
                .then(|| {
                    view! {
                        <form id="provider-form" class="form" on:submit=on_submit>
                            <ErrorSlot id="provider-error" error=error />
                            {move || match kind.get().as_str() {
                                "entra" => text_field("directory-id", "Directory (tenant) ID", directory_id, "00000000-0000-0000-0000-000000000000").into_any(),
                                "okta" => view! {
                                    {text_field("org-url", "Okta org URL", org_url, "https://your-org.okta.com")}
                                    {text_field("authorization-server", "Authorization server", authorization_server, "default")}
                                }
                                    .into_any(),
                                _ => text_field("issuer", "Issuer URL", issuer, "https://login.example.com").into_any(),
                            }}
                            {text_field("client-id", "Client ID", client_id, "")}
                            <div class="field field-grow">
                                <label for="client-secret">"Client secret"</label>
                                <input
                                    id="client-secret"
                                    type="password"
                                    autocomplete="off"
                                    prop:value=move || client_secret.get()
                                    on:input=move |event| client_secret.set(event_target_value(&event))
                                />
                                <p class="hint">"Handed to the sign-in service and never shown again or stored here."</p>
                            </div>
                            <SubmitButton id="save-provider" busy=busy label="Check and save" busy_label="Checking…" />
                        </form>
                    }
                })}
        </section>
    }
}

/// Step 4: the email domains and their DNS records.
#[component]
fn DomainsStep(domains: RwSignal<Vec<Domain>>) -> impl IntoView {
    let api = use_api();
    // Only the list is loaded again: the rest of the wizard keeps what the user is typing (a provider's
    // settings not yet saved, the mapping of step 6).
    let on_change = Callback::new(move |()| {
        spawn_local(async move {
            if let Ok(list) = api.get::<DomainList>(DOMAINS.to_owned()).await {
                domains.set(list.items);
            }
        });
    });
    view! {
        <section class="card setup-step" aria-labelledby="step-domains">
            <h2 id="step-domains" class="card-title">"4. Your email domains"</h2>
            <p>
                "For each domain your people's addresses end with, publish the TXT record shown with your DNS "
                "provider, then verify it. Only verified domains send people to your sign-in."
            </p>
            {move || view! { <Domains domains=domains.get() base=DOMAINS on_change=on_change /> }}
            <NewDomainForm base=DOMAINS on_change=on_change />
        </section>
    }
}

/// Step 5: the test sign-in and what it received. Back from a test (`returned`), the step is brought into view
/// and focused, so the result is what the user sees and what a screen reader reads first.
#[component]
fn TestStep(
    session: SetupSession,
    returned: bool,
    rows: RwSignal<Vec<MappingRow>>,
) -> impl IntoView {
    let testable = session
        .provider
        .as_ref()
        .is_some_and(|provider| provider.status == "testing");
    let tested_before = session.test.is_some();
    let section = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(section) = section.get()
            && returned
        {
            section.scroll_into_view();
            let _ = section.focus();
        }
    });
    view! {
        <section node_ref=section tabindex="-1" class="card setup-step" aria-labelledby="step-test">
            <h2 id="step-test" class="card-title">"5. Test sign-in"</h2>
            <p>
                "Sign in once through your provider, as yourself or a colleague. Nothing is created: you see what "
                "your provider sends."
            </p>
            {testable
                .then(|| {
                    let label = if tested_before { "Run another test sign-in" } else { "Run a test sign-in" };
                    view! { <a id="run-test" class="button button-primary" href=TEST_SIGN_IN>{label}</a> }
                })}
            {session
                .test
                .map(|test| {
                    let verified = match test.email_verified {
                        Some(true) => "verified",
                        Some(false) => "not verified",
                        None => "not said",
                    };
                    // The mapping being edited in step 6, as activation would send it.
                    let mapping = move || -> Vec<(String, Role)> {
                        rows.get()
                            .iter()
                            .map(|row| (row.group.get().trim().to_owned(), row.role.get()))
                            .collect()
                    };
                    let groups = test.groups.clone();
                    let role = move || mapped_role(&groups, &mapping()).as_str();
                    let group_list = if test.groups.is_empty() {
                        view! { <span>"none"</span> }.into_any()
                    } else {
                        view! {
                            <ul class="test-groups">
                                {test
                                    .groups
                                    .iter()
                                    .map(|group| {
                                        let name = group.clone();
                                        let group_role = move || match group_role(&name, &mapping()) {
                                            Some(role) => role.as_str(),
                                            None => "not mapped",
                                        };
                                        view! {
                                            <li data-group=group.clone()>
                                                {group.clone()} " → " <span class="group-role">{group_role}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    };
                    view! {
                        <dl id="test-result" class="facts test-result">
                            <dt>"Subject"</dt>
                            <dd><code>{test.subject}</code></dd>
                            <dt>"Email"</dt>
                            <dd id="test-email">{test.email} " (" {verified} ")"</dd>
                            <dt>"Groups"</dt>
                            <dd id="test-groups">{group_list}</dd>
                            <dt>"Role"</dt>
                            <dd id="test-role">{role} <span class="hint">" (with the mapping in step 6)"</span></dd>
                            <dt>"When"</dt>
                            <dd><Timestamp at=test.at /></dd>
                        </dl>
                    }
                })}
        </section>
    }
}

/// The role `group` maps to under `mapping` (group → role), matched exactly as the provider sends it.
fn group_role(group: &str, mapping: &[(String, Role)]) -> Option<Role> {
    mapping
        .iter()
        .find(|(mapped, _)| mapped == group)
        .map(|(_, role)| *role)
}

/// The role a person in `groups` gets under `mapping`: the most powerful role of their mapped groups, and
/// viewer when none is mapped, as at sign-in.
fn mapped_role(groups: &[String], mapping: &[(String, Role)]) -> Role {
    groups
        .iter()
        .filter_map(|group| group_role(group, mapping))
        .max()
        .unwrap_or(Role::Viewer)
}

/// One row of the mapping editor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MappingRow {
    group: RwSignal<String>,
    role: RwSignal<Role>,
}

/// Step 6: groups to roles, and activation.
#[component]
fn ActivateStep(
    session: SetupSession,
    state: RwSignal<Wizard>,
    rows: RwSignal<Vec<MappingRow>>,
    domains: RwSignal<Vec<Domain>>,
) -> impl IntoView {
    let api = use_api();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let tested = session.test.is_some();
    let ready = move || {
        tested
            && domains.with(|domains| {
                domains
                    .iter()
                    .any(|domain| domain.status == DomainStatus::Verified)
            })
    };
    let add_row = move |_| {
        rows.update(|rows| {
            rows.push(MappingRow {
                group: RwSignal::new(String::new()),
                role: RwSignal::new(Role::Viewer),
            })
        })
    };
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let body = Activation {
            group_mapping: rows
                .get_untracked()
                .iter()
                .filter(|row| !row.group.get_untracked().trim().is_empty())
                .map(|row| GroupMapping {
                    group: row.group.get_untracked().trim().to_owned(),
                    role: row.role.get_untracked(),
                })
                .collect(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.post::<_, Activated>(ACTIVATE.to_owned(), &body).await {
                Ok(done) => state.set(Wizard::Done(done)),
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card setup-step" aria-labelledby="step-activate">
            <h2 id="step-activate" class="card-title">"6. Roles, and activation"</h2>
            <p>
                "Choose the role each of your groups gives. People in no mapped group can read only. Map at least "
                "one group to admin."
            </p>
            <form id="activate-form" class="form" on:submit=on_submit>
                <ErrorSlot id="activate-error" error=error />
                <table class="table mapping-table">
                    <thead>
                        <tr>
                            <th scope="col">"Group"</th>
                            <th scope="col">"Role"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            rows.get()
                                .into_iter()
                                .enumerate()
                                .map(|(index, row)| {
                                    view! {
                                        <tr class="mapping-row">
                                            <td>
                                                <input
                                                    type="text"
                                                    class="mapping-group"
                                                    aria-label=format!("Group {}", index + 1)
                                                    prop:value=move || row.group.get()
                                                    on:input=move |event| row.group.set(event_target_value(&event))
                                                />
                                            </td>
                                            <td>
                                                <select
                                                    class="mapping-role"
                                                    aria-label=format!("Role of group {}", index + 1)
                                                    on:change=move |event| {
                                                        if let Ok(role) = event_target_value(&event).parse::<Role>() {
                                                            row.role.set(role);
                                                        }
                                                    }
                                                >
                                                    {[Role::Viewer, Role::Member, Role::Admin]
                                                        .into_iter()
                                                        .map(|role| view! { <option value=role.as_str() selected=move || row.role.get() == role>{role.as_str()}</option> })
                                                        .collect_view()}
                                                </select>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
                <button class="button button-secondary button-small" type="button" on:click=add_row>"Add a group"</button>
                {move || (!ready()).then(|| view! { <p class="hint">"Activation needs a verified domain and a test sign-in."</p> })}
                <SubmitButton id="activate" busy=busy label="Activate single sign-on" busy_label="Activating…" />
            </form>
        </section>
    }
}

/// The end: what now routes where.
#[component]
fn Completed(done: Activated) -> impl IntoView {
    view! {
        <section class="card setup-step" id="setup-complete" aria-labelledby="setup-done">
            <h2 id="setup-done" class="card-title">"Single sign-on is active"</h2>
            <p>
                "People whose email ends with " <strong>{done.routed_domains.join(", ")}</strong>
                " now sign in through " <strong>{done.provider.name}</strong>
                ". Your administrators manage domains, the client secret and roles from the sign-in settings."
            </p>
            <a class="button button-primary" href="/">"Go to the sign-in page"</a>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_sign_in_that_could_not_start_says_what_to_do_in_the_set_up() {
        assert!(
            returned_error_message("unknown_identity_provider")
                .contains("save its settings in step 3")
        );
        assert_eq!(
            returned_error_message("sign_in_failed"),
            shared::ErrorCode::SignInFailed.default_message()
        );
        assert_eq!(
            returned_error_message("no_such_code"),
            sign_in_error_message("no_such_code")
        );
    }

    #[test]
    fn a_resumed_wizard_shows_the_saved_settings_of_each_kind() {
        let entra = SavedSettings::from_issuer(
            "entra",
            "https://login.microsoftonline.com/7b2e3c4d-5f60-4a1b-9c2d-1a17ec000002/v2.0",
        );
        assert_eq!(entra.directory_id, "7b2e3c4d-5f60-4a1b-9c2d-1a17ec000002");
        let okta = SavedSettings::from_issuer("okta", "https://initech.okta.com/oauth2/default");
        assert_eq!(
            (okta.org_url.as_str(), okta.authorization_server.as_str()),
            ("https://initech.okta.com", "default")
        );
        let org_server = SavedSettings::from_issuer("okta", "https://initech.okta.com");
        assert_eq!(
            (
                org_server.org_url.as_str(),
                org_server.authorization_server.as_str()
            ),
            ("https://initech.okta.com", "")
        );
        let oidc = SavedSettings::from_issuer("oidc", "https://id.initech.example/realms/staff");
        assert_eq!(oidc.issuer, "https://id.initech.example/realms/staff");
        assert_eq!(
            SavedSettings::from_issuer("entra", "https://x/y"),
            SavedSettings::default()
        );
    }

    #[test]
    fn the_test_shows_each_groups_role_and_the_most_powerful_one_or_viewer_without_one() {
        let groups = ["saas-admins".to_owned(), "saas-users".to_owned()];
        let mapping = [
            ("saas-users".to_owned(), Role::Member),
            ("saas-admins".to_owned(), Role::Admin),
            ("other".to_owned(), Role::Member),
        ];
        assert_eq!(mapped_role(&groups, &mapping), Role::Admin);
        assert_eq!(mapped_role(&groups[1..], &mapping), Role::Member);
        assert_eq!(mapped_role(&groups, &[]), Role::Viewer);
        assert_eq!(group_role("saas-users", &mapping), Some(Role::Member));
        assert_eq!(group_role("Everyone", &mapping), None);
        // Groups match exactly, as at sign-in.
        assert_eq!(
            mapped_role(&["SaaS-Admins".to_owned()], &mapping),
            Role::Viewer
        );
    }
}
