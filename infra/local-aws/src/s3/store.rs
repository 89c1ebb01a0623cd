//! The object store: `s3s-fs` (one file per object, under a directory per bucket), with what it lacks for
//! S3's behaviour around keys, multipart uploads and listings added here.
//!
//! `s3s-fs` gives objects, ranges, metadata, S3's ETags (the MD5 of the body, and for a multipart upload the
//! MD5 of the parts' MD5s followed by `-<part count>`), checksums and multipart assembly. This wrapper adds:
//! - Keys of any length S3 accepts (1,024 bytes). `s3s-fs` names its metadata files after the whole key in
//!   base64, so a key of more than about 110 bytes (the app's keys start with two UUIDs) makes a file name
//!   longer than the file system allows and the request fails. Here every object is kept in `s3s-fs` under
//!   `objects/<SHA-256 of the key>`, and an index of the real keys (`.keys/<bucket>/<digest>` files holding
//!   the key, read back at start) answers listings.
//! - Listings (`ListObjectsV2`, `ListObjects`) from that index, in S3's order (by UTF-8 bytes), with
//!   `prefix`, `delimiter` (common prefixes), `max-keys`, `start-after`, continuation tokens and markers, each
//!   object with its size, ETag, time and storage class; continuation tokens are opaque, as on S3, and
//!   `encoding-type=url` percent-encodes the key names of the answer ([`KeyNames`]). A key that is only a prefix of other keys is no
//!   object, and deleting a key that holds nothing succeeds without doing anything. A read of a key that
//!   holds nothing answers `NoSuchKey` to a caller who may list the bucket and `AccessDenied` to anyone else,
//!   as the access check decided ([`MissingKey`], in the request's extensions).
//! - An upload id belongs to the bucket and key it was created for, as in S3: using it with another key is
//!   `NoSuchUpload`. `s3s-fs` keeps parts by upload id alone, and ties an upload to the access key that
//!   started it, which S3 does not: a browser that refreshes its credentials during a long upload keeps
//!   going with the new ones, and the policy alone decides who may touch the key.
//! - `CompleteMultipartUpload` checks the listed parts against the ETags their uploads returned
//!   (`InvalidPart`) and their order (`InvalidPartOrder`); `ListParts` reports each part's ETag, in part
//!   order.
//! - The bucket's lifecycle rules ([`super::lifecycle`]), as S3 applies them: `CreateMultipartUpload` and
//!   `ListParts` name the date an upload becomes eligible for abort and the rule (`x-amz-abort-date`,
//!   `x-amz-abort-rule-id`), object answers name the expiry (`x-amz-expiration`),
//!   `GetBucketLifecycleConfiguration` answers the rules (`NoSuchLifecycleConfiguration` without), and
//!   [`Store::sweep`] aborts the uploads and deletes the objects that are due. `s3s-fs` keeps an upload as
//!   files at the top of its root (the access key that started it in `.upload-<id>.json`, each part in
//!   `.upload_id-<id>.part-<n>`, the object's metadata in `.bucket-….object-….upload-<id>.metadata.json`);
//!   the sweep takes the upload out of the map first, so that its id answers `NoSuchUpload` at once, then
//!   has `s3s-fs` abort it, which deletes those files. An expired object is deleted as `DeleteObject` deletes
//!   it, and leaves the key index. Uploads in progress are forgotten at a restart, so their files are
//!   deleted when the store opens.
//!
//! Only the operations the app uses are implemented; `s3s` answers every other one `NotImplemented` (and
//! the access check has refused them before).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{Extensions, HeaderMap, Method, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CommonPrefix,
    CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CopyObjectInput, CopyObjectOutput,
    CopySource, CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteObjectInput,
    DeleteObjectOutput, ETag, EncodingType, GetBucketLifecycleConfigurationInput,
    GetBucketLifecycleConfigurationOutput, GetObjectInput, GetObjectOutput, HeadObjectInput,
    HeadObjectOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output,
    ListPartsInput, ListPartsOutput, Object, ObjectStorageClass, PutObjectInput, PutObjectOutput,
    UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3s_fs::FileSystem;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::access::MissingKey;
use super::lifecycle::{self, AbortedUpload, BucketLifecycle, ExpiredObject, LifecycleSweep};

/// The most keys one listing returns, and the default.
const MAX_LIST_KEYS: usize = 1000;

/// An upload in progress: where it will land, when it was initiated, and the ETag of each part uploaded so
/// far.
#[derive(Debug, Clone)]
struct Upload {
    bucket: String,
    key: String,
    initiated: OffsetDateTime,
    parts: BTreeMap<i32, String>,
}

