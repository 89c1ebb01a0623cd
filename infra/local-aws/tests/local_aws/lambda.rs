//! The Lambda stand-in: the Runtime API spoken by runtimes run in the test (external runtimes), and
//! instances whose `bootstrap` is this test executable itself (command runtimes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use local_aws::lambda::{
    CognitoIdentity, ExternalInstance, FunctionConfig, FunctionRuntime, FunctionSettings,
    Invocation, InvokeError, Lambda, LambdaSettings, MAX_RESPONSE_BYTES,
};
use local_aws::{LocalAws, Ports};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::demo_config;

const FUNCTION: &str = "test-function";
const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "000000000000";

/// A Lambda stand-in serving `function` (and `Invoke` on a port of its own).
async fn start(function: FunctionConfig) -> Arc<Lambda> {
    let settings = LambdaSettings {
        region: REGION.to_owned(),
        account_id: ACCOUNT.to_owned(),
        functions: vec![function],
    };
    Arc::new(
        Lambda::start(settings, "127.0.0.1".parse().unwrap(), 0)
            .await
            .unwrap(),
    )
}

/// An external function with `change` applied to its settings.
fn external(change: impl FnOnce(&mut FunctionSettings)) -> FunctionConfig {
    let mut function = FunctionConfig::external(FUNCTION);
    change(&mut function.settings);
    function
}

/// Invokes in the background, so that the test can play the runtime meanwhile.
fn invoke_later(
    lambda: &Arc<Lambda>,
    invocation: Invocation,
) -> tokio::task::JoinHandle<Result<local_aws::lambda::InvokeOutput, InvokeError>> {
    let lambda = lambda.clone();
    tokio::spawn(async move { lambda.invoke_with(FUNCTION, invocation).await })
}

/// The next instance the stand-in starts, within a few seconds.
async fn next_instance(instances: &mut UnboundedReceiver<ExternalInstance>) -> ExternalInstance {
    tokio::time::timeout(Duration::from_secs(5), instances.recv())
        .await
        .expect("an instance starts")
        .expect("the stand-in runs")
}

/// A runtime played by hand against one instance's Runtime API.
struct Runtime {
    base: String,
    http: reqwest::Client,
}

impl Runtime {
    fn for_instance(instance: &ExternalInstance) -> Runtime {
        Runtime {
            base: format!("http://{}/2018-06-01/runtime", instance.runtime_api),
            http: reqwest::Client::new(),
        }
    }

    async fn next(&self) -> reqwest::Response {
        self.http
            .get(format!("{}/invocation/next", self.base))
            .send()
            .await
            .unwrap()
    }

    /// `next`, asserting an event: its request id and payload.
    async fn next_event(&self) -> (String, Value) {
        let response = self.next().await;
        assert_eq!(response.status(), StatusCode::OK);
        let request_id = header(&response, "lambda-runtime-aws-request-id").unwrap();
        (request_id, response.json().await.unwrap())
    }

    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}/{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn respond(&self, request_id: &str, body: &Value) -> (StatusCode, Value) {
        self.post(
            &format!("invocation/{request_id}/response"),
            &[],
            body.to_string().into_bytes(),
        )
        .await
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn accepted() -> (StatusCode, Value) {
    (StatusCode::ACCEPTED, json!({ "status": "OK" }))
}

#[tokio::test]
async fn next_hands_the_event_over_with_lambdas_headers_and_the_response_goes_back() {
    let lambda = start(external(|settings| {
        settings.timeout = Duration::from_secs(7)
    }))
    .await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let before = now_ms();
    let invocation = invoke_later(&lambda, Invocation::new(r#"{"hello":"world"}"#));
    let instance = next_instance(&mut instances).await;
    assert_eq!(instance.instance, 1);
    assert_eq!(
        instance.environment["AWS_LAMBDA_RUNTIME_API"],
        instance.runtime_api
    );
    let runtime = Runtime::for_instance(&instance);

    let response = runtime.next().await;
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = header(&response, "lambda-runtime-aws-request-id").unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(&request_id)
            .unwrap()
            .get_version_num(),
        4
    );
    let deadline: u128 = header(&response, "lambda-runtime-deadline-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        deadline >= before + 7000 && deadline <= now_ms() + 7000,
        "the deadline is the function timeout from now"
    );
    assert_eq!(
        header(&response, "lambda-runtime-invoked-function-arn").unwrap(),
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}")
    );
    let trace = header(&response, "lambda-runtime-trace-id").unwrap();
    assert!(
        trace.starts_with("Root=1-") && trace.contains(";Parent=") && trace.contains(";Sampled="),
        "{trace}"
    );
    assert_eq!(header(&response, "lambda-runtime-client-context"), None);
    assert_eq!(header(&response, "lambda-runtime-cognito-identity"), None);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "hello": "world" })
    );

    assert_eq!(
        runtime.respond(&request_id, &json!({ "answer": 42 })).await,
        accepted()
    );
    let output = invocation.await.unwrap().unwrap();
    assert_eq!(output.request_id, request_id);
    assert_eq!(
        serde_json::from_slice::<Value>(output.response().unwrap()).unwrap(),
        json!({ "answer": 42 })
    );
    let init = output
        .init_duration
        .expect("the first invocation is a cold start");
    assert_eq!(
        lambda.metrics(FUNCTION).unwrap().cold_starts[0].init_duration,
        init
    );
}

