//! Health probes, dependency outages (503, never 500), unknown API routes and the web app's fallback.

use backend::config::Secret;
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use reqwest::StatusCode;
use shared::{ErrorBody, ErrorCode};

use std::time::Duration;

use testkit::infra_dir;
use tokio::net::TcpListener;

use crate::helpers::{CAROL, ExtraBackend, TestApp, browser, closed_port_url, location};

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
    let down = ExtraBackend::spawn(config).await.unwrap();
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

    // Sign-in cannot look up the organisation: the browser is sent back to the sign-in page, which says so.
    let response = browser()
        .get(down.url("/auth/login?email=bob@acme.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_str(),
        down.url("/?error=service_unavailable")
    );
}

#[tokio::test]
async fn with_the_user_pool_down_sign_in_goes_back_to_the_sign_in_page_saying_so_and_recovers_without_restart()
 {
    let app = TestApp::spawn().await;
    // A backend whose user pool is not there yet: it starts anyway.
    let pool_url = closed_port_url().await;
    let pool_port: u16 = pool_url.rsplit(':').next().unwrap().parse().unwrap();
    let mut config = app.config.clone();
    config.cognito_issuer =
        url::Url::parse(&format!("{pool_url}/{}", app.aws.user_pool_id())).unwrap();
    let backend = ExtraBackend::spawn(config).await.unwrap();
    let response = browser()
        .get(backend.url("/auth/login?email=carol@globex.example"))
        .send()
        .await
        .unwrap();
    // A browser is on this route: it is sent to the sign-in page, which explains the code, not to JSON.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response).as_str(),
        backend.url("/?error=service_unavailable")
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
    // A failed discovery is not retried for a second, so that an outage is not met with a request per
    // sign-in; after that the pool is used again.
    let mut response = None;
    for _ in 0..20 {
        let attempt = browser()
            .get(backend.url("/auth/login?email=carol@globex.example"))
            .send()
            .await
            .unwrap();
        if !location(&attempt)
            .as_str()
            .ends_with("error=service_unavailable")
        {
            response = Some(attempt);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let response = response.expect("sign-in works again within five seconds");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).path().ends_with("/oauth2/authorize"));
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
async fn web_app_files_are_sent_precompressed_with_immutable_caching_and_pages_are_never_stored() {
    let app = TestApp::spawn().await;
    // A built web app's layout (`cargo xtask build-web`): hashed assets with brotli and gzip siblings.
    let dist = &app.config.web_dist_dir;
    let assets = dist.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    for (name, content) in [
        ("style.0123456789abcdef.css", "body{}"),
        ("style.0123456789abcdef.css.br", "brotli bytes"),
        ("style.0123456789abcdef.css.gz", "gzip bytes"),
        ("index.html.br", "brotli page"),
    ] {
        let dir = if name.starts_with("index") {
            dist
        } else {
            &assets
        };
        std::fs::write(dir.join(name), content).unwrap();
    }
    let client = reqwest::Client::new();
    let get = |path: &'static str, accept: &'static str| {
        client
            .get(app.url(path))
            .header(reqwest::header::ACCEPT_ENCODING, accept)
            .send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };

    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), "brotli bytes"),
        ("gzip", Some("gzip"), "gzip bytes"),
        ("identity", None, "body{}"),
    ] {
        let response = get("/assets/style.0123456789abcdef.css", accept)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        assert_eq!(header(&response, "content-encoding").as_deref(), encoding);
        assert_eq!(header(&response, "content-type").unwrap(), "text/css");
        assert_eq!(
            header(&response, "cache-control").unwrap(),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&response, "vary").unwrap(), "accept-encoding");
        assert_eq!(response.text().await.unwrap(), body);
    }

    // An asset of another build is missing, not the page, and must not be cached for a year.
    let missing = get("/assets/style.fedcba9876543210.css", "br")
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&missing, "cache-control").unwrap(), "no-store");

    // Every page of the app is index.html, compressed too, and never stored.
    for path in ["/", "/members", "/reports/123/edit"] {
        let response = get(path, "br").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "cache-control").unwrap(), "no-store");
        assert_eq!(header(&response, "content-encoding").unwrap(), "br");
        assert_eq!(response.text().await.unwrap(), "brotli page");
    }
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

