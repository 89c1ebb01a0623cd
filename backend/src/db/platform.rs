//! The control plane's tables: the tenants as the operators' console sees and changes them, and the platform
//! audit log (`platform_audit_events`).
//!
//! Changes to a tenant run in a transaction of that tenant ([`TenantTx`]), so row-level security confines them
//! to it; the audit entry is appended in the same transaction, so a change the log cannot record does not
//! happen. Only the tenant list reads across tenants, through `platform_tenant_summaries()` (counts, never a
//! tenant's rows).

use std::net::IpAddr;

use shared::api::PlatformAuditAction;
use shared::{Plan, TenantStatus};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Keyset, TenantId, TenantTx, decode_name};

/// A tenant with the figures the console lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSummary {
    /// The tenant id.
    pub id: TenantId,
    /// The slug.
    pub slug: String,
    /// The display name.
    pub name: String,
    /// The plan.
    pub plan: Plan,
    /// Whether its members may sign in.
    pub status: TenantStatus,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its status last changed.
    pub status_changed_at: Option<OffsetDateTime>,
    /// Its active members.
    pub active_members: i64,
    /// The bytes its recorded files hold.
    pub storage_bytes: i64,
    /// Its identity providers.
    pub identity_providers: i64,
    /// Its verified email domains.
    pub verified_domains: i64,
}

struct SummaryRow {
    id: Option<Uuid>,
    slug: Option<String>,
    name: Option<String>,
    plan: Option<String>,
    status: Option<String>,
    created_at: Option<OffsetDateTime>,
    status_changed_at: Option<OffsetDateTime>,
    active_members: Option<i64>,
    storage_bytes: Option<i64>,
    identity_providers: Option<i64>,
    verified_domains: Option<i64>,
}

impl TryFrom<SummaryRow> for TenantSummary {
    type Error = sqlx::Error;

    fn try_from(row: SummaryRow) -> Result<TenantSummary, sqlx::Error> {
        // A set-returning function's columns are nullable to sqlx; these never are (the function reads NOT
        // NULL columns and counts).
        let missing = |column: &str| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: "unexpected NULL".into(),
        };
        Ok(TenantSummary {
            id: TenantId(row.id.ok_or_else(|| missing("id"))?),
            slug: row.slug.ok_or_else(|| missing("slug"))?,
            name: row.name.ok_or_else(|| missing("name"))?,
            plan: decode_name("plan", &row.plan.ok_or_else(|| missing("plan"))?)?,
            status: decode_name("status", &row.status.ok_or_else(|| missing("status"))?)?,
            created_at: row.created_at.ok_or_else(|| missing("created_at"))?,
            status_changed_at: row.status_changed_at,
            active_members: row.active_members.unwrap_or_default(),
            storage_bytes: row.storage_bytes.unwrap_or_default(),
            identity_providers: row.identity_providers.unwrap_or_default(),
            verified_domains: row.verified_domains.unwrap_or_default(),
        })
    }
}

/// Every tenant whose name or slug contains `search` (all without one), by name.
pub async fn tenant_summaries(
    pool: &PgPool,
    search: Option<&str>,
) -> Result<Vec<TenantSummary>, sqlx::Error> {
    let pattern = search.map(super::contains_pattern);
    sqlx::query_as!(
        SummaryRow,
        r#"SELECT id, slug, name, plan, status, created_at, status_changed_at, active_members, storage_bytes,
                  identity_providers, verified_domains
           FROM platform_tenant_summaries()
           WHERE $1::text IS NULL OR name ILIKE $1 OR slug ILIKE $1
           ORDER BY lower(name), slug"#,
        pattern
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(TenantSummary::try_from)
    .collect()
}

/// The tenant `id`, if it exists.
pub async fn tenant_summary(
    pool: &PgPool,
    id: TenantId,
) -> Result<Option<TenantSummary>, sqlx::Error> {
    sqlx::query_as!(
        SummaryRow,
        r#"SELECT id, slug, name, plan, status, created_at, status_changed_at, active_members, storage_bytes,
                  identity_providers, verified_domains
           FROM platform_tenant_summaries() WHERE id = $1"#,
        id.0
    )
    .fetch_optional(pool)
    .await?
    .map(TenantSummary::try_from)
    .transpose()
}

/// Creates the transaction's tenant; `false` when the slug is taken.
pub async fn create_tenant(
    tx: &mut TenantTx,
    slug: &str,
    name: &str,
    plan: Plan,
) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant_id();
    let created = sqlx::query!(
        "INSERT INTO tenants (id, slug, name, plan) VALUES ($1, $2, $3, $4) ON CONFLICT (slug) DO NOTHING",
        tenant.0,
        slug,
        name,
        plan.as_str()
    )
    .execute(tx.conn())
    .await?;
    Ok(created.rows_affected() == 1)
}

