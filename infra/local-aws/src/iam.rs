//! An IAM policy evaluator for the S3 and identity-pool stand-ins: reads identity-based and trust policies in
//! the real JSON grammar and decides requests the way AWS documents it.
//!
//! What it decides (IAM User Guide: "Policy evaluation logic", "Condition operators", "Variables and tags"):
//! - **Explicit Deny > Allow > implicit deny.** Every statement of every policy in the [`PolicySet`] is looked
//!   at; a Deny anywhere wins, whatever its position. [`Decision::statement`] names the statement that
//!   decided.
//! - **Actions** match case-insensitively with `*` and `?`; `NotAction` applies to every other action.
//! - **Resources** are ARNs matched case-sensitively, part by part (partition, service, region, account,
//!   resource); in the resource part `*` also matches `/`, as in IAM. `NotResource` applies to every other
//!   resource. Resources are compared as given: the evaluator never percent-decodes or normalises `..`, so
//!   the S3 layer must hand it the exact key it will act on.
//! - **Policy variables** `${key}` and `${key, 'default'}` in `Resource`/`NotResource` and in string and ARN
//!   condition values, plus `${*}`, `${?}`, `${$}` for the literal characters. A variable's value is literal
//!   text (a `*` in a tag value is not a wildcard). Only policy version `2012-10-17` is read.
//! - **An unresolved variable** (key absent and no default, or key multivalued) makes its string match
//!   nothing, never the empty string. In an Allow that means no allow. In a Deny it means the Deny does not
//!   apply through that element: a `Resource` entry or a positive operator (`StringEquals`, `StringLike`,
//!   ...) with an unresolved variable matches nothing, so the Deny does not fire — while a negated operator
//!   (`StringNotEquals`, `StringNotLike`, `ArnNotLike`) *holds* against the null value, so a Deny conditioned on
//!   "the object's tag is not equal to `${aws:PrincipalTag/team}`" fires when the principal has no such tag,
//!   exactly the example the guide gives. A `NotResource` entry with an unresolved variable makes the statement
//!   not apply (the guide says only that such an entry matches no resource; treating it as excluding nothing
//!   would widen an Allow to every other resource).
//! - **Conditions**: `String(Not)Equals(IgnoreCase)`, `String(Not)Like`, `Arn(Not)Equals`, `Arn(Not)Like`,
//!   `Numeric…`, `Date…`, `Bool`, `Null`, each with `IfExists`, and the `ForAnyValue:`/`ForAllValues:` set
//!   operators; a policy using another operator (`IpAddress`, `BinaryEquals`) is refused. Several operators and
//!   several keys must all hold (AND), several values of one key are alternatives (OR, and NOR for negated
//!   operators). Key names are case-insensitive, values case-sensitive unless the operator says otherwise.
//!
//! ```
//! use local_aws::iam::{Policy, PolicySet, Request, Outcome};
//! let policy = Policy::parse_identity(r#"{
//!     "Version": "2012-10-17",
//!     "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
//!                   "Resource": "arn:aws:s3:::uploads/${aws:PrincipalTag/tenant_id}/*"}
//! }"#)?;
//! let role = PolicySet::new().with("uploads", policy);
//! let request = Request::new("s3:GetObject", "arn:aws:s3:::uploads/acme/report.pdf")
//!     .with_context("aws:PrincipalTag/tenant_id", "acme");
//! assert_eq!(role.evaluate(&request).outcome, Outcome::Allowed);
//! let untagged = Request::new("s3:GetObject", "arn:aws:s3:::uploads/acme/report.pdf");
//! assert_eq!(role.evaluate(&untagged).outcome, Outcome::ImplicitDeny);
//! # Ok::<(), local_aws::iam::PolicyError>(())
//! ```

mod condition;
mod evaluate;
mod pattern;
mod policy;
mod request;
pub mod upload_role;

pub use evaluate::{Decision, Outcome, PolicySet, StatementRef};
pub use policy::{Effect, POLICY_VERSION, Policy, PolicyError, PolicyKind};
pub use request::{Context, ContextValue, Principal, Request};
pub use upload_role::{LoadError, PolicyParameters, UploadRole};
