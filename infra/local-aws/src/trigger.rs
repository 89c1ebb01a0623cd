//! The pre-token-generation trigger (event version 2), invoked over HTTP the way Lambda's Invoke API is:
//! `POST <url>` with the event as JSON and `x-trigger-secret`; a function error is signalled by the
//! `X-Amz-Function-Error` header and an `{"errorType", "errorMessage"}` body.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::TriggerConfig;

/// Which sign-in step invokes the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriggerSource {
    /// Sign-in through the hosted endpoints (federation included).
    HostedAuth,
    /// A refresh-token grant.
    RefreshTokens,
}

impl TriggerSource {
    fn as_str(self) -> &'static str {
        match self {
            TriggerSource::HostedAuth => "TokenGeneration_HostedAuth",
            TriggerSource::RefreshTokens => "TokenGeneration_RefreshTokens",
        }
    }
}

/// What the event describes.
pub(crate) struct TriggerInput<'a> {
    pub source: TriggerSource,
    pub region: &'a str,
    pub user_pool_id: &'a str,
    pub client_id: &'a str,
    pub username: &'a str,
    /// The user's attributes as strings (`identities` as a JSON string).
    pub attributes: &'a std::collections::BTreeMap<String, String>,
    pub groups: &'a [String],
    pub scopes: &'a [String],
}

/// The trigger's answer: `response.claimsAndScopeOverrideDetails`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OverrideDetails {
    #[serde(default)]
    pub id_token_generation: Option<TokenGeneration>,
    #[serde(default)]
    pub access_token_generation: Option<TokenGeneration>,
    #[serde(default)]
    pub group_override_details: Option<GroupOverrideDetails>,
}

/// Claim (and, for access tokens, scope) changes for one token.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenGeneration {
    #[serde(default)]
    pub claims_to_add_or_override: Option<Map<String, Value>>,
    #[serde(default)]
    pub claims_to_suppress: Option<Vec<String>>,
    #[serde(default)]
    pub scopes_to_add: Option<Vec<String>>,
    #[serde(default)]
    pub scopes_to_suppress: Option<Vec<String>>,
}

/// Group and role overrides (`cognito:groups`, `cognito:roles`, `cognito:preferred_role`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupOverrideDetails {
    #[serde(default)]
    pub groups_to_override: Option<Vec<String>>,
    #[serde(default)]
    pub iam_roles_to_override: Option<Vec<String>>,
    #[serde(default)]
    pub preferred_role: Option<String>,
}

/// A failed invocation. The message goes into Cognito's
/// `PreTokenGeneration failed with error <message>.` description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PreTokenGeneration failed with error {message}.")]
pub(crate) struct TriggerFailure {
    pub message: String,
}

impl TriggerFailure {
    fn new(message: impl Into<String>) -> Self {
        TriggerFailure {
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionError {
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    error_type: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallerContext<'a> {
    aws_sdk_version: &'static str,
    client_id: &'a str,
}

/// Builds the version 2 event.
pub(crate) fn event(input: &TriggerInput<'_>) -> Value {
    let mut attributes: Map<String, Value> = input
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    attributes.insert("cognito:user_status".into(), json!("EXTERNAL_PROVIDER"));
    json!({
        "version": "2",
        "triggerSource": input.source.as_str(),
        "region": input.region,
        "userPoolId": input.user_pool_id,
        "userName": input.username,
        "callerContext": CallerContext { aws_sdk_version: "aws-sdk-unknown-unknown", client_id: input.client_id },
        "request": {
            "userAttributes": attributes,
            "groupConfiguration": {
                "groupsToOverride": input.groups,
                "iamRolesToOverride": [],
                "preferredRole": null,
            },
            "scopes": input.scopes,
        },
        "response": { "claimsAndScopeOverrideDetails": null },
    })
}

/// Invokes the trigger and returns its overrides (`None` when it changes nothing).
pub(crate) async fn invoke(
    http: &reqwest::Client,
    trigger: &TriggerConfig,
    timeout: Duration,
    input: &TriggerInput<'_>,
) -> Result<Option<OverrideDetails>, TriggerFailure> {
    let event = event(input);
    let response = http
        .post(&trigger.url)
        .header("x-trigger-secret", &trigger.shared_secret)
        .json(&event)
        .timeout(timeout)
        .send()
        .await
        .map_err(|error| {
            tracing::warn!(%error, "pre-token-generation trigger unreachable");
            if error.is_timeout() {
                TriggerFailure::new(format!(
                    "Task timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                ))
            } else {
                TriggerFailure::new("AWS Lambda could not be invoked")
            }
        })?;
    let status = response.status();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let body = response.bytes().await.map_err(|error| {
        tracing::warn!(%error, "reading the trigger's answer");
        TriggerFailure::new("AWS Lambda could not be invoked")
    })?;
    if function_error {
        let parsed: Option<FunctionError> = serde_json::from_slice(&body).ok();
        let message = parsed
            .and_then(|e| e.error_message.or(e.error_type))
            .unwrap_or_else(|| "Unhandled".to_owned());
        tracing::info!(%message, "pre-token-generation trigger refused the sign-in");
        return Err(TriggerFailure::new(message));
    }
    if !status.is_success() {
        tracing::warn!(%status, "pre-token-generation trigger answered with an error status");
        return Err(TriggerFailure::new(format!(
            "AWS Lambda returned status {}",
            status.as_u16()
        )));
    }
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|_| TriggerFailure::new("Unrecognizable lambda output"))?;
    let Some(answer) = answer.as_object() else {
        return Err(TriggerFailure::new("Unrecognizable lambda output"));
    };
    let details = match answer
        .get("response")
        .and_then(|r| r.get("claimsAndScopeOverrideDetails"))
    {
        None | Some(Value::Null) => None,
        Some(details) => Some(
            serde_json::from_value(details.clone())
                .map_err(|_| TriggerFailure::new("Unrecognizable lambda output"))?,
        ),
    };
    Ok(details)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_event_has_the_version_2_shape() {
        let attributes: BTreeMap<String, String> = [
            ("sub".to_owned(), "u-1".to_owned()),
            ("identities".to_owned(), "[{}]".to_owned()),
        ]
        .into();
        let event = event(&TriggerInput {
            source: TriggerSource::RefreshTokens,
            region: "eu-west-1",
            user_pool_id: "eu-west-1_x",
            client_id: "c",
            username: "p_s",
            attributes: &attributes,
            groups: &["eu-west-1_x_p".to_owned()],
            scopes: &["openid".to_owned()],
        });
        assert_eq!(event["version"], "2");
        assert_eq!(event["triggerSource"], "TokenGeneration_RefreshTokens");
        assert_eq!(event["callerContext"]["clientId"], "c");
        assert_eq!(event["request"]["userAttributes"]["identities"], "[{}]");
        assert_eq!(
            event["request"]["userAttributes"]["cognito:user_status"],
            "EXTERNAL_PROVIDER"
        );
        assert_eq!(
            event["request"]["groupConfiguration"]["groupsToOverride"][0],
            "eu-west-1_x_p"
        );
        assert_eq!(
            event["response"]["claimsAndScopeOverrideDetails"],
            Value::Null
        );
    }

    #[test]
    fn the_failure_reads_like_cognitos() {
        assert_eq!(
            TriggerFailure::new("membership_deactivated").to_string(),
            "PreTokenGeneration failed with error membership_deactivated."
        );
    }
}
