//! Words and numbers as the pages show them: sizes, plan usage, audit actions and their details (times are
//! `time.rs`'s).

use shared::api::{ActivityKind, AuditAction, RoleSource};

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
        AuditAction::ReportCreated => "Report written",
        AuditAction::ReportEdited => "Report edited",
        AuditAction::ReportDeleted => "Report deleted",
        AuditAction::FileUploaded => "File uploaded",
        AuditAction::FileDeleted => "File deleted",
        AuditAction::MemberRoleKept => "Last admin's role kept",
        AuditAction::SessionsEnded => "Sessions ended",
        AuditAction::SetupLinkCreated => "SSO set-up link created",
        AuditAction::SetupLinkRevoked => "SSO set-up link revoked",
        AuditAction::SetupLinkOpened => "SSO set-up link opened",
        AuditAction::DomainClaimed => "Domain claimed",
        AuditAction::DomainVerified => "Domain verified",
        AuditAction::DomainRemoved => "Domain removed",
        AuditAction::DomainLapsed => "Domain proof lapsed",
        AuditAction::SsoProviderSaved => "Identity provider saved for a test",
        AuditAction::SsoTestSignIn => "Test sign-in",
        AuditAction::SsoActivated => "Single sign-on activated",
        AuditAction::SsoSecretRotated => "Identity provider's client secret rotated",
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
            !value.is_null()
                && !(is_change && (*name == "from" || *name == "to"))
                && !is_internal(name)
        })
        .map(|(name, value)| (detail_name(name), value_text(&readable(name, value))))
        .collect();
    // The same event must always read the same, whatever order the JSON object kept.
    lines.sort();
    if is_change {
        lines.insert(0, ("change".to_owned(), change_text(fields)));
    }
    lines
}

/// Detail keys whose words are not just the key's.
const DETAIL_NAMES: &[(&str, &str)] = &[
    ("role_source", "role from"),
    ("provider", "identity provider"),
    ("just_in_time", "just-in-time joining"),
    ("everywhere", "signed out"),
];

/// Details kept for investigations (the API returns them) that mean nothing to a person reading the log:
/// ids, and the app client a sign-in came through.
fn is_internal(key: &str) -> bool {
    key == "client_id" || key.ends_with("_id")
}

/// A detail's value in words where the stored one is a code: where a role comes from, a size in bytes,
/// a switch. Changes (`from`/`to`) are read the same way on both sides.
fn readable(key: &str, value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    if let Value::Object(fields) = value
        && fields.contains_key("from")
        && fields.contains_key("to")
    {
        let mut read = fields.clone();
        for side in ["from", "to"] {
            if let Some(value) = fields.get(side) {
                read.insert(side.to_owned(), readable(key, value));
            }
        }
        return Value::Object(read);
    }
    match (key, value) {
        ("role_source", Value::String(code)) => Value::String(
            match code.as_str() {
                "identity_provider" => role_source_label(RoleSource::IdentityProvider),
                "admin" => role_source_label(RoleSource::Admin),
                other => other,
            }
            .to_owned(),
        ),
        ("size", Value::Number(bytes)) => {
            Value::String(format_bytes(bytes.as_f64().unwrap_or_default()))
        }
        // A member's "sign out everywhere" (`sessions_ended`).
        ("everywhere", Value::Bool(true)) => Value::String("everywhere".to_owned()),
        (_, Value::Bool(on)) => Value::String(if *on { "on" } else { "off" }.to_owned()),
        _ => value.clone(),
    }
}

/// A detail's key as words: `group_mapping:acme-entra` → `group mapping (acme-entra)`.
fn detail_name(key: &str) -> String {
    if let Some(name) = DETAIL_NAMES.iter().find(|(code, _)| *code == key) {
        return name.1.to_owned();
    }
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
    fn usage_names_the_limit_only_when_there_is_one() {
        assert_eq!(usage_text(7, Some(10)), "7 of 10 reports");
        assert_eq!(usage_text(12, None), "12 reports");
        assert_eq!(usage_text(1, None), "1 report");
        assert!(limit_reached(10, Some(10)));
        assert!(!limit_reached(9, Some(10)));
        assert!(!limit_reached(1_000, None));
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
                ("role from".to_owned(), "Set by an admin".to_owned()),
            ]
        );
    }

    #[test]
    fn codes_read_as_words_and_internals_are_left_out() {
        let sign_in = detail_lines(&json!({"provider": "acme-entra", "client_id": "3n4k1abc"}));
        assert_eq!(
            sign_in,
            vec![("identity provider".to_owned(), "acme-entra".to_owned())]
        );
        let upload = detail_lines(&json!({"size": 1_048_576, "content_type": "text/plain"}));
        assert!(
            upload.contains(&("size".to_owned(), "1.0 MB".to_owned())),
            "{upload:?}"
        );
        let handed_back = detail_lines(&json!({
            "role": "member",
            "role_source": {"from": "admin", "to": "identity_provider"}
        }));
        assert_eq!(
            handed_back,
            vec![
                ("role".to_owned(), "member".to_owned()),
                (
                    "role from".to_owned(),
                    "Set by an admin → Identity provider groups".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn ended_sessions_say_how_many_on_which_device_or_everywhere() {
        assert_eq!(
            detail_lines(&json!({"sessions": 1, "device": "Chrome 131 on Linux"})),
            vec![
                ("device".to_owned(), "Chrome 131 on Linux".to_owned()),
                ("sessions".to_owned(), "1".to_owned()),
            ]
        );
        assert_eq!(
            detail_lines(&json!({"sessions": 3, "everywhere": true})),
            vec![
                ("sessions".to_owned(), "3".to_owned()),
                ("signed out".to_owned(), "everywhere".to_owned()),
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
                ("just-in-time joining".to_owned(), "on → off".to_owned()),
                ("scopes".to_owned(), r#"["read"]"#.to_owned()),
            ]
        );
        assert!(detail_lines(&json!({})).is_empty());
        assert!(detail_lines(&serde_json::Value::Null).is_empty());
    }
}
