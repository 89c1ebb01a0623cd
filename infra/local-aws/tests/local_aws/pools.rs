//! Several user pools from configuration: the operators' pool beside the tenants' one, each with its own issuer,
//! keys, domain and app clients, and the user-pool API finding each by its id.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// The key ids of a JWKS document.
fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_pool_has_its_own_issuer_keys_and_domain() {
    let world = World::start_bare().await;
    let operators = world.aws.user_pool("operators").unwrap();
    assert_eq!(operators.user_pool_id(), "eu-west-1_L0caL0pera");
    assert_ne!(operators.issuer(), world.aws.issuer());
    assert_ne!(operators.auth_domain(), world.aws.auth_domain());
    // Both issuers live on the one `cognito-idp` host, under each pool's id.
    assert_eq!(
        operators.issuer(),
        format!(
            "{}/{}",
            world.aws.user_pool_endpoint(),
            operators.user_pool_id()
        )
    );

    let discovery: Value = world
        .get(&format!(
            "{}/.well-known/openid-configuration",
            operators.issuer()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], operators.issuer());
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{}/oauth2/authorize", operators.auth_domain())
    );
    let jwks_of = |issuer: String| {
        let world = &world;
        async move {
            let response = world.get(&format!("{issuer}/.well-known/jwks.json")).await;
            assert_eq!(response.status(), StatusCode::OK);
            kids(&response.json().await.unwrap())
        }
    };
    let operator_kids = jwks_of(operators.issuer().to_owned()).await;
    let tenant_kids = jwks_of(world.aws.issuer()).await;
    assert_eq!(
        operator_kids.len(),
        2,
        "an access-token key and an ID-token key"
    );
    assert!(
        operator_kids.iter().all(|kid| !tenant_kids.contains(kid)),
        "a token of one pool can never verify with the other's keys"
    );
}

#[tokio::test]
async fn a_client_is_known_only_at_its_own_pools_domain() {
    let world = World::start_bare().await;
    let operators = world.aws.user_pool("operators").unwrap();
    let console = operators.client("console").unwrap();
    let authorize = |domain: &str| {
        url::Url::parse_with_params(
            &format!("{domain}/oauth2/authorize"),
            [
                ("client_id", console.client_id.as_str()),
                (
                    "redirect_uri",
                    "http://localhost:3000/operator/auth/callback",
                ),
                ("response_type", "code"),
                ("scope", "openid email"),
                ("state", "s"),
            ],
        )
        .unwrap()
        .to_string()
    };
    // At its own domain the console's request goes to the operators' managed login page.
    let own = location(&world.get(&authorize(operators.auth_domain())).await);
    assert!(
        own.starts_with(&format!("{}/login?", operators.auth_domain())),
        "{own}"
    );
    let login = world.get(&own).await;
    assert_eq!(login.status(), StatusCode::OK);
    let page = login.text().await.unwrap();
    assert!(page.contains("saas-reference-operators"), "{page}");

    // The tenants' pool has no such client: its own error page, no redirect.
    let other = world.get(&authorize(&world.aws.auth_domain())).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert!(other.headers().get("location").is_none());
    // Nor does the operators' pool know the tenants' web client.
    assert!(
        world
            .aws
            .user_pool("operators")
            .unwrap()
            .client("web")
            .is_none()
    );
}

#[tokio::test]
async fn the_user_pool_api_finds_each_pool_by_its_id_and_the_policy_decides_per_pool() {
    let world = World::start_bare().await;
    let operators = world.aws.user_pool("operators").unwrap();
    // The backend's policy does not let it touch the operators' pool's identity providers.
    let denied = user_pool_api(&world.aws)
        .list_identity_providers()
        .user_pool_id(operators.user_pool_id())
        .send()
        .await;
    let (kind, message) = api_error(denied);
    assert_eq!(kind, "AccessDeniedException");
    assert!(message.contains(&operators.arn()), "{message}");

    let world = World::start_bare_with(allow_the_backend_every_user_pool_call).await;
    let operators = world.aws.user_pool("operators").unwrap();
    let listed = user_pool_api(&world.aws)
        .list_identity_providers()
        .user_pool_id(operators.user_pool_id())
        .send()
        .await
        .unwrap();
    assert!(listed.providers().is_empty());
    let console = user_pool_api(&world.aws)
        .describe_user_pool_client()
        .user_pool_id(operators.user_pool_id())
        .client_id(operators.client("console").unwrap().client_id)
        .send()
        .await
        .unwrap();
    let client = console.user_pool_client().unwrap();
    assert_eq!(client.user_pool_id(), Some(operators.user_pool_id()));
    assert_eq!(
        client.supported_identity_providers(),
        ["COGNITO".to_owned()]
    );
    // The tenants' web client is not a client of the operators' pool.
    let missing = user_pool_api(&world.aws)
        .describe_user_pool_client()
        .user_pool_id(operators.user_pool_id())
        .client_id(world.web.client_id.clone())
        .send()
        .await;
    assert_eq!(api_error(missing).0, "ResourceNotFoundException");
}
