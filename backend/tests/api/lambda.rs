//! The `pre-token-generation` binary as a Lambda function: it serves the Lambda Runtime API of the stand-in
//! (the path every sign-in of these tests takes), answers V2 events with the tenant claims, and reports
//! refusals and faults as Lambda function errors carrying only a stable error code.

use local_aws::lambda::InvokeOutput;
use serde_json::{Value, json};

use crate::helpers::*;

/// Alice's Entra subject in the demo directory.
const ALICE_SUBJECT: &str = "0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001";

/// A well-formed sign-in event for Alice from `app`'s user pool and web client, as the user pool sends it.
fn alice_event(app: &TestApp) -> Value {
    let identities = json!([{
        "userId": ALICE_SUBJECT, "providerName": "acme-entra", "providerType": "OIDC", "issuer": null,
        "primary": "true", "dateCreated": "1700000000000"
    }]);
    json!({
        "version": "2",
        "triggerSource": "TokenGeneration_HostedAuth",
        "region": "eu-west-1",
        "userPoolId": app.aws.user_pool_id(),
        "userName": format!("acme-entra_{ALICE_SUBJECT}"),
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": app.config.cognito_client_id},
        "request": {
            "userAttributes": {
                "sub": "5f0c7b9e-0000-4000-8000-00000000a11c",
                "email": ALICE.email,
                "name": ALICE.name,
                "identities": identities.to_string(),
                "custom:idp_groups": "[\"SaaS-Admins\"]",
            },
            "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null},
            "scopes": ["openid", "saas-api/read", "saas-api/admin"],
        },
        "response": {"claimsAndScopeOverrideDetails": null}
    })
}

/// The trigger function's name (`local.json`).
fn function(app: &TestApp) -> String {
    app.aws.lambda().functions().into_iter().next().unwrap()
}

async fn invoke(app: &TestApp, payload: impl Into<bytes::Bytes>) -> InvokeOutput {
    app.aws
        .lambda()
        .invoke(&function(app), payload)
        .await
        .unwrap()
}

fn response(output: &InvokeOutput) -> Value {
    let body = output
        .response()
        .unwrap_or_else(|| panic!("a function error: {:?}", output.function_error()));
    serde_json::from_slice(body).unwrap()
}

/// The function error's (`errorType`, `errorMessage`).
fn error(output: &InvokeOutput) -> (String, String) {
    let error = output
        .function_error()
        .unwrap_or_else(|| panic!("a response: {:?}", output.response()));
    (error.error_type.clone(), error.error_message.clone())
}

#[tokio::test]
async fn the_binary_answers_a_v2_event_through_the_runtime_api_with_the_tenant_claims() {
    let app = TestApp::spawn().await;
    let cold = invoke(&app, alice_event(&app).to_string()).await;
    assert!(
        cold.init_duration.is_some(),
        "the first invocation starts the function"
    );
    let answer = response(&cold);
    let access = &answer["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"];
    let tenant_id = app.db.tenant_id("acme").await;
    assert_eq!(
        access["claimsToAddOrOverride"]["tenant_id"],
        tenant_id.to_string()
    );
    assert_eq!(access["claimsToAddOrOverride"]["tenant_role"], "admin");
    assert_eq!(access["scopesToSuppress"], json!([]));
    assert_eq!(
        answer["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
            ["tenant_plan"],
        "pro"
    );
    // The instance stays warm for the next invocation.
    let warm = invoke(&app, alice_event(&app).to_string()).await;
    assert_eq!(warm.init_duration, None);
    assert_eq!(
        response(&warm)["userName"],
        format!("acme-entra_{ALICE_SUBJECT}")
    );
    let metrics = app.aws.lambda().metrics(&function(&app)).unwrap();
    assert_eq!(metrics.cold_starts.len(), 1);
    assert_eq!(metrics.function_errors, 0);
}

#[tokio::test]
async fn refusals_are_function_errors_carrying_only_the_stable_error_code() {
    let app = TestApp::spawn().await;
    let mut unknown = alice_event(&app);
    let identities = json!([{
        "userId": "someone", "providerName": "nobody-idp", "providerType": "OIDC", "primary": "true"
    }]);
    unknown["userName"] = json!("nobody-idp_someone");
    unknown["request"]["userAttributes"]["identities"] = json!(identities.to_string());
    let output = invoke(&app, unknown.to_string()).await;
    assert_eq!(
        error(&output),
        (
            "SignInRefused".to_owned(),
            "unknown_identity_provider".to_owned()
        )
    );

    let mut native = alice_event(&app);
    native["request"]["userAttributes"]
        .as_object_mut()
        .unwrap()
        .remove("identities");
    let output = invoke(&app, native.to_string()).await;
    assert_eq!(error(&output).1, "unknown_identity_provider");
}

#[tokio::test]
async fn events_of_another_user_pool_and_malformed_events_are_invalid_and_the_function_keeps_serving()
 {
    let app = TestApp::spawn().await;
    let mut other_pool = alice_event(&app);
    other_pool["userPoolId"] = json!("eu-west-1_SomeoneElse");
    let output = invoke(&app, other_pool.to_string()).await;
    assert_eq!(
        error(&output),
        ("InvalidEvent".to_owned(), "invalid_request".to_owned())
    );

    let mut version_1 = alice_event(&app);
    version_1["version"] = json!("1");
    let output = invoke(&app, version_1.to_string()).await;
    assert_eq!(error(&output).1, "invalid_request");

    // Valid JSON that is no event at all: the runtime's own deserialization error, not a crash.
    let output = invoke(&app, r#"{"hello": "world"}"#).await;
    assert!(output.function_error().is_some());
    assert_ne!(
        error(&output).0,
        "Runtime.ExitError",
        "the process survives"
    );

    let output = invoke(&app, alice_event(&app).to_string()).await;
    assert!(output.response().is_some());
    assert_eq!(
        app.aws
            .lambda()
            .metrics(&function(&app))
            .unwrap()
            .cold_starts
            .len(),
        1,
        "one instance served them all"
    );
}

#[tokio::test]
async fn with_the_database_refusing_connections_the_trigger_fails_as_service_unavailable() {
    let port = url::Url::parse(&closed_port_url().await)
        .unwrap()
        .port()
        .unwrap();
    let unreachable = format!("postgres://saas_app_test:p@127.0.0.1:{port}/saas");
    let app = TestApp::spawn_with(Box::new(move |_, aws| {
        aws.user_pool
            .trigger
            .as_mut()
            .unwrap()
            .environment
            .insert("DATABASE_URL".to_owned(), unreachable);
    }))
    .await;
    let output = invoke(&app, alice_event(&app).to_string()).await;
    // Not Lambda's timeout: the function gives up on the database before the pool's 5 seconds run out.
    assert_eq!(
        error(&output),
        (
            "ServiceUnavailable".to_owned(),
            "service_unavailable".to_owned()
        )
    );
    // The whole sign-in fails with that code, shown to the user as the outage it is.
    assert_eq!(
        app.sign_in_landing(&ALICE).await,
        "/?error=service_unavailable"
    );
}

#[tokio::test]
async fn with_a_database_that_never_answers_the_trigger_gives_up_before_cognitos_limit() {
    // A server that accepts connections and never says a word: the connection attempt hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let app = TestApp::spawn_with(Box::new(move |_, aws| {
        aws.user_pool.trigger.as_mut().unwrap().environment.insert(
            "DATABASE_URL".to_owned(),
            format!("postgres://saas_app_test:p@127.0.0.1:{port}/saas"),
        );
    }))
    .await;
    let output = invoke(&app, alice_event(&app).to_string()).await;
    // The function's own 5-second timeout would answer `Sandbox.Timedout`: the trigger stops waiting for the
    // database first and says why.
    assert_eq!(
        error(&output),
        (
            "ServiceUnavailable".to_owned(),
            "service_unavailable".to_owned()
        )
    );
    held.abort();
}

