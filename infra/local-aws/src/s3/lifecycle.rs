//! The bucket's lifecycle configuration and S3's lifecycle behaviour: which uploads in progress are aborted,
//! and which objects expire, and when.
//!
//! The rules are the deployment's own file, `infra/policies/bucket-lifecycle.json`, in the shape
//! `aws s3api put-bucket-lifecycle-configuration --lifecycle-configuration` takes. It is checked at start as
//! `PutBucketLifecycleConfiguration` checks it (S3 User Guide, "Lifecycle configuration elements"; S3 API
//! reference, `LifecycleRule`, `LifecycleRuleFilter`): 1 to 1,000 rules, each with an `ID` of at most 255
//! characters (unique: it identifies the rule), `Status` `Enabled` or `Disabled`, either a `Filter` (empty,
//! or exactly one of `Prefix`, `Tag`, `ObjectSizeGreaterThan`, `ObjectSizeLessThan`, `And`) or the deprecated
//! rule-level `Prefix` but not both, and at least one action; `Expiration` holds exactly one of `Days`,
//! `Date`, `ExpiredObjectDeleteMarker`; `Days` and `DaysAfterInitiation` are positive integers; and
//! `AbortIncompleteMultipartUpload` cannot go with a tag filter.
//!
//! The stand-in implements what an upload bucket needs, `AbortIncompleteMultipartUpload` and `Expiration`
//! after `Days`, for every key or a key prefix, and refuses at start, naming the rule and the element,
//! everything else S3 would accept (tag and size filters, `Expiration` `Date` and
//! `ExpiredObjectDeleteMarker`, transitions, the noncurrent-version actions), rather than accept a rule and
//! ignore it. It is also stricter than S3 on one point: every rule needs an `ID`. S3 makes up a random one
//! for a rule without, and the deployment and the stand-in would then name the rule differently (in
//! `x-amz-abort-rule-id`, for one).
//!
//! Days are counted as S3 counts them: the action is due when the rule's number of days, added to the
//! object's creation (or the upload's initiation), has passed, rounded up to the next midnight UTC
//! (created 2014-01-15 10:30 UTC with 3 days: due 2014-01-19 00:00 UTC). When several enabled rules apply
//! to a key, the earliest due time wins. S3 applies the rules in a run that starts once a day at midnight UTC; the stand-in
//! sweeps at start and then every ten minutes, acting on whatever is due by then ([`super::S3StandIn`]).

use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use s3s::dto::{
    AbortIncompleteMultipartUpload, ExpirationStatus, GetBucketLifecycleConfigurationOutput,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, TransitionDefaultMinimumObjectSize,
};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime, Time, UtcOffset};

/// The most rules one configuration may hold (S3's limit, which cannot be raised).
const MAX_RULES: usize = 1000;
/// The longest rule `ID` S3 accepts, in characters.
const MAX_ID_CHARS: usize = 255;

/// `infra/policies/bucket-lifecycle.json`: the bucket's lifecycle configuration as the deployment applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketLifecycle {
    rules: Vec<Rule>,
}

/// One checked rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    id: String,
    enabled: bool,
    selector: Selector,
    /// `Expiration` `Days`.
    expiration_days: Option<u32>,
    /// `AbortIncompleteMultipartUpload` `DaysAfterInitiation`.
    abort_days: Option<u32>,
}

/// Which keys a rule applies to, kept as the file wrote it so that `GetBucketLifecycleConfiguration` answers
/// with the same elements.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    /// An empty `Filter`: every key.
    EveryKey,
    /// `Filter` with `Prefix`.
    FilterPrefix(String),
    /// The deprecated rule-level `Prefix`, which S3 still accepts.
    RulePrefix(String),
}

impl Selector {
    fn prefix(&self) -> &str {
        match self {
            Selector::EveryKey => "",
            Selector::FilterPrefix(prefix) | Selector::RulePrefix(prefix) => prefix,
        }
    }
}

/// What one lifecycle run did ([`crate::LocalAws::s3_lifecycle_sweep`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleSweep {
    /// The uploads in progress that were aborted, their parts deleted.
    pub aborted_uploads: Vec<AbortedUpload>,
    /// The objects that expired and were deleted.
    pub expired_objects: Vec<ExpiredObject>,
}

/// An upload a lifecycle run aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortedUpload {
    /// The key the upload was for.
    pub key: String,
    /// The upload id, which answers `NoSuchUpload` from then on.
    pub upload_id: String,
    /// The `ID` of the rule that aborted it.
    pub rule_id: String,
}

