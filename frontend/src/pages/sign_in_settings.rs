//! The sign-in settings page (admins): whether people from the identity provider join at their first
//! sign-in (just-in-time), and each provider's group → role mapping, edited row by row and saved together.
//! Verified domains are shown here; they are claimed, proven and removed in the single sign-on section below
//! (`sso_settings.rs`), with the provider's client secret and the set-up links.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Role;
use shared::api::{
    GroupMapping, IdentityProviderSettings, ProviderGroupMapping, TenantSettings,
    TenantSettingsUpdate,
};

use crate::api::{TENANT_SETTINGS, use_api};
use crate::components::{
    ActionTableHead, AdminOnly, ErrorSlot, Loading, PageHeader, ProblemAlert, SubmitButton,
};
use crate::session::Problem;

/// `/settings`.
#[component]
pub fn SignInSettingsPage() -> impl IntoView {
    view! {
        <AdminOnly title="Sign-in settings">
            <SignInSettingsAdmin />
        </AdminOnly>
    }
}

/// One editable group → role row; the key keeps a row's inputs in place while others come and go.
#[derive(Debug, Clone, Copy)]
struct MappingRow {
    key: u64,
    group: RwSignal<String>,
    role: RwSignal<Role>,
}

/// One identity provider as the form edits it.
#[derive(Debug, Clone)]
struct ProviderDraft {
    name: String,
    kind: String,
    verified_domains: Vec<String>,
    rows: RwSignal<Vec<MappingRow>>,
}

/// The settings as the form edits them.
#[derive(Debug, Clone)]
struct Draft {
    just_in_time: RwSignal<bool>,
    providers: Vec<ProviderDraft>,
}

/// Where the page stands.
#[derive(Debug, Clone)]
enum Form {
    Loading,
    Failed(Problem),
    Editing(Draft),
}

/// Hands out row keys that are unique for the life of the page.
#[derive(Debug, Clone, Copy)]
struct RowKeys(StoredValue<u64>);

impl RowKeys {
    fn next(self) -> u64 {
        self.0.update_value(|key| *key += 1);
        self.0.get_value()
    }

    fn row(self, group: String, role: Role) -> MappingRow {
        MappingRow {
            key: self.next(),
            group: RwSignal::new(group),
            role: RwSignal::new(role),
        }
    }

    fn draft(self, settings: TenantSettings) -> Draft {
        Draft {
            just_in_time: RwSignal::new(settings.just_in_time),
            providers: settings
                .identity_providers
                .into_iter()
                .map(|provider| self.provider(provider))
                .collect(),
        }
    }

    fn provider(self, provider: IdentityProviderSettings) -> ProviderDraft {
        let rows = provider
            .group_mapping
            .into_iter()
            .map(|mapping| self.row(mapping.group, mapping.role))
            .collect();
        ProviderDraft {
            name: provider.name,
            kind: provider.kind,
            verified_domains: provider.verified_domains,
            rows: RwSignal::new(rows),
        }
    }
}

/// The form, once the settings are loaded.
#[component]
fn SignInSettingsAdmin() -> impl IntoView {
    let api = use_api();
    let keys = RowKeys(StoredValue::new(0));
    let form = RwSignal::new(Form::Loading);
    let saved = RwSignal::new(false);
    let reload = Callback::new(move |()| {
        form.set(Form::Loading);
        spawn_local(async move {
            let loaded = api.get::<TenantSettings>(TENANT_SETTINGS.to_owned()).await;
            form.set(match loaded {
                Ok(settings) => Form::Editing(keys.draft(settings)),
                Err(problem) => Form::Failed(problem),
            });
        });
    });
    reload.run(());

    view! {
        <PageHeader title="Sign-in settings" />
        {move || {
            saved
                .get()
                .then(|| {
                    view! {
                        <div id="settings-saved" class="banner banner-success" role="status">
                            "The sign-in settings were saved. They apply from each member's next sign-in."
                        </div>
                    }
                })
        }}
        {move || match form.get() {
            Form::Loading => view! { <Loading label="Loading the sign-in settings…" /> }.into_any(),
            Form::Failed(problem) => {
                view! { <ProblemAlert problem=problem id="settings-load-error" on_retry=reload /> }
                    .into_any()
            }
            Form::Editing(draft) => view! { <SettingsForm draft=draft form=form keys=keys saved=saved /> }.into_any(),
        }}
        <super::sso_settings::SsoSettings />
    }
}

/// What the form sends, or why it cannot be sent: a group name is required in every row.
fn update_from(draft: &Draft) -> Result<TenantSettingsUpdate, Problem> {
    let mut group_mappings = Vec::new();
    for provider in &draft.providers {
        let mut group_mapping = Vec::new();
        for row in provider.rows.get_untracked() {
            let group = row.group.get_untracked().trim().to_owned();
            if group.is_empty() {
                return Err(Problem {
                    code: None,
                    message: format!(
                        "A row of {} has no group name. Fill it in or remove the row.",
                        provider.name
                    ),
                });
            }
            group_mapping.push(GroupMapping {
                group,
                role: row.role.get_untracked(),
            });
        }
        group_mappings.push(ProviderGroupMapping {
            provider: provider.name.clone(),
            group_mapping,
        });
    }
    Ok(TenantSettingsUpdate {
        just_in_time: draft.just_in_time.get_untracked(),
        group_mappings,
    })
}

