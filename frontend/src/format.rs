//! Words and numbers as the pages show them: times, sizes, plan usage, audit actions and their details.
//!
//! Times are shown in UTC, the zone the API speaks and the audit filters use, so that what an admin reads
//! in a table and what they type into a filter always mean the same instant.

use shared::api::{ActivityKind, AuditAction, RoleSource};

/// `2025-06-01T12:34:56.789Z` → `2025-06-01 12:34 UTC`. Anything that is not an RFC 3339 time is shown
/// as it came.
pub fn format_time(rfc3339: &str) -> String {
    let Some((date, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_owned();
    };
    let well_formed = date.len() == 10
        && rest.len() >= 5
        && rest.is_char_boundary(5)
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed {
        return rfc3339.to_owned();
    }
    let minutes = &rest[..5];
    let utc = rest.ends_with('Z') || rest.ends_with("+00:00");
    if utc {
        format!("{date} {minutes} UTC")
    } else {
        let offset = rest
            .rfind(['+', '-'])
            .map(|at| &rest[at..])
            .unwrap_or_default();
        format!("{date} {minutes} {offset}").trim_end().to_owned()
    }
}

/// How much of the plan the reports use: `7 of 10 reports` on a limited plan, `12 reports` otherwise.
pub fn usage_text(reports: i64, limit: Option<i64>) -> String {
    match limit {
        Some(limit) => format!("{reports} of {limit} reports"),
        None if reports == 1 => "1 report".to_owned(),
        None => format!("{reports} reports"),
    }
}

/// A size in bytes as people read it, in the decimal units the plans are sold in: `950 B`, `1.2 kB`,
/// `20.9 MB`, `5.4 GB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000.0 {
        return format!("{} B", bytes.max(0.0).round());
    }
    let mut value = bytes;
    let mut unit = UNITS[0];
    for next in UNITS {
        value /= 1000.0;
        unit = next;
        if value < 999.95 {
            break;
        }
    }
    format!("{value:.1} {unit}")
}

/// How much storage the files use: `20.9 MB of 100.0 MB used` on a plan with a quota, `20.9 MB used`
/// otherwise.
pub fn storage_text(used: i64, quota: Option<i64>) -> String {
    match quota {
        Some(quota) => format!(
            "{} of {} used",
            format_bytes(used as f64),
            format_bytes(quota as f64)
        ),
        None => format!("{} used", format_bytes(used as f64)),
    }
}

/// Whether the plan's report limit is reached.
pub fn limit_reached(reports: i64, limit: Option<i64>) -> bool {
    limit.is_some_and(|limit| reports >= limit)
}

/// The start of a UTC day picked in a date field (`2025-06-01`) as an RFC 3339 time, or `None` for an
/// empty or malformed field.
pub fn day_start(day: &str) -> Option<String> {
    is_date(day).then(|| format!("{day}T00:00:00Z"))
}

/// The last instant of a UTC day picked in a date field, so that a range "until 1 June" includes 1 June.
pub fn day_end(day: &str) -> Option<String> {
    is_date(day).then(|| format!("{day}T23:59:59.999999Z"))
}

fn is_date(day: &str) -> bool {
    day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// What an audit action means, for the log's Action column and its filter.
pub fn action_label(action: AuditAction) -> &'static str {
    match action {
        AuditAction::SignIn => "Signed in",
        AuditAction::SignInRefused => "Sign-in refused",
        AuditAction::MemberJoined => "Member joined",
        AuditAction::MemberRoleChanged => "Role changed",
        AuditAction::MemberDeactivated => "Member deactivated",
        AuditAction::MemberReactivated => "Member reactivated",
        AuditAction::InvitationCreated => "Invitation sent",
        AuditAction::InvitationRevoked => "Invitation withdrawn",
        AuditAction::SettingsChanged => "Sign-in settings changed",
        AuditAction::ReportDeleted => "Report deleted",
        AuditAction::FileUploaded => "File uploaded",
        AuditAction::FileDeleted => "File deleted",
        AuditAction::MemberRoleKept => "Last admin's role kept",
    }
}

/// Where a member's role comes from, in the members table.
pub fn role_source_label(source: RoleSource) -> &'static str {
    match source {
        RoleSource::IdentityProvider => "Identity provider groups",
        RoleSource::Admin => "Set by an admin",
    }
}

/// The verb of a dashboard activity entry.
pub fn activity_verb(kind: ActivityKind) -> &'static str {
    match kind {
        ActivityKind::ReportCreated => "wrote",
        ActivityKind::ReportEdited => "edited",
    }
}

/// An audit event's details as `(name, value)` lines: a change (`"from"` and `"to"`, at the top or under a
/// name) reads `from → to`, text is shown without quotes, a flat object (a group mapping) reads
/// `name: value, …`, empty values are left out and anything else is compact JSON. A top-level change
/// comes first as `change`; the other lines are sorted by name.
pub fn detail_lines(details: &serde_json::Value) -> Vec<(String, String)> {
    let serde_json::Value::Object(fields) = details else {
        return match details {
            serde_json::Value::Null => Vec::new(),
            other => vec![(String::new(), value_text(other))],
        };
    };
    let is_change = fields.contains_key("from") && fields.contains_key("to");
    let mut lines: Vec<(String, String)> = fields
        .iter()
        .filter(|(name, value)| {
            !value.is_null() && !(is_change && (*name == "from" || *name == "to"))
        })
        .map(|(name, value)| (detail_name(name), value_text(value)))
        .collect();
    // The same event must always read the same, whatever order the JSON object kept.
    lines.sort();
    if is_change {
        lines.insert(0, ("change".to_owned(), change_text(fields)));
    }
    lines
}

