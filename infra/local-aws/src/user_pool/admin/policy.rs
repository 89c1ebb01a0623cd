//! The backend's permission policy on the user pools, `infra/policies/backend-cognito-permissions.json` (the
//! file the AWS deployment attaches to the backend's role), with the pools' ARNs in place of their
//! placeholders.

use std::path::Path;

use anyhow::{Context, bail};

use crate::iam::Policy;

/// The file, under `infra/policies/`.
pub(crate) const COGNITO_POLICY_FILE: &str = "backend-cognito-permissions.json";
/// The policy's name in the backend's policy set (and in decisions).
pub(crate) const COGNITO_POLICY_NAME: &str = "backend-cognito-permissions";
/// The operator administrators' policy (whoever runs `backend operators`), under `infra/policies/`.
pub(crate) const OPERATOR_ADMIN_POLICY_FILE: &str = "operator-admin-permissions.json";
/// Its name in decisions.
pub(crate) const OPERATOR_ADMIN_POLICY_NAME: &str = "operator-admin-permissions";
/// Replaced by the first (the tenants') pool's ARN, `arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>`.
pub(crate) const USER_POOL_ARN_PLACEHOLDER: &str = "@@USER_POOL_ARN@@";

/// The placeholder of the pool named `name` (`operators`: `@@OPERATORS_POOL_ARN@@`).
fn named_placeholder(name: &str) -> String {
    format!("@@{}_POOL_ARN@@", name.to_ascii_uppercase())
}

/// Reads the policy with the pools' ARNs filled in: `pools` holds each pool's logical name and ARN, the
/// tenants' pool first. Like the storage policies' loader, it refuses a placeholder it does not fill and a
/// pool ARN that could widen the policy (`*` or `?` in it).
pub(crate) fn load_cognito_permissions(
    infra: &Path,
    pools: &[(String, String)],
) -> anyhow::Result<Policy> {
    load_pool_policy(infra, COGNITO_POLICY_FILE, pools)
}

/// Reads `infra/policies/<file>`, a policy on user pools, with the pools' ARNs filled in (see
/// [`load_cognito_permissions`]).
pub(crate) fn load_pool_policy(
    infra: &Path,
    file: &str,
    pools: &[(String, String)],
) -> anyhow::Result<Policy> {
    let path = infra.join("policies").join(file);
    let template =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    render(&template, pools).with_context(|| format!("loading {}", path.display()))
}

fn render(template: &str, pools: &[(String, String)]) -> anyhow::Result<Policy> {
    let mut rendered = template.to_owned();
    for (index, (name, arn)) in pools.iter().enumerate() {
        if arn.contains(['*', '?', '$', '@', '"']) {
            bail!("{arn:?} is not a user pool ARN");
        }
        if index == 0 {
            rendered = rendered.replace(USER_POOL_ARN_PLACEHOLDER, arn);
        }
        rendered = rendered.replace(&named_placeholder(name), arn);
    }
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
    const OPERATORS_ARN: &str =
        "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/eu-west-1_L0caL0pera";

    fn pools(tenants: &str) -> Vec<(String, String)> {
        vec![
            ("tenants".to_owned(), tenants.to_owned()),
            ("operators".to_owned(), OPERATORS_ARN.to_owned()),
        ]
    }

    fn policy() -> PolicySet {
        let infra = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        PolicySet::new().with(
            COGNITO_POLICY_NAME,
            load_cognito_permissions(&infra, &pools(ARN)).unwrap(),
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
        let error = render(template, &pools(ARN)).unwrap_err();
        assert!(error.to_string().contains("@@OTHER@@"), "{error}");
        assert!(render(template, &pools("arn:aws:cognito-idp:*:*:userpool/*")).is_err());
    }

    #[test]
    fn each_pool_fills_its_named_placeholder_and_the_first_also_the_plain_one() {
        let template = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "cognito-idp:ListUsers",
            "Resource": ["@@USER_POOL_ARN@@", "@@TENANTS_POOL_ARN@@", "@@OPERATORS_POOL_ARN@@"]}]}"#;
        let policy = PolicySet::new().with("test", render(template, &pools(ARN)).unwrap());
        for arn in [ARN, OPERATORS_ARN] {
            let request = Request::new("cognito-idp:ListUsers", arn);
            assert_eq!(policy.evaluate(&request).outcome, Outcome::Allowed, "{arn}");
        }
        let other = Request::new(
            "cognito-idp:ListUsers",
            "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/eu-west-1_Other",
        );
        assert_eq!(policy.evaluate(&other).outcome, Outcome::ImplicitDeny);
    }
}
