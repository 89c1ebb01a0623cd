//! During OIDC federation the pool also calls the IdP's userInfo endpoint with the IdP's access token, by
//! the provider's `attributes_request_method`, and maps attributes from its claims as well as the ID
//! token's (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-oidc-flow.html).

use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::types::IdentityProviderTypeType;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::helpers::*;

/// A userInfo endpoint under the test's control: what it answers, and the requests it got (method and
/// `Authorization` header).
#[derive(Clone)]
struct UserInfoServer {
    answer: Arc<Mutex<(StatusCode, Value)>>,
    requests: Arc<Mutex<Vec<(Method, String)>>>,
}

async fn serve_user_info(
    State(server): State<UserInfoServer>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    server
        .requests
        .lock()
        .unwrap()
        .push((method, authorization));
    let (status, body) = server.answer.lock().unwrap().clone();
    (status, axum::Json(body)).into_response()
}

async fn start_user_info(answer: Value) -> (UserInfoServer, String) {
    let server = UserInfoServer {
        answer: Arc::new(Mutex::new((StatusCode::OK, answer))),
        requests: Arc::default(),
    };
    let app = axum::Router::new()
        .route(
            "/userinfo",
            axum::routing::get(serve_user_info).post(serve_user_info),
        )
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/userinfo", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url)
}

/// Globex's Okta provider with its userInfo at `attributes_url`, asked by `method`, and `name` mapped from
/// the userInfo-only claim `nickname`.
async fn okta_with_user_info(world: &World, attributes_url: &str, method: &str) {
    let okta = demo_provider("globex-okta");
    user_pool_api(&world.aws)
        .create_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name(&okta.name)
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", &okta.client_id)
        .provider_details("client_secret", &okta.client_secret)
        .provider_details("authorize_scopes", &okta.authorize_scopes)
        .provider_details("attributes_request_method", method)
        .provider_details("oidc_issuer", okta.issuer(&world.aws))
        .provider_details("attributes_url", attributes_url)
        .attribute_mapping("email", "email")
        .attribute_mapping("name", "nickname")
        .send()
        .await
        .unwrap();
    update_client(&world.aws, &world.web.client_id, |u| {
        u.supported_identity_providers(&okta.name)
    })
    .await;
}

async fn id_token_claims(world: &World) -> serde_json::Map<String, Value> {
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await
        .1
}

#[tokio::test]
async fn the_pool_maps_claims_only_user_info_has_asking_by_the_providers_method() {
    for method in ["GET", "POST"] {
        let world = World::start_bare().await;
        let (server, url) =
            start_user_info(json!({"sub": CAROL_ID, "nickname": "Carol from userInfo"})).await;
        okta_with_user_info(&world, &url, method).await;
        let claims = id_token_claims(&world).await;
        assert_eq!(claims["name"], "Carol from userInfo", "{method}");
        assert_eq!(
            claims["email"], CAROL,
            "the ID token's claims are mapped too"
        );
        let requests = server.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1, "{method}");
        assert_eq!(requests[0].0.as_str(), method);
        assert!(requests[0].1.starts_with("Bearer "), "{:?}", requests[0]);
    }
}

#[tokio::test]
async fn the_id_tokens_value_stays_where_user_info_disagrees() {
    let world = World::start_bare().await;
    let (_, url) = start_user_info(
        json!({"sub": CAROL_ID, "nickname": "Carol", "email": "someone-else@globex.example"}),
    )
    .await;
    okta_with_user_info(&world, &url, "GET").await;
    assert_eq!(id_token_claims(&world).await["email"], CAROL);
}

#[tokio::test]
async fn user_info_about_another_subject_or_failing_fails_the_sign_in() {
    let world = World::start_bare().await;
    let (server, url) = start_user_info(json!({"sub": "00u-someone-else", "nickname": "x"})).await;
    okta_with_user_info(&world, &url, "GET").await;
    let params = query(
        &world
            .callback_for(&Attempt::new(), "globex-okta", CAROL)
            .await,
    );
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(
        params["error_description"],
        "Bad id_token from identity provider"
    );

    *server.answer.lock().unwrap() = (StatusCode::INTERNAL_SERVER_ERROR, json!({}));
    let params = query(
        &world
            .callback_for(&Attempt::new(), "globex-okta", CAROL)
            .await,
    );
    assert_eq!(
        params["error_description"],
        "globex-okta Error - 500 error getting user info"
    );
}

#[tokio::test]
async fn the_mock_idps_user_info_endpoints_answer_in_their_vendors_shapes() {
    let world = World::start().await;
    // Entra (Microsoft Graph's OIDC userInfo): the ID token's pairwise sub, name and email, nothing else.
    let entra = demo_provider("acme-entra");
    let discovery: Value = world
        .get(&format!(
            "{}/.well-known/openid-configuration",
            entra.issuer(&world.aws)
        ))
        .await
        .json()
        .await
        .unwrap();
    let user_info = discovery["userinfo_endpoint"].as_str().unwrap().to_owned();
    let (id_claims, access_token) = world
        .idp_tokens("acme-entra", ALICE, "openid email profile", "n")
        .await;
    let info: Value = world
        .http
        .get(&user_info)
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], id_claims["sub"]);
    assert_eq!(info["email"], ALICE);
    assert!(info.get("roles").is_none() && info.get("xms_edov").is_none());
    let refused = world
        .http
        .post(&user_info)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "InvalidAuthenticationToken");
}
