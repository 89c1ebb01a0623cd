//! Uploads: `POST /api/v1/storage/credentials` hands a browser short-lived credentials of the upload role
//! (from the identity pool, with the session's ID token), which can write only under the caller's own prefix
//! `<tenant_id>/<user_id>/uploads/` of the upload bucket; the browser uploads straight to S3 and then records
//! the file with `POST /api/v1/files`. The tenant's members list files and download them through presigned
//! URLs; the uploader or an admin deletes them. The backend never carries file bytes.
//!
//! A file's life: **uploaded** (in the upload bucket, where its uploader's credentials can still change or
//! delete it, and where a lifecycle rule deletes whatever is left after a day), then **recorded**: the
//! backend copies the object server-side into the files bucket under `<tenant_id>/<file_id>` (only if it is
//! still the object whose size and ETag it just read), records that copy, and deletes the upload. The files
//! bucket is written by the backend alone, so a recorded file is **immutable**: no browser credential can
//! overwrite or delete it, and its size and ETag are what the list shows. Downloads are presigned GETs of
//! the copy.
//!
//! Credentials go only to an active member with the write scope right now (the principal's role is read
//! from the database on each request). They last what the identity pool gives (Cognito's fixed hour), which
//! is also what a large upload on a slow link needs; a member deactivated or demoted within that hour can
//! still write under their own upload prefix, but can record nothing, reach no recorded file, and whatever
//! they leave is deleted by the lifecycle rule.
//!
//! The `basic` plan's storage quota counts what can occupy storage: recorded files, files being deleted, and
//! (when credentials are asked for) the tenant's uploads not yet recorded. Credentials are refused once that
//! reaches the quota, and a file that would take the recorded total past it is refused (and its upload
//! removed).
//!
//! Deleting is two steps so that nothing is left half-done: the row is marked `deleting` (and audited) in one
//! transaction, then the object is deleted, then the row. A failure after the first step answers 503 and the
//! file stays hidden; deleting again finishes the job.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::api::{
    AuditAction, FileInfo, FileLink, FilePage, MAX_KEY_BYTES, MemberRef, NewFile,
    StorageCredentials, allowed_in_key,
};
use shared::scope::is_maker_or_admin;
use shared::{ErrorBody, Scope};
use time::OffsetDateTime;
use uuid::Uuid;

use super::paging::{self, PageQuery, rfc3339};
use super::{PathId, current_tenant, lock_tenant};
use crate::auth::{Principal, ScopedRouter, SessionIdToken};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, NewEvent, Target};
use crate::db::{self, Keyset, TenantTx};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;
use crate::storage::{Bucket, StorageError};

/// How long a presigned download link works.
pub const DOWNLOAD_LINK_VALIDITY: Duration = Duration::from_secs(5 * 60);
/// The largest file that can be recorded: 5 GiB, the most S3 copies in one `CopyObject` (and what the web app
/// promises).
pub const MAX_FILE_BYTES: i64 = 5 * 1024 * 1024 * 1024;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .post("/storage/credentials", Scope::Write, credentials)
        .get("/files", Scope::Read, list)
        .post("/files", Scope::Write, record)
        .get("/files/{id}/download", Scope::Read, download)
        .get("/files/{id}/link", Scope::Read, link)
        .delete("/files/{id}", Scope::Write, remove)
}

/// The caller's own upload prefix: `<tenant_id>/<user pool sub>/uploads/`, exactly what the upload role's
/// policy allows (its principal tags are the ID token's `tenant_id` and `sub`).
fn own_prefix(principal: &Principal) -> String {
    format!("{}/{}/uploads/", principal.tenant_id, principal.subject)
}

