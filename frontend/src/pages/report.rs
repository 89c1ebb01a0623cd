//! One report: its title, author, times and text, with Edit for its author and admins and Delete (after
//! a confirmation) for admins.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use shared::ErrorCode;
use shared::api::{Me, Report};

use crate::access::{can_delete_report, can_edit_report, use_me};
use crate::api::{Api, REPORTS, item_path, use_api};
use crate::components::{ErrorSlot, Loading, ProblemAlert, Timestamp, set_page_title, use_notices};
use crate::session::Problem;

/// `/reports/:id`.
#[component]
pub fn ReportPage() -> impl IntoView {
    let api = use_api();
    let me = use_me();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let report = LocalResource::new(move || load_report(api, id()));
    let retry = Callback::new(move |()| report.refetch());
    view! {
        <div class="back-link">
            <A href="/reports">"← All reports"</A>
        </div>
        {move || match report.get() {
            None => view! { <Loading label="Loading the report…" /> }.into_any(),
            Some(Err(problem)) => {
                set_page_title("Report");
                view! { <ProblemAlert problem=problem id="report-error" on_retry=retry /> }.into_any()
            }
            Some(Ok(report)) => view! { <ReportView report=report me=me.clone() /> }.into_any(),
        }}
    }
}

/// `GET /api/v1/reports/{id}`, with a not-found message that says what was not found.
pub async fn load_report(api: Api, id: String) -> Result<Report, Problem> {
    let not_found = || Problem {
        code: Some(ErrorCode::NotFound),
        message: "This report does not exist. It may have been deleted.".to_owned(),
    };
    let path = item_path(REPORTS, &id).ok_or_else(not_found)?;
    api.get::<Report>(path).await.map_err(|problem| {
        if problem.code == Some(ErrorCode::NotFound) {
            not_found()
        } else {
            problem
        }
    })
}

/// The loaded report.
#[component]
fn ReportView(report: Report, me: Me) -> impl IntoView {
    set_page_title(&report.title);
    let edit_href = format!("/reports/{}/edit", report.id);
    let edited = report.updated_at != report.created_at;
    view! {
        <article id="report" class="card report" data-report-id=report.id.clone()>
            <header class="report-header">
                <h1 id="report-title-text" class="page-title">
                    {report.title.clone()}
                </h1>
                <div class="page-actions">
                    {can_edit_report(&me, &report)
                        .then(|| {
                            view! {
                                <A href=edit_href attr:id="edit-report" attr:class="button button-secondary">
                                    "Edit"
                                </A>
                            }
                        })}
                </div>
            </header>
            <p class="report-meta">
                "Written by " <span id="report-author">{report.author.name.clone()}</span> " on "
                <Timestamp at=report.created_at.clone() />
                {edited
                    .then(|| {
                        view! {
                            " · last changed "
                            <Timestamp at=report.updated_at.clone() />
                        }
                    })}
            </p>
            <div id="report-body-text" class="report-body">
                {report.body.clone()}
            </div>
        </article>
        {can_delete_report(&me).then(|| view! { <DeleteReport report=report /> })}
    }
}

/// Delete, for admins: a first press asks for confirmation, the second deletes and returns to the list.
#[component]
fn DeleteReport(report: Report) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let navigate = use_navigate();
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let title = report.title.clone();
    let path = item_path(REPORTS, &report.id);

    let delete = move |_| {
        let Some(path) = path.clone() else {
            return;
        };
        let navigate = navigate.clone();
        let title = title.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.delete(path).await {
                Ok(()) => {
                    notices.show("/reports", format!("The report “{title}” was deleted."));
                    navigate("/reports", NavigateOptions::default());
                }
                Err(problem) => {
                    busy.set(false);
                    error.set(Some(problem));
                }
            }
        });
    };

    view! {
        <section class="danger-zone" aria-label="Delete the report">
            <ErrorSlot id="delete-error" error=error />
            {move || {
                if confirming.get() {
                    view! {
                        <div id="delete-confirmation" class="confirm" role="alertdialog" aria-labelledby="delete-question">
                            <p id="delete-question">
                                "Delete this report for everyone in your organisation? This cannot be undone."
                            </p>
                            <div class="actions">
                                <button
                                    id="confirm-delete"
                                    class="button button-danger"
                                    type="button"
                                    disabled=move || busy.get()
                                    on:click=delete.clone()
                                >
                                    {move || if busy.get() { "Deleting…" } else { "Delete report" }}
                                </button>
                                <button
                                    id="cancel-delete"
                                    class="button button-secondary"
                                    type="button"
                                    disabled=move || busy.get()
                                    on:click=move |_| confirming.set(false)
                                >
                                    "Cancel"
                                </button>
                            </div>
                        </div>
                    }
                        .into_any()
                } else {
                    view! {
                        <button
                            id="delete-report"
                            class="button button-danger-outline"
                            type="button"
                            on:click=move |_| confirming.set(true)
                        >
                            "Delete"
                        </button>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
