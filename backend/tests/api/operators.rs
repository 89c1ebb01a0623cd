//! `backend operators`: operator accounts in the operators' own user pool, managed with an operator
//! administrator's credentials against the user-pool stand-in (which checks them with IAM, as Cognito does).

use backend::config::AwsKey;
use backend::operators::{OperatorAccounts, OperatorAdminSettings, OperatorError};
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use testkit::infra_dir;
use url::Url;

async fn stand_ins() -> LocalAws {
    LocalAws::start(
        LocalAwsConfig::load(&infra_dir()).unwrap(),
        "127.0.0.1".parse().unwrap(),
        Ports::ephemeral(),
    )
    .await
    .unwrap()
}

/// The operators' pool of `aws`, called with `key`.
async fn accounts(aws: &LocalAws, key: (String, String)) -> OperatorAccounts {
    let settings = OperatorAdminSettings {
        user_pool_id: aws
            .user_pool("operators")
            .unwrap()
            .user_pool_id()
            .to_owned(),
        endpoint: Some(Url::parse(&aws.user_pool_endpoint()).unwrap()),
        credentials: Some(AwsKey::long_term(key.0, key.1)),
    };
    OperatorAccounts::new(&settings).await
}

#[tokio::test]
async fn an_operator_administrator_adds_lists_disables_enables_and_removes_operators() {
    let aws = stand_ins().await;
    let operators = accounts(&aws, aws.operator_admin_key()).await;

    let added = operators.add("ops@example.com").await.unwrap();
    assert_eq!(added.email, "ops@example.com");
    assert_eq!(added.status, "FORCE_CHANGE_PASSWORD");
    assert!(added.enabled);
    // The pool emailed the temporary password.
    let invitation = aws.outbox().messages_to("ops@example.com");
    assert_eq!(invitation.len(), 1);
    assert!(invitation[0].body.contains("temporary password is "));

    assert!(matches!(
        operators.add("OPS@example.com").await,
        Err(OperatorError::Exists(_))
    ));
    assert!(matches!(
        operators.add("not-an-address").await,
        Err(OperatorError::Invalid(message)) if message == "Username should be an email."
    ));

    // A lost invitation: a new temporary password, the only one that works.
    let resent = operators.resend("ops@example.com").await.unwrap();
    assert_eq!(resent.status, "FORCE_CHANGE_PASSWORD");
    let invitations = aws.outbox().messages_to("ops@example.com");
    assert_eq!(invitations.len(), 2);
    assert_ne!(invitations[0].body, invitations[1].body);
    assert!(matches!(
        operators.resend("nobody@example.com").await,
        Err(OperatorError::NotFound(_))
    ));

    operators.add("second@example.com").await.unwrap();
    let listed = operators.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|o| o.email.as_str()).collect::<Vec<_>>(),
        ["ops@example.com", "second@example.com"]
    );

    operators.disable("ops@example.com").await.unwrap();
    let ops = |listed: Vec<backend::operators::Operator>| {
        listed
            .into_iter()
            .find(|o| o.email == "ops@example.com")
            .unwrap()
    };
    assert!(!ops(operators.list().await.unwrap()).enabled);
    operators.enable("ops@example.com").await.unwrap();
    assert!(ops(operators.list().await.unwrap()).enabled);

    operators.remove("ops@example.com").await.unwrap();
    assert!(matches!(
        operators.remove("ops@example.com").await,
        Err(OperatorError::NotFound(_))
    ));
    assert_eq!(operators.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_backends_own_key_cannot_mint_an_operator() {
    let aws = stand_ins().await;
    let with_backend_key = accounts(&aws, aws.backend_s3_key()).await;
    let refused = with_backend_key.add("mallory@example.com").await;
    let error = refused.unwrap_err();
    assert!(matches!(error, OperatorError::Denied(_)), "{error:?}");
    assert!(
        error.to_string().contains("operator administrator"),
        "the message says what to do: {error}"
    );
    assert!(aws.outbox().all().is_empty());
}

#[tokio::test]
async fn an_unreachable_pool_is_said_so() {
    let aws = stand_ins().await;
    let operators = accounts(&aws, aws.operator_admin_key()).await;
    aws.set_cognito_idp_down(true);
    let error = operators.list().await.unwrap_err();
    assert!(matches!(error, OperatorError::Unavailable(_)), "{error:?}");
}
