//! The `files` table: the objects members uploaded to S3 and recorded, with a two-step deletion so that a row
//! and its object never part ways (see the migration).

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId};

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

type FileRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    i64,
    String,
    OffsetDateTime,
    String,
);

const SELECT: &str = "select f.id, f.uploader_id, m.name, f.object_key, f.name, f.size_bytes, f.content_type, \
                      f.created_at, f.state \
                      from files f join members m on m.tenant_id = f.tenant_id and m.id = f.uploader_id";

fn from_row(row: FileRow) -> File {
    let (id, uploader_id, uploader_name, key, name, size, content_type, created_at, state) = row;
    File {
        id,
        uploader_id: MemberId(uploader_id),
        uploader_name,
        key,
        name,
        size,
        content_type,
        created_at,
        deleting: state == "deleting",
    }
}

/// Records a file; `None` when the tenant has recorded this upload already.
pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    new: &NewFile<'_>,
) -> Result<Option<File>, sqlx::Error> {
    let id: Option<(Uuid,)> = sqlx::query_as(
        "insert into files (id, tenant_id, uploader_id, object_key, upload_key, etag, name, size_bytes, \
         content_type) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing returning id",
    )
    .bind(new.id)
    .bind(tenant)
    .bind(new.uploader_id)
    .bind(new.key)
    .bind(new.upload_key)
    .bind(new.etag)
    .bind(new.name)
    .bind(new.size)
    .bind(new.content_type)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id,)) = id else {
        return Ok(None);
    };
    get(conn, tenant, id).await
}

/// Whether `tenant` has recorded the upload `upload_key`.
pub async fn is_recorded(
    conn: &mut PgConnection,
    tenant: TenantId,
    upload_key: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from files where tenant_id = $1 and upload_key = $2)",
    )
    .bind(tenant)
    .bind(upload_key)
    .fetch_one(conn)
    .await
}

/// The file `id` of `tenant`, present or being deleted.
pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<File>, sqlx::Error> {
    let row: Option<FileRow> =
        sqlx::query_as(&format!("{SELECT} where f.tenant_id = $1 and f.id = $2"))
            .bind(tenant)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(from_row))
}

/// Like [`get`], and locks the row until the transaction ends.
pub async fn lock(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<File>, sqlx::Error> {
    let row: Option<FileRow> = sqlx::query_as(&format!(
        "{SELECT} where f.tenant_id = $1 and f.id = $2 for update of f"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(from_row))
}

/// Up to `limit` present files of `tenant`, newest first, after `(created_at, id)`.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<File>, sqlx::Error> {
    let rows: Vec<FileRow> = sqlx::query_as(&format!(
        "{SELECT} where f.tenant_id = $1 and f.state = 'present' \
         and ($2::timestamptz is null or (f.created_at, f.id) < ($2, $3::uuid)) \
         order by f.created_at desc, f.id desc limit $4"
    ))
    .bind(tenant)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The bytes `tenant` stores, counting files being deleted until they are gone.
pub async fn used_bytes(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, sqlx::Error> {
    let (used,): (i64,) = sqlx::query_as(
        "select coalesce(sum(size_bytes), 0)::bigint from files where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(conn)
    .await?;
    Ok(used)
}

/// Marks a file as being deleted (the first step of a deletion).
pub async fn mark_deleting(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("update files set state = 'deleting' where tenant_id = $1 and id = $2")
        .bind(tenant)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a file's row once its object is gone (the last step of a deletion).
pub async fn remove(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from files where tenant_id = $1 and id = $2 and state = 'deleting'")
        .bind(tenant)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
