//! The backend's permission policy on the user pool, `infra/policies/backend-cognito-permissions.json` (the
//! file the AWS deployment attaches to the backend's role), with the pool's ARN in place of its placeholder.

use std::path::Path;

use anyhow::{Context, bail};

use crate::iam::Policy;

/// The file, under `infra/policies/`.
pub(crate) const COGNITO_POLICY_FILE: &str = "backend-cognito-permissions.json";
/// The policy's name in the backend's policy set (and in decisions).
pub(crate) const COGNITO_POLICY_NAME: &str = "backend-cognito-permissions";
/// Replaced by `arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>`.
pub(crate) const USER_POOL_ARN_PLACEHOLDER: &str = "@@USER_POOL_ARN@@";

/// Reads the policy with `user_pool_arn` filled in. Like the storage policies' loader, it refuses a
/// placeholder it does not fill and a pool ARN that could widen the policy (`*` or `?` in it).
pub(crate) fn load_cognito_permissions(
    infra: &Path,
    user_pool_arn: &str,
) -> anyhow::Result<Policy> {
    let path = infra.join("policies").join(COGNITO_POLICY_FILE);
    let template =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    render(&template, user_pool_arn).with_context(|| format!("loading {}", path.display()))
}

fn render(template: &str, user_pool_arn: &str) -> anyhow::Result<Policy> {
    if user_pool_arn.contains(['*', '?', '$', '@', '"']) {
        bail!("{user_pool_arn:?} is not a user pool ARN");
    }
    let rendered = template.replace(USER_POOL_ARN_PLACEHOLDER, user_pool_arn);
    if let Some(start) = rendered.find("@@") {
        let placeholder: String = rendered[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect();
        bail!("the policy has the unknown placeholder {placeholder}");
    }
    Ok(Policy::parse_identity(&rendered)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Outcome, PolicySet, Request};

    const ARN: &str = "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/eu-west-1_L0caLP00l";

    fn policy() -> PolicySet {
        let infra = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        PolicySet::new().with(
            COGNITO_POLICY_NAME,
            load_cognito_permissions(&infra, ARN).unwrap(),
        )
    }

    #[test]
    fn the_policy_allows_the_reconcilers_operations_on_this_pool_only() {
        let policy = policy();
        for action in [
            "CreateIdentityProvider",
            "UpdateIdentityProvider",
            "DescribeIdentityProvider",
            "DeleteIdentityProvider",
            "ListIdentityProviders",
            "DescribeUserPoolClient",
            "UpdateUserPoolClient",
        ] {
            let request = Request::new(format!("cognito-idp:{action}"), ARN);
            assert_eq!(
                policy.evaluate(&request).outcome,
                Outcome::Allowed,
                "{action}"
            );
        }
        let other_pool = Request::new(
            "cognito-idp:CreateIdentityProvider",
            "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/eu-west-1_Other",
        );
        assert_eq!(policy.evaluate(&other_pool).outcome, Outcome::ImplicitDeny);
        for action in [
            "AdminCreateUser",
            "DeleteUserPool",
            "UpdateUserPool",
            "CreateUserPoolClient",
        ] {
            let request = Request::new(format!("cognito-idp:{action}"), ARN);
            assert_eq!(
                policy.evaluate(&request).outcome,
                Outcome::ImplicitDeny,
                "{action}"
            );
        }
    }

    #[test]
    fn an_unfilled_placeholder_or_a_wildcard_arn_is_refused() {
        let template = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "cognito-idp:ListIdentityProviders", "Resource": "@@USER_POOL_ARN@@/@@OTHER@@"}]}"#;
        let error = render(template, ARN).unwrap_err();
        assert!(error.to_string().contains("@@OTHER@@"), "{error}");
        assert!(render(template, "arn:aws:cognito-idp:*:*:userpool/*").is_err());
    }
}
