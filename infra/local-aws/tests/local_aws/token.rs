//! `/oauth2/token`, `/oauth2/userInfo` and `/oauth2/revoke`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn code(world: &World, attempt: &Attempt) -> String {
    world.code_for(attempt, "acme-entra", ALICE).await
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_is_invalid_grant() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let code1 = code(&world, &attempt).await;
    let wrong = Attempt::new();
    let (status, body) = world.exchange(&code1, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (_, body) = world.exchange(&code1, &attempt).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "a failed attempt used the code up"
    );

    let code2 = code(&world, &attempt).await;
    let (status, body) = world
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code2),
            ("redirect_uri", &world.callback),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_the_first_tokens() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let code = code(&world, &attempt).await;
    let (status, first) = world.exchange(&code, &attempt).await;
    assert_eq!(status, StatusCode::OK);
    let (status, replay) = world.exchange(&code, &attempt).await;
    assert_eq!(
        (status, replay),
        (
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_grant"})
        )
    );
    let (_, refreshed) = world
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed["error"], "invalid_grant");
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorize_one_is_invalid_grant() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let code = code(&world, &attempt).await;
    let (_, body) = world
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:3000/other"),
            ("code_verifier", &attempt.verifier),
        ])
        .await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let world = World::start_with(|config| {
        config.user_pool.authorization_code_validity = std::time::Duration::ZERO
    })
    .await;
    let attempt = Attempt::new();
    let code = code(&world, &attempt).await;
    let (_, body) = world.exchange(&code, &attempt).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_wrong_or_missing_client_secret_is_invalid_client() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let code = code(&world, &attempt).await;
    let wrong = local_aws::ClientCredentials {
        client_secret: "guess".into(),
        ..world.web.clone()
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", world.callback.as_str()),
        ("code_verifier", attempt.verifier.as_str()),
    ];
    let (status, body) = world.token_request_as(&wrong, &form).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "invalid_client"})
        )
    );
    let response = world
        .http
        .post(format!("{}/oauth2/token", world.aws.auth_domain()))
        .form(
            &[("client_id", world.web.client_id.as_str())]
                .iter()
                .chain(form.iter())
                .collect::<Vec<_>>(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn client_secret_post_works_like_basic() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let code = code(&world, &attempt).await;
    let response = world
        .http
        .post(format!("{}/oauth2/token", world.aws.auth_domain()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &world.web.client_id),
            ("client_secret", &world.web.client_secret),
            ("code", &code),
            ("redirect_uri", &world.callback),
            ("code_verifier", &attempt.verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn an_unsupported_grant_type_is_refused() {
    let world = World::start().await;
    let (status, body) = world
        .token_request(&[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn refresh_returns_new_access_and_id_tokens_of_the_same_sign_in() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let (status, refreshed) = world
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(
        refreshed.get("refresh_token").is_none(),
        "no new refresh token"
    );
    let (_, before) = world
        .verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    let (_, after) = world
        .verify(refreshed["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(after["origin_jti"], before["origin_jti"]);
    assert_eq!(after["auth_time"], before["auth_time"]);
    assert_ne!(after["jti"], before["jti"]);
    assert_eq!(after["scope"], before["scope"]);
    let (_, id) = world
        .verify(
            refreshed["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(id["sub"], before["sub"]);
    assert!(id.get("nonce").is_none());
}

#[tokio::test]
async fn another_clients_refresh_token_is_invalid_grant() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let machine = world.aws.client("machine").unwrap();
    let (_, body) = world
        .token_request_as(
            &machine,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(body["error"], "invalid_grant");
}

async fn userinfo(world: &World, access_token: &str) -> reqwest::Response {
    world
        .http
        .get(format!("{}/oauth2/userInfo", world.aws.auth_domain()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn userinfo_returns_the_users_attributes_as_strings() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    let response = userinfo(&world, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let info: Value = response.json().await.unwrap();
    let (_, access) = world
        .verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(info["sub"], access["sub"]);
    assert_eq!(info["username"], format!("globex-okta_{CAROL_ID}"));
    assert_eq!(info["email"], CAROL);
    assert_eq!(info["email_verified"], "true");
    assert_eq!(info["name"], "Carol Chen");
    let identities: Value = serde_json::from_str(info["identities"].as_str().unwrap()).unwrap();
    assert_eq!(identities[0]["userId"], CAROL_ID);
}

#[tokio::test]
async fn userinfo_refuses_missing_forged_and_scope_less_tokens() {
    let world = World::start().await;
    let response = world
        .get(&format!("{}/oauth2/userInfo", world.aws.auth_domain()))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=")
    );

    let response = userinfo(&world, "not.a.token").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let machine = world.aws.client("machine").unwrap();
    let (_, m2m) = world
        .token_request_as(&machine, &[("grant_type", "client_credentials")])
        .await;
    let response = userinfo(&world, m2m["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let (_, mut claims) = world
        .verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    claims.insert("exp".into(), 1_000.into());
    let expired = world.aws.sign_access_token(&Value::Object(claims));
    let response = userinfo(&world, &expired).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_a_refresh_token_stops_refresh_and_userinfo_for_its_access_tokens() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let (_, other) = world.sign_in("acme-entra", ALICE).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&world, access).await.status(), StatusCode::OK);

    let response = world
        .revoke(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let (_, refreshed) = world
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed["error"], "invalid_grant");
    assert_eq!(
        userinfo(&world, access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        userinfo(&world, other["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK,
        "other sign-ins live on"
    );
}

#[tokio::test]
async fn revoke_needs_the_right_client_credentials() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    let response = world
        .http
        .post(format!("{}/oauth2/revoke", world.aws.auth_domain()))
        .basic_auth(&world.web.client_id, Some("guess"))
        .form(&[("token", tokens["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn client_credentials_issue_a_machine_access_token_with_the_clients_scopes() {
    let world = World::start().await;
    let machine = world.aws.client("machine").unwrap();
    let (status, body) = world
        .token_request_as(&machine, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let (_, claims) = world
        .verify(body["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(claims["sub"], machine.client_id.as_str());
    assert_eq!(claims["client_id"], machine.client_id.as_str());
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims["scope"], "saas-api/read");
    assert!(claims.get("username").is_none() && claims.get("aud").is_none());

    let (_, body) = world
        .token_request_as(
            &machine,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "saas-api/read"),
            ],
        )
        .await;
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn client_credentials_refuse_scopes_beyond_the_clients_and_clients_without_the_flow() {
    let world = World::start().await;
    let machine = world.aws.client("machine").unwrap();
    for scope in ["saas-api/write", "saas-api/read saas-api/admin", "openid"] {
        let (status, body) = world
            .token_request_as(
                &machine,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scope")),
            "{scope}"
        );
    }
    let (_, body) = world
        .token_request(&[("grant_type", "client_credentials")])
        .await;
    assert_eq!(body["error"], "unauthorized_client");
}
