//! The `audit_events` table: the tenant's append-only record of sign-ins and administrative changes.
//!
//! Events are written inside the same tenant transaction as the change they record, so a change and its
//! audit entry commit or roll back together. The application role can insert and read rows, never update or
//! delete them (grants, policies and a trigger, see the migration).

use std::net::IpAddr;

use shared::api::AuditAction;
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{MemberId, TenantId};

/// Who did something: a member, with the name and email they had at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The member.
    pub id: MemberId,
    /// The member's display name.
    pub name: String,
    /// The member's email.
    pub email: String,
}

/// What something was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `member`, `invitation`, `report` or `tenant`.
    pub kind: &'static str,
    /// The target's id.
    pub id: String,
    /// A label a person recognises.
    pub label: String,
}

impl Target {
    /// A member target.
    pub fn member(id: MemberId, email: &str) -> Target {
        Target {
            kind: "member",
            id: id.to_string(),
            label: email.to_owned(),
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub action: AuditAction,
    /// Who did it (`None` for the system).
    pub actor: Option<Actor>,
    /// What it was done to.
    pub target: Option<Target>,
    /// Details as a JSON object.
    pub details: serde_json::Value,
    /// The client address of the request, when known.
    pub source_ip: Option<IpAddr>,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event id.
    pub id: Uuid,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub action: AuditAction,
    /// Who did it.
    pub actor: Option<Actor>,
    /// What it was done to.
    pub target: Option<(String, String, String)>,
    /// Details.
    pub details: serde_json::Value,
    /// The client address.
    pub source_ip: Option<IpAddr>,
}

/// Appends `event` to `tenant`'s log, inside the caller's tenant transaction.
pub async fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    event: &NewEvent,
) -> Result<(), sqlx::Error> {
    let details = if event.details.is_object() {
        event.details.clone()
    } else {
        serde_json::Value::Object(serde_json::Map::new())
    };
    sqlx::query(
        "insert into audit_events \
         (id, tenant_id, action, actor_id, actor_name, actor_email, target_kind, target_id, target_label, \
          details, source_ip) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::inet)",
    )
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(event.action.as_str())
    .bind(event.actor.as_ref().map(|a| a.id))
    .bind(event.actor.as_ref().map(|a| a.name.as_str()))
    .bind(event.actor.as_ref().map(|a| a.email.as_str()))
    .bind(event.target.as_ref().map(|t| t.kind))
    .bind(event.target.as_ref().map(|t| t.id.as_str()))
    .bind(event.target.as_ref().map(|t| t.label.as_str()))
    .bind(Json(details))
    .bind(event.source_ip.map(|ip| ip.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this actor.
    pub actor: Option<MemberId>,
    /// At or after this time.
    pub since: Option<OffsetDateTime>,
    /// Before this time.
    pub until: Option<OffsetDateTime>,
    /// Strictly older than this position (the keyset cursor).
    pub before: Option<(OffsetDateTime, Uuid)>,
}

type EventRow = (
    Uuid,
    OffsetDateTime,
    String,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Json<serde_json::Value>,
    Option<String>,
);

/// Up to `limit` events of `tenant` matching `filter`, newest first.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "select id, at, action, actor_id, actor_name, actor_email, target_kind, target_id, target_label, \
                details, host(source_ip) \
         from audit_events \
         where tenant_id = $1 \
           and ($2::text is null or action = $2) \
           and ($3::uuid is null or actor_id = $3) \
           and ($4::timestamptz is null or at >= $4) \
           and ($5::timestamptz is null or at < $5) \
           and ($6::timestamptz is null or (at, id) < ($6, $7::uuid)) \
         order by at desc, id desc \
         limit $8",
    )
    .bind(tenant)
    .bind(filter.action.map(AuditAction::as_str))
    .bind(filter.actor)
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.before.map(|(at, _)| at))
    .bind(filter.before.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

fn from_row(row: EventRow) -> Result<Event, sqlx::Error> {
    let (id, at, action, actor_id, actor_name, actor_email, kind, target_id, label, details, ip) =
        row;
    let action = AuditAction::parse(&action).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown audit action {action:?} in column action").into())
    })?;
    let actor = actor_id.map(|id| Actor {
        id: MemberId(id),
        name: actor_name.unwrap_or_default(),
        email: actor_email.unwrap_or_default(),
    });
    let target = match (kind, target_id) {
        (Some(kind), Some(id)) => Some((kind, id, label.unwrap_or_default())),
        _ => None,
    };
    Ok(Event {
        id,
        at,
        action,
        actor,
        target,
        details: details.0,
        source_ip: ip.and_then(|ip| ip.parse().ok()),
    })
}
