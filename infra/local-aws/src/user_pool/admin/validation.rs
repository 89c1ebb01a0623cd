//! Reading an operation's JSON input and checking it against the service model's constraints (lengths,
//! patterns, ranges, enums), with the service's own wording: every violation is collected and reported at
//! once as `N validation errors detected: Value '…' at '<member>' failed to satisfy constraint: Member must
//! …`, where `<member>` is the member name with its first letter in lower case (`userPoolId`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use regex::Regex;
use serde_json::{Map, Value};

use super::error::ServiceError;

/// A string shape of the service model: its length bounds and pattern.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StringShape {
    pub min: usize,
    pub max: Option<usize>,
    /// The pattern as the model writes it (quoted in messages).
    pub model_pattern: Option<&'static str>,
    /// The same pattern for the `regex` crate, matched against the whole value. The model's patterns are Java
    /// regular expressions, in which `\w` and `\s` are ASCII only; here they are spelled out as ASCII classes.
    pub pattern: Option<&'static str>,
}

impl StringShape {
    pub(crate) const fn length(min: usize, max: usize) -> StringShape {
        StringShape {
            min,
            max: Some(max),
            model_pattern: None,
            pattern: None,
        }
    }

    pub(crate) const fn pattern(
        min: usize,
        max: Option<usize>,
        model_pattern: &'static str,
        pattern: &'static str,
    ) -> StringShape {
        StringShape {
            min,
            max,
            model_pattern: Some(model_pattern),
            pattern: Some(pattern),
        }
    }

    /// What `value` violates, in the model's words.
    fn violations(&self, value: &str) -> Vec<String> {
        let mut found = Vec::new();
        let length = value.chars().count();
        if let Some(max) = self.max
            && length > max
        {
            found.push(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
        if length < self.min {
            found.push(format!(
                "Member must have length greater than or equal to {}",
                self.min
            ));
        }
        if let (Some(model), Some(pattern)) = (self.model_pattern, self.pattern)
            && !matches_whole(pattern, value)
        {
            found.push(format!(
                "Member must satisfy regular expression pattern: {model}"
            ));
        }
        found
    }
}

/// Whether `pattern` matches all of `value`. A pattern that does not compile matches nothing (a unit test
/// compiles every pattern of this module's callers).
pub(crate) fn matches_whole(pattern: &str, value: &str) -> bool {
    Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

/// The violations found so far.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    found: Vec<String>,
}

impl Violations {
    pub(crate) fn new() -> Violations {
        Violations::default()
    }

    /// A required member that is missing.
    pub(crate) fn require<T>(&mut self, member: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.found.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                field(member)
            ));
        }
        value
    }

    pub(crate) fn string(&mut self, member: &str, value: Option<&str>, shape: StringShape) {
        if let Some(value) = value {
            for problem in shape.violations(value) {
                self.found.push(format!(
                    "Value '{value}' at '{}' failed to satisfy constraint: {problem}",
                    field(member)
                ));
            }
        }
    }

    pub(crate) fn one_of(&mut self, member: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(value) = value
            && !allowed.contains(&value)
        {
            self.found.push(format!(
                "Value '{value}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                field(member),
                allowed.join(", ")
            ));
        }
    }

    pub(crate) fn range(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(value) = value {
            let problem = if value < min {
                format!("Member must have value greater than or equal to {min}")
            } else if value > max {
                format!("Member must have value less than or equal to {max}")
            } else {
                return;
            };
            self.found.push(format!(
                "Value '{value}' at '{}' failed to satisfy constraint: {problem}",
                field(member)
            ));
        }
    }

    /// A list: its length bounds, then each member against `member_shape` (the model reports the whole list
    /// once, with the member constraints in brackets).
    pub(crate) fn list(
        &mut self,
        member: &str,
        values: Option<&[String]>,
        max_items: Option<usize>,
        member_check: impl Fn(&str) -> Vec<String>,
    ) {
        let Some(values) = values else { return };
        let shown = format!("[{}]", values.join(", "));
        if let Some(max) = max_items
            && values.len() > max
        {
            self.found.push(format!(
                "Value '{shown}' at '{}' failed to satisfy constraint: Member must have length less than or equal \
                 to {max}",
                field(member)
            ));
        }
        let mut problems: Vec<String> = Vec::new();
        for value in values {
            for problem in member_check(value) {
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
        if !problems.is_empty() {
            self.found.push(format!(
                "Value '{shown}' at '{}' failed to satisfy constraint: Member must satisfy constraint: [{}]",
                field(member),
                problems.join(", ")
            ));
        }
    }

    /// The collected violations as the service reports them, or nothing.
    pub(crate) fn finish(self) -> Result<(), ServiceError> {
        match self.found.len() {
            0 => Ok(()),
            1 => Err(ServiceError::invalid_parameter(format!(
                "1 validation error detected: {}",
                self.found[0]
            ))),
            n => Err(ServiceError::invalid_parameter(format!(
                "{n} validation errors detected: {}",
                self.found.join("; ")
            ))),
        }
    }
}

/// A list member's violations of a string shape.
pub(crate) fn string_member(shape: StringShape) -> impl Fn(&str) -> Vec<String> {
    move |value| shape.violations(value)
}

/// A list member's violation of an enum.
pub(crate) fn enum_member(allowed: &'static [&'static str]) -> impl Fn(&str) -> Vec<String> {
    move |value| {
        if allowed.contains(&value) {
            Vec::new()
        } else {
            vec![format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            )]
        }
    }
}

