//! The pre-token-generation trigger: a Lambda function in the Lambda stand-in, run by an in-test runtime,
//! that the pool invokes as Cognito does (5 seconds per attempt, three attempts).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use local_aws::lambda::FunctionConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lambda::{Received, Reply, after, run_runtimes};

const TRIGGER: &str = "pre-token-generation";

/// How the trigger function answers.
#[derive(Clone)]
enum Answer {
    /// The event back with these `claimsAndScopeOverrideDetails`.
    Overrides(Value),
    /// A function error with this `errorMessage`.
    FunctionError(&'static str),
    /// An error reported without a body, only its type.
    ErrorWithoutBody,
    /// The event back after this long.
    Slow(Duration),
    /// Not JSON.
    Garbage,
}

fn reply(answer: Answer, mut event: Value) -> BoxFuture<'static, Reply> {
    match answer {
        Answer::Overrides(details) => {
            event["response"] = json!({ "claimsAndScopeOverrideDetails": details });
            Box::pin(async move { Reply::Respond(event) })
        }
        Answer::FunctionError(message) => Box::pin(async move {
            Reply::Fail(
                json!({ "errorType": "SignInRefused", "errorMessage": message, "stackTrace": [] }),
            )
        }),
        Answer::ErrorWithoutBody => {
            Box::pin(async move { Reply::RawError("Function.Unhandled", "") })
        }
        Answer::Slow(delay) => after(delay, Reply::Respond(event)),
        Answer::Garbage => Box::pin(async move { Reply::RawResponse("this is not JSON") }),
    }
}

/// The trigger function as the tests run it: an external runtime, `change`d.
fn trigger_function(change: impl FnOnce(&mut FunctionConfig)) -> FunctionConfig {
    let mut function = FunctionConfig::external(TRIGGER);
    function.settings.reserved_concurrency = 4;
    change(&mut function);
    function
}