/// The store the `s3s` service calls. Clones share everything, so that the lifecycle sweep works on the
/// store the service serves.
#[derive(Clone)]
pub(crate) struct Store {
    fs: Arc<FileSystem>,
    root: PathBuf,
    /// Upload id → the upload.
    uploads: Arc<Mutex<HashMap<String, Upload>>>,
    /// Bucket → the keys that hold an object.
    keys: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>,
    /// The bucket the stand-in serves, the one the lifecycle configuration belongs to.
    bucket: String,
    /// Its lifecycle configuration, if it has one.
    lifecycle: Option<Arc<BucketLifecycle>>,
}

/// The key under which `s3s-fs` keeps the object `key`: short whatever the key's length.
fn stored_key(key: &str) -> String {
    format!("objects/{}", digest(key))
}

fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The index's directory for `bucket`.
fn index_dir(root: &Path, bucket: &str) -> PathBuf {
    root.join(".keys").join(bucket)
}

/// Reads the index that earlier runs left under `root`.
fn load_index(root: &Path) -> std::io::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut keys = BTreeMap::new();
    let index = root.join(".keys");
    if !index.is_dir() {
        return Ok(keys);
    }
    for bucket in std::fs::read_dir(&index)? {
        let bucket = bucket?;
        let name = bucket.file_name().to_string_lossy().into_owned();
        let set: &mut BTreeSet<String> = keys.entry(name).or_default();
        for entry in std::fs::read_dir(bucket.path())? {
            set.insert(std::fs::read_to_string(entry?.path())?);
        }
    }
    Ok(keys)
}

/// Whether `name`, a file at the top of `s3s-fs`'s root, belongs to a multipart upload: its access-key
/// record, a part, or the object metadata kept for it.
fn is_upload_file(name: &str) -> bool {
    (name.starts_with(".upload-") && name.ends_with(".json"))
        || name.starts_with(".upload_id-")
        || (name.starts_with(".bucket-")
            && name.contains(".upload-")
            && name.ends_with(".metadata.json"))
}

