//! `/operator/tenants/:id`: one tenant, and what operators do to it: change its plan, suspend or resume it,
//! download its export, and delete it after typing its slug.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map};
use shared::api::{PlanChange, TenantDeleted, TenantDeletion, TenantSummary};
use shared::{Plan, TenantStatus};

use super::TENANTS;
use super::tenants::{StatusBadge, sign_in_text};
use crate::api::{item_path, use_api};
use crate::components::{
    ConfirmDialog, Confirmation, ErrorSlot, Loading, PageHeader, ProblemAlert, Timestamp,
    use_notices,
};
use crate::downloads::save_export;
use crate::format::format_bytes;
use crate::session::Problem;

/// Where the tenant stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Loading,
    Loaded(TenantSummary),
    Failed(Problem),
}

/// `/operator/tenants/:id`.
#[component]
pub fn TenantPage() -> impl IntoView {
    let api = use_api();
    let params = use_params_map();
    let path = move || {
        params
            .with(|params| params.get("id"))
            .and_then(|id| item_path(TENANTS, &id))
    };
    let shown = RwSignal::new(Shown::Loading);
    let reload = Callback::new(move |()| {
        let Some(path) = path() else {
            shown.set(Shown::Failed(Problem {
                code: Some(shared::ErrorCode::NotFound),
                message: "There is no such tenant.".to_owned(),
            }));
            return;
        };
        shown.set(Shown::Loading);
        spawn_local(async move {
            shown.set(match api.get::<TenantSummary>(path).await {
                Ok(tenant) => Shown::Loaded(tenant),
                Err(problem) => Shown::Failed(problem),
            });
        });
    });
    reload.run(());
    let on_changed = Callback::new(move |tenant: TenantSummary| shown.set(Shown::Loaded(tenant)));

    view! {
        <PageHeader title="Tenant" />
        {move || match shown.get() {
            Shown::Loading => view! { <Loading label="Loading the tenant…" /> }.into_any(),
            Shown::Failed(problem) => {
                view! { <ProblemAlert problem=problem id="tenant-error" on_retry=reload /> }.into_any()
            }
            Shown::Loaded(tenant) => {
                view! {
                    <TenantFacts tenant=tenant.clone() />
                    <PlanCard tenant=tenant.clone() on_changed=on_changed />
                    <StatusCard tenant=tenant.clone() on_changed=on_changed />
                    <section class="card" aria-labelledby="tenant-sso-title" id="tenant-sso">
                        <h2 id="tenant-sso-title" class="card-title">"Single sign-on set-up"</h2>
                        <crate::pages::sso_settings::SetupLinksPanel base=format!("{TENANTS}/{}/setup-links", tenant.id) />
                    </section>
                    <ExportCard tenant=tenant.clone() />
                    <DeleteCard tenant=tenant />
                }
                    .into_any()
            }
        }}
    }
}

/// What the tenant is.
#[component]
fn TenantFacts(tenant: TenantSummary) -> impl IntoView {
    let sign_in = sign_in_text(&tenant);
    view! {
        <section id="tenant-facts" class="card" aria-labelledby="tenant-title">
            <h2 id="tenant-title" class="card-title">{tenant.name.clone()}</h2>
            <dl class="facts">
                <dt>"Slug"</dt>
                <dd id="tenant-slug-value">
                    <code>{tenant.slug.clone()}</code>
                </dd>
                <dt>"Plan"</dt>
                <dd id="tenant-plan-value">{tenant.plan.as_str()}</dd>
                <dt>"State"</dt>
                <dd id="tenant-status-value">
                    <StatusBadge status=tenant.status />
                </dd>
                <dt>"Active members"</dt>
                <dd id="tenant-members-value">{tenant.active_members}</dd>
                <dt>"Storage used"</dt>
                <dd>{format_bytes(tenant.storage_bytes as f64)}</dd>
                <dt>"Sign-in"</dt>
                <dd id="tenant-sign-in-value">{sign_in}</dd>
                <dt>"Created"</dt>
                <dd>
                    <Timestamp at=tenant.created_at.clone() />
                </dd>
            </dl>
        </section>
    }
}

