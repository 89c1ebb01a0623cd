//! Keeping the user pool's tenant identity providers in step with the database, through the Cognito
//! user-pool API (`aws-sdk-cognitoidentityprovider`).
//!
//! Tenant identity providers are runtime data, owned by the database (the control plane's source of truth),
//! never deployment resources: a deployment must not be able to drop them. The reconciler makes Cognito
//! match the database, idempotently:
//!
//! - a provider in the database and not in the pool is created, when its client secret is at hand (the
//!   secret is handed to Cognito once and never stored by the backend; without it the provider is reported
//!   as [`Report::missing_secret`]);
//! - a provider whose issuer, client id, scopes or attribute mapping differ is updated (its secret kept);
//! - a provider in the pool and not in the database is deleted (never all of them at once: an empty
//!   provider table is more likely the wrong database than an intended wipe-out); one the database lists
//!   without what federation needs (an issuer, a client id) is left as the pool has it and reported;
//! - a provider that cannot be brought in line (its issuer unreachable, say) is reported and the others go
//!   on: one tenant's fault never keeps the rest from signing in;
//! - the web client's `SupportedIdentityProviders` become exactly the tenants' providers. A CloudFormation
//!   update of the client resets that list, so `backend serve` runs the reconciler at start-up and every
//!   `IDP_RECONCILE_MINUTES`; `backend reconcile-idps` runs it once.
//!
//! `UpdateUserPoolClient` replaces every setting of the client and resets the ones left out, so the client
//! is updated from its own `DescribeUserPoolClient` answer with only the provider list changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::Region;
use aws_sdk_cognitoidentityprovider::error::SdkError;
use aws_sdk_cognitoidentityprovider::types::{IdentityProviderTypeType, UserPoolClientType};
use serde::Serialize;
use sqlx::PgPool;

use crate::config::{Config, Secret};

/// Where a provider's client secret comes from when the reconciler must create it: the seeding of the demo
/// world, or an operator handing it over. `None`: not known.
pub type SecretSource<'a> = &'a (dyn Fn(&str) -> Option<Secret> + Sync);

/// No secret known for any provider: the reconciler updates and deletes, and reports the providers it would
/// have to create.
pub fn no_secrets(_: &str) -> Option<Secret> {
    None
}

/// The `ProviderDetails` keys the backend owns for an OIDC provider (Cognito adds the discovered endpoint
/// URLs to what it describes; those are left to Cognito's discovery).
const ISSUER: &str = "oidc_issuer";
const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";
const SCOPES: &str = "authorize_scopes";
const REQUEST_METHOD: &str = "attributes_request_method";
/// The attribute Cognito maps to the provider's `sub` for every OIDC provider, whatever the mapping says.
const USERNAME: &str = "username";
/// `ListIdentityProviders` answers at most 60 providers a page.
const PAGE_SIZE: i32 = 60;

/// A provider as the database defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredProvider {
    /// The user pool's provider name (`acme-entra`).
    pub name: String,
    /// The provider's OpenID issuer.
    pub issuer: String,
    /// The user pool's client id at the provider.
    pub client_id: String,
    /// The scopes the user pool asks for (space-separated).
    pub authorize_scopes: String,
    /// User pool attribute → the provider's claim.
    pub attribute_mapping: BTreeMap<String, String>,
}

impl DesiredProvider {
    fn details(&self, secret: Option<&str>) -> HashMap<String, String> {
        let mut details = HashMap::from([
            (ISSUER.to_owned(), self.issuer.clone()),
            (CLIENT_ID.to_owned(), self.client_id.clone()),
            (SCOPES.to_owned(), self.authorize_scopes.clone()),
            (REQUEST_METHOD.to_owned(), "GET".to_owned()),
        ]);
        if let Some(secret) = secret {
            details.insert(CLIENT_SECRET.to_owned(), secret.to_owned());
        }
        details
    }
}

/// The tenant identity providers the database lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseProviders {
    /// Those with everything federation needs.
    pub ready: Vec<DesiredProvider>,
    /// Those listed without an issuer or a client id: the pool keeps whatever it has for them.
    pub incomplete: Vec<String>,
}