/// Deletes what `s3s-fs` kept of the uploads an earlier run left in progress: the store forgets uploads at a
/// restart (their ids answer `NoSuchUpload`), so nothing could ever complete or abort them.
fn remove_forgotten_uploads(root: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_type()?.is_file() && is_upload_file(&entry.file_name().to_string_lossy()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

impl Store {
    /// A store over `fs`, whose root directory is `root`, with the objects earlier runs left there; `bucket`
    /// has the lifecycle configuration `lifecycle`.
    pub(crate) fn new(
        fs: FileSystem,
        root: PathBuf,
        bucket: String,
        lifecycle: Option<BucketLifecycle>,
    ) -> std::io::Result<Store> {
        let keys = load_index(&root)?;
        remove_forgotten_uploads(&root)?;
        Ok(Store {
            fs: Arc::new(fs),
            root,
            uploads: Arc::default(),
            keys: Arc::new(Mutex::new(keys)),
            bucket,
            lifecycle: lifecycle.map(Arc::new),
        })
    }

    /// The lifecycle configuration of `bucket`, if it has one.
    fn lifecycle_of(&self, bucket: &str) -> Option<&BucketLifecycle> {
        self.lifecycle.as_deref().filter(|_| bucket == self.bucket)
    }

    /// The `x-amz-expiration` value for the object `key` of `bucket` created at `created`, if a rule expires
    /// it.
    fn expiration(&self, bucket: &str, key: &str, created: OffsetDateTime) -> Option<String> {
        let due = self.lifecycle_of(bucket)?.expiration_due(key, created)?;
        lifecycle::expiration_header(&due)
    }

    /// Like [`Store::expiration`], reading the object's creation time from the store; the time is read only
    /// when some rule expires objects under `key`.
    async fn expiration_of_stored(&self, bucket: &str, key: &str) -> Option<String> {
        if !self.lifecycle_of(bucket)?.expires(key) {
            return None;
        }
        let created = self.created(bucket, key).await?;
        self.expiration(bucket, key, created)
    }

    /// When the object `key` was created (its last modification: S3 keeps no other date), if it exists.
    async fn created(&self, bucket: &str, key: &str) -> Option<OffsetDateTime> {
        let mut input = HeadObjectInput::builder();
        input.set_bucket(bucket.to_owned());
        input.set_key(stored_key(key));
        let head = self
            .fs
            .head_object(internal_request(input.build().ok()?))
            .await
            .ok()?;
        head.output.last_modified.map(OffsetDateTime::from)
    }

    /// Applies the lifecycle rules as of `now`: aborts the uploads in progress and deletes the objects whose
    /// due time has come, as S3's daily lifecycle run does. A failure is logged and leaves that upload or
    /// object for the next run.
    pub(crate) async fn sweep(&self, now: OffsetDateTime) -> LifecycleSweep {
        let mut sweep = LifecycleSweep::default();
        let Some(lifecycle) = self.lifecycle_of(&self.bucket) else {
            return sweep;
        };
        let due_uploads: Vec<(String, Upload, String)> = self
            .uploads()
            .iter()
            .filter(|(_, upload)| upload.bucket == self.bucket)
            .filter_map(|(upload_id, upload)| {
                let due = lifecycle.abort_due(&upload.key, upload.initiated)?;
                (due.at <= now).then(|| (upload_id.clone(), upload.clone(), due.rule_id.to_owned()))
            })
            .collect();
        for (upload_id, upload, rule_id) in due_uploads {
            // Out of the map first: from here on the upload id answers `NoSuchUpload`, as after an abort. An
            // upload completed or aborted in the meantime is no longer there and is left alone.
            if self.uploads().remove(&upload_id).is_none() {
                continue;
            }
            let mut input = AbortMultipartUploadInput::builder();
            input.set_bucket(upload.bucket.clone());
            input.set_key(stored_key(&upload.key));
            input.set_upload_id(upload_id.clone());
            let aborted = match input.build() {
                Ok(input) => self
                    .fs
                    .abort_multipart_upload(internal_request(input))
                    .await
                    .map(|_| ())
                    .map_err(|error| format!("{error:?}")),
                Err(error) => Err(format!("{error:?}")),
            };
            match aborted {
                Ok(()) => {
                    tracing::info!(key = %upload.key, %upload_id, rule = %rule_id,
                        "S3 stand-in lifecycle aborted an incomplete multipart upload");
                    sweep.aborted_uploads.push(AbortedUpload {
                        key: upload.key,
                        upload_id,
                        rule_id,
                    });
                }
                Err(error) => {
                    tracing::warn!(key = %upload.key, %upload_id, %error,
                        "S3 stand-in lifecycle could not delete an aborted upload's parts");
                }
            }
        }

        let keys: Vec<String> = self
            .keys()
            .get(&self.bucket)
            .map(|keys| {
                keys.iter()
                    .filter(|key| lifecycle.expires(key))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for key in keys {
            let Some(created) = self.created(&self.bucket, &key).await else {
                continue;
            };
            let Some(due) = lifecycle.expiration_due(&key, created) else {
                continue;
            };
            if due.at > now {
                continue;
            }
            let rule_id = due.rule_id.to_owned();
            let mut input = DeleteObjectInput::builder();
            input.set_bucket(self.bucket.clone());
            input.set_key(stored_key(&key));
            let deleted = match input.build() {
                Ok(input) => match self.fs.delete_object(internal_request(input)).await {
                    Ok(_) => self
                        .forget(&self.bucket, &key)
                        .map_err(|error| format!("{error:?}")),
                    Err(error) => Err(format!("{error:?}")),
                },
                Err(error) => Err(format!("{error:?}")),
            };
            match deleted {
                Ok(()) => {
                    tracing::info!(%key, rule = %rule_id, "S3 stand-in lifecycle expired an object");
                    sweep.expired_objects.push(ExpiredObject { key, rule_id });
                }
                Err(error) => {
                    tracing::warn!(%key, %error, "S3 stand-in lifecycle could not delete an expired object");
                }
            }
        }
        sweep
    }

    fn uploads(&self) -> MutexGuard<'_, HashMap<String, Upload>> {
        // Every change is one insert, update or remove; a panic elsewhere cannot leave the map half-changed.
        self.uploads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn keys(&self) -> MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        // As for `uploads`: each change is one insert or remove.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `key` holds an object.
    fn holds(&self, bucket: &str, key: &str) -> bool {
        self.keys()
            .get(bucket)
            .is_some_and(|keys| keys.contains(key))
    }

    /// Adds `key` to the index, on disk first so that a restart finds it.
    fn remember(&self, bucket: &str, key: &str) -> S3Result<()> {
        let dir = index_dir(&self.root, bucket);
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(digest(key)), key))
            .map_err(|error| s3_error!(InternalError, "indexing the key failed: {error}"))?;
        self.keys()
            .entry(bucket.to_owned())
            .or_default()
            .insert(key.to_owned());
        Ok(())
    }

    /// Takes `key` out of the index.
    fn forget(&self, bucket: &str, key: &str) -> S3Result<()> {
        if let Some(keys) = self.keys().get_mut(bucket) {
            keys.remove(key);
        }
        match std::fs::remove_file(index_dir(&self.root, bucket).join(digest(key))) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(s3_error!(
                InternalError,
                "removing the key from the index failed: {error}"
            )),
            _ => Ok(()),
        }
    }

    /// The upload `upload_id` if it was started for `bucket`/`key`; `NoSuchUpload` otherwise.
    fn upload(&self, upload_id: &str, bucket: &str, key: &str) -> S3Result<Upload> {
        match self.uploads().get(upload_id) {
            Some(upload) if upload.bucket == bucket && upload.key == key => Ok(upload.clone()),
            _ => Err(s3_error!(
                NoSuchUpload,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have \
                 been aborted or completed."
            )),
        }
    }

    /// One page of a listing of `bucket`: the objects with their size, ETag and time, and the common
    /// prefixes.
    async fn list(&self, bucket: &str, query: &ListQuery<'_>) -> (Vec<Object>, Listing) {
        let listing = {
            let keys = self.keys();
            let empty = BTreeSet::new();
            list_keys(keys.get(bucket).unwrap_or(&empty), query)
        };
        let mut objects = Vec::with_capacity(listing.objects.len());
        for key in &listing.objects {
            let mut input = HeadObjectInput::builder();
            input.set_bucket(bucket.to_owned());
            input.set_key(stored_key(key));
            let Ok(input) = input.build() else { continue };
            // An object deleted since the index was read is simply not listed.
            let Ok(head) = self.fs.head_object(internal_request(input)).await else {
                continue;
            };
            objects.push(Object {
                key: Some(key.clone()),
                size: head.output.content_length,
                e_tag: head.output.e_tag,
                last_modified: head.output.last_modified,
                storage_class: Some(ObjectStorageClass::from_static(
                    ObjectStorageClass::STANDARD,
                )),
                ..Object::default()
            });
        }
        (objects, listing)
    }
}

/// What a listing asks for.
#[derive(Debug, Default)]
struct ListQuery<'q> {
    prefix: &'q str,
    delimiter: Option<&'q str>,
    /// List only what sorts after this (`start-after`, a marker or a continuation token).
    after: Option<&'q str>,
    max_keys: usize,
}

