//! The `files` table: the objects members uploaded to S3 and recorded, with a two-step deletion so that a row
//! and its object never part ways (see the migration).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Keyset, MemberId, TenantTx};

/// A recorded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The file id.
    pub id: Uuid,
    /// The uploader.
    pub uploader_id: MemberId,
    /// The uploader's display name.
    pub uploader_name: String,
    /// The key of the recorded copy in the files bucket.
    pub key: String,
    /// The file name.
    pub name: String,
    /// The size in bytes.
    pub size: i64,
    /// The content type.
    pub content_type: String,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// Whether its deletion has begun.
    pub deleting: bool,
}

/// A file to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile<'a> {
    /// The file id, chosen before the copy so that it names the copy's key.
    pub id: Uuid,
    /// The uploader.
    pub uploader_id: MemberId,
    /// The key of the copy in the files bucket.
    pub key: &'a str,
    /// The key the browser uploaded to.
    pub upload_key: &'a str,
    /// The copy's ETag.
    pub etag: &'a str,
    /// The file name.
    pub name: &'a str,
    /// The size in bytes.
    pub size: i64,
    /// The content type.
    pub content_type: &'a str,
}

/// Records a file in the transaction's tenant; `None` when the tenant has recorded this upload already.
pub async fn create(tx: &mut TenantTx, new: &NewFile<'_>) -> Result<Option<File>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let id = sqlx::query_scalar!(
        "INSERT INTO files (id, tenant_id, uploader_id, object_key, upload_key, etag, name, size_bytes,
                            content_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING
         RETURNING id",
        new.id,
        tenant.0,
        new.uploader_id.0,
        new.key,
        new.upload_key,
        new.etag,
        new.name,
        new.size,
        new.content_type
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    get(tx, id).await
}

/// Whether the transaction's tenant has recorded the upload `upload_key`.
pub async fn is_recorded(tx: &mut TenantTx, upload_key: &str) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM files WHERE tenant_id = $1 AND upload_key = $2) AS "exists!""#,
        tenant.0,
        upload_key
    )
    .fetch_one(tx.conn())
    .await
}

/// The file `id` of the transaction's tenant, present or being deleted.
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<File>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        File,
        r#"SELECT f.id, f.uploader_id AS "uploader_id: MemberId", m.name AS uploader_name, f.object_key AS key,
                  f.name, f.size_bytes AS size, f.content_type, f.created_at, f.state = 'deleting' AS "deleting!"
           FROM files AS f JOIN members AS m ON m.tenant_id = f.tenant_id AND m.id = f.uploader_id
           WHERE f.tenant_id = $1 AND f.id = $2"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Like [`get`], and locks the row until the transaction ends.
pub async fn lock(tx: &mut TenantTx, id: Uuid) -> Result<Option<File>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        File,
        r#"SELECT f.id, f.uploader_id AS "uploader_id: MemberId", m.name AS uploader_name, f.object_key AS key,
                  f.name, f.size_bytes AS size, f.content_type, f.created_at, f.state = 'deleting' AS "deleting!"
           FROM files AS f JOIN members AS m ON m.tenant_id = f.tenant_id AND m.id = f.uploader_id
           WHERE f.tenant_id = $1 AND f.id = $2
           FOR UPDATE OF f"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Up to `limit` present files of the transaction's tenant, newest first, after `after`.
pub async fn list(
    tx: &mut TenantTx,
    after: Option<Keyset>,
    limit: i64,
) -> Result<Vec<File>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_file_as!(
        File,
        "src/db/queries/files_list.sql",
        tenant.0,
        after.map(|position| position.at),
        after.map(|position| position.id),
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// The bytes the transaction's tenant stores, counting files being deleted until they are gone.
pub async fn used_bytes(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(size_bytes), 0)::bigint AS "used!" FROM files WHERE tenant_id = $1"#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await
}

/// Marks a file as being deleted (the first step of a deletion).
pub async fn mark_deleting(tx: &mut TenantTx, id: Uuid) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "UPDATE files SET state = 'deleting' WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Removes a file's row once its object is gone (the last step of a deletion).
pub async fn remove(tx: &mut TenantTx, id: Uuid) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "DELETE FROM files WHERE tenant_id = $1 AND id = $2 AND state = 'deleting'",
        tenant.0,
        id
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
