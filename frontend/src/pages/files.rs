//! The files page: the organisation's files, newest first, with how much storage they use; for those who may
//! write, a drop zone and file picker whose files go straight to storage with a progress bar each.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{FileInfo, FilePage};
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, Event, HtmlInputElement};

use crate::access::{can_delete_file, can_write, use_me};
use crate::api::{Api, FILES, PAGE_SIZE, item_path, use_api};
use crate::components::{ErrorSlot, LoadMore, PageHeader, Timestamp, use_notices};
use crate::downloads::download_file;
use crate::format::{format_bytes, storage_text};
use crate::paging::{LoadStatus, Pages};
use crate::session::Problem;
use crate::upload::{MAX_FILE_SIZE, Storage, Upload, UploadStatus, Uploader, use_uploader};

/// `/files`.
#[component]
pub fn FilesPage() -> impl IntoView {
    let api = use_api();
    let me = use_me();
    let writer = can_write(&me);
    let uploader = use_uploader();
    let pages = Pages::<FileInfo>::new();
    // Storage use comes with every first page of the list.
    let usage = RwSignal::new(None::<(i64, Option<i64>)>);

    // The uploader checks each new file against what the plan has left before sending a byte.
    let storage = uploader.storage();
    Effect::new(move |_| {
        if let Some((used, quota)) = usage.get() {
            storage.set(Some(Storage {
                used: used as f64,
                quota: quota.map(|quota| quota as f64),
            }));
        }
    });
    let on_reload = Callback::new(move |()| pages.reload(move |cursor| fetch(api, cursor, usage)));
    let on_load_more =
        Callback::new(move |()| pages.load_more(move |cursor| fetch(api, cursor, usage)));
    // Loads the list now, and again whenever an upload has been recorded.
    let recorded = uploader.recorded();
    Effect::new(move |_| {
        recorded.track();
        on_reload.run(());
    });

    view! {
        <PageHeader title="Files">
            <span id="storage-usage" class="usage">
                {move || usage.get().map(|(used, quota)| storage_text(used, quota))}
            </span>
        </PageHeader>
        {if writer {
            view! { <UploadPanel uploader=uploader.clone() /> }.into_any()
        } else {
            view! {
                <p id="upload-not-allowed" class="banner banner-info">
                    "Your role lets you see and download files. Uploading needs the member or admin role; "
                    "your organisation's admin can change it."
                </p>
            }
                .into_any()
        }}
        <section class="card list-card" aria-label="Files">
            <FileList pages=pages on_deleted=on_reload />
            <EmptyFiles pages=pages writer=writer />
            <LoadMore
                pages=pages
                on_load_more=on_load_more
                on_reload=on_reload
                loading_label="Loading files…"
            />
        </section>
    }
}

/// One page of files from the API; a first page also brings the storage use.
async fn fetch(
    api: Api,
    cursor: Option<String>,
    usage: RwSignal<Option<(i64, Option<i64>)>>,
) -> Result<(Vec<FileInfo>, Option<String>), Problem> {
    let mut query = vec![("limit", PAGE_SIZE.to_owned())];
    let first = cursor.is_none();
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let page = api.get_with::<FilePage>(FILES.to_owned(), query).await?;
    if first {
        usage.set(Some((page.used_bytes, page.quota_bytes)));
    }
    Ok((page.items, page.next_cursor))
}

