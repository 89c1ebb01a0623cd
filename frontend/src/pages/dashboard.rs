//! The dashboard, the first page after sign-in: the organisation's numbers, how much of the plan the
//! reports use, the latest report activity and links to what the member can do next.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::api::{Activity, Dashboard, Me};

use crate::access::{can_write, is_admin, use_me};
use crate::api::{DASHBOARD, use_api};
use crate::components::{ExportCsv, Loading, PageHeader, ProblemAlert, Timestamp};
use crate::format::{activity_verb, limit_reached, storage_text, usage_text};

/// `/`.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let api = use_api();
    let me = use_me();
    let dashboard = LocalResource::new(move || api.get::<Dashboard>(DASHBOARD.to_owned()));
    let retry = Callback::new(move |()| dashboard.refetch());
    view! {
        <PageHeader title="Dashboard" />
        <div id="dashboard">
            {move || match dashboard.get() {
                None => view! { <Loading label="Loading the dashboard…" /> }.into_any(),
                Some(Err(problem)) => {
                    view! { <ProblemAlert problem=problem id="dashboard-error" on_retry=retry /> }
                        .into_any()
                }
                Some(Ok(dashboard)) => view! { <DashboardBody dashboard=dashboard me=me.clone() /> }.into_any(),
            }}
        </div>
    }
}

/// The User Timing mark set when the dashboard's figures are on the page and the app answers input: real-user
/// monitoring and the benchmark (`cargo xtask bench`) read the time from navigation to it.
const INTERACTIVE_MARK: &str = "dashboard-interactive";

/// The loaded dashboard.
#[component]
fn DashboardBody(dashboard: Dashboard, me: Me) -> impl IntoView {
    let full = limit_reached(dashboard.reports, dashboard.report_limit);
    // Effects run once the view is in the document.
    Effect::new(move |_| {
        if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
            let _ = performance.mark(INTERACTIVE_MARK);
        }
    });
    view! {
        <div class="stats">
            <Stat id="stat-reports" label="Reports" value=dashboard.reports />
            <Stat id="stat-my-reports" label="Written by you" value=dashboard.my_reports />
            <Stat id="stat-members" label="Active members" value=dashboard.active_members />
            <PlanUsage dashboard=dashboard.clone() />
        </div>
        {full
            .then(|| {
                view! {
                    <div id="plan-limit-reached" class="banner banner-warning" role="status">
                        "Your organisation has reached its plan's report limit. "
                        "An admin can delete reports to make room, or the plan can be upgraded."
                    </div>
                }
            })}
        <div class="dashboard-columns">
            <RecentActivity activity=dashboard.recent_activity.clone() />
            <QuickLinks me=me csv_export=dashboard.csv_export can_create=!full />
        </div>
    }
}

/// One number with its label.
#[component]
fn Stat(id: &'static str, label: &'static str, value: i64) -> impl IntoView {
    view! {
        <section class="card stat" aria-label=label>
            <p class="stat-label">{label}</p>
            <p class="stat-value" id=id>
                {value}
            </p>
        </section>
    }
}

