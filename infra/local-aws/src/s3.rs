//! The S3 stand-in (`s3.<region>.amazonaws.com`, path-style): the identity pool's upload bucket and the
//! backend's bucket of recorded files (`files_bucket` in `local.json`), served by
//! `s3s` (request parsing, SigV4 in headers and presigned URLs) with objects stored as files by `s3s-fs`.
//!
//! Every request goes through these steps, in this order; the first that refuses answers with S3's own XML
//! error and status:
//! 1. `OPTIONS` is a CORS preflight, answered without authentication from the bucket's CORS rules, the
//!    deployment's `infra/policies/bucket-cors.json` (`cors.rs`): the app origins (the origins of the callback
//!    URLs of the app clients the identity pool accepts) may `PUT`, `GET`, `HEAD`, `POST` and `DELETE` with any
//!    header and read `ETag` and `x-amz-request-id`.
//! 2. The path: a key with a `.`, `..` or empty segment, or a raw path with a percent-encoded slash, is
//!    refused with `AccessDenied` before anything else (`keys.rs`). Real S3 stores such keys literally; the
//!    stand-in keeps objects as files, where they would resolve to another key than the one the policy was
//!    evaluated on.
//! 3. The credentials: Signature Version 2 is refused; the SigV4 credential scope must name the pool's region
//!    and `s3`; a presigned URL may be valid for a week at most and must not have expired, and a request
//!    signed in headers must be within 15 minutes of the server's clock (`auth_errors.rs`); the access key
//!    must belong to a live session of the identity pool (or be the backend's long-term key) and the request
//!    must carry that session's token (`x-amz-security-token` header or `X-Amz-Security-Token` query
//!    parameter): `InvalidAccessKeyId` (403, also for a session key without its token), `InvalidToken` and
//!    `ExpiredToken` (400, as S3 answers them) otherwise (`auth.rs`). A presigned URL therefore stops working
//!    when its session expires, whatever its own expiry. A request without credentials goes on as anonymous.
//! 4. `s3s` verifies the signature with the session's secret; a mismatch is answered with the canonical
//!    request and string to sign, as S3 answers it (`auth_errors.rs`).
//! 5. Authorization (`access.rs`): anonymous requests and operations the app does not use are `AccessDenied`;
//!    the others are decided by the upload role's permission policy (`infra/policies/`) for the S3 action of
//!    the operation, on `arn:aws:s3:::<bucket>/<key>` (`arn:aws:s3:::<bucket>` with `s3:prefix`,
//!    `s3:delimiter`, `s3:max-keys` for listings, and for `GetBucketLifecycleConfiguration`), with the
//!    session's principal tags in the context.
//! 6. The store (`store.rs`) runs the operation; a read of a key that holds nothing answers `NoSuchKey` or
//!    `AccessDenied` as step 5 decided from the caller's `s3:ListBucket`.
//!
//! Every error document ends with the answer's `RequestId` and `HostId`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>).
//!
//! The bucket's lifecycle configuration is the deployment's `infra/policies/bucket-lifecycle.json`
//! (`lifecycle.rs`): `GetBucketLifecycleConfiguration` answers it (`PutBucketLifecycleConfiguration` and
//! `DeleteBucketLifecycle` are refused: the file is the source), uploads and objects carry their abort and
//! expiry dates, and a sweep applies the rules at start and then every ten minutes, aborting the incomplete
//! multipart uploads and deleting the objects whose due time has passed.
//! [`crate::LocalAws::s3_lifecycle_sweep`] runs the same sweep as of any time, so that tests need not wait
//! for days.
//!
//! Objects live in a temporary directory per start (tests) or in a directory kept across restarts (the dev
//! binary), see [`Storage`]. [`Authorization::BenchmarkOnlyDisabled`] skips step 5's policy evaluation, and
//! nothing else, so that a benchmark can measure its cost; only code can choose it.

mod access;
mod auth;
mod auth_errors;
mod cors;
mod error;
mod keys;
mod lifecycle;
mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use s3s::service::{S3Service, S3ServiceBuilder};

pub use self::cors::BucketCors;
pub use self::lifecycle::{AbortedUpload, BucketLifecycle, ExpiredObject, LifecycleSweep};
use crate::credentials::CredentialStore;
use crate::iam::PolicySet;

