//! Direct uploads from the browser to S3: the files a member dropped, their progress, and the work of
//! sending them.
//!
//! The backend hands out short-lived credentials confined to the member's own prefix
//! (`POST /api/v1/storage/credentials`); the browser signs each S3 request with them (SigV4, `sign.rs`) and
//! sends the bytes straight from disk to the bucket (`transfer.rs`), so the backend never carries a file.
//! Files below 8 MiB go in one `PutObject`; larger ones in 8 MiB parts, three at a time
//! (`CreateMultipartUpload`, `UploadPart`, `CompleteMultipartUpload`). A part that fails for a passing
//! reason (network, S3 busy, credentials expired) is retried on its own with fresh credentials; a file that
//! still fails keeps the parts already sent, so "Retry" sends only what is missing. "Cancel" aborts the
//! requests in flight and the multipart upload, so S3 keeps nothing. Once the object is complete the app
//! asks the backend to record it (`POST /api/v1/files`), which checks it exists under the member's prefix.
//!
//! Files go one after another, in the order they were added; the uploads live with the workspace, so moving
//! to another page does not stop them.

pub mod object;
pub mod sign;
mod transfer;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use futures::future::join_all;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use shared::ErrorCode;
use shared::api::{FileInfo, NewFile, StorageCredentials};
use web_sys::{File, FileList};

use crate::api::{Api, FILES, STORAGE_CREDENTIALS, use_api};
use crate::session::Problem;
pub use object::{MAX_FILE_SIZE, Storage};
use object::{
    MULTIPART_THRESHOLD, PartRange, complete_body, expires_soon, folder_name, object_key,
    plan_parts, refusal,
};
use transfer::{Answer, Body, InFlight, NoAnswer, now_ms, parse_time_ms, random_bytes, xml_text};

/// How many parts of one file are in flight at once.
const PARALLEL_PARTS: usize = 3;
/// How many times one request is tried before the file is marked failed: with the pauses below, about eight
/// seconds, enough to ride out a dropped Wi-Fi connection.
const ATTEMPTS: u32 = 5;
/// The wait before the first retry; it doubles each time.
const FIRST_BACKOFF_MS: i32 = 500;

/// Where one file's upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStatus {
    /// In the queue behind other files.
    Waiting,
    /// Bytes are on their way to storage.
    Uploading,
    /// The object is complete; the backend is recording it.
    Recording,
    /// Recorded: the file is in the list.
    Done,
    /// Stopped, with the reason to show; "Retry" continues from what was sent.
    Failed(String),
    /// Never started, with the reason to show (too large, or more than the plan's storage left): not a byte
    /// was sent, and trying again would not help.
    Refused(String),
    /// Cancelled by the member; nothing stays in storage.
    Cancelled,
}

impl UploadStatus {
    /// A stable name for the page's markup (`data-status`).
    pub fn as_str(&self) -> &'static str {
        match self {
            UploadStatus::Waiting => "waiting",
            UploadStatus::Uploading => "uploading",
            UploadStatus::Recording => "recording",
            UploadStatus::Done => "done",
            UploadStatus::Failed(_) => "failed",
            UploadStatus::Refused(_) => "refused",
            UploadStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the member can still cancel it.
    pub fn cancellable(&self) -> bool {
        matches!(self, UploadStatus::Waiting | UploadStatus::Uploading)
    }

    /// Whether it has stopped for good (done, failed, refused or cancelled) and may leave the list.
    pub fn finished(&self) -> bool {
        matches!(
            self,
            UploadStatus::Done
                | UploadStatus::Failed(_)
                | UploadStatus::Refused(_)
                | UploadStatus::Cancelled
        )
    }

    /// Why it stopped, when it did not succeed: the text to show as an alert.
    pub fn problem(&self) -> Option<&str> {
        match self {
            UploadStatus::Failed(reason) | UploadStatus::Refused(reason) => Some(reason),
            _ => None,
        }
    }
}

/// One file the member added.
#[derive(Clone)]
pub struct Upload {
    /// Unique within the page's lifetime.
    pub id: u32,
    /// The file's name on the member's disk.
    pub name: String,
    /// Its size in bytes.
    pub size: f64,
    /// How many bytes have reached storage (or are on their way).
    pub sent: RwSignal<f64>,
    /// Where it stands.
    pub status: RwSignal<UploadStatus>,
    // Leptos wants what a view holds to be `Send`; a browser `File` is not. The app runs on the page's one
    // thread, where `SendWrapper` never panics.
    job: SendWrapper<Rc<Job>>,
}

/// What the upload of one file remembers between attempts.
struct Job {
    file: File,
    /// Chosen once, so a retry continues the same object.
    key: RefCell<Option<String>>,
    multipart: RefCell<Option<Multipart>>,
    /// Set once the object is complete in storage; a retry then only records it.
    stored: Cell<bool>,
    cancelled: Cell<bool>,
    in_flight: InFlight,
}

/// A multipart upload under way.
struct Multipart {
    upload_id: String,
    parts: Vec<PartRange>,
    /// The `ETag` of each part S3 has; `None` for those still to send.
    etags: Vec<Option<String>>,
    /// Bytes of each part sent so far.
    sent: Vec<f64>,
}

/// Why a file's upload stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    Cancelled,
    Failed(String),
}

