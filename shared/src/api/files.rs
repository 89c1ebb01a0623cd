//! `/api/v1/files` and `/api/v1/storage/credentials`: upload credentials, recording uploads, file pages.

use serde::{Deserialize, Serialize};

use super::members::MemberRef;

/// `POST /api/v1/storage/credentials`: short-lived credentials of the upload role, from the identity pool,
/// for the browser to upload straight to S3 under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageCredentials {
    /// The temporary access key id (`ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token every request must carry.
    pub session_token: String,
    /// When the credentials stop working (RFC 3339).
    pub expiration: String,
    /// The bucket's region, for SigV4.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The caller's own prefix, `<tenant_id>/<user_id>/uploads/`: the only place the credentials may write.
    pub prefix: String,
    /// The S3 endpoint to use (path-style), absent for AWS's default regional endpoint.
    pub endpoint: Option<String>,
}

/// The longest object key S3 takes, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Whether the file name in an object key may hold `c`: the web app replaces, and the backend refuses, control
/// characters (S3 advises against them) and U+FFFE and U+FFFF, which XML cannot carry (S3 names keys in XML
/// answers, such as the one that starts a multipart upload).
pub fn allowed_in_key(c: char) -> bool {
    !c.is_control() && c != '\u{fffe}' && c != '\u{ffff}'
}

/// `POST /api/v1/files`: record an object the caller uploaded under their own prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewFile {
    /// The object key, `<prefix><anything>/<file name>`.
    pub key: String,
}

/// A file of the tenant (`GET /api/v1/files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// The file id.
    pub id: String,
    /// The file name (the key's last segment).
    pub name: String,
    /// The size in bytes.
    pub size: i64,
    /// The content type the browser sent.
    pub content_type: String,
    /// Who uploaded it.
    pub uploader: MemberRef,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
}

/// `GET /api/v1/files/{id}/link`: a short-lived link that downloads the file straight from storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileLink {
    /// A presigned GET of the object (it downloads under the file's own name).
    pub url: String,
    /// When the link stops working (RFC 3339).
    pub expires_at: String,
}

/// `GET /api/v1/files`: one page of the tenant's files, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FilePage {
    /// The files of this page.
    pub items: Vec<FileInfo>,
    /// The opaque cursor of the next page, absent on the last page.
    pub next_cursor: Option<String>,
    /// How many bytes the tenant stores in all.
    pub used_bytes: i64,
    /// The most the plan allows; absent when unlimited.
    pub quota_bytes: Option<i64>,
}