/// How the S3 stand-in runs: where objects are kept and whether requests are authorized.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Where objects are stored.
    pub storage: Storage,
    /// Whether the role's permission policy decides each request (always, except in a benchmark).
    pub authorization: Authorization,
}

/// Where the S3 stand-in keeps objects.
#[derive(Debug, Clone, Default)]
pub enum Storage {
    /// A fresh temporary directory, removed when the stand-ins stop (tests).
    #[default]
    Temporary,
    /// This directory, created if needed and kept across restarts (the dev binary). The bucket is a
    /// sub-directory named after it.
    Directory(PathBuf),
}

/// Whether the upload role's permission policy is evaluated for every request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Authorization {
    /// Every request is evaluated against the role's permission policy. The only setting outside benchmarks.
    #[default]
    Enforced,
    /// **Benchmark only**: no policy evaluation, so a benchmark can compare uploads with and without it.
    /// Signatures, session tokens, expiry, the key checks and the list of implemented operations still
    /// apply. Neither `local.json` nor the environment can select it; only code that builds [`S3Options`].
    BenchmarkOnlyDisabled,
}

/// What the S3 stand-in serves and checks, made from the stand-ins' configuration by
/// `LocalAwsConfig::s3_settings`. The stand-in is handed this and never reads the configuration itself, so
/// `config` depends on `s3` (for the bucket's CORS and lifecycle rules) and not the reverse.
#[derive(Debug, Clone)]
pub(crate) struct S3Settings {
    /// The region credential scopes must name.
    pub(crate) region: String,
    /// The upload bucket (the identity pool's): the only one with CORS and lifecycle rules.
    pub(crate) upload_bucket: String,
    /// The bucket recorded files are copied into.
    pub(crate) files_bucket: String,
    /// The upload bucket's CORS rules, `@@APP_ORIGIN@@` still to be filled in.
    pub(crate) cors: BucketCors,
    /// The origins `@@APP_ORIGIN@@` stands for: those browsers call the bucket from.
    pub(crate) app_origins: Vec<String>,
    /// The upload bucket's lifecycle rules; `None` is a bucket without a lifecycle configuration.
    pub(crate) lifecycle: Option<BucketLifecycle>,
    /// The permission policies of each principal that calls S3 (the upload role, the backend's user), by
    /// ARN.
    pub(crate) permissions: Vec<(String, PolicySet)>,
    /// The identity pool's id, `cognito-identity.amazonaws.com:aud` of the upload role's sessions.
    pub(crate) identity_pool_id: String,
}

/// How often the lifecycle sweep runs. S3 starts its lifecycle run once a day at midnight UTC and gives no
/// time by which it ends; every due time is a midnight UTC, so a sweep every ten minutes acts on each one at
/// most ten minutes late.
const LIFECYCLE_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// The S3 stand-in of one [`crate::LocalAws`]: its state, its lifecycle sweeper, and the temporary directory
/// it removes when dropped.
pub(crate) struct S3StandIn {
    state: Arc<StandIn>,
    /// The store the service serves, shared with the sweeper.
    store: store::Store,
    /// The periodic lifecycle sweep, stopped when the stand-in is dropped.
    sweeper: tokio::task::JoinHandle<()>,
    /// Kept for its `Drop`, which removes the directory (tests).
    _temporary: Option<tempfile::TempDir>,
}

/// What every request needs.
struct StandIn {
    bucket: String,
    region: String,
    credentials: CredentialStore,
    cors: cors::Cors,
    service: S3Service,
}