/// What to do about an S3 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recovery {
    /// The credentials expired or were replaced: get fresh ones and try again at once.
    FreshCredentials,
    /// A passing failure on S3's side: try again after a pause.
    Later,
    /// Trying again would fail the same way.
    GiveUp,
}

/// What to do about S3's answer `status` with error `code`.
fn recovery(status: u16, code: Option<&str>) -> Recovery {
    match code {
        Some("ExpiredToken" | "InvalidToken" | "TokenRefreshRequired" | "RequestTimeTooSkewed") => {
            Recovery::FreshCredentials
        }
        Some("SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout") => {
            Recovery::Later
        }
        _ if status >= 500 || status == 408 || status == 429 => Recovery::Later,
        _ => Recovery::GiveUp,
    }
}

/// The sentence shown for an S3 error answer that ends an upload.
fn refusal_message(status: u16, code: Option<&str>, message: Option<&str>) -> String {
    match code {
        Some("AccessDenied") => {
            "Storage refused this upload (AccessDenied): your upload credentials do not allow it."
                .to_owned()
        }
        Some("EntityTooLarge") => "The file is larger than storage accepts.".to_owned(),
        Some(code) => format!(
            "Storage refused this upload ({code}){}",
            message
                .map(|message| format!(": {message}"))
                .unwrap_or_else(|| ".".to_owned())
        ),
        None => format!("Storage answered with HTTP status {status}."),
    }
}

/// The message for credentials the backend could not get: a service it needs is down.
const STORAGE_UNAVAILABLE: &str = "Uploads are unavailable right now: the server could not get access to \
                                   storage. Press Retry in a moment.";

/// What an upload shows when it got no credentials, and whether asking again may help: yes when the backend
/// said a service it needs is down (503) or gave no answer this app could read, no for a refusal (a viewer,
/// a full quota, a deactivated member), which asking again would only repeat.
fn credentials_problem(problem: Problem) -> (String, bool) {
    match problem.code {
        Some(ErrorCode::ServiceUnavailable) => (STORAGE_UNAVAILABLE.to_owned(), true),
        None => (problem.message, true),
        Some(_) => (problem.message, false),
    }
}

/// The message for a request that got no answer.
const NETWORK_PROBLEM: &str =
    "The upload could not reach storage. Check your connection, then press Retry.";

/// The uploads of this workspace and the work of sending them. Cheap to clone.
#[derive(Clone)]
pub struct Uploader {
    // `Send` for Leptos, as `Upload::job` is.
    inner: SendWrapper<Rc<Inner>>,
}