/// The plan, and changing it (its limits apply at the tenant's next request).
#[component]
fn PlanCard(tenant: TenantSummary, on_changed: Callback<TenantSummary>) -> impl IntoView {
    let api = use_api();
    let plan = RwSignal::new(tenant.plan);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let id = tenant.id.clone();
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let path = format!("{TENANTS}/{id}/plan");
        let change = PlanChange {
            plan: plan.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.put::<_, TenantSummary>(path, &change).await {
                Ok(tenant) => on_changed.run(tenant),
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };
    view! {
        <form id="plan-form" class="card form form-inline" on:submit=on_submit>
            <h2 class="card-title">"Plan"</h2>
            <ErrorSlot id="plan-error" error=error />
            <p class="hint">"A new plan's limits apply from the tenant's next request."</p>
            <div class="form-row">
                <div class="field">
                    <label for="plan-select">"Plan"</label>
                    <select
                        id="plan-select"
                        on:change=move |event| {
                            if let Ok(picked) = event_target_value(&event).parse::<Plan>() {
                                plan.set(picked);
                            }
                        }
                    >
                        <option value="basic" selected=tenant.plan == Plan::Basic>"basic"</option>
                        <option value="pro" selected=tenant.plan == Plan::Pro>"pro"</option>
                    </select>
                </div>
                <button
                    id="change-plan"
                    class="button button-primary"
                    type="submit"
                    disabled=move || busy.get() || plan.get() == tenant.plan
                >
                    "Change plan"
                </button>
            </div>
        </form>
    }
}

/// Suspending (its sign-ins end at once) and resuming.
#[component]
fn StatusCard(tenant: TenantSummary, on_changed: Callback<TenantSummary>) -> impl IntoView {
    let api = use_api();
    let error = RwSignal::new(None::<Problem>);
    let asked = RwSignal::new(None::<Confirmation>);
    let busy = RwSignal::new(false);
    let id = tenant.id.clone();
    let status = tenant.status;
    let change = Callback::new(move |()| {
        let action = if status == TenantStatus::Active {
            "suspend"
        } else {
            "resume"
        };
        let path = format!("{TENANTS}/{id}/{action}");
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api
                .post::<_, TenantSummary>(path, &serde_json::json!({}))
                .await
            {
                Ok(tenant) => on_changed.run(tenant),
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    });
    let name = tenant.name.clone();
    let ask = move |_| {
        if status == TenantStatus::Active {
            asked.set(Some(Confirmation {
                title: format!("Suspend {name}?"),
                message: "Everyone of it is signed out at once, and nobody of it can sign in, call the API \
                          or upload until you resume it."
                    .to_owned(),
                confirm: "Suspend",
                danger: true,
            }));
        } else {
            change.run(());
        }
    };
    view! {
        <section id="status-card" class="card" aria-labelledby="status-title">
            <h2 id="status-title" class="card-title">"Access"</h2>
            <ErrorSlot id="status-error" error=error />
            {match status {
                TenantStatus::Active => {
                    view! { <p class="hint">"Its members can sign in."</p> }.into_any()
                }
                TenantStatus::Suspended => {
                    view! {
                        <p class="hint">
                            "Suspended: nobody of it can sign in. Resuming lets them sign in again; "
                            "sessions from before the suspension stay ended."
                        </p>
                    }
                        .into_any()
                }
                TenantStatus::Deleting => {
                    view! {
                        <p class="hint">
                            "Its deletion did not finish. Delete it again below to finish it."
                        </p>
                    }
                        .into_any()
                }
            }}
            {(status != TenantStatus::Deleting)
                .then(|| {
                    let (id, label, class) = if status == TenantStatus::Active {
                        ("suspend-tenant", "Suspend", "button button-danger-outline")
                    } else {
                        ("resume-tenant", "Resume", "button button-primary")
                    };
                    view! {
                        <button id=id class=class type="button" disabled=move || busy.get() on:click=ask>
                            {label}
                        </button>
                    }
                })}
            <ConfirmDialog request=asked on_confirm=change />
        </section>
    }
}

/// The tenant's export: every row of it and a manifest of its files, as a JSON file.
#[component]
fn ExportCard(tenant: TenantSummary) -> impl IntoView {
    let api = use_api();
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);
    let path = format!("{TENANTS}/{}/export", tenant.id);
    let fallback = format!("{}-export.json", tenant.slug);
    let export = move |_| {
        let path = path.clone();
        let fallback = fallback.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            if let Err(problem) =
                save_export(api, &path, Vec::new(), "application/json", &fallback).await
            {
                error.set(Some(problem));
            }
            busy.set(false);
        });
    };
    view! {
        <section id="export-card" class="card" aria-labelledby="export-title">
            <h2 id="export-title" class="card-title">"Export"</h2>
            <ErrorSlot id="export-error" error=error />
            <p class="hint">
                "Every row of the tenant, table by table, and a manifest of its files (key, size, ETag) in "
                "both buckets, as one JSON file. Offer it to the customer before deleting the tenant."
            </p>
            <button
                id="export-tenant"
                class="button button-secondary"
                type="button"
                disabled=move || busy.get()
                on:click=export
            >
                {move || if busy.get() { "Exporting…" } else { "Download export" }}
            </button>
        </section>
    }
}

