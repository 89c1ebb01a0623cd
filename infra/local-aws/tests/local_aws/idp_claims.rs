//! The mock IdPs' ID tokens have the real services' claim shapes, and the pool keys Entra users by the
//! pairwise `sub` those tokens carry.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::helpers::*;

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn entra_tenant_id() -> String {
    demo_provider("acme-entra").entra_tenant_id.unwrap()
}

#[tokio::test]
async fn an_entra_id_token_has_entras_v2_claims() {
    let world = World::start().await;
    let client_id = demo_provider("acme-entra").client_id;
    let claims = world
        .idp_id_token("acme-entra", ALICE, "openid email profile", "nonce-a")
        .await;
    let tid = entra_tenant_id();
    assert_eq!(
        claims["iss"],
        format!("{}/{tid}/v2.0", world.aws.entra_base())
    );
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["tid"], tid.as_str());
    assert_eq!(claims["oid"], ALICE_OID);
    let sub = claims["sub"].as_str().unwrap();
    assert!(
        !sub.is_empty() && sub != ALICE_OID,
        "sub is pairwise, not the oid"
    );
    assert_eq!(claims["preferred_username"], ALICE);
    assert_eq!(claims["name"], "Alice Anderson");
    assert_eq!(claims["email"], ALICE);
    assert_eq!(claims["roles"], json!(["SaaS-Admins"]));
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["nonce"], "nonce-a");
    let nbf = claims["nbf"].as_i64().unwrap();
    assert!(nbf <= now() + 1 && claims["exp"].as_i64().unwrap() > now());
    assert!(claims["iat"].as_i64().unwrap() >= nbf);
}

#[tokio::test]
async fn entra_sends_roles_only_to_users_who_have_some() {
    let world = World::start().await;
    let claims = world
        .idp_id_token("acme-entra", ERIN, "openid email profile", "n")
        .await;
    assert_eq!(claims["preferred_username"], ERIN);
    assert!(!claims.contains_key("roles"), "{claims:?}");
}

#[tokio::test]
async fn entras_sub_differs_per_application_while_oid_and_tid_stay() {
    // A second application registered in Acme's directory, with a pool provider of its own.
    let mut partner = demo_provider("acme-entra");
    partner.name = "acme-entra-partner".into();
    partner.client_id = "5d0c2b7e-1f3a-4b6c-9d8e-ac3e0000b2b2".into();
    partner.client_secret = "partner-secret".into();
    partner.verified_domains = Vec::new();
    let registration = local_aws::config::RegisteredApplication {
        client_id: partner.client_id.clone(),
        client_secret: partner.client_secret.clone(),
    };
    let world =
        World::start_with(|config| config.directories.entra[0].apps.push(registration)).await;
    create_provider(&world.aws, &partner).await;
    let main = world.idp_id_token("acme-entra", ALICE, "openid", "n").await;
    let partner = world
        .idp_id_token("acme-entra-partner", ALICE, "openid", "n")
        .await;
    assert_ne!(main["sub"], partner["sub"]);
    assert_ne!(main["aud"], partner["aud"]);
    assert_eq!(main["oid"], partner["oid"]);
    assert_eq!(main["tid"], partner["tid"]);
    assert!(
        !main.contains_key("email") && !main.contains_key("name"),
        "profile and email claims only for their scopes: {main:?}"
    );
}

#[tokio::test]
async fn the_pool_names_entra_users_after_their_pairwise_sub() {
    let world = World::start().await;
    let entra = world.idp_id_token("acme-entra", BOB, "openid", "n").await;
    let (_, tokens) = world.sign_in("acme-entra", BOB).await;
    let (_, id) = world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    let sub = entra["sub"].as_str().unwrap();
    assert_eq!(id["identities"][0]["userId"], sub);
    // Cognito lower-cases federated user names; the identity keeps the IdP's subject as it is.
    assert_eq!(
        id["cognito:username"],
        format!("acme-entra_{}", sub.to_lowercase())
    );
}

#[tokio::test]
async fn an_okta_id_token_has_oktas_claims() {
    let world = World::start().await;
    let client_id = demo_provider("globex-okta").client_id;
    let claims = world
        .idp_id_token(
            "globex-okta",
            CAROL,
            "openid email profile groups",
            "nonce-c",
        )
        .await;
    assert_eq!(
        claims["iss"],
        format!("{}/oauth2/default", world.aws.okta_base())
    );
    assert_eq!(claims["aud"], client_id.as_str());
    assert_eq!(claims["sub"], CAROL_ID);
    assert_eq!(claims["email"], CAROL);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["preferred_username"], CAROL);
    assert_eq!(claims["name"], "Carol Chen");
    assert_eq!(claims["groups"], json!(["saas-admin"]));
    assert_eq!(claims["nonce"], "nonce-c");
}

#[tokio::test]
async fn okta_sends_groups_only_when_they_are_asked_for() {
    let world = World::start().await;
    let claims = world
        .idp_id_token("globex-okta", CAROL, "openid email profile", "n")
        .await;
    assert_eq!(claims["sub"], CAROL_ID);
    assert_eq!(claims["email_verified"], Value::Bool(true));
    assert!(!claims.contains_key("groups"), "{claims:?}");
}