#[tokio::test]
async fn a_body_over_the_limit_gets_413_with_the_json_error_body() {
    let app = TestApp::spawn().await;
    let response = reqwest::Client::new()
        .post(app.url("/auth/logout"))
        .header("origin", &app.address)
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().code,
        ErrorCode::PayloadTooLarge
    );
}

#[tokio::test]
async fn a_malformed_query_string_gets_400_with_the_json_error_body() {
    let app = TestApp::spawn().await;
    for path in [
        "/auth/login?email=alice@acme.example&email=carol@globex.example",
        "/auth/callback?state=a&state=b",
    ] {
        let response = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            response.json::<ErrorBody>().await.unwrap().code,
            ErrorCode::InvalidRequest,
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    for path in [
        "/healthz",
        "/api/v1/me",
        "/",
        "/members/1",
        "/auth/login?email=x",
    ] {
        let response = browser().get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers.get("x-frame-options").unwrap(), "DENY", "{path}");
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "img-src 'self';",
            "connect-src 'self' http://127.0.0.1:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains('*'),
            "{path}: {csp}"
        );
    }
    let response = client.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.headers().get("x-frame-options").unwrap(), "DENY");
}

#[tokio::test]
async fn a_backend_whose_database_role_could_see_past_row_level_security_refuses_to_serve() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&CAROL).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let member_of_owner = format!("owner_member_{suffix}");
    let bypass = format!("bypass_{suffix}");
    sqlx::raw_sql(&format!(
        "CREATE ROLE {member_of_owner} LOGIN PASSWORD 'p'; GRANT saas_app TO {member_of_owner}; \
         GRANT postgres TO {member_of_owner}; \
         CREATE ROLE {bypass} LOGIN BYPASSRLS PASSWORD 'p'; GRANT saas_app TO {bypass}"
    ))
    .execute(&app.db.owner)
    .await
    .unwrap();
    let mut owner_url = url::Url::parse(&app.db.app_url).unwrap();
    owner_url.set_username("postgres").unwrap();
    owner_url
        .set_password(Some(
            url::Url::parse(&app.db.owner_url)
                .unwrap()
                .password()
                .unwrap(),
        ))
        .unwrap();
    let mut urls = vec![owner_url.to_string()];
    for role in [&member_of_owner, &bypass] {
        let mut url = url::Url::parse(&app.db.app_url).unwrap();
        url.set_username(role).unwrap();
        url.set_password(Some("p")).unwrap();
        urls.push(url.to_string());
    }
    for database_url in urls {
        let mut config = app.config.clone();
        config.database_url = Secret::new(database_url.clone());
        let backend = ExtraBackend::spawn(config).await.unwrap();
        let client = reqwest::Client::new();
        let response = client.get(backend.url("/readyz")).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{database_url}"
        );
        assert_eq!(
            response.json::<ErrorBody>().await.unwrap().code,
            ErrorCode::ServiceUnavailable
        );
        let response = client
            .get(backend.url("/api/v1/me"))
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "no data is served with {database_url}"
        );
    }
}

/// Forwards every connection accepted on `listener` to `target` (a stand-in for a database server that
/// comes up on that port).
fn forward(listener: TcpListener, target: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

#[tokio::test]
async fn the_backend_recovers_without_restart_when_the_database_comes_up() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&CAROL).await;
    let real = url::Url::parse(&app.db.app_url).unwrap();
    let target = format!("{}:{}", real.host_str().unwrap(), real.port().unwrap());
    let closed = closed_port_url().await;
    let port: u16 = closed.rsplit(':').next().unwrap().parse().unwrap();
    let mut not_yet_there = real.clone();
    not_yet_there.set_port(Some(port)).unwrap();
    not_yet_there.set_host(Some("127.0.0.1")).unwrap();
    let mut config = app.config.clone();
    config.database_url = Secret::new(not_yet_there.to_string());
    let backend = ExtraBackend::spawn(config).await.unwrap();
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(backend.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    // The database appears on that port.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let proxy = forward(listener, target);
    let mut ready = false;
    for _ in 0..40 {
        if client
            .get(backend.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::OK
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "readyz turns 200 without a restart");
    let response = client
        .get(backend.url("/api/v1/me"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    proxy.abort();
}

#[test]
fn backend_migrate_never_creates_the_local_demo_login_on_a_remote_database() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("migrate")
        .env_clear()
        .env(
            "DATABASE_OWNER_URL",
            "postgres://owner@db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/saas",
        )
        .env("DATABASE_OWNER_PASSWORD", "owner-secret")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL must name"), "{stderr}");
    assert!(!stderr.contains("owner-secret"), "{stderr}");
}

#[test]
fn backend_seed_demo_refuses_to_run_outside_local_development() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("seed-demo")
        .env_clear()
        .env("PUBLIC_URL", "https://app.example.com")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a plain-http localhost URL")
            || stderr.contains("for local development only"),
        "{stderr}"
    );
}

