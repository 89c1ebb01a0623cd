//! Small pieces every page uses: loading and error states, page headers, times, badges, "Load more", form
//! submit buttons, table heads, the admin-only guard and the one-line notices that confirm a change after a
//! page change.

use leptos::prelude::*;
use leptos_router::hooks::use_location;
use shared::Role;

use crate::access::{is_admin, use_me};
use crate::paging::{LoadStatus, Pages};
use crate::session::Problem;
use crate::time::shown_time;

/// Sets the browser tab's title for the page being shown (and the history entry's name).
pub fn set_page_title(page: &str) {
    document().set_title(&format!("{page} · SaaS Reference"));
}

/// A form's primary submit button: disabled while the form is being sent, and saying so (`busy_label`).
#[component]
pub fn SubmitButton(
    /// The element id (tests and labels refer to it).
    id: &'static str,
    /// Whether the form is being sent.
    busy: RwSignal<bool>,
    /// The label at rest.
    label: &'static str,
    /// The label while sending (`Saving…`).
    busy_label: &'static str,
) -> impl IntoView {
    view! {
        <button id=id class="button button-primary" type="submit" disabled=move || busy.get()>
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}

/// The head of a table whose rows end with actions: the column names, then a column named for screen
/// readers only.
#[component]
pub fn ActionTableHead(
    /// The names of the columns before the actions.
    columns: &'static [&'static str],
) -> impl IntoView {
    view! {
        <thead>
            <tr>
                {columns.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view()}
                <th scope="col">
                    <span class="visually-hidden">"Actions"</span>
                </th>
            </tr>
        </thead>
    }
}

/// A page's title, with the page's main actions on the right.
#[component]
pub fn PageHeader(
    /// The page's name.
    title: &'static str,
    /// Buttons and links for what the page is for.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    set_page_title(title);
    view! {
        <div class="page-header">
            <h1 class="page-title">{title}</h1>
            <div class="page-actions">{children.map(|children| children())}</div>
        </div>
    }
}

/// Says that something is on its way.
#[component]
pub fn Loading(
    /// What is loading, as a sentence ("Loading reports…").
    label: &'static str,
) -> impl IntoView {
    view! {
        <div class="loading inline-loading" role="status" data-loading="true">
            <span class="spinner" aria-hidden="true"></span>
            <span>{label}</span>
        </div>
    }
}

/// Says why something could not be loaded or done, in the server's words, with an optional way to retry.
#[component]
pub fn ProblemAlert(
    /// What went wrong.
    problem: Problem,
    /// The element id tests and labels refer to.
    #[prop(optional)]
    id: Option<&'static str>,
    /// Offered as "Try again" when present.
    #[prop(optional)]
    on_retry: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <div id=id class="banner banner-error" role="alert" data-error-code=problem.code.map(|code| code.as_str())>
            <span class="banner-text">{problem.message}</span>
            {on_retry
                .map(|retry| {
                    view! {
                        <button
                            class="button button-secondary button-small"
                            type="button"
                            on:click=move |_| retry.run(())
                        >
                            "Try again"
                        </button>
                    }
                })}
        </div>
    }
}

/// The problem in `error`, when there is one: inline errors of forms and row actions.
#[component]
pub fn ErrorSlot(
    /// The element id tests and labels refer to; none where the slot repeats on the page (one per row), since
    /// an id names one element.
    #[prop(optional)]
    id: Option<&'static str>,
    /// The current problem, if any.
    error: RwSignal<Option<Problem>>,
) -> impl IntoView {
    move || {
        error.get().map(|problem| match id {
            Some(id) => view! { <ProblemAlert problem=problem id=id /> }.into_any(),
            None => view! { <ProblemAlert problem=problem /> }.into_any(),
        })
    }
}

/// A time from the API in the reader's own time zone: relative within the last day ("5 min ago"), the
/// local date and time before that, or always to the second with `seconds` (the audit log); the exact
/// instant with its zone on hover.
#[component]
pub fn Timestamp(
    /// RFC 3339.
    at: String,
    /// Show the date and time to the second instead of a relative time.
    #[prop(optional)]
    seconds: bool,
) -> impl IntoView {
    let (text, exact) = match shown_time(&at, seconds) {
        Some(shown) => (shown.text, shown.exact),
        None => (at.clone(), at.clone()),
    };
    view! {
        <time datetime=at title=exact>
            {text}
        </time>
    }
}