/// An object a lifecycle run expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredObject {
    /// The object's key.
    pub key: String,
    /// The `ID` of the rule that expired it.
    pub rule_id: String,
}

/// When an action falls due for one key, and the rule that makes it due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Due<'a> {
    pub(crate) at: OffsetDateTime,
    pub(crate) rule_id: &'a str,
}

/// The file's shapes, as the CLI's JSON spells S3's elements. Unknown elements are refused, as S3 refuses
/// XML that does not validate against its schema.
mod file {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Configuration {
        #[serde(rename = "Rules")]
        pub(super) rules: Vec<Rule>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    pub(super) struct Rule {
        #[serde(rename = "ID")]
        pub(super) id: Option<String>,
        pub(super) status: String,
        pub(super) filter: Option<Filter>,
        pub(super) prefix: Option<String>,
        pub(super) expiration: Option<Expiration>,
        pub(super) abort_incomplete_multipart_upload: Option<Abort>,
        pub(super) transitions: Option<Value>,
        pub(super) noncurrent_version_transitions: Option<Value>,
        pub(super) noncurrent_version_expiration: Option<Value>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    pub(super) struct Filter {
        pub(super) prefix: Option<String>,
        pub(super) tag: Option<Value>,
        pub(super) object_size_greater_than: Option<Value>,
        pub(super) object_size_less_than: Option<Value>,
        pub(super) and: Option<Value>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    pub(super) struct Expiration {
        pub(super) days: Option<i64>,
        pub(super) date: Option<Value>,
        pub(super) expired_object_delete_marker: Option<Value>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    pub(super) struct Abort {
        pub(super) days_after_initiation: Option<i64>,
    }
}

impl BucketLifecycle {
    /// Reads `<infra_dir>/policies/bucket-lifecycle.json` and checks it (see the module documentation).
    pub fn load(infra_dir: &Path) -> anyhow::Result<BucketLifecycle> {
        let path = infra_dir.join("policies").join("bucket-lifecycle.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        BucketLifecycle::parse(&text).with_context(|| format!("checking {}", path.display()))
    }

    /// Parses and checks a lifecycle configuration in the file's shape (tests build configurations with it).
    pub fn parse(json: &str) -> anyhow::Result<BucketLifecycle> {
        let configuration: file::Configuration =
            serde_json::from_str(json).context("the lifecycle configuration is not well-formed")?;
        ensure!(
            !configuration.rules.is_empty(),
            "the lifecycle configuration has no rule; S3 needs at least one"
        );
        ensure!(
            configuration.rules.len() <= MAX_RULES,
            "the lifecycle configuration has {} rules; S3 accepts at most {MAX_RULES}",
            configuration.rules.len()
        );
        let mut rules: Vec<Rule> = Vec::with_capacity(configuration.rules.len());
        for (index, rule) in configuration.rules.into_iter().enumerate() {
            let number = index + 1;
            let checked = check_rule(rule).with_context(|| format!("rule {number}"))?;
            if rules.iter().any(|earlier| earlier.id == checked.id) {
                bail!(
                    "rule {number}: the ID {:?} is already another rule's; an ID identifies one rule",
                    checked.id
                );
            }
            rules.push(checked);
        }
        Ok(BucketLifecycle { rules })
    }

    /// The enabled rules that apply to `key`.
    fn applying<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a Rule> + use<'a, 'k> {
        self.rules
            .iter()
            .filter(move |rule| rule.enabled && key.starts_with(rule.selector.prefix()))
    }

    /// When an upload of `key` initiated at `initiated` becomes eligible for abort, by which rule; `None`
    /// when no enabled rule aborts uploads of that key.
    pub(crate) fn abort_due(&self, key: &str, initiated: OffsetDateTime) -> Option<Due<'_>> {
        self.earliest(key, initiated, |rule| rule.abort_days)
    }

    /// When the object `key` created at `created` expires, by which rule; `None` when no enabled rule expires
    /// it.
    pub(crate) fn expiration_due(&self, key: &str, created: OffsetDateTime) -> Option<Due<'_>> {
        self.earliest(key, created, |rule| rule.expiration_days)
    }

    /// Whether some enabled rule expires objects under `key`, whenever they were created: a cheap test
    /// before the object's time is read.
    pub(crate) fn expires(&self, key: &str) -> bool {
        self.applying(key)
            .any(|rule| rule.expiration_days.is_some())
    }

    fn earliest(
        &self,
        key: &str,
        start: OffsetDateTime,
        days: impl Fn(&Rule) -> Option<u32>,
    ) -> Option<Due<'_>> {
        self.applying(key)
            .filter_map(|rule| {
                let at = due_after(start, days(rule)?)?;
                Some(Due {
                    at,
                    rule_id: rule.id.as_str(),
                })
            })
            .min_by_key(|due| due.at)
    }

    /// The answer to `GetBucketLifecycleConfiguration`: the rules as the file states them.
    pub(crate) fn to_output(&self) -> GetBucketLifecycleConfigurationOutput {
        let rules = self
            .rules
            .iter()
            .map(|rule| {
                let (filter, prefix) = match &rule.selector {
                    Selector::EveryKey => (Some(LifecycleRuleFilter::default()), None),
                    Selector::FilterPrefix(prefix) => (
                        Some(LifecycleRuleFilter {
                            prefix: Some(prefix.clone()),
                            ..LifecycleRuleFilter::default()
                        }),
                        None,
                    ),
                    Selector::RulePrefix(prefix) => (None, Some(prefix.clone())),
                };
                LifecycleRule {
                    id: Some(rule.id.clone()),
                    status: ExpirationStatus::from_static(if rule.enabled {
                        ExpirationStatus::ENABLED
                    } else {
                        ExpirationStatus::DISABLED
                    }),
                    filter,
                    prefix,
                    expiration: rule.expiration_days.map(|days| LifecycleExpiration {
                        days: Some(days_value(days)),
                        ..LifecycleExpiration::default()
                    }),
                    abort_incomplete_multipart_upload: rule.abort_days.map(|days| {
                        AbortIncompleteMultipartUpload {
                            days_after_initiation: Some(days_value(days)),
                        }
                    }),
                    noncurrent_version_expiration: None,
                    noncurrent_version_transitions: None,
                    transitions: None,
                }
            })
            .collect();
        GetBucketLifecycleConfigurationOutput {
            rules: Some(rules),
            // S3 applies a default minimum object size to transitions in a configuration that does not choose
            // one (the deployment's does not): objects under 128 KB are not transitioned.
            transition_default_minimum_object_size: Some(
                TransitionDefaultMinimumObjectSize::from_static(
                    TransitionDefaultMinimumObjectSize::ALL_STORAGE_CLASSES_128K,
                ),
            ),
        }
    }
}

/// Days as S3's `Integer`; the file check keeps them within it.
fn days_value(days: u32) -> i32 {
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// Checks one rule of the file.
fn check_rule(rule: file::Rule) -> anyhow::Result<Rule> {
    let Some(id) = rule.id else {
        bail!(
            "the rule has no ID: S3 would give it a random one, which the deployment and the stand-in could \
             not share; give every rule an ID"
        );
    };
    ensure!(
        id.chars().count() <= MAX_ID_CHARS,
        "ID length should not exceed allowed limit of {MAX_ID_CHARS} characters ({:?} has {})",
        id,
        id.chars().count()
    );
    let rule_context = |message: String| format!("{id:?}: {message}");
    let enabled = match rule.status.as_str() {
        "Enabled" => true,
        "Disabled" => false,
        other => bail!(rule_context(format!(
            "Status must be Enabled or Disabled, not {other:?}"
        ))),
    };

    let tag_filter = rule
        .filter
        .as_ref()
        .is_some_and(|filter| filter.tag.is_some() || filter.and.is_some());
    if rule.abort_incomplete_multipart_upload.is_some() && tag_filter {
        bail!(rule_context(
            "AbortIncompleteMultipartUpload cannot be specified in a rule whose filter is based on object tags \
             (S3 refuses it); a tag-free filter is Filter.Prefix"
                .to_owned()
        ));
    }
    let selector = match (rule.filter, rule.prefix) {
        (Some(_), Some(_)) => bail!(rule_context(
            "Filter and the rule-level Prefix are mutually exclusive; use Filter.Prefix".to_owned()
        )),
        (None, None) => bail!(rule_context(
            "the rule has neither Filter nor Prefix; S3 needs one (an empty Filter selects every key)"
                .to_owned()
        )),
        (None, Some(prefix)) => Selector::RulePrefix(prefix),
        (Some(filter), None) => check_filter(filter).map_err(|error| {
            anyhow::anyhow!(rule_context(format!("Filter: {error}")))
        })?,
    };

    if rule.transitions.is_some() || rule.noncurrent_version_transitions.is_some() {
        bail!(rule_context(
            "transitions are not implemented by the S3 stand-in, which has one storage class"
                .to_owned()
        ));
    }
    if rule.noncurrent_version_expiration.is_some() {
        bail!(rule_context(
            "NoncurrentVersionExpiration is not implemented by the S3 stand-in, whose bucket is not versioned"
                .to_owned()
        ));
    }
    let expiration_days = rule
        .expiration
        .map(check_expiration)
        .transpose()
        .map_err(|error| anyhow::anyhow!(rule_context(error.to_string())))?;
    let abort_days = rule
        .abort_incomplete_multipart_upload
        .map(|abort| {
            let days = abort
                .days_after_initiation
                .context("AbortIncompleteMultipartUpload needs DaysAfterInitiation")?;
            positive_days(
                days,
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action",
            )
        })
        .transpose()
        .map_err(|error| anyhow::anyhow!(rule_context(error.to_string())))?;
    ensure!(
        expiration_days.is_some() || abort_days.is_some(),
        rule_context("the rule has no action; S3 needs at least one".to_owned())
    );
    Ok(Rule {
        id,
        enabled,
        selector,
        expiration_days,
        abort_days,
    })
}

/// Checks a `Filter`: empty, or exactly one element; only `Prefix` is implemented.
fn check_filter(filter: file::Filter) -> anyhow::Result<Selector> {
    let present = [
        ("Prefix", filter.prefix.is_some()),
        ("Tag", filter.tag.is_some()),
        (
            "ObjectSizeGreaterThan",
            filter.object_size_greater_than.is_some(),
        ),
        ("ObjectSizeLessThan", filter.object_size_less_than.is_some()),
        ("And", filter.and.is_some()),
    ];
    let named: Vec<&str> = present
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| *name)
        .collect();
    match named.as_slice() {
        [] => Ok(Selector::EveryKey),
        ["Prefix"] => Ok(Selector::FilterPrefix(filter.prefix.unwrap_or_default())),
        [only] => bail!(
            "{only} is not implemented by the S3 stand-in (it implements an empty Filter and Filter.Prefix)"
        ),
        several => bail!(
            "a Filter holds exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan and And, not \
             {}; S3 combines several only inside And",
            several.join(" and ")
        ),
    }
}

/// Checks an `Expiration`: exactly one of its elements; only `Days` is implemented.
fn check_expiration(expiration: file::Expiration) -> anyhow::Result<u32> {
    let count = [
        expiration.days.is_some(),
        expiration.date.is_some(),
        expiration.expired_object_delete_marker.is_some(),
    ]
    .into_iter()
    .filter(|present| *present)
    .count();
    ensure!(
        count == 1,
        "Expiration holds exactly one of Days, Date and ExpiredObjectDeleteMarker"
    );
    if expiration.date.is_some() {
        bail!("Expiration.Date is not implemented by the S3 stand-in; expire after Days");
    }
    if expiration.expired_object_delete_marker.is_some() {
        bail!(
            "Expiration.ExpiredObjectDeleteMarker is not implemented by the S3 stand-in, whose bucket is not \
             versioned"
        );
    }
    positive_days(
        expiration.days.unwrap_or_default(),
        "'Days' for Expiration action",
    )
}

/// A number of days S3 accepts: a positive 32-bit integer.
fn positive_days(days: i64, what: &str) -> anyhow::Result<u32> {
    ensure!(days >= 1, "{what} must be a positive integer, not {days}");
    ensure!(
        days <= i64::from(i32::MAX),
        "{what} must be an integer S3 accepts (at most {}), not {days}",
        i32::MAX
    );
    u32::try_from(days).context("days out of range")
}

/// When an action `days` days after `start` falls due: `start` plus the days, rounded up to midnight UTC.
/// `None` when that is beyond the dates the clock can represent (it never falls due).
pub(crate) fn due_after(start: OffsetDateTime, days: u32) -> Option<OffsetDateTime> {
    let end = start
        .to_offset(UtcOffset::UTC)
        .checked_add(Duration::days(i64::from(days)))?;
    let midnight = end.replace_time(Time::MIDNIGHT);
    if midnight == end {
        Some(end)
    } else {
        midnight.checked_add(Duration::DAY)
    }
}

/// The `x-amz-expiration` header S3 sends with an object an `Expiration` rule applies to:
/// `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="<rule ID>"`.
pub(crate) fn expiration_header(due: &Due<'_>) -> Option<String> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = due.at.to_offset(UtcOffset::UTC).format(&format).ok()?;
    Some(format!(
        "expiry-date=\"{date}\", rule-id=\"{}\"",
        due.rule_id
    ))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn error_of(json: &str) -> String {
        format!("{:#}", BucketLifecycle::parse(json).unwrap_err())
    }

    fn rule(body: &str) -> String {
        format!(r#"{{"Rules": [{{"ID": "r", "Status": "Enabled", {body}}}]}}"#)
    }

    #[test]
    fn the_deployments_file_loads_with_its_abort_and_expiry_rules_for_every_key() {
        let infra = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let lifecycle = BucketLifecycle::load(&infra).unwrap();
        let initiated = datetime!(2026-03-10 15:00 UTC);
        let due = lifecycle
            .abort_due("acme/u1/uploads/big.iso", initiated)
            .unwrap();
        assert_eq!(due.at, datetime!(2026-03-12 00:00 UTC));
        assert_eq!(due.rule_id, "AbortIncompleteMultipartUploads");
        assert!(lifecycle.expires("acme/u1/uploads/big.iso"));
        assert!(lifecycle.expires("anything/at/all"));
    }

    #[test]
    fn days_count_from_the_start_rounded_up_to_midnight_utc() {
        // The S3 User Guide's example: created 2014-01-15 10:30 UTC, 3 days, due 2014-01-19 00:00 UTC.
        assert_eq!(
            due_after(datetime!(2014-01-15 10:30 UTC), 3),
            Some(datetime!(2014-01-19 00:00 UTC))
        );
        assert_eq!(
            due_after(datetime!(2014-01-15 23:59:59.999 UTC), 1),
            Some(datetime!(2014-01-17 00:00 UTC))
        );
        assert_eq!(
            due_after(datetime!(2014-01-15 00:00 UTC), 1),
            Some(datetime!(2014-01-16 00:00 UTC)),
            "a time already at midnight stays there"
        );
        // Local time does not matter: 01:30 at UTC+2 is 23:30 UTC the day before.
        assert_eq!(
            due_after(datetime!(2014-01-16 01:30 +2), 1),
            Some(datetime!(2014-01-17 00:00 UTC))
        );
        assert_eq!(
            due_after(datetime!(2014-01-15 10:30 UTC), u32::MAX),
            None,
            "beyond the calendar, never"
        );
    }

    #[test]
    fn the_earliest_enabled_rule_that_matches_the_key_decides() {
        let lifecycle = BucketLifecycle::parse(
            r#"{"Rules": [
                {"ID": "all", "Status": "Enabled", "Filter": {},
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
                {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
                 "Expiration": {"Days": 30}},
                {"ID": "off", "Status": "Disabled", "Prefix": "tmp/",
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}
            ]}"#,
        )
        .unwrap();
        let start = datetime!(2026-01-01 12:00 UTC);
        let due = lifecycle.abort_due("tmp/a", start).unwrap();
        assert_eq!(
            (due.at, due.rule_id),
            (datetime!(2026-01-04 00:00 UTC), "tmp")
        );
        let due = lifecycle.abort_due("docs/a", start).unwrap();
        assert_eq!(
            (due.at, due.rule_id),
            (datetime!(2026-01-09 00:00 UTC), "all")
        );
        assert!(lifecycle.expires("tmp/a"));
        assert!(!lifecycle.expires("docs/a"));
        let due = lifecycle.expiration_due("tmp/a", start).unwrap();
        assert_eq!(due.at, datetime!(2026-02-01 00:00 UTC));
        assert_eq!(
            expiration_header(&due).unwrap(),
            "expiry-date=\"Sun, 01 Feb 2026 00:00:00 GMT\", rule-id=\"tmp\""
        );
        assert_eq!(lifecycle.expiration_due("docs/a", start), None);
    }

    #[test]
    fn the_answer_states_the_rules_as_the_file_does() {
        let lifecycle = BucketLifecycle::parse(
            r#"{"Rules": [
                {"ID": "every", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 3}},
                {"ID": "prefixed", "Status": "Disabled", "Filter": {"Prefix": "a/"},
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                {"ID": "old-style", "Status": "Enabled", "Prefix": "b/", "Expiration": {"Days": 9}}
            ]}"#,
        )
        .unwrap();
        let output = lifecycle.to_output();
        let rules = output.rules.unwrap();
        assert_eq!(rules[0].filter, Some(LifecycleRuleFilter::default()));
        assert_eq!(rules[0].expiration.as_ref().unwrap().days, Some(3));
        assert_eq!(rules[1].status.as_str(), "Disabled");
        assert_eq!(
            rules[1].filter.as_ref().unwrap().prefix.as_deref(),
            Some("a/")
        );
        assert_eq!(
            rules[1]
                .abort_incomplete_multipart_upload
                .as_ref()
                .unwrap()
                .days_after_initiation,
            Some(1)
        );
        assert_eq!(rules[2].filter, None);
        assert_eq!(rules[2].prefix.as_deref(), Some("b/"));
    }

