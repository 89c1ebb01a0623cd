//! Condition operators: one condition is an operator, a condition key and the policy's values for it, and holds
//! or not for a request context.
//!
//! The rules, from the IAM User Guide ("Condition operators", "Single-valued vs. multivalued context keys",
//! "Policy variables with no value"):
//! - Several values for one key are alternatives (OR). A negated operator (`StringNotEquals`, `StringNotLike`,
//!   `ArnNotLike`, `NumericNotEquals`, `DateNotEquals`, …) holds when the request value matches *none* of them
//!   (NOR).
//! - A key absent from the request: positive operators are false, negated operators true, `…IfExists` true,
//!   `Null` tells presence apart.
//! - `ForAllValues:` holds when every request value passes (so also when the key is absent or has no values);
//!   `ForAnyValue:` when at least one does (so never for an absent key or an empty set). `IfExists` does not
//!   change what a set operator does with an absent key.
//! - A multivalued key with an operator that has no set qualifier does not match (not even a negated one):
//!   IAM requires `ForAnyValue:`/`ForAllValues:` there.
//! - A policy value whose variable cannot be resolved is "null": it equals and is like no request value, so a
//!   positive operator gains no match from it and a negated operator holds against it.
//! - A request value that cannot be read as the operator's type (a number, a date, a boolean, an ARN) makes
//!   that comparison fail, negated or not.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::iam::pattern::Pattern;
use crate::iam::request::{Context, ContextValue};

/// One compiled condition: `"<operator>": {"<key>": [values]}`.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    operator: String,
    key: String,
    set: Option<SetOperator>,
    if_exists: bool,
    test: Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    ForAllValues,
    ForAnyValue,
}

