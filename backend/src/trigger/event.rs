//! The Cognito pre-token-generation event, version 2, and its response, as the user pool sends them.
//!
//! Field names follow the Lambda event exactly (camelCase). Unknown fields are ignored so that fields AWS adds
//! later do not break sign-in; fields AWS may send as `null` or omit are optional or default to empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `TokenGeneration_RefreshTokens` trigger source: a refresh-token grant rather than an interactive sign-in.
pub const TRIGGER_SOURCE_REFRESH_TOKENS: &str = "TokenGeneration_RefreshTokens";

/// The prefix every token-generation trigger source shares (`TokenGeneration_HostedAuth`, ...).
pub const TRIGGER_SOURCE_PREFIX: &str = "TokenGeneration_";

/// The whole event: what the user pool sends, and, with `response` filled in, what the trigger answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenGenerationEvent {
    /// The event version: `"2"` for the V2_0 trigger.
    pub version: String,
    /// Why tokens are being generated (`TokenGeneration_HostedAuth`, `TokenGeneration_RefreshTokens`, ...).
    pub trigger_source: String,
    /// The AWS region of the user pool.
    pub region: String,
    /// The user pool id.
    pub user_pool_id: String,
    /// The user's name in the pool; for federated users `<ProviderName>_<subject>`.
    pub user_name: String,
    /// Who asked for the tokens.
    pub caller_context: CallerContext,
    /// The user's attributes, groups and requested scopes.
    pub request: Request,
    /// The trigger's answer; empty in the incoming event.
    #[serde(default)]
    pub response: Response,
}

/// The `callerContext` of the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerContext {
    /// The SDK version of the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_sdk_version: Option<String>,
    /// The app client the tokens are for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The `request` of the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The user's attributes as strings (`email`, `name`, `identities`, `custom:idp_groups`, ...).
    #[serde(default)]
    pub user_attributes: BTreeMap<String, String>,
    /// The user pool groups and IAM roles of the user.
    #[serde(default)]
    pub group_configuration: GroupConfiguration,
    /// The scopes the client requested, as they will appear in the access token.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Client metadata passed by the caller, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<BTreeMap<String, String>>,
}

/// The user pool groups of the user (`request.groupConfiguration`, also the shape of `groupOverrideDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfiguration {
    /// The user pool groups.
    #[serde(default)]
    pub groups_to_override: Vec<String>,
    /// The IAM roles of those groups.
    #[serde(default)]
    pub iam_roles_to_override: Vec<String>,
    /// The preferred IAM role.
    #[serde(default)]
    pub preferred_role: Option<String>,
}

/// The `response` of the event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// What to change in the tokens; `null` (no change) in the incoming event.
    #[serde(default)]
    pub claims_and_scope_override_details: Option<ClaimsAndScopeOverrideDetails>,
}

/// The changes the trigger asks for, per token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimsAndScopeOverrideDetails {
    /// Changes to the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_generation: Option<IdTokenGeneration>,
    /// Changes to the access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_generation: Option<AccessTokenGeneration>,
    /// Changes to the user pool groups in the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_override_details: Option<GroupConfiguration>,
}

/// Changes to the ID token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTokenGeneration {
    /// Claims to add or replace (strings, numbers, booleans, arrays or objects).
    #[serde(default)]
    pub claims_to_add_or_override: serde_json::Map<String, serde_json::Value>,
    /// Claims to remove.
    #[serde(default)]
    pub claims_to_suppress: Vec<String>,
}

/// Changes to the access token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenGeneration {
    /// Claims to add or replace.
    #[serde(default)]
    pub claims_to_add_or_override: serde_json::Map<String, serde_json::Value>,
    /// Claims to remove.
    #[serde(default)]
    pub claims_to_suppress: Vec<String>,
    /// Scopes to add to the `scope` claim.
    #[serde(default)]
    pub scopes_to_add: Vec<String>,
    /// Scopes to remove from the `scope` claim.
    #[serde(default)]
    pub scopes_to_suppress: Vec<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cognito_v2_event_deserializes_ignoring_unknown_fields() {
        let event: PreTokenGenerationEvent = serde_json::from_value(json!({
            "version": "2",
            "triggerSource": "TokenGeneration_HostedAuth",
            "region": "eu-west-1",
            "userPoolId": "eu-west-1_L0caLP00l",
            "userName": "acme-entra_0b6c4c0e",
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "web-client"},
            "request": {
                "userAttributes": {"sub": "s", "email": "alice@acme.example", "custom:idp_groups": "[\"SaaS-Admins\"]"},
                "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null},
                "scopes": ["openid", "saas-api/read"],
                "somethingNew": true
            },
            "response": {"claimsAndScopeOverrideDetails": null}
        }))
        .unwrap();
        assert_eq!(event.user_name, "acme-entra_0b6c4c0e");
        assert_eq!(
            event.caller_context.client_id.as_deref(),
            Some("web-client")
        );
        assert_eq!(
            event
                .request
                .user_attributes
                .get("custom:idp_groups")
                .map(String::as_str),
            Some(r#"["SaaS-Admins"]"#)
        );
        assert_eq!(
            event.request.scopes,
            vec!["openid".to_owned(), "saas-api/read".to_owned()]
        );
        assert_eq!(event.response.claims_and_scope_override_details, None);
    }

    #[test]
    fn a_response_serializes_with_cognito_field_names() {
        let response = Response {
            claims_and_scope_override_details: Some(ClaimsAndScopeOverrideDetails {
                id_token_generation: Some(IdTokenGeneration {
                    claims_to_add_or_override: json!({"tenant_id": "t"})
                        .as_object()
                        .cloned()
                        .unwrap(),
                    claims_to_suppress: vec![],
                }),
                access_token_generation: Some(AccessTokenGeneration {
                    claims_to_add_or_override: json!({"tenant_id": "t"})
                        .as_object()
                        .cloned()
                        .unwrap(),
                    claims_to_suppress: vec![],
                    scopes_to_add: vec![],
                    scopes_to_suppress: vec!["saas-api/admin".into()],
                }),
                group_override_details: None,
            }),
        };
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {"claimsToAddOrOverride": {"tenant_id": "t"}, "claimsToSuppress": []},
                "accessTokenGeneration": {
                    "claimsToAddOrOverride": {"tenant_id": "t"},
                    "claimsToSuppress": [],
                    "scopesToAdd": [],
                    "scopesToSuppress": ["saas-api/admin"]
                }
            }})
        );
    }
}