/// The drop zone, the picker and the files on their way.
#[component]
fn UploadPanel(uploader: Uploader) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_pick = {
        let uploader = uploader.clone();
        move |event: Event| {
            let Some(input) = event
                .target()
                .and_then(|target| target.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(files) = input.files() {
                uploader.add(&files);
            }
            // The same file can be picked again (after a cancel, say).
            input.set_value("");
        }
    };
    let on_drop = {
        let uploader = uploader.clone();
        move |event: DragEvent| {
            event.prevent_default();
            dragging.set(false);
            if let Some(files) = event.data_transfer().and_then(|transfer| transfer.files()) {
                uploader.add(&files);
            }
        }
    };
    let uploads = uploader.uploads();
    let storage = uploader.storage();
    let limits = move || {
        let each = format!("Up to {} each", format_bytes(MAX_FILE_SIZE));
        match storage.get().and_then(|storage| storage.left(0.0)) {
            Some(left) => format!(
                "{each}; your plan has {} of storage left. Files go straight to your organisation's storage.",
                format_bytes(left)
            ),
            None => format!("{each}. They go straight to your organisation's storage."),
        }
    };

    view! {
        <section class="card upload-card" aria-label="Upload files">
            <label
                id="upload-drop"
                class="dropzone"
                class:dropzone-active=move || dragging.get()
                on:dragover=move |event: DragEvent| {
                    event.prevent_default();
                    dragging.set(true);
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <span class="dropzone-title">"Drop files here, or choose them"</span>
                <span class="dropzone-hint" id="upload-limits">{limits}</span>
                <input id="upload-input" class="dropzone-input" type="file" multiple=true on:change=on_pick />
            </label>
            <ul id="upload-list" class="upload-list">
                <For each=move || uploads.get() key=|upload| upload.id let:upload>
                    <UploadRow upload=upload uploader=uploader.clone() />
                </For>
            </ul>
        </section>
    }
}

/// One file on its way: its progress, where it stands, and what can be done about it.
#[component]
fn UploadRow(upload: Upload, uploader: Uploader) -> impl IntoView {
    let status = upload.status;
    let sent = upload.sent;
    let size = upload.size;
    let percent = move || {
        if size > 0.0 {
            (sent.get() / size * 100.0).floor().min(100.0)
        } else if status.get() == UploadStatus::Done {
            100.0
        } else {
            0.0
        }
    };
    let status_text = move || match status.get() {
        UploadStatus::Waiting => "Waiting".to_owned(),
        UploadStatus::Uploading => format!("{}%", percent()),
        UploadStatus::Recording => "Saving…".to_owned(),
        UploadStatus::Done => "Uploaded".to_owned(),
        UploadStatus::Failed(reason) | UploadStatus::Refused(reason) => reason,
        UploadStatus::Cancelled => "Cancelled".to_owned(),
    };
    let actions = {
        let upload = upload.clone();
        move || {
            let current = status.get();
            let uploader = uploader.clone();
            let cancel = current.cancellable().then(|| {
                let (uploader, upload) = (uploader.clone(), upload.clone());
                view! {
                    <button class="button button-secondary button-small upload-cancel" type="button" on:click=move |_| uploader.cancel(&upload)>
                        "Cancel"
                    </button>
                }
            });
            let retry = matches!(current, UploadStatus::Failed(_)).then(|| {
                let (uploader, upload) = (uploader.clone(), upload.clone());
                view! {
                    <button class="button button-primary button-small upload-retry" type="button" on:click=move |_| uploader.retry(&upload)>
                        "Retry"
                    </button>
                }
            });
            let dismiss = current.finished().then(|| {
                let (uploader, upload) = (uploader.clone(), upload.clone());
                view! {
                    <button class="button button-secondary button-small upload-dismiss" type="button" aria-label="Remove from this list" on:click=move |_| uploader.dismiss(&upload)>
                        "Dismiss"
                    </button>
                }
            });
            view! { {cancel} {retry} {dismiss} }
        }
    };

    view! {
        <li
            class="upload-item"
            data-upload-name=upload.name.clone()
            data-status=move || status.get().as_str()
        >
            <div class="upload-head">
                <span class="upload-name">{upload.name.clone()}</span>
                <span class="upload-size">{format_bytes(size)}</span>
            </div>
            <progress
                class="upload-progress"
                max=size.max(1.0)
                prop:value=move || sent.get()
                aria-label=format!("Upload of {}", upload.name)
            ></progress>
            <div class="upload-foot">
                <span
                    class="upload-status"
                    class:upload-status-failed=move || status.with(|status| status.problem().is_some())
                    role=move || status.with(|status| status.problem().is_some()).then_some("alert")
                >
                    {status_text}
                </span>
                <span class="upload-actions">{actions}</span>
            </div>
        </li>
    }
}

/// The files loaded so far.
#[component]
fn FileList(pages: Pages<FileInfo>, on_deleted: Callback<()>) -> impl IntoView {
    view! {
        <ul id="file-list" class="file-list">
            <For each=move || pages.items.get() key=|file| file.id.clone() let:file>
                <FileRow file=file on_deleted=on_deleted />
            </For>
        </ul>
    }
}

/// One file: its name (downloading it), size, uploader and time, and Delete for its uploader and admins.
#[component]
fn FileRow(file: FileInfo, on_deleted: Callback<()>) -> impl IntoView {
    let me = use_me();
    let api = use_api();
    let deletable = can_delete_file(&me, &file);
    // The plain link stays for "open in new tab" and the like; a click goes through the app.
    let download = item_path(FILES, &file.id).map(|path| format!("{path}/download"));
    let error = RwSignal::new(None::<Problem>);
    let id = file.id.clone();
    let on_download = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        error.set(None);
        let id = id.clone();
        spawn_local(async move {
            if let Err(problem) = download_file(api, &id).await {
                error.set(Some(problem));
            }
        });
    };
    view! {
        <li class="file-item" data-file-id=file.id.clone() data-file-name=file.name.clone()>
            <div class="file-main">
                <a class="file-download" href=download title="Download" on:click=on_download>
                    {file.name.clone()}
                </a>
                <ErrorSlot id="file-download-error" error=error />
                <span class="file-meta">
                    <span class="file-size">{format_bytes(file.size as f64)}</span>
                    " · by "
                    <span class="file-uploader">{file.uploader.name.clone()}</span>
                    " · "
                    <Timestamp at=file.created_at.clone() />
                </span>
            </div>
            {deletable.then(|| view! { <DeleteFile file=file.clone() on_deleted=on_deleted /> })}
        </li>
    }
}