#[tokio::test]
async fn the_client_context_and_cognito_identity_reach_the_runtime_when_the_invocation_has_them() {
    let lambda = start(external(|_| {})).await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let invocation = invoke_later(
        &lambda,
        Invocation {
            payload: "{}".into(),
            client_context: Some(r#"{"client":{"app_title":"demo"}}"#.to_owned()),
            cognito_identity: Some(CognitoIdentity {
                cognito_identity_id: "eu-west-1:1111".to_owned(),
                cognito_identity_pool_id: "eu-west-1:2222".to_owned(),
            }),
        },
    );
    let runtime = Runtime::for_instance(&next_instance(&mut instances).await);
    let response = runtime.next().await;
    assert_eq!(
        header(&response, "lambda-runtime-client-context").unwrap(),
        r#"{"client":{"app_title":"demo"}}"#
    );
    let identity: Value =
        serde_json::from_str(&header(&response, "lambda-runtime-cognito-identity").unwrap())
            .unwrap();
    assert_eq!(
        identity,
        json!({ "cognitoIdentityId": "eu-west-1:1111", "cognitoIdentityPoolId": "eu-west-1:2222" })
    );
    let request_id = header(&response, "lambda-runtime-aws-request-id").unwrap();
    runtime.respond(&request_id, &json!(null)).await;
    invocation.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_error_the_runtime_posts_is_the_invocations_function_error() {
    let lambda = start(external(|_| {})).await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let runtime = Runtime::for_instance(&next_instance(&mut instances).await);
    let (request_id, _) = runtime.next_event().await;
    let body = json!({ "errorMessage": "membership_deactivated", "errorType": "SignInRefused", "stackTrace": [] });
    let posted = runtime
        .post(
            &format!("invocation/{request_id}/error"),
            &[(
                "Lambda-Runtime-Function-Error-Type",
                "Function.SignInRefused",
            )],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(posted, accepted());
    let output = invocation.await.unwrap().unwrap();
    let error = output.function_error().unwrap();
    assert_eq!(error.error_type, "SignInRefused");
    assert_eq!(error.error_message, "membership_deactivated");
    assert_eq!(
        serde_json::from_slice::<Value>(&error.payload).unwrap(),
        body,
        "the payload goes to the invoker as the runtime posted it"
    );
}

#[tokio::test]
async fn invoke_over_http_answers_like_lambda() {
    let lambda = start(external(|_| {})).await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let endpoint = lambda.endpoint().unwrap().to_owned();
    let url = format!("{endpoint}/2015-03-31/functions/{FUNCTION}/invocations");
    let http = reqwest::Client::new();

    // A function error: 200, X-Amz-Function-Error, the error payload.
    let call = tokio::spawn({
        let (http, url) = (http.clone(), url.clone());
        async move { http.post(url).body(r#"{"n":1}"#).send().await.unwrap() }
    });
    let runtime = Runtime::for_instance(&next_instance(&mut instances).await);
    let (request_id, event) = runtime.next_event().await;
    assert_eq!(event, json!({ "n": 1 }));
    runtime
        .post(
            &format!("invocation/{request_id}/error"),
            &[],
            br#"{"errorMessage":"no","errorType":"Refused"}"#.to_vec(),
        )
        .await;
    let response = call.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "x-amz-function-error").unwrap(),
        "Unhandled"
    );
    assert_eq!(
        header(&response, "x-amz-executed-version").unwrap(),
        "$LATEST"
    );
    assert_eq!(header(&response, "x-amzn-requestid").unwrap(), request_id);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "errorMessage": "no", "errorType": "Refused" })
    );

    // A response on the same (warm) instance, addressed by the function's ARN: 200 without the header.
    let arn = lambda.function_arn(FUNCTION).unwrap();
    let call = tokio::spawn({
        let http = http.clone();
        let url = format!("{endpoint}/2015-03-31/functions/{arn}/invocations");
        async move { http.post(url).body("[]").send().await.unwrap() }
    });
    let (request_id, _) = runtime.next_event().await;
    runtime.respond(&request_id, &json!("fine")).await;
    let response = call.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-amz-function-error"), None);
    assert_eq!(response.json::<Value>().await.unwrap(), json!("fine"));

    // Invocation errors.
    let unknown = http
        .post(format!("{endpoint}/2015-03-31/functions/nope/invocations"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header(&unknown, "x-amzn-errortype").unwrap(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({ "Type": "User", "message": format!("Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope") })
    );
    let not_json = http.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        header(&not_json, "x-amzn-errortype").unwrap(),
        "InvalidRequestContentException"
    );
    let too_large = http
        .post(&url)
        .body(format!("\"{}\"", "x".repeat(6 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        header(&too_large, "x-amzn-errortype").unwrap(),
        "RequestTooLargeException"
    );
    let dry_run = http
        .post(&url)
        .header("X-Amz-Invocation-Type", "DryRun")
        .send()
        .await
        .unwrap();
    assert_eq!(dry_run.status(), StatusCode::NO_CONTENT);
    assert_eq!(lambda.metrics(FUNCTION).unwrap().invocations, 2);
}

#[tokio::test]
async fn only_the_invocation_the_runtime_holds_can_be_answered_and_only_once() {
    let lambda = start(external(|_| {})).await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let runtime = Runtime::for_instance(&next_instance(&mut instances).await);
    let (request_id, _) = runtime.next_event().await;

    let invalid_request_id = (
        StatusCode::BAD_REQUEST,
        json!({ "errorMessage": "Invalid request ID", "errorType": "InvalidRequestID" }),
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        runtime.respond(&unknown, &json!(1)).await,
        invalid_request_id
    );
    assert_eq!(
        runtime
            .post(&format!("invocation/{unknown}/error"), &[], b"{}".to_vec())
            .await,
        invalid_request_id
    );

    assert_eq!(runtime.respond(&request_id, &json!(1)).await, accepted());
    let again = runtime.respond(&request_id, &json!(2)).await;
    assert_eq!(
        again,
        (
            StatusCode::FORBIDDEN,
            json!({
                "errorMessage": "State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed",
                "errorType": "InvalidStateTransition"
            })
        )
    );
    let (status, body) = runtime
        .post(
            &format!("invocation/{request_id}/error"),
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (StatusCode::FORBIDDEN, Some("InvalidStateTransition"))
    );
    let (status, body) = runtime.post("init/error", &[], b"{}".to_vec()).await;
    assert_eq!(
        (status, body["errorMessage"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some(
                "State transition from RuntimeResponseSentState to InitError failed for runtime. Error: State transition is not allowed"
            )
        )
    );
    let output = invocation.await.unwrap().unwrap();
    assert_eq!(
        output.response().unwrap().as_ref(),
        b"1",
        "the first answer stands"
    );
}

#[tokio::test]
async fn an_oversized_response_is_refused_and_fails_the_invocation_but_not_the_instance() {
    let lambda = start(external(|_| {})).await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let runtime = Runtime::for_instance(&next_instance(&mut instances).await);
    let (request_id, _) = runtime.next_event().await;

    let size = MAX_RESPONSE_BYTES + 1;
    let posted = runtime
        .post(
            &format!("invocation/{request_id}/response"),
            &[],
            vec![b'7'; size],
        )
        .await;
    assert_eq!(
        posted,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({
                "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
                "errorType": "RequestEntityTooLarge"
            })
        )
    );
    let output = invocation.await.unwrap().unwrap();
    let error = output.function_error().unwrap();
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
    assert_eq!(
        error.error_message,
        format!(
            "Response payload size ({size} bytes) exceeded maximum allowed payload size (6291556 bytes)."
        )
    );

    // The instance goes on: the next invocation is warm.
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let (request_id, _) = runtime.next_event().await;
    runtime.respond(&request_id, &json!("small")).await;
    let output = invocation.await.unwrap().unwrap();
    assert_eq!(output.init_duration, None);
    assert_eq!(lambda.metrics(FUNCTION).unwrap().cold_starts.len(), 1);
}

#[tokio::test]
async fn init_error_fails_the_waiting_invocation_and_the_instance_is_not_reused() {
    let lambda = start(external(|_| {})).await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let runtime = Runtime::for_instance(&next_instance(&mut instances).await);
    let body = json!({ "errorMessage": "DATABASE_URL is not set", "errorType": "Runtime.ConfigInvalid", "stackTrace": [] });
    let posted = runtime
        .post(
            "init/error",
            &[(
                "Lambda-Runtime-Function-Error-Type",
                "Runtime.ConfigInvalid",
            )],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(posted, accepted());
    let output = invocation.await.unwrap().unwrap();
    let error = output.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.ConfigInvalid");
    assert_eq!(error.error_message, "DATABASE_URL is not set");
    let (status, _) = runtime.post("init/error", &[], b"{}".to_vec()).await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::INTERNAL_SERVER_ERROR,
        "{status}"
    );
    assert!(lambda.metrics(FUNCTION).unwrap().cold_starts.is_empty());

    // The next invocation starts a new instance.
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let second = next_instance(&mut instances).await;
    assert_eq!(second.instance, 2);
    let runtime = Runtime::for_instance(&second);
    let (request_id, _) = runtime.next_event().await;
    runtime.respond(&request_id, &json!(true)).await;
    assert!(invocation.await.unwrap().unwrap().init_duration.is_some());
}

#[tokio::test]
async fn an_invocation_past_the_timeout_fails_and_its_instance_is_stopped_and_replaced() {
    let lambda = start(external(|settings| {
        settings.timeout = Duration::from_secs(1)
    }))
    .await;
    let mut instances = lambda.external_instances(FUNCTION).unwrap();
    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let first = next_instance(&mut instances).await;
    let runtime = Runtime::for_instance(&first);
    let (request_id, _) = runtime.next_event().await;

    let output = invocation.await.unwrap().unwrap();
    let error = output.function_error().unwrap();
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert_eq!(
        error.error_message,
        format!("RequestId: {request_id} Error: Task timed out after 1.00 seconds")
    );
    assert_eq!(lambda.metrics(FUNCTION).unwrap().timeouts, 1);

    // The stopped instance's runtime is told to exit, whatever it tries.
    let container_error = StatusCode::INTERNAL_SERVER_ERROR;
    assert_eq!(
        runtime.respond(&request_id, &json!("late")).await.0,
        container_error
    );
    assert_eq!(runtime.next().await.status(), container_error);

    let invocation = invoke_later(&lambda, Invocation::new("{}"));
    let second = next_instance(&mut instances).await;
    assert_eq!(second.instance, 2);
    assert_ne!(second.runtime_api, first.runtime_api);
    let runtime = Runtime::for_instance(&second);
    let (request_id, _) = runtime.next_event().await;
    runtime.respond(&request_id, &json!("on time")).await;
    assert!(invocation.await.unwrap().unwrap().init_duration.is_some());
}

/// How an automatic in-test runtime answers an event.
pub enum Reply {
    /// Posts this response.
    Respond(Value),
    /// Posts this error body.
    Fail(Value),
    /// Posts this body as the response, whatever it is.
    RawResponse(&'static str),
    /// Posts this body as an error, with this `Lambda-Runtime-Function-Error-Type`.
    RawError(&'static str, &'static str),
}

/// An event an automatic runtime received: its instance, request id and payload.
#[derive(Debug, Clone)]
pub struct Received {
    pub instance: u64,
    pub request_id: String,
    pub event: Value,
}

/// Runs an in-test runtime for every instance `lambda` starts for `function`: each polls `next`, asks
/// `answer` for a reply and posts it, until its instance stops. Returns what they received, in order.
pub fn run_runtimes(
    lambda: &Lambda,
    function: &str,
    answer: impl Fn(Value) -> BoxFuture<'static, Reply> + Send + Sync + 'static,
) -> Arc<Mutex<Vec<Received>>> {
    let mut instances = lambda.external_instances(function).unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let log = received.clone();
    tokio::spawn(async move {
        while let Some(instance) = instances.recv().await {
            let answer = answer.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let runtime = Runtime::for_instance(&instance);
                loop {
                    let Ok(response) = runtime
                        .http
                        .get(format!("{}/invocation/next", runtime.base))
                        .send()
                        .await
                    else {
                        break;
                    };
                    if response.status() != StatusCode::OK {
                        break;
                    }
                    let request_id = header(&response, "lambda-runtime-aws-request-id").unwrap();
                    let event: Value = response.json().await.unwrap();
                    log.lock().unwrap().push(Received {
                        instance: instance.instance,
                        request_id: request_id.clone(),
                        event: event.clone(),
                    });
                    let (path, error_type, body) = match answer(event).await {
                        Reply::Respond(value) => ("response", None, value.to_string()),
                        Reply::Fail(value) => ("error", None, value.to_string()),
                        Reply::RawResponse(text) => ("response", None, text.to_owned()),
                        Reply::RawError(error_type, text) => {
                            ("error", Some(error_type), text.to_owned())
                        }
                    };
                    let mut post = runtime
                        .http
                        .post(format!("{}/invocation/{request_id}/{path}", runtime.base))
                        .body(body);
                    if let Some(error_type) = error_type {
                        post = post.header("Lambda-Runtime-Function-Error-Type", error_type);
                    }
                    let posted = post.send().await;
                    if !posted.is_ok_and(|posted| posted.status() == StatusCode::ACCEPTED) {
                        break;
                    }
                }
            });
        }
    });
    received
}

/// A runtime answer after `delay`.
pub fn after(delay: Duration, reply: Reply) -> BoxFuture<'static, Reply> {
    Box::pin(async move {
        tokio::time::sleep(delay).await;
        reply
    })
}

#[tokio::test]
async fn two_slow_invocations_at_once_run_on_two_instances_which_are_then_reused() {
    let lambda = start(external(|_| {})).await;
    let received = run_runtimes(&lambda, FUNCTION, |event| {
        after(Duration::from_millis(700), Reply::Respond(event))
    });
    let (a, b) = tokio::join!(
        lambda.invoke(FUNCTION, r#""a""#),
        lambda.invoke(FUNCTION, r#""b""#)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.response().unwrap().as_ref(), br#""a""#);
    assert_eq!(b.response().unwrap().as_ref(), br#""b""#);
    assert!(a.init_duration.is_some() && b.init_duration.is_some());
    let instances: Vec<u64> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.instance)
        .collect();
    assert_eq!(instances.len(), 2);
    assert_ne!(
        instances[0], instances[1],
        "one instance per invocation in flight"
    );

    // Afterwards both are warm: two more at once start nothing new.
    let (c, d) = tokio::join!(
        lambda.invoke(FUNCTION, r#""c""#),
        lambda.invoke(FUNCTION, r#""d""#)
    );
    assert_eq!(c.unwrap().init_duration, None);
    assert_eq!(d.unwrap().init_duration, None);
    let metrics = lambda.metrics(FUNCTION).unwrap();
    assert_eq!(metrics.cold_starts.len(), 2);
    assert_eq!(metrics.invocations, 4);
}

#[tokio::test]
async fn the_reserved_concurrency_throttles_invocations_beyond_it_but_not_sequential_ones() {
    let lambda = start(external(|settings| settings.reserved_concurrency = 1)).await;
    // The runtime answers an event only when the test lets it, so that its one instance is surely busy.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let runtime_gate = gate.clone();
    let received = run_runtimes(&lambda, FUNCTION, move |event| {
        let gate = runtime_gate.clone();
        Box::pin(async move {
            gate.acquire().await.unwrap().forget();
            Reply::Respond(event)
        })
    });
    let first = invoke_later(&lambda, Invocation::new("1"));
    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(received.lock().unwrap().len(), 1, "the runtime holds it");

    assert_eq!(
        lambda.invoke(FUNCTION, "2").await,
        Err(InvokeError::TooManyRequests)
    );
    // Over HTTP the throttle is Lambda's 429.
    let endpoint = lambda.endpoint().unwrap().to_owned();
    let throttled = reqwest::Client::new()
        .post(format!(
            "{endpoint}/2015-03-31/functions/{FUNCTION}/invocations"
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&throttled, "x-amzn-errortype").unwrap(),
        "TooManyRequestsException"
    );
    assert_eq!(
        throttled.json::<Value>().await.unwrap(),
        json!({ "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded." })
    );
    assert_eq!(lambda.metrics(FUNCTION).unwrap().throttles, 2);
    gate.add_permits(1);
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.response().unwrap().as_ref(), b"1");

    // One after the other, the one instance serves them all, even asked right after it answered.
    gate.add_permits(3);
    for n in 3..6 {
        let output = lambda.invoke(FUNCTION, n.to_string()).await.unwrap();
        assert_eq!(
            output.response().unwrap().as_ref(),
            n.to_string().as_bytes()
        );
    }
    assert!(received.lock().unwrap().iter().all(|r| r.instance == 1));
    assert_eq!(lambda.metrics(FUNCTION).unwrap().cold_starts.len(), 1);
}

#[tokio::test]
async fn invoke_refuses_unknown_functions_and_payloads_lambda_would_not_take() {
    let lambda = start(external(|_| {})).await;
    assert_eq!(
        lambda.invoke("nope", "{}").await,
        Err(InvokeError::FunctionNotFound {
            arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope")
        })
    );
    assert!(matches!(
        lambda.invoke(FUNCTION, "not json").await,
        Err(InvokeError::InvalidRequestContent { .. })
    ));
    let big = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    assert_eq!(
        lambda.invoke(FUNCTION, big).await,
        Err(InvokeError::RequestTooLarge)
    );
    assert_eq!(lambda.metrics(FUNCTION).unwrap().invocations, 0);
}

#[tokio::test]
async fn functions_lambda_would_refuse_are_refused_at_start() {
    let reserved = external(|_| {});
    let mut reserved = reserved;
    reserved
        .environment
        .insert("AWS_REGION".to_owned(), "us-east-1".to_owned());
    let error = Lambda::new(LambdaSettings {
        region: REGION.to_owned(),
        account_id: ACCOUNT.to_owned(),
        functions: vec![reserved.clone()],
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Reserved keys used in this request: AWS_REGION"),
        "{error}"
    );
    let mut config = demo_config();
    config.user_pool.trigger = Some(reserved);
    assert!(
        LocalAws::start(config, "127.0.0.1".parse().unwrap(), Ports::ephemeral())
            .await
            .is_err()
    );
    for bad in [
        external(|settings| settings.timeout = Duration::from_millis(1500)),
        external(|settings| settings.timeout = Duration::from_secs(901)),
        external(|settings| settings.memory_size_mb = 64),
        external(|settings| settings.reserved_concurrency = 0),
        external(|settings| settings.name = "has space".to_owned()),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

// --- Command runtimes: this test executable is the bootstrap. ---

/// The variable that makes [`runtime_process`] act as a runtime.
const RUNTIME_MODE: &str = "LOCAL_AWS_TEST_RUNTIME";

/// A runtime when an instance of a command function starts this executable with [`RUNTIME_MODE`] set
/// (`serve`, or `init-error`); otherwise, in a normal test run, it returns at once. It answers events
/// `{"action": ...}`: `pid`, `env` (its environment and working directory), `sleep` (`seconds`, then its
/// pid), `exit` (`code`), `print` (`line` to stdout and stderr, then its pid).
#[test]
fn runtime_process() {
    let Ok(mode) = std::env::var(RUNTIME_MODE) else {
        return;
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(serve_as_runtime(&mode));
}

async fn serve_as_runtime(mode: &str) {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap();
    let base = format!("http://{api}/2018-06-01/runtime");
    let http = reqwest::Client::new();
    if mode == "init-error" {
        let posted = http
            .post(format!("{base}/init/error"))
            .header("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigInvalid")
            .body(r#"{"errorMessage":"DATABASE_URL is not set","errorType":"Runtime.ConfigInvalid","stackTrace":[]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::ACCEPTED);
        std::process::exit(1);
    }
    let pid = std::process::id();
    loop {
        let response = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::OK {
            std::process::exit(2);
        }
        let request_id = header(&response, "lambda-runtime-aws-request-id").unwrap();
        let event: Value = response.json().await.unwrap();
        let answer = match event["action"].as_str().unwrap_or_default() {
            "env" => json!({
                "pid": pid,
                "env": std::env::vars().collect::<BTreeMap<String, String>>(),
                "cwd": std::env::current_dir().unwrap(),
            }),
            "sleep" => {
                tokio::time::sleep(Duration::from_secs_f64(event["seconds"].as_f64().unwrap()))
                    .await;
                json!({ "pid": pid })
            }
            "exit" => std::process::exit(i32::try_from(event["code"].as_i64().unwrap()).unwrap()),
            "print" => {
                let line = event["line"].as_str().unwrap();
                println!("{line}");
                eprintln!("{line} (stderr)");
                json!({ "pid": pid })
            }
            _ => json!({ "pid": pid }),
        };
        http.post(format!("{base}/invocation/{request_id}/response"))
            .body(answer.to_string())
            .send()
            .await
            .unwrap();
    }
}

/// A `bootstrap` in a directory of its own that runs [`runtime_process`] of this test executable.
struct Bootstrap {
    directory: tempfile::TempDir,
}

impl Bootstrap {
    fn new() -> Bootstrap {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let executable = std::env::current_exe().unwrap();
        let script = format!(
            "#!/bin/sh\nexec '{}' lambda::runtime_process --exact --nocapture --test-threads 1 -q\n",
            executable.display()
        );
        let path = directory.path().join("bootstrap");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Bootstrap { directory }
    }

    fn path(&self) -> PathBuf {
        self.directory.path().join("bootstrap")
    }

    /// A function run by this bootstrap in `mode`, with `change` applied.
    fn function(&self, mode: &str, change: impl FnOnce(&mut FunctionConfig)) -> FunctionConfig {
        let environment = [(RUNTIME_MODE.to_owned(), mode.to_owned())].into();
        let mut function = FunctionSettings::new(FUNCTION)
            .with_runtime(FunctionRuntime::Command(self.path()), environment);
        change(&mut function);
        function
    }
}

/// Whether process `pid` still runs (a zombie does not).
fn running(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        }
    }
}

/// Waits up to two seconds for process `pid` to end.
async fn ended(pid: u64) -> bool {
    for _ in 0..40 {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn call(lambda: &Lambda, event: Value) -> local_aws::lambda::InvokeOutput {
    lambda.invoke(FUNCTION, event.to_string()).await.unwrap()
}

fn answer(output: &local_aws::lambda::InvokeOutput) -> Value {
    let Some(body) = output.response() else {
        panic!("a function error: {:?}", output.function_error());
    };
    serde_json::from_slice(body).unwrap()
}

fn pid_of(output: &local_aws::lambda::InvokeOutput) -> u64 {
    answer(output)["pid"].as_u64().unwrap()
}

#[tokio::test]
async fn a_command_runtime_gets_lambdas_environment_and_nothing_else() {
    let bootstrap = Bootstrap::new();
    let lambda = start(bootstrap.function("serve", |function| {
        function.settings.memory_size_mb = 256;
        function
            .environment
            .insert("GREETING".to_owned(), "hello".to_owned());
        function
            .environment
            .insert("LANG".to_owned(), "C.UTF-8".to_owned());
    }))
    .await;
    let output = call(&lambda, json!({ "action": "env" })).await;
    let answer = answer(&output);
    let env: BTreeMap<String, String> = serde_json::from_value(answer["env"].clone()).unwrap();
    // The bootstrap is a shell script, and the shell exports its own `PWD`.
    let names: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|name| *name != "PWD")
        .collect();
    assert_eq!(
        names,
        vec![
            "AWS_DEFAULT_REGION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "AWS_LAMBDA_RUNTIME_API",
            "AWS_REGION",
            "GREETING",
            "LAMBDA_RUNTIME_DIR",
            "LAMBDA_TASK_ROOT",
            "LANG",
            "LD_LIBRARY_PATH",
            RUNTIME_MODE,
            "PATH",
            "TZ",
            "_HANDLER",
        ],
        "a cleared environment: Lambda's variables and the function's, nothing of the test's"
    );
    let task_root = bootstrap.directory.path().display().to_string();
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], FUNCTION);
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(
        env["AWS_LAMBDA_LOG_GROUP_NAME"],
        format!("/aws/lambda/{FUNCTION}")
    );
    assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("/[$LATEST]"));
    assert!(env["AWS_LAMBDA_RUNTIME_API"].starts_with("127.0.0.1:"));
    assert_eq!(env["AWS_REGION"], REGION);
    assert_eq!(env["AWS_DEFAULT_REGION"], REGION);
    assert_eq!(env["_HANDLER"], "bootstrap");
    assert_eq!(env["LAMBDA_TASK_ROOT"], task_root);
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["PATH"], "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
    assert_eq!(env["GREETING"], "hello");
    assert_eq!(env["LANG"], "C.UTF-8", "the function may override LANG");
    assert_eq!(
        Path::new(answer["cwd"].as_str().unwrap()),
        bootstrap.directory.path(),
        "the runtime runs in its task root"
    );
}

#[tokio::test]
async fn a_warm_instance_is_reused_and_only_the_first_invocation_is_a_cold_start() {
    let bootstrap = Bootstrap::new();
    let lambda = start(bootstrap.function("serve", |_| {})).await;
    let first = call(&lambda, json!({ "action": "pid" })).await;
    let second = call(&lambda, json!({ "action": "pid" })).await;
    assert_eq!(pid_of(&first), pid_of(&second), "the same process");
    assert!(first.init_duration.is_some());
    assert_eq!(second.init_duration, None);
    let metrics = lambda.metrics(FUNCTION).unwrap();
    assert_eq!(metrics.cold_starts.len(), 1);
    assert_eq!(metrics.cold_starts[0].instance, 1);
    assert_eq!(
        Some(metrics.cold_starts[0].init_duration),
        first.init_duration
    );
    assert_eq!(metrics.invocations, 2);
}

#[tokio::test]
async fn a_timed_out_instance_is_killed_and_a_fresh_one_serves_the_next_invocation() {
    let bootstrap = Bootstrap::new();
    let lambda = start(bootstrap.function("serve", |function| {
        function.settings.timeout = Duration::from_secs(1);
    }))
    .await;
    let first = pid_of(&call(&lambda, json!({ "action": "pid" })).await);
    let timed_out = call(&lambda, json!({ "action": "sleep", "seconds": 3 })).await;
    let error = timed_out.function_error().unwrap();
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Task timed out after 1.00 seconds",
            timed_out.request_id
        )
    );
    assert!(ended(first).await, "the timed-out runtime is killed");
    let next = call(&lambda, json!({ "action": "pid" })).await;
    assert_ne!(pid_of(&next), first);
    assert!(next.init_duration.is_some(), "a cold start");
}

#[tokio::test]
async fn a_runtime_that_exits_fails_its_invocation_with_runtime_exit_error() {
    let bootstrap = Bootstrap::new();
    let lambda = start(bootstrap.function("serve", |_| {})).await;
    let first = pid_of(&call(&lambda, json!({ "action": "pid" })).await);
    let exited = call(&lambda, json!({ "action": "exit", "code": 3 })).await;
    let error = exited.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 3",
            exited.request_id
        )
    );
    assert!(!running(first));
    let next = call(&lambda, json!({ "action": "pid" })).await;
    assert_ne!(pid_of(&next), first);
}

#[tokio::test]
async fn a_runtime_that_fails_its_init_fails_the_invocation_with_its_own_error() {
    let bootstrap = Bootstrap::new();
    let lambda = start(bootstrap.function("init-error", |_| {})).await;
    let output = call(&lambda, json!({ "action": "pid" })).await;
    let error = output.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.ConfigInvalid");
    assert_eq!(error.error_message, "DATABASE_URL is not set");
    assert!(lambda.metrics(FUNCTION).unwrap().cold_starts.is_empty());
}

#[tokio::test]
async fn a_missing_bootstrap_is_lambdas_invalid_entrypoint() {
    let bootstrap = Bootstrap::new();
    let missing = bootstrap.directory.path().join("missing");
    let lambda = start(bootstrap.function("serve", |function| {
        function.runtime = FunctionRuntime::Command(missing.clone());
    }))
    .await;
    let output = call(&lambda, json!({})).await;
    let error = output.function_error().unwrap();
    assert_eq!(error.error_type, "Runtime.InvalidEntrypoint");
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Couldn't find valid bootstrap(s): [{}]",
            output.request_id,
            missing.display()
        )
    );
}