    #[test]
    fn what_s3_refuses_is_refused_with_the_reason() {
        let cases = [
            (r#"{"Rules": []}"#.to_owned(), "at least one"),
            (r#"{"Rules": [], "Extra": 1}"#.to_owned(), "unknown field `Extra`"),
            (
                format!(
                    r#"{{"Rules": [{{"ID": "{}", "Status": "Enabled", "Filter": {{}}, "Expiration": {{"Days": 1}}}}]}}"#,
                    "x".repeat(256)
                ),
                "ID length should not exceed allowed limit of 255",
            ),
            (
                r#"{"Rules": [{"ID": "r", "Status": "On", "Filter": {}, "Expiration": {"Days": 1}}]}"#
                    .to_owned(),
                "Status must be Enabled or Disabled",
            ),
            (rule(r#""Filter": {}"#), "no action"),
            (
                rule(r#""Expiration": {"Days": 1}"#),
                "neither Filter nor Prefix",
            ),
            (
                rule(r#""Filter": {}, "Prefix": "", "Expiration": {"Days": 1}"#),
                "mutually exclusive",
            ),
            (
                rule(r#""Filter": {"Prefix": "a/", "ObjectSizeLessThan": 10}, "Expiration": {"Days": 1}"#),
                "exactly one of",
            ),
            (
                rule(r#""Filter": {}, "Expiration": {"Days": 0}"#),
                "'Days' for Expiration action must be a positive integer",
            ),
            (
                rule(r#""Filter": {}, "Expiration": {"Days": 2147483648}"#),
                "at most 2147483647",
            ),
            (
                rule(r#""Filter": {}, "Expiration": {"Days": 1, "Date": "2030-01-01T00:00:00Z"}"#),
                "exactly one of Days, Date",
            ),
            (
                rule(r#""Filter": {}, "Expiration": {}"#),
                "exactly one of Days, Date",
            ),
            (
                rule(r#""Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": -1}"#),
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
            ),
            (
                rule(r#""Filter": {}, "AbortIncompleteMultipartUpload": {}"#),
                "needs DaysAfterInitiation",
            ),
            (
                rule(
                    r#""Filter": {"Tag": {"Key": "k", "Value": "v"}}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}"#,
                ),
                "cannot be specified in a rule whose filter is based on object tags",
            ),
            (
                r#"{"Rules": [
                    {"ID": "same", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}},
                    {"ID": "same", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 2}}
                ]}"#
                .to_owned(),
                "rule 2: the ID \"same\" is already another rule's",
            ),
            (
                r#"{"Rules": [{"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]}"#.to_owned(),
                "rule 1: the rule has no ID",
            ),
        ];
        for (json, expected) in cases {
            let error = error_of(&json);
            assert!(error.contains(expected), "{json}\n→ {error}");
        }
    }

    #[test]
    fn what_the_stand_in_does_not_implement_is_refused_not_ignored() {
        let cases = [
            (
                rule(r#""Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Expiration": {"Days": 1}"#),
                "\"r\": Filter: Tag is not implemented",
            ),
            (
                rule(r#""Filter": {"And": {"Prefix": "a/"}}, "Expiration": {"Days": 1}"#),
                "And is not implemented",
            ),
            (
                rule(r#""Filter": {"ObjectSizeGreaterThan": 10}, "Expiration": {"Days": 1}"#),
                "ObjectSizeGreaterThan is not implemented",
            ),
            (
                rule(r#""Filter": {}, "Expiration": {"Date": "2030-01-01T00:00:00Z"}"#),
                "Expiration.Date is not implemented",
            ),
            (
                rule(r#""Filter": {}, "Expiration": {"ExpiredObjectDeleteMarker": true}"#),
                "ExpiredObjectDeleteMarker is not implemented",
            ),
            (
                rule(r#""Filter": {}, "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]"#),
                "transitions are not implemented",
            ),
            (
                rule(r#""Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 3}"#),
                "NoncurrentVersionExpiration is not implemented",
            ),
        ];
        for (json, expected) in cases {
            let error = error_of(&json);
            assert!(error.contains(expected), "{json}\n→ {error}");
        }
    }
}