/// A role as a coloured chip.
#[component]
pub fn RoleBadge(role: Role) -> impl IntoView {
    view! { <span class=format!("badge badge-role badge-role-{}", role.as_str())>{role.as_str()}</span> }
}

/// The foot of a paged list: a "Load more" button while more pages follow, the loading state, and the
/// error of the last page asked for with a way to ask again.
#[component]
pub fn LoadMore<T: Send + Sync + 'static>(
    /// The list.
    pages: Pages<T>,
    /// Loads the next page.
    on_load_more: Callback<()>,
    /// Loads the list from its first page.
    on_reload: Callback<()>,
    /// What is loading, as a sentence ("Loading reports…").
    loading_label: &'static str,
) -> impl IntoView {
    // A failed later page keeps its cursor, so asking again means the same page; a failed first page
    // leaves no cursor, and asking again means starting over.
    let retry = Callback::new(move |()| {
        if pages.has_more() {
            on_load_more.run(());
        } else {
            on_reload.run(());
        }
    });
    view! {
        <div class="list-foot">
            {move || match pages.status.get() {
                LoadStatus::Loading => view! { <Loading label=loading_label /> }.into_any(),
                LoadStatus::Failed(problem) => {
                    view! { <ProblemAlert problem=problem id="list-error" on_retry=retry /> }.into_any()
                }
                LoadStatus::Ready => {
                    pages
                        .has_more()
                        .then(|| {
                            view! {
                                <button
                                    id="load-more"
                                    class="button button-secondary"
                                    type="button"
                                    on:click=move |_| on_load_more.run(())
                                >
                                    "Load more"
                                </button>
                            }
                        })
                        .into_any()
                }
            }}
        </div>
    }
}

/// Shows its children to admins only; anyone else who reaches the page by its address is told why it is
/// empty instead of seeing a blank page or a raw refusal.
#[component]
pub fn AdminOnly(
    /// The page's name, for the tab title.
    title: &'static str,
    /// The admin page.
    children: ChildrenFn,
) -> impl IntoView {
    let me = use_me();
    if is_admin(&me) {
        children().into_any()
    } else {
        set_page_title(title);
        view! {
            <section id="not-allowed" class="card empty-state">
                <h1 class="page-title">{title}</h1>
                <p>"This page is for your organisation's administrators."</p>
                <a href="/" class="button button-secondary">
                    "Back to the dashboard"
                </a>
            </section>
        }
        .into_any()
    }
}

/// "Export CSV": the reports as a CSV file, fetched by the app (an ended session leads to the sign-in page,
/// a refusal is said here) and saved by the browser.
#[component]
pub fn ExportCsv(
    /// The element id.
    id: &'static str,
    /// The classes of the button.
    class: &'static str,
    /// The button's words.
    label: &'static str,
) -> impl IntoView {
    let api = crate::api::use_api();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let export = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let saved = crate::downloads::save_export(
                api,
                crate::api::REPORTS_CSV,
                Vec::new(),
                "text/csv;charset=utf-8",
                "reports.csv",
            )
            .await;
            busy.set(false);
            if let Err(problem) = saved {
                error.set(Some(problem));
            }
        });
    };
    view! {
        <button id=id class=class type="button" disabled=move || busy.get() on:click=export>
            {move || if busy.get() { "Exporting…" } else { label }}
        </button>
        <ErrorSlot id="export-error" error=error />
    }
}

