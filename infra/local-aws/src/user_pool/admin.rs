//! The user-pool API on the `cognito-idp` listener (`cognito-idp.<region>.amazonaws.com`): awsJson 1.1,
//! `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`, for what keeps a pool's tenant
//! identity providers in step with a database: `CreateIdentityProvider`, `UpdateIdentityProvider`,
//! `DescribeIdentityProvider`, `DeleteIdentityProvider`, `ListIdentityProviders`, `DescribeUserPoolClient` and
//! `UpdateUserPoolClient`, and for the pool's own users: `AdminCreateUser`, `AdminGetUser`, `ListUsers`,
//! `AdminDisableUser`, `AdminEnableUser` and `AdminDeleteUser`. Every other operation is
//! `UnknownOperationException`.
//!
//! Each request goes through what AWS does, in this order: SigV4 (`crate::sigv4`, service `cognito-idp`, the
//! pool's region) names the principal; the body is read and checked against the service model
//! (`InvalidParameterException` with the model's wording); the principal's identity-based policies decide
//! `cognito-idp:<Operation>` on `arn:aws:cognito-idp:<region>:<account>:userpool/<UserPoolId>` with the crate's
//! IAM evaluator (`AccessDeniedException`, "User: … is not authorized to perform: …"); the pool must be one
//! of the running pools (`ResourceNotFoundException`); then the operation runs on it. The backend's key is decided by
//! `backend-cognito-permissions.json` (with its storage policy, which grants nothing here), an upload-role
//! session by the role's permission policy, any other principal by nothing at all.

mod clients;
mod error;
mod policy;
mod providers;
mod users;
mod validation;

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use self::error::{ServiceError, aws_json};
pub(crate) use self::policy::{
    COGNITO_POLICY_NAME, OPERATOR_ADMIN_POLICY_FILE, OPERATOR_ADMIN_POLICY_NAME,
    load_cognito_permissions, load_pool_policy,
};
use self::validation::{Input, StringShape, Violations};
use super::Pools;
use crate::config::LocalAwsConfig;
use crate::credentials::SessionCredentials;
use crate::iam::{Outcome, PolicySet, Request};
use crate::sigv4::{self, ReceivedRequest, Scope};

/// The `X-Amz-Target` prefix of the service's operations.
const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
/// The signing name of the service, and the prefix of its IAM actions.
const SERVICE: &str = "cognito-idp";
/// `UserPoolIdType`.
const USER_POOL_ID: StringShape = StringShape::pattern(
    1,
    Some(55),
    r"[\w-]+_[0-9a-zA-Z]+",
    "[0-9A-Za-z_-]+_[0-9a-zA-Z]+",
);
/// The session name Cognito gives identity pool role sessions (how AWS names such a caller in a denial).
const IDENTITY_POOL_SESSION: &str = "CognitoIdentityCredentials";

/// The operations served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    CreateIdentityProvider,
    UpdateIdentityProvider,
    DescribeIdentityProvider,
    DeleteIdentityProvider,
    ListIdentityProviders,
    DescribeUserPoolClient,
    UpdateUserPoolClient,
    AdminCreateUser,
    AdminGetUser,
    ListUsers,
    AdminDisableUser,
    AdminEnableUser,
    AdminDeleteUser,
}

impl Operation {
    fn parse(name: &str) -> Option<Operation> {
        Some(match name {
            "CreateIdentityProvider" => Operation::CreateIdentityProvider,
            "UpdateIdentityProvider" => Operation::UpdateIdentityProvider,
            "DescribeIdentityProvider" => Operation::DescribeIdentityProvider,
            "DeleteIdentityProvider" => Operation::DeleteIdentityProvider,
            "ListIdentityProviders" => Operation::ListIdentityProviders,
            "DescribeUserPoolClient" => Operation::DescribeUserPoolClient,
            "UpdateUserPoolClient" => Operation::UpdateUserPoolClient,
            "AdminCreateUser" => Operation::AdminCreateUser,
            "AdminGetUser" => Operation::AdminGetUser,
            "ListUsers" => Operation::ListUsers,
            "AdminDisableUser" => Operation::AdminDisableUser,
            "AdminEnableUser" => Operation::AdminEnableUser,
            "AdminDeleteUser" => Operation::AdminDeleteUser,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Operation::CreateIdentityProvider => "CreateIdentityProvider",
            Operation::UpdateIdentityProvider => "UpdateIdentityProvider",
            Operation::DescribeIdentityProvider => "DescribeIdentityProvider",
            Operation::DeleteIdentityProvider => "DeleteIdentityProvider",
            Operation::ListIdentityProviders => "ListIdentityProviders",
            Operation::DescribeUserPoolClient => "DescribeUserPoolClient",
            Operation::UpdateUserPoolClient => "UpdateUserPoolClient",
            Operation::AdminCreateUser => "AdminCreateUser",
            Operation::AdminGetUser => "AdminGetUser",
            Operation::ListUsers => "ListUsers",
            Operation::AdminDisableUser => "AdminDisableUser",
            Operation::AdminEnableUser => "AdminEnableUser",
            Operation::AdminDeleteUser => "AdminDeleteUser",
        }
    }
}

/// `POST /`.
pub(crate) async fn dispatch(
    State(pools): State<Pools>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match serve(&pools, &method, &uri, &headers, &body, &target).await {
        Ok(output) => aws_json(StatusCode::OK, &output),
        Err(error) => {
            tracing::info!(%target, kind = error.kind, message = %error.message, "user-pool API refused a request");
            error.into_response()
        }
    }
}

async fn serve(
    pools: &Pools,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    target: &str,
) -> Result<Value, ServiceError> {
    let config = pools.config();
    let session = sigv4::verify(
        ReceivedRequest {
            method: method.as_str(),
            uri,
            headers,
            body,
        },
        Scope {
            region: &config.region,
            service: SERVICE,
        },
        pools.credentials(),
        SystemTime::now(),
    )?;
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Operation::parse)
        .ok_or_else(ServiceError::unknown_operation)?;
    let object = Input::parse(body)?;
    let input = Input::new(&object);

