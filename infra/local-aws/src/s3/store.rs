//! The object store: `s3s-fs` (one file per object, under a directory per bucket), with what it lacks for
//! S3's behaviour around multipart uploads and listings added here.
//!
//! `s3s-fs` gives objects, ranges, metadata, S3's ETags (the MD5 of the body, and for a multipart upload the
//! MD5 of the parts' MD5s followed by `-<part count>`), checksums and multipart assembly. This wrapper adds:
//! - An upload id belongs to the bucket and key it was created for, as in S3: using it with another key is
//!   `NoSuchUpload`. `s3s-fs` keeps parts by upload id alone, and ties an upload to the access key that
//!   started it, which S3 does not: a browser that refreshes its credentials during a long upload keeps
//!   going with the new ones, and the policy alone decides who may touch the key.
//! - `CompleteMultipartUpload` checks the listed parts against the ETags their uploads returned
//!   (`InvalidPart`) and their order (`InvalidPartOrder`); `ListParts` reports each part's ETag, in part
//!   order.
//! - Listings report each object's ETag and storage class; a key that is only a prefix of other keys (a
//!   directory on disk) is no object (`NoSuchKey`, and deleting it succeeds without doing anything).
//!
//! Only the operations the app uses are implemented; `s3s` answers every other one `NotImplemented` (and
//! the access check has refused them before).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use axum::http::{Extensions, HeaderMap, Method, Uri};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput,
    DeleteObjectInput, DeleteObjectOutput, ETag, GetObjectInput, GetObjectOutput, HeadObjectInput,
    HeadObjectOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output,
    ListPartsInput, ListPartsOutput, Object, ObjectStorageClass, PutObjectInput, PutObjectOutput,
    UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3s_fs::FileSystem;

/// An upload in progress: where it will land, and the ETag of each part uploaded so far.
#[derive(Debug, Clone)]
struct Upload {
    bucket: String,
    key: String,
    parts: BTreeMap<i32, String>,
}

/// The store the `s3s` service calls.
pub(crate) struct Store {
    fs: FileSystem,
    root: PathBuf,
    /// Upload id → the upload.
    uploads: Mutex<HashMap<String, Upload>>,
}

impl Store {
    /// A store over `fs`, whose root directory is `root`.
    pub(crate) fn new(fs: FileSystem, root: PathBuf) -> Store {
        Store {
            fs,
            root,
            uploads: Mutex::default(),
        }
    }

    fn uploads(&self) -> MutexGuard<'_, HashMap<String, Upload>> {
        // Every change is one insert, update or remove; a panic elsewhere cannot leave the map half-changed.
        self.uploads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    /// Whether `key` is a directory on disk: a prefix of other keys, not an object. The key checks made
    /// before any request reaches the store guarantee that joining it to the root names exactly that key.
    fn is_directory(&self, bucket: &str, key: &str) -> bool {
        self.root.join(bucket).join(key).is_dir()
    }

    /// The ETag of an object, for listings.
    async fn e_tag(&self, bucket: &str, key: &str) -> Option<ETag> {
        let mut input = HeadObjectInput::builder();
        input.set_bucket(bucket.to_owned());
        input.set_key(key.to_owned());
        let request = internal_request(input.build().ok()?);
        let response = self.fs.head_object(request).await.ok()?;
        response.output.e_tag
    }

    /// Completes listed objects with their ETag and storage class, as S3 lists them.
    async fn describe(&self, bucket: &str, objects: Option<&mut Vec<Object>>) {
        for object in objects.into_iter().flatten() {
            if let Some(key) = object.key.as_deref() {
                object.e_tag = self.e_tag(bucket, key).await;
            }
            object.storage_class = Some(ObjectStorageClass::from_static(
                ObjectStorageClass::STANDARD,
            ));
        }
    }
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

/// `NoSuchKey`, with S3's message.
fn no_such_key() -> s3s::S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

/// Compares ETags as S3 does for `CompleteMultipartUpload`: the value, with or without quotes.
fn same_e_tag(listed: Option<&ETag>, uploaded: &str) -> bool {
    listed.is_some_and(|e_tag| e_tag.value().trim_matches('"') == uploaded.trim_matches('"'))
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key) {
            return Err(no_such_key());
        }
        self.fs.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key) {
            return Err(no_such_key());
        }
        self.fs.head_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        // S3 answers 204 for a key that holds no object.
        if self.is_directory(&req.input.bucket, &req.input.key) {
            return Ok(S3Response::new(DeleteObjectOutput::default()));
        }
        self.fs.delete_object(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        let mut response = self.fs.list_objects_v2(req).await?;
        self.describe(&bucket, response.output.contents.as_mut())
            .await;
        Ok(response)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let mut response = self.fs.list_objects(req).await?;
        self.describe(&bucket, response.output.contents.as_mut())
            .await;
        Ok(response)
    }

    async fn create_multipart_upload(
        &self,
        mut req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        // Uploads are bound to their key here, not to the access key (see the module documentation).
        req.credentials = None;
        let response = self.fs.create_multipart_upload(req).await?;
        if let Some(upload_id) = &response.output.upload_id {
            self.uploads().insert(
                upload_id.clone(),
                Upload {
                    bucket,
                    key,
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
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let upload = self.upload(&req.input.upload_id, &req.input.bucket, &req.input.key)?;
        let mut response = self.fs.list_parts(req).await?;
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
        req.credentials = None;
        let response = self.fs.complete_multipart_upload(req).await?;
        self.uploads().remove(&upload_id);
        Ok(response)
    }

    async fn abort_multipart_upload(
        &self,
        mut req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        self.upload(&upload_id, &req.input.bucket, &req.input.key)?;
        req.credentials = None;
        let response = self.fs.abort_multipart_upload(req).await?;
        self.uploads().remove(&upload_id);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
