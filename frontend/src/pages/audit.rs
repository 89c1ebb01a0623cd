//! The audit log page (admins): who did what to whom, when and from where, newest first, filtered by
//! action and by a range of days (in the reader's time zone), page by page.

use leptos::prelude::*;
use shared::api::{AuditAction, AuditEvent, AuditPage as AuditLogPage};

use crate::api::{AUDIT, Api, PAGE_SIZE, use_api};
use crate::components::{AdminOnly, LoadMore, PageHeader, Timestamp};
use crate::format::{action_label, detail_lines};
use crate::paging::{LoadStatus, Pages};
use crate::session::Problem;
use crate::time::local_day_bound;

/// `/audit`.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <AdminOnly title="Audit log">
            <AuditLog />
        </AdminOnly>
    }
}

/// The filters as the form holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Filters {
    /// An action's wire name, or empty for every action.
    action: String,
    /// A `YYYY-MM-DD` day, or empty.
    since: String,
    /// A `YYYY-MM-DD` day, or empty.
    until: String,
}

impl Filters {
    /// The query parameters the filters stand for, the days taken in this browser's time zone.
    fn query(&self) -> Vec<(&'static str, String)> {
        self.query_with(local_day_bound)
    }

    /// The query parameters, with `day_bound(day, end)` turning a picked day into the instant it starts
    /// (or, with `end`, ends).
    fn query_with(
        &self,
        day_bound: impl Fn(&str, bool) -> Option<String>,
    ) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(action) = AuditAction::parse(&self.action) {
            query.push(("action", action.as_str().to_owned()));
        }
        if let Some(since) = day_bound(&self.since, false) {
            query.push(("since", since));
        }
        if let Some(until) = day_bound(&self.until, true) {
            query.push(("until", until));
        }
        query
    }

    fn is_empty(&self) -> bool {
        *self == Filters::default()
    }
}

/// The filters, the table and its paging.
#[component]
fn AuditLog() -> impl IntoView {
    let api = use_api();
    let pages = Pages::<AuditEvent>::new();
    let filters = RwSignal::new(Filters::default());
    let on_reload = Callback::new(move |()| {
        let current = filters.get_untracked();
        pages.reload(move |cursor| fetch(api, current, cursor));
    });
    let on_load_more = Callback::new(move |()| {
        let current = filters.get_untracked();
        pages.load_more(move |cursor| fetch(api, current, cursor));
    });
    on_reload.run(());
    let set_filter = move |change: fn(&mut Filters, String), value: String| {
        filters.update(|filters| change(filters, value));
        on_reload.run(());
    };

    view! {
        <PageHeader title="Audit log" />
        <form id="audit-filters" class="card filters" on:submit=|event| event.prevent_default()>
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select
                    id="audit-action"
                    prop:value=move || filters.get().action
                    on:change=move |event| set_filter(|f, v| f.action = v, event_target_value(&event))
                >
                    <option value="">"All actions"</option>
                    {AuditAction::ALL
                        .into_iter()
                        .map(|action| view! { <option value=action.as_str()>{action_label(action)}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-since">"From"</label>
                <input
                    id="audit-since"
                    type="date"
                    prop:value=move || filters.get().since
                    on:change=move |event| set_filter(|f, v| f.since = v, event_target_value(&event))
                />
            </div>
            <div class="field">
                <label for="audit-until">"To"</label>
                <input
                    id="audit-until"
                    type="date"
                    prop:value=move || filters.get().until
                    on:change=move |event| set_filter(|f, v| f.until = v, event_target_value(&event))
                />
            </div>
            <button
                id="clear-filters"
                class="button button-secondary"
                type="button"
                disabled=move || filters.with(Filters::is_empty)
                on:click=move |_| {
                    filters.set(Filters::default());
                    on_reload.run(());
                }
            >
                "Clear filters"
            </button>
        </form>
        <section class="card table-card">
            <div class="table-scroll">
                <table id="audit-table" class="table audit-table">
                    <thead>
                        <tr>
                            <th scope="col">"Time"</th>
                            <th scope="col">"Actor"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Target"</th>
                            <th scope="col">"Source IP"</th>
                            <th scope="col">"Details"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || pages.items.get() key=|event| event.id.clone() let:event>
                            <AuditRow event=event />
                        </For>
                    </tbody>
                </table>
            </div>
            {move || {
                (pages.status.get() == LoadStatus::Ready && pages.items.with(Vec::is_empty))
                    .then(|| view! { <p id="no-events" class="muted empty-state">"No events match these filters."</p> })
            }}
            <LoadMore
                pages=pages
                on_load_more=on_load_more
                on_reload=on_reload
                loading_label="Loading the audit log…"
            />
        </section>
    }
}

/// One page of the log from the API, as rows and the next cursor.
async fn fetch(
    api: Api,
    filters: Filters,
    cursor: Option<String>,
) -> Result<(Vec<AuditEvent>, Option<String>), Problem> {
    let mut query = filters.query();
    query.push(("limit", PAGE_SIZE.to_owned()));
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let page = api
        .get_with::<AuditLogPage>(AUDIT.to_owned(), query)
        .await?;
    Ok((page.items, page.next_cursor))
}

/// One event.
#[component]
fn AuditRow(event: AuditEvent) -> impl IntoView {
    view! {
        <tr class="audit-event" data-action=event.action.as_str()>
            <td class="audit-time">
                <Timestamp at=event.at.clone() seconds=true />
            </td>
            <td class="audit-actor">
                {match event.actor.clone() {
                    Some(actor) => {
                        view! {
                            <span class="actor-name">{actor.name}</span>
                            <span class="actor-email muted">{actor.email}</span>
                        }
                            .into_any()
                    }
                    None => view! { <span class="muted">"System"</span> }.into_any(),
                }}
            </td>
            <td class="audit-action">{action_label(event.action)}</td>
            <td class="audit-target">
                {match event.target.clone() {
                    Some(target) => {
                        view! {
                            <span class="target-kind muted">{target.kind}</span>
                            <span class="target-label">{target.label}</span>
                        }
                            .into_any()
                    }
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td class="audit-ip">{event.source_ip.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td class="audit-details">
                <dl class="details">
                    {detail_lines(&event.details)
                        .into_iter()
                        .map(|(name, value)| view! {
                            <dt>{name}</dt>
                            <dd>{value}</dd>
                        })
                        .collect_view()}
                </dl>
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_documented_query_parameters() {
        let filters = Filters {
            action: "member_role_changed".into(),
            since: "2025-06-01".into(),
            until: "2025-06-30".into(),
        };
        // The browser's `Date` turns a day into its local bounds; here a stand-in names them.
        let bound = |day: &str, end: bool| {
            crate::time::parse_day(day)
                .map(|_| format!("{day} {}", if end { "end" } else { "start" }))
        };
        assert_eq!(
            filters.query_with(bound),
            vec![
                ("action", "member_role_changed".to_owned()),
                ("since", "2025-06-01 start".to_owned()),
                ("until", "2025-06-30 end".to_owned()),
            ]
        );
    }

    #[test]
    fn empty_or_unknown_filters_ask_for_everything() {
        assert!(Filters::default().query().is_empty());
        let unknown = Filters {
            action: "drop_table".into(),
            ..Filters::default()
        };
        assert!(unknown.query().is_empty());
    }
}
