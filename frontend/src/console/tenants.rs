//! `/operator`: every tenant (search by name or slug) with its plan, state, members, storage and sign-in
//! set-up, and the form that creates a tenant and invites its first admin.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use shared::Plan;
use shared::api::{NewTenant, TenantList, TenantSummary};

use super::TENANTS;
use crate::api::use_api;
use crate::components::{
    ErrorSlot, Loading, PageHeader, ProblemAlert, SubmitButton, Timestamp, use_notices,
};
use crate::format::format_bytes;
use crate::session::Problem;

/// Where the list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Listed {
    Loading,
    Loaded(Vec<TenantSummary>),
    Failed(Problem),
}

/// `/operator`.
#[component]
pub fn TenantsPage() -> impl IntoView {
    let api = use_api();
    let search = RwSignal::new(String::new());
    let listed = RwSignal::new(Listed::Loading);
    let reload = Callback::new(move |()| {
        listed.set(Listed::Loading);
        let q = search.get_untracked().trim().to_owned();
        spawn_local(async move {
            let query = if q.is_empty() {
                Vec::new()
            } else {
                vec![("q", q)]
            };
            let answer = api.get_with::<TenantList>(TENANTS.to_owned(), query).await;
            listed.set(match answer {
                Ok(list) => Listed::Loaded(list.items),
                Err(problem) => Listed::Failed(problem),
            });
        });
    });
    reload.run(());
    let on_search = move |event: SubmitEvent| {
        event.prevent_default();
        reload.run(());
    };

    view! {
        <PageHeader title="Tenants" />
        <NewTenantForm />
        <section class="card table-card" aria-labelledby="tenants-title">
            <h2 id="tenants-title" class="card-title">"All tenants"</h2>
            <form id="tenant-search" class="form form-inline" role="search" on:submit=on_search>
                <div class="field field-grow">
                    <label for="tenant-search-input">"Name or slug contains"</label>
                    <input
                        id="tenant-search-input"
                        type="search"
                        maxlength="100"
                        prop:value=move || search.get()
                        on:input=move |event| search.set(event_target_value(&event))
                    />
                </div>
                <button id="tenant-search-submit" class="button button-secondary" type="submit">
                    "Search"
                </button>
            </form>
            {move || match listed.get() {
                Listed::Loading => view! { <Loading label="Loading tenants…" /> }.into_any(),
                Listed::Failed(problem) => {
                    view! { <ProblemAlert problem=problem id="tenants-error" on_retry=reload /> }.into_any()
                }
                Listed::Loaded(items) if items.is_empty() => {
                    view! { <p id="no-tenants" class="muted">"No tenant matches."</p> }.into_any()
                }
                Listed::Loaded(items) => view! { <TenantTable items=items /> }.into_any(),
            }}
        </section>
    }
}