/// A detail's key as words: `group_mapping:acme-entra` → `group mapping (acme-entra)`.
fn detail_name(key: &str) -> String {
    match key.split_once(':') {
        Some((name, qualifier)) => format!("{} ({qualifier})", name.replace('_', " ")),
        None => key.replace('_', " "),
    }
}

/// `from → to` of a change, with `none` for an absent side.
fn change_text(fields: &serde_json::Map<String, serde_json::Value>) -> String {
    let side = |name: &str| match fields.get(name) {
        Some(serde_json::Value::Null) | None => "none".to_owned(),
        Some(value) => value_text(value),
    };
    format!("{} → {}", side("from"), side("to"))
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(fields)
            if fields.len() == 2 && fields.contains_key("from") && fields.contains_key("to") =>
        {
            change_text(fields)
        }
        serde_json::Value::Object(fields) if fields.values().all(is_scalar) => {
            let mut pairs: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{name}: {}", value_text(value)))
                .collect();
            pairs.sort();
            pairs.join(", ")
        }
        other => other.to_string(),
    }
}

fn is_scalar(value: &serde_json::Value) -> bool {
    !matches!(
        value,
        serde_json::Value::Object(_) | serde_json::Value::Array(_)
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sizes_are_shown_in_decimal_units_with_one_decimal() {
        assert_eq!(format_bytes(0.0), "0 B");
        assert_eq!(format_bytes(999.0), "999 B");
        assert_eq!(format_bytes(1000.0), "1.0 kB");
        assert_eq!(format_bytes(20.0 * 1024.0 * 1024.0), "21.0 MB");
        assert_eq!(format_bytes(999_999.0), "1.0 MB");
        assert_eq!(format_bytes(5.0 * 1024.0 * 1024.0 * 1024.0), "5.4 GB");
    }

    #[test]
    fn storage_use_names_the_quota_when_the_plan_has_one() {
        assert_eq!(
            storage_text(20_971_520, Some(100_000_000)),
            "21.0 MB of 100.0 MB used"
        );
        assert_eq!(storage_text(0, None), "0 B used");
    }

    #[test]
    fn utc_times_show_date_hours_and_minutes() {
        assert_eq!(
            format_time("2025-06-01T12:34:56.789012Z"),
            "2025-06-01 12:34 UTC"
        );
        assert_eq!(
            format_time("2025-06-01T08:05:00+00:00"),
            "2025-06-01 08:05 UTC"
        );
    }

    #[test]
    fn other_offsets_are_named_and_garbage_is_shown_as_is() {
        assert_eq!(
            format_time("2025-06-01T12:34:56+02:00"),
            "2025-06-01 12:34 +02:00"
        );
        assert_eq!(format_time("yesterday"), "yesterday");
        assert_eq!(format_time("2025-6-1T1:2"), "2025-6-1T1:2");
        assert_eq!(format_time("2025-06-01T1é"), "2025-06-01T1é");
    }

    #[test]
    fn usage_names_the_limit_only_when_there_is_one() {
        assert_eq!(usage_text(7, Some(10)), "7 of 10 reports");
        assert_eq!(usage_text(12, None), "12 reports");
        assert_eq!(usage_text(1, None), "1 report");
        assert!(limit_reached(10, Some(10)));
        assert!(!limit_reached(9, Some(10)));
        assert!(!limit_reached(1_000, None));
    }

    #[test]
    fn date_fields_become_whole_utc_days() {
        assert_eq!(
            day_start("2025-06-01").as_deref(),
            Some("2025-06-01T00:00:00Z")
        );
        assert_eq!(
            day_end("2025-06-01").as_deref(),
            Some("2025-06-01T23:59:59.999999Z")
        );
        assert_eq!(day_start(""), None);
        assert_eq!(day_end("06/01/2025"), None);
    }

    #[test]
    fn every_audit_action_has_its_own_label() {
        let labels: std::collections::HashSet<_> =
            AuditAction::ALL.into_iter().map(action_label).collect();
        assert_eq!(labels.len(), AuditAction::ALL.len());
    }

    #[test]
    fn role_changes_read_from_to() {
        let lines = detail_lines(&json!({
            "from": "member", "to": "admin", "role_source": "admin"
        }));
        assert_eq!(
            lines,
            vec![
                ("change".to_owned(), "member → admin".to_owned()),
                ("role source".to_owned(), "admin".to_owned()),
            ]
        );
    }

    #[test]
    fn nested_changes_and_absent_values_read_naturally() {
        let lines = detail_lines(&json!({
            "just_in_time": {"from": true, "to": false},
            "group_mapping:acme-entra": {"from": null, "to": {"Staff": "member", "Admins": "admin"}},
            "invitation_id": null,
            "scopes": ["read"]
        }));
        assert_eq!(
            lines,
            vec![
                (
                    "group mapping (acme-entra)".to_owned(),
                    "none → Admins: admin, Staff: member".to_owned()
                ),
                ("just in time".to_owned(), "true → false".to_owned()),
                ("scopes".to_owned(), r#"["read"]"#.to_owned()),
            ]
        );
        assert!(detail_lines(&json!({})).is_empty());
        assert!(detail_lines(&serde_json::Value::Null).is_empty());
    }
}
