//! The user-pool API, called with the real `aws-sdk-cognitoidentityprovider` client signed with the backend's
//! key: identity providers and app clients as runtime state, Cognito's validation and error types, SigV4 and
//! the backend's IAM policy, and sign-ins that follow every change at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{
    IdentityProviderTypeType, OAuthFlowType, TimeUnitsType, TokenValidityUnitsType,
};
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// The details a new Entra provider for Acme's directory needs.
fn acme_details(world: &World) -> Vec<(&'static str, String)> {
    let acme = demo_provider("acme-entra");
    vec![
        ("client_id", acme.client_id.clone()),
        ("client_secret", acme.client_secret.clone()),
        ("authorize_scopes", acme.authorize_scopes.clone()),
        ("attributes_request_method", "GET".to_owned()),
        ("oidc_issuer", acme.issuer(&world.aws)),
    ]
}

/// `CreateIdentityProvider` of an OIDC provider named `name` with `details`.
async fn create(
    world: &World,
    name: &str,
    details: &[(&str, String)],
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::create_identity_provider::CreateIdentityProviderOutput,
    aws_sdk_cognitoidentityprovider::error::SdkError<
        aws_sdk_cognitoidentityprovider::operation::create_identity_provider::CreateIdentityProviderError,
    >,
>{
    let mut request = user_pool_api(&world.aws)
        .create_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name(name)
        .provider_type(IdentityProviderTypeType::Oidc);
    for (key, value) in details {
        request = request.provider_details(*key, value);
    }
    request.send().await
}

fn error(kind: &str, message: &str) -> (String, String) {
    (kind.to_owned(), message.to_owned())
}

#[tokio::test]
async fn a_created_provider_is_described_with_its_discovered_endpoints_and_its_secret() {
    let world = World::start_bare().await;
    let before = std::time::SystemTime::now();
    create_provider(&world.aws, &demo_provider("globex-okta")).await;
    let described = user_pool_api(&world.aws)
        .describe_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("globex-okta")
        .send()
        .await
        .unwrap();
    let provider = described.identity_provider().unwrap();
    assert_eq!(provider.provider_name(), Some("globex-okta"));
    assert_eq!(
        provider.provider_type(),
        Some(&IdentityProviderTypeType::Oidc)
    );
    assert_eq!(provider.user_pool_id(), Some(world.aws.user_pool_id()));
    let details = provider.provider_details().unwrap();
    let issuer = world.aws.okta_issuer();
    assert_eq!(details["oidc_issuer"], issuer);
    assert_eq!(details["client_secret"], "local-demo-globex-okta-secret");
    assert_eq!(details["authorize_url"], format!("{issuer}/v1/authorize"));
    assert_eq!(details["token_url"], format!("{issuer}/v1/token"));
    assert_eq!(details["jwks_uri"], format!("{issuer}/v1/keys"));
    assert_eq!(details["attributes_url"], format!("{issuer}/v1/userinfo"));
    assert_eq!(details["attributes_url_add_attributes"], "false");
    assert_eq!(details["attributes_request_method"], "GET");
    assert_eq!(
        provider.attribute_mapping().unwrap()["custom:idp_groups"],
        "groups"
    );
    assert_eq!(provider.idp_identifiers(), ["globex.example"]);
    let created = provider.creation_date().unwrap();
    let since = created.secs()
        - i64::try_from(
            before
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
    assert!((0..5).contains(&since), "epoch seconds, now: {created:?}");
    assert_eq!(provider.last_modified_date(), Some(created));
}

#[tokio::test]
async fn a_provider_name_can_be_created_once() {
    let world = World::start().await;
    let result = create(&world, "acme-entra", &acme_details(&world)).await;
    assert_eq!(
        api_error(result),
        error(
            "DuplicateProviderException",
            &format!(
                "acme-entra already exists in user pool {}",
                world.aws.user_pool_id()
            )
        )
    );
}

#[tokio::test]
async fn names_details_and_mappings_are_checked_as_cognito_checks_them() {
    let world = World::start_bare().await;
    let details = acme_details(&world);

    let (kind, message) = api_error(create(&world, "_acme", &details).await);
    assert_eq!(kind, "InvalidParameterException");
    assert!(
        message.starts_with("1 validation error detected: Value '_acme' at 'providerName' failed to satisfy constraint: Member must satisfy regular expression pattern: "),
        "{message}"
    );

    let without_secret: Vec<_> = details
        .iter()
        .filter(|(k, _)| *k != "client_secret")
        .cloned()
        .collect();
    assert_eq!(
        api_error(create(&world, "acme", &without_secret).await),
        error(
            "InvalidParameterException",
            "client_id, client_secret, authorize_scopes, attributes_request_method and oidc_issuer are all \
             required idp details"
        )
    );

    let mut put = details.clone();
    put.retain(|(k, _)| *k != "attributes_request_method");
    put.push(("attributes_request_method", "PUT".to_owned()));
    assert_eq!(
        api_error(create(&world, "acme", &put).await).0,
        "InvalidParameterException"
    );

    let mut plain_http = details.clone();
    plain_http.retain(|(k, _)| *k != "oidc_issuer");
    plain_http.push((
        "oidc_issuer",
        "http://login.example.com/tenant/v2.0".to_owned(),
    ));
    assert_eq!(
        api_error(create(&world, "acme", &plain_http).await).0,
        "InvalidParameterException"
    );

    let mut nowhere = details.clone();
    nowhere.retain(|(k, _)| *k != "oidc_issuer");
    nowhere.push((
        "oidc_issuer",
        world
            .aws
            .entra_issuer("00000000-0000-0000-0000-000000000000"),
    ));
    let (kind, message) = api_error(create(&world, "acme", &nowhere).await);
    assert_eq!(kind, "InvalidParameterException");
    assert!(message.contains("discovery document"), "{message}");

    let saml = user_pool_api(&world.aws)
        .create_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("AcmeSaml")
        .provider_type(IdentityProviderTypeType::Saml)
        .provider_details("MetadataURL", "https://login.example.com/metadata")
        .send()
        .await;
    assert_eq!(api_error(saml).0, "InvalidParameterException");
    let google = user_pool_api(&world.aws)
        .create_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("MyGoogle")
        .provider_type(IdentityProviderTypeType::Google)
        .provider_details("client_id", "x")
        .send()
        .await;
    assert_eq!(
        api_error(google),
        error(
            "InvalidParameterException",
            "Provider MyGoogle cannot be of type Google."
        )
    );

    let unmappable = user_pool_api(&world.aws)
        .create_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme")
        .provider_type(IdentityProviderTypeType::Oidc)
        .set_provider_details(Some(
            details
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ))
        .attribute_mapping("custom:tenant_id", "tid")
        .attribute_mapping("sub", "oid")
        .send()
        .await;
    assert_eq!(
        api_error(unmappable),
        error(
            "InvalidParameterException",
            "AttributeMapping contains invalid mapping: [custom:tenant_id, sub]"
        )
    );

    let listed = user_pool_api(&world.aws)
        .list_identity_providers()
        .user_pool_id(world.aws.user_pool_id())
        .send()
        .await
        .unwrap();
    assert!(listed.providers().is_empty(), "nothing was created");
}

#[tokio::test]
async fn an_identifier_routes_to_one_provider_only() {
    let world = World::start().await;
    let taken = user_pool_api(&world.aws)
        .update_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("globex-okta")
        .idp_identifiers("globex.example")
        .idp_identifiers("ACME.example")
        .send()
        .await;
    let (kind, message) = api_error(taken);
    assert_eq!(kind, "InvalidParameterException");
    assert!(message.contains("acme-entra"), "{message}");
}

#[tokio::test]
async fn an_update_replaces_the_members_it_names_and_keeps_the_others() {
    let world = World::start().await;
    let api = user_pool_api(&world.aws);
    let before = api
        .describe_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let updated = api
        .update_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .idp_identifiers("acme.test")
        .send()
        .await
        .unwrap();
    let before = before.identity_provider().unwrap();
    let after = updated.identity_provider().unwrap();
    assert_eq!(after.idp_identifiers(), ["acme.test"]);
    assert_eq!(after.attribute_mapping(), before.attribute_mapping());
    assert_eq!(after.provider_details(), before.provider_details());
    assert_eq!(after.creation_date(), before.creation_date());
    assert!(after.last_modified_date() > before.last_modified_date());

    // The identifier routes at once: the old domain no longer does.
    let old = world
        .get(&world.authorize_url(&Attempt::new(), &[("idp_identifier", "acme.example")]))
        .await;
    assert_eq!(
        query(&location(&old))["error_description"],
        "No identity provider found for the identifier"
    );
    let new = world
        .get(&world.authorize_url(&Attempt::new(), &[("idp_identifier", "acme.test")]))
        .await;
    assert!(location(&new).starts_with(&world.aws.entra_base()));
}

#[tokio::test]
async fn an_unknown_provider_is_not_found_and_cognito_cannot_be_changed() {
    let world = World::start_bare().await;
    let api = user_pool_api(&world.aws);
    let pool = world.aws.user_pool_id();
    let described = api
        .describe_identity_provider()
        .user_pool_id(pool)
        .provider_name("nobody")
        .send()
        .await;
    assert_eq!(api_error(described).0, "ResourceNotFoundException");
    let updated = api
        .update_identity_provider()
        .user_pool_id(pool)
        .provider_name("nobody")
        .idp_identifiers("x.example")
        .send()
        .await;
    assert_eq!(api_error(updated).0, "ResourceNotFoundException");
    let deleted = api
        .delete_identity_provider()
        .user_pool_id(pool)
        .provider_name("nobody")
        .send()
        .await;
    assert_eq!(api_error(deleted).0, "ResourceNotFoundException");
    let cognito = api
        .delete_identity_provider()
        .user_pool_id(pool)
        .provider_name("COGNITO")
        .send()
        .await;
    assert_eq!(api_error(cognito).0, "UnsupportedIdentityProviderException");
}

#[tokio::test]
async fn providers_are_listed_by_name_a_page_at_a_time() {
    let world = World::start_bare().await;
    for name in ["delta", "alpha", "echo", "charlie", "bravo"] {
        create(&world, name, &acme_details(&world)).await.unwrap();
    }
    let api = user_pool_api(&world.aws);
    let mut names = Vec::new();
    let mut pages = 0;
    let mut token = None;
    loop {
        let page = api
            .list_identity_providers()
            .user_pool_id(world.aws.user_pool_id())
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.providers().len() <= 2);
        for provider in page.providers() {
            assert_eq!(
                provider.provider_type(),
                Some(&IdentityProviderTypeType::Oidc)
            );
            assert!(provider.creation_date().is_some());
            names.push(provider.provider_name().unwrap().to_owned());
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["alpha", "bravo", "charlie", "delta", "echo"]);
    assert_eq!(pages, 3);

    let all = api
        .list_identity_providers()
        .user_pool_id(world.aws.user_pool_id())
        .send()
        .await
        .unwrap();
    assert_eq!(all.providers().len(), 5);
    assert_eq!(all.next_token(), None);
    let too_many = api
        .list_identity_providers()
        .user_pool_id(world.aws.user_pool_id())
        .max_results(61)
        .send()
        .await;
    assert_eq!(
        api_error(too_many),
        error(
            "InvalidParameterException",
            "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: Member must have \
             value less than or equal to 60"
        )
    );
}

#[tokio::test]
async fn deleting_a_provider_takes_it_out_of_the_clients() {
    let world = World::start().await;
    user_pool_api(&world.aws)
        .delete_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    let web = user_pool_api(&world.aws)
        .describe_user_pool_client()
        .user_pool_id(world.aws.user_pool_id())
        .client_id(&world.web.client_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        web.user_pool_client()
            .unwrap()
            .supported_identity_providers(),
        ["globex-okta"]
    );
}

#[tokio::test]
async fn a_provider_created_through_the_api_signs_users_in_at_once_and_a_deleted_one_does_not() {
    let world = World::start_bare().await;
    let refused = world
        .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
        .await;
    assert_eq!(
        query(&location(&refused))["error_description"],
        "Identity provider does not exist for this client"
    );

    create_provider(&world.aws, &demo_provider("acme-entra")).await;
    update_client(&world.aws, &world.web.client_id, |u| {
        u.supported_identity_providers("acme-entra")
    })
    .await;
    let (_, tokens) = world.sign_in("acme-entra", ALICE).await;
    assert!(tokens["id_token"].is_string());
    let login = world.get(&world.authorize_url(&Attempt::new(), &[])).await;
    let page = world.get(&location(&login)).await.text().await.unwrap();
    assert!(page.contains("identity_provider=acme-entra"), "{page}");

    user_pool_api(&world.aws)
        .delete_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    let gone = world
        .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
        .await;
    assert_eq!(
        query(&location(&gone))["error_description"],
        "Identity provider does not exist for this client"
    );
    let by_domain = world
        .get(&world.authorize_url(&Attempt::new(), &[("idp_identifier", "acme.example")]))
        .await;
    assert_eq!(
        query(&location(&by_domain))["error_description"],
        "No identity provider found for the identifier"
    );
    let page = world
        .get(&location(
            &world.get(&world.authorize_url(&Attempt::new(), &[])).await,
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("identity_provider=acme-entra"), "{page}");
}

#[tokio::test]
async fn a_sign_in_in_flight_when_its_provider_is_deleted_fails() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let back_to_pool = world.idp_response_url(&attempt, "acme-entra", ALICE).await;
    user_pool_api(&world.aws)
        .delete_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    let params = query(&location(&world.get(&back_to_pool).await));
    assert!(!params.contains_key("code"));
    assert_eq!(
        params["error_description"],
        "Identity provider does not exist"
    );
}

#[tokio::test]
async fn a_changed_provider_is_used_at_the_next_sign_in() {
    let world = World::start().await;
    world.sign_in("acme-entra", BOB).await;
    let mut details: std::collections::HashMap<String, String> = acme_details(&world)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    details.insert("client_secret".into(), "not-the-registered-secret".into());
    user_pool_api(&world.aws)
        .update_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name("acme-entra")
        .set_provider_details(Some(details))
        .send()
        .await
        .unwrap();
    let attempt = Attempt::new();
    let params = query(&world.callback_for(&attempt, "acme-entra", BOB).await);
    assert_eq!(params["error"], "invalid_request");
    assert!(
        params["error_description"].starts_with("acme-entra Error - 401 invalid_client"),
        "{}",
        params["error_description"]
    );
}

#[tokio::test]
async fn a_provider_whose_client_the_idp_never_registered_cannot_sign_anyone_in() {
    let world = World::start_bare().await;
    let mut stranger = demo_provider("acme-entra");
    stranger.client_id = "00000000-0000-4000-8000-0000000000ff".into();
    create_provider(&world.aws, &stranger).await;
    update_client(&world.aws, &world.web.client_id, |u| {
        u.supported_identity_providers("acme-entra")
    })
    .await;
    let to_idp = location(
        &world
            .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
            .await,
    );
    let page = world.get(&to_idp).await;
    assert_eq!(
        page.status(),
        StatusCode::BAD_REQUEST,
        "Entra knows no such application"
    );
}

#[tokio::test]
async fn describe_user_pool_client_reports_the_clients_settings() {
    let world = World::start().await;
    let described = user_pool_api(&world.aws)
        .describe_user_pool_client()
        .user_pool_id(world.aws.user_pool_id())
        .client_id(&world.web.client_id)
        .send()
        .await
        .unwrap();
    let client = described.user_pool_client().unwrap();
    assert_eq!(client.client_id(), Some(world.web.client_id.as_str()));
    assert_eq!(
        client.client_secret(),
        Some(world.web.client_secret.as_str())
    );
    assert_eq!(client.client_name(), Some("web"));
    // The sign-in's callback, and the self-serve SSO set-up's test sign-in.
    let setup_callback = world
        .callback
        .replace("/auth/callback", "/setup/auth/callback");
    assert_eq!(
        client.callback_urls(),
        [world.callback.as_str(), setup_callback.as_str()]
    );
    assert_eq!(client.allowed_o_auth_flows(), [OAuthFlowType::Code]);
    assert_eq!(client.allowed_o_auth_flows_user_pool_client(), Some(true));
    assert!(
        client
            .allowed_o_auth_scopes()
            .contains(&"saas-api/admin".to_owned())
    );
    assert_eq!(
        client.supported_identity_providers(),
        ["acme-entra", "globex-okta"]
    );
    assert!(
        client
            .write_attributes()
            .contains(&"custom:idp_groups".to_owned())
    );
    assert_eq!(client.access_token_validity(), Some(60));
    assert_eq!(
        client.token_validity_units().and_then(|u| u.access_token()),
        Some(&TimeUnitsType::Minutes)
    );
    assert_eq!(client.refresh_token_validity(), 30);
    assert_eq!(client.enable_token_revocation(), Some(true));

    let unknown = user_pool_api(&world.aws)
        .describe_user_pool_client()
        .user_pool_id(world.aws.user_pool_id())
        .client_id("nosuchclient")
        .send()
        .await;
    assert_eq!(
        api_error(unknown),
        error(
            "ResourceNotFoundException",
            "User pool client nosuchclient does not exist."
        )
    );
}

#[tokio::test]
async fn update_user_pool_client_resets_every_setting_it_is_not_given() {
    let world = World::start().await;
    // The well-known mistake: sending only what is meant to change.
    let updated = user_pool_api(&world.aws)
        .update_user_pool_client()
        .user_pool_id(world.aws.user_pool_id())
        .client_id(&world.web.client_id)
        .supported_identity_providers("acme-entra")
        .send()
        .await
        .unwrap();
    let client = updated.user_pool_client().unwrap();
    assert_eq!(client.supported_identity_providers(), ["acme-entra"]);
    assert!(client.callback_urls().is_empty());
    assert!(client.allowed_o_auth_flows().is_empty());
    assert!(client.allowed_o_auth_scopes().is_empty());
    assert_eq!(client.allowed_o_auth_flows_user_pool_client(), Some(false));
    assert!(
        client.read_attributes().is_empty() && client.write_attributes().is_empty(),
        "defaults are not listed"
    );
    assert_eq!(
        client.client_secret(),
        Some(world.web.client_secret.as_str()),
        "the secret stays"
    );
    assert_eq!(client.refresh_token_validity(), 30);

    // And the web app can no longer sign anyone in: its callback URL is gone, so Cognito's error page.
    let response = world
        .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
        .await;
    assert!(
        location(&response).contains("/error?error=redirect_mismatch"),
        "{response:?}"
    );
}

#[tokio::test]
async fn write_attributes_left_at_their_default_fail_the_sign_in_that_maps_a_custom_attribute() {
    let world = World::start().await;
    update_client(&world.aws, &world.web.client_id, |u| {
        u.set_write_attributes(None)
    })
    .await;
    let attempt = Attempt::new();
    let params = query(&world.callback_for(&attempt, "acme-entra", ALICE).await);
    assert_eq!(
        params["error_description"],
        "Invalid user attributes: custom:idp_groups: Attribute cannot be updated."
    );
}

#[tokio::test]
async fn an_update_that_sends_back_what_was_described_changes_only_what_it_means_to() {
    let world = World::start().await;
    update_client(&world.aws, &world.web.client_id, |u| {
        u.access_token_validity(10).token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Minutes)
                .id_token(TimeUnitsType::Minutes)
                .refresh_token(TimeUnitsType::Days)
                .build(),
        )
    })
    .await;
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    assert_eq!(
        tokens["expires_in"], 600,
        "the new lifetime applies to the next sign-in"
    );
}

