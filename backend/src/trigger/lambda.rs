//! The trigger as an AWS Lambda function (the `pre-token-generation` binary): its settings, its database
//! connection and the mapping of [`TriggerError`]s to Lambda function errors.
//!
//! The user pool invokes the function with the V2 event and waits at most 5 seconds. A function error's
//! `errorMessage` reaches the app as `PreTokenGeneration failed with error <errorMessage>.`, so refusals carry
//! the stable [`ErrorCode`] and nothing else: the backend's sign-in callback shows that code's message and
//! never the text itself.
//!
//! Locally the very same binary runs under the Lambda stand-in of `infra/local-aws`, which the user-pool
//! stand-in invokes exactly as Cognito invokes Lambda.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::ProvideCredentials as _;
use shared::ErrorCode;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use super::event::PreTokenGenerationEvent;
use super::{TriggerError, pre_token_generation};
use crate::config::{ConfigError, Secret, database_url_from, refuse_published_database_passwords};
use crate::db::{self, iam_auth};

/// The function's settings, from its environment.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    /// `DATABASE_URL` (+ `DATABASE_PASSWORD`): the application's login role. With `DATABASE_IAM_AUTH`, the
    /// URL names no password (RDS Proxy checks an IAM token instead). A database beyond this machine is
    /// refused with a password published in this repository (the function has no `PUBLIC_URL` to tell a
    /// local start by).
    pub database_url: Secret,
    /// `DATABASE_IAM_AUTH`: log in with an RDS IAM authentication token signed with the function's role.
    pub database_iam_auth: bool,
    /// `RESOURCE_SERVER_ID`: whose scopes the trigger suppresses. Default `saas-api`.
    pub resource_server_id: String,
    /// `COGNITO_USER_POOL_ID`: when set, events of any other pool are refused. On AWS the invoke permission's
    /// source ARN already admits only the pool (its id cannot be passed in: the pool names the function).
    pub user_pool_id: Option<String>,
    /// `AWS_REGION` (set by Lambda): the region of the IAM token.
    pub region: String,
}

impl LambdaSettings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<LambdaSettings, ConfigError> {
        LambdaSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<LambdaSettings, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let database_url = database_url_from(&get, "DATABASE_URL", "DATABASE_PASSWORD")?.ok_or(
            ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "must be set to the application login's Postgres URL".to_owned(),
            },
        )?;
        refuse_published_database_passwords(&get, &[("DATABASE_URL", "DATABASE_PASSWORD")])?;
        let database_iam_auth = match get("DATABASE_IAM_AUTH").as_deref() {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_IAM_AUTH",
                    reason: format!("`{other}` is not true or false"),
                });
            }
        };
        Ok(LambdaSettings {
            database_url,
            database_iam_auth,
            resource_server_id: get("RESOURCE_SERVER_ID").unwrap_or_else(|| "saas-api".to_owned()),
            user_pool_id: get("COGNITO_USER_POOL_ID"),
            region: get("AWS_REGION").unwrap_or_else(|| "eu-west-1".to_owned()),
        })
    }
}

/// A Lambda function error: what the runtime posts to `/invocation/<id>/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// The error's type (`SignInRefused`, `InvalidEvent`, `ServiceUnavailable`).
    pub error_type: &'static str,
    /// The stable error code, which Cognito passes on to the app.
    pub error_message: String,
}

impl FunctionError {
    fn new(error_type: &'static str, code: ErrorCode) -> Self {
        FunctionError {
            error_type,
            error_message: code.as_str().to_owned(),
        }
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type.to_owned(),
            error_message: error.error_message,
        }
    }
}

/// How long an IAM token is used for new connections before a fresh one is signed (tokens last 15 minutes).
const TOKEN_REFRESH: Duration = Duration::from_secs(10 * 60);

/// The function's state across invocations: settings and a lazy database pool.
pub struct TriggerFunction {
    settings: LambdaSettings,
    pool: PgPool,
    /// When the pool's IAM token was signed, with IAM authentication.
    token_signed: Mutex<Option<Instant>>,
    credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
    base_options: PgConnectOptions,
}

impl TriggerFunction {
    /// Prepares the function without connecting (a cold start must stay short; the first invocation
    /// connects).
    pub async fn new(settings: LambdaSettings) -> Result<TriggerFunction, sqlx::Error> {
        let base_options: PgConnectOptions = settings.database_url.expose().parse()?;
        // One invocation at a time per instance: one connection suffices, a second covers a refusal's audit.
        let pool = db::connect_with(base_options.clone(), 2);
        let credentials =
            if settings.database_iam_auth {
                let region = aws_config::Region::new(settings.region.clone());
                Some(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .region(region)
                    .build()
                    .await,
            ))
            } else {
                None
            };
        Ok(TriggerFunction {
            settings,
            pool,
            token_signed: Mutex::new(None),
            credentials,
            base_options,
        })
    }

    /// Handles one event.
    pub async fn handle(
        &self,
        event: PreTokenGenerationEvent,
    ) -> Result<PreTokenGenerationEvent, FunctionError> {
        if let Some(expected) = &self.settings.user_pool_id
            && *expected != event.user_pool_id
        {
            tracing::warn!(
                user_pool_id = %event.user_pool_id,
                "pre-token-generation event for another user pool refused"
            );
            return Err(FunctionError::new(
                "InvalidEvent",
                ErrorCode::InvalidRequest,
            ));
        }
        if let Err(error) = self.refresh_iam_token().await {
            tracing::error!(%error, "could not sign an RDS authentication token");
            return Err(FunctionError::new(
                "ServiceUnavailable",
                ErrorCode::ServiceUnavailable,
            ));
        }
        handle_event(&self.pool, &self.settings.resource_server_id, event).await
    }

    /// With IAM authentication, gives the pool a freshly signed token for the connections it opens next.
    async fn refresh_iam_token(&self) -> Result<(), String> {
        let Some(provider) = &self.credentials else {
            return Ok(());
        };
        let due = self
            .token_signed
            .lock()
            .map(|signed| signed.is_none_or(|at| at.elapsed() >= TOKEN_REFRESH))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| e.to_string())?;
        let request = iam_auth::TokenRequest {
            host: self.base_options.get_host(),
            port: self.base_options.get_port(),
            user: self.base_options.get_username(),
            region: &self.settings.region,
        };
        let token = iam_auth::rds_auth_token(&request, &credentials, SystemTime::now())
            .map_err(|e| e.to_string())?;
        self.pool
            .set_connect_options(self.base_options.clone().password(&token));
        if let Ok(mut signed) = self.token_signed.lock() {
            *signed = Some(Instant::now());
        }
        Ok(())
    }
}