impl S3StandIn {
    /// Prepares the store and the `s3s` service for the identity pool's bucket, and starts the lifecycle
    /// sweeper (on the current Tokio runtime).
    pub(crate) fn new(
        settings: S3Settings,
        credentials: CredentialStore,
        options: S3Options,
    ) -> anyhow::Result<S3StandIn> {
        let bucket = settings.upload_bucket.clone();
        let (root, temporary) = match options.storage {
            Storage::Temporary => {
                let directory = tempfile::Builder::new()
                    .prefix("local-aws-s3-")
                    .tempdir()
                    .context("creating a temporary directory for the S3 stand-in")?;
                (directory.path().to_path_buf(), Some(directory))
            }
            Storage::Directory(directory) => (directory, None),
        };
        // The buckets exist from the start, as the deployment creates them; s3s-fs keeps a bucket as a
        // directory under its root.
        for name in [&bucket, &settings.files_bucket] {
            std::fs::create_dir_all(root.join(name)).with_context(|| {
                format!("creating the S3 stand-in's directory {}", root.display())
            })?;
        }
        let root = std::fs::canonicalize(&root)
            .with_context(|| format!("resolving {}", root.display()))?;
        let file_system = s3s_fs::FileSystem::new(&root)
            .map_err(|error| anyhow::anyhow!("opening {} for s3s-fs: {error:?}", root.display()))?;

        let store = store::Store::new(
            file_system,
            root.clone(),
            bucket.clone(),
            settings.lifecycle.clone(),
        )
        .with_context(|| {
            format!(
                "reading the S3 stand-in's key index under {}",
                root.display()
            )
        })?;
        let sweeper = tokio::spawn(sweep_periodically(store.clone()));
        let mut builder = S3ServiceBuilder::new(store.clone());
        builder.set_auth(auth::SessionAuth);
        builder.set_access(access::PolicyAccess::new(&settings, options.authorization));
        Ok(S3StandIn {
            state: Arc::new(StandIn {
                bucket,
                region: settings.region,
                credentials,
                cors: settings.cors.for_origins(&settings.app_origins),
                service: builder.build(),
            }),
            store,
            sweeper,
            _temporary: temporary,
        })
    }

    /// Applies the bucket's lifecycle rules as of `now`, as the periodic sweep does with the real time.
    pub(crate) async fn sweep_lifecycle(&self, now: SystemTime) -> LifecycleSweep {
        self.store.sweep(now.into()).await
    }

    /// The listener's router: every path and method goes to the stand-in.
    pub(crate) fn router(&self) -> Router {
        Router::new()
            .fallback(handle)
            .with_state(self.state.clone())
    }
}

impl Drop for S3StandIn {
    fn drop(&mut self) {
        self.sweeper.abort();
    }
}

/// The periodic lifecycle sweep: at start (what fell due while the stand-in was stopped), then every
/// [`LIFECYCLE_SWEEP_INTERVAL`].
async fn sweep_periodically(store: store::Store) {
    let mut interval = tokio::time::interval(LIFECYCLE_SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let sweep = store.sweep(time::OffsetDateTime::now_utc()).await;
        if sweep != LifecycleSweep::default() {
            tracing::info!(
                aborted_uploads = sweep.aborted_uploads.len(),
                expired_objects = sweep.expired_objects.len(),
                "S3 stand-in lifecycle sweep"
            );
        }
    }
}

/// One request, through the steps of the module documentation; every answer gets S3's request id headers
/// and, for an allowed origin, its CORS headers.
async fn handle(State(stand_in): State<Arc<StandIn>>, request: Request) -> Response {
    let method = request.method().clone();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if method == Method::OPTIONS {
        stand_in
            .cors
            .preflight(&stand_in.bucket, request.uri().path(), request.headers())
    } else {
        // Only the upload bucket has CORS rules; the files bucket answers browsers without CORS headers.
        let in_upload_bucket = cors::bucket_of(request.uri().path()).0 == stand_in.bucket;
        let mut response = stand_in.serve(request).await;
        if in_upload_bucket {
            stand_in
                .cors
                .decorate(origin.as_ref(), &method, response.headers_mut());
        }
        response
    };
    let (request_id, host_id) = request_ids();
    if method != Method::HEAD {
        response = with_request_ids(response, &request_id, &host_id).await;
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amz-request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&host_id) {
        headers.insert("x-amz-id-2", value);
    }
    response
}