#[tokio::test]
async fn a_client_may_support_only_existing_providers_and_cognito() {
    let world = World::start().await;
    let api = user_pool_api(&world.aws);
    let unknown = api
        .update_user_pool_client()
        .user_pool_id(world.aws.user_pool_id())
        .client_id(&world.web.client_id)
        .supported_identity_providers("COGNITO")
        .supported_identity_providers("initech-okta")
        .send()
        .await;
    assert_eq!(
        api_error(unknown),
        error(
            "InvalidParameterException",
            &format!(
                "The provider initech-okta does not exist for User Pool {}.",
                world.aws.user_pool_id()
            )
        )
    );
    update_client(&world.aws, &world.web.client_id, |u| {
        u.set_supported_identity_providers(Some(vec!["COGNITO".into(), "globex-okta".into()]))
    })
    .await;
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    assert!(tokens["access_token"].is_string());
}

#[tokio::test]
async fn client_settings_are_checked_as_cognito_checks_them() {
    let world = World::start().await;
    let api = user_pool_api(&world.aws);
    let pool = world.aws.user_pool_id();
    let machine = world.aws.client("machine").unwrap().client_id;

    let scope = api
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(&machine)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_scopes("saas-api/delete")
        .send()
        .await;
    assert_eq!(api_error(scope).0, "ScopeDoesNotExistException");

    let openid = api
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(&machine)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_scopes("openid")
        .send()
        .await;
    assert_eq!(
        api_error(openid),
        error(
            "InvalidOAuthFlowException",
            "openid is not supported with client_credentials flow"
        )
    );

    let mixed = api
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(&machine)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("saas-api/read")
        .send()
        .await;
    assert_eq!(api_error(mixed).0, "InvalidOAuthFlowException");

    // 60 in the default unit, hours, is more than a day.
    let too_long = api
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(&machine)
        .access_token_validity(60)
        .send()
        .await;
    assert_eq!(
        api_error(too_long),
        error(
            "InvalidParameterException",
            "Invalid range for token validity."
        )
    );

    // Tokens cannot outlive the refresh token: two hours against one.
    let outliving = api
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(&machine)
        .access_token_validity(2)
        .refresh_token_validity(60)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .refresh_token(TimeUnitsType::Minutes)
                .build(),
        )
        .send()
        .await;
    assert_eq!(
        api_error(outliving),
        error(
            "InvalidParameterException",
            "Invalid range for token validity."
        )
    );

    let custom_read = api
        .update_user_pool_client()
        .user_pool_id(pool)
        .client_id(&machine)
        .read_attributes("custom:tenant_id")
        .send()
        .await;
    assert_eq!(api_error(custom_read).0, "InvalidParameterException");

    // Nothing of that reached the client: it still gets tokens.
    let machine_credentials = world.aws.client("machine").unwrap();
    let (status, _) = world
        .token_request_as(
            &machine_credentials,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn another_pool_is_denied_by_the_policy_or_not_found() {
    let world = World::start().await;
    let other = "eu-west-1_0therP00l";
    let denied = user_pool_api(&world.aws)
        .list_identity_providers()
        .user_pool_id(other)
        .send()
        .await;
    assert_eq!(
        api_error(denied),
        error(
            "AccessDeniedException",
            &format!(
                "User: arn:aws:iam::000000000000:user/saas-reference-backend is not authorized to perform: \
                 cognito-idp:ListIdentityProviders on resource: arn:aws:cognito-idp:eu-west-1:000000000000:userpool/{other} \
                 because no identity-based policy allows the cognito-idp:ListIdentityProviders action"
            )
        )
    );
    let world = World::start_bare_with(allow_the_backend_every_user_pool_call).await;
    let missing = user_pool_api(&world.aws)
        .list_identity_providers()
        .user_pool_id(other)
        .send()
        .await;
    assert_eq!(
        api_error(missing),
        error(
            "ResourceNotFoundException",
            &format!("User pool {other} does not exist.")
        )
    );
}

/// A copy of `infra/` whose backend Cognito policy lacks `action`.
fn infra_without(action: &str) -> (tempfile::TempDir, PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let temp = tempfile::tempdir().unwrap();
    let infra = temp.path().join("infra");
    for dir in ["config", "policies", "tenants", "local-aws"] {
        std::fs::create_dir_all(infra.join(dir)).unwrap();
        for entry in std::fs::read_dir(source.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                std::fs::copy(&path, infra.join(dir).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    let policy_path = infra.join("policies/backend-cognito-permissions.json");
    let mut policy: Value =
        serde_json::from_str(&std::fs::read_to_string(&policy_path).unwrap()).unwrap();
    let actions = policy["Statement"][0]["Action"].as_array_mut().unwrap();
    let before = actions.len();
    actions.retain(|a| a != action);
    assert_eq!(actions.len(), before - 1, "{action} was in the policy");
    std::fs::write(&policy_path, policy.to_string()).unwrap();
    (temp, infra)
}

#[tokio::test]
async fn a_policy_without_one_action_refuses_exactly_that_action() {
    let (_temp, infra) = infra_without("cognito-idp:DeleteIdentityProvider");
    let mut config = LocalAwsConfig::load(&infra).unwrap();
    config.user_pool.trigger = None;
    let aws = LocalAws::start(config, "127.0.0.1".parse().unwrap(), Ports::ephemeral())
        .await
        .unwrap();
    create_demo_providers(&aws).await;
    let api = user_pool_api(&aws);
    let pool = aws.user_pool_id();
    let denied = api
        .delete_identity_provider()
        .user_pool_id(pool)
        .provider_name("acme-entra")
        .send()
        .await;
    assert_eq!(
        api_error(denied),
        error(
            "AccessDeniedException",
            &format!(
                "User: arn:aws:iam::000000000000:user/saas-reference-backend is not authorized to perform: \
                 cognito-idp:DeleteIdentityProvider on resource: {} because no identity-based policy allows the \
                 cognito-idp:DeleteIdentityProvider action",
                aws.user_pool_arn()
            )
        )
    );
    // Every other action of the policy still works, and the provider is still there.
    api.describe_identity_provider()
        .user_pool_id(pool)
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    api.list_identity_providers()
        .user_pool_id(pool)
        .send()
        .await
        .unwrap();
    api.update_identity_provider()
        .user_pool_id(pool)
        .provider_name("acme-entra")
        .idp_identifiers("acme.example")
        .send()
        .await
        .unwrap();
    api.describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(aws.client("web").unwrap().client_id)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_upload_role_session_is_not_the_backend() {
    let world = World::start_bare().await;
    let session = world.aws.credentials().issue(
        &world.config.identity_pool.role_arn,
        [("tenant_id".to_owned(), "acme".to_owned())].into(),
        "eu-west-1:11111111-2222-4333-8444-555555555555",
        Duration::from_secs(600),
    );
    let api = user_pool_api_as(
        &world.aws,
        &session.access_key_id,
        &session.secret_access_key,
        Some(&session.session_token),
        world.aws.region(),
    );
    let denied = api
        .list_identity_providers()
        .user_pool_id(world.aws.user_pool_id())
        .send()
        .await;
    let (kind, message) = api_error(denied);
    assert_eq!(kind, "AccessDeniedException");
    world.aws.credentials().expire(&session.access_key_id);
    let expired = api
        .list_identity_providers()
        .user_pool_id(world.aws.user_pool_id())
        .send()
        .await;
    assert_eq!(
        api_error(expired),
        error(
            "ExpiredTokenException",
            "The security token included in the request is expired"
        )
    );
    assert!(
        message.starts_with("User: arn:aws:sts::000000000000:assumed-role/")
            && message.contains("/CognitoIdentityCredentials is not authorized"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unknown_key_a_wrong_secret_and_another_region_are_refused() {
    let world = World::start_bare().await;
    let (key, secret) = world.aws.backend_s3_key();
    let pool = world.aws.user_pool_id();
    let region = world.aws.region().to_owned();

    let unknown = user_pool_api_as(&world.aws, "AKIANOBODYKNOWSTHIS0", &secret, None, &region);
    assert_eq!(
        api_error(
            unknown
                .list_identity_providers()
                .user_pool_id(pool)
                .send()
                .await
        ),
        error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );

    let wrong = user_pool_api_as(&world.aws, &key, "not-the-secret", None, &region);
    let (kind, message) = api_error(
        wrong
            .list_identity_providers()
            .user_pool_id(pool)
            .send()
            .await,
    );
    assert_eq!(kind, "InvalidSignatureException");
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );

    let elsewhere = user_pool_api_as(&world.aws, &key, &secret, None, "us-east-1");
    assert_eq!(
        api_error(
            elsewhere
                .list_identity_providers()
                .user_pool_id(pool)
                .send()
                .await
        ),
        error(
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not 'us-east-1'."
        )
    );
}

#[tokio::test]
async fn an_unsigned_or_altered_request_is_refused() {
    let world = World::start_bare().await;
    let http = reqwest::Client::new();
    let send = |body: &'static str| {
        http.post(format!("{}/", world.aws.user_pool_endpoint()))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListIdentityProviders",
            )
            .body(body)
    };
    let response = send(r#"{"UserPoolId":"eu-west-1_L0caLP00l"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-amz-json-1.1"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    let bearer = send("{}")
        .bearer_auth("not-a-signature")
        .send()
        .await
        .unwrap();
    let body: Value = bearer.json().await.unwrap();
    assert_eq!(body["__type"], "IncompleteSignatureException");

    // Signed for one body, sent with another: a changed request is not the signed one.
    let target = "AWSCognitoIdentityProviderService.ListIdentityProviders";
    let signed = r#"{"UserPoolId":"eu-west-1_L0caLP00l","MaxResults":1}"#;
    let (status, body) = signed_then_sent(&world, target, signed, signed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let altered = r#"{"UserPoolId":"eu-west-1_L0caLP00l","MaxResults":60}"#;
    let (status, body) = signed_then_sent(&world, target, signed, altered).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "InvalidSignatureException");
}

/// A request signed with the backend's key by `aws-sigv4` (the SDKs' signer), for what no SDK would send.
async fn signed_call(world: &World, target: &str, body: &str) -> (StatusCode, Value) {
    signed_then_sent(world, target, body, body).await
}

/// A request whose signature covers `signed_body` but which carries `sent_body`: one altered on the way.
async fn signed_then_sent(
    world: &World,
    target: &str,
    signed_body: &str,
    sent_body: &str,
) -> (StatusCode, Value) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let (key, secret) = world.aws.backend_s3_key();
    let url = format!("{}/", world.aws.user_pool_endpoint());
    let identity = aws_credential_types::Credentials::new(key, secret, None, None, "tests").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(world.aws.region())
        .name("cognito-idp")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", target),
    ];
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(signed_body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = reqwest::Client::new().post(&url).body(sent_body.to_owned());
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_operation_the_stand_in_does_not_serve_and_a_body_that_is_no_object_are_refused() {
    let world = World::start_bare().await;
    let (status, body) = signed_call(
        &world,
        "AWSCognitoIdentityProviderService.AdminSetUserPassword",
        r#"{"UserPoolId":"eu-west-1_L0caLP00l","Username":"x","Password":"y"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "UnknownOperationException");
    let (_, body) = signed_call(
        &world,
        "AWSCognitoIdentityProviderService.ListIdentityProviders",
        "[]",
    )
    .await;
    assert_eq!(body["__type"], "SerializationException");
    let (status, body) = signed_call(
        &world,
        "AWSCognitoIdentityProviderService.ListIdentityProviders",
        r#"{"UserPoolId":"eu-west-1_L0caLP00l"}"#,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same signing is accepted: {body}"
    );
    assert_eq!(body["Providers"], serde_json::json!([]));
}

#[tokio::test]
async fn an_explicit_endpoint_url_takes_the_place_of_the_discovered_one() {
    let world = World::start_bare().await;
    let okta = demo_provider("globex-okta");
    let issuer = okta.issuer(&world.aws);
    let elsewhere = format!("{issuer}/v1/elsewhere");
    user_pool_api(&world.aws)
        .create_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name(&okta.name)
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", &okta.client_id)
        .provider_details("client_secret", &okta.client_secret)
        .provider_details("authorize_scopes", &okta.authorize_scopes)
        .provider_details("attributes_request_method", "POST")
        .provider_details("oidc_issuer", &issuer)
        .provider_details("token_url", &elsewhere)
        .send()
        .await
        .unwrap();
    let described = user_pool_api(&world.aws)
        .describe_identity_provider()
        .user_pool_id(world.aws.user_pool_id())
        .provider_name(&okta.name)
        .send()
        .await
        .unwrap();
    let details = described
        .identity_provider()
        .unwrap()
        .provider_details()
        .unwrap();
    assert_eq!(details["token_url"], elsewhere);
    assert_eq!(
        details["authorize_url"],
        format!("{issuer}/v1/authorize"),
        "discovered"
    );
    assert_eq!(details["attributes_request_method"], "POST");
    update_client(&world.aws, &world.web.client_id, |u| {
        u.supported_identity_providers(&okta.name)
    })
    .await;
    // The pool redeems the IdP's code at the explicit token URL, where the mock has nothing.
    let params = query(&world.callback_for(&Attempt::new(), &okta.name, CAROL).await);
    assert_eq!(
        params["error_description"],
        "globex-okta Error - 404 error getting token"
    );
}
