//! The `audit_events` table: the tenant's append-only record of sign-ins and administrative changes.
//!
//! Events are written inside the same tenant transaction as the change they record, so a change and its
//! audit entry commit or roll back together. The application role can insert and read rows, never update or
//! delete them (grants, policies and a trigger, see the migration).

use std::net::IpAddr;

use shared::api::AuditAction;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Keyset, MemberId, TenantTx};

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

/// Appends `event` to the log of the transaction's tenant, inside that transaction.
pub async fn record(tx: &mut TenantTx, event: &NewEvent) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    let details = if event.details.is_object() {
        event.details.clone()
    } else {
        serde_json::Value::Object(serde_json::Map::new())
    };
    sqlx::query!(
        "INSERT INTO audit_events
             (id, tenant_id, action, actor_id, actor_name, actor_email, target_kind, target_id, target_label,
              details, source_ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::inet)",
        Uuid::new_v4(),
        tenant.0,
        event.action.as_str(),
        event.actor.as_ref().map(|a| a.id.0),
        event.actor.as_ref().map(|a| a.name.as_str()),
        event.actor.as_ref().map(|a| a.email.as_str()),
        event.target.as_ref().map(|t| t.kind),
        event.target.as_ref().map(|t| t.id.as_str()),
        event.target.as_ref().map(|t| t.label.as_str()),
        details,
        event.source_ip.map(|ip| ip.to_string())
    )
    .execute(tx.conn())
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
    /// Only events whose target's label (an email, a title, a file name) contains this text, in any case.
    pub target: Option<String>,
    /// At or after this time.
    pub since: Option<OffsetDateTime>,
    /// Before this time.
    pub until: Option<OffsetDateTime>,
    /// Strictly older than this position (the keyset cursor).
    pub before: Option<Keyset>,
}

/// An `audit_events` row as read (the action as its stored name, the address as text).
struct EventRow {
    id: Uuid,
    at: OffsetDateTime,
    action: String,
    actor_id: Option<MemberId>,
    actor_name: Option<String>,
    actor_email: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    target_label: Option<String>,
    details: serde_json::Value,
    source_ip: Option<String>,
}

/// Set before the filtered log's statement, for the rest of the transaction: plan each execution for its own
/// arguments. `audit_search.sql` has optional filters (`$2 IS NULL OR action = $2`); a plan made for the
/// arguments drops the filters that are unset and reads the page off the index of the one that is set,
/// while the generic plan a tenant transaction otherwise runs (see [`super::tenant_tx`]) cannot know which
/// are set and may read every match of the tenant and sort it. Planning costs a fraction of a millisecond, for a
/// search an admin makes by hand.
pub const CUSTOM_PLANS: &str = "SET LOCAL plan_cache_mode = force_custom_plan";

/// Up to `limit` events of the transaction's tenant matching `filter`, newest first.
pub async fn list(
    tx: &mut TenantTx,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let tenant = tx.tenant_id();
    let position = (
        filter.before.map(|position| position.at),
        filter.before.map(|position| position.id),
    );
    // Two statements rather than one with every filter optional: the unfiltered log keeps a plan that reads
    // just its page off the index (see the statements' comments).
    let rows = if filter.action.is_none() && filter.actor.is_none() && filter.target.is_none() {
        sqlx::query_file_as!(
            EventRow,
            "src/db/queries/audit_list.sql",
            tenant.0,
            filter.since,
            filter.until,
            position.0,
            position.1,
            limit
        )
        .fetch_all(tx.conn())
        .await?
    } else {
        sqlx::query(CUSTOM_PLANS).execute(tx.conn()).await?;
        sqlx::query_file_as!(
            EventRow,
            "src/db/queries/audit_search.sql",
            tenant.0,
            filter.action.map(AuditAction::as_str),
            filter.actor.map(|actor| actor.0),
            filter.since,
            filter.until,
            position.0,
            position.1,
            limit,
            filter.target.as_deref().map(super::contains_pattern)
        )
        .fetch_all(tx.conn())
        .await?
    };
    rows.into_iter().map(Event::try_from).collect()
}

impl TryFrom<EventRow> for Event {
    type Error = sqlx::Error;

    fn try_from(row: EventRow) -> Result<Event, sqlx::Error> {
        let action = AuditAction::parse(&row.action).ok_or_else(|| {
            sqlx::Error::Decode(
                format!("unknown audit action {:?} in column action", row.action).into(),
            )
        })?;
        let actor = row.actor_id.map(|id| Actor {
            id,
            name: row.actor_name.unwrap_or_default(),
            email: row.actor_email.unwrap_or_default(),
        });
        let target = match (row.target_kind, row.target_id) {
            (Some(kind), Some(id)) => Some((kind, id, row.target_label.unwrap_or_default())),
            _ => None,
        };
        Ok(Event {
            id: row.id,
            at: row.at,
            action,
            actor,
            target,
            details: row.details,
            source_ip: row.source_ip.and_then(|ip| ip.parse().ok()),
        })
    }
}
