//! The reports page: the organisation's reports, newest first and page by page, with "New report" for
//! those who may write and "Export CSV" when the plan includes it.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::{Dashboard, Report, ReportPage};

use crate::access::{can_write, use_me};
use crate::api::{Api, DASHBOARD, PAGE_SIZE, REPORTS, use_api};
use crate::components::{ExportCsv, LoadMore, PageHeader, Timestamp};
use crate::paging::{LoadStatus, Pages};

/// `/reports`.
#[component]
pub fn ReportsPage() -> impl IntoView {
    let api = use_api();
    let writer = can_write(&use_me());
    let pages = Pages::<Report>::new();
    // The dashboard says whether the plan includes CSV export; without its answer the link stays hidden.
    let dashboard = LocalResource::new(move || api.get::<Dashboard>(DASHBOARD.to_owned()));
    let csv_export = move || {
        dashboard
            .get()
            .and_then(Result::ok)
            .is_some_and(|dashboard| dashboard.csv_export)
    };
    // A plan without the export says so where the button would be.
    let plan_without_csv = move || {
        dashboard
            .get()
            .and_then(Result::ok)
            .filter(|dashboard| !dashboard.csv_export)
            .map(|dashboard| dashboard.plan)
    };

    let on_reload = Callback::new(move |()| pages.reload(move |cursor| fetch(api, cursor)));
    let on_load_more = Callback::new(move |()| pages.load_more(move |cursor| fetch(api, cursor)));
    on_reload.run(());

    view! {
        <PageHeader title="Reports">
            {move || {
                plan_without_csv()
                    .map(|plan| {
                        view! {
                            <span id="csv-not-on-plan" class="muted">
                                {format!("CSV export is not part of the {} plan", plan.as_str())}
                            </span>
                        }
                    })
            }}
            {move || {
                csv_export()
                    .then(|| {
                        view! {
                            <ExportCsv id="export-csv" class="button button-secondary" label="Export CSV" />
                        }
                    })
            }}
            {writer
                .then(|| {
                    view! {
                        <A href="/reports/new" attr:id="new-report" attr:class="button button-primary">
                            "New report"
                        </A>
                    }
                })}
        </PageHeader>
        <section class="card list-card" aria-label="Reports">
            <ReportList pages=pages />
            <EmptyReports pages=pages offer_create=writer />
            <LoadMore
                pages=pages
                on_load_more=on_load_more
                on_reload=on_reload
                loading_label="Loading reports…"
            />
        </section>
    }
}

/// One page of reports from the API, as rows and the next cursor.
async fn fetch(
    api: Api,
    cursor: Option<String>,
) -> Result<(Vec<Report>, Option<String>), crate::session::Problem> {
    let mut query = vec![("limit", PAGE_SIZE.to_owned())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let page = api
        .get_with::<ReportPage>(REPORTS.to_owned(), query)
        .await?;
    Ok((page.items, page.next_cursor))
}

/// The reports loaded so far.
#[component]
fn ReportList(pages: Pages<Report>) -> impl IntoView {
    view! {
        <ul id="report-list" class="report-list">
            <For each=move || pages.items.get() key=|report| report.id.clone() let:report>
                <ReportRow report=report />
            </For>
        </ul>
    }
}

/// One report in the list: its title (opening it), author and last change.
#[component]
fn ReportRow(report: Report) -> impl IntoView {
    let href = format!("/reports/{}", report.id);
    view! {
        <li class="report-item" data-report-id=report.id.clone()>
            <A href=href attr:class="report-link">
                {report.title}
            </A>
            <span class="report-meta">
                "by " <span class="report-author">{report.author.name}</span> " · updated "
                <Timestamp at=report.updated_at />
            </span>
        </li>
    }
}

/// Said when the organisation has no reports at all.
#[component]
fn EmptyReports(pages: Pages<Report>, offer_create: bool) -> impl IntoView {
    move || {
        let empty = pages.status.get() == LoadStatus::Ready && pages.items.with(Vec::is_empty);
        empty.then(|| {
            view! {
                <div id="no-reports" class="empty-state">
                    <p>"No reports yet."</p>
                    {offer_create
                        .then(|| {
                            view! {
                                <A href="/reports/new" attr:class="button button-primary">
                                    "Write the first report"
                                </A>
                            }
                        })}
                </div>
            }
        })
    }
}
