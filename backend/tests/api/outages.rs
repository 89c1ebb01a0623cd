//! Dependencies that go away while the backend serves: the database cut off under load (as during a restart),
//! the user pool's keys unreachable, the identity pool or S3 down. Every answer is a prompt 503 with the app's
//! JSON body (never a 500, never a hang), what the backend already knows keeps working, it serves again on
//! its own once the dependency is back, and nothing is left half-written.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backend::config::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::{ErrorBody, ErrorCode};
use testkit::infra_dir;
use testkit::outage::Gate;
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

use crate::files::upload;
use crate::helpers::{
    ALICE, BOB, CAROL, ExtraBackend, FlowEnd, PASSWORD, SignedIn, TestApp, browser_with_jar,
    closed_port_url,
};

/// The backend's own limit for one request (`app.rs`): no request may take longer, outage or not.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A 503 with the app's `service_unavailable` body: what every call needing a missing dependency answers.
const UNAVAILABLE: (StatusCode, Option<ErrorCode>) = (
    StatusCode::SERVICE_UNAVAILABLE,
    Some(ErrorCode::ServiceUnavailable),
);
/// How long after the database is back the backend must serve again.
const RECOVERY: Duration = Duration::from_secs(5);

/// What one request of the load got.
#[derive(Debug)]
struct Outcome {
    what: &'static str,
    started: Instant,
    took: Duration,
    /// The status, or `None` when no answer came within the client's own limit (a hang).
    status: Option<StatusCode>,
    /// The body's error code, for error answers.
    code: Option<ErrorCode>,
    /// The id of a report the answer says was created.
    created: Option<Uuid>,
}

