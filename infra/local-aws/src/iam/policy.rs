//! The IAM policy JSON grammar (`Version`, `Statement` as an object or an array, `Sid`, `Effect`,
//! `Action`/`NotAction`, `Resource`/`NotResource`, `Principal`/`NotPrincipal`, `Condition`) read into checked
//! statements, and how one statement is matched against a request.
//!
//! Anything the grammar does not know, a field given twice, a wrong type or an element in the wrong kind of
//! policy is an error naming where it is: nothing is silently ignored, because an ignored `Condition` or
//! `NotResource` would grant more than the author wrote.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::iam::condition::{Condition, arn_matches, split_request_arn};
use crate::iam::pattern::{Pattern, glob_str};
use crate::iam::request::{Principal, Request};

/// The only policy language version this evaluator reads. Under the older `2008-10-17` (and when `Version` is
/// missing) IAM treats `${...}` as literal text, which would let an object key spelled `${aws:username}` match;
/// such policies are refused instead.
pub const POLICY_VERSION: &str = "2012-10-17";

/// Which kind of policy a document is; it decides which elements a statement must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a role or user: `Action` and `Resource`, never `Principal`.
    Identity,
    /// A role's trust policy: `Principal` and `Action` (`sts:AssumeRole…`, `sts:TagSession`), never
    /// `Resource`.
    Trust,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// A checked policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    statements: Vec<Statement>,
}

/// Why a policy document was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON, or JSON that does not follow the policy grammar (unknown element, duplicate element, wrong
    /// type); serde's message names the element and the position.
    #[error("invalid policy document: {0}")]
    Grammar(#[from] serde_json::Error),
    /// Grammatical JSON with a meaning IAM refuses, at `location` (`Statement[1].Condition`, ...).
    #[error("invalid policy document at {location}: {message}")]
    Invalid {
        /// Where: `Version`, `Statement[2].Resource`, ...
        location: String,
        /// What is wrong, for the policy's author.
        message: String,
    },
}

impl Policy {
    /// Reads an identity-based (permission) policy.
    pub fn parse_identity(json: &str) -> Result<Policy, PolicyError> {
        Policy::parse(json, PolicyKind::Identity)
    }

    /// Reads a role trust policy.
    pub fn parse_trust(json: &str) -> Result<Policy, PolicyError> {
        Policy::parse(json, PolicyKind::Trust)
    }

    /// Reads a policy of the given kind.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = serde_json::from_str(json)?;
        // `null` means nothing anywhere in a policy, and serde would read it as an absent element: a
        // `"Condition": null` would quietly drop the statement's conditions.
        let tree: serde_json::Value = serde_json::from_str(json)?;
        if let Some(location) = find_null(&tree, String::new()) {
            return Err(invalid(location, "null is not a policy value"));
        }
        if raw.version.as_deref() != Some(POLICY_VERSION) {
            return Err(invalid(
                "Version",
                format!(
                    "the policy must declare \"Version\": \"{POLICY_VERSION}\" (found {:?}); older versions read \
                     policy variables as literal text",
                    raw.version
                ),
            ));
        }
        if raw.statement.0.is_empty() {
            return Err(invalid(
                "Statement",
                "a policy needs at least one statement",
            ));
        }
        let statements = raw
            .statement
            .0
            .into_iter()
            .enumerate()
            .map(|(index, statement)| Statement::compile(statement, kind, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { kind, statements })
    }