/// What one page of a listing holds.
#[derive(Debug, Default, PartialEq, Eq)]
struct Listing {
    objects: Vec<String>,
    common_prefixes: Vec<String>,
    /// More follows this page.
    truncated: bool,
    /// The last key or common prefix of the page: where the next page starts.
    last: Option<String>,
}

/// One page of the keys of `keys` that `query` selects, in S3's order. With a delimiter, the keys that
/// contain it after the prefix are rolled up into one common prefix each (counted once toward `max_keys`);
/// a page that ends on a common prefix resumes after every key under it.
fn list_keys(keys: &BTreeSet<String>, query: &ListQuery<'_>) -> Listing {
    let mut listing = Listing::default();
    let mut count = 0;
    let delimiter = query.delimiter.filter(|delimiter| !delimiter.is_empty());
    for key in keys.iter().filter(|key| key.starts_with(query.prefix)) {
        if let Some(after) = query.after {
            let under_after = delimiter.is_some_and(|delimiter| after.ends_with(delimiter))
                && key.starts_with(after);
            if key.as_str() <= after || under_after {
                continue;
            }
        }
        let entry = match delimiter.and_then(|delimiter| {
            key[query.prefix.len()..]
                .find(delimiter)
                .map(|at| key[..query.prefix.len() + at + delimiter.len()].to_owned())
        }) {
            Some(common) if listing.common_prefixes.last() == Some(&common) => continue,
            Some(common) => Err(common),
            None => Ok(key.clone()),
        };
        if count == query.max_keys {
            listing.truncated = true;
            break;
        }
        count += 1;
        match entry {
            Ok(key) => {
                listing.last = Some(key.clone());
                listing.objects.push(key);
            }
            Err(common) => {
                listing.last = Some(common.clone());
                listing.common_prefixes.push(common);
            }
        }
    }
    listing
}

/// `max-keys` as S3 reads it: 1,000 at most and by default.
fn max_keys(requested: Option<i32>) -> usize {
    requested.map_or(MAX_LIST_KEYS, |max| {
        usize::try_from(max).unwrap_or(0).min(MAX_LIST_KEYS)
    })
}

