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
    assert_eq!(before["custom:idp_groups"], r#"["SaaS-Users"]"#);

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
        after["custom:idp_groups"], r#"["SaaS-Users"]"#,
        "Cognito only updates attributes from claims that are present"
    );
}

#[tokio::test]
async fn an_entra_email_is_verified_only_in_a_domain_the_directory_verified() {
    let world = World::start().await;
    let verified = id_token_claims(&world, "acme-entra", ERIN).await;
    assert_eq!(verified["email_verified"], true);
    // The directory's administrators can set any mail attribute; xms_edov says whether its domain is theirs.
    assert!(world.aws.update_entra_user(ERIN, |erin| {
        erin.email = "erin@contractor.example".into();
    }));
    let unverified = id_token_claims(&world, "acme-entra", ERIN).await;
    assert_eq!(unverified["email"], "erin@contractor.example");
    assert_eq!(unverified["email_verified"], false);
}

#[tokio::test]
async fn a_claim_the_idp_still_sends_updates_its_attribute() {
    let world = World::start().await;
    assert_eq!(
        id_token_claims(&world, "globex-okta", CAROL).await["custom:idp_groups"],
        r#"["saas-admin"]"#
    );
    assert!(world.aws.update_okta_user(CAROL, |carol| {
        carol.groups = vec!["saas-viewer".into()];
        carol.name = "Carol Chen-Ito".into();
    }));
    let after = id_token_claims(&world, "globex-okta", CAROL).await;
    assert_eq!(after["custom:idp_groups"], r#"["saas-viewer"]"#);
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
        let web = config.user_pool.clients.get_mut("web").unwrap();
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
async fn a_mapping_to_an_attribute_outside_the_schema_is_refused_by_the_api() {
    let world = World::start().await;
    let mut mapping = demo_provider("globex-okta").attribute_mapping;
    mapping.insert("custom:tenant_id".into(), "sub".into());
    let result = user_pool_api(&world.aws)
        .update_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("globex-okta")
        .set_attribute_mapping(Some(mapping.into_iter().collect()))
        .send()
        .await;
    assert_eq!(
        api_error(result),
        (
            "InvalidParameterException".to_owned(),
            "AttributeMapping contains invalid mapping: [custom:tenant_id]".to_owned()
        )
    );
    // Nothing changed: Carol still signs in with her groups.
    let claims = id_token_claims(&world, "globex-okta", CAROL).await;
    assert_eq!(claims["custom:idp_groups"], r#"["saas-admin"]"#);
}

#[tokio::test]
async fn a_username_mapping_other_than_sub_is_refused_by_the_api() {
    let world = World::start().await;
    let mut mapping = demo_provider("acme-entra").attribute_mapping;
    mapping.insert("username".into(), "oid".into());
    let result = user_pool_api(&world.aws)
        .update_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .set_attribute_mapping(Some(mapping.clone().into_iter().collect()))
        .send()
        .await;
    let (kind, message) = api_error(result);
    assert_eq!(kind, "InvalidParameterException");
    assert!(message.contains("username"), "{message}");
    // Mapping it to sub is accepted and changes nothing: users are still <provider>_<sub>.
    mapping.insert("username".into(), "sub".into());
    user_pool_api(&world.aws)
        .update_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .set_attribute_mapping(Some(mapping.into_iter().collect()))
        .send()
        .await
        .unwrap();
    let claims = id_token_claims(&world, "acme-entra", ALICE).await;
    let username = claims["cognito:username"].as_str().unwrap();
    assert!(username.starts_with("acme-entra_"), "{username}");
    assert!(
        !username.ends_with(ALICE_OID),
        "the pairwise sub, not the oid"
    );
}

/// Carol in 300 directory groups besides her app group: their names alone are over 2,048 characters.
fn in_hundreds_of_groups(world: &World) {
    assert!(world.aws.update_okta_user(CAROL, |carol| {
        carol
            .groups
            .extend((0..300).map(|i| format!("directory-group-{i:04}")));
    }));
}

#[tokio::test]
async fn okta_s_groups_claim_filter_keeps_a_user_in_hundreds_of_groups_to_the_app_s_own() {
    let world = World::start().await;
    in_hundreds_of_groups(&world);
    let claims = id_token_claims(&world, "globex-okta", CAROL).await;
    assert_eq!(claims["custom:idp_groups"], r#"["saas-admin"]"#);
}

#[tokio::test]
async fn without_a_groups_filter_a_group_list_over_2048_characters_fails_the_sign_in() {
    let world = World::start_with(|config| {
        config.directories.okta[0].groups_claim_filter = None;
    })
    .await;
    in_hundreds_of_groups(&world);
    let params = refused_sign_in(&world, "globex-okta", CAROL).await;
    assert_eq!(
        params["error_description"],
        "Invalid user attributes: custom:idp_groups: String must be no longer than 2048 characters."
    );
}
