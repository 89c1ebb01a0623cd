//! Attribute mapping at federated sign-in, as Cognito does it: attributes are written only from claims the
//! IdP sends, and only when the pool's schema has them and the app client may write them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::helpers::*;

async fn id_token_claims(world: &World, provider: &str, username: &str) -> Map<String, Value> {
    let (_, tokens) = world.sign_in(provider, username).await;
    world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await
        .1
}

/// A sign-in that the pool refuses after the IdP answered: the error redirect's parameters.
async fn refused_sign_in(world: &World, provider: &str, username: &str) -> HashMap<String, String> {
    let attempt = Attempt::new();
    let callback = world.callback_for(&attempt, provider, username).await;
    assert!(callback.starts_with(&world.callback), "{callback}");
    let params = query(&callback);
    assert!(!params.contains_key("code"), "{callback}");
    assert_eq!(params["state"], attempt.state);
    assert_eq!(params["error"], "invalid_request");
    params
}

#[tokio::test]
async fn an_attribute_whose_claim_the_idp_stops_sending_keeps_its_value() {
    let world = World::start().await;
    let before = id_token_claims(&world, "acme-entra", BOB).await;
    assert_eq!(before["custom:idp_groups"], "[SaaS-Users]");

    // A directory administrator takes Bob's app role away: Entra then sends no roles claim at all.
    assert!(
        world
            .aws
            .update_entra_user(BOB, |bob| bob.app_roles.clear())
    );
    let entra = world
        .idp_id_token("acme-entra", BOB, "openid email profile", "n")
        .await;
    assert!(!entra.contains_key("roles"), "{entra:?}");

    let after = id_token_claims(&world, "acme-entra", BOB).await;
    assert_eq!(after["sub"], before["sub"]);
    assert_eq!(
        after["custom:idp_groups"], "[SaaS-Users]",
        "Cognito only updates attributes from claims that are present"
    );
}

#[tokio::test]
async fn a_claim_the_idp_still_sends_updates_its_attribute() {
    let world = World::start().await;
    assert_eq!(
        id_token_claims(&world, "globex-okta", CAROL).await["custom:idp_groups"],
        "[saas-admin]"
    );
    assert!(world.aws.update_okta_user(CAROL, |carol| {
        carol.groups = vec!["saas-viewer".into()];
        carol.name = "Carol Chen-Ito".into();
    }));
    let after = id_token_claims(&world, "globex-okta", CAROL).await;
    assert_eq!(after["custom:idp_groups"], "[saas-viewer]");
    assert_eq!(after["name"], "Carol Chen-Ito");
}

#[tokio::test]
async fn directory_changes_for_unknown_users_are_refused() {
    let world = World::start().await;
    assert!(!world.aws.update_entra_user("nobody@acme.example", |_| {}));
    assert!(!world.aws.update_okta_user("nobody@globex.example", |_| {}));
    assert!(
        !world.aws.update_okta_user(ALICE, |_| {}),
        "Alice is in Entra, not Okta"
    );
}

#[tokio::test]
async fn a_mapped_attribute_the_client_may_not_write_fails_the_sign_in() {
    let world = World::start_with(|config| {
        let web = config.clients.get_mut("web").unwrap();
        web.write_attributes.retain(|a| a != "custom:idp_groups");
    })
    .await;
    let params = refused_sign_in(&world, "acme-entra", ALICE).await;
    assert_eq!(
        params["error_description"],
        "Invalid user attributes: custom:idp_groups: Attribute cannot be updated."
    );
}

#[tokio::test]
async fn a_mapping_to_an_attribute_outside_the_schema_fails_the_sign_in() {
    let world = World::start_with(|config| {
        let okta = config
            .identity_providers
            .iter_mut()
            .find(|idp| idp.name == "globex-okta")
            .unwrap();
        okta.attribute_mapping
            .insert("custom:tenant_id".into(), "sub".into());
    })
    .await;
    let params = refused_sign_in(&world, "globex-okta", CAROL).await;
    assert_eq!(
        params["error_description"],
        "Invalid user attributes: custom:tenant_id: Attribute does not exist in the schema."
    );
}

#[tokio::test]
async fn a_username_mapping_other_than_sub_is_refused_at_start() {
    let mut config = demo_config();
    config.identity_providers[0]
        .attribute_mapping
        .insert("username".into(), "oid".into());
    let error = local_aws::LocalAws::start(
        config,
        "127.0.0.1".parse().unwrap(),
        local_aws::Ports::ephemeral(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("username"), "{error}");
}