impl DatabaseProviders {
    /// Every name the database lists.
    fn names(&self) -> BTreeSet<&str> {
        self.ready
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.incomplete.iter().map(String::as_str))
            .collect()
    }
}

/// A provider the reconciler could not bring in line, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderFailure {
    /// The provider.
    pub provider: String,
    /// The operation and Cognito's error.
    pub error: String,
}

/// What a reconciliation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Providers created in the user pool.
    pub created: Vec<String>,
    /// Providers whose settings were brought in line.
    pub updated: Vec<String>,
    /// Providers removed from the user pool.
    pub deleted: Vec<String>,
    /// Providers already as the database says.
    pub unchanged: Vec<String>,
    /// Providers in the database that the pool lacks and that could not be created without their secret.
    pub missing_secret: Vec<String>,
    /// Providers in the pool but not in the database that were kept because the database lists none.
    pub kept_unlisted: Vec<String>,
    /// Providers the database lists without an issuer or a client id, left as the pool has them.
    pub incomplete: Vec<String>,
    /// Providers that could not be created, updated or deleted; the others were reconciled all the same.
    pub failed: Vec<ProviderFailure>,
    /// Whether the web client's supported identity providers were changed.
    pub client_updated: bool,
}

impl Report {
    /// Whether the pool now matches the database.
    pub fn is_complete(&self) -> bool {
        self.missing_secret.is_empty()
            && self.kept_unlisted.is_empty()
            && self.incomplete.is_empty()
            && self.failed.is_empty()
    }
}

/// Why a reconciliation stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The database could not be read.
    #[error("reading the identity providers from the database: {0}")]
    Database(#[from] sqlx::Error),
    /// A user-pool API call failed.
    #[error("{operation} failed: {message}")]
    Cognito {
        /// The operation.
        operation: &'static str,
        /// The error code and message, or the transport failure.
        message: String,
    },
    /// The configuration names no user pool.
    #[error("COGNITO_ISSUER has no user pool id in its path")]
    NoUserPool,
}

impl ReconcileError {
    fn cognito<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata
            + std::error::Error
            + 'static,
        R: std::fmt::Debug + 'static,
    {
        let message = match error.as_service_error() {
            Some(service) => format!(
                "{}: {}",
                service.code().unwrap_or("unknown error"),
                service.message().unwrap_or_default()
            ),
            None => aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(error).to_string(),
        };
        ReconcileError::Cognito { operation, message }
    }
}

/// The user-pool API client for one pool and its web client.
#[derive(Debug, Clone)]
pub struct Reconciler {
    client: Client,
    user_pool_id: String,
    web_client_id: String,
}