/// Sets the transaction's tenant's plan (row locked); the plan it had, or `None` when it does not exist.
pub async fn set_plan(tx: &mut TenantTx, plan: Plan) -> Result<Option<Plan>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let before = sqlx::query_scalar!(
        "SELECT plan FROM tenants WHERE id = $1 AND lock_tenant(id)",
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(before) = before else {
        return Ok(None);
    };
    sqlx::query!(
        "UPDATE tenants SET plan = $2 WHERE id = $1",
        tenant.0,
        plan.as_str()
    )
    .execute(tx.conn())
    .await?;
    decode_name("plan", &before).map(Some)
}

/// Sets the transaction's tenant's status (row locked) and returns the status it had, or `None` when it does
/// not exist; a tenant being deleted is left as it is. Suspending (and starting the deletion) also sets the
/// tenant's sign-in cut-off to now: every sign-in that began before is refused from then on, also after the
/// tenant is resumed.
pub async fn set_status(
    tx: &mut TenantTx,
    status: TenantStatus,
) -> Result<Option<TenantStatus>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let before = sqlx::query_scalar!(
        "SELECT status FROM tenants WHERE id = $1 AND lock_tenant(id)",
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(before) = before else {
        return Ok(None);
    };
    let before: TenantStatus = decode_name("status", &before)?;
    // A tenant being deleted stays so: only the deletion ends that state, by removing the tenant.
    if before != status && before != TenantStatus::Deleting {
        sqlx::query!(
            "UPDATE tenants SET status = $2, status_changed_at = now(),
                    sign_ins_revoked_before = CASE WHEN $2 <> 'active' THEN now()
                                                   ELSE sign_ins_revoked_before END
             WHERE id = $1",
            tenant.0,
            status.as_str()
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(Some(before))
}

/// Who did what a platform audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A platform operator (`id` is their `sub` in the operators' pool).
    Operator,
    /// The holder of a set-up link: a customer's IT admin, who has no account (`id` is the link's id).
    SetupLink,
    /// An admin of the tenant (`id` is the member's id).
    TenantAdmin,
    /// The platform itself: a periodic job (`id` names it).
    System,
}

impl ActorKind {
    /// The kind as stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Operator => "operator",
            ActorKind::SetupLink => "setup_link",
            ActorKind::TenantAdmin => "tenant_admin",
            ActorKind::System => "system",
        }
    }
}

/// The actor an audit entry names: an operator, or (see [`ActorKind`]) another actor of the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRef {
    /// What kind of actor.
    pub kind: ActorKind,
    /// The actor's id: the operator's `sub` in the operators' pool, a set-up link's id or a member's id.
    pub id: String,
    /// Their email, when known.
    pub email: String,
}

/// The tenant an audit entry names, as it was named at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRef {
    /// The tenant id.
    pub id: TenantId,
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
}

/// An entry to append to the platform audit log.
#[derive(Debug, Clone)]
pub struct NewPlatformEvent {
    /// What happened.
    pub action: PlatformAuditAction,
    /// Who did it.
    pub operator: OperatorRef,
    /// The tenant it was done to.
    pub tenant: Option<TenantRef>,
    /// What changed (a JSON object).
    pub details: serde_json::Value,
    /// The operator's address.
    pub source_ip: Option<IpAddr>,
}

