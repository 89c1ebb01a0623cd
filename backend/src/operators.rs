//! `backend operators`: the platform operators' accounts, kept in a user pool of their own (native accounts,
//! MFA required), managed through Cognito's administrator API: `AdminCreateUser` (Cognito emails a temporary
//! password; at the first sign-in the operator sets a password and an authenticator app; with `RESEND`, a new
//! one for an operator who has not signed in yet), `ListUsers`,
//! `AdminDisableUser`, `AdminEnableUser` and `AdminDeleteUser`.
//!
//! These calls are made with the credentials of whoever runs the command (an operator administrator's, from
//! the environment or the default credential chain), never with the running backend's: the backend's role has
//! no permission on the operators' pool, so a stolen backend key cannot mint an operator. Locally, while the
//! user-pool API is the stand-in, the stand-ins' operator administrator key is the default.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, DeliveryMediumType, MessageActionType, UserType,
};
use url::Url;

use crate::config::{
    AwsKey, ConfigError, LOCAL_OPERATOR_USER_POOL_ID, aws_key_from, endpoint_from,
    is_on_this_machine,
};

/// The local operators' pool (`infra/local-aws/local.json`).
/// The local stand-ins' key for operator administrators (`infra/local-aws/local.json`); a demo secret.
const LOCAL_OPERATOR_ADMIN_KEY_ID: &str = "AKIALOCALOPERADMIN01";
/// Its secret.
const LOCAL_OPERATOR_ADMIN_SECRET: &str = "local-demo-operator-admin-secret-not-for-production";

/// Where the operators' pool is and whom to call it as.
#[derive(Debug, Clone)]
pub struct OperatorAdminSettings {
    /// `OPERATOR_USER_POOL_ID`: the operators' pool. Default: the local stand-in's, while the user-pool API is
    /// the stand-in.
    pub user_pool_id: String,
    /// `COGNITO_IDP_ENDPOINT`: the user-pool API; `aws` means the real service. Default: the local stand-in.
    pub endpoint: Option<Url>,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) when set; otherwise the stand-ins'
    /// operator administrator key while the endpoint is the stand-in, and `None` (the default credential
    /// chain) against AWS.
    pub credentials: Option<AwsKey>,
}

impl OperatorAdminSettings {
    /// Reads the settings through `lookup` (variable name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let local_endpoint = Url::parse("http://127.0.0.1:9229").ok();
        let endpoint = endpoint_from(&get, "COGNITO_IDP_ENDPOINT", local_endpoint)?;
        let local = endpoint
            .as_ref()
            .is_some_and(|endpoint| is_on_this_machine(endpoint.as_str()));
        let user_pool_id = match get("OPERATOR_USER_POOL_ID") {
            Some(id) => id,
            None if local => LOCAL_OPERATOR_USER_POOL_ID.to_owned(),
            None => {
                return Err(ConfigError::Invalid {
                    name: "OPERATOR_USER_POOL_ID",
                    reason: "the operators' user pool id is required against AWS".to_owned(),
                });
            }
        };
        let credentials = match aws_key_from(&get)? {
            Some(key) => Some(key),
            None if local => Some(AwsKey::long_term(
                LOCAL_OPERATOR_ADMIN_KEY_ID,
                LOCAL_OPERATOR_ADMIN_SECRET,
            )),
            None => None,
        };
        if !local
            && credentials
                .as_ref()
                .is_some_and(|key| key.access_key_id == LOCAL_OPERATOR_ADMIN_KEY_ID)
        {
            return Err(ConfigError::NotForProduction(vec![(
                "AWS_ACCESS_KEY_ID",
                "the local stand-ins' operator administrator key",
            )]));
        }
        Ok(OperatorAdminSettings {
            user_pool_id,
            endpoint,
            credentials,
        })
    }
}

/// An operator account as the pool reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The pool's name for the account (a generated id: operators sign in with their email address).
    pub username: String,
    /// The email address they sign in with.
    pub email: String,
    /// `FORCE_CHANGE_PASSWORD` until the first sign-in, then `CONFIRMED`.
    pub status: String,
    /// `false` once disabled.
    pub enabled: bool,
}