    /// The kind the policy was read as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The number of statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Never true: a policy has at least one statement.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    pub(crate) fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// One checked statement.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    actions: Actions,
    /// `None` in trust policies, which have no resource element.
    resources: Option<Resources>,
    /// `None` in identity-based policies, which name no principal.
    principals: Option<Principals>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
enum Actions {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

#[derive(Debug, Clone)]
enum Resources {
    Resource(Vec<ResourcePattern>),
    NotResource(Vec<ResourcePattern>),
}

#[derive(Debug, Clone)]
enum ResourcePattern {
    /// `"*"`: every resource.
    All,
    /// An ARN pattern in its six parts.
    Arn(Vec<Pattern>),
}

#[derive(Debug, Clone)]
enum Principals {
    Principal(PrincipalSet),
    NotPrincipal(PrincipalSet),
}

#[derive(Debug, Clone)]
struct PrincipalSet {
    /// `"Principal": "*"`: everyone, anonymous callers included.
    everyone: bool,
    /// `(type, id)` pairs; an id of `*` stands for every principal of that type.
    entries: Vec<(String, String)>,
}

impl Statement {
    fn compile(
        raw: RawStatement,
        kind: PolicyKind,
        index: usize,
    ) -> Result<Statement, PolicyError> {
        let at = |element: &str| format!("Statement[{index}].{element}");
        let effect = match raw.effect.as_str() {
            "Allow" => Effect::Allow,
            "Deny" => Effect::Deny,
            other => {
                return Err(invalid(
                    at("Effect"),
                    format!("Effect is \"Allow\" or \"Deny\", not {other:?}"),
                ));
            }
        };

        let actions = match (raw.action, raw.not_action) {
            (Some(list), None) => Actions::Action(compile_actions(list, &at("Action"))?),
            (None, Some(list)) => Actions::NotAction(compile_actions(list, &at("NotAction"))?),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    at("NotAction"),
                    "a statement has Action or NotAction, not both",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    at("Action"),
                    "a statement needs Action or NotAction",
                ));
            }
        };

        let resources = match (kind, raw.resource, raw.not_resource) {
            (PolicyKind::Trust, None, None) => None,
            (PolicyKind::Trust, _, _) => {
                return Err(invalid(
                    at("Resource"),
                    "a trust policy has no Resource or NotResource: the role itself is the resource",
                ));
            }
            (PolicyKind::Identity, Some(list), None) => Some(Resources::Resource(
                compile_resources(list, &at("Resource"))?,
            )),
            (PolicyKind::Identity, None, Some(list)) => Some(Resources::NotResource(
                compile_resources(list, &at("NotResource"))?,
            )),
            (PolicyKind::Identity, Some(_), Some(_)) => {
                return Err(invalid(
                    at("NotResource"),
                    "a statement has Resource or NotResource, not both",
                ));
            }
            (PolicyKind::Identity, None, None) => {
                return Err(invalid(
                    at("Resource"),
                    "a statement of an identity-based policy needs Resource or NotResource",
                ));
            }
        };

        let principals = match (kind, raw.principal, raw.not_principal) {
            (PolicyKind::Identity, None, None) => None,
            (PolicyKind::Identity, _, _) => {
                return Err(invalid(
                    at("Principal"),
                    "an identity-based policy names no principal: it applies to whoever it is attached to",
                ));
            }
            (PolicyKind::Trust, Some(raw), None) => Some(Principals::Principal(
                compile_principals(raw, &at("Principal"))?,
            )),
            (PolicyKind::Trust, None, Some(raw)) => Some(Principals::NotPrincipal(
                compile_principals(raw, &at("NotPrincipal"))?,
            )),
            (PolicyKind::Trust, Some(_), Some(_)) => {
                return Err(invalid(
                    at("NotPrincipal"),
                    "a statement has Principal or NotPrincipal, not both",
                ));
            }
            (PolicyKind::Trust, None, None) => {
                return Err(invalid(
                    at("Principal"),
                    "a statement of a trust policy needs Principal",
                ));
            }
        };

        let mut conditions = Vec::new();
        if let Some(blocks) = raw.condition {
            if blocks.0.is_empty() {
                return Err(invalid(at("Condition"), "Condition is empty"));
            }
            for (operator, keys) in blocks.0 {
                let location = at(&format!("Condition.{operator}"));
                if keys.0.is_empty() {
                    return Err(invalid(location, "the operator names no condition key"));
                }
                let mut seen: Vec<String> = Vec::new();
                for (key, values) in keys.0 {
                    // Keys are case-insensitive, so two spellings of one key would be the same key twice.
                    let lower = key.to_lowercase();
                    if seen.contains(&lower) {
                        return Err(invalid(
                            location,
                            format!("the condition key {key} appears twice under one operator"),
                        ));
                    }
                    seen.push(lower);
                    let condition = Condition::compile(&operator, &key, &values.0)
                        .map_err(|message| invalid(location.clone(), message))?;
                    conditions.push(condition);
                }
            }
        }

