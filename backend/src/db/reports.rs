//! The `reports` table: reports written by a tenant's members.
//!
//! Every function takes the tenant explicitly and filters on it in addition to row-level security, so a
//! mistake in one of the two walls still leaves the other standing. Run them inside [`super::tenant_tx`] for
//! that same tenant.

use shared::Plan;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId, decode_name};

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

/// A position in the newest-first listing: the last report of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPosition {
    /// The `created_at` of the last report seen.
    pub created_at: OffsetDateTime,
    /// The id of the last report seen (breaks ties between reports created in the same instant).
    pub id: Uuid,
}

type ReportRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    String,
    OffsetDateTime,
    OffsetDateTime,
);

/// The columns of [`ReportRow`], for a query over `reports AS r JOIN members AS m`.
const COLUMNS: &str =
    "r.id, r.tenant_id, r.author_id, m.name, r.title, r.body, r.created_at, r.updated_at";

/// The join that gives each report its author; the author is always a member of the report's tenant (the
/// composite foreign key guarantees it).
const FROM: &str =
    "reports AS r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id";

fn from_row(row: ReportRow) -> Report {
    let (id, tenant_id, author_id, author_name, title, body, created_at, updated_at) = row;
    Report {
        id,
        tenant_id: TenantId(tenant_id),
        author_id: MemberId(author_id),
        author_name,
        title,
        body,
        created_at,
        updated_at,
    }
}

/// Up to `limit` reports of `tenant`, newest first, starting after `after` when given.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<ListPosition>,
    limit: i64,
) -> Result<Vec<Report>, sqlx::Error> {
    let rows: Vec<ReportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE r.tenant_id = $1 \
           AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2, $3)) \
         ORDER BY r.created_at DESC, r.id DESC \
         LIMIT $4"
    ))
    .bind(tenant)
    .bind(after.map(|position| position.created_at))
    .bind(after.map(|position| position.id))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The report `id` of `tenant`; `None` when there is none (including another tenant's report).
pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Report>, sqlx::Error> {
    let row: Option<ReportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE r.tenant_id = $1 AND r.id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(from_row))
}

/// Like [`get`], and locks the report until the transaction ends, so that a permission check and the change
/// it allows see the same report.
pub async fn lock(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Report>, sqlx::Error> {
    let row: Option<ReportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE r.tenant_id = $1 AND r.id = $2 FOR UPDATE OF r"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(from_row))
}

/// Locks `tenant`'s row until the transaction ends and returns its plan; `None` when the transaction's
/// tenant is another one or the tenant no longer exists. Concurrent callers for one tenant wait for each
/// other here, which makes a count-then-insert in the same transaction safe against races.
pub async fn lock_tenant_plan(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Option<Plan>, sqlx::Error> {
    let plan: Option<String> = sqlx::query_scalar("SELECT reports_lock_tenant($1)")
        .bind(tenant)
        .fetch_one(conn)
        .await?;
    plan.map(|plan| decode_name("plan", &plan)).transpose()
}

/// How many reports `tenant` holds.
pub async fn count(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM reports WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(conn)
        .await
}

/// Creates a report of `tenant` written by `author`.
pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    author: MemberId,
    title: &str,
    body: &str,
) -> Result<Report, sqlx::Error> {
    let row: ReportRow = sqlx::query_as(&format!(
        "WITH r AS ( \
             INSERT INTO reports (id, tenant_id, author_id, title, body) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING * \
         ) \
         SELECT {COLUMNS} FROM r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id"
    ))
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(author)
    .bind(title)
    .bind(body)
    .fetch_one(conn)
    .await?;
    Ok(from_row(row))
}

/// Changes the given fields of report `id` of `tenant` and its `updated_at`; `None` when there is no such
/// report.
pub async fn update(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<Option<Report>, sqlx::Error> {
    let row: Option<ReportRow> = sqlx::query_as(&format!(
        "WITH r AS ( \
             UPDATE reports SET title = coalesce($3, title), body = coalesce($4, body), updated_at = now() \
             WHERE tenant_id = $1 AND id = $2 \
             RETURNING * \
         ) \
         SELECT {COLUMNS} FROM r JOIN members AS m ON m.tenant_id = r.tenant_id AND m.id = r.author_id"
    ))
    .bind(tenant)
    .bind(id)
    .bind(title)
    .bind(body)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(from_row))
}

/// Deletes report `id` of `tenant` and returns its title; `None` when there was no such report.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("DELETE FROM reports WHERE tenant_id = $1 AND id = $2 RETURNING title")
            .bind(tenant)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(title,)| title))
}

/// How many reports of `tenant` `author` wrote.
pub async fn count_by_author(
    conn: &mut PgConnection,
    tenant: TenantId,
    author: MemberId,
) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM reports WHERE tenant_id = $1 AND author_id = $2")
            .bind(tenant)
            .bind(author)
            .fetch_one(conn)
            .await?;
    Ok(count)
}

/// The `limit` most recently changed reports of `tenant`, most recent first.
pub async fn recently_changed(
    conn: &mut PgConnection,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<Report>, sqlx::Error> {
    let rows: Vec<ReportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE r.tenant_id = $1 \
         ORDER BY r.updated_at DESC, r.id DESC LIMIT $2"
    ))
    .bind(tenant)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Every report of `tenant`, oldest first (the CSV export).
pub async fn all(conn: &mut PgConnection, tenant: TenantId) -> Result<Vec<Report>, sqlx::Error> {
    let rows: Vec<ReportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE r.tenant_id = $1 ORDER BY r.created_at, r.id"
    ))
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}