/// Deleting the tenant: the operator types its slug to confirm.
#[component]
fn DeleteCard(tenant: TenantSummary) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let navigate = use_navigate();
    let typed = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let slug = tenant.slug.clone();
    let matches = {
        let slug = slug.clone();
        move || typed.get().trim() == slug
    };
    let path = format!("{TENANTS}/{}", tenant.id);
    let name = tenant.name.clone();
    let on_submit = {
        let matches = matches.clone();
        move |event: SubmitEvent| {
            event.prevent_default();
            if busy.get_untracked() || !matches() {
                return;
            }
            let path = path.clone();
            let name = name.clone();
            let navigate = navigate.clone();
            let confirmation = TenantDeletion {
                confirm: typed.get_untracked().trim().to_owned(),
            };
            busy.set(true);
            error.set(None);
            spawn_local(async move {
                match api
                    .delete_with::<_, TenantDeleted>(path, &confirmation)
                    .await
                {
                    Ok(deleted) => {
                        let providers = if deleted.identity_providers_removed {
                            "its identity providers are gone from the user pool"
                        } else {
                            "its identity providers will leave the user pool at the next reconciliation"
                        };
                        notices.show(
                            super::CONSOLE_PATH,
                            format!(
                                "{name} was deleted: its rows, {} recorded files and {} uploads are gone, and \
                                 {providers}.",
                                deleted.files_removed, deleted.uploads_removed
                            ),
                        );
                        navigate(super::CONSOLE_PATH, NavigateOptions::default());
                    }
                    Err(problem) => error.set(Some(problem)),
                }
                busy.set(false);
            });
        }
    };
    view! {
        <form id="delete-form" class="card form danger-zone" on:submit=on_submit>
            <h2 class="card-title">"Delete this tenant"</h2>
            <ErrorSlot id="delete-error" error=error />
            <p class="hint">
                "Everyone of it is signed out, then its files, every row of its data and its identity providers "
                "are removed. This cannot be undone; download the export first."
            </p>
            <div class="form-row">
                <div class="field field-grow">
                    <label for="delete-confirm">
                        "Type " <code>{slug}</code> " to confirm"
                    </label>
                    <input
                        id="delete-confirm"
                        autocomplete="off"
                        prop:value=move || typed.get()
                        on:input=move |event| typed.set(event_target_value(&event))
                    />
                </div>
                <button
                    id="delete-tenant"
                    class="button button-danger"
                    type="submit"
                    disabled=move || busy.get() || !matches()
                >
                    {move || if busy.get() { "Deleting…" } else { "Delete tenant" }}
                </button>
            </div>
        </form>
    }
}