/// The plan: each of its limits with what is used of it (reports, storage, members), a meter where there is
/// a limit, and which features it includes, so a limit is seen coming before it is hit.
#[component]
fn PlanUsage(dashboard: Dashboard) -> impl IntoView {
    let reports = usage_text(dashboard.reports, dashboard.report_limit);
    let report_meter = dashboard.report_limit.map(|limit| {
        view! { <UsageMeter id="plan-meter" value=dashboard.reports as f64 max=limit as f64 label=reports.clone() /> }
    });
    let storage = storage_text(dashboard.storage_used_bytes, dashboard.storage_quota_bytes);
    let storage_meter = dashboard.storage_quota_bytes.map(|quota| {
        view! {
            <UsageMeter
                id="storage-meter"
                value=dashboard.storage_used_bytes as f64
                max=quota as f64
                label=storage.clone()
            />
        }
    });
    let unlimited = |limited: bool| (!limited).then_some(" (no limit on your plan)");
    view! {
        <section class="card stat plan-card" aria-label="Plan and usage">
            <p class="stat-label">
                "Plan " <span id="dashboard-plan" class="badge badge-plan">{dashboard.plan.as_str()}</span>
            </p>
            <dl class="plan-usage-list">
                <dt>"Reports"</dt>
                <dd>
                    <span id="plan-usage">{reports.clone()}</span>
                    <span class="muted">{unlimited(dashboard.report_limit.is_some())}</span>
                    {report_meter}
                </dd>
                <dt>"Storage"</dt>
                <dd>
                    <span id="plan-storage">{storage.clone()}</span>
                    <span class="muted">{unlimited(dashboard.storage_quota_bytes.is_some())}</span>
                    {storage_meter}
                </dd>
                <dt>"Members"</dt>
                <dd>
                    <span id="plan-members">{format!("{} active", dashboard.active_members)}</span>
                    <span class="muted">{unlimited(false)}</span>
                </dd>
                <dt>"CSV export"</dt>
                <dd id="plan-csv">
                    {if dashboard.csv_export { "Included" } else { "Not on this plan" }}
                </dd>
            </dl>
        </section>
    }
}

/// How much of a limit is used: amber from 70 % and red from 90 %.
#[component]
fn UsageMeter(id: &'static str, value: f64, max: f64, label: String) -> impl IntoView {
    view! {
        <meter
            id=id
            class="usage-meter"
            min="0"
            max=max
            low=max * 0.7
            high=max * 0.9
            optimum="0"
            value=value
            aria-label=label.clone()
        >
            {label.clone()}
        </meter>
    }
}

/// The latest report activity, newest first.
#[component]
fn RecentActivity(activity: Vec<Activity>) -> impl IntoView {
    let empty = activity.is_empty();
    view! {
        <section class="card activity" aria-labelledby="activity-title">
            <h2 id="activity-title" class="card-title">"Recent activity"</h2>
            {empty.then(|| view! { <p class="muted" id="no-activity">"No report activity yet."</p> })}
            <ul id="recent-activity" class="activity-list">
                {activity
                    .into_iter()
                    .map(|entry| {
                        let href = format!("/reports/{}", entry.report_id);
                        view! {
                            <li class="activity-item" data-report-id=entry.report_id.clone()>
                                <span>
                                    <strong>{entry.author_name}</strong>
                                    " "
                                    {activity_verb(entry.kind)}
                                    " "
                                    <A href=href>{entry.report_title}</A>
                                </span>
                                <Timestamp at=entry.at />
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// Links to what the member can do from here; each only when their role allows it.
#[component]
fn QuickLinks(me: Me, csv_export: bool, can_create: bool) -> impl IntoView {
    let write = can_write(&me) && can_create;
    let admin = is_admin(&me);
    view! {
        <section class="card quick-links" aria-labelledby="quick-links-title">
            <h2 id="quick-links-title" class="card-title">"Quick links"</h2>
            <ul id="quick-links" class="link-list">
                {write
                    .then(|| {
                        view! {
                            <li>
                                <A href="/reports/new" attr:id="quick-new-report">
                                    "Write a report"
                                </A>
                            </li>
                        }
                    })}
                <li>
                    <A href="/reports" attr:id="quick-reports">
                        "Browse reports"
                    </A>
                </li>
                {csv_export
                    .then(|| {
                        view! {
                            <li>
                                <ExportCsv
                                    id="quick-export-csv"
                                    class="button button-link"
                                    label="Export reports as CSV"
                                />
                            </li>
                        }
                    })}
                {admin
                    .then(|| {
                        view! {
                            <li>
                                <A href="/invitations" attr:id="quick-invite">
                                    "Invite someone"
                                </A>
                            </li>
                            <li>
                                <A href="/members" attr:id="quick-members">
                                    "Manage members"
                                </A>
                            </li>
                            <li>
                                <A href="/audit" attr:id="quick-audit">
                                    "Review the audit log"
                                </A>
                            </li>
                        }
                    })}
                <li>
                    <A href="/profile" attr:id="quick-profile">
                        "Your profile"
                    </A>
                </li>
            </ul>
        </section>
    }
}