struct Inner {
    api: Api,
    uploads: RwSignal<Vec<Upload>, LocalStorage>,
    queue: RefCell<VecDeque<Upload>>,
    running: Cell<bool>,
    next_id: Cell<u32>,
    /// The current credentials and when they expire (milliseconds since the epoch). Behind an async lock so
    /// that parts needing fresh credentials at the same moment ask the backend once.
    credentials: futures::lock::Mutex<Option<(StorageCredentials, f64)>>,
    recorded: RwSignal<u32>,
    /// The plan's storage as the files page last loaded it; `None` until then.
    storage: RwSignal<Option<Storage>>,
}

impl Uploader {
    fn new(api: Api) -> Self {
        Uploader {
            inner: SendWrapper::new(Rc::new(Inner {
                api,
                uploads: RwSignal::new_local(Vec::new()),
                queue: RefCell::new(VecDeque::new()),
                running: Cell::new(false),
                next_id: Cell::new(1),
                credentials: futures::lock::Mutex::new(None),
                recorded: RwSignal::new(0),
                storage: RwSignal::new(None),
            })),
        }
    }

    /// The files added, in order.
    pub fn uploads(&self) -> RwSignal<Vec<Upload>, LocalStorage> {
        self.inner.uploads
    }

    /// Counts the files recorded so far: the file list reloads when it changes.
    pub fn recorded(&self) -> RwSignal<u32> {
        self.inner.recorded
    }

    /// The plan's storage, for the checks made before a file is sent and for the page to show.
    pub fn storage(&self) -> RwSignal<Option<Storage>> {
        self.inner.storage
    }

    /// Bytes of files added but not recorded yet (waiting, on their way, or being recorded).
    fn pending_bytes(&self) -> f64 {
        self.inner.uploads.with_untracked(|uploads| {
            uploads
                .iter()
                .filter(|upload| {
                    matches!(
                        upload.status.get_untracked(),
                        UploadStatus::Waiting | UploadStatus::Uploading | UploadStatus::Recording
                    )
                })
                .map(|upload| upload.size)
                .sum()
        })
    }

    /// Queues every file of `files` and starts sending them.
    pub fn add(&self, files: &FileList) {
        for index in 0..files.length() {
            if let Some(file) = files.get(index) {
                self.add_file(file);
            }
        }
        self.drain();
    }

    fn add_file(&self, file: File) {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        let size = file.size();
        // Checked here, before a byte is sent: the backend checks the quota again when it records the file.
        let status = match refusal(
            size,
            self.inner.storage.get_untracked(),
            self.pending_bytes(),
        ) {
            Some(reason) => UploadStatus::Refused(reason),
            None => UploadStatus::Waiting,
        };
        let queued = status == UploadStatus::Waiting;
        let upload = Upload {
            id,
            name: file.name(),
            size,
            sent: RwSignal::new(0.0),
            status: RwSignal::new(status),
            job: SendWrapper::new(Rc::new(Job {
                file,
                key: RefCell::new(None),
                multipart: RefCell::new(None),
                stored: Cell::new(false),
                cancelled: Cell::new(false),
                in_flight: InFlight::default(),
            })),
        };
        self.inner
            .uploads
            .update(|uploads| uploads.push(upload.clone()));
        if queued {
            self.inner.queue.borrow_mut().push_back(upload);
        }
    }

    /// Stops `upload`: out of the queue if it waits, its requests aborted if it is on its way.
    pub fn cancel(&self, upload: &Upload) {
        if !upload.status.get_untracked().cancellable() {
            return;
        }
        upload.job.cancelled.set(true);
        let waiting = {
            let mut queue = self.inner.queue.borrow_mut();
            let before = queue.len();
            queue.retain(|queued| queued.id != upload.id);
            queue.len() != before
        };
        if waiting {
            let this = self.clone();
            let upload = upload.clone();
            spawn_local(async move { this.finish_cancelled(&upload).await });
        } else {
            upload.job.in_flight.abort_all();
        }
    }

    /// Puts a failed `upload` back in the queue; it continues from what storage already has.
    pub fn retry(&self, upload: &Upload) {
        if !matches!(upload.status.get_untracked(), UploadStatus::Failed(_)) {
            return;
        }
        upload.status.set(UploadStatus::Waiting);
        self.inner.queue.borrow_mut().push_back(upload.clone());
        self.drain();
    }