#[derive(Debug, Clone)]
enum Test {
    String {
        how: StringMatch,
        negated: bool,
        values: Vec<Pattern>,
    },
    Arn {
        negated: bool,
        values: Vec<Vec<Pattern>>,
    },
    Numeric {
        comparison: Comparison,
        negated: bool,
        values: Vec<f64>,
    },
    Date {
        comparison: Comparison,
        negated: bool,
        values: Vec<OffsetDateTime>,
    },
    Bool {
        values: Vec<bool>,
    },
    /// `Null`: `true` asks for an absent key, `false` for a present one.
    Null {
        values: Vec<bool>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringMatch {
    Equals,
    EqualsIgnoreCase,
    Like,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

impl Comparison {
    fn holds<T: PartialOrd>(self, request: &T, policy: &T) -> bool {
        match self {
            Comparison::Equals => request == policy,
            Comparison::LessThan => request < policy,
            Comparison::LessThanEquals => request <= policy,
            Comparison::GreaterThan => request > policy,
            Comparison::GreaterThanEquals => request >= policy,
        }
    }
}

/// The operator families and their names without qualifiers.
#[derive(Debug, Clone, Copy)]
enum Family {
    String(StringMatch),
    Arn,
    Numeric(Comparison),
    Date(Comparison),
    Bool,
    Null,
}

fn family(base: &str) -> Option<(Family, bool)> {
    use Comparison::*;
    Some(match base {
        "StringEquals" => (Family::String(StringMatch::Equals), false),
        "StringNotEquals" => (Family::String(StringMatch::Equals), true),
        "StringEqualsIgnoreCase" => (Family::String(StringMatch::EqualsIgnoreCase), false),
        "StringNotEqualsIgnoreCase" => (Family::String(StringMatch::EqualsIgnoreCase), true),
        "StringLike" => (Family::String(StringMatch::Like), false),
        "StringNotLike" => (Family::String(StringMatch::Like), true),
        // IAM documents ArnEquals and ArnLike as the same test, wildcards included.
        "ArnEquals" | "ArnLike" => (Family::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Family::Arn, true),
        "NumericEquals" => (Family::Numeric(Equals), false),
        "NumericNotEquals" => (Family::Numeric(Equals), true),
        "NumericLessThan" => (Family::Numeric(LessThan), false),
        "NumericLessThanEquals" => (Family::Numeric(LessThanEquals), false),
        "NumericGreaterThan" => (Family::Numeric(GreaterThan), false),
        "NumericGreaterThanEquals" => (Family::Numeric(GreaterThanEquals), false),
        "DateEquals" => (Family::Date(Equals), false),
        "DateNotEquals" => (Family::Date(Equals), true),
        "DateLessThan" => (Family::Date(LessThan), false),
        "DateLessThanEquals" => (Family::Date(LessThanEquals), false),
        "DateGreaterThan" => (Family::Date(GreaterThan), false),
        "DateGreaterThanEquals" => (Family::Date(GreaterThanEquals), false),
        "Bool" => (Family::Bool, false),
        "Null" => (Family::Null, false),
        _ => return None,
    })
}

/// Operators IAM has that this evaluator deliberately leaves out: a policy using one is refused, never
/// evaluated as something else.
const UNSUPPORTED: &[&str] = &["BinaryEquals", "IpAddress", "NotIpAddress"];

impl Condition {
    /// Compiles one operator/key/values triple. Errors are messages for the policy's author.
    pub(crate) fn compile(
        operator: &str,
        key: &str,
        values: &[String],
    ) -> Result<Condition, String> {
        let (set, unqualified) = if let Some(rest) = operator.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else {
            (None, operator)
        };
        let (base, if_exists) = match unqualified.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (unqualified, false),
        };
        let Some((family, negated)) = family(base) else {
            if UNSUPPORTED.contains(&base) {
                return Err(format!(
                    "the condition operator {operator} is not supported by this evaluator"
                ));
            }
            return Err(format!("unknown condition operator {operator:?}"));
        };
        if matches!(family, Family::Null) && (set.is_some() || if_exists) {
            return Err(format!(
                "{operator} is not an operator: Null tests presence and takes no set qualifier or IfExists"
            ));
        }
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(format!(
                "{operator} names the condition key {key:?}, which is not a key"
            ));
        }
        if values.is_empty() {
            return Err(format!("{operator} gives no value for {key}"));
        }
        let test = match family {
            Family::String(how) => Test::String {
                how,
                negated,
                values: values
                    .iter()
                    .map(|value| Pattern::parse(value))
                    .collect::<Result<_, _>>()?,
            },
            Family::Arn => Test::Arn {
                negated,
                values: values
                    .iter()
                    .map(|value| {
                        Pattern::parse(value)?.split_arn().ok_or_else(|| {
                            format!("{operator} compares ARNs, and {value:?} is not an ARN (arn:partition:service:region:account:resource)")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            Family::Numeric(comparison) => Test::Numeric {
                comparison,
                negated,
                values: values
                    .iter()
                    .map(|value| {
                        parse_number(value).ok_or_else(|| {
                            format!("{operator} compares numbers, and {value:?} is not one (policy variables are not allowed here)")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            Family::Date(comparison) => Test::Date {
                comparison,
                negated,
                values: values
                    .iter()
                    .map(|value| {
                        parse_date(value).ok_or_else(|| {
                            format!(
                                "{operator} compares dates, and {value:?} is not one (ISO 8601 such as \
                                 2026-01-31T12:00:00Z or 2026-01-31, or epoch seconds)"
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            Family::Bool | Family::Null => {
                let parsed = values
                    .iter()
                    .map(|value| {
                        parse_bool(value).ok_or_else(|| {
                            format!("{operator} takes \"true\" or \"false\", not {value:?}")
                        })
                    })
                    .collect::<Result<_, _>>()?;
                if matches!(family, Family::Null) {
                    Test::Null { values: parsed }
                } else {
                    Test::Bool { values: parsed }
                }
            }
        };
        Ok(Condition {
            operator: operator.to_owned(),
            key: key.to_owned(),
            set,
            if_exists,
            test,
        })
    }

    /// Whether the condition holds for `context`.
    pub(crate) fn holds(&self, context: &Context) -> bool {
        let present = context.get(&self.key);
        if let Test::Null { values } = &self.test {
            let absent = present.is_none();
            return values.contains(&absent);
        }
        match self.set {
            Some(SetOperator::ForAllValues) => present.is_none_or(|value| {
                value
                    .values()
                    .iter()
                    .all(|value| self.test.holds_for(value, context))
            }),
            Some(SetOperator::ForAnyValue) => present.is_some_and(|value| {
                value
                    .values()
                    .iter()
                    .any(|value| self.test.holds_for(value, context))
            }),
            None => match present {
                None => self.if_exists || self.test.is_negated(),
                Some(ContextValue::Multi(_)) => false,
                Some(ContextValue::Single(value)) => self.test.holds_for(value, context),
            },
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.operator, self.key)
    }
}

impl Test {
    fn is_negated(&self) -> bool {
        match self {
            Test::String { negated, .. }
            | Test::Arn { negated, .. }
            | Test::Numeric { negated, .. }
            | Test::Date { negated, .. } => *negated,
            Test::Bool { .. } | Test::Null { .. } => false,
        }
    }

    /// The operator (negation included) applied to one request value.
    fn holds_for(&self, request: &str, context: &Context) -> bool {
        match self {
            Test::String {
                how,
                negated,
                values,
            } => {
                // An unresolved value matches nothing: a positive operator gains nothing from it and a negated
                // one holds against it (IAM User Guide, "Policy variables with no value").
                let matched = values.iter().any(|value| {
                    value.resolve(context).is_some_and(|value| match how {
                        StringMatch::Equals => value.matches_exactly(request, false),
                        StringMatch::EqualsIgnoreCase => value.matches_exactly(request, true),
                        StringMatch::Like => value.matches_glob(request, false),
                    })
                });
                matched != *negated
            }
            Test::Arn { negated, values } => {
                let Some(request) = split_request_arn(request) else {
                    return false;
                };
                let matched = values
                    .iter()
                    .any(|value| arn_matches(value, &request, context));
                matched != *negated
            }
            Test::Numeric {
                comparison,
                negated,
                values,
            } => {
                let Some(request) = parse_number(request) else {
                    return false;
                };
                let matched = values.iter().any(|value| comparison.holds(&request, value));
                matched != *negated
            }
            Test::Date {
                comparison,
                negated,
                values,
            } => {
                let Some(request) = parse_date(request) else {
                    return false;
                };
                let matched = values.iter().any(|value| comparison.holds(&request, value));
                matched != *negated
            }
            Test::Bool { values } => {
                parse_bool(request).is_some_and(|request| values.contains(&request))
            }
            // Null is decided on presence before any value is looked at.
            Test::Null { .. } => false,
        }
    }
}

/// Splits a request ARN into its six parts; `None` for something that is not an ARN.
pub(crate) fn split_request_arn(arn: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6).then_some(parts)
}

/// Matches an ARN pattern part by part, so that a wildcard never reaches across a colon into the next part
/// (the resource part, the last, may itself contain colons and wildcards match across them there).
pub(crate) fn arn_matches(pattern: &[Pattern], request: &[&str], context: &Context) -> bool {
    pattern.len() == request.len()
        && pattern.iter().zip(request).all(|(part, request)| {
            part.resolve(context)
                .is_some_and(|part| part.matches_glob(request, false))
        })
}

fn parse_number(value: &str) -> Option<f64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
}

fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Dates as IAM takes them: ISO 8601 with a time and offset, a bare date (midnight UTC), or epoch seconds.
fn parse_date(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    if let Ok(date_time) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(date_time);
    }
    if let Ok(date) = time::Date::parse(value, format_description!("[year]-[month]-[day]")) {
        return Some(date.midnight().assume_utc());
    }
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .ok()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(operator: &str, key: &str, values: &[&str]) -> Condition {
        let values: Vec<String> = values.iter().map(|value| (*value).to_owned()).collect();
        Condition::compile(operator, key, &values).unwrap()
    }

    #[test]
    fn dates_are_read_in_every_form_iam_accepts() {
        let noon = parse_date("2026-01-31T12:00:00Z").unwrap();
        assert_eq!(parse_date("2026-01-31T13:00:00+01:00"), Some(noon));
        assert_eq!(parse_date("2026-01-31T12:00:00.000Z"), Some(noon));
        assert_eq!(
            parse_date("2026-01-31"),
            Some(noon - time::Duration::hours(12))
        );
        assert_eq!(parse_date(&noon.unix_timestamp().to_string()), Some(noon));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("-5"), None);
    }

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("1.5"), Some(1.5));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
    }

    #[test]
    fn operator_names_are_exact_and_unknown_ones_are_refused() {
        for operator in [
            "stringequals",
            "StringEqual",
            "ForAllValue:StringEquals",
            "StringEqualsIfExist",
            "ForAnyValue:Null",
            "NullIfExists",
        ] {
            assert!(
                Condition::compile(operator, "aws:username", &["a".to_owned()]).is_err(),
                "{operator} should be refused"
            );
        }
        let error = Condition::compile("IpAddress", "aws:SourceIp", &["10.0.0.0/8".to_owned()])
            .unwrap_err();
        assert!(error.contains("not supported"), "{error}");
    }

    #[test]
    fn typed_operators_refuse_values_of_another_type() {
        for (operator, value) in [
            ("NumericEquals", "ten"),
            ("NumericLessThan", "${aws:MultiFactorAuthAge}"),
            ("DateLessThan", "soon"),
            ("Bool", "yes"),
            ("Null", "maybe"),
            ("ArnLike", "not-an-arn"),
        ] {
            assert!(
                Condition::compile(operator, "aws:x", &[value.to_owned()]).is_err(),
                "{operator} {value} should be refused"
            );
        }
    }

    #[test]
    fn a_request_value_of_the_wrong_type_fails_even_a_negated_operator() {
        let context = Context::new().with("aws:MultiFactorAuthAge", "old");
        assert!(!condition("NumericNotEquals", "aws:MultiFactorAuthAge", &["5"]).holds(&context));
        let context = Context::new().with("aws:SourceArn", "not-an-arn");
        assert!(!condition("ArnNotLike", "aws:SourceArn", &["arn:aws:s3:::b"]).holds(&context));
    }

    #[test]
    fn arn_wildcards_stay_within_their_part() {
        let like = condition("ArnLike", "aws:SourceArn", &["arn:aws:*:us-east-1:*:*"]);
        let matching =
            Context::new().with("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic");
        assert!(like.holds(&matching));
        let other_region =
            Context::new().with("aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:topic");
        assert!(!like.holds(&other_region));
        let colon_in_resource = Context::new().with(
            "aws:SourceArn",
            "arn:aws:logs:us-east-1:123456789012:log-group:a:*",
        );
        assert!(like.holds(&colon_in_resource));
    }
}