/// A read-only value with a button that copies it to the clipboard. Focusing the value selects it, so it can
/// also be copied from the keyboard.
#[component]
pub fn CopyField(
    /// What to show and copy.
    value: String,
    /// The value's element id, unique on the page, which a `<label for>` names.
    #[prop(optional, into)]
    id: Option<String>,
    /// The value's accessible name, where no `<label for>` names it.
    #[prop(optional, into)]
    label: Option<String>,
    /// Classes of the value's element.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = value.clone();
    let copy = move |_| {
        let promise = window().navigator().clipboard().write_text(&to_copy);
        leptos::task::spawn_local(async move {
            copied.set(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok());
        });
    };
    view! {
        <div class="copy-field">
            <input
                id=id
                class=class
                type="text"
                readonly=true
                value=value
                aria-label=label
                on:focus=|event| {
                    if let Some(input) = event
                        .target()
                        .and_then(|target| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(target).ok())
                    {
                        input.select();
                    }
                }
            />
            <button class="button button-secondary button-small copy-button" type="button" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}

/// What a [`ConfirmDialog`] asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The question, as the dialog's heading ("Deactivate Bob Brown?").
    pub title: String,
    /// What will happen, in a sentence or two.
    pub message: String,
    /// The confirming button's label, naming the action ("Deactivate").
    pub confirm: &'static str,
    /// Whether the action takes something away (a red button).
    pub danger: bool,
}

/// A modal question before a change that takes effect at once and matters: the browser's own `<dialog>`,
/// so the focus stays inside while it is open, Escape cancels, and the focus returns where it was. Cancel
/// has the focus first, so Enter never confirms by accident.
#[component]
pub fn ConfirmDialog(
    /// The question to ask; `None` closes the dialog.
    request: RwSignal<Option<Confirmation>>,
    /// Runs when the action is confirmed (the dialog closes first).
    on_confirm: Callback<()>,
    /// Runs when the question is dismissed (Cancel or Escape).
    #[prop(optional)]
    on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let open = request.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if open && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !open && dialog.open() {
                dialog.close();
            }
        }
    });
    let cancel = move || {
        request.set(None);
        if let Some(on_cancel) = on_cancel {
            on_cancel.run(());
        }
    };
    view! {
        <dialog
            node_ref=dialog
            class="dialog"
            aria-labelledby="confirm-title"
            aria-describedby="confirm-message"
            on:cancel=move |event: leptos::ev::Event| {
                event.prevent_default();
                cancel();
            }
        >
            {move || {
                request
                    .get()
                    .map(|asked| {
                        let class = if asked.danger {
                            "button button-danger"
                        } else {
                            "button button-primary"
                        };
                        view! {
                            <h2 id="confirm-title" class="dialog-title">{asked.title}</h2>
                            <p id="confirm-message">{asked.message}</p>
                            <div class="actions dialog-actions">
                                <button
                                    id="cancel-action"
                                    class="button button-secondary"
                                    type="button"
                                    autofocus=true
                                    on:click=move |_| cancel()
                                >
                                    "Cancel"
                                </button>
                                <button
                                    id="confirm-action"
                                    class=class
                                    type="button"
                                    on:click=move |_| {
                                        request.set(None);
                                        on_confirm.run(());
                                    }
                                >
                                    {asked.confirm}
                                </button>
                            </div>
                        }
                    })
            }}
        </dialog>
    }
}

/// A confirmation that belongs to one page: shown there (after navigating to it), dismissed by leaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The path the notice is shown on.
    pub path: String,
    /// What to say.
    pub text: String,
}

/// The workspace's notice, provided by the shell.
#[derive(Debug, Clone, Copy)]
pub struct Notices(RwSignal<Option<Notice>>);

impl Notices {
    /// Shows `text` on the page at `path` (usually the page about to be navigated to).
    pub fn show(self, path: impl Into<String>, text: impl Into<String>) {
        self.0.set(Some(Notice {
            path: path.into(),
            text: text.into(),
        }));
    }
}

/// Makes the notices available to every page below the caller.
pub fn provide_notices() {
    provide_context(Notices(RwSignal::new(None)));
}

/// The workspace's notices.
pub fn use_notices() -> Notices {
    expect_context::<Notices>()
}

/// The notice of the page being shown, if there is one.
#[component]
pub fn NoticeBar() -> impl IntoView {
    let Notices(notice) = use_notices();
    let location = use_location();
    move || {
        let path = location.pathname.get();
        notice
            .get()
            .filter(|notice| notice.path == path)
            .map(|shown| {
                view! {
                    <div id="notice" class="banner banner-success" role="status">
                        <span class="banner-text">{shown.text}</span>
                        <button
                            class="banner-dismiss"
                            type="button"
                            aria-label="Dismiss"
                            on:click=move |_| notice.set(None)
                        >
                            "×"
                        </button>
                    </div>
                }
            })
    }
}