    /// Takes a finished `upload` off the list. A failed multipart upload is aborted first, so that the parts
    /// it sent do not stay in the bucket.
    pub fn dismiss(&self, upload: &Upload) {
        let status = upload.status.get_untracked();
        if !status.finished() {
            return;
        }
        if matches!(status, UploadStatus::Failed(_)) && upload.job.multipart.borrow().is_some() {
            let this = self.clone();
            let upload = upload.clone();
            spawn_local(async move { this.finish_cancelled(&upload).await });
        }
        self.inner
            .uploads
            .update(|uploads| uploads.retain(|other| other.id != upload.id));
    }

    /// Sends the queued files one after another, unless that is already happening.
    fn drain(&self) {
        if self.inner.running.replace(true) {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            loop {
                let next = this.inner.queue.borrow_mut().pop_front();
                let Some(upload) = next else { break };
                this.run(&upload).await;
            }
            this.inner.running.set(false);
        });
    }

    /// Sends and records one file, and shows how that went.
    async fn run(&self, upload: &Upload) {
        upload.status.set(UploadStatus::Uploading);
        let stored = if upload.job.stored.get() {
            Ok(())
        } else {
            self.store(upload).await
        };
        match stored {
            Ok(()) => {
                upload.job.stored.set(true);
                upload.sent.set(upload.size);
                upload.status.set(UploadStatus::Recording);
                let key = upload.job.key.borrow().clone().unwrap_or_default();
                let recorded = self
                    .inner
                    .api
                    .post::<_, FileInfo>(FILES.to_owned(), &NewFile { key })
                    .await;
                match recorded {
                    Ok(_) => {
                        upload.status.set(UploadStatus::Done);
                        self.inner.recorded.update(|count| *count += 1);
                    }
                    Err(problem) => {
                        // Over the quota the backend removes the object: a retry must upload it again.
                        if problem.code == Some(ErrorCode::StorageQuotaExceeded) {
                            upload.job.stored.set(false);
                            upload.job.key.borrow_mut().take();
                            upload.sent.set(0.0);
                        }
                        upload.status.set(UploadStatus::Failed(problem.message));
                    }
                }
            }
            Err(Stop::Cancelled) => self.finish_cancelled(upload).await,
            Err(Stop::Failed(reason)) => upload.status.set(UploadStatus::Failed(reason)),
        }
    }

    /// Ends a cancelled upload: S3 is told to drop the parts it holds.
    async fn finish_cancelled(&self, upload: &Upload) {
        upload.status.set(UploadStatus::Cancelled);
        let multipart = upload.job.multipart.borrow_mut().take();
        let key = upload.job.key.borrow().clone();
        if let (Some(multipart), Some(key)) = (multipart, key) {
            // One attempt: S3 also removes abandoned parts by the bucket's lifecycle rule.
            let _ = self
                .request(
                    &upload.job,
                    "DELETE",
                    &key,
                    &[("uploadId", &multipart.upload_id)],
                    &[],
                    &|| Body::Empty,
                    None,
                    true,
                )
                .await;
        }
    }

    /// Puts the file's bytes in storage: one request or several parts.
    async fn store(&self, upload: &Upload) -> Result<(), Stop> {
        let credentials = self.credentials().await?;
        let key = {
            let mut key = upload.job.key.borrow_mut();
            match &*key {
                Some(key) => key.clone(),
                None => {
                    let random = random_bytes().ok_or_else(|| {
                        Stop::Failed("This browser has no secure random generator.".to_owned())
                    })?;
                    let chosen =
                        object_key(&credentials.prefix, &folder_name(&random), &upload.name);
                    *key = Some(chosen.clone());
                    chosen
                }
            }
        };
        if upload.size < MULTIPART_THRESHOLD {
            self.store_whole(upload, &key).await
        } else {
            self.store_in_parts(upload, &key).await
        }
    }

    /// One `PutObject`.
    async fn store_whole(&self, upload: &Upload, key: &str) -> Result<(), Stop> {
        let file = upload.job.file.clone();
        let sent = upload.sent;
        self.request(
            &upload.job,
            "PUT",
            key,
            &[],
            &[content_type(&file)],
            &|| Body::Blob(file.clone().into()),
            Some(Rc::new(move |loaded| sent.set(loaded))),
            false,
        )
        .await
        .map(|_| ())
    }

    /// A multipart upload, resumed where an earlier attempt stopped.
    async fn store_in_parts(&self, upload: &Upload, key: &str) -> Result<(), Stop> {
        let job = &upload.job;
        if job.multipart.borrow().is_none() {
            let answer = self
                .request(
                    job,
                    "POST",
                    key,
                    &[("uploads", "")],
                    &[content_type(&job.file)],
                    &|| Body::Empty,
                    None,
                    false,
                )
                .await?;
            let upload_id = xml_text(&answer.body, "UploadId").ok_or_else(|| {
                Stop::Failed(
                    "Storage did not start the upload (no upload id in its answer).".to_owned(),
                )
            })?;
            let parts = plan_parts(upload.size);
            *job.multipart.borrow_mut() = Some(Multipart {
                upload_id,
                etags: vec![None; parts.len()],
                sent: vec![0.0; parts.len()],
                parts,
            });
        }

        let pending: RefCell<VecDeque<usize>> = RefCell::new(
            job.multipart
                .borrow()
                .iter()
                .flat_map(|multipart| {
                    (0..multipart.parts.len()).filter(|index| multipart.etags[*index].is_none())
                })
                .collect(),
        );
        let failed = Cell::new(false);
        let worker = || async {
            loop {
                if failed.get() || job.cancelled.get() {
                    return Ok(());
                }
                let Some(index) = pending.borrow_mut().pop_front() else {
                    return Ok(());
                };
                if let Err(stop) = self.send_part(upload, key, index).await {
                    failed.set(true);
                    return Err(stop);
                }
            }
        };
        let outcomes = join_all((0..PARALLEL_PARTS).map(|_| worker())).await;
        if job.cancelled.get() {
            return Err(Stop::Cancelled);
        }
        if let Some(stop) = outcomes.into_iter().find_map(Result::err) {
            return Err(stop);
        }

        let (upload_id, etags) = {
            let multipart = job.multipart.borrow();
            let Some(multipart) = multipart.as_ref() else {
                return Err(Stop::Cancelled);
            };
            let etags: Vec<(u32, String)> = multipart
                .parts
                .iter()
                .zip(&multipart.etags)
                .filter_map(|(part, etag)| etag.clone().map(|etag| (part.number, etag)))
                .collect();
            (multipart.upload_id.clone(), etags)
        };
        let body = complete_body(&etags);
        let answer = self
            .request(
                job,
                "POST",
                key,
                &[("uploadId", &upload_id)],
                &[("Content-Type".to_owned(), "application/xml".to_owned())],
                &|| Body::Text(body.clone()),
                None,
                false,
            )
            .await?;
        // S3 may answer 200 and still report an error in the body of a completion.
        if let Some(code) = xml_text(&answer.body, "Code") {
            let message = xml_text(&answer.body, "Message");
            return Err(Stop::Failed(refusal_message(
                answer.status,
                Some(&code),
                message.as_deref(),
            )));
        }
        job.multipart.borrow_mut().take();
        Ok(())
    }

    /// Sends part `index` and keeps its `ETag`.
    async fn send_part(&self, upload: &Upload, key: &str, index: usize) -> Result<(), Stop> {
        let job = &upload.job;
        let (upload_id, part) = {
            let multipart = job.multipart.borrow();
            let multipart = multipart.as_ref().ok_or(Stop::Cancelled)?;
            (multipart.upload_id.clone(), multipart.parts[index])
        };
        let number = part.number.to_string();
        let slice = job
            .file
            .slice_with_f64_and_f64(part.start, part.end)
            .map_err(|_| Stop::Failed("The browser could not read the file.".to_owned()))?;
        let progress: Rc<dyn Fn(f64)> = {
            let this = self.clone();
            let upload = upload.clone();
            Rc::new(move |loaded| this.part_progress(&upload, index, loaded))
        };
        let answer = self
            .request(
                job,
                "PUT",
                key,
                &[("partNumber", &number), ("uploadId", &upload_id)],
                &[],
                &|| Body::Blob(slice.clone()),
                Some(progress),
                false,
            )
            .await?;
        let etag = answer.etag.ok_or_else(|| {
            Stop::Failed(
                "Storage did not show the part's ETag to the browser; the bucket's CORS rule must expose it."
                    .to_owned(),
            )
        })?;
        if let Some(multipart) = job.multipart.borrow_mut().as_mut() {
            multipart.etags[index] = Some(etag);
        }
        self.part_progress(upload, index, part.len());
        Ok(())
    }

    /// Records that `loaded` bytes of part `index` are sent, and shows the file's total.
    fn part_progress(&self, upload: &Upload, index: usize, loaded: f64) {
        let total = {
            let mut multipart = upload.job.multipart.borrow_mut();
            let Some(multipart) = multipart.as_mut() else {
                return;
            };
            multipart.sent[index] = loaded;
            multipart.sent.iter().sum::<f64>()
        };
        upload.sent.set(total);
    }

    /// One signed S3 request on `key`, tried up to [`ATTEMPTS`] times: with fresh credentials when S3 says
    /// they expired, after a growing pause when the network or S3 failed. `once` makes a single attempt.
    #[allow(clippy::too_many_arguments)]
    async fn request(
        &self,
        job: &Job,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        extra_headers: &[(String, String)],
        body: &dyn Fn() -> Body,
        progress: Option<Rc<dyn Fn(f64)>>,
        once: bool,
    ) -> Result<Answer, Stop> {
        let attempts = if once { 1 } else { ATTEMPTS };
        let mut reason = NETWORK_PROBLEM.to_owned();
        for attempt in 0..attempts {
            if attempt > 0 {
                transfer::sleep(FIRST_BACKOFF_MS << (attempt - 1)).await;
            }
            if job.cancelled.get() && !once {
                return Err(Stop::Cancelled);
            }
            let credentials = self.credentials().await?;
            let (url, mut headers) =
                sign::signed_request(&credentials, method, key, query, now_ms()).map_err(
                    |error| Stop::Failed(format!("The request could not be signed: {error}")),
                )?;
            headers.extend(extra_headers.iter().cloned());
            let report = progress.clone().map(|progress| {
                Box::new(move |loaded: f64| progress(loaded)) as Box<dyn FnMut(f64)>
            });
            let answer =
                transfer::send(method, &url, &headers, body(), &job.in_flight, report).await;
            match answer {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(answer),
                Ok(answer) => {
                    let code = xml_text(&answer.body, "Code");
                    match recovery(answer.status, code.as_deref()) {
                        Recovery::FreshCredentials => self.forget_credentials().await,
                        Recovery::Later => {}
                        Recovery::GiveUp => {
                            let message = xml_text(&answer.body, "Message");
                            return Err(Stop::Failed(refusal_message(
                                answer.status,
                                code.as_deref(),
                                message.as_deref(),
                            )));
                        }
                    }
                    reason = refusal_message(answer.status, code.as_deref(), None);
                }
                Err(NoAnswer::Aborted) => return Err(Stop::Cancelled),
                Err(NoAnswer::Network) => reason = NETWORK_PROBLEM.to_owned(),
            }
        }
        Err(Stop::Failed(reason))
    }

    /// Credentials valid for at least five more minutes, from the backend when the current ones are older.
    /// While the backend cannot get them (the identity pool or S3 is down, or the server cannot be reached),
    /// it is asked again after the same growing pauses as a storage request, so that a short outage passes
    /// unnoticed; after that the upload stops with the reason and Retry.
    async fn credentials(&self) -> Result<StorageCredentials, Stop> {
        let mut current = self.inner.credentials.lock().await;
        if let Some((credentials, expires)) = current.as_ref()
            && !expires_soon(*expires, now_ms())
        {
            return Ok(credentials.clone());
        }
        let mut reason = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                transfer::sleep(FIRST_BACKOFF_MS << (attempt - 1)).await;
            }
            let answer: Result<StorageCredentials, Problem> = self
                .inner
                .api
                .post(STORAGE_CREDENTIALS.to_owned(), &serde_json::json!({}))
                .await;
            match answer {
                Ok(fresh) => {
                    *current = Some((fresh.clone(), parse_time_ms(&fresh.expiration)));
                    return Ok(fresh);
                }
                Err(problem) => match credentials_problem(problem) {
                    (message, true) => reason = message,
                    (message, false) => return Err(Stop::Failed(message)),
                },
            }
        }
        Err(Stop::Failed(reason))
    }

    async fn forget_credentials(&self) {
        *self.inner.credentials.lock().await = None;
    }
}