    let user_pool_id = input.string("UserPoolId")?;
    let mut violations = Violations::new();
    violations.string("UserPoolId", user_pool_id, USER_POOL_ID);
    let user_pool_id = violations.require("UserPoolId", user_pool_id);
    violations.finish()?;
    let user_pool_id = user_pool_id.unwrap_or_default();

    authorize(config, &session, operation, user_pool_id)?;
    let pool = pools
        .find(user_pool_id)
        .ok_or_else(|| ServiceError::pool_not_found(user_pool_id))?;
    match operation {
        Operation::CreateIdentityProvider => providers::create(pool, input).await,
        Operation::UpdateIdentityProvider => providers::update(pool, input).await,
        Operation::DescribeIdentityProvider => providers::describe_provider(pool, input),
        Operation::DeleteIdentityProvider => providers::delete(pool, input),
        Operation::ListIdentityProviders => providers::list(pool, input),
        Operation::DescribeUserPoolClient => clients::describe_client(pool, input),
        Operation::UpdateUserPoolClient => clients::update(pool, input),
        Operation::AdminCreateUser => users::create(pool, input),
        Operation::AdminGetUser => users::get(pool, input),
        Operation::ListUsers => users::list(pool, input),
        Operation::AdminDisableUser => users::disable(pool, input),
        Operation::AdminEnableUser => users::enable(pool, input),
        Operation::AdminDeleteUser => users::delete(pool, input),
    }
}

/// Decides `cognito-idp:<Operation>` on the requested pool with the caller's identity-based policies.
fn authorize(
    config: &LocalAwsConfig,
    session: &SessionCredentials,
    operation: Operation,
    user_pool_id: &str,
) -> Result<(), ServiceError> {
    let action = format!("{SERVICE}:{}", operation.name());
    let resource = super::user_pool_arn(&config.region, &config.account_id, user_pool_id);
    let empty = PolicySet::new();
    let policies = if session.role_arn == config.backend_user.arn {
        &config.backend_user.permissions
    } else if session.role_arn == config.operator_admin.arn {
        &config.operator_admin.permissions
    } else if session.role_arn == config.identity_pool.role_arn {
        &config.identity_pool.role.permissions
    } else {
        &empty
    };
    let mut request = Request::new(action.clone(), resource.clone());
    request.context = session.request_context(SystemTime::now());
    let decision = policies.evaluate(&request);
    tracing::debug!(%action, %resource, %decision, "user-pool API decision");
    let reason = match decision.outcome {
        Outcome::Allowed => return Ok(()),
        Outcome::ExplicitDeny => "with an explicit deny in an identity-based policy".to_owned(),
        Outcome::ImplicitDeny => {
            format!("because no identity-based policy allows the {action} action")
        }
    };
    Err(ServiceError::access_denied(format!(
        "User: {} is not authorized to perform: {action} on resource: {resource} {reason}",
        principal_arn(&session.role_arn)
    )))
}

/// How AWS names the caller in a denial: an IAM user as itself, a role session as
/// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
fn principal_arn(arn: &str) -> String {
    if arn.contains(":user/") {
        return arn.to_owned();
    }
    let account = arn.split(':').nth(4).unwrap_or_default();
    let role = arn.rsplit('/').next().unwrap_or_default();
    format!("arn:aws:sts::{account}:assumed-role/{role}/{IDENTITY_POOL_SESSION}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_round_trips_through_its_name() {
        for operation in [
            Operation::CreateIdentityProvider,
            Operation::UpdateIdentityProvider,
            Operation::DescribeIdentityProvider,
            Operation::DeleteIdentityProvider,
            Operation::ListIdentityProviders,
            Operation::DescribeUserPoolClient,
            Operation::UpdateUserPoolClient,
            Operation::AdminCreateUser,
            Operation::AdminGetUser,
            Operation::ListUsers,
            Operation::AdminDisableUser,
            Operation::AdminEnableUser,
            Operation::AdminDeleteUser,
        ] {
            assert_eq!(Operation::parse(operation.name()), Some(operation));
        }
        assert_eq!(Operation::parse("AdminSetUserPassword"), None);
    }

    #[test]
    fn role_sessions_are_named_as_assumed_roles_and_users_as_themselves() {
        assert_eq!(
            principal_arn("arn:aws:iam::000000000000:user/saas-reference-backend"),
            "arn:aws:iam::000000000000:user/saas-reference-backend"
        );
        assert_eq!(
            principal_arn("arn:aws:iam::000000000000:role/saas-reference-uploads"),
            "arn:aws:sts::000000000000:assumed-role/saas-reference-uploads/CognitoIdentityCredentials"
        );
    }

    #[test]
    fn the_pool_id_pattern_compiles_and_matches_pool_ids() {
        let pattern = USER_POOL_ID.pattern.unwrap_or_default();
        assert!(validation::matches_whole(pattern, "eu-west-1_L0caLP00l"));
        assert!(!validation::matches_whole(pattern, "eu-west-1"));
    }
}