/// The tenants as a table.
#[component]
fn TenantTable(items: Vec<TenantSummary>) -> impl IntoView {
    view! {
        <table id="tenants" class="table">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Slug"</th>
                    <th scope="col">"Plan"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Members"</th>
                    <th scope="col">"Storage"</th>
                    <th scope="col">"Sign-in"</th>
                    <th scope="col">"Created"</th>
                </tr>
            </thead>
            <tbody>
                {items
                    .into_iter()
                    .map(|tenant| {
                        let href = format!("/operator/tenants/{}", tenant.id);
                        let name = tenant.name.clone();
                        let sign_in = sign_in_text(&tenant);
                        view! {
                            <tr class="tenant-row" data-tenant-slug=tenant.slug.clone()>
                                <td>
                                    <A href=href attr:class="tenant-link">{name}</A>
                                </td>
                                <td>
                                    <code>{tenant.slug.clone()}</code>
                                </td>
                                <td>
                                    <span class="badge badge-plan">{tenant.plan.as_str()}</span>
                                </td>
                                <td>
                                    <StatusBadge status=tenant.status />
                                </td>
                                <td class="numeric">{tenant.active_members}</td>
                                <td class="numeric">
                                    {format_bytes(tenant.storage_bytes as f64)}
                                </td>
                                <td>{sign_in}</td>
                                <td>
                                    <Timestamp at=tenant.created_at.clone() />
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// A tenant's state as a chip.
#[component]
pub fn StatusBadge(status: shared::TenantStatus) -> impl IntoView {
    view! {
        <span class=format!("badge badge-status badge-status-{}", status.as_str())>{status.as_str()}</span>
    }
}

/// How far a tenant's sign-in is set up, in words.
pub fn sign_in_text(tenant: &TenantSummary) -> String {
    let providers = tenant.sign_in.identity_providers;
    let domains = tenant.sign_in.verified_domains;
    if providers == 0 {
        return "Not set up".to_owned();
    }
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "{}, {}",
        plural(providers, "provider", "providers"),
        plural(domains, "verified domain", "verified domains")
    )
}

/// A slug suggested from a name: lower-case letters and digits, other runs as one hyphen.
pub fn suggested_slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let start = slug
        .find(|c: char| c.is_ascii_lowercase())
        .unwrap_or(slug.len());
    slug[start..].chars().take(63).collect()
}

/// Creates a tenant and invites its first admin; then opens the new tenant's page.
#[component]
fn NewTenantForm() -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let slug_edited = RwSignal::new(false);
    let plan = RwSignal::new(Plan::Basic);
    let admin_email = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let new = NewTenant {
            name: name.get_untracked().trim().to_owned(),
            slug: slug.get_untracked().trim().to_owned(),
            plan: plan.get_untracked(),
            admin_email: admin_email.get_untracked().trim().to_owned(),
        };
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api.post::<_, TenantSummary>(TENANTS.to_owned(), &new).await {
                Ok(created) => {
                    let path = format!("/operator/tenants/{}", created.id);
                    notices.show(
                        path.clone(),
                        format!(
                            "{} was created. {} is invited as its admin: they join at their first sign-in \
                             through the tenant's identity provider, once its sign-in is set up.",
                            created.name, new.admin_email
                        ),
                    );
                    navigate(&path, NavigateOptions::default());
                }
                Err(problem) => error.set(Some(problem)),
            }
            busy.set(false);
        });
    };

    view! {
        <form id="new-tenant-form" class="card form" on:submit=on_submit>
            <h2 class="card-title">"New tenant"</h2>
            <ErrorSlot id="new-tenant-error" error=error />
            <div class="form-row">
                <div class="field field-grow">
                    <label for="tenant-name">"Name"</label>
                    <input
                        id="tenant-name"
                        required=true
                        maxlength="100"
                        autocomplete="off"
                        prop:value=move || name.get()
                        on:input=move |event| {
                            let typed = event_target_value(&event);
                            if !slug_edited.get_untracked() {
                                slug.set(suggested_slug(&typed));
                            }
                            name.set(typed);
                        }
                    />
                </div>
                <div class="field">
                    <label for="tenant-slug">"Slug"</label>
                    <input
                        id="tenant-slug"
                        required=true
                        pattern="[a-z][a-z0-9\\-]{1,62}"
                        title="A lower-case letter, then 1 to 62 lower-case letters, digits or hyphens"
                        autocomplete="off"
                        prop:value=move || slug.get()
                        on:input=move |event| {
                            slug_edited.set(true);
                            slug.set(event_target_value(&event));
                        }
                    />
                </div>
                <div class="field">
                    <label for="tenant-plan">"Plan"</label>
                    <select
                        id="tenant-plan"
                        on:change=move |event| {
                            if let Ok(picked) = event_target_value(&event).parse::<Plan>() {
                                plan.set(picked);
                            }
                        }
                    >
                        <option value="basic" selected=true>"basic"</option>
                        <option value="pro">"pro"</option>
                    </select>
                </div>
            </div>
            <div class="form-row">
                <div class="field field-grow">
                    <label for="tenant-admin-email">"First admin's work email"</label>
                    <input
                        id="tenant-admin-email"
                        type="email"
                        required=true
                        autocomplete="off"
                        placeholder="admin@customer.example"
                        prop:value=move || admin_email.get()
                        on:input=move |event| admin_email.set(event_target_value(&event))
                    />
                </div>
                <SubmitButton id="create-tenant" busy=busy label="Create tenant" busy_label="Creating…" />
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_is_suggested_from_the_name() {
        assert_eq!(suggested_slug("Initech"), "initech");
        assert_eq!(suggested_slug("  Big Co. (EU) "), "big-co-eu");
        assert_eq!(suggested_slug("3M Europe"), "m-europe");
        assert_eq!(suggested_slug("Société Générale"), "soci-t-g-n-rale");
        assert_eq!(suggested_slug(""), "");
    }
}
