//! The pre-token-generation trigger (event version 2), invoked the way Cognito invokes a Lambda trigger:
//! synchronously through Lambda's `Invoke` (here the Lambda stand-in's `Invoke` endpoint), at most 5 seconds
//! per attempt, a limit Cognito does not let anyone change.
//!
//! Cognito's documented behaviour: a call that does not answer within the 5 seconds is retried, and after
//! three unsuccessful attempts the trigger fails. Here a timed-out attempt, a throttled one
//! (`TooManyRequestsException`) and one that could not reach Lambda are retried, three attempts in all; a
//! function error is the function's answer and is never retried, nor is another `Invoke` error. The user
//! sees Cognito's wording: `PreTokenGeneration failed with error <errorMessage>.` for a function error (or
//! an answer the pool refuses), and `PreTokenGeneration invocation failed due to error <cause>.` when Lambda
//! could not run the function (`Socket timeout while invoking Lambda function` after the last timeout, or the
//! `Invoke` error's type).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::lambda::FunctionConfig;

/// How long Cognito waits for one attempt of a Lambda trigger.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times Cognito calls a trigger before it gives up.
pub(crate) const ATTEMPTS: u32 = 3;

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

/// A trigger that failed the sign-in, worded as Cognito words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TriggerFailure {
    /// The function answered with an error, or with an answer the pool refuses (Cognito's
    /// `UserLambdaValidationException` and `InvalidLambdaResponseException`).
    #[error("PreTokenGeneration failed with error {message}.")]
    Refused {
        /// The function's `errorMessage`, or what is wrong with its answer.
        message: String,
    },
    /// Lambda could not run the function (Cognito's `UnexpectedLambdaException`).
    #[error("PreTokenGeneration invocation failed due to error {cause}.")]
    Invocation {
        /// `Socket timeout while invoking Lambda function`, or the `Invoke` error's type.
        cause: String,
    },
}

impl TriggerFailure {
    fn refused(message: impl Into<String>) -> Self {
        TriggerFailure::Refused {
            message: message.into(),
        }
    }
}

/// The body of a function error (`X-Amz-Function-Error`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionErrorBody {
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

/// What one attempt came to.
enum Attempt {
    /// The function answered (its response, or its error).
    Answered {
        function_error: bool,
        body: axum::body::Bytes,
    },
    /// Worth another attempt: no answer within [`ATTEMPT_TIMEOUT`], throttled, or Lambda unreachable.
    Retry { cause: String },
    /// Lambda refused the invocation for good.
    Failed { cause: String },
}

/// Invokes the trigger `function` through the Lambda `Invoke` endpoint at `lambda_endpoint` and returns its
/// overrides (`None` when it changes nothing).
pub(crate) async fn invoke(
    http: &reqwest::Client,
    lambda_endpoint: &str,
    function: &FunctionConfig,
    input: &TriggerInput<'_>,
) -> Result<Option<OverrideDetails>, TriggerFailure> {
    let event = event(input).to_string();
    let url = format!(
        "{lambda_endpoint}/2015-03-31/functions/{}/invocations",
        function.settings.name
    );
    let mut attempt = 1;
    let (function_error, body) = loop {
        match attempt_once(http, &url, &event).await {
            Attempt::Answered {
                function_error,
                body,
            } => break (function_error, body),
            Attempt::Failed { cause } => return Err(TriggerFailure::Invocation { cause }),
            Attempt::Retry { cause } if attempt >= ATTEMPTS => {
                tracing::warn!(%cause, attempts = attempt, "pre-token-generation trigger failed every attempt");
                return Err(TriggerFailure::Invocation { cause });
            }
            Attempt::Retry { cause } => {
                tracing::info!(%cause, attempt, "pre-token-generation trigger attempt failed; retrying");
                attempt += 1;
            }
        }
    };
    if function_error {
        let parsed: Option<FunctionErrorBody> = serde_json::from_slice(&body).ok();
        let message = parsed
            .and_then(|e| e.error_message.or(e.error_type))
            .unwrap_or_else(|| "Unhandled".to_owned());
        tracing::info!(%message, "pre-token-generation trigger refused the sign-in");
        return Err(TriggerFailure::refused(message));
    }
    let answer: Value = serde_json::from_slice(&body)
        .map_err(|_| TriggerFailure::refused("Unrecognizable lambda output"))?;
    let Some(answer) = answer.as_object() else {
        return Err(TriggerFailure::refused("Unrecognizable lambda output"));
    };
    let details = match answer
        .get("response")
        .and_then(|r| r.get("claimsAndScopeOverrideDetails"))
    {
        None | Some(Value::Null) => None,
        Some(details) => Some(
            serde_json::from_value(details.clone())
                .map_err(|_| TriggerFailure::refused("Unrecognizable lambda output"))?,
        ),
    };
    Ok(details)
}

/// One `Invoke` call, given at most [`ATTEMPT_TIMEOUT`] from connecting to the last byte of the answer.
async fn attempt_once(http: &reqwest::Client, url: &str, event: &str) -> Attempt {
    let sent = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-amz-invocation-type", "RequestResponse")
        .body(event.to_owned())
        .timeout(ATTEMPT_TIMEOUT)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return unreachable_or_slow(&error),
    };
    let status = response.status();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(':').next().unwrap_or(value).to_owned());
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(error) => return unreachable_or_slow(&error),
    };
    if status.is_success() {
        return Attempt::Answered {
            function_error,
            body,
        };
    }
    let cause = error_type.unwrap_or_else(|| format!("status {}", status.as_u16()));
    tracing::warn!(%status, %cause, "Lambda refused to invoke the pre-token-generation trigger");
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Attempt::Retry { cause }
    } else {
        Attempt::Failed { cause }
    }
}

fn unreachable_or_slow(error: &reqwest::Error) -> Attempt {
    if error.is_timeout() {
        Attempt::Retry {
            cause: "Socket timeout while invoking Lambda function".to_owned(),
        }
    } else {
        tracing::warn!(%error, "Lambda unreachable for the pre-token-generation trigger");
        Attempt::Retry {
            cause: "AWS Lambda could not be reached".to_owned(),
        }
    }
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
    fn failures_read_like_cognitos() {
        assert_eq!(
            TriggerFailure::refused("membership_deactivated").to_string(),
            "PreTokenGeneration failed with error membership_deactivated."
        );
        assert_eq!(
            TriggerFailure::Invocation {
                cause: "Socket timeout while invoking Lambda function".to_owned()
            }
            .to_string(),
            "PreTokenGeneration invocation failed due to error Socket timeout while invoking Lambda function."
        );
    }
}
