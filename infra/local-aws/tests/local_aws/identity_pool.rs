//! The identity pool: `GetId` and `GetCredentialsForIdentity` over awsJson 1.1, ID-token verification, stable
//! identity ids, principal tags from claims, the upload role's trust policy, the real error shapes and CORS.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::World;

/// Calls `operation` with `input`: the status and the JSON answer.
async fn call(world: &World, operation: &str, input: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/", world.aws.identity_pool_endpoint()))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityService.{operation}"),
        )
        .body(input.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.1"
    );
    (status, response.json().await.unwrap())
}

fn provider(world: &World) -> String {
    format!(
        "cognito-idp.{}.amazonaws.com/{}",
        world.aws.region(),
        world.aws.user_pool_id()
    )
}

fn logins(world: &World, token: &str) -> Value {
    json!({ provider(world): token })
}

async fn get_id(world: &World, token: &str) -> (StatusCode, Value) {
    call(
        world,
        "GetId",
        json!({"IdentityPoolId": world.aws.identity_pool_id(), "Logins": logins(world, token)}),
    )
    .await
}

async fn credentials(world: &World, identity: &str, token: &str) -> (StatusCode, Value) {
    call(
        world,
        "GetCredentialsForIdentity",
        json!({"IdentityId": identity, "Logins": logins(world, token)}),
    )
    .await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a well-formed ID token of the pool for `sub`, which tests then spoil one at a time.
fn id_claims(world: &World, sub: &str) -> Value {
    json!({
        "sub": sub,
        "iss": world.aws.issuer(),
        "aud": world.web.client_id,
        "token_use": "id",
        "tenant_id": "0d8f6a3e-2b7c-4e1a-9c55-7a1d2b3c4d5e",
        "iat": now(),
        "auth_time": now(),
        "exp": now() + 600,
    })
}

fn error_type(body: &Value) -> &str {
    body["__type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_signed_in_user_gets_a_stable_identity_and_tagged_one_hour_credentials() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", "alice@acme.example").await;
    let id_token = tokens["id_token"].as_str().unwrap();

    let (status, first) = get_id(&world, id_token).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let identity = first["IdentityId"].as_str().unwrap().to_owned();
    let (region, uuid) = identity.split_once(':').unwrap();
    assert_eq!(region, world.aws.region());
    assert!(uuid::Uuid::parse_str(uuid).is_ok());
    assert_eq!(get_id(&world, id_token).await.1, first, "stable per user");
    let (_, bob_tokens) = world.sign_in("acme-entra", "bob@acme.example").await;
    let (_, bob) = get_id(&world, bob_tokens["id_token"].as_str().unwrap()).await;
    assert_ne!(bob["IdentityId"], first["IdentityId"]);

    // Claims the trigger would add (tenant_id) become principal tags: signed here with the pool's ID key.
    let sub = "5b0f7a3c-alice";
    let tagged = world.aws.sign_id_token(&id_claims(&world, sub));
    let (_, id) = get_id(&world, &tagged).await;
    let identity = id["IdentityId"].as_str().unwrap();
    let (status, body) = credentials(&world, identity, &tagged).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["IdentityId"], identity);
    let issued = &body["Credentials"];
    let access_key = issued["AccessKeyId"].as_str().unwrap();
    assert!(access_key.starts_with("ASIA"), "{access_key}");
    assert_eq!(issued["SecretKey"].as_str().unwrap().len(), 40);
    let expiration = issued["Expiration"].as_u64().unwrap();
    assert!(
        (now() + 3590..=now() + 3600).contains(&expiration),
        "one hour"
    );
    let session = world
        .aws
        .credentials()
        .check(access_key, issued["SessionToken"].as_str())
        .unwrap();
    assert_eq!(session.identity_id, identity);
    assert!(session.role_arn.ends_with(":role/saas-reference-uploads"));
    assert_eq!(
        session.principal_tags,
        [
            (
                "tenant_id".to_owned(),
                "0d8f6a3e-2b7c-4e1a-9c55-7a1d2b3c4d5e".to_owned()
            ),
            ("user_id".to_owned(), sub.to_owned()),
        ]
        .into()
    );
}

