//! The Cognito identity pool (`cognito-identity.<region>.amazonaws.com`), awsJson 1.1: `GetId` and
//! `GetCredentialsForIdentity` in the enhanced (simplified) flow, the only flow this pool allows.
//!
//! What it reproduces (see `aws-fidelity.md`): `POST /` with `X-Amz-Target: AWSCognitoIdentityService.<Op>`,
//! unsigned; the user pool ID token in `Logins` under `cognito-idp.<region>.amazonaws.com/<userPoolId>`, fully
//! verified (signature by the pool's published key, issuer, audience among the pool's app clients,
//! `token_use = id`, expiry); stable identity ids `<region>:<uuid>` per user; the role's trust policy evaluated
//! for `sts:AssumeRoleWithWebIdentity` and `sts:TagSession` with the `cognito-identity.amazonaws.com:aud` and
//! `:amr` keys; principal tags taken from token claims; credentials for one hour; the real error shapes
//! (`{"__type": "NotAuthorizedException", "message": …}` with 400); CORS for browsers.
//!
//! Unauthenticated identities and the classic flow are not implemented, and the configuration refuses to
//! enable them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use uuid::Uuid;

use crate::config::LocalAwsConfig;
use crate::credentials::CredentialStore;
use crate::iam::{Principal, Request};
use crate::keys::KeyAdmin;

/// The awsJson 1.1 content type, of requests and responses.
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The `X-Amz-Target` prefix of this service's operations.
const TARGET_PREFIX: &str = "AWSCognitoIdentityService.";
/// The federated principal of identity pool role sessions.
const PRINCIPAL: &str = "cognito-identity.amazonaws.com";
/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// The identity pool's state: the identities issued so far, and what it needs to verify tokens and issue
/// credentials.
#[derive(Clone)]
pub(crate) struct IdentityPool {
    config: Arc<LocalAwsConfig>,
    issuer: String,
    keys: KeyAdmin,
    credentials: CredentialStore,
    /// User pool `sub` → identity id.
    identities: Arc<Mutex<HashMap<String, String>>>,
    /// The integrated user pool, asked whether a sign-in still stands (`ServerSideTokenCheck`).
    user_pool: Arc<crate::user_pool::Pool>,
}

impl IdentityPool {
    pub(crate) fn new(
        config: Arc<LocalAwsConfig>,
        issuer: String,
        keys: KeyAdmin,
        credentials: CredentialStore,
        user_pool: Arc<crate::user_pool::Pool>,
    ) -> IdentityPool {
        IdentityPool {
            config,
            issuer,
            keys,
            credentials,
            identities: Arc::default(),
            user_pool,
        }
    }

    /// The `Logins` key of the user pool: `cognito-idp.<region>.amazonaws.com/<userPoolId>`, as on AWS.
    fn provider_name(&self) -> String {
        format!(
            "cognito-idp.{}.amazonaws.com/{}",
            self.config.region, self.config.user_pool.user_pool_id
        )
    }

    /// The identity id of the user with `sub`, created at first sight and stable afterwards.
    fn identity_for(&self, sub: &str) -> String {
        let mut identities = self
            .identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        identities
            .entry(sub.to_owned())
            .or_insert_with(|| format!("{}:{}", self.config.region, Uuid::new_v4()))
            .clone()
    }

    /// The user `sub` an identity id belongs to.
    fn sub_of(&self, identity_id: &str) -> Option<String> {
        let identities = self
            .identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        identities
            .iter()
            .find(|(_, id)| id.as_str() == identity_id)
            .map(|(sub, _)| sub.clone())
    }
}

/// The listener's router: `POST /` for every operation, with CORS for browsers.
pub(crate) fn router(pool: IdentityPool) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([header::HeaderName::from_static("x-amzn-requestid")]);
    Router::new()
        .route("/", post(dispatch))
        .layer(cors)
        .with_state(pool)
}

/// An awsJson error: the exception type and its message, always 400 as the service answers client errors.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServiceError {
    kind: &'static str,
    message: String,
}

impl ServiceError {
    fn new(kind: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError {
            kind,
            message: message.into(),
        }
    }

    fn not_authorized(message: impl Into<String>) -> ServiceError {
        ServiceError::new("NotAuthorizedException", message)
    }

    fn invalid_parameter(message: impl Into<String>) -> ServiceError {
        ServiceError::new("InvalidParameterException", message)
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        aws_json(
            StatusCode::BAD_REQUEST,
            &json!({"__type": self.kind, "message": self.message}),
        )
    }
}

