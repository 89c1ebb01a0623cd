//! What a request asks for: the action, the resource, the calling principal and the request context that
//! conditions and policy variables read.

use std::collections::BTreeMap;
use std::fmt;

/// One request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The action, `service:Name` (`s3:PutObject`); compared case-insensitively.
    pub action: String,
    /// The resource ARN (`arn:aws:s3:::bucket/key`), exactly as the service resolved it: for S3 the object key
    /// as stored, neither percent-decoded nor normalised here. Compared case-sensitively.
    pub resource: String,
    /// The calling principal. Identity-based policies ignore it; trust policies need it.
    pub principal: Option<Principal>,
    /// The request context: condition keys and their values.
    pub context: Context,
}

impl Request {
    /// A request for `action` on `resource` with an empty context and no principal.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            principal: None,
            context: Context::new(),
        }
    }

    /// Adds a context key (see [`Context::with`]).
    pub fn with_context(mut self, key: &str, value: impl Into<ContextValue>) -> Request {
        self.context.insert(key, value);
        self
    }

    /// Sets the calling principal.
    pub fn with_principal(mut self, principal: Principal) -> Request {
        self.principal = Some(principal);
        self
    }
}

/// A calling principal, as a trust or resource policy's `Principal` element names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `{"AWS": "<account, user or role ARN>"}`.
    Aws(String),
    /// `{"Federated": "<identity provider>"}`, e.g. `cognito-identity.amazonaws.com`.
    Federated(String),
    /// `{"Service": "<service principal>"}`.
    Service(String),
    /// `{"CanonicalUser": "<canonical id>"}`.
    CanonicalUser(String),
}

impl Principal {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Principal::Aws(_) => "AWS",
            Principal::Federated(_) => "Federated",
            Principal::Service(_) => "Service",
            Principal::CanonicalUser(_) => "CanonicalUser",
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            Principal::Aws(id)
            | Principal::Federated(id)
            | Principal::Service(id)
            | Principal::CanonicalUser(id) => id,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

/// The value of one context key.
///
/// IAM distinguishes single-valued keys (`aws:username`, `s3:prefix`) from multivalued ones (`aws:TagKeys`,
/// the identity pool's `amr`), even when a multivalued key holds one value: a multivalued key needs a
/// `ForAnyValue:`/`ForAllValues:` operator and cannot be used as a policy variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key.
    Single(String),
    /// A multivalued key (possibly with one value, or none).
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values, one for a single-valued key.
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(value) => std::slice::from_ref(value),
            ContextValue::Multi(values) => values,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(value: &str) -> ContextValue {
        ContextValue::Single(value.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(value: String) -> ContextValue {
        ContextValue::Single(value)
    }
}

impl From<bool> for ContextValue {
    fn from(value: bool) -> ContextValue {
        ContextValue::Single(value.to_string())
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(values: Vec<String>) -> ContextValue {
        ContextValue::Multi(values)
    }
}

impl From<&[&str]> for ContextValue {
    fn from(values: &[&str]) -> ContextValue {
        ContextValue::Multi(values.iter().map(|value| (*value).to_owned()).collect())
    }
}

/// The request context. Key names are case-insensitive (`aws:CurrentTime` is `AWS:currenttime`), values are
/// kept as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: BTreeMap<String, ContextValue>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds or replaces a key.
    pub fn with(mut self, key: &str, value: impl Into<ContextValue>) -> Context {
        self.insert(key, value);
        self
    }

    /// Adds or replaces a key.
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValue>) {
        self.entries.insert(key.to_lowercase(), value.into());
    }

    /// The value of a key, looked up case-insensitively.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.entries.get(&key.to_lowercase())
    }
}