impl Reconciler {
    /// The reconciler for `config`'s user pool (`COGNITO_ISSUER`), web client (`COGNITO_CLIENT_ID`) and API
    /// endpoint (`COGNITO_IDP_ENDPOINT`). Nothing is contacted here.
    pub async fn new(config: &Config) -> Result<Reconciler, ReconcileError> {
        let user_pool_id = config
            .user_pool_id()
            .ok_or(ReconcileError::NoUserPool)?
            .to_owned();
        // The pool's region is the prefix of its id (`eu-west-1_AbC`).
        let region = Region::new(
            user_pool_id
                .split_once('_')
                .map_or(config.storage.region.clone(), |(region, _)| {
                    region.to_owned()
                }),
        );
        let mut builder = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(crate::aws::credentials(config, &region).await)
            .timeout_config(crate::aws::timeouts());
        if let Some(endpoint) = &config.cognito_idp_endpoint {
            builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        Ok(Reconciler {
            client: Client::from_conf(builder.build()),
            user_pool_id,
            web_client_id: config.cognito_client_id.clone(),
        })
    }

    /// Makes the user pool match the database (see the module documentation). `secrets` gives the client
    /// secret of a provider that must be created (or whose secret should change).
    pub async fn run(
        &self,
        db: &PgPool,
        secrets: SecretSource<'_>,
    ) -> Result<Report, ReconcileError> {
        let listed = desired_providers(db).await?;
        self.reconcile(&listed, secrets).await
    }

    /// Makes the user pool's providers and web client match `listed`.
    pub async fn reconcile(
        &self,
        listed: &DatabaseProviders,
        secrets: SecretSource<'_>,
    ) -> Result<Report, ReconcileError> {
        let mut report = Report {
            incomplete: listed.incomplete.clone(),
            ..Report::default()
        };
        for name in &listed.incomplete {
            tracing::error!(
                provider = %name,
                "the identity provider has no issuer or client id in the database; the user pool keeps what it has"
            );
        }
        let existing = self.list_providers().await?;
        let mut in_pool = existing.clone();
        for provider in &listed.ready {
            let secret = secrets(&provider.name);
            let outcome = if existing.contains(&provider.name) {
                self.bring_in_line(provider, secret.as_ref(), &mut report)
                    .await
            } else if let Some(secret) = secret {
                self.create(provider, &secret, &mut report).await.map(|()| {
                    in_pool.insert(provider.name.clone());
                })
            } else {
                tracing::error!(
                    provider = %provider.name,
                    "the identity provider is in the database but not in the user pool, and its client secret \
                     is not known here: hand it over again to create the provider"
                );
                report.missing_secret.push(provider.name.clone());
                Ok(())
            };
            if let Err(error) = outcome {
                tracing::error!(provider = %provider.name, %error, "could not reconcile the identity provider");
                report.failed.push(ProviderFailure {
                    provider: provider.name.clone(),
                    error: error.to_string(),
                });
            }
        }
        let wanted = listed.names();
        for name in existing
            .iter()
            .filter(|name| !wanted.contains(name.as_str()))
        {
            if wanted.is_empty() {
                tracing::warn!(
                    provider = %name,
                    "the database lists no identity provider at all; not deleting the user pool's providers"
                );
                report.kept_unlisted.push(name.clone());
                continue;
            }
            match self
                .client
                .delete_identity_provider()
                .user_pool_id(&self.user_pool_id)
                .provider_name(name)
                .send()
                .await
            {
                Ok(_) => {
                    tracing::info!(provider = %name, "identity provider deleted from the user pool");
                    report.deleted.push(name.clone());
                    in_pool.remove(name);
                }
                // Deleted meanwhile by another reconciler: the outcome is the one wanted.
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    report.deleted.push(name.clone());
                    in_pool.remove(name);
                }
                Err(error) => {
                    let error = ReconcileError::cognito("DeleteIdentityProvider", &error);
                    tracing::error!(provider = %name, %error, "could not delete the identity provider");
                    report.failed.push(ProviderFailure {
                        provider: name.clone(),
                        error: error.to_string(),
                    });
                }
            }
        }
        // The web client supports every listed provider the pool has, whatever happened to the others.
        let supported: BTreeSet<String> = in_pool
            .into_iter()
            .filter(|name| wanted.contains(name.as_str()))
            .collect();
        report.client_updated = self.set_client_providers(&supported).await?;
        Ok(report)
    }