/// Why an operator account could not be managed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// An account with this email address exists already.
    #[error("an operator account for {0} exists already")]
    Exists(String),
    /// No account has this email address.
    #[error("no operator account for {0}")]
    NotFound(String),
    /// The pool refused the input (not an email address, say), in its words.
    #[error("the operators' pool refused it: {0}")]
    Invalid(String),
    /// The credentials may not do this.
    #[error(
        "these AWS credentials may not manage operator accounts ({0}); run the command as an operator \
         administrator, not with the backend's own credentials"
    )]
    Denied(String),
    /// The pool could not be reached or failed.
    #[error("the operators' user pool could not be reached: {0}")]
    Unavailable(String),
}

/// The operators' accounts in their pool.
#[derive(Debug, Clone)]
pub struct OperatorAccounts {
    client: Client,
    user_pool_id: String,
}

impl OperatorAccounts {
    /// A client of the operators' pool with `settings`.
    pub async fn new(settings: &OperatorAdminSettings) -> OperatorAccounts {
        // The pool's region is the prefix of its id (`eu-west-1_AbC`).
        let region = Region::new(
            settings
                .user_pool_id
                .split_once('_')
                .map_or("eu-west-1", |(region, _)| region)
                .to_owned(),
        );
        let credentials = match &settings.credentials {
            Some(key) => aws_sdk_cognitoidentityprovider::config::SharedCredentialsProvider::new(
                Credentials::new(
                    key.access_key_id.clone(),
                    key.secret_access_key.expose().to_owned(),
                    key.session_token.as_ref().map(|t| t.expose().to_owned()),
                    None,
                    "operator-administrator",
                ),
            ),
            None => aws_sdk_cognitoidentityprovider::config::SharedCredentialsProvider::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .region(region.clone())
                    .build()
                    .await,
            ),
        };
        let mut builder = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials)
            .timeout_config(crate::aws::timeouts());
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        OperatorAccounts {
            client: Client::from_conf(builder.build()),
            user_pool_id: settings.user_pool_id.clone(),
        }
    }

    /// Creates the account of `email`; the pool emails them a temporary password.
    pub async fn add(&self, email: &str) -> Result<Operator, OperatorError> {
        let email = email.trim();
        let verified = AttributeType::builder()
            .name("email_verified")
            .value("true")
            .build()
            .map_err(|error| OperatorError::Invalid(error.to_string()))?;
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.user_pool_id)
            .username(email)
            .user_attributes(verified)
            .desired_delivery_mediums(DeliveryMediumType::Email)
            .send()
            .await
            .map_err(|error| classify(error, email))?;
        created.user().map(operator).ok_or_else(|| {
            OperatorError::Unavailable("AdminCreateUser returned no user".to_owned())
        })
    }

    /// Sends an operator who has not signed in yet a new temporary password (the old one stops working):
    /// for an invitation lost or expired.
    pub async fn resend(&self, email: &str) -> Result<Operator, OperatorError> {
        let email = email.trim();
        let resent = self
            .client
            .admin_create_user()
            .user_pool_id(&self.user_pool_id)
            .username(email)
            .message_action(MessageActionType::Resend)
            .desired_delivery_mediums(DeliveryMediumType::Email)
            .send()
            .await
            .map_err(|error| classify(error, email))?;
        resent.user().map(operator).ok_or_else(|| {
            OperatorError::Unavailable("AdminCreateUser returned no user".to_owned())
        })
    }

    /// Every operator account, by email address.
    pub async fn list(&self) -> Result<Vec<Operator>, OperatorError> {
        let mut operators = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_users()
                .user_pool_id(&self.user_pool_id)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|error| classify(error, ""))?;
            operators.extend(page.users().iter().map(operator));
            match page.pagination_token() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        operators.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(operators)
    }

    /// Disables the account: no new sign-in, and the pool revokes its sign-ins.
    pub async fn disable(&self, email: &str) -> Result<(), OperatorError> {
        self.client
            .admin_disable_user()
            .user_pool_id(&self.user_pool_id)
            .username(email.trim())
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify(error, email.trim()))
    }

    /// Enables a disabled account again.
    pub async fn enable(&self, email: &str) -> Result<(), OperatorError> {
        self.client
            .admin_enable_user()
            .user_pool_id(&self.user_pool_id)
            .username(email.trim())
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify(error, email.trim()))
    }

    /// Deletes the account.
    pub async fn remove(&self, email: &str) -> Result<(), OperatorError> {
        self.client
            .admin_delete_user()
            .user_pool_id(&self.user_pool_id)
            .username(email.trim())
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify(error, email.trim()))
    }
}

