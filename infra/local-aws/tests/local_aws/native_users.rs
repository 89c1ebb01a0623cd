//! The pool's own users through the user-pool API, with the real SDK client: `AdminCreateUser` (invitation to
//! the outbox), `AdminGetUser`, `ListUsers`, `AdminDisableUser`, `AdminEnableUser`, `AdminDeleteUser`, and who
//! may call them.

use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, DeliveryMediumType, MessageActionType,
};
use serde_json::Value;

use crate::helpers::*;

/// `AdminCreateUser` of `email` in the operators' pool, invited by email.
async fn create(
    world: &World,
    email: &str,
    temporary: Option<&str>,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserOutput,
    aws_sdk_cognitoidentityprovider::error::SdkError<
        aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserError,
    >,
> {
    operator_admin(world)
        .admin_create_user()
        .user_pool_id(operators_pool_id(world))
        .username(email)
        .set_temporary_password(temporary.map(str::to_owned))
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .user_attributes(
            AttributeType::builder()
                .name("email_verified")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
}

#[tokio::test]
async fn an_operator_account_is_created_with_an_emailed_temporary_password() {
    let world = World::start_bare().await;
    let created = create(&world, "Ops@Example.com", None).await.unwrap();
    let user = created.user().unwrap();
    let sub = user
        .attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .unwrap()
        .to_owned();
    // A pool of email sign-in names the user by a generated id, the same as its `sub`.
    assert_eq!(user.username(), Some(sub.as_str()));
    assert_eq!(
        user.user_status().map(|s| s.as_str()),
        Some("FORCE_CHANGE_PASSWORD")
    );
    assert!(user.enabled());
    assert!(
        user.attributes()
            .iter()
            .any(|a| a.name() == "email" && a.value() == Some("Ops@Example.com"))
    );

    let invitation = &world.aws.outbox().messages_to("ops@example.com")[0];
    assert_eq!(invitation.from, "saas-reference-operators");
    assert!(
        invitation.body.contains("Your username is Ops@Example.com"),
        "{}",
        invitation.body
    );
    let temporary = invited_password(&world, "ops@example.com");
    assert!(temporary.len() >= 12, "{temporary}");

    // The outbox shows it to a person and to a script.
    let page = world.get(&world.aws.mail_url()).await.text().await.unwrap();
    assert!(page.contains("Your operator account"), "{page}");
    let listed: Value = world
        .get(&format!(
            "{}/messages?to=ops@example.com",
            world.aws.mail_url()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["to"], "Ops@Example.com");
}

#[tokio::test]
async fn what_cognito_refuses_at_creation_is_refused() {
    let world = World::start_bare().await;
    create(&world, "ops@example.com", None).await.unwrap();
    assert_eq!(
        api_error(create(&world, "OPS@example.com", None).await),
        (
            "UsernameExistsException".to_owned(),
            "An account with the given email already exists.".to_owned()
        )
    );
    assert_eq!(
        api_error(create(&world, "not-an-address", None).await),
        (
            "InvalidParameterException".to_owned(),
            "Username should be an email.".to_owned()
        )
    );
    // The operators' policy asks for 12 characters of four kinds.
    for (password, reason) in [
        ("Short-1a", "Password not long enough"),
        ("no-upper-case-1", "Password must have uppercase characters"),
        (
            "No-Digits-Anywhere",
            "Password must have numeric characters",
        ),
        ("NoSymbolsAtAll1", "Password must have symbol characters"),
    ] {
        assert_eq!(
            api_error(create(&world, "other@example.com", Some(password)).await),
            (
                "InvalidPasswordException".to_owned(),
                format!("Password does not conform to policy: {reason}")
            ),
            "{password}"
        );
    }
    // The stand-in sends email only, and says so rather than pretending to text.
    let by_sms = operator_admin(&world)
        .admin_create_user()
        .user_pool_id(operators_pool_id(&world))
        .username("sms@example.com")
        .send()
        .await;
    let (kind, message) = api_error(by_sms);
    assert_eq!(kind, "InvalidParameterException");
    assert!(message.contains("EMAIL"), "{message}");
    assert!(
        world
            .aws
            .outbox()
            .messages_to("other@example.com")
            .is_empty()
    );
}

#[tokio::test]
async fn users_are_found_by_email_or_sub_listed_with_a_filter_disabled_enabled_and_deleted() {
    let world = World::start_bare().await;
    let pool_id = operators_pool_id(&world);
    let api = operator_admin(&world);
    let first = create(&world, "first@example.com", None).await.unwrap();
    let first_name = first.user().unwrap().username().unwrap().to_owned();
    create(&world, "second@example.com", None).await.unwrap();

    let got = api
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("First@Example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(got.username(), first_name);
    assert!(got.user_mfa_setting_list().is_empty(), "no factor yet");

    let listed = api
        .list_users()
        .user_pool_id(&pool_id)
        .filter("email = \"second@example.com\"")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.users().len(), 1);
    let everyone = api
        .list_users()
        .user_pool_id(&pool_id)
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(everyone.users().len(), 1);
    let rest = api
        .list_users()
        .user_pool_id(&pool_id)
        .pagination_token(everyone.pagination_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.users().len(), 1);
    assert_ne!(rest.users()[0].username(), everyone.users()[0].username());
    assert!(rest.pagination_token().is_none());

    api.admin_disable_user()
        .user_pool_id(&pool_id)
        .username(&first_name)
        .send()
        .await
        .unwrap();
    let disabled = api
        .list_users()
        .user_pool_id(&pool_id)
        .filter("status = \"Disabled\"")
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.users().len(), 1);
    assert!(!disabled.users()[0].enabled());
    api.admin_enable_user()
        .user_pool_id(&pool_id)
        .username(&first_name)
        .send()
        .await
        .unwrap();
    let got = api
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(&first_name)
        .send()
        .await
        .unwrap();
    assert!(got.enabled());

    api.admin_delete_user()
        .user_pool_id(&pool_id)
        .username("first@example.com")
        .send()
        .await
        .unwrap();
    let gone = api
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(&first_name)
        .send()
        .await;
    assert_eq!(
        api_error(gone),
        (
            "UserNotFoundException".to_owned(),
            "User does not exist.".to_owned()
        )
    );
}

#[tokio::test]
async fn resend_gives_an_invited_user_a_new_temporary_password() {
    let world = World::start_bare().await;
    create(&world, "ops@example.com", None).await.unwrap();
    let first = invited_password(&world, "ops@example.com");
    operator_admin(&world)
        .admin_create_user()
        .user_pool_id(operators_pool_id(&world))
        .username("ops@example.com")
        .message_action(MessageActionType::Resend)
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await
        .unwrap();
    assert_eq!(world.aws.outbox().messages_to("ops@example.com").len(), 2);
    assert_ne!(invited_password(&world, "ops@example.com"), first);
    // Nobody to resend to.
    let missing = operator_admin(&world)
        .admin_create_user()
        .user_pool_id(operators_pool_id(&world))
        .username("nobody@example.com")
        .message_action(MessageActionType::Resend)
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await;
    assert_eq!(api_error(missing).0, "UserNotFoundException");
}

#[tokio::test]
async fn only_the_operator_administrators_manage_operator_accounts_and_only_there() {
    let world = World::start_bare().await;
    let pool_id = operators_pool_id(&world);
    // The running backend's own key: a stolen one cannot mint an operator.
    let by_backend = user_pool_api(&world.aws)
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("mallory@example.com")
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await;
    let (kind, message) = api_error(by_backend);
    assert_eq!(kind, "AccessDeniedException");
    assert!(
        message.contains(
            "user/saas-reference-backend is not authorized to perform: cognito-idp:AdminCreateUser"
        ),
        "{message}"
    );
    // The operator administrators: not on the tenants' pool, and nothing but users.
    let in_tenants_pool = operator_admin(&world)
        .list_users()
        .user_pool_id(world.aws.user_pool_id())
        .send()
        .await;
    assert_eq!(api_error(in_tenants_pool).0, "AccessDeniedException");
    let providers = operator_admin(&world)
        .list_identity_providers()
        .user_pool_id(&pool_id)
        .send()
        .await;
    assert_eq!(api_error(providers).0, "AccessDeniedException");
    assert!(world.aws.outbox().all().is_empty());
}
