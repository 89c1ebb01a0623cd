//! Discovery documents and key sets of the pool and the mock IdPs.

use serde_json::Value;

use crate::helpers::{World, demo_provider};

#[tokio::test]
async fn the_pool_discovery_document_has_cognitos_fields() {
    let world = World::start().await;
    let issuer = world.aws.issuer();
    let auth = world.aws.auth_domain();
    assert_eq!(
        issuer,
        format!(
            "{}/{}",
            issuer.rsplit_once('/').unwrap().0,
            world.aws.user_pool_id()
        )
    );
    assert!(!issuer.ends_with('/'));
    let doc: Value = world
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{auth}/oauth2/authorize")
    );
    assert_eq!(doc["token_endpoint"], format!("{auth}/oauth2/token"));
    assert_eq!(doc["userinfo_endpoint"], format!("{auth}/oauth2/userInfo"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert!(
        doc["response_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"code".into())
    );
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"openid".into())
    );
}

#[tokio::test]
async fn the_jwks_publishes_two_rs256_keys_one_for_access_and_one_for_id_tokens() {
    let world = World::start().await;
    let jwks = world.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["e"], "AQAB");
        // A 2048-bit modulus is 256 bytes: 342 base64url characters.
        assert_eq!(key["n"].as_str().unwrap().len(), 342);
    }
    let admin = world.aws.keys();
    assert_ne!(admin.access_kid(), admin.id_kid());
    assert_eq!(
        admin.published_kids(),
        vec![admin.access_kid(), admin.id_kid()]
    );
}

#[tokio::test]
async fn the_mock_idps_publish_discovery_under_their_issuers() {
    let world = World::start_bare().await;
    for provider in ["acme-entra", "globex-okta"] {
        let issuer = demo_provider(provider).issuer(&world.aws);
        let doc: Value = world
            .get(&format!("{issuer}/.well-known/openid-configuration"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], issuer.as_str());
        let jwks: Value = world
            .get(doc["jwks_uri"].as_str().unwrap())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    }
    assert_eq!(
        world
            .aws
            .entra_issuer("6f1c2a3e-0acb-4d5e-9f10-ac3e00000001"),
        format!(
            "{}/6f1c2a3e-0acb-4d5e-9f10-ac3e00000001/v2.0",
            world.aws.entra_base()
        )
    );
    assert_eq!(
        world.aws.okta_issuer(),
        format!("{}/oauth2/default", world.aws.okta_base())
    );
}

#[tokio::test]
async fn an_unknown_entra_tenant_is_an_error() {
    let world = World::start().await;
    let url = format!(
        "{}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration",
        world.aws.entra_base()
    );
    let response = world.get(&url).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_tenant");
}

#[tokio::test]
async fn the_issuer_host_can_be_taken_down_while_the_hosted_endpoints_keep_working() {
    let world = World::start().await;
    let issuer = world.aws.issuer();
    let keys = format!("{issuer}/.well-known/jwks.json");
    let login = format!("{}/login", world.aws.auth_domain());
    world.aws.set_cognito_idp_down(true);
    for url in [
        keys.clone(),
        format!("{issuer}/.well-known/openid-configuration"),
    ] {
        let response = world.get(&url).await;
        assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["__type"], "ServiceUnavailable");
    }
    assert_ne!(
        world.get(&login).await.status(),
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "the user pool's domain is another host"
    );
    world.aws.set_cognito_idp_down(false);
    assert_eq!(world.get(&keys).await.status(), reqwest::StatusCode::OK);
}