#[tokio::test]
async fn tokens_the_pool_must_not_accept_get_the_real_error_types() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", "alice@acme.example").await;
    let sub = "victim";
    let spoiled = |change: &dyn Fn(&mut Value)| {
        let mut claims = id_claims(&world, sub);
        change(&mut claims);
        world.aws.sign_id_token(&claims)
    };
    // A character in the middle of the signature: every one of its bits counts (the last base64url
    // character of an RSA-2048 signature carries only two).
    let signed = world.aws.sign_id_token(&id_claims(&world, sub));
    let signature_start = signed.rfind('.').unwrap() + 1;
    let middle = signature_start + (signed.len() - signature_start) / 2;
    let flipped = if &signed[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &signed[..middle], &signed[middle + 1..]);
    let cases: Vec<(&str, String)> = vec![
        (
            "an access token",
            tokens["access_token"].as_str().unwrap().to_owned(),
        ),
        ("expired", spoiled(&|c| c["exp"] = json!(now() - 5))),
        (
            "a foreign issuer",
            spoiled(&|c| {
                c["iss"] = json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
            }),
        ),
        (
            "another client's audience",
            spoiled(&|c| c["aud"] = json!("some-other-client")),
        ),
        (
            "token_use access",
            spoiled(&|c| c["token_use"] = json!("access")),
        ),
        ("a tampered signature", tampered),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (name, token) in cases {
        let (status, body) = get_id(&world, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(
            error_type(&body),
            "NotAuthorizedException",
            "{name}: {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }

    let id_token = world.aws.sign_id_token(&id_claims(&world, sub));
    let (status, body) = call(
        &world,
        "GetId",
        json!({"IdentityPoolId": world.aws.identity_pool_id()}),
    )
    .await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "NotAuthorizedException"),
        "no logins: {body}"
    );
    let (_, body) = call(
        &world,
        "GetId",
        json!({"IdentityPoolId": world.aws.identity_pool_id(), "Logins": {"accounts.google.com": id_token}}),
    )
    .await;
    assert_eq!(
        error_type(&body),
        "NotAuthorizedException",
        "another provider: {body}"
    );
    let (_, body) = call(
        &world,
        "GetId",
        json!({"IdentityPoolId": "eu-west-1:00000000-0000-4000-8000-000000000000", "Logins": logins(&world, &id_token)}),
    )
    .await;
    assert_eq!(error_type(&body), "ResourceNotFoundException", "{body}");
    let (_, body) = call(
        &world,
        "GetId",
        json!({"IdentityPoolId": "not a pool", "Logins": logins(&world, &id_token)}),
    )
    .await;
    assert_eq!(error_type(&body), "InvalidParameterException", "{body}");
    let (status, body) = call(&world, "DescribeIdentityPool", json!({})).await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "UnknownOperationException")
    );
}

#[tokio::test]
async fn credentials_need_the_identitys_own_token() {
    let world = World::start().await;
    let alice = world.aws.sign_id_token(&id_claims(&world, "alice-sub"));
    let mallory = world.aws.sign_id_token(&id_claims(&world, "mallory-sub"));
    let (_, id) = get_id(&world, &alice).await;
    let alice_identity = id["IdentityId"].as_str().unwrap();

    let (status, body) = credentials(&world, alice_identity, &mallory).await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "NotAuthorizedException"),
        "{body}"
    );
    let (_, body) = credentials(
        &world,
        "eu-west-1:00000000-0000-4000-8000-000000000000",
        &alice,
    )
    .await;
    assert_eq!(error_type(&body), "ResourceNotFoundException", "{body}");
    let (status, _) = credentials(&world, alice_identity, &alice).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn browsers_may_call_the_identity_pool_across_origins() {
    let world = World::start().await;
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/", world.aws.identity_pool_endpoint()),
        )
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target,x-amz-user-agent",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-amz-target"), "{allowed}");
}

#[tokio::test]
async fn a_signed_out_sign_in_gets_no_more_credentials_server_side_token_check() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", "alice@acme.example").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, id) = get_id(&world, id_token).await;
    let identity = id["IdentityId"].as_str().unwrap();
    let (status, body) = credentials(&world, identity, id_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Sign-out: the app revokes the sign-in's refresh token (RevokeToken).
    let revoked = world
        .revoke(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);

    // The ID token is still signed and unexpired, but the identity pool asks the user pool first.
    let (status, body) = credentials(&world, identity, id_token).await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "NotAuthorizedException"),
        "{body}"
    );
    // Another sign-in of the same user is unaffected.
    let (_, again) = world.sign_in("acme-entra", "alice@acme.example").await;
    let (status, body) = credentials(&world, identity, again["id_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Without the check (the setting off), the revoked sign-in's token still gets credentials, as on AWS.
    let unchecked =
        World::start_with(|config| config.identity_pool.server_side_token_check.clear()).await;
    let (_, tokens) = unchecked.sign_in("acme-entra", "alice@acme.example").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, id) = get_id(&unchecked, id_token).await;
    let identity = id["IdentityId"].as_str().unwrap();
    unchecked
        .revoke(tokens["refresh_token"].as_str().unwrap())
        .await;
    let (status, body) = credentials(&unchecked, identity, id_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_claim_too_long_for_a_principal_tag_gets_no_credentials() {
    let world = World::start().await;
    let mut claims = id_claims(&world, "long-tenant");
    claims["tenant_id"] = json!("t".repeat(257));
    let token = world.aws.sign_id_token(&claims);
    let (_, id) = get_id(&world, &token).await;
    let identity = id["IdentityId"].as_str().unwrap();
    let (status, body) = credentials(&world, identity, &token).await;
    assert_eq!(
        (status, error_type(&body)),
        (
            StatusCode::BAD_REQUEST,
            "InvalidIdentityPoolConfigurationException"
        ),
        "{body}"
    );
    claims["tenant_id"] = json!("t".repeat(256));
    let token = world.aws.sign_id_token(&claims);
    let (status, body) = credentials(&world, identity, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