fn common_prefix_list(prefixes: Vec<String>, names: KeyNames) -> Vec<CommonPrefix> {
    prefixes
        .into_iter()
        .map(|prefix| CommonPrefix {
            prefix: names.one(prefix),
        })
        .collect()
}

/// How a listing writes key names: as they are, or percent-encoded (`encoding-type=url`), which lets a
/// client list keys holding characters XML 1.0 cannot carry (control characters, U+FFFE, U+FFFF). S3 then
/// encodes `Key`, `Prefix`, `Delimiter`, `StartAfter`, `Marker`, `NextMarker` and each common prefix, as
/// measured on S3: a space is `+`, `/` stays, and every other byte outside RFC 3986's unreserved characters
/// is `%XX` (`a+b.txt` is `a%2Bb.txt`, `100%.csv` is `100%25.csv`, `한` is `%ED%95%9C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyNames {
    AsTheyAre,
    UrlEncoded,
}

/// What `encoding-type=url` leaves as it is: RFC 3986's unreserved characters, `/`, and the space (which
/// becomes `+`).
const KEY_NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b' ');

impl KeyNames {
    /// The encoding a request asks for; S3 knows only `url`.
    fn of(encoding: Option<&EncodingType>) -> S3Result<KeyNames> {
        match encoding.map(EncodingType::as_str) {
            None => Ok(KeyNames::AsTheyAre),
            Some(EncodingType::URL) => Ok(KeyNames::UrlEncoded),
            Some(_) => Err(s3_error!(
                InvalidArgument,
                "Invalid Encoding Method specified in Request"
            )),
        }
    }

    fn one(self, name: String) -> Option<String> {
        Some(match self {
            KeyNames::AsTheyAre => name,
            KeyNames::UrlEncoded => utf8_percent_encode(&name, KEY_NAME)
                .to_string()
                .replace(' ', "+"),
        })
    }

    fn all(self, name: Option<String>) -> Option<String> {
        name.and_then(|name| self.one(name))
    }

    fn objects(self, objects: Vec<Object>) -> Vec<Object> {
        objects
            .into_iter()
            .map(|object| Object {
                key: self.all(object.key),
                ..object
            })
            .collect()
    }
}

/// The opaque continuation token for a listing that resumes after `key`. S3's tokens are opaque too, and a
/// key written as it is could hold characters XML cannot carry.
fn continuation_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// The key a continuation token resumes after; a token this store did not make is S3's `InvalidArgument`.
fn continuation_key(token: &str) -> S3Result<String> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|key| String::from_utf8(key).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

/// A request the store makes to `s3s-fs` on its own behalf.
fn internal_request<T>(input: T) -> S3Request<T> {
    S3Request {
        input,
        method: Method::HEAD,
        uri: Uri::default(),
        headers: HeaderMap::new(),
        extensions: Extensions::new(),
        credentials: None,
        region: None,
        service: None,
        trailing_headers: None,
    }
}

/// What a read of a key that holds no object answers: `NoSuchKey`, with S3's message, to a caller who may
/// list the bucket, `AccessDenied` to anyone else, as the access check decided ([`MissingKey`]).
fn missing_key(extensions: &Extensions) -> s3s::S3Error {
    match MissingKey::of(extensions) {
        MissingKey::NoSuchKey => s3_error!(NoSuchKey, "The specified key does not exist."),
        MissingKey::AccessDenied => s3_error!(AccessDenied, "Access Denied"),
    }
}