        Ok(Statement {
            sid: raw.sid,
            effect,
            actions,
            resources,
            principals,
            conditions,
        })
    }

    /// Whether the statement applies to the request: action, resource, principal and every condition.
    pub(crate) fn applies_to(&self, request: &Request) -> bool {
        self.action_matches(&request.action)
            && self.resource_matches(request)
            && self.principal_matches(request.principal.as_ref())
            && self
                .conditions
                .iter()
                .all(|condition| condition.holds(&request.context))
    }

    fn action_matches(&self, action: &str) -> bool {
        let listed = |patterns: &[String]| {
            patterns
                .iter()
                .any(|pattern| glob_str(pattern, action, true))
        };
        match &self.actions {
            Actions::Action(patterns) => listed(patterns),
            Actions::NotAction(patterns) => !listed(patterns),
        }
    }

    fn resource_matches(&self, request: &Request) -> bool {
        let Some(resources) = &self.resources else {
            return true;
        };
        let arn = split_request_arn(&request.resource);
        // `Some(matched)` for a pattern that could be resolved, `None` for one with an unresolved variable.
        let matches = |pattern: &ResourcePattern| -> Option<bool> {
            match pattern {
                ResourcePattern::All => Some(true),
                ResourcePattern::Arn(parts) => {
                    let resolvable = parts
                        .iter()
                        .all(|part| part.resolve(&request.context).is_some());
                    resolvable.then(|| {
                        arn.as_ref()
                            .is_some_and(|arn| arn_matches(parts, arn, &request.context))
                    })
                }
            }
        };
        match resources {
            // A pattern with an unresolved variable matches no resource (IAM User Guide, "Policy variables
            // with no value"); the other patterns of the list still count.
            Resources::Resource(patterns) => patterns
                .iter()
                .any(|pattern| matches(pattern) == Some(true)),
            // For NotResource the guide says only that such a pattern matches no resource. Reading that as
            // "excludes nothing" would widen an Allow to every other resource, so an unresolved pattern makes
            // the whole element fail instead (as iam-simulate does): the statement does not apply.
            Resources::NotResource(patterns) => patterns
                .iter()
                .try_fold(true, |none_matched, pattern| {
                    matches(pattern).map(|matched| none_matched && !matched)
                })
                .unwrap_or(false),
        }
    }

    fn principal_matches(&self, principal: Option<&Principal>) -> bool {
        let Some(principals) = &self.principals else {
            return true;
        };
        let listed = |set: &PrincipalSet| {
            set.everyone
                || principal.is_some_and(|principal| {
                    set.entries.iter().any(|(kind, id)| {
                        kind == principal.kind() && (id == "*" || id == principal.id())
                    })
                })
        };
        match principals {
            Principals::Principal(set) => listed(set),
            Principals::NotPrincipal(set) => !listed(set),
        }
    }
}

fn compile_actions(list: StringList, location: &str) -> Result<Vec<String>, PolicyError> {
    if list.0.is_empty() {
        return Err(invalid(location, "the list of actions is empty"));
    }
    list.0
        .into_iter()
        .map(|action| {
            let well_formed = action == "*"
                || action.split_once(':').is_some_and(|(service, name)| {
                    !service.is_empty() && !name.is_empty() && !name.contains(':')
                });
            if !well_formed {
                return Err(invalid(
                    location,
                    format!("{action:?} is not an action: write service:Action (s3:GetObject, s3:*) or *"),
                ));
            }
            if action.contains("${") {
                return Err(invalid(
                    location,
                    format!("{action:?}: actions cannot contain policy variables"),
                ));
            }
            Ok(action)
        })
        .collect()
}

