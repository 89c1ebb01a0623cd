//! Writing a new report and editing one: the same form, offered only to those who may use it, with the
//! server's own message when it refuses (a title it does not accept, the plan's limit, another's report).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate, use_params_map};
use shared::api::{NewReport, Report, ReportPatch};

use crate::access::{can_edit_report, can_write, use_me};
use crate::api::{REPORTS, item_path, use_api};
use crate::components::{ErrorSlot, Loading, PageHeader, ProblemAlert, SubmitButton, use_notices};
use crate::drafts::{self, ReportDraft, draft_key};
use crate::pages::report::load_report;
use crate::session::Problem;

/// The longest title the API accepts, in characters.
const TITLE_MAX_CHARS: usize = 200;
/// The longest body the API accepts, in characters.
const BODY_MAX_CHARS: usize = 20_000;

/// `/reports/new`.
#[component]
pub fn NewReportPage() -> impl IntoView {
    let me = use_me();
    if !can_write(&me) {
        return view! {
            <PageHeader title="New report" />
            <section id="not-allowed" class="card empty-state">
                <p>"Your role lets you read reports, not write them."</p>
                <A href="/reports" attr:class="button button-secondary">
                    "Back to the reports"
                </A>
            </section>
        }
        .into_any();
    }
    view! {
        <PageHeader title="New report" />
        <ReportForm report=None />
    }
    .into_any()
}

/// `/reports/:id/edit`.
#[component]
pub fn EditReportPage() -> impl IntoView {
    let api = use_api();
    let me = use_me();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let report = LocalResource::new(move || load_report(api, id()));
    let retry = Callback::new(move |()| report.refetch());
    view! {
        <PageHeader title="Edit report" />
        {move || match report.get() {
            None => view! { <Loading label="Loading the report…" /> }.into_any(),
            Some(Err(problem)) => {
                view! { <ProblemAlert problem=problem id="report-error" on_retry=retry /> }.into_any()
            }
            Some(Ok(report)) if !can_edit_report(&me, &report) => {
                let back = format!("/reports/{}", report.id);
                view! {
                    <section id="not-allowed" class="card empty-state">
                        <p>"Only the report's author or an admin can edit it."</p>
                        <A href=back attr:class="button button-secondary">
                            "Back to the report"
                        </A>
                    </section>
                }
                    .into_any()
            }
            Some(Ok(report)) => view! { <ReportForm report=Some(report) /> }.into_any(),
        }}
    }
}

/// The title and text of a report; creates one when `report` is `None`, saves the changes otherwise.
///
/// What is typed is kept as a draft in the tab ([`drafts`]) until it is saved or cancelled, so a session
/// that ends meanwhile loses nothing: after signing in again the same page offers the draft back.
#[component]
fn ReportForm(report: Option<Report>) -> impl IntoView {
    let api = use_api();
    let me = use_me();
    let notices = use_notices();
    let navigate = use_navigate();
    let key = draft_key(&me.user.id, &use_location().pathname.get_untracked());
    let restored = drafts::load(&key);
    let saved_text = ReportDraft {
        title: report
            .as_ref()
            .map(|report| report.title.clone())
            .unwrap_or_default(),
        body: report
            .as_ref()
            .map(|report| report.body.clone())
            .unwrap_or_default(),
    };
    let restored = restored.filter(|draft| *draft != saved_text);
    let draft_restored = restored.is_some();
    let start = restored.unwrap_or(saved_text);
    let title = RwSignal::new(start.title);
    let body = RwSignal::new(start.body);
    let keep_draft = {
        let key = key.clone();
        move || {
            drafts::save(
                &key,
                &ReportDraft {
                    title: title.get_untracked(),
                    body: body.get_untracked(),
                },
            );
        }
    };
    let keep_title = keep_draft.clone();
    let keep_body = keep_draft;
    let discard_on_cancel = {
        let key = key.clone();
        move |_| drafts::discard(&key)
    };
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let existing_id = report.as_ref().map(|report| report.id.clone());
    let cancel_href = existing_id
        .as_ref()
        .map(|id| format!("/reports/{id}"))
        .unwrap_or_else(|| "/reports".to_owned());
    let submit_label = if existing_id.is_some() {
        "Save changes"
    } else {
        "Create report"
    };

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let navigate = navigate.clone();
        let existing_id = existing_id.clone();
        let key = key.clone();
        let title = title.get_untracked();
        let body = body.get_untracked();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let saved = match existing_id {
                Some(id) => match item_path(REPORTS, &id) {
                    Some(path) => {
                        let patch = ReportPatch {
                            title: Some(title),
                            body: Some(body),
                        };
                        api.patch::<_, Report>(path, &patch).await
                    }
                    None => Err(Problem {
                        code: None,
                        message: "This report cannot be saved from here.".to_owned(),
                    }),
                },
                None => {
                    api.post::<_, Report>(REPORTS.to_owned(), &NewReport { title, body })
                        .await
                }
            };
            match saved {
                Ok(report) => {
                    drafts::discard(&key);
                    let path = format!("/reports/{}", report.id);
                    notices.show(path.clone(), "The report was saved.");
                    navigate(&path, NavigateOptions::default());
                }
                Err(problem) => {
                    busy.set(false);
                    error.set(Some(problem));
                }
            }
        });
    };

    view! {
        <form id="report-form" class="card form" on:submit=on_submit>
            {draft_restored
                .then(|| {
                    view! {
                        <div id="draft-restored" class="banner banner-info" role="status">
                            "Your unsaved draft was restored. Save it, or cancel to discard it."
                        </div>
                    }
                })}
            <ErrorSlot id="form-error" error=error />
            <div class="field">
                <label for="report-title">"Title"</label>
                <input
                    id="report-title"
                    name="title"
                    type="text"
                    required=true
                    maxlength=TITLE_MAX_CHARS.to_string()
                    autocomplete="off"
                    prop:value=move || title.get()
                    on:input=move |event| {
                        title.set(event_target_value(&event));
                        keep_title();
                    }
                />
            </div>
            <div class="field">
                <label for="report-body">"Text"</label>
                <textarea
                    id="report-body"
                    name="body"
                    rows="12"
                    maxlength=BODY_MAX_CHARS.to_string()
                    prop:value=move || body.get()
                    on:input=move |event| {
                        body.set(event_target_value(&event));
                        keep_body();
                    }
                ></textarea>
                <p class="hint" id="report-body-count">
                    {move || {
                        format!(
                            "{} of {} characters",
                            body.with(|body| body.chars().count()),
                            BODY_MAX_CHARS,
                        )
                    }}
                </p>
            </div>
            <div class="actions">
                <SubmitButton id="save-report" busy=busy label=submit_label busy_label="Saving…" />
                <A
                    href=cancel_href
                    attr:id="cancel-report"
                    attr:class="button button-secondary"
                    on:click=discard_on_cancel
                >
                    "Cancel"
                </A>
            </div>
        </form>
    }
}