/// Sends `request` (with a client-side limit past the backend's own) and records what came back.
async fn attempt(what: &'static str, request: reqwest::RequestBuilder) -> Outcome {
    let started = Instant::now();
    let answer = request
        .timeout(REQUEST_TIMEOUT + Duration::from_secs(15))
        .send()
        .await;
    let took = started.elapsed();
    let Ok(response) = answer else {
        return Outcome {
            what,
            started,
            took,
            status: None,
            code: None,
            created: None,
        };
    };
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = (!status.is_success())
        .then(|| serde_json::from_value::<ErrorBody>(body.clone()).ok())
        .flatten()
        .map(|body| body.code);
    let created = (status == StatusCode::CREATED)
        .then(|| body["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()))
        .flatten();
    Outcome {
        what,
        started,
        took,
        status: Some(status),
        code,
        created,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_restart_under_load_gets_prompt_503s_and_the_backend_serves_again_with_nothing_half_written()
 {
    let app = TestApp::spawn().await;
    let alice = app.pool_tokens(&ALICE).await.access_token;
    let bob = app.sign_in(&BOB).await;
    // A second backend on the same database, reached through a gate: closing it cuts every connection and
    // refuses new ones, as a database restart does; reopening it is the database back on its address.
    let database = Url::parse(&app.db.app_url).unwrap();
    let gate = Gate::open_to(&database).await.unwrap();
    let mut config = app.config.clone();
    config.database_url = Secret::new(gate.url_for(&database).unwrap().to_string());
    let backend = Arc::new(ExtraBackend::spawn(config).await.unwrap());
    let client = reqwest::Client::new();

    // Readers and writers through both transports: bearer tokens and Bob's browser session (cookies ignore
    // ports, so his session cookie reaches this backend too).
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = Vec::new();
    for worker in 0..6 {
        let (running, backend, client, alice) = (
            running.clone(),
            backend.clone(),
            client.clone(),
            alice.clone(),
        );
        let session = bob.browser.clone();
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut n = 0;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let outcome = match (worker + n) % 3 {
                    0 => {
                        attempt(
                            "read (bearer)",
                            client
                                .get(backend.url("/api/v1/reports"))
                                .bearer_auth(&alice),
                        )
                        .await
                    }
                    1 => {
                        attempt(
                            "write (bearer)",
                            client
                                .post(backend.url("/api/v1/reports"))
                                .bearer_auth(&alice)
                                .json(&json!({"title": format!("Load {worker}-{n}"), "body": "x"})),
                        )
                        .await
                    }
                    _ => attempt("read (session)", session.get(backend.url("/api/v1/me"))).await,
                };
                outcomes.push(outcome);
            }
            outcomes
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let down_at = Instant::now();
    gate.close().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    gate.reopen().await.unwrap();
    let back_at = Instant::now();
    // The backend serves again without a restart, within seconds.
    let mut serving_at = None;
    while back_at.elapsed() < RECOVERY * 2 {
        let probe = attempt(
            "probe",
            client
                .get(backend.url("/api/v1/reports"))
                .bearer_auth(&alice),
        )
        .await;
        if probe.status == Some(StatusCode::OK) {
            serving_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let serving_at = serving_at.expect("the backend serves again once the database is back");
    assert!(
        serving_at - back_at <= RECOVERY,
        "serving again took {:?} after the database came back",
        serving_at - back_at
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap());
    }

    // Every request ended within the backend's limit with a success or a 503 `service_unavailable`.
    let mut counts = BTreeMap::new();
    for outcome in &outcomes {
        *counts
            .entry((outcome.what, outcome.status.map(|s| s.as_u16())))
            .or_insert(0) += 1;
        assert!(
            outcome.took <= REQUEST_TIMEOUT,
            "a request hung: {outcome:?}"
        );
        match outcome.status {
            Some(StatusCode::OK | StatusCode::CREATED) => {}
            Some(StatusCode::SERVICE_UNAVAILABLE) => assert_eq!(
                outcome.code,
                Some(ErrorCode::ServiceUnavailable),
                "{outcome:?}"
            ),
            _ => panic!("neither a success nor a 503: {outcome:?}"),
        }
    }
    eprintln!("outcomes by request and status: {counts:?}");
    let during = |outcome: &&Outcome| outcome.started >= down_at && outcome.started < back_at;
    assert!(
        outcomes
            .iter()
            .filter(during)
            .any(|outcome| outcome.status == Some(StatusCode::SERVICE_UNAVAILABLE)),
        "requests during the outage got 503"
    );
    for outcome in outcomes.iter().filter(|o| o.started >= serving_at) {
        assert!(
            outcome.status.is_some_and(|status| status.is_success()),
            "once serving again, every request succeeds: {outcome:?}"
        );
    }

    // Nothing half-written: every report created has its audit entry and every entry its report, and every
    // report the API said it created exists.
    let without_audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reports AS r WHERE NOT EXISTS (SELECT 1 FROM audit_events AS a \
         WHERE a.action = 'report_created' AND a.target_id = r.id::text)",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    let without_report: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events AS a WHERE a.action = 'report_created' AND NOT EXISTS \
         (SELECT 1 FROM reports AS r WHERE r.id::text = a.target_id)",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap();
    assert_eq!((without_audit, without_report), (0, 0));
    let created: Vec<Uuid> = outcomes.iter().filter_map(|o| o.created).collect();
    assert!(!created.is_empty(), "reports were written under load");
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE id = ANY($1)")
        .bind(&created)
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(found, i64::try_from(created.len()).unwrap());
}

/// The claims of a JWT, unverified.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn with_the_user_pools_keys_unreachable_known_keys_keep_verifying_and_an_unknown_key_is_503_not_401()
 {
    let app = TestApp::spawn().await;
    let carol = claims_of(&app.pool_tokens(&CAROL).await.access_token);
    // A user pool of its own (same configuration, its own keys) for a second backend, so that the test can
    // take the pool's JWKS away; its tokens are Carol's, reissued by it.
    let pool = LocalAws::start(
        LocalAwsConfig::load(&infra_dir()).unwrap(),
        "127.0.0.1".parse().unwrap(),
        Ports::ephemeral(),
    )
    .await
    .unwrap();
    let reissue = |pool: &LocalAws| {
        let mut claims = carol.clone();
        claims["iss"] = json!(pool.issuer());
        claims["jti"] = json!(Uuid::new_v4().to_string());
        pool.sign_access_token(&claims)
    };
    let mut config = app.config.clone();
    config.cognito_issuer = Url::parse(&pool.issuer()).unwrap();
    let backend = ExtraBackend::spawn(config).await.unwrap();
    let me = |token: String| {
        reqwest::Client::new()
            .get(backend.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(me(reissue(&pool)).await.unwrap().status(), StatusCode::OK);
    let signed_before = reissue(&pool);
    pool.keys().rotate_access_key();
    let signed_with_a_new_key = reissue(&pool);

    pool.shutdown().await;
    assert_eq!(
        me(signed_before).await.unwrap().status(),
        StatusCode::OK,
        "a token signed with a key the backend already has verifies without the JWKS"
    );
    for _ in 0..2 {
        let response = me(signed_with_a_new_key.clone()).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "an unknown key is not the token's fault while the keys cannot be fetched: clients retry \
             instead of signing the user out"
        );
        assert_eq!(
            response.json::<ErrorBody>().await.unwrap().code,
            ErrorCode::ServiceUnavailable
        );
    }
}

#[tokio::test]
async fn a_sign_in_whose_id_token_names_a_key_that_cannot_be_fetched_ends_on_the_sign_in_page_saying_so()
 {
    let app = TestApp::spawn().await;
    let (browser, _jar) = browser_with_jar();
    // The backend has read the pool's keys when the sign-in started; then the pool signs with a new ID-token
    // key, and its key set cannot be read any more while its sign-in and token endpoints still work.
    let FlowEnd::Callback(callback) = app
        .walk(
            &browser,
            &format!("email={}", BOB.email),
            BOB.email,
            PASSWORD,
        )
        .await
    else {
        panic!("the sign-in did not reach the callback");
    };
    app.aws.keys().rotate_id_key();
    app.aws.set_cognito_idp_down(true);
    assert_eq!(
        app.finish(&browser, &callback).await,
        "/?error=service_unavailable",
        "a key the backend cannot fetch is an outage, not a bad token: the person is asked to try again"
    );
    assert_eq!(
        app.sign_in_landing(&BOB).await,
        "/?error=service_unavailable",
        "still down"
    );

    // Back up: once the penalty window of the failed fetch (10 s) has passed, sign-in works again without
    // a restart.
    app.aws.set_cognito_idp_down(false);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let landing = app.sign_in_landing(&BOB).await;
        if landing == "/" {
            break;
        }
        assert_eq!(landing, "/?error=service_unavailable");
        assert!(Instant::now() < deadline, "sign-in did not recover");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `POST path` on `backend` through `user`'s browser session (its cookie reaches any port of `localhost`),
/// with that backend's origin: the status and the body's error code.
async fn post_through(
    user: &SignedIn,
    backend: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Option<ErrorCode>) {
    let response = user
        .browser
        .post(format!("{backend}{path}"))
        .header("origin", backend)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let code = response
        .json::<ErrorBody>()
        .await
        .ok()
        .map(|body| body.code);
    (status, code)
}

#[tokio::test]
async fn with_the_identity_pool_down_upload_credentials_are_503_and_come_back_with_it() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.identity_pool.close().await;
    let (status, code) = post_through(
        &alice,
        &app.address,
        "/api/v1/storage/credentials",
        json!({}),
    )
    .await;
    assert_eq!((status, code), UNAVAILABLE);

    app.identity_pool.reopen().await.unwrap();
    let (status, _) = post_through(
        &alice,
        &app.address,
        "/api/v1/storage/credentials",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn with_s3_down_recording_an_upload_and_credentials_under_a_quota_are_503_and_nothing_is_recorded()
 {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let carol = app.sign_in(&CAROL).await;
    let key = upload(&alice, "minutes.pdf", b"minutes").await;
    // A second backend on the same database and identity pool whose S3 is not there.
    let mut config = app.config.clone();
    config.storage.s3_endpoint = Some(Url::parse(&closed_port_url().await).unwrap());
    let broken = ExtraBackend::spawn(config).await.unwrap();

    let (status, code) = post_through(
        &alice,
        &broken.address,
        "/api/v1/files",
        json!({"key": key}),
    )
    .await;
    assert_eq!(
        (status, code),
        UNAVAILABLE,
        "recording needs S3 to check and copy the object"
    );
    // Globex's plan has a storage quota, which counts the uploads waiting in S3 before credentials are vended.
    let (status, code) = post_through(
        &carol,
        &broken.address,
        "/api/v1/storage/credentials",
        json!({}),
    )
    .await;
    assert_eq!((status, code), UNAVAILABLE);
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM files")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(recorded, 0);

    // With S3 there, the same upload is recorded.
    let response = alice
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}
