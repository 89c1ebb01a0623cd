//! A tenant's way out: `GET /operator/api/v1/tenants/{id}/export` (every row of the tenant as JSON, and a
//! manifest of its objects in both buckets) and `DELETE /operator/api/v1/tenants/{id}` (typed confirmation,
//! then the sweep).
//!
//! The deletion runs in steps that are each safe to run again, so a deletion cut short (the backend stopped,
//! S3 or the user pool failed) is finished by sending it again:
//!
//! 1. The tenant is marked `deleting` with the suspension's effects (sign-ins cut off, sessions deleted,
//!    sign-in refused), so nothing new is written while it goes; audited as `tenant_deletion_started`.
//! 2. Its objects are deleted from the upload bucket and the files bucket (everything under `<tenant>/`).
//! 3. Its rows are removed by `platform_purge_tenant`, with the `tenant_deleted` audit entry, in one
//!    transaction.
//! 4. The identity-provider reconciler removes its providers from the user pool, which no longer has them
//!    in the database. If the pool cannot be reached, the periodic reconciliation does it later.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::json;
use shared::TenantStatus;
use shared::api::{PlatformAuditAction, TenantDeleted, TenantDeletion};
use time::OffsetDateTime;

use super::tenants::{audited_tenant, operator_ref};
use super::{Operator, OperatorScope};
use crate::api::PathId;
use crate::api::paging::rfc3339;
use crate::auth::ScopedRouter;
use crate::client_ip::ClientIp;
use crate::db::platform::{self, NewPlatformEvent, TenantRef};
use crate::db::{self, TenantId};
use crate::error::{ApiError, AppJson};
use crate::state::AppState;
use crate::storage::{Bucket, StorageError, StoredObject};

/// The export's format name, first in the document.
pub const EXPORT_FORMAT: &str = "saas-reference tenant export v1";

/// The export and deletion routes.
pub fn routes(state: AppState) -> ScopedRouter<OperatorScope> {
    ScopedRouter::new(state)
        .get("/tenants/{id}/export", OperatorScope::Operate, export)
        .delete("/tenants/{id}", OperatorScope::Operate, delete)
}

/// `GET /operator/api/v1/tenants/{id}/export`: every row of every table of the tenant, and the key, size and
/// ETag of each of its objects in the upload and files buckets, as one JSON document to download. Audited as
/// `tenant_exported`.
async fn export(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<TenantId>,
) -> Result<Response, ApiError> {
    let mut tx = db::tenant_tx(&state.db, id).await?;
    let tenant = db::tenants::current(&mut tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let tables = platform::export_rows(&mut tx).await?;
    let prefix = format!("{id}/");
    let uploads = state
        .storage
        .list(Bucket::Uploads, &prefix)
        .await
        .map_err(storage_unavailable)?;
    let files = state
        .storage
        .list(Bucket::Files, &prefix)
        .await
        .map_err(storage_unavailable)?;
    let rows: usize = tables
        .values()
        .map(|rows| rows.as_array().map_or(0, Vec::len))
        .sum();
    let event = NewPlatformEvent {
        action: PlatformAuditAction::TenantExported,
        operator: operator_ref(&operator),
        tenant: Some(TenantRef {
            id,
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
        }),
        details: json!({ "rows": rows, "objects": uploads.len() + files.len() }),
        source_ip,
    };
    platform::record_event(tx.conn(), &event).await?;
    tx.commit().await?;
    let document = json!({
        "format": EXPORT_FORMAT,
        "exported_at": rfc3339(OffsetDateTime::now_utc())?,
        "tenant": { "id": id.to_string(), "slug": tenant.slug, "name": tenant.name },
        "tables": tables,
        "objects": {
            "uploads": manifest(&state.storage.config().bucket, &uploads),
            "files": manifest(&state.storage.config().files_bucket, &files),
        },
    });
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-export.json\"",
        tenant.slug
    ))
    .map_err(ApiError::internal)?;
    Ok((
        [(header::CONTENT_DISPOSITION, disposition)],
        AppJson(document),
    )
        .into_response())
}

fn manifest(bucket: &str, objects: &[StoredObject]) -> serde_json::Value {
    json!({
        "bucket": bucket,
        "objects": objects
            .iter()
            .map(|object| json!({ "key": object.key, "size": object.size, "etag": object.etag }))
            .collect::<Vec<_>>(),
    })
}

/// `DELETE /operator/api/v1/tenants/{id}` with `{"confirm": "<slug>"}`: deletes the tenant, its objects and
/// its identity providers (see the module documentation for the steps). 422 when the confirmation is not the
/// slug; 404 when the tenant does not exist (or is gone already).
async fn delete(
    State(state): State<AppState>,
    operator: Operator,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId<TenantId>,
    AppJson(deletion): AppJson<TenantDeletion>,
) -> Result<AppJson<TenantDeleted>, ApiError> {
    // 1. Mark it, with the suspension's effects.
    let mut tx = db::tenant_tx(&state.db, id).await?;
    let tenant = db::tenants::lock(&mut tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    if deletion.confirm.trim() != tenant.slug {
        return Err(ApiError::unprocessable(format!(
            "confirm: type the tenant's slug, {}, to delete it.",
            tenant.slug
        )));
    }
    let audited = audited_tenant(&mut tx).await?;
    let mut ended_sessions = Vec::new();
    if tenant.status != TenantStatus::Deleting {
        platform::set_status(&mut tx, TenantStatus::Deleting).await?;
        ended_sessions = db::sessions::end_all(&mut tx).await?;
        let event = NewPlatformEvent {
            action: PlatformAuditAction::TenantDeletionStarted,
            operator: operator_ref(&operator),
            tenant: Some(audited.clone()),
            details: json!({ "sessions_ended": ended_sessions.len() }),
            source_ip,
        };
        platform::record_event(tx.conn(), &event).await?;
    }
    tx.commit().await?;
    state.sessions.forget(&ended_sessions);
    tracing::info!(tenant_id = %id, "tenant deletion started");

    // 2. Its objects.
    let prefix = format!("{id}/");
    let uploads_removed = state
        .storage
        .delete_all(Bucket::Uploads, &prefix)
        .await
        .map_err(storage_unavailable)?;
    let files_removed = state
        .storage
        .delete_all(Bucket::Files, &prefix)
        .await
        .map_err(storage_unavailable)?;

    // 3. Its rows.
    let event = NewPlatformEvent {
        action: PlatformAuditAction::TenantDeleted,
        operator: operator_ref(&operator),
        tenant: Some(audited),
        details: json!({ "uploads_removed": uploads_removed, "files_removed": files_removed }),
        source_ip,
    };
    let rows = platform::purge_tenant(&state.db, id, &event)
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!(tenant_id = %id, %rows, uploads_removed, files_removed, "tenant rows removed");

    // 4. Its identity providers in the user pool.
    let identity_providers_removed = match state.idp_sync.run(&state.db, &|_| None).await {
        // The reconciler keeps the pool's providers when the database lists none at all (it never deletes
        // them all at once): after the last tenant with providers is deleted, they are not removed.
        Ok(report) => report.failed.is_empty() && report.kept_unlisted.is_empty(),
        Err(err) => {
            tracing::warn!(error = %err, tenant_id = %id, "the user pool could not be reconciled after a tenant's deletion; the periodic reconciliation will remove its providers");
            false
        }
    };
    Ok(AppJson(TenantDeleted {
        id: id.to_string(),
        rows,
        uploads_removed,
        files_removed,
        identity_providers_removed,
    }))
}

fn storage_unavailable(err: StorageError) -> ApiError {
    ApiError::unavailable(format!("S3: {err}"))
}