fn compile_resources(
    list: StringList,
    location: &str,
) -> Result<Vec<ResourcePattern>, PolicyError> {
    if list.0.is_empty() {
        return Err(invalid(location, "the list of resources is empty"));
    }
    list.0
        .into_iter()
        .map(|resource| {
            if resource == "*" {
                return Ok(ResourcePattern::All);
            }
            let pattern = Pattern::parse(&resource).map_err(|message| invalid(location, message))?;
            let parts = pattern.split_arn().ok_or_else(|| {
                invalid(
                    location,
                    format!(
                        "{resource:?} is not a resource: write an ARN (arn:partition:service:region:account:resource) or *"
                    ),
                )
            })?;
            if parts[..5].iter().any(Pattern::has_variables) {
                return Err(invalid(
                    location,
                    format!(
                        "{resource:?}: policy variables may appear only in the resource part of an ARN, after the \
                         fifth colon"
                    ),
                ));
            }
            Ok(ResourcePattern::Arn(parts))
        })
        .collect()
}

fn compile_principals(raw: RawPrincipal, location: &str) -> Result<PrincipalSet, PolicyError> {
    match raw {
        RawPrincipal::Everyone => Ok(PrincipalSet {
            everyone: true,
            entries: Vec::new(),
        }),
        RawPrincipal::Typed(map) => {
            if map.0.is_empty() {
                return Err(invalid(location, "the principal names no one"));
            }
            let mut entries = Vec::new();
            for (kind, ids) in map.0 {
                if !matches!(
                    kind.as_str(),
                    "AWS" | "Federated" | "Service" | "CanonicalUser"
                ) {
                    return Err(invalid(
                        location,
                        format!(
                            "unknown principal type {kind:?} (AWS, Federated, Service or CanonicalUser)"
                        ),
                    ));
                }
                if ids.0.is_empty() {
                    return Err(invalid(location, format!("{kind} lists no principal")));
                }
                for id in ids.0 {
                    if id.is_empty() || (id.contains('*') && id != "*") {
                        return Err(invalid(
                            location,
                            format!(
                                "{kind} principal {id:?}: principals take no wildcards other than a lone *"
                            ),
                        ));
                    }
                    entries.push((kind.clone(), id));
                }
            }
            Ok(PrincipalSet {
                everyone: false,
                entries,
            })
        }
    }
}

/// The path of the first `null` in a JSON tree, if any.
fn find_null(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::Null => Some(if path.is_empty() {
            "the document".to_owned()
        } else {
            path
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| find_null(item, format!("{path}[{index}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            find_null(item, path)
        }),
        _ => None,
    }
}

fn invalid(location: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        location: location.into(),
        message: message.into(),
    }
}

// ---- The JSON grammar ----------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(rename = "Version")]
    version: Option<String>,
    #[serde(rename = "Id")]
    #[allow(
        dead_code,
        reason = "Id is part of the grammar and carries no meaning for evaluation"
    )]
    id: Option<String>,
    #[serde(rename = "Statement")]
    statement: OneOrMany<RawStatement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "Sid")]
    sid: Option<String>,
    #[serde(rename = "Effect")]
    effect: String,
    #[serde(rename = "Principal")]
    principal: Option<RawPrincipal>,
    #[serde(rename = "NotPrincipal")]
    not_principal: Option<RawPrincipal>,
    #[serde(rename = "Action")]
    action: Option<StringList>,
    #[serde(rename = "NotAction")]
    not_action: Option<StringList>,
    #[serde(rename = "Resource")]
    resource: Option<StringList>,
    #[serde(rename = "NotResource")]
    not_resource: Option<StringList>,
    #[serde(rename = "Condition")]
    condition: Option<UniqueMap<UniqueMap<ConditionValues>>>,
}

/// `"Statement": {...}` or `"Statement": [{...}, ...]`.
struct OneOrMany<T>(Vec<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a statement object or an array of statement objects")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(vec![one]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut many = Vec::new();
                while let Some(item) = seq.next_element()? {
                    many.push(item);
                }
                Ok(OneOrMany(many))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}

/// `"s3:GetObject"` or `["s3:GetObject", "s3:PutObject"]`.
struct StringList(Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringListVisitor;
        impl<'de> Visitor<'de> for StringListVisitor {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(StringList(vec![value.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StringList(items))
            }
        }
        deserializer.deserialize_any(StringListVisitor)
    }
}

/// Condition values: a string, number or boolean, or an array of them, all read as text as IAM does
/// (`"Bool": {"aws:SecureTransport": false}` is `"false"`).
struct ConditionValues(Vec<String>);