/// Appends `event` to the platform audit log, in the caller's transaction (a tenant's, or a plain one).
pub async fn record_event(
    conn: &mut sqlx::PgConnection,
    event: &NewPlatformEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO platform_audit_events
             (id, action, operator_id, operator_email, target_tenant_id, target_tenant_slug, target_tenant_name,
              details, source_ip, actor_kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::inet, $10)",
        Uuid::new_v4(),
        event.action.as_str(),
        event.operator.id,
        event.operator.email,
        event.tenant.as_ref().map(|tenant| tenant.id.0),
        event.tenant.as_ref().map(|tenant| tenant.slug.as_str()),
        event.tenant.as_ref().map(|tenant| tenant.name.as_str()),
        event.details,
        event.source_ip.map(|ip| ip.to_string()),
        event.operator.kind.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An entry of the platform audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformEvent {
    /// The entry id.
    pub id: Uuid,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub action: PlatformAuditAction,
    /// Who did it.
    pub operator: OperatorRef,
    /// The tenant it was done to.
    pub tenant: Option<TenantRef>,
    /// What changed.
    pub details: serde_json::Value,
    /// The operator's address.
    pub source_ip: Option<IpAddr>,
}

/// A page of the platform audit log, newest first: at most `limit` entries after the position `after` (the
/// last entry of the previous page).
pub async fn events(
    pool: &PgPool,
    after: Option<Keyset>,
    limit: i64,
) -> Result<Vec<PlatformEvent>, sqlx::Error> {
    let (after_at, after_id) = after.map(|keyset| (keyset.at, keyset.id)).unzip();
    let rows = sqlx::query!(
        r#"SELECT id, at, action, actor_kind, operator_id, operator_email, target_tenant_id, target_tenant_slug,
                  target_tenant_name, details, host(source_ip) AS source_ip
           FROM platform_audit_events
           WHERE $1::timestamptz IS NULL OR (at, id) < ($1, $2)
           ORDER BY at DESC, id DESC
           LIMIT $3"#,
        after_at,
        after_id,
        limit
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let action = PlatformAuditAction::parse(&row.action).ok_or_else(|| {
                sqlx::Error::ColumnDecode {
                    index: "action".to_owned(),
                    source: format!("unexpected value {:?}", row.action).into(),
                }
            })?;
            let tenant = match (row.target_tenant_id, row.target_tenant_slug) {
                (Some(id), Some(slug)) => Some(TenantRef {
                    id: TenantId(id),
                    slug,
                    name: row.target_tenant_name.unwrap_or_default(),
                }),
                _ => None,
            };
            Ok(PlatformEvent {
                id: row.id,
                at: row.at,
                action,
                operator: OperatorRef {
                    kind: match row.actor_kind.as_str() {
                        "setup_link" => ActorKind::SetupLink,
                        "tenant_admin" => ActorKind::TenantAdmin,
                        "system" => ActorKind::System,
                        _ => ActorKind::Operator,
                    },
                    id: row.operator_id,
                    email: row.operator_email,
                },
                tenant,
                details: row.details,
                source_ip: row.source_ip.and_then(|ip| ip.parse().ok()),
            })
        })
        .collect()
}

/// The tenant-owned tables and the column naming the tenant in each: what a tenant's export holds and what
/// `platform_purge_tenant` removes. A test keeps it in step with the catalog.
pub const TENANT_TABLES: [(&str, &str); 11] = [
    ("tenants", "id"),
    ("tenant_identity_providers", "tenant_id"),
    ("members", "tenant_id"),
    ("invitations", "tenant_id"),
    ("reports", "tenant_id"),
    ("files", "tenant_id"),
    ("audit_events", "tenant_id"),
    ("revoked_sign_ins", "tenant_id"),
    ("member_sessions", "tenant_id"),
    ("tenant_domains", "tenant_id"),
    ("sso_setup_links", "tenant_id"),
];

/// Every row of the transaction's tenant, table by table, as JSON objects of their columns.
pub async fn export_rows(
    tx: &mut TenantTx,
) -> Result<serde_json::Map<String, serde_json::Value>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let mut tables = serde_json::Map::new();
    for (table, column) in TENANT_TABLES {
        // The names come from the constant above, never from input; the query cannot be compile-checked
        // because it is built per table.
        let rows: serde_json::Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) FROM {table} AS t WHERE t.{column} = $1"
        ))
        .bind(tenant.0)
        .fetch_one(tx.conn())
        .await?;
        tables.insert(table.to_owned(), rows);
    }
    Ok(tables)
}

/// Removes every row of the tenant `id`, whose deletion was started, in one transaction with the platform
/// audit entry `event` (`platform_purge_tenant`); returns how many rows of each table went. `None` when the
/// tenant is gone already.
pub async fn purge_tenant(
    pool: &PgPool,
    id: TenantId,
    event: &NewPlatformEvent,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let status = sqlx::query_scalar!(
        "SELECT status FROM platform_tenant_summaries() WHERE id = $1",
        id.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    if status.is_none() {
        return Ok(None);
    }
    let removed = sqlx::query_scalar!(r#"SELECT platform_purge_tenant($1) AS "removed!""#, id.0)
        .fetch_one(&mut *tx)
        .await?;
    record_event(&mut tx, event).await?;
    tx.commit().await?;
    Ok(Some(removed))
}
