//! Health probes, dependency outages (503, never 500), the trigger endpoint's secret, unknown API routes and
//! the web app's fallback.

use backend::config::Secret;
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use reqwest::StatusCode;
use shared::{ErrorBody, ErrorCode};

use crate::helpers::{CAROL, ExtraBackend, TestApp, browser, closed_port_url, location};
use crate::postgres::infra_dir;

#[tokio::test]
async fn healthz_and_readyz_answer_200_when_everything_is_up() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_the_database_down_readyz_and_the_api_answer_503_not_500() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&CAROL).await;
    let mut config = app.config.clone();
    let closed = closed_port_url().await.replace("http://", "");
    config.database_url = Secret::new(format!("postgres://saas_app_test:x@{closed}/nowhere"));
    let down = ExtraBackend::spawn(config).await;
    let client = reqwest::Client::new();

    assert_eq!(
        client
            .get(down.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let response = client.get(down.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::ServiceUnavailable
    );

    let response = client
        .get(down.url("/api/v1/me"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::ServiceUnavailable
    );

    let response = client
        .get(down.url("/api/v1/me"))
        .header("cookie", "saas_session=AAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a session cannot be read either"
    );
}

#[tokio::test]
async fn with_the_user_pool_down_sign_in_answers_503_and_recovers_without_restart() {
    let app = TestApp::spawn().await;
    // A backend whose user pool is not there yet: it starts anyway.
    let pool_url = closed_port_url().await;
    let pool_port: u16 = pool_url.rsplit(':').next().unwrap().parse().unwrap();
    let mut config = app.config.clone();
    config.cognito_issuer =
        url::Url::parse(&format!("{pool_url}/{}", app.aws.user_pool_id())).unwrap();
    let backend = ExtraBackend::spawn(config).await;
    let response = browser()
        .get(backend.url("/auth/login?email=carol@globex.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::ServiceUnavailable
    );

    // The pool comes up on that address: sign-in works without restarting the backend.
    let aws_config = LocalAwsConfig::load(&infra_dir()).unwrap();
    let ports = Ports {
        cognito_idp: pool_port,
        ..Ports::ephemeral()
    };
    let _pool = LocalAws::start(aws_config, "127.0.0.1".parse().unwrap(), ports)
        .await
        .unwrap();
    let response = browser()
        .get(backend.url("/auth/login?email=carol@globex.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).path().ends_with("/oauth2/authorize"));
}

#[tokio::test]
async fn the_trigger_endpoint_refuses_a_missing_or_wrong_secret() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let url = app.url("/internal/cognito/pre-token-generation");
    let response = client
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = client
        .post(&url)
        .header("x-trigger-secret", "wrong")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::Unauthenticated
    );
}

#[tokio::test]
async fn the_trigger_endpoint_answers_a_malformed_event_as_a_lambda_function_error() {
    let app = TestApp::spawn().await;
    let secret = app
        .config
        .trigger_shared_secret
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let response = reqwest::Client::new()
        .post(app.url("/internal/cognito/pre-token-generation"))
        .header("x-trigger-secret", secret)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("x-amz-function-error").unwrap(),
        "Unhandled"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errorType"], "InvalidEvent");
}

#[tokio::test]
async fn without_a_trigger_secret_the_trigger_route_does_not_exist() {
    let app = TestApp::spawn().await;
    let mut config = app.config.clone();
    config.trigger_shared_secret = None;
    let backend = ExtraBackend::spawn(config).await;
    let response = reqwest::Client::new()
        .post(backend.url("/internal/cognito/pre-token-generation"))
        .header("x-trigger-secret", "anything")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_ne!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_api_routes_answer_404_json_and_client_routes_get_the_web_app() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    for path in ["/api/v1/nope", "/api/nope", "/api/v2/me"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.json::<ErrorBody>().await.unwrap().code,
            ErrorCode::NotFound,
            "{path}"
        );
    }
    let response = client.get(app.url("/members/123")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("SaaS reference"));
}

#[tokio::test]
async fn an_anonymous_api_request_is_401_with_the_json_error_body() {
    let app = TestApp::spawn().await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers().get("x-request-id").is_some(),
        "every response carries a request id"
    );
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::Unauthenticated
    );
}