/// The trigger function's two instances, each holding an invocation, and their processes' ids.
async fn two_instances(aws: &LocalAws) -> Vec<u64> {
    let lambda = aws.lambda();
    let (a, b) = tokio::join!(
        lambda.invoke(
            FUNCTION,
            json!({ "action": "sleep", "seconds": 0.5 }).to_string()
        ),
        lambda.invoke(
            FUNCTION,
            json!({ "action": "sleep", "seconds": 0.5 }).to_string()
        )
    );
    let pids = vec![pid_of(&a.unwrap()), pid_of(&b.unwrap())];
    assert_ne!(pids[0], pids[1]);
    assert!(pids.iter().all(|pid| running(*pid)));
    pids
}

async fn local_aws_with(bootstrap: &Bootstrap) -> LocalAws {
    let mut config = demo_config();
    config.user_pool.trigger = Some(bootstrap.function("serve", |_| {}));
    LocalAws::start(config, "127.0.0.1".parse().unwrap(), Ports::ephemeral())
        .await
        .unwrap()
}

#[tokio::test]
async fn no_runtime_process_outlives_shutdown() {
    let bootstrap = Bootstrap::new();
    let aws = local_aws_with(&bootstrap).await;
    let pids = two_instances(&aws).await;
    aws.shutdown().await;
    for pid in pids {
        assert!(
            !running(pid),
            "process {pid} was killed and reaped at shutdown"
        );
    }
}