impl StandIn {
    /// Steps 2 to 6: the key checks, the session, then `s3s` (signature, authorization, the store).
    async fn serve(&self, request: Request) -> Response {
        if let Err(refusal) = keys::check_path(request.uri().path()) {
            tracing::debug!(path = request.uri().path(), %refusal, "S3 stand-in refused a key");
            return refusal.into_error().into_response();
        }
        let presented = match auth::presented(request.headers(), request.uri(), &self.region) {
            Ok(presented) => presented,
            Err(error) => return error.into_response(),
        };
        if let Err(error) = auth_errors::check_time(
            request.headers(),
            request.uri(),
            time::OffsetDateTime::now_utc(),
        ) {
            return error.into_response();
        }
        let session = match presented {
            auth::Presented::Anonymous => None,
            auth::Presented::Session {
                access_key_id,
                session_token,
            } => match self
                .credentials
                .check(&access_key_id, session_token.as_deref())
            {
                Ok(session) => Some(session),
                Err(error) => {
                    tracing::debug!(%access_key_id, %error, "S3 stand-in refused credentials");
                    return auth::credentials_error(
                        error,
                        &access_key_id,
                        session_token.as_deref(),
                    )
                    .into_response();
                }
            },
        };

        // `s3s` verifies the signature but does not say what it computed; kept to say it as S3 does.
        let signed = session.as_ref().map(|_| {
            auth_errors::SignedRequest::new(request.method(), request.uri(), request.headers())
        });
        let (parts, body) = request.into_parts();
        let mut request = s3s::HttpRequest::from_parts(parts, s3s::Body::http_body_unsync(body));
        let result = match session {
            Some(session) => {
                request
                    .extensions_mut()
                    .insert(auth::PresentedSession(session.clone()));
                auth::with_session(session, self.service.call(request)).await
            }
            None => self.service.call(request).await,
        };
        match result {
            Ok(response) => {
                if response.status().is_server_error() {
                    tracing::error!(status = %response.status(), "S3 stand-in failed a request");
                }
                let response = response.map(Body::new);
                match signed {
                    Some(signed) if response.status() == StatusCode::FORBIDDEN => {
                        detail_signature_mismatch(response, &signed).await
                    }
                    _ => response,
                }
            }
            Err(error) => {
                tracing::error!(?error, "S3 stand-in could not answer a request");
                error::XmlError::internal().into_response()
            }
        }
    }
}

/// The most of an error body the stand-in reads back to complete it; S3's error documents are far smaller.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// `response`'s body, read whole (an error document), or `None` with a replacement response if it cannot
/// be read.
async fn error_body(response: Response) -> (axum::http::response::Parts, Option<String>) {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok());
    (parts, text)
}

/// `parts` with `body`, its length recomputed.
fn rebuilt(mut parts: axum::http::response::Parts, body: String) -> Response {
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// A 403 from `s3s` that is `SignatureDoesNotMatch`, replaced by S3's answer with the canonical request and
/// string to sign (`auth_errors`); any other 403 unchanged.
async fn detail_signature_mismatch(
    response: Response,
    signed: &auth_errors::SignedRequest,
) -> Response {
    let (parts, body) = error_body(response).await;
    match body {
        Some(body) if body.contains("<Code>SignatureDoesNotMatch</Code>") => {
            auth_errors::signature_mismatch(signed).into_response()
        }
        Some(body) => rebuilt(parts, body),
        None => error::XmlError::internal().into_response(),
    }
}

/// Every S3 error document ends with the request's `RequestId` and `HostId`, the values of its
/// `x-amz-request-id` and `x-amz-id-2` headers
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>, "REST error responses"). The
/// stand-in's own errors and `s3s`'s are completed here; a success, or an answer to `HEAD` (which has no
/// body), is left as it is.
async fn with_request_ids(response: Response, request_id: &str, host_id: &str) -> Response {
    let is_xml = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("xml"));
    if response.status().is_success() || !is_xml {
        return response;
    }
    let (parts, body) = error_body(response).await;
    let Some(body) = body else {
        return error::XmlError::internal().into_response();
    };
    match body.rfind("</Error>") {
        Some(end) if !body.contains("<RequestId>") => {
            let mut completed = body;
            completed.insert_str(
                end,
                &format!("<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId>"),
            );
            rebuilt(parts, completed)
        }
        _ => rebuilt(parts, body),
    }
}

/// A request id and extended request id shaped like S3's (`x-amz-request-id`, `x-amz-id-2`).
fn request_ids() -> (String, String) {
    use base64::Engine as _;
    let mut rng = rand::thread_rng();
    let request_id: String = (0..16)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16)]))
        .collect();
    let host_bytes: [u8; 48] = std::array::from_fn(|_| rng.r#gen());
    let host_id = base64::engine::general_purpose::STANDARD.encode(host_bytes);
    (request_id, host_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_those_of_s3() {
        let (request_id, host_id) = request_ids();
        assert_eq!(request_id.len(), 16);
        assert!(request_id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(host_id.len(), 64);
    }
}
