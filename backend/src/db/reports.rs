//! The `reports` table: reports written by a tenant's members.
//!
//! Every function takes the tenant transaction and filters on its tenant in addition to row-level security,
//! so a mistake in one of the two walls still leaves the other standing.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Keyset, MemberId, TenantId, TenantTx};

/// A report with its author's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The report id.
    pub id: Uuid,
    /// The tenant the report belongs to.
    pub tenant_id: TenantId,
    /// The member who wrote it.
    pub author_id: MemberId,
    /// The author's current display name.
    pub author_name: String,
    /// The title.
    pub title: String,
    /// The body.
    pub body: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

/// Up to `limit` reports of the transaction's tenant, newest first, starting after `after` when given.
pub async fn list(
    tx: &mut TenantTx,
    after: Option<Keyset>,
    limit: i64,
) -> Result<Vec<Report>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_file_as!(
        Report,
        "src/db/queries/reports_list.sql",
        tenant.0,
        after.map(|position| position.at),
        after.map(|position| position.id),
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// The report `id` of the transaction's tenant; `None` when there is none (including another tenant's
/// report).
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<Report>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Report,
        r#"SELECT r.id, r.tenant_id AS "tenant_id: TenantId", r.author_id AS "author_id: MemberId",
                  m.name AS author_name, r.title, r.body, r.created_at, r.updated_at
           FROM reports AS r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id
           WHERE r.tenant_id = $1 AND r.id = $2"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// Like [`get`], and locks the report until the transaction ends, so that a permission check and the change
/// it allows see the same report.
pub async fn lock(tx: &mut TenantTx, id: Uuid) -> Result<Option<Report>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Report,
        r#"SELECT r.id, r.tenant_id AS "tenant_id: TenantId", r.author_id AS "author_id: MemberId",
                  m.name AS author_name, r.title, r.body, r.created_at, r.updated_at
           FROM reports AS r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id
           WHERE r.tenant_id = $1 AND r.id = $2
           FOR UPDATE OF r"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// How many reports the transaction's tenant holds.
pub async fn count(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM reports WHERE tenant_id = $1"#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await
}

/// Creates a report of the transaction's tenant written by `author`.
pub async fn create(
    tx: &mut TenantTx,
    author: MemberId,
    title: &str,
    body: &str,
) -> Result<Report, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Report,
        r#"WITH r AS (
               INSERT INTO reports (id, tenant_id, author_id, title, body)
               VALUES ($1, $2, $3, $4, $5)
               RETURNING *
           )
           SELECT r.id AS "id!", r.tenant_id AS "tenant_id!: TenantId",
                  r.author_id AS "author_id!: MemberId", m.name AS author_name, r.title AS "title!",
                  r.body AS "body!", r.created_at AS "created_at!", r.updated_at AS "updated_at!"
           FROM r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id"#,
        Uuid::new_v4(),
        tenant.0,
        author.0,
        title,
        body
    )
    .fetch_one(tx.conn())
    .await
}

/// Changes the given fields of report `id` and its `updated_at`; `None` when the transaction's tenant has no
/// such report.
pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<Option<Report>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Report,
        r#"WITH r AS (
               UPDATE reports
               SET title = coalesce($3, title), body = coalesce($4, body), updated_at = now()
               WHERE tenant_id = $1 AND id = $2
               RETURNING *
           )
           SELECT r.id AS "id!", r.tenant_id AS "tenant_id!: TenantId",
                  r.author_id AS "author_id!: MemberId", m.name AS author_name, r.title AS "title!",
                  r.body AS "body!", r.created_at AS "created_at!", r.updated_at AS "updated_at!"
           FROM r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id"#,
        tenant.0,
        id,
        title,
        body
    )
    .fetch_optional(tx.conn())
    .await
}

/// Deletes report `id` and returns its title; `None` when the transaction's tenant had no such report.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        "DELETE FROM reports WHERE tenant_id = $1 AND id = $2 RETURNING title",
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await
}

/// How many reports of the transaction's tenant `author` wrote.
pub async fn count_by_author(tx: &mut TenantTx, author: MemberId) -> Result<i64, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM reports WHERE tenant_id = $1 AND author_id = $2"#,
        tenant.0,
        author.0
    )
    .fetch_one(tx.conn())
    .await
}

/// The `limit` most recently changed reports of the transaction's tenant, most recent first.
pub async fn recently_changed(tx: &mut TenantTx, limit: i64) -> Result<Vec<Report>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Report,
        r#"SELECT r.id, r.tenant_id AS "tenant_id: TenantId", r.author_id AS "author_id: MemberId",
                  m.name AS author_name, r.title, r.body, r.created_at, r.updated_at
           FROM reports AS r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id
           WHERE r.tenant_id = $1
           ORDER BY r.updated_at DESC, r.id DESC
           LIMIT $2"#,
        tenant.0,
        limit
    )
    .fetch_all(tx.conn())
    .await
}

/// Every report of the transaction's tenant, oldest first (the CSV export).
pub async fn all(tx: &mut TenantTx) -> Result<Vec<Report>, sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query_as!(
        Report,
        r#"SELECT r.id, r.tenant_id AS "tenant_id: TenantId", r.author_id AS "author_id: MemberId",
                  m.name AS author_name, r.title, r.body, r.created_at, r.updated_at
           FROM reports AS r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id
           WHERE r.tenant_id = $1
           ORDER BY r.created_at, r.id"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await
}