#[tokio::test]
async fn no_runtime_process_outlives_the_stand_ins_being_dropped() {
    let bootstrap = Bootstrap::new();
    let aws = local_aws_with(&bootstrap).await;
    let pids = two_instances(&aws).await;
    drop(aws);
    for pid in pids {
        assert!(!running(pid), "process {pid} was killed and reaped on drop");
    }
}

#[tokio::test]
async fn the_runtimes_output_goes_to_the_log_with_its_function_and_instance() {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime is single-threaded: the stand-in's tasks log through this subscriber too.
    let _guard = tracing::subscriber::set_default(subscriber);
    // Tests on other threads may have registered the stand-in's log call sites while this subscriber did not
    // exist yet, with an interest that leaves it out; recompute it now that it does.
    tracing::callsite::rebuild_interest_cache();

    let bootstrap = Bootstrap::new();
    let lambda = start(bootstrap.function("serve", |_| {})).await;
    call(
        &lambda,
        json!({ "action": "print", "line": "hello from the runtime" }),
    )
    .await;
    let expected = format!("{FUNCTION}[1] hello from the runtime");
    let stdout_line = format!("{expected} function={FUNCTION} instance=1 stream=\"stdout\"");
    let stderr_line =
        format!("{expected} (stderr) function={FUNCTION} instance=1 stream=\"stderr\"");
    // The two streams are read by separate tasks, so either line may come last: wait (up to ten seconds)
    // for both, not for any stdout line.
    let mut log = String::new();
    for _ in 0..200 {
        log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        if log.contains(&stdout_line) && log.contains(&stderr_line) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.contains(&stdout_line), "{log}");
    assert!(log.contains(&stderr_line), "{log}");
    assert!(
        log.contains("init_duration_ms="),
        "the cold start is logged: {log}"
    );
}
