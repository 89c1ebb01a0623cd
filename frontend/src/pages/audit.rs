//! The audit log page (admins): who did what to whom, when and from where, newest first, filtered by
//! action, person, target and a range of days (in the reader's time zone), page by page, each event's whole
//! record a click away, and the filtered log exported as CSV or JSON.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{AuditAction, AuditEvent, AuditPage as AuditLogPage, Member, MemberPage};

use crate::api::{AUDIT, AUDIT_EXPORT, Api, MEMBERS, PAGE_SIZE, use_api};
use crate::components::{AdminOnly, ErrorSlot, LoadMore, PageHeader, Timestamp};
use crate::downloads::save_export;
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
    /// A member id (the person who acted), or empty for everyone.
    actor: String,
    /// Text the target (an email, a title, a file name) contains, or empty.
    target: String,
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
        if !self.actor.is_empty() {
            query.push(("actor", self.actor.clone()));
        }
        if !self.target.trim().is_empty() {
            query.push(("target", self.target.trim().to_owned()));
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
    // The people to filter by: the organisation's members (the first hundred, by name).
    let people = RwSignal::new(Vec::<Member>::new());
    spawn_local(async move {
        let query = vec![("sort", "name".to_owned()), ("limit", "100".to_owned())];
        if let Ok(page) = api.get_with::<MemberPage>(MEMBERS.to_owned(), query).await {
            people.set(page.items);
        }
    });
    let export_error = RwSignal::new(None::<Problem>);
    let export = move |json: bool| {
        let mut query = filters.get_untracked().query();
        query.push(("format", if json { "json" } else { "csv" }.to_owned()));
        export_error.set(None);
        spawn_local(async move {
            let (mime, name) = if json {
                ("application/json", "audit.json")
            } else {
                ("text/csv;charset=utf-8", "audit.csv")
            };
            if let Err(problem) = save_export(api, AUDIT_EXPORT, query, mime, name).await {
                export_error.set(Some(problem));
            }
        });
    };

    view! {
        <PageHeader title="Audit log">
            <button id="export-audit-csv" class="button button-secondary" type="button" on:click=move |_| export(false)>
                "Export CSV"
            </button>
            <button id="export-audit-json" class="button button-secondary" type="button" on:click=move |_| export(true)>
                "Export JSON"
            </button>
        </PageHeader>
        <p class="hint" id="audit-retention">
            "Events are kept for as long as your organisation uses the service, and nobody, admins included, "
            "can change or delete them. An export holds the newest 10,000 events that match the filters."
        </p>
        <ErrorSlot id="export-error" error=export_error />
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
                <label for="audit-actor">"Person"</label>
                <select
                    id="audit-actor"
                    prop:value=move || filters.get().actor
                    on:change=move |event| set_filter(|f, v| f.actor = v, event_target_value(&event))
                >
                    <option value="">"Everyone"</option>
                    {move || {
                        people
                            .get()
                            .into_iter()
                            .map(|member| {
                                view! {
                                    <option value=member.id.clone()>
                                        {format!("{} ({})", member.name, member.email)}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </div>
            <div class="field">
                <label for="audit-target">"Target"</label>
                <input
                    id="audit-target"
                    type="search"
                    placeholder="Email, title or file"
                    maxlength="200"
                    prop:value=move || filters.get().target
                    on:change=move |event| set_filter(|f, v| f.target = v, event_target_value(&event))
                />
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

/// One event, and its whole record when asked for.
#[component]
fn AuditRow(event: AuditEvent) -> impl IntoView {
    let open = RwSignal::new(false);
    let record = event.clone();
    view! {
        <tr
            class="audit-event"
            data-action=event.action.as_str()
            data-actor-email=event.actor.as_ref().map(|actor| actor.email.clone())
        >
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
                <button
                    class="button button-link audit-more"
                    type="button"
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|open| *open = !*open)
                >
                    {move || if open.get() { "Less" } else { "More" }}
                </button>
            </td>
        </tr>
        {move || open.get().then(|| view! { <AuditRecord event=record.clone() /> })}
    }
}

/// An event's whole record: its ids, the exact time, and the details as stored.
#[component]
fn AuditRecord(event: AuditEvent) -> impl IntoView {
    let details = serde_json::to_string_pretty(&event.details).unwrap_or_default();
    view! {
        <tr class="audit-record">
            <td colspan="6">
                <dl class="facts">
                    <dt>"Event"</dt>
                    <dd>
                        <code>{event.id.clone()}</code>
                    </dd>
                    <dt>"At"</dt>
                    <dd>
                        <code>{event.at.clone()}</code>
                    </dd>
                    <dt>"Action"</dt>
                    <dd>
                        <code>{event.action.as_str()}</code>
                    </dd>
                    <dt>"Actor"</dt>
                    <dd>
                        {event
                            .actor
                            .map(|actor| format!("{} <{}>, member {}", actor.name, actor.email, actor.id))
                            .unwrap_or_else(|| "the system".to_owned())}
                    </dd>
                    <dt>"Target"</dt>
                    <dd>
                        {event
                            .target
                            .map(|target| format!("{} {} ({})", target.kind, target.label, target.id))
                            .unwrap_or_else(|| "none".to_owned())}
                    </dd>
                    <dt>"Source IP"</dt>
                    <dd>{event.source_ip.unwrap_or_else(|| "none".to_owned())}</dd>
                    <dt>"Details"</dt>
                    <dd>
                        <pre class="audit-json">{details}</pre>
                    </dd>
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
            actor: "m1".into(),
            target: " dana ".into(),
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
                ("actor", "m1".to_owned()),
                ("target", "dana".to_owned()),
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