/// `UserPoolId` → `userPoolId`, as the service names members in validation messages.
fn field(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An operation's input: a JSON object whose members are read with their model types. A member of the wrong
/// JSON type is a `SerializationException`, as in the service; `null` counts as absent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Input<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Input<'a> {
    /// The body as an object, or the service's answer to anything else.
    pub(crate) fn parse(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => Ok(object),
            // An empty body is an empty input to the service.
            Err(_) if body.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
            _ => Err(ServiceError::serialization(
                "The request body is not a JSON object.",
            )),
        }
    }

    pub(crate) fn new(object: &'a Map<String, Value>) -> Input<'a> {
        Input { object }
    }

    fn member(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|value| !value.is_null())
    }

    fn wrong_type(name: &str, expected: &str) -> ServiceError {
        ServiceError::serialization(format!("{name} must be {expected}"))
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<&'a str>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Self::wrong_type(name, "a string")),
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Self::wrong_type(name, "a boolean")),
        }
    }

    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::wrong_type(name, "an integer")),
        }
    }

    pub(crate) fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Self::wrong_type(name, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Self::wrong_type(name, "a list of strings")),
        }
    }

    pub(crate) fn string_map(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(key, value)| {
                    value
                        .as_str()
                        .map(|v| (key.clone(), v.to_owned()))
                        .ok_or_else(|| Self::wrong_type(name, "a map of strings"))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
                .map(Some),
            Some(_) => Err(Self::wrong_type(name, "a map of strings")),
        }
    }

    /// A structure member, as an input of its own.
    /// A list of structures (`UserAttributes`).
    pub(crate) fn structure_list(
        &self,
        name: &str,
    ) -> Result<Option<Vec<Input<'a>>>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(object) => Ok(Input { object }),
                    _ => Err(Self::wrong_type(name, "a list of structures")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Self::wrong_type(name, "a list of structures")),
        }
    }

    pub(crate) fn structure(&self, name: &str) -> Result<Option<Input<'a>>, ServiceError> {
        match self.member(name) {
            None => Ok(None),
            Some(Value::Object(object)) => Ok(Some(Input { object })),
            Some(_) => Err(Self::wrong_type(name, "a structure")),
        }
    }
}

/// The page size a listing's `MaxResults` or `Limit` asks for: the service's most when absent or 0.
pub(crate) fn page_size(requested: Option<i64>, most: i64) -> usize {
    match requested {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::try_from(most).unwrap_or(usize::MAX),
    }
}

/// A page token for a listing that goes on after `last` (the last name of the page).
pub(crate) fn page_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last.as_bytes())
}

/// The name a page token names, or `invalid` when it is not one of ours.
pub(crate) fn page_after(
    token: Option<&str>,
    invalid: &str,
) -> Result<Option<String>, ServiceError> {
    token
        .map(|token| {
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| ServiceError::invalid_parameter(invalid))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_ID: StringShape = StringShape::pattern(1, Some(128), r"[\w+]+", "[0-9A-Za-z_+]+");

    #[test]
    fn violations_are_reported_in_the_services_words() {
        let mut violations = Violations::new();
        violations.string("ClientId", Some(""), CLIENT_ID);
        let error = violations.finish().unwrap_err();
        assert_eq!(error.kind, "InvalidParameterException");
        assert_eq!(
            error.message,
            "2 validation errors detected: Value '' at 'clientId' failed to satisfy constraint: Member must have \
             length greater than or equal to 1; Value '' at 'clientId' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: [\\w+]+"
        );
    }

    #[test]
    fn an_enum_list_is_reported_once_with_its_member_constraint() {
        let mut violations = Violations::new();
        let flows = vec!["code".to_owned(), "token".to_owned()];
        violations.list(
            "AllowedOAuthFlows",
            Some(&flows),
            Some(3),
            enum_member(&["implicit", "client_credentials", "code"]),
        );
        assert_eq!(
            violations.finish().unwrap_err().message,
            "1 validation error detected: Value '[code, token]' at 'allowedOAuthFlows' failed to satisfy \
             constraint: Member must satisfy constraint: [Member must satisfy enum value set: [implicit, \
             client_credentials, code]]"
        );
    }

    #[test]
    fn the_models_word_characters_are_ascii_only() {
        assert!(matches_whole("[0-9A-Za-z_+]+", "abc_12+"));
        assert!(!matches_whole("[0-9A-Za-z_+]+", "äbc"));
        assert!(!matches_whole("[0-9A-Za-z_+]+", "abc def"));
    }

    #[test]
    fn members_of_the_wrong_type_are_serialization_errors() {
        let object = Input::parse(br#"{"MaxResults": "ten", "UserPoolId": null}"#).unwrap();
        let input = Input::new(&object);
        assert_eq!(
            input.integer("MaxResults").unwrap_err().kind,
            "SerializationException"
        );
        assert_eq!(input.string("UserPoolId").unwrap(), None);
        assert!(Input::parse(b"[1]").is_err());
        assert!(Input::parse(b"").unwrap().is_empty());
    }
}