fn operator(user: &UserType) -> Operator {
    let attribute = |name: &str| {
        user.attributes()
            .iter()
            .find(|attribute| attribute.name() == name)
            .and_then(|attribute| attribute.value())
            .unwrap_or_default()
            .to_owned()
    };
    Operator {
        username: user.username().unwrap_or_default().to_owned(),
        email: attribute("email"),
        status: user
            .user_status()
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default(),
        enabled: user.enabled(),
    }
}

/// The error of a call, by the service's error code.
fn classify<E, R>(error: SdkError<E, R>, email: &str) -> OperatorError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or_default().to_owned();
    let message = error.message().unwrap_or_default().to_owned();
    match code.as_str() {
        "UsernameExistsException" | "AliasExistsException" => {
            OperatorError::Exists(email.to_owned())
        }
        "UserNotFoundException" => OperatorError::NotFound(email.to_owned()),
        "InvalidParameterException"
        | "InvalidPasswordException"
        | "UnsupportedUserStateException" => OperatorError::Invalid(message),
        "AccessDeniedException" | "NotAuthorizedException" | "UnrecognizedClientException" => {
            OperatorError::Denied(code)
        }
        "" => OperatorError::Unavailable(DisplayErrorContext(&error).to_string()),
        _ => OperatorError::Unavailable(format!("{code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<OperatorAdminSettings, ConfigError> {
        OperatorAdminSettings::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn locally_the_stand_ins_pool_and_operator_administrator_key_are_the_defaults() {
        let local = settings(&[]).unwrap();
        assert_eq!(local.user_pool_id, LOCAL_OPERATOR_USER_POOL_ID);
        assert_eq!(
            local.credentials.unwrap().access_key_id,
            LOCAL_OPERATOR_ADMIN_KEY_ID
        );
    }

    #[test]
    fn against_aws_the_pool_is_required_and_the_demo_key_refused() {
        assert!(matches!(
            settings(&[("COGNITO_IDP_ENDPOINT", "aws")]),
            Err(ConfigError::Invalid {
                name: "OPERATOR_USER_POOL_ID",
                ..
            })
        ));
        let aws = settings(&[
            ("COGNITO_IDP_ENDPOINT", "aws"),
            ("OPERATOR_USER_POOL_ID", "eu-west-1_Ops"),
        ])
        .unwrap();
        assert!(aws.credentials.is_none(), "the default credential chain");
        assert!(matches!(
            settings(&[
                ("COGNITO_IDP_ENDPOINT", "aws"),
                ("OPERATOR_USER_POOL_ID", "eu-west-1_Ops"),
                ("AWS_ACCESS_KEY_ID", LOCAL_OPERATOR_ADMIN_KEY_ID),
                ("AWS_SECRET_ACCESS_KEY", LOCAL_OPERATOR_ADMIN_SECRET),
            ]),
            Err(ConfigError::NotForProduction(_))
        ));
        assert!(matches!(
            settings(&[("AWS_ACCESS_KEY_ID", "AKIAX")]),
            Err(ConfigError::Invalid {
                name: "AWS_ACCESS_KEY_ID",
                ..
            })
        ));
    }
}