#[test]
fn backend_migrate_refuses_published_passwords_for_a_database_beyond_this_machine() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .arg("migrate")
        .env_clear()
        .env(
            "DATABASE_OWNER_URL",
            "postgres://postgres:local-dev-owner-password@db.invalid:5432/saas",
        )
        .env(
            "DATABASE_URL",
            "postgres://saas_app_login@db.invalid:5432/saas",
        )
        .env("DATABASE_PASSWORD", "local-dev-app-password")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("password published in this repository")
            && stderr.contains("DATABASE_OWNER_URL, DATABASE_PASSWORD"),
        "both variables are named before any connection is tried: {stderr}"
    );
    assert!(!stderr.contains("local-dev-"), "{stderr}");
}

#[test]
fn backend_seed_demo_refuses_a_database_or_user_pool_beyond_this_machine() {
    for (name, value, refusal) in [
        (
            "DATABASE_OWNER_URL",
            "postgres://postgres:secret@db.invalid:5432/saas",
            "for local development only: DATABASE_OWNER_URL must name a database on this machine",
        ),
        (
            "COGNITO_IDP_ENDPOINT",
            "aws",
            "PUBLIC_URL is not a plain-http localhost URL or an AWS endpoint is not a local stand-in",
        ),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backend"));
        command.arg("seed-demo").env_clear().env(
            "DATABASE_OWNER_URL",
            "postgres://postgres:secret@127.0.0.1:1/saas",
        );
        let output = command.env(name, value).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(refusal), "{name}={value}: {stderr}");
    }
}

#[test]
fn backend_serve_and_reconcile_idps_refuse_a_public_start_with_published_values_naming_each() {
    for command in ["serve", "reconcile-idps"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
            .arg(command)
            .env_clear()
            .env("PUBLIC_URL", "https://app.example.com")
            .env(
                "DATABASE_URL",
                "postgres://saas_app_login@db.invalid:5432/saas",
            )
            .env("DATABASE_PASSWORD", "local-dev-app-password")
            .env(
                "COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_L0caLP00l",
            )
            .env(
                "COGNITO_AUTH_DOMAIN",
                "https://acme.auth.eu-west-1.amazoncognito.com",
            )
            .env("COGNITO_CLIENT_ID", "6m2ch1ne0loca10c1ient0id0")
            .env(
                "COGNITO_CLIENT_SECRET",
                "local-demo-machine-client-secret-not-for-production",
            )
            .env(
                "SESSION_ENCRYPTION_KEY",
                "local-demo-web-client-secret-not-for-production",
            )
            .env(
                "IDENTITY_POOL_ID",
                "eu-west-1:11111111-2222-4333-8444-555555555555",
            )
            .env("IDENTITY_POOL_ENDPOINT", "aws")
            .env("UPLOAD_BUCKET", "saas-reference-uploads")
            .env("S3_ENDPOINT", "https://127.0.0.1:9234")
            .env("COGNITO_IDP_ENDPOINT", "aws")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for name in [
            "DATABASE_PASSWORD (holds a value published",
            "COGNITO_ISSUER (holds the published local demo value",
            "COGNITO_CLIENT_ID (holds a value published",
            "COGNITO_CLIENT_SECRET (holds a value published",
            "SESSION_ENCRYPTION_KEY (holds a value published",
            "UPLOAD_BUCKET (holds the published local demo value",
            "S3_ENDPOINT (points at this machine",
        ] {
            assert!(stderr.contains(name), "{command}: {name}: {stderr}");
        }
        assert!(
            !stderr.contains("local-dev-app-password") && !stderr.contains("client-secret"),
            "{command}: {stderr}"
        );
    }
}