impl<'de> Deserialize<'de> for ConditionValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Scalar(String);
        impl<'de> Deserialize<'de> for Scalar {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(ScalarVisitor)
            }
        }
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a condition value: a string, a number or a boolean")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar, E> {
                Ok(Scalar(value.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
        }
        struct ValuesVisitor;
        impl<'de> Visitor<'de> for ValuesVisitor {
            type Value = ConditionValues;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a condition value (string, number, boolean) or an array of them")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(ConditionValues(vec![ScalarVisitor.visit_str(value)?.0]))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(ConditionValues(vec![ScalarVisitor.visit_bool(value)?.0]))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(ConditionValues(vec![ScalarVisitor.visit_i64(value)?.0]))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(ConditionValues(vec![ScalarVisitor.visit_u64(value)?.0]))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(ConditionValues(vec![ScalarVisitor.visit_f64(value)?.0]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(Scalar(value)) = seq.next_element()? {
                    values.push(value);
                }
                Ok(ConditionValues(values))
            }
        }
        deserializer.deserialize_any(ValuesVisitor)
    }
}

/// `"Principal": "*"` or `{"Federated": "cognito-identity.amazonaws.com", ...}`.
enum RawPrincipal {
    Everyone,
    Typed(UniqueMap<StringList>),
}

impl<'de> Deserialize<'de> for RawPrincipal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrincipalVisitor;
        impl<'de> Visitor<'de> for PrincipalVisitor {
            type Value = RawPrincipal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"*\" or an object such as {\"Federated\": \"cognito-identity.amazonaws.com\"}")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                if value == "*" {
                    Ok(RawPrincipal::Everyone)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(value), &self))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let typed = UniqueMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawPrincipal::Typed(typed))
            }
        }
        deserializer.deserialize_any(PrincipalVisitor)
    }
}

/// A JSON object kept in order, refusing a key given twice (serde_json would keep the last one silently).
struct UniqueMap<V>(Vec<(String, V)>);

impl<'de, V: DeserializeOwned> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueMapVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: DeserializeOwned> Visitor<'de> for UniqueMapVisitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(seen, _)| *seen == key) {
                        return Err(de::Error::custom(format!("duplicate key {key:?}")));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(UniqueMap(entries))
            }
        }
        deserializer.deserialize_map(UniqueMapVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_error(json: &str) -> String {
        Policy::parse_identity(json).unwrap_err().to_string()
    }

    #[test]
    fn a_statement_may_be_one_object_and_lists_may_be_one_string() {
        let policy = Policy::parse_identity(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}"#,
        )
        .unwrap();
        assert_eq!(policy.len(), 1);
        assert_eq!(policy.kind(), PolicyKind::Identity);
    }

    #[test]
    fn duplicate_elements_are_refused_at_every_level() {
        let statement_level = identity_error(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "*", "Resource": "*"}}"#,
        );
        assert!(
            statement_level.contains("duplicate field"),
            "{statement_level}"
        );
        let operator_level = identity_error(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:username": "a"}, "StringEquals": {"aws:username": "b"}}}}"#,
        );
        assert!(operator_level.contains("duplicate key"), "{operator_level}");
        let key_level = identity_error(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}}}}"#,
        );
        assert!(key_level.contains("appears twice"), "{key_level}");
    }

    #[test]
    fn condition_values_may_be_numbers_and_booleans() {
        Policy::parse_identity(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
               "Condition": {"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"s3:max-keys": [10, 2.5]}}}}"#,
        )
        .unwrap();
        let error = identity_error(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:username": null}}}}"#,
        );
        assert!(error.contains("null"), "{error}");
        let error = identity_error(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": null}}"#,
        );
        assert!(error.contains("Statement.Condition"), "{error}");
    }

    #[test]
    fn a_trust_policy_needs_a_principal_and_has_no_resource() {
        let without_principal = Policy::parse_trust(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            without_principal.contains("needs Principal"),
            "{without_principal}"
        );
        let with_resource = Policy::parse_trust(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(with_resource.contains("no Resource"), "{with_resource}");
    }
}