fn aws_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// Routes a request by its `X-Amz-Target`.
async fn dispatch(State(pool): State<IdentityPool>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return ServiceError::new("UnknownOperationException", "").into_response();
    };
    if body.len() > MAX_BODY {
        return ServiceError::invalid_parameter("The request is too large.").into_response();
    }
    let result = match operation {
        "GetId" => parse(&body).and_then(|input| get_id(&pool, &input)),
        "GetCredentialsForIdentity" => {
            parse(&body).and_then(|input| get_credentials_for_identity(&pool, &input))
        }
        _ => Err(ServiceError::new("UnknownOperationException", "")),
    };
    match result {
        Ok(output) => aws_json(StatusCode::OK, &output),
        Err(error) => {
            tracing::info!(operation, kind = error.kind, message = %error.message, "identity pool refused a request");
            error.into_response()
        }
    }
}

/// The input of `GetId` and `GetCredentialsForIdentity` (the fields this pool reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    identity_pool_id: Option<String>,
    identity_id: Option<String>,
    #[serde(default)]
    logins: BTreeMap<String, String>,
}

fn parse(body: &[u8]) -> Result<Input, ServiceError> {
    serde_json::from_slice(body).map_err(|_| {
        ServiceError::new(
            "SerializationException",
            "The request body is not a valid JSON object of this operation.",
        )
    })
}

/// `GetId`: the identity id of the user whose ID token is in `Logins`.
fn get_id(pool: &IdentityPool, input: &Input) -> Result<Value, ServiceError> {
    let pool_id = input
        .identity_pool_id
        .as_deref()
        .ok_or_else(|| ServiceError::invalid_parameter("IdentityPoolId is required."))?;
    if pool_id != pool.config.identity_pool.id {
        return Err(if is_pool_id(pool_id) {
            ServiceError::new(
                "ResourceNotFoundException",
                format!("IdentityPool '{pool_id}' not found."),
            )
        } else {
            ServiceError::invalid_parameter(format!(
                "1 validation error detected: Value '{pool_id}' at 'identityPoolId' failed to satisfy constraint"
            ))
        });
    }
    let claims = verified_login(pool, &input.logins)?;
    let sub = claim(&claims, "sub").ok_or_else(invalid_token)?;
    Ok(json!({ "IdentityId": pool.identity_for(sub) }))
}

/// `GetCredentialsForIdentity`: credentials of the authenticated role for an identity, whose ID token must
/// be in `Logins`.
fn get_credentials_for_identity(pool: &IdentityPool, input: &Input) -> Result<Value, ServiceError> {
    let identity_id = input
        .identity_id
        .as_deref()
        .ok_or_else(|| ServiceError::invalid_parameter("IdentityId is required."))?;
    let Some(owner) = pool.sub_of(identity_id) else {
        return Err(ServiceError::new(
            "ResourceNotFoundException",
            format!("Identity '{identity_id}' not found."),
        ));
    };
    let claims = verified_login(pool, &input.logins)?;
    if claim(&claims, "sub") != Some(owner.as_str()) {
        return Err(ServiceError::not_authorized(
            "Invalid login token. The token does not belong to this identity.",
        ));
    }
    server_side_token_check(pool, &claims)?;
    let provider = pool.provider_name();
    let pool_config = &pool.config.identity_pool;
    let amr = vec![
        "authenticated".to_owned(),
        provider.clone(),
        format!("{provider}:CognitoSignIn:{owner}"),
    ];
    let principal_tags: BTreeMap<String, String> = pool_config
        .principal_tags
        .iter()
        .filter_map(|(tag, claim_name)| {
            claim(&claims, claim_name).map(|value| (tag.clone(), value.to_owned()))
        })
        .collect();
    // A session tag value holds at most 256 characters: STS refuses a longer one, so assuming the role fails,
    // which `GetCredentialsForIdentity` documents as `InvalidIdentityPoolConfigurationException` ("if the
    // AssumeRole fails",
    // https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html).
    // No credentials rather than untagged ones.
    if let Some((tag, _)) = principal_tags
        .iter()
        .find(|(_, value)| value.chars().count() > crate::config::MAX_PRINCIPAL_TAG_VALUE)
    {
        tracing::warn!(
            tag,
            "a principal tag's claim is longer than a session tag value may be"
        );
        return Err(ServiceError::new(
            "InvalidIdentityPoolConfigurationException",
            "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
        ));
    }
    // The role is assumed, and the session tagged, only if the role's trust policy allows both.
    for action in ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"] {
        let request = Request::new(action, pool_config.role_arn.as_str())
            .with_principal(Principal::Federated(PRINCIPAL.to_owned()))
            .with_context(
                "cognito-identity.amazonaws.com:aud",
                pool_config.id.as_str(),
            )
            .with_context("cognito-identity.amazonaws.com:amr", amr.clone())
            .with_context("cognito-identity.amazonaws.com:sub", identity_id);
        let decision = pool_config.role.trust.evaluate(&request);
        if !decision.is_allowed() {
            tracing::warn!(
                action,
                ?decision,
                "the upload role's trust policy refused the identity pool"
            );
            return Err(ServiceError::new(
                "InvalidIdentityPoolConfigurationException",
                "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
            ));
        }
    }
    let credentials = pool.credentials.issue(
        &pool_config.role_arn,
        principal_tags,
        identity_id,
        pool_config.session_duration,
    );
    let expiration = credentials
        .expiration
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Ok(json!({
        "IdentityId": identity_id,
        "Credentials": {
            "AccessKeyId": credentials.access_key_id,
            "SecretKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": expiration,
        }
    }))
}

