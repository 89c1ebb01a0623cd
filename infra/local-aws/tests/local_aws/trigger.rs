//! The pre-token-generation trigger, with a small HTTP server standing in for the Lambda function.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use local_aws::config::TriggerConfig;
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &str = "test-trigger-secret";

/// How the stand-in Lambda answers.
#[derive(Clone)]
enum Answer {
    Overrides(Value),
    FunctionError(&'static str),
    Status(StatusCode),
    Slow(Duration),
    Garbage,
}

/// One invocation: the `x-trigger-secret` header and the event.
type Call = (Option<String>, Value);

#[derive(Clone)]
struct Lambda {
    answer: Arc<Mutex<Answer>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Lambda {
    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn invoke(
    State(lambda): State<Lambda>,
    headers: HeaderMap,
    Json(mut event): Json<Value>,
) -> Response {
    let secret = headers
        .get("x-trigger-secret")
        .map(|v| v.to_str().unwrap().to_owned());
    lambda.calls.lock().unwrap().push((secret, event.clone()));
    let answer = lambda.answer.lock().unwrap().clone();
    match answer {
        Answer::Overrides(details) => {
            event["response"] = json!({ "claimsAndScopeOverrideDetails": details });
            Json(event).into_response()
        }
        Answer::FunctionError(message) => (
            [("X-Amz-Function-Error", "Unhandled")],
            Json(json!({ "errorType": "SignInRefused", "errorMessage": message })),
        )
            .into_response(),
        Answer::Status(status) => status.into_response(),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            Json(event).into_response()
        }
        Answer::Garbage => "this is not JSON".into_response(),
    }
}

/// Starts the stand-in Lambda and a pool that invokes it.
async fn world_with_trigger(answer: Answer) -> (World, Lambda) {
    let lambda = Lambda {
        answer: Arc::new(Mutex::new(answer)),
        calls: Arc::new(Mutex::new(Vec::new())),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/internal/cognito/pre-token-generation",
        listener.local_addr().unwrap()
    );
    let app = axum::Router::new()
        .route(
            "/internal/cognito/pre-token-generation",
            axum::routing::post(invoke),
        )
        .with_state(lambda.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let world = World::start_with(|config| {
        config.trigger = Some(TriggerConfig {
            url,
            shared_secret: SECRET.into(),
        });
        config.trigger_timeout = Duration::from_millis(500);
    })
    .await;
    (world, lambda)
}

fn tenant_overrides() -> Value {
    json!({
        "idTokenGeneration": {
            "claimsToAddOrOverride": { "tenant_id": "t-acme", "tenant_role": "viewer" },
            "claimsToSuppress": ["name"]
        },
        "accessTokenGeneration": {
            "claimsToAddOrOverride": { "tenant_id": "t-acme", "tenant_role": "viewer", "member_id": "m-1" },
            "claimsToSuppress": [],
            "scopesToAdd": [],
            "scopesToSuppress": ["saas-api/write", "saas-api/admin"]
        },
        "groupOverrideDetails": null
    })
}

#[tokio::test]
async fn the_trigger_gets_a_version_2_event_and_its_overrides_reach_both_tokens() {
    let (world, lambda) = world_with_trigger(Answer::Overrides(tenant_overrides())).await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;

    let calls = lambda.calls();
    assert_eq!(calls.len(), 1);
    let (secret, event) = &calls[0];
    assert_eq!(secret.as_deref(), Some(SECRET));
    assert_eq!(event["version"], "2");
    assert_eq!(event["triggerSource"], "TokenGeneration_HostedAuth");
    assert_eq!(event["region"], world.aws.region());
    assert_eq!(event["userPoolId"], world.aws.user_pool_id());
    let user_name = event["userName"].as_str().unwrap();
    assert_eq!(
        event["callerContext"]["clientId"],
        world.web.client_id.as_str()
    );
    assert!(event["callerContext"]["awsSdkVersion"].is_string());
    let attributes = event["request"]["userAttributes"].as_object().unwrap();
    assert!(
        attributes.values().all(Value::is_string),
        "attributes are strings: {attributes:?}"
    );
    assert_eq!(attributes["cognito:user_status"], "EXTERNAL_PROVIDER");
    assert_eq!(attributes["email"], ALICE);
    assert_eq!(attributes["custom:idp_groups"], "[SaaS-Admins]");
    let identities: Value =
        serde_json::from_str(attributes["identities"].as_str().unwrap()).unwrap();
    assert_eq!(identities[0]["providerName"], "acme-entra");
    let subject = identities[0]["userId"].as_str().unwrap();
    assert_ne!(subject, ALICE_OID, "Entra's subject is its pairwise sub");
    assert_eq!(user_name, format!("acme-entra_{subject}"));
    let groups = &event["request"]["groupConfiguration"];
    assert!(groups["groupsToOverride"].is_array() && groups["iamRolesToOverride"].is_array());
    assert_eq!(groups["preferredRole"], Value::Null);
    assert_eq!(
        event["request"]["scopes"],
        json!(ALL_SCOPES.split(' ').collect::<Vec<_>>())
    );
    assert_eq!(
        event["response"],
        json!({ "claimsAndScopeOverrideDetails": null })
    );

    let (_, access) = world
        .verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(access["tenant_id"], "t-acme");
    assert_eq!(access["tenant_role"], "viewer");
    assert_eq!(access["member_id"], "m-1");
    assert_eq!(access["scope"], "openid email profile saas-api/read");
    let (_, id) = world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(id["tenant_id"], "t-acme");
    assert!(id.get("name").is_none(), "suppressed");
    assert!(
        id.get("member_id").is_none(),
        "access-token overrides stay in the access token"
    );
}

#[tokio::test]
async fn refresh_runs_the_trigger_again_and_its_refusal_is_invalid_grant() {
    let (world, lambda) = world_with_trigger(Answer::Overrides(tenant_overrides())).await;
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    let (status, refreshed) = world
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let calls = lambda.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].1["triggerSource"], "TokenGeneration_RefreshTokens");
    assert_eq!(
        calls[1].1["request"]["scopes"], calls[0].1["request"]["scopes"],
        "refresh starts from the requested scopes"
    );
    let (_, access) = world
        .verify(refreshed["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(access["tenant_role"], "viewer");
    assert_eq!(access["scope"], "openid email profile saas-api/read");

    lambda.set(Answer::FunctionError("membership_deactivated"));
    let (status, body) = world
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

async fn failed_sign_in(world: &World) -> std::collections::HashMap<String, String> {
    let attempt = Attempt::new();
    let callback = world.callback_for(&attempt, "acme-entra", ALICE).await;
    assert!(callback.starts_with(&world.callback));
    let params = query(&callback);
    assert!(
        !params.contains_key("code"),
        "no code after a failed trigger"
    );
    assert_eq!(params["state"], attempt.state);
    assert_eq!(params["error"], "invalid_request");
    params
}

#[tokio::test]
async fn a_function_error_fails_the_sign_in_with_cognitos_error() {
    let (world, _) = world_with_trigger(Answer::FunctionError("unknown_identity_provider")).await;
    let params = failed_sign_in(&world).await;
    assert_eq!(
        params["error_description"],
        "PreTokenGeneration failed with error unknown_identity_provider."
    );
}

#[tokio::test]
async fn overriding_or_suppressing_a_protected_claim_fails_the_sign_in() {
    for details in [
        json!({ "accessTokenGeneration": { "claimsToAddOrOverride": { "sub": "someone-else" } } }),
        json!({ "idTokenGeneration": { "claimsToAddOrOverride": { "iss": "https://evil.example" } } }),
        json!({ "accessTokenGeneration": { "claimsToSuppress": ["client_id"] } }),
        json!({ "idTokenGeneration": { "claimsToSuppress": ["cognito:username"] } }),
        json!({ "accessTokenGeneration": { "claimsToAddOrOverride": { "cognito:groups": ["acme-admins"] } } }),
        json!({ "idTokenGeneration": { "claimsToSuppress": ["cognito:groups"] } }),
        json!({ "idTokenGeneration": { "claimsToAddOrOverride": { "cognito:preferred_role": "arn:aws:iam::1:role/x" } } }),
    ] {
        let (world, _) = world_with_trigger(Answer::Overrides(details.clone())).await;
        let params = failed_sign_in(&world).await;
        assert!(
            params["error_description"].starts_with("PreTokenGeneration failed with error "),
            "{details}"
        );
    }
}

#[tokio::test]
async fn a_slow_failing_or_garbled_trigger_fails_the_sign_in() {
    let (world, lambda) = world_with_trigger(Answer::Slow(Duration::from_secs(2))).await;
    let params = failed_sign_in(&world).await;
    assert!(
        params["error_description"].contains("timed out"),
        "{}",
        params["error_description"]
    );
    lambda.set(Answer::Status(StatusCode::INTERNAL_SERVER_ERROR));
    failed_sign_in(&world).await;
    lambda.set(Answer::Garbage);
    let params = failed_sign_in(&world).await;
    assert_eq!(
        params["error_description"],
        "PreTokenGeneration failed with error Unrecognizable lambda output."
    );
}

#[tokio::test]
async fn group_overrides_replace_cognito_groups_in_both_tokens() {
    let details = json!({ "groupOverrideDetails": { "groupsToOverride": ["tenant-acme"], "iamRolesToOverride": [], "preferredRole": null } });
    let (world, _) = world_with_trigger(Answer::Overrides(details)).await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let (_, access) = world
        .verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    let (_, id) = world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(access["cognito:groups"], json!(["tenant-acme"]));
    assert_eq!(id["cognito:groups"], json!(["tenant-acme"]));
}