/// The editable settings and Save.
#[component]
fn SettingsForm(
    draft: Draft,
    form: RwSignal<Form>,
    keys: RowKeys,
    saved: RwSignal<bool>,
) -> impl IntoView {
    let api = use_api();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let just_in_time = draft.just_in_time;
    let providers = draft.providers.clone();

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        saved.set(false);
        let update = match update_from(&draft) {
            Ok(update) => update,
            Err(problem) => {
                error.set(Some(problem));
                return;
            }
        };
        busy.set(true);
        spawn_local(async move {
            match api
                .put::<_, TenantSettings>(TENANT_SETTINGS.to_owned(), &update)
                .await
            {
                Ok(settings) => {
                    // The server's answer is the truth (groups sorted, as stored); the form starts from it.
                    form.set(Form::Editing(keys.draft(settings)));
                    saved.set(true);
                }
                Err(problem) => {
                    busy.set(false);
                    error.set(Some(problem));
                }
            }
        });
    };

    view! {
        <form id="settings-form" class="form settings-form" on:submit=on_submit>
            <ErrorSlot id="settings-error" error=error />
            <section class="card" aria-labelledby="joining-title">
                <h2 id="joining-title" class="card-title">"Joining"</h2>
                <label class="toggle" for="just-in-time">
                    <input
                        id="just-in-time"
                        type="checkbox"
                        prop:checked=move || just_in_time.get()
                        on:change=move |event| just_in_time.set(event_target_checked(&event))
                    />
                    <span>
                        "Just-in-time joining: anyone your identity provider signs in becomes a member at "
                        "their first sign-in"
                    </span>
                </label>
                <p class="hint">
                    "When this is off, only people you invite can join. "
                    "Existing members keep signing in either way."
                </p>
            </section>
            {providers
                .into_iter()
                .map(|provider| view! { <ProviderSettings provider=provider keys=keys /> })
                .collect_view()}
            <div class="actions form-foot">
                <SubmitButton id="save-settings" busy=busy label="Save settings" busy_label="Saving…" />
            </div>
        </form>
    }
}

/// One identity provider: its read-only facts and its group → role mapping editor.
#[component]
fn ProviderSettings(provider: ProviderDraft, keys: RowKeys) -> impl IntoView {
    let rows = provider.rows;
    let name = provider.name.clone();
    let add_row = move |_| {
        rows.update(|rows| rows.push(keys.row(String::new(), Role::Member)));
    };
    view! {
        <section class="card provider" data-provider=provider.name.clone() aria-label=format!("Identity provider {name}")>
            <h2 class="card-title">
                {provider.name.clone()} " " <span class="badge badge-plan">{provider.kind.clone()}</span>
            </h2>
            <dl class="facts">
                <dt>"Verified domains"</dt>
                <dd>
                    <ul class="chips verified-domains">
                        {provider
                            .verified_domains
                            .iter()
                            .map(|domain| view! { <li class="chip verified-domain">{domain.clone()}</li> })
                            .collect_view()}
                    </ul>
                    <p class="hint">"Proven by a DNS record each; people with these addresses are sent to this provider. Manage them under Single sign-on."</p>
                </dd>
            </dl>
            <h3 class="section-title">"Group → role mapping"</h3>
            <p class="hint">
                "Members in several mapped groups get the most powerful role; members in none are viewers. "
                "Changes apply at each member's next sign-in, except to roles an admin set."
            </p>
            <div class="table-scroll">
                <table class="table mapping-table">
                    <ActionTableHead columns=&["Group (exactly as the provider sends it)", "Role"] />
                    <tbody>
                        <For each=move || rows.get() key=|row| row.key let:row>
                            <MappingRowEditor row=row rows=rows />
                        </For>
                    </tbody>
                </table>
            </div>
            {move || {
                rows.with(Vec::is_empty)
                    .then(|| view! { <p class="muted no-mappings">"No groups are mapped: everyone joins as a viewer."</p> })
            }}
            <button class="button button-secondary add-mapping" type="button" on:click=add_row>
                "Add group"
            </button>
        </section>
    }
}

/// One group → role row with Remove.
#[component]
fn MappingRowEditor(row: MappingRow, rows: RwSignal<Vec<MappingRow>>) -> impl IntoView {
    let initial_role = row.role.get_untracked();
    view! {
        <tr class="mapping-row">
            <td>
                <input
                    class="mapping-group"
                    type="text"
                    aria-label="Group"
                    maxlength="256"
                    prop:value=move || row.group.get()
                    on:input=move |event| row.group.set(event_target_value(&event))
                />
            </td>
            <td>
                <select
                    class="mapping-role"
                    aria-label="Role"
                    on:change=move |event| {
                        if let Ok(role) = event_target_value(&event).parse::<Role>() {
                            row.role.set(role);
                        }
                    }
                >
                    {Role::ALL
                        .into_iter()
                        .map(|role| {
                            view! {
                                <option value=role.as_str() selected=role == initial_role>
                                    {role.as_str()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </td>
            <td class="row-actions">
                <button
                    class="button button-link remove-mapping"
                    type="button"
                    on:click=move |_| rows.update(|rows| rows.retain(|other| other.key != row.key))
                >
                    "Remove"
                </button>
            </td>
        </tr>
    }
}