#[tokio::test]
async fn a_configuration_error_ends_the_function_during_init() {
    let app = TestApp::spawn_with(Box::new(|_, aws| {
        aws.user_pool
            .trigger
            .as_mut()
            .unwrap()
            .environment
            .remove("DATABASE_URL");
    }))
    .await;
    let output = invoke(&app, alice_event(&app).to_string()).await;
    let (error_type, _) = error(&output);
    assert!(
        error_type.starts_with("Runtime."),
        "Lambda reports the failed runtime: {error_type}"
    );
}

#[tokio::test]
async fn a_first_sign_in_whose_first_attempt_times_out_is_retried_and_joins_once() {
    // The function may outlive Cognito's 5-second wait (here 20 s, so that its own timeout does not end the
    // first attempt): the pool stops waiting and invokes it again while the first attempt still runs, as
    // Cognito does.
    let app = TestApp::spawn_with(Box::new(|_, aws| {
        aws.user_pool.trigger.as_mut().unwrap().settings.timeout =
            std::time::Duration::from_secs(20);
    }))
    .await;
    // Writes to `members` wait for 7 seconds: the first attempt is still waiting when the pool gives up on
    // it after 5, and both attempts then go on to admit Alice.
    let mut lock = app.db.owner.begin().await.unwrap();
    sqlx::query("LOCK TABLE members IN SHARE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        lock.commit().await.unwrap();
    });

    let landing = app.sign_in_landing(&ALICE).await;
    release.await.unwrap();
    assert_eq!(landing, "/", "the retried attempt answered");
    let metrics = app.aws.lambda().metrics(&function(&app)).unwrap();
    assert!(
        metrics.invocations >= 2,
        "the first attempt timed out and was retried: {metrics:?}"
    );

    // Whichever attempt finished first admitted Alice; the other found her. One member, one join.
    let acme = app.db.tenant_id("acme").await;
    let members: i64 =
        sqlx::query_scalar("SELECT count(*) FROM members WHERE tenant_id = $1 AND email = $2")
            .bind(acme)
            .bind(ALICE.email)
            .fetch_one(&app.db.owner)
            .await
            .unwrap();
    assert_eq!(members, 1);
    // The first attempt may still be finishing: wait until no transaction is open on the database but this
    // connection's before counting joins.
    for _ in 0..100 {
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')",
        )
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
        if busy == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let joins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'member_joined' \
         AND target_label = $2",
    )
    .bind(acme)
    .bind(ALICE.email)
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(joins, 1, "no duplicate audit entry");
    assert_eq!(app.sign_in(&ALICE).await.me().await.role, ALICE.role);
}