/// Delete: a first press asks for confirmation, the second deletes the file for everyone.
#[component]
fn DeleteFile(file: FileInfo, on_deleted: Callback<()>) -> impl IntoView {
    let api = use_api();
    let notices = use_notices();
    let name = file.name.clone();
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let path = item_path(FILES, &file.id);

    let delete = move |_| {
        let Some(path) = path.clone() else {
            return;
        };
        let name = name.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.delete(path).await {
                Ok(()) => {
                    notices.show("/files", format!("{name} was deleted for everyone."));
                    on_deleted.run(());
                }
                Err(problem) => {
                    busy.set(false);
                    error.set(Some(problem));
                }
            }
        });
    };

    view! {
        <div class="file-actions">
            <ErrorSlot id="file-delete-error" error=error />
            {move || {
                if confirming.get() {
                    view! {
                        <span class="confirm-inline" role="alertdialog">
                            <span>"Delete for everyone?"</span>
                            <button
                                class="button button-danger button-small file-confirm-delete"
                                type="button"
                                disabled=move || busy.get()
                                on:click=delete.clone()
                            >
                                {move || if busy.get() { "Deleting…" } else { "Delete" }}
                            </button>
                            <button
                                class="button button-secondary button-small"
                                type="button"
                                disabled=move || busy.get()
                                on:click=move |_| confirming.set(false)
                            >
                                "Keep"
                            </button>
                        </span>
                    }
                        .into_any()
                } else {
                    view! {
                        <button
                            class="button button-danger-outline button-small file-delete"
                            type="button"
                            on:click=move |_| confirming.set(true)
                        >
                            "Delete"
                        </button>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// Said when the organisation has no files at all.
#[component]
fn EmptyFiles(pages: Pages<FileInfo>, writer: bool) -> impl IntoView {
    move || {
        let empty = pages.status.get() == LoadStatus::Ready && pages.items.with(Vec::is_empty);
        empty.then(|| {
            view! {
                <div id="no-files" class="empty-state">
                    <p>
                        {if writer {
                            "No files yet. Drop one above to share it with your organisation."
                        } else {
                            "No files yet."
                        }}
                    </p>
                </div>
            }
        })
    }
}