    /// Every identity provider of the pool, by name.
    pub async fn list_providers(&self) -> Result<BTreeSet<String>, ReconcileError> {
        let mut names = BTreeSet::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_identity_providers()
                .user_pool_id(&self.user_pool_id)
                .max_results(PAGE_SIZE)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| ReconcileError::cognito("ListIdentityProviders", &e))?;
            for provider in page.providers() {
                if let Some(name) = provider.provider_name() {
                    names.insert(name.to_owned());
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }

    async fn create(
        &self,
        provider: &DesiredProvider,
        secret: &Secret,
        report: &mut Report,
    ) -> Result<(), ReconcileError> {
        let created = self
            .client
            .create_identity_provider()
            .user_pool_id(&self.user_pool_id)
            .provider_name(&provider.name)
            .provider_type(IdentityProviderTypeType::Oidc)
            .set_provider_details(Some(provider.details(Some(secret.expose()))))
            .set_attribute_mapping(Some(
                provider.attribute_mapping.clone().into_iter().collect(),
            ))
            .send()
            .await;
        match created {
            Ok(_) => {
                tracing::info!(provider = %provider.name, "identity provider created in the user pool");
                report.created.push(provider.name.clone());
                Ok(())
            }
            // Created meanwhile by another reconciler (two tasks starting at once): check it instead.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_duplicate_provider_exception()) =>
            {
                self.bring_in_line(provider, Some(secret), report).await
            }
            Err(error) => Err(ReconcileError::cognito("CreateIdentityProvider", &error)),
        }
    }

    async fn bring_in_line(
        &self,
        provider: &DesiredProvider,
        secret: Option<&Secret>,
        report: &mut Report,
    ) -> Result<(), ReconcileError> {
        let described = self
            .client
            .describe_identity_provider()
            .user_pool_id(&self.user_pool_id)
            .provider_name(&provider.name)
            .send()
            .await
            .map_err(|e| ReconcileError::cognito("DescribeIdentityProvider", &e))?;
        let current = described.identity_provider();
        let current_details = current
            .and_then(|p| p.provider_details())
            .cloned()
            .unwrap_or_default();
        let current_mapping: BTreeMap<String, String> = current
            .and_then(|p| p.attribute_mapping())
            .map(|m| {
                m.iter()
                    .filter(|(attribute, _)| attribute.as_str() != USERNAME)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let wanted_mapping: BTreeMap<String, String> = provider
            .attribute_mapping
            .iter()
            .filter(|(attribute, _)| attribute.as_str() != USERNAME)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let secret = secret.map(Secret::expose);
        let wanted = provider.details(secret);
        let details_differ = wanted
            .iter()
            .any(|(key, value)| current_details.get(key) != Some(value));
        let is_oidc =
            current.and_then(|p| p.provider_type()) == Some(&IdentityProviderTypeType::Oidc);
        if !details_differ && current_mapping == wanted_mapping && is_oidc {
            report.unchanged.push(provider.name.clone());
            return Ok(());
        }
        // The secret stays what Cognito holds unless a new one was handed over.
        let kept_secret = secret.or(current_details.get(CLIENT_SECRET).map(String::as_str));
        self.client
            .update_identity_provider()
            .user_pool_id(&self.user_pool_id)
            .provider_name(&provider.name)
            .set_provider_details(Some(provider.details(kept_secret)))
            .set_attribute_mapping(Some(
                provider.attribute_mapping.clone().into_iter().collect(),
            ))
            .send()
            .await
            .map_err(|e| ReconcileError::cognito("UpdateIdentityProvider", &e))?;
        tracing::info!(provider = %provider.name, "identity provider updated in the user pool");
        report.updated.push(provider.name.clone());
        Ok(())
    }

    /// Sets the web client's supported identity providers to `providers`; `true` when that changed
    /// anything. Every other setting is sent back as described, since the update resets what it leaves out.
    async fn set_client_providers(
        &self,
        providers: &BTreeSet<String>,
    ) -> Result<bool, ReconcileError> {
        let described = self
            .client
            .describe_user_pool_client()
            .user_pool_id(&self.user_pool_id)
            .client_id(&self.web_client_id)
            .send()
            .await
            .map_err(|e| ReconcileError::cognito("DescribeUserPoolClient", &e))?;
        let Some(client) = described.user_pool_client() else {
            return Err(ReconcileError::Cognito {
                operation: "DescribeUserPoolClient",
                message: "the answer has no client".to_owned(),
            });
        };
        let current: BTreeSet<String> = client
            .supported_identity_providers()
            .iter()
            .cloned()
            .collect();
        if &current == providers {
            return Ok(false);
        }
        self.update_client(client, providers.iter().cloned().collect())
            .await?;
        tracing::info!(providers = ?providers, "web client's identity providers updated");
        Ok(true)
    }

    async fn update_client(
        &self,
        client: &UserPoolClientType,
        providers: Vec<String>,
    ) -> Result<(), ReconcileError> {
        self.client
            .update_user_pool_client()
            .user_pool_id(&self.user_pool_id)
            .client_id(&self.web_client_id)
            .set_client_name(client.client_name().map(str::to_owned))
            .set_refresh_token_validity(Some(client.refresh_token_validity()))
            .set_access_token_validity(client.access_token_validity())
            .set_id_token_validity(client.id_token_validity())
            .set_token_validity_units(client.token_validity_units().cloned())
            .set_read_attributes(non_empty(client.read_attributes()))
            .set_write_attributes(non_empty(client.write_attributes()))
            .set_explicit_auth_flows(non_empty(client.explicit_auth_flows()))
            .set_supported_identity_providers(Some(providers))
            .set_callback_urls(non_empty(client.callback_urls()))
            .set_logout_urls(non_empty(client.logout_urls()))
            .set_default_redirect_uri(client.default_redirect_uri().map(str::to_owned))
            .set_allowed_o_auth_flows(non_empty(client.allowed_o_auth_flows()))
            .set_allowed_o_auth_scopes(non_empty(client.allowed_o_auth_scopes()))
            .set_allowed_o_auth_flows_user_pool_client(
                client.allowed_o_auth_flows_user_pool_client(),
            )
            .set_analytics_configuration(client.analytics_configuration().cloned())
            .set_prevent_user_existence_errors(client.prevent_user_existence_errors().cloned())
            .set_enable_token_revocation(client.enable_token_revocation())
            .set_enable_propagate_additional_user_context_data(
                client.enable_propagate_additional_user_context_data(),
            )
            .set_auth_session_validity(client.auth_session_validity())
            .set_refresh_token_rotation(client.refresh_token_rotation().cloned())
            .send()
            .await
            .map_err(|e| ReconcileError::cognito("UpdateUserPoolClient", &e))?;
        Ok(())
    }
}

/// `Some(list)` unless the list is empty (an absent list and an empty one mean the same to Cognito, and
/// some fields refuse an empty list).
fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// Every tenant's provider as the database defines it (a SECURITY DEFINER function that returns only the
/// providers' federation settings).
pub async fn desired_providers(db: &PgPool) -> Result<DatabaseProviders, ReconcileError> {
    // A set-returning function's columns are nullable as far as the compiler can tell; the table behind it
    // holds all but the issuer NOT NULL.
    let rows = sqlx::query!(
        r#"SELECT provider_name AS "provider_name!", issuer, client_id AS "client_id!",
                  authorize_scopes AS "authorize_scopes!",
                  attribute_mapping AS "attribute_mapping!: sqlx::types::Json<BTreeMap<String, String>>"
           FROM cognito_identity_providers()"#
    )
    .fetch_all(db)
    .await?;
    let mut listed = DatabaseProviders::default();
    for row in rows {
        match row.issuer.filter(|i| !i.is_empty()) {
            Some(issuer) if !row.client_id.is_empty() => listed.ready.push(DesiredProvider {
                name: row.provider_name,
                issuer,
                client_id: row.client_id,
                authorize_scopes: row.authorize_scopes,
                attribute_mapping: row.attribute_mapping.0,
            }),
            _ => listed.incomplete.push(row.provider_name),
        }
    }
    Ok(listed)
}

/// How soon a reconciliation that could not run (the pool's API or the database down) is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Runs the reconciler now and then every `interval` (`None`: once), logging each outcome, until the task is
/// dropped. A run that fails altogether (the pool's API or the database down) is tried again after at most
/// 30 seconds, also when no interval is set.
pub async fn keep_in_step(reconciler: Reconciler, db: PgPool, interval: Option<Duration>) {
    loop {
        let ran = match reconciler.run(&db, &no_secrets).await {
            Ok(report) if report.is_complete() => {
                tracing::info!(?report, "user pool identity providers reconciled");
                true
            }
            Ok(report) => {
                tracing::error!(
                    ?report,
                    "user pool identity providers reconciled only in part"
                );
                true
            }
            Err(error) => {
                tracing::warn!(%error, "reconciling the user pool's identity providers failed; retrying soon");
                false
            }
        };
        let pause = match (ran, interval) {
            (true, None) => return,
            (true, Some(interval)) => interval,
            (false, interval) => {
                interval.map_or(RETRY_AFTER_FAILURE, |i| i.min(RETRY_AFTER_FAILURE))
            }
        };
        tokio::time::sleep(pause).await;
    }
}
