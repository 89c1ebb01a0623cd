//! The decision for a set of policies: an explicit Deny in any statement wins over every Allow, an Allow
//! grants, and anything else is an implicit deny. Every statement is looked at, so a Deny that comes after an
//! Allow still wins. The decision names the statement that made it, for logs.

use std::fmt;

use crate::iam::policy::{Effect, Policy};
use crate::iam::request::Request;

/// Named policies evaluated together, such as the policies attached to one role.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<(String, Policy)>,
}

impl PolicySet {
    /// An empty set: it denies everything (implicitly).
    pub fn new() -> PolicySet {
        PolicySet::default()
    }

    /// Adds a policy under a name used in decisions (`upload-role-permissions`).
    pub fn with(mut self, name: impl Into<String>, policy: Policy) -> PolicySet {
        self.policies.push((name.into(), policy));
        self
    }

    /// The policies, by name, in the order they were added.
    pub fn policies(&self) -> impl Iterator<Item = (&str, &Policy)> {
        self.policies
            .iter()
            .map(|(name, policy)| (name.as_str(), policy))
    }

    /// Decides the request.
    pub fn evaluate(&self, request: &Request) -> Decision {
        let mut allowed_by = None;
        for (name, policy) in &self.policies {
            for (index, statement) in policy.statements().iter().enumerate() {
                if !statement.applies_to(request) {
                    continue;
                }
                let at = || StatementRef {
                    policy: name.clone(),
                    index,
                    sid: statement.sid.clone(),
                };
                match statement.effect {
                    // Nothing can override an explicit Deny, so there is no need to look further.
                    Effect::Deny => {
                        return Decision {
                            outcome: Outcome::ExplicitDeny,
                            statement: Some(at()),
                        };
                    }
                    Effect::Allow => {
                        if allowed_by.is_none() {
                            allowed_by = Some(at());
                        }
                    }
                }
            }
        }
        match allowed_by {
            Some(statement) => Decision {
                outcome: Outcome::Allowed,
                statement: Some(statement),
            },
            None => Decision {
                outcome: Outcome::ImplicitDeny,
                statement: None,
            },
        }
    }
}

/// The result of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An Allow statement applies and no Deny does.
    Allowed,
    /// A Deny statement applies.
    ExplicitDeny,
    /// No statement applies.
    ImplicitDeny,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Allowed => "Allowed",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::ImplicitDeny => "ImplicitDeny",
        })
    }
}

/// A decision and the statement that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allowed, explicitly or implicitly denied.
    pub outcome: Outcome,
    /// The Deny statement that denied, or the first Allow statement that allowed; `None` for an implicit
    /// deny.
    pub statement: Option<StatementRef>,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allowed
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.statement {
            Some(statement) => write!(f, "{} by {statement}", self.outcome),
            None => write!(f, "{} (no statement applies)", self.outcome),
        }
    }
}

/// Where a statement is: policy name, position and `Sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// The policy's name in its [`PolicySet`].
    pub policy: String,
    /// The statement's position in the policy, from 0.
    pub index: usize,
    /// The statement's `Sid`, if it has one.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Statement[{}]", self.policy, self.index)?;
        if let Some(sid) = &self.sid {
            write!(f, " ({sid})")?;
        }
        Ok(())
    }
}