/// The claims of the one login in `logins`: it must be the user pool's, and its ID token must verify.
fn verified_login(
    pool: &IdentityPool,
    logins: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, ServiceError> {
    if logins.is_empty() {
        return Err(ServiceError::not_authorized(
            "Unauthenticated access is not supported for this identity pool.",
        ));
    }
    let provider = pool.provider_name();
    let (name, token) = logins.iter().next().ok_or_else(invalid_token)?;
    if logins.len() != 1 || *name != provider {
        return Err(ServiceError::not_authorized(
            "Token is not from a supported provider of this identity pool.",
        ));
    }
    verify_id_token(pool, token)
}

/// `ServerSideTokenCheck`: for an app client that has it on, the identity pool "will check with the integrated
/// user pools to make sure that the user has not been globally signed out or deleted before the identity pool
/// provides an OIDC token or AWS credentials for the user. If the user is signed out or deleted, the identity
/// pool will return a 400 Not Authorized error"
/// (<https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_CognitoIdentityProvider.html>). Here a
/// sign-in revoked through `/oauth2/revoke` (the backend's sign-out) counts as signed out. AWS documents the
/// error type only; the message is this stand-in's.
fn server_side_token_check(
    pool: &IdentityPool,
    claims: &Map<String, Value>,
) -> Result<(), ServiceError> {
    let checked = claim(claims, "aud").is_some_and(|aud| {
        pool.config
            .identity_pool
            .server_side_token_check
            .iter()
            .any(|id| id == aud)
    });
    if !checked {
        return Ok(());
    }
    let stands = match (
        claim(claims, "cognito:username"),
        claim(claims, "origin_jti"),
    ) {
        (Some(username), Some(origin)) => pool.user_pool.sign_in_stands(username, origin),
        _ => false,
    };
    if stands {
        Ok(())
    } else {
        Err(ServiceError::not_authorized(
            "Invalid login token. The user has been signed out or deleted.",
        ))
    }
}

fn invalid_token() -> ServiceError {
    ServiceError::not_authorized("Invalid login token. Not a valid OpenId Connect identity token.")
}

/// Verifies a user pool ID token: RS256 by a published key of the pool, the pool's issuer, an audience that
/// is one of the identity pool's app clients, `token_use = id`, not expired (no leeway).
fn verify_id_token(pool: &IdentityPool, token: &str) -> Result<Map<String, Value>, ServiceError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token())?;
    if header.alg != Algorithm::RS256 {
        return Err(invalid_token());
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| pool.keys.published_key(kid))
        .ok_or_else(invalid_token)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.validate_aud = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), &validation)
        .map_err(|err| match err.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
            ServiceError::not_authorized("Invalid login token. Token expired.")
        }
        _ => invalid_token(),
    })?;
    let claims = data.claims;
    if claim(&claims, "iss") != Some(pool.issuer.as_str()) {
        return Err(ServiceError::not_authorized(
            "Invalid login token. Issuer doesn't match providerName",
        ));
    }
    if claim(&claims, "token_use") != Some("id") {
        return Err(invalid_token());
    }
    let audience_ok = claim(&claims, "aud").is_some_and(|aud| {
        pool.config
            .identity_pool
            .client_ids
            .iter()
            .any(|id| id == aud)
    });
    if !audience_ok {
        return Err(ServiceError::not_authorized(
            "Token is not from a supported provider of this identity pool.",
        ));
    }
    Ok(claims)
}

/// A string claim.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// Whether `id` has the shape of an identity pool id, `<region>:<uuid>`.
fn is_pool_id(id: &str) -> bool {
    id.split_once(':').is_some_and(|(region, uuid)| {
        !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && Uuid::parse_str(uuid).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_are_region_and_uuid() {
        assert!(is_pool_id("eu-west-1:10ca1000-0000-4000-8000-000000000001"));
        assert!(!is_pool_id("eu-west-1"));
        assert!(!is_pool_id("EU:10ca1000-0000-4000-8000-000000000001"));
        assert!(!is_pool_id(":10ca1000-0000-4000-8000-000000000001"));
    }

    #[test]
    fn errors_have_the_aws_json_shape() {
        let response = ServiceError::not_authorized("no").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/x-amz-json-1.1"
        );
    }
}