#[utoipa::path(
    post,
    path = "/api/v1/storage/credentials",
    tag = "files",
    responses(
        (status = 200, description = "Credentials that may write only under `prefix`, for about an hour.", body = StorageCredentials),
        (status = 401, description = "The session's ID token is no longer accepted by the identity pool: sign in again.", body = ErrorBody),
        (status = 403, description = "A bearer token instead of a browser session (`not_permitted`), or the plan's storage is used up (`storage_quota_exceeded`).", body = ErrorBody),
        (status = 503, description = "The identity pool is unavailable.", body = ErrorBody),
    )
)]
/// Vends upload credentials to a browser session.
async fn credentials(
    State(state): State<AppState>,
    principal: Principal,
    mut tx: TenantTx,
    SessionIdToken(id_token): SessionIdToken,
) -> Result<AppJson<StorageCredentials>, ApiError> {
    let tenant = principal.tenant_id;
    let plan = current_tenant(&mut tx).await?.plan;
    let used = db::files::used_bytes(&mut tx).await?;
    tx.commit().await?;
    if let Some(quota) = plan.storage_quota_bytes() {
        // What occupies storage: the recorded files, and the tenant's uploads not recorded yet (until the
        // lifecycle rule removes them), whoever made them.
        let pending = state
            .storage
            .pending_bytes(&format!("{tenant}/"))
            .await
            .map_err(ApiError::unavailable)?;
        if used.saturating_add(pending) >= quota {
            return Err(ApiError::StorageQuotaExceeded);
        }
    }
    let vended = state
        .storage
        .vend(&id_token)
        .await
        .map_err(|err| match err {
            StorageError::Refused(reason) => {
                tracing::info!(%reason, "the identity pool refused the session's ID token");
                ApiError::Unauthenticated
            }
            other => ApiError::unavailable(other),
        })?;
    let config = state.storage.config();
    Ok(AppJson(StorageCredentials {
        access_key_id: vended.access_key_id,
        secret_access_key: vended.secret_access_key,
        session_token: vended.session_token,
        expiration: rfc3339(OffsetDateTime::from(vended.expiration))?,
        region: config.region.clone(),
        bucket: config.bucket.clone(),
        prefix: own_prefix(&principal),
        endpoint: config
            .s3_endpoint
            .as_ref()
            .map(|url| url.as_str().trim_end_matches('/').to_owned()),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/files",
    tag = "files",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the tenant's files, newest first, with the storage used.", body = FilePage),
        (status = 422, description = "A bad limit or cursor.", body = ErrorBody),
    )
)]
/// One page of the tenant's files.
async fn list(
    mut tx: TenantTx,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<AppJson<FilePage>, ApiError> {
    let limit = paging::page_size(query.limit)?;
    let after = paging::decode_cursor::<Keyset>(query.cursor.as_deref())?;
    let plan = current_tenant(&mut tx).await?.plan;
    let mut files = db::files::list(&mut tx, after, limit + 1).await?;
    let used_bytes = db::files::used_bytes(&mut tx).await?;
    tx.commit().await?;
    let next_cursor = paging::next_cursor(&mut files, limit, |file| Keyset {
        at: file.created_at,
        id: file.id,
    })?;
    let items = files.into_iter().map(to_wire).collect::<Result<_, _>>()?;
    Ok(AppJson(FilePage {
        items,
        next_cursor,
        used_bytes,
        quota_bytes: plan.storage_quota_bytes(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/files",
    tag = "files",
    request_body = NewFile,
    responses(
        (status = 201, description = "The recorded file: an immutable copy of the upload, which is removed.", body = FileInfo),
        (status = 403, description = "The file would take the tenant past its plan's storage (`storage_quota_exceeded`; the object is removed).", body = ErrorBody),
        (status = 409, description = "The upload is recorded already, or it was replaced while being recorded (`conflict`).", body = ErrorBody),
        (status = 422, description = "The key is not under the caller's own prefix, no object is there, or it is larger than 5 GiB.", body = ErrorBody),
        (status = 503, description = "S3 is unavailable.", body = ErrorBody),
    )
)]
/// Records an object the caller uploaded under their own prefix: 201 with the file.
///
/// The upload is copied into the files bucket (only if it is still the object just checked), the copy is
/// recorded with its size and ETag, and the upload is removed; from then on no browser credential can change
/// or remove the file's bytes.
async fn record(
    State(state): State<AppState>,
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    AppJson(new): AppJson<NewFile>,
) -> Result<Response, ApiError> {
    let name = file_name(&new.key, &own_prefix(&principal))?;
    let tenant = principal.tenant_id;
    // The upload of a recorded file is gone, so say "recorded already" rather than "no object".
    let recorded = db::files::is_recorded(&mut tx, &new.key).await?;
    let plan = current_tenant(&mut tx).await?.plan;
    let used = db::files::used_bytes(&mut tx).await?;
    tx.commit().await?;
    if recorded {
        return Err(ApiError::Conflict("This file is recorded already.".into()));
    }
    let object = state
        .storage
        .head(Bucket::Uploads, &new.key)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::unprocessable("key: there is no uploaded object at this key."))?;
    if object.size > MAX_FILE_BYTES {
        return Err(ApiError::unprocessable(
            "key: a file has at most 5 GiB; this upload is larger.",
        ));
    }
    // A first look at the quota, so that an upload that cannot fit is not copied at all; the count that
    // decides is taken again when recording, under the tenant-row lock.
    if plan
        .storage_quota_bytes()
        .is_some_and(|quota| used.saturating_add(object.size) > quota)
    {
        remove_quietly(&state, Bucket::Uploads, &new.key).await;
        return Err(ApiError::StorageQuotaExceeded);
    }

    let id = Uuid::new_v4();
    let file_key = format!("{tenant}/{id}");
    let etag = state
        .storage
        .copy_upload(&new.key, &object.etag, &file_key)
        .await
        .map_err(|err| match err {
            StorageError::Missing => {
                ApiError::unprocessable("key: there is no uploaded object at this key.")
            }
            StorageError::Changed => ApiError::Conflict(
                "The upload changed while it was being recorded; record it again.".into(),
            ),
            other => ApiError::unavailable(other),
        })?;

    let copy = db::files::NewFile {
        id,
        uploader_id: principal.member_id,
        key: &file_key,
        upload_key: &new.key,
        etag: &etag,
        name,
        size: object.size,
        content_type: &object.content_type,
    };
    match record_copy(&state, &principal, source_ip, &copy).await {
        Ok(file) => {
            // The upload has served its purpose; if removing it fails, the lifecycle rule removes it.
            remove_quietly(&state, Bucket::Uploads, &new.key).await;
            Ok((StatusCode::CREATED, AppJson(to_wire(file)?)).into_response())
        }
        Err(err) => {
            // Nothing refers to the copy: remove it, and the upload too when it can never be recorded.
            remove_quietly(&state, Bucket::Files, &file_key).await;
            if matches!(err, ApiError::StorageQuotaExceeded) {
                remove_quietly(&state, Bucket::Uploads, &new.key).await;
            }
            Err(err)
        }
    }
}

/// Records the copy `file_key` of the upload `upload_key` in one transaction, audited; the quota is counted
/// under the tenant-row lock so that concurrent records cannot pass it together, and the upload key is unique
/// in the tenant so that one upload is recorded once.
async fn record_copy(
    state: &AppState,
    principal: &Principal,
    source_ip: Option<std::net::IpAddr>,
    copy: &db::files::NewFile<'_>,
) -> Result<db::files::File, ApiError> {
    let mut tx = db::tenant_tx(&state.db, principal.tenant_id).await?;
    let plan = lock_tenant(&mut tx).await?.plan;
    if let Some(quota) = plan.storage_quota_bytes() {
        let used = db::files::used_bytes(&mut tx).await?;
        if used.saturating_add(copy.size) > quota {
            return Err(ApiError::StorageQuotaExceeded);
        }
    }
    let file = db::files::create(&mut tx, copy)
        .await?
        .ok_or_else(|| ApiError::Conflict("This file is recorded already.".into()))?;
    let event = NewEvent {
        action: AuditAction::FileUploaded,
        actor: Some(principal.audit_actor()),
        target: Some(Target {
            kind: "file",
            id: file.id.to_string(),
            label: file.name.clone(),
        }),
        details: json!({ "size": file.size, "content_type": file.content_type }),
        source_ip,
    };
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(file)
}

/// Deletes `key` from `bucket`, logging a failure instead of answering it: used where the object is
/// garbage and a lifecycle rule or a later deletion removes it anyway.
async fn remove_quietly(state: &AppState, bucket: Bucket, key: &str) {
    if let Err(err) = state.storage.delete(bucket, key).await {
        tracing::warn!(error = %err, ?bucket, "removing an object that is no longer needed failed");
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/files/{id}/download",
    tag = "files",
    params(("id" = String, Path, description = "The file id.")),
    responses(
        (status = 303, description = "To a presigned GET of the object, valid for 5 minutes."),
        (status = 503, description = "S3 is unavailable.", body = ErrorBody),
    )
)]
/// Redirects to a short-lived presigned download link (for scripts and plain links; the web app asks for
/// [`link`], so that an ended session or a missing file is shown in the app, not as a raw answer).
async fn download(
    State(state): State<AppState>,
    tx: TenantTx,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let (url, _) = presigned_link(&state, tx, id).await?;
    let location = HeaderValue::try_from(url).map_err(ApiError::internal)?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/files/{id}/link",
    tag = "files",
    params(("id" = String, Path, description = "The file id.")),
    responses(
        (status = 200, description = "A presigned GET of the object, valid for 5 minutes.", body = FileLink),
        (status = 503, description = "S3 is unavailable.", body = ErrorBody),
    )
)]
/// The short-lived presigned download link of a file, as JSON.
async fn link(
    State(state): State<AppState>,
    tx: TenantTx,
    PathId(id): PathId,
) -> Result<AppJson<FileLink>, ApiError> {
    let (url, expires_at) = presigned_link(&state, tx, id).await?;
    Ok(AppJson(FileLink {
        url,
        expires_at: rfc3339(expires_at)?,
    }))
}

/// A presigned GET of file `id` of the caller's tenant (404 for a file of another tenant, or one being
/// deleted) and when it expires.
async fn presigned_link(
    state: &AppState,
    mut tx: TenantTx,
    id: Uuid,
) -> Result<(String, OffsetDateTime), ApiError> {
    let file = db::files::get(&mut tx, id)
        .await?
        .filter(|file| !file.deleting)
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    let (url, validity) = state
        .storage
        .presigned_get(&file.key, &file.name, DOWNLOAD_LINK_VALIDITY)
        .await
        .map_err(ApiError::unavailable)?;
    Ok((url, OffsetDateTime::now_utc() + validity))
}

#[utoipa::path(
    delete,
    path = "/api/v1/files/{id}",
    tag = "files",
    params(("id" = String, Path, description = "The file id.")),
    responses(
        (status = 204, description = "The object and its record are gone (and the deletion audited)."),
        (status = 403, description = "Neither the uploader nor an admin (`not_permitted`).", body = ErrorBody),
        (status = 503, description = "S3 is unavailable; the file stays hidden and deleting again finishes.", body = ErrorBody),
    )
)]
/// Deletes a file and its object (the uploader or an admin).
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let tenant = principal.tenant_id;
    let file = db::files::lock(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !is_maker_or_admin(&file.uploader_id, &principal.member_id, &principal.scopes) {
        return Err(ApiError::NotPermitted);
    }
    if !file.deleting {
        db::files::mark_deleting(&mut tx, id).await?;
        let event = NewEvent {
            action: AuditAction::FileDeleted,
            actor: Some(principal.audit_actor()),
            target: Some(Target {
                kind: "file",
                id: id.to_string(),
                label: file.name.clone(),
            }),
            details: json!({ "size": file.size }),
            source_ip,
        };
        audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    state.storage.delete(Bucket::Files, &file.key).await.map_err(|err| {
        tracing::warn!(error = %err, file_id = %id, "deleting an object failed; the file stays marked for deletion");
        ApiError::unavailable(err)
    })?;
    let mut tx = db::tenant_tx(&state.db, tenant).await?;
    db::files::remove(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The file name of `key` if it lies under `prefix` in a folder of its own: `<prefix>[<folders>/]<name>`,
/// with no empty, `.` or `..` segment and at most 1,024 bytes; otherwise 422 naming `key`.
/// Public so that tests check it against the keys the web app makes.
pub fn file_name<'k>(key: &'k str, prefix: &str) -> Result<&'k str, ApiError> {
    let invalid = |why: &str| ApiError::unprocessable(format!("key: {why}"));
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid("an object key has at most 1024 bytes."));
    }
    let rest = key
        .strip_prefix(prefix)
        .ok_or_else(|| invalid("the key must be under your own upload prefix."))?;
    if rest
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(invalid(
            "the key may not have empty, \".\" or \"..\" segments.",
        ));
    }
    if !rest.chars().all(allowed_in_key) {
        return Err(invalid(
            "the key may not contain control characters, U+FFFE or U+FFFF.",
        ));
    }
    rest.rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("the key names no file."))
}