/// The trigger's answer, changeable while the world runs, and the events it received.
struct Trigger {
    answer: Arc<Mutex<Answer>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Trigger {
    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Starts a pool whose trigger function answers with `answer`.
async fn world_with_trigger(answer: Answer) -> (World, Trigger) {
    world_with(trigger_function(|_| {}), answer).await
}

async fn world_with(function: FunctionConfig, answer: Answer) -> (World, Trigger) {
    let world = World::start_with(|config| config.user_pool.trigger = Some(function)).await;
    let answer = Arc::new(Mutex::new(answer));
    let current = answer.clone();
    let received = run_runtimes(world.aws.lambda(), TRIGGER, move |event| {
        let answer = current.lock().unwrap().clone();
        reply(answer, event)
    });
    (world, Trigger { answer, received })
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
    let (world, trigger) = world_with_trigger(Answer::Overrides(tenant_overrides())).await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;

    let received = trigger.received();
    assert_eq!(received.len(), 1);
    let event = &received[0].event;
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
    assert_eq!(attributes["custom:idp_groups"], r#"["SaaS-Admins"]"#);
    let identities: Value =
        serde_json::from_str(attributes["identities"].as_str().unwrap()).unwrap();
    assert_eq!(identities[0]["providerName"], "acme-entra");
    let subject = identities[0]["userId"].as_str().unwrap();
    assert_ne!(subject, ALICE_OID, "Entra's subject is its pairwise sub");
    // Cognito lower-cases the user name, not the identity.
    assert_eq!(user_name, format!("acme-entra_{}", subject.to_lowercase()));
    assert_ne!(
        subject,
        subject.to_lowercase(),
        "the subject keeps its case"
    );
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
    let (world, trigger) = world_with_trigger(Answer::Overrides(tenant_overrides())).await;
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    let (status, refreshed) = world
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let received = trigger.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].event["triggerSource"],
        "TokenGeneration_RefreshTokens"
    );
    assert_eq!(
        received[1].event["request"]["scopes"], received[0].event["request"]["scopes"],
        "refresh starts from the requested scopes"
    );
    assert_eq!(
        received[1].instance, received[0].instance,
        "the refresh finds the instance warm"
    );
    let (_, access) = world
        .verify(refreshed["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(access["tenant_role"], "viewer");
    assert_eq!(access["scope"], "openid email profile saas-api/read");

    trigger.set(Answer::FunctionError("membership_deactivated"));
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
async fn a_function_error_fails_the_sign_in_with_cognitos_error_and_is_not_retried() {
    let (world, trigger) =
        world_with_trigger(Answer::FunctionError("unknown_identity_provider")).await;
    let params = failed_sign_in(&world).await;
    assert_eq!(
        params["error_description"],
        "PreTokenGeneration failed with error unknown_identity_provider."
    );
    assert_eq!(trigger.received().len(), 1, "a function error is an answer");
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
async fn a_function_past_its_own_timeout_an_error_without_body_or_a_garbled_answer_fail_the_sign_in()
 {
    let function = trigger_function(|function| function.settings.timeout = Duration::from_secs(1));
    let (world, trigger) = world_with(function, Answer::Slow(Duration::from_secs(2))).await;
    let params = failed_sign_in(&world).await;
    let request_id = &trigger.received()[0].request_id;
    assert_eq!(
        params["error_description"],
        format!(
            "PreTokenGeneration failed with error RequestId: {request_id} Error: Task timed out after 1.00 seconds."
        ),
        "Lambda's timeout is a function error, within Cognito's five seconds"
    );
    assert_eq!(trigger.received().len(), 1, "not retried");

    trigger.set(Answer::ErrorWithoutBody);
    let params = failed_sign_in(&world).await;
    assert_eq!(
        params["error_description"],
        "PreTokenGeneration failed with error Unknown application error occurred."
    );

    trigger.set(Answer::Garbage);
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

/// A trigger whose first `slow` calls take `delay` (longer than Cognito waits) and whose later ones answer
/// at once with no overrides.
async fn world_with_slow_first_calls(
    function: FunctionConfig,
    slow: usize,
    delay: Duration,
) -> (World, Arc<Mutex<Vec<Received>>>) {
    let world = World::start_with(|config| config.user_pool.trigger = Some(function)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let received = run_runtimes(world.aws.lambda(), TRIGGER, move |event| {
        if calls.fetch_add(1, Ordering::SeqCst) < slow {
            after(delay, Reply::Respond(event))
        } else {
            Box::pin(async move { Reply::Respond(event) })
        }
    });
    (world, received)
}

#[tokio::test]
async fn cognito_retries_an_attempt_that_gets_no_answer_within_five_seconds() {
    let function = trigger_function(|function| function.settings.timeout = Duration::from_secs(10));
    let (world, received) = world_with_slow_first_calls(function, 1, Duration::from_secs(9)).await;
    let started = Instant::now();
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let elapsed = started.elapsed();
    assert!(tokens["access_token"].is_string());
    // A lower bound only: the machine's load can only make it later. That the pool did not wait for the
    // first attempt's answer shows in the two attempts below (a waited-for answer would have needed no second).
    assert!(
        elapsed >= Duration::from_secs(5),
        "the second attempt starts after Cognito's five seconds: {elapsed:?}"
    );
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_ne!(received[0].request_id, received[1].request_id);
    assert_eq!(received[0].event, received[1].event, "the same event again");
    assert_ne!(
        received[0].instance, received[1].instance,
        "the first instance is still busy with the abandoned attempt"
    );
}

#[tokio::test]
async fn after_three_attempts_without_an_answer_the_sign_in_fails_with_cognitos_timeout_error() {
    let function = trigger_function(|function| function.settings.timeout = Duration::from_secs(10));
    let (world, received) =
        world_with_slow_first_calls(function, usize::MAX, Duration::from_secs(6)).await;
    let started = Instant::now();
    let params = failed_sign_in(&world).await;
    assert!(started.elapsed() >= Duration::from_secs(15));
    assert_eq!(
        params["error_description"],
        "PreTokenGeneration invocation failed due to error Socket timeout while invoking Lambda function."
    );
    assert_eq!(received.lock().unwrap().len(), 3, "three attempts in all");
}

#[tokio::test]
async fn throttled_retries_fail_the_sign_in_with_lambdas_error_type() {
    let function = trigger_function(|function| {
        function.settings.timeout = Duration::from_secs(10);
        function.settings.reserved_concurrency = 1;
    });
    let (world, received) = world_with_slow_first_calls(function, 1, Duration::from_secs(8)).await;
    let params = failed_sign_in(&world).await;
    assert_eq!(
        params["error_description"],
        "PreTokenGeneration invocation failed due to error TooManyRequestsException."
    );
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "the retries never reached the function: its one instance was busy"
    );
    let metrics = world.aws.lambda().metrics(TRIGGER).unwrap();
    assert_eq!(metrics.throttles, 2);
}