/// Runs [`pre_token_generation`] and maps its errors to function errors.
pub async fn handle_event(
    pool: &PgPool,
    resource_server: &str,
    event: PreTokenGenerationEvent,
) -> Result<PreTokenGenerationEvent, FunctionError> {
    match pre_token_generation(pool, resource_server, event).await {
        Ok(answered) => Ok(answered),
        Err(TriggerError::Refused(code)) => Err(FunctionError::new("SignInRefused", code)),
        Err(TriggerError::InvalidEvent(reason)) => {
            tracing::warn!(%reason, "invalid pre-token-generation event");
            Err(FunctionError::new(
                "InvalidEvent",
                ErrorCode::InvalidRequest,
            ))
        }
        Err(TriggerError::Database(error)) => {
            tracing::warn!(%error, "pre-token-generation failed: database error");
            Err(FunctionError::new(
                "ServiceUnavailable",
                ErrorCode::ServiceUnavailable,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<LambdaSettings, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        LambdaSettings::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned()))
    }

    #[test]
    fn the_database_url_is_required_and_named() {
        let error = settings(&[]).unwrap_err();
        assert!(error.to_string().starts_with("DATABASE_URL"), "{error}");
    }

    #[test]
    fn the_password_comes_from_its_own_variable_and_iam_auth_is_a_switch() {
        let settings = settings(&[
            ("DATABASE_URL", "postgres://saas_app_login@proxy:5432/saas"),
            ("DATABASE_PASSWORD", "p@ss/word"),
            ("DATABASE_IAM_AUTH", "false"),
        ])
        .unwrap();
        let options: PgConnectOptions = settings.database_url.expose().parse().unwrap();
        assert_eq!(options.get_username(), "saas_app_login");
        assert!(!settings.database_iam_auth);
        assert_eq!(settings.resource_server_id, "saas-api");
        assert!(
            settings.database_url.expose().contains("p%40ss%2Fword"),
            "the password is percent-encoded into the URL"
        );
        let error = super::tests::settings(&[
            ("DATABASE_URL", "postgres://u@h/d"),
            ("DATABASE_IAM_AUTH", "maybe"),
        ])
        .unwrap_err();
        assert!(
            error.to_string().starts_with("DATABASE_IAM_AUTH"),
            "{error}"
        );
    }

    #[test]
    fn a_remote_database_with_a_password_published_in_this_repository_is_refused() {
        for (vars, named) in [
            (
                vec![(
                    "DATABASE_URL",
                    "postgres://saas_app_login:local-dev-app-password@proxy.example.com:5432/saas",
                )],
                "DATABASE_URL",
            ),
            (
                vec![
                    ("DATABASE_URL", "postgres://saas_api@10.0.3.4/saas"),
                    ("DATABASE_PASSWORD", "saas_api_local_password"),
                ],
                "DATABASE_PASSWORD",
            ),
            (
                vec![(
                    "DATABASE_URL",
                    "postgres://u@proxy.example.com/saas?password=Passw0rd%21",
                )],
                "DATABASE_URL",
            ),
        ] {
            let error = settings(&vars).unwrap_err();
            assert!(
                matches!(&error, ConfigError::PublishedDatabasePassword(names) if names == &[named]),
                "{vars:?}: {error}"
            );
        }
    }

    #[test]
    fn a_published_password_is_accepted_for_a_database_on_this_machine_and_a_real_one_anywhere() {
        for url in [
            "postgres://saas_app_login:local-dev-app-password@127.0.0.1:55432/saas",
            "postgres://saas_app_login:local-dev-app-password@localhost/saas",
            "postgres://saas_app_login:local-dev-app-password@[::1]:5432/saas",
            "postgres://saas_app_login:a-real-secret@proxy.example.com:5432/saas",
        ] {
            assert!(settings(&[("DATABASE_URL", url)]).is_ok(), "{url}");
        }
    }

    #[test]
    fn refusals_carry_only_the_stable_code() {
        let diagnostic: lambda_runtime::Diagnostic =
            FunctionError::new("SignInRefused", ErrorCode::MembershipDeactivated).into();
        assert_eq!(diagnostic.error_type, "SignInRefused");
        assert_eq!(diagnostic.error_message, "membership_deactivated");
    }
}