/// The wire form of a file.
fn to_wire(file: db::files::File) -> Result<FileInfo, ApiError> {
    Ok(FileInfo {
        id: file.id.to_string(),
        name: file.name,
        size: file.size,
        content_type: file.content_type,
        uploader: MemberRef {
            id: file.uploader_id.to_string(),
            name: file.uploader_name,
        },
        created_at: rfc3339(file.created_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "t1/u1/uploads/";

    #[test]
    fn a_key_under_the_own_prefix_names_its_file() {
        assert_eq!(
            file_name("t1/u1/uploads/abc/Q3.pdf", PREFIX).unwrap(),
            "Q3.pdf"
        );
        assert_eq!(file_name("t1/u1/uploads/Q3.pdf", PREFIX).unwrap(), "Q3.pdf");
    }

    #[test]
    fn keys_elsewhere_or_with_odd_segments_are_refused() {
        for key in [
            "t1/u2/uploads/x.pdf",
            "t2/u1/uploads/x.pdf",
            "t1/u1/uploads-other/x.pdf",
            "t1/u1/uploads/",
            "t1/u1/uploads/a//b.pdf",
            "t1/u1/uploads/../x.pdf",
            "t1/u1/uploads/./x.pdf",
            "t1/u1/uploads/x\n.pdf",
            "t1/u1/uploads/f/x\u{fffe}.pdf",
            "x.pdf",
        ] {
            assert!(file_name(key, PREFIX).is_err(), "{key}");
        }
        let long = format!("{PREFIX}{}", "a".repeat(MAX_KEY_BYTES));
        assert!(file_name(&long, PREFIX).is_err());
    }
}