/// The `Content-Type` S3 stores with the object: the browser's guess from the file, or plain bytes.
fn content_type(file: &File) -> (String, String) {
    let guessed = file.type_();
    let value = if guessed.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        guessed
    };
    ("Content-Type".to_owned(), value)
}

/// Makes the workspace's uploader available to its pages.
pub fn provide_uploader() {
    let uploader = Uploader::new(use_api());
    provide_context(uploader);
}

/// The workspace's uploader.
pub fn use_uploader() -> Uploader {
    expect_context::<Uploader>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_credentials_are_replaced_and_busy_storage_is_asked_again() {
        assert_eq!(
            recovery(400, Some("ExpiredToken")),
            Recovery::FreshCredentials
        );
        assert_eq!(
            recovery(403, Some("InvalidToken")),
            Recovery::FreshCredentials
        );
        assert_eq!(recovery(503, Some("SlowDown")), Recovery::Later);
        assert_eq!(recovery(500, None), Recovery::Later);
        assert_eq!(recovery(502, Some("BadGateway")), Recovery::Later);
    }

    #[test]
    fn a_denial_or_a_bad_request_is_not_retried() {
        assert_eq!(recovery(403, Some("AccessDenied")), Recovery::GiveUp);
        assert_eq!(recovery(400, Some("EntityTooLarge")), Recovery::GiveUp);
        assert_eq!(recovery(404, Some("NoSuchUpload")), Recovery::GiveUp);
    }

    #[test]
    fn refusals_name_storages_code() {
        assert!(
            refusal_message(403, Some("AccessDenied"), Some("Access Denied"))
                .contains("AccessDenied")
        );
        assert_eq!(
            refusal_message(404, Some("NoSuchUpload"), Some("The upload does not exist")),
            "Storage refused this upload (NoSuchUpload): The upload does not exist"
        );
        assert_eq!(
            refusal_message(418, None, None),
            "Storage answered with HTTP status 418."
        );
    }

    #[test]
    fn credentials_are_asked_for_again_only_while_a_service_is_down_or_the_server_unreachable() {
        let problem = |code: Option<ErrorCode>| Problem {
            code,
            message: "the server's message".to_owned(),
        };
        assert_eq!(
            credentials_problem(problem(Some(ErrorCode::ServiceUnavailable))),
            (STORAGE_UNAVAILABLE.to_owned(), true)
        );
        assert_eq!(
            credentials_problem(Problem::unreachable()),
            (Problem::unreachable().message, true)
        );
        assert_eq!(
            credentials_problem(problem(Some(ErrorCode::InsufficientScope))),
            ("the server's message".to_owned(), false)
        );
        assert_eq!(
            credentials_problem(problem(Some(ErrorCode::StorageQuotaExceeded))),
            ("the server's message".to_owned(), false)
        );
    }

    #[test]
    fn only_waiting_and_running_uploads_can_be_cancelled() {
        assert!(UploadStatus::Waiting.cancellable());
        assert!(UploadStatus::Uploading.cancellable());
        assert!(!UploadStatus::Recording.cancellable());
        assert!(!UploadStatus::Done.cancellable());
        assert!(UploadStatus::Failed("x".into()).finished());
        assert!(!UploadStatus::Recording.finished());
    }
}