/// Compares ETags as S3 does for `CompleteMultipartUpload`: the value, with or without quotes.
fn same_e_tag(listed: Option<&ETag>, uploaded: &str) -> bool {
    listed.is_some_and(|e_tag| e_tag.value().trim_matches('"') == uploaded.trim_matches('"'))
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let key = std::mem::take(&mut req.input.key);
        let bucket = req.input.bucket.clone();
        req.input.key = stored_key(&key);
        let mut response = self.fs.put_object(req).await?;
        self.remember(&bucket, &key)?;
        response.output.expiration = self.expiration_of_stored(&bucket, &key).await;
        Ok(response)
    }

    async fn get_object(
        &self,
        mut req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if !self.holds(&req.input.bucket, &req.input.key) {
            return Err(missing_key(&req.extensions));
        }
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        req.input.key = stored_key(&key);
        let mut response = self.fs.get_object(req).await?;
        response.output.expiration = response
            .output
            .last_modified
            .clone()
            .and_then(|created| self.expiration(&bucket, &key, created.into()));
        Ok(response)
    }

    async fn head_object(
        &self,
        mut req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        if !self.holds(&req.input.bucket, &req.input.key) {
            return Err(missing_key(&req.extensions));
        }
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        req.input.key = stored_key(&key);
        let mut response = self.fs.head_object(req).await?;
        response.output.expiration = response
            .output
            .last_modified
            .clone()
            .and_then(|created| self.expiration(&bucket, &key, created.into()));
        Ok(response)
    }

    /// `CopyObject` within the stand-in (the backend copies a recorded upload into the files bucket):
    /// `s3s-fs` copies the body, metadata and checksums and honours `x-amz-copy-source-if-match` and the
    /// other copy conditions; the keys are mapped to their stored names on both sides.
    async fn copy_object(
        &self,
        mut req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let CopySource::Bucket {
            bucket: source_bucket,
            key: source_key,
            version_id,
        } = req.input.copy_source.clone()
        else {
            return Err(s3_error!(
                NotImplemented,
                "Only a bucket and key copy source is supported."
            ));
        };
        if version_id.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "The bucket is not versioned: a copy source names no version."
            ));
        }
        if !self.holds(&source_bucket, &source_key) {
            return Err(missing_key(&req.extensions));
        }
        let key = std::mem::take(&mut req.input.key);
        let bucket = req.input.bucket.clone();
        req.input.key = stored_key(&key);
        req.input.copy_source = CopySource::Bucket {
            bucket: source_bucket,
            key: stored_key(&source_key).into(),
            version_id: None,
        };
        let mut response = self.fs.copy_object(req).await?;
        self.remember(&bucket, &key)?;
        response.output.expiration = self.expiration_of_stored(&bucket, &key).await;
        Ok(response)
    }

    async fn delete_object(
        &self,
        mut req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let key = std::mem::take(&mut req.input.key);
        let bucket = req.input.bucket.clone();
        // S3 answers 204 for a key that holds no object.
        if !self.holds(&bucket, &key) {
            return Ok(S3Response::new(DeleteObjectOutput::default()));
        }
        req.input.key = stored_key(&key);
        let response = self.fs.delete_object(req).await?;
        self.forget(&bucket, &key)?;
        Ok(response)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let names = KeyNames::of(input.encoding_type.as_ref())?;
        let token = input
            .continuation_token
            .as_deref()
            .map(continuation_key)
            .transpose()?;
        let query = ListQuery {
            prefix: input.prefix.as_deref().unwrap_or_default(),
            delimiter: input.delimiter.as_deref(),
            after: token.as_deref().or(input.start_after.as_deref()),
            max_keys: max_keys(input.max_keys),
        };
        let (objects, listing) = self.list(&input.bucket, &query).await;
        let key_count = objects.len() + listing.common_prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket.clone()),
            prefix: names.all(input.prefix.clone()),
            delimiter: names.all(input.delimiter.clone()),
            max_keys: Some(i32::try_from(query.max_keys).unwrap_or(i32::MAX)),
            key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
            is_truncated: Some(listing.truncated),
            continuation_token: input.continuation_token.clone(),
            next_continuation_token: listing
                .truncated
                .then(|| listing.last.as_deref().map(continuation_token))
                .flatten(),
            start_after: names.all(input.start_after.clone()),
            encoding_type: input.encoding_type.clone(),
            contents: (!objects.is_empty()).then(|| names.objects(objects)),
            common_prefixes: (!listing.common_prefixes.is_empty())
                .then(|| common_prefix_list(listing.common_prefixes, names)),
            ..ListObjectsV2Output::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let names = KeyNames::of(input.encoding_type.as_ref())?;
        let query = ListQuery {
            prefix: input.prefix.as_deref().unwrap_or_default(),
            delimiter: input.delimiter.as_deref(),
            after: input.marker.as_deref(),
            max_keys: max_keys(input.max_keys),
        };
        let (objects, listing) = self.list(&input.bucket, &query).await;
        // S3 gives a next marker only with a delimiter; without one, clients continue after the last key.
        let next_marker = (listing.truncated && input.delimiter.is_some())
            .then_some(listing.last)
            .flatten();
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket.clone()),
            prefix: names.all(input.prefix.clone()),
            delimiter: names.all(input.delimiter.clone()),
            marker: names.all(input.marker.clone()),
            max_keys: Some(i32::try_from(query.max_keys).unwrap_or(i32::MAX)),
            is_truncated: Some(listing.truncated),
            next_marker: names.all(next_marker),
            encoding_type: input.encoding_type.clone(),
            contents: (!objects.is_empty()).then(|| names.objects(objects)),
            common_prefixes: (!listing.common_prefixes.is_empty())
                .then(|| common_prefix_list(listing.common_prefixes, names)),
            ..ListObjectsOutput::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        mut req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        let key = std::mem::take(&mut req.input.key);
        req.input.key = stored_key(&key);
        // Uploads are bound to their key here, not to the access key (see the module documentation).
        req.credentials = None;
        let initiated = OffsetDateTime::now_utc();
        let mut response = self.fs.create_multipart_upload(req).await?;
        response.output.key = Some(key.clone());
        if let Some(due) = self
            .lifecycle_of(&bucket)
            .and_then(|lifecycle| lifecycle.abort_due(&key, initiated))
        {
            response.output.abort_date = Some(due.at.into());
            response.output.abort_rule_id = Some(due.rule_id.to_owned());
        }
        if let Some(upload_id) = &response.output.upload_id {
            self.uploads().insert(
                upload_id.clone(),
                Upload {
                    bucket,
                    key,
                    initiated,
                    parts: BTreeMap::new(),
                },
            );
        }
        Ok(response)
    }

    async fn upload_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let upload_id = req.input.upload_id.clone();
        let part_number = req.input.part_number;
        self.upload(&upload_id, &req.input.bucket, &req.input.key)?;
        req.input.key = stored_key(&req.input.key);
        req.credentials = None;
        let response = self.fs.upload_part(req).await?;
        if let (Some(e_tag), Some(upload)) =
            (&response.output.e_tag, self.uploads().get_mut(&upload_id))
        {
            upload.parts.insert(part_number, e_tag.value().to_owned());
        }
        Ok(response)
    }

    async fn list_parts(
        &self,
        mut req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let upload = self.upload(&req.input.upload_id, &req.input.bucket, &req.input.key)?;
        req.input.key = stored_key(&upload.key);
        let mut response = self.fs.list_parts(req).await?;
        response.output.key = Some(upload.key.clone());
        if let Some(due) = self
            .lifecycle_of(&upload.bucket)
            .and_then(|lifecycle| lifecycle.abort_due(&upload.key, upload.initiated))
        {
            response.output.abort_date = Some(due.at.into());
            response.output.abort_rule_id = Some(due.rule_id.to_owned());
        }
        if let Some(parts) = response.output.parts.as_mut() {
            parts.sort_by_key(|part| part.part_number);
            for part in parts.iter_mut() {
                part.e_tag = part
                    .part_number
                    .and_then(|number| upload.parts.get(&number))
                    .map(|e_tag| ETag::Strong(e_tag.clone()));
            }
        }
        Ok(response)
    }

    async fn complete_multipart_upload(
        &self,
        mut req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        let upload = self.upload(&upload_id, &req.input.bucket, &req.input.key)?;
        let listed = req
            .input
            .multipart_upload
            .as_ref()
            .and_then(|upload| upload.parts.as_deref())
            .unwrap_or_default();
        let mut previous = 0;
        for part in listed {
            let number = part.part_number.unwrap_or_default();
            if number <= previous {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. The parts list must be specified in order \
                     by part number."
                ));
            }
            previous = number;
            let uploaded = upload.parts.get(&number);
            if !uploaded.is_some_and(|e_tag| same_e_tag(part.e_tag.as_ref(), e_tag)) {
                return Err(s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found. The part may not have been \
                     uploaded, or the specified entity tag may not match the part's entity tag."
                ));
            }
        }
        req.input.key = stored_key(&upload.key);
        req.credentials = None;
        let mut response = self.fs.complete_multipart_upload(req).await?;
        // `s3s-fs` answers through a future (S3 keeps the connection alive while it assembles the parts);
        // the key it names is the stored one.
        let key = upload.key.clone();
        match response.output.future.take() {
            Some(assembled) => {
                let store = self.clone();
                let bucket = upload.bucket.clone();
                response.output.future = Some(Box::pin(async move {
                    let mut output = assembled.await?;
                    output.expiration = store.expiration_of_stored(&bucket, &key).await;
                    output.key = Some(key);
                    Ok(output)
                }));
            }
            None => {
                response.output.expiration = self.expiration_of_stored(&upload.bucket, &key).await;
                response.output.key = Some(key);
            }
        }
        self.remember(&upload.bucket, &upload.key)?;
        self.uploads().remove(&upload_id);
        Ok(response)
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let bucket = &req.input.bucket;
        if *bucket != self.bucket {
            return Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ));
        }
        match self.lifecycle_of(bucket) {
            Some(lifecycle) => Ok(S3Response::new(lifecycle.to_output())),
            None => Err(s3_error!(
                NoSuchLifecycleConfiguration,
                "The lifecycle configuration does not exist"
            )),
        }
    }

    async fn abort_multipart_upload(
        &self,
        mut req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        let upload = self.upload(&upload_id, &req.input.bucket, &req.input.key)?;
        req.input.key = stored_key(&upload.key);
        req.credentials = None;
        let response = self.fs.abort_multipart_upload(req).await?;
        self.uploads().remove(&upload_id);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|key| (*key).to_owned()).collect()
    }

    fn query<'q>(
        prefix: &'q str,
        delimiter: Option<&'q str>,
        after: Option<&'q str>,
        max_keys: usize,
    ) -> ListQuery<'q> {
        ListQuery {
            prefix,
            delimiter,
            after,
            max_keys,
        }
    }

    #[test]
    fn keys_of_any_length_are_stored_under_a_short_name() {
        let long = format!("acme/{}/x", "k".repeat(1000));
        assert_eq!(stored_key(&long).len(), "objects/".len() + 64);
        assert_ne!(stored_key("a/b"), stored_key("a/c"));
    }

    #[test]
    fn a_prefix_lists_only_keys_that_start_with_it_in_byte_order() {
        let all = keys(&[
            "acme2/u/uploads/x",
            "acme/u/uploads/b",
            "acme/u/uploads/a",
            "acme/u/uploadsX",
        ]);
        let listing = list_keys(&all, &query("acme/u/uploads/", None, None, 1000));
        assert_eq!(listing.objects, ["acme/u/uploads/a", "acme/u/uploads/b"]);
        assert!(!listing.truncated);
    }

    #[test]
    fn a_delimiter_rolls_keys_up_into_common_prefixes() {
        let all = keys(&["p/2025/a", "p/2025/b", "p/2026/c", "p/top"]);
        let listing = list_keys(&all, &query("p/", Some("/"), None, 1000));
        assert_eq!(listing.common_prefixes, ["p/2025/", "p/2026/"]);
        assert_eq!(listing.objects, ["p/top"]);
    }

    #[test]
    fn pages_continue_after_the_last_key_or_common_prefix() {
        let all = keys(&["p/2025/a", "p/2025/b", "p/2026/c", "p/top"]);
        let first = list_keys(&all, &query("p/", Some("/"), None, 1));
        assert_eq!(first.common_prefixes, ["p/2025/"]);
        assert!(first.truncated);
        let second = list_keys(&all, &query("p/", Some("/"), first.last.as_deref(), 1));
        assert_eq!(second.common_prefixes, ["p/2026/"]);
        let third = list_keys(&all, &query("p/", Some("/"), second.last.as_deref(), 1));
        assert_eq!(third.objects, ["p/top"]);
        assert!(!third.truncated);

        let flat = list_keys(&all, &query("", None, Some("p/2025/a"), 2));
        assert_eq!(flat.objects, ["p/2025/b", "p/2026/c"]);
        assert!(flat.truncated);
        assert_eq!(max_keys(None), 1000);
        assert_eq!(max_keys(Some(5000)), 1000);
        assert_eq!(max_keys(Some(-1)), 0);
    }

    #[test]
    fn the_files_of_an_upload_are_told_from_those_of_objects() {
        let id = "cf8d02e6-d4b8-4307-8e46-a0b58bfdb01d";
        for name in [
            format!(".upload-{id}.json"),
            format!(".upload_id-{id}.part-1"),
            format!(".upload_id-{id}.part-10000"),
            format!(".bucket-YnVja2V0.object-b2JqZWN0cy9hYg.upload-{id}.metadata.json"),
        ] {
            assert!(is_upload_file(&name), "{name}");
        }
        for name in [
            ".bucket-YnVja2V0.object-b2JqZWN0cy9hYg.metadata.json",
            ".bucket-YnVja2V0.object-b2JqZWN0cy9hYg.internal.json",
            ".tmp.3.internal.part",
            ".keys",
            "saas-reference-uploads",
        ] {
            assert!(!is_upload_file(name), "{name}");
        }
    }

    #[test]
    fn part_etags_compare_with_or_without_quotes() {
        let uploaded = "5d41402abc4b2a76b9719d911017c592";
        assert!(same_e_tag(
            Some(&ETag::Strong(uploaded.to_owned())),
            uploaded
        ));
        assert!(same_e_tag(
            Some(&ETag::Strong(format!("\"{uploaded}\""))),
            uploaded
        ));
        assert!(!same_e_tag(
            Some(&ETag::Strong("other".to_owned())),
            uploaded
        ));
        assert!(!same_e_tag(None, uploaded));
    }
}
