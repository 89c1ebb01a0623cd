//! The pool's runtime state, changed only through the user-pool API (`admin`): its identity providers and the
//! settings of its app clients. Every sign-in reads it afresh, so a provider created, changed or deleted takes
//! effect at the next sign-in, as on AWS.
//!
//! One lock guards both, because some changes touch both at once: deleting a provider also takes it out of
//! every client's `SupportedIdentityProviders`.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use crate::config::{AppClient, UserPoolConfig};

/// The built-in provider name of the pool's own users; always allowed in `SupportedIdentityProviders`.
pub(crate) const COGNITO: &str = "COGNITO";

/// An OIDC identity provider of the pool, as `CreateIdentityProvider` or `UpdateIdentityProvider` left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityProvider {
    /// The provider name (`acme-entra`); federated usernames start with it.
    pub name: String,
    /// The OIDC settings (`ProviderDetails`).
    pub details: OidcDetails,
    /// Pool attribute → IdP claim (`AttributeMapping`). A `username` entry may only name `sub`, and changes
    /// nothing: Cognito names every OIDC user `<provider>_<sub>`.
    pub attribute_mapping: BTreeMap<String, String>,
    /// Names that route to this provider through `idp_identifier` (`IdpIdentifiers`), such as email domains.
    pub idp_identifiers: Vec<String>,
    pub creation_date: SystemTime,
    pub last_modified_date: SystemTime,
}

impl IdentityProvider {
    /// Whether `identifier` (an `idp_identifier` value or an email domain) routes to this provider. Compared
    /// without regard to ASCII case, since identifiers are mostly domain names.
    pub(crate) fn has_identifier(&self, identifier: &str) -> bool {
        self.idp_identifiers
            .iter()
            .any(|known| known.eq_ignore_ascii_case(identifier))
    }
}

/// An OIDC provider's `ProviderDetails`, with the endpoint URLs filled in from the issuer's discovery document
/// where the request did not give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OidcDetails {
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated scopes the pool asks the IdP for.
    pub authorize_scopes: String,
    pub oidc_issuer: String,
    /// `GET` or `POST`.
    pub attributes_request_method: String,
    pub authorize_url: String,
    pub token_url: String,
    /// The IdP's userInfo endpoint, when it has one.
    pub attributes_url: Option<String>,
    pub jwks_uri: String,
    /// The endpoint URLs the request gave explicitly; only these override the issuer's discovery document at
    /// sign-in.
    pub explicit: ExplicitEndpoints,
}

/// Which endpoint URLs of a provider were set explicitly rather than discovered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ExplicitEndpoints {
    pub authorize_url: bool,
    pub token_url: bool,
    pub attributes_url: bool,
    pub jwks_uri: bool,
}

/// The unit of a token validity in `TokenValidityUnits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    pub(crate) const NAMES: [&'static str; 4] = ["seconds", "minutes", "hours", "days"];

    pub(crate) fn parse(text: &str) -> Option<TimeUnit> {
        Some(match text {
            "seconds" => TimeUnit::Seconds,
            "minutes" => TimeUnit::Minutes,
            "hours" => TimeUnit::Hours,
            "days" => TimeUnit::Days,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Minutes => "minutes",
            TimeUnit::Hours => "hours",
            TimeUnit::Days => "days",
        }
    }

    pub(crate) fn seconds(self) -> u64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
            TimeUnit::Days => 86_400,
        }
    }
}

/// A token lifetime as the API states it: a number of units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub value: u64,
    pub unit: TimeUnit,
}

impl Validity {
    pub(crate) fn duration(self) -> Duration {
        Duration::from_secs(self.value.saturating_mul(self.unit.seconds()))
    }
}

/// Everything `DescribeUserPoolClient` reports about an app client, and what `UpdateUserPoolClient` replaces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClientRecord {
    /// `ClientName`.
    pub name: String,
    /// The settings the hosted endpoints act on (flows, scopes, URLs, providers, attributes, lifetimes).
    pub settings: AppClient,
    /// Whether `ReadAttributes` was set; unset means the default set, and Describe leaves it out.
    pub read_attributes_set: bool,
    /// Whether `WriteAttributes` was set; unset means the default set, and Describe leaves it out.
    pub write_attributes_set: bool,
    pub access_token_validity: Validity,
    pub id_token_validity: Validity,
    pub refresh_token_validity: Validity,
    pub explicit_auth_flows: Vec<String>,
    pub default_redirect_uri: Option<String>,
    /// `LEGACY` or `ENABLED`.
    pub prevent_user_existence_errors: String,
    pub enable_propagate_additional_user_context_data: bool,
    /// Minutes, 3 to 15.
    pub auth_session_validity: u32,
    pub creation_date: SystemTime,
    pub last_modified_date: SystemTime,
}

impl ClientRecord {
    /// A client as `user-pool.json` and `local.json` describe it at start.
    fn from_config(name: &str, client: &AppClient, now: SystemTime) -> ClientRecord {
        let validity = |duration: Duration, unit: TimeUnit| Validity {
            value: duration.as_secs() / unit.seconds(),
            unit,
        };
        ClientRecord {
            name: name.to_owned(),
            settings: client.clone(),
            read_attributes_set: true,
            write_attributes_set: true,
            access_token_validity: validity(client.access_token_validity, TimeUnit::Minutes),
            id_token_validity: validity(client.id_token_validity, TimeUnit::Minutes),
            refresh_token_validity: validity(client.refresh_token_validity, TimeUnit::Days),
            explicit_auth_flows: client.explicit_auth_flows.clone(),
            default_redirect_uri: None,
            prevent_user_existence_errors: if client.prevent_user_existence_errors {
                "ENABLED".to_owned()
            } else {
                "LEGACY".to_owned()
            },
            enable_propagate_additional_user_context_data: false,
            auth_session_validity: 3,
            creation_date: now,
            last_modified_date: now,
        }
    }
}

/// The providers and clients.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    /// By name; names are case-sensitive, as in Cognito.
    pub providers: BTreeMap<String, IdentityProvider>,
    /// In the order of `user-pool.json`.
    pub clients: Vec<ClientRecord>,
}

impl Contents {
    pub(crate) fn client_mut(&mut self, client_id: &str) -> Option<&mut ClientRecord> {
        self.clients
            .iter_mut()
            .find(|c| c.settings.client_id == client_id)
    }
}

/// The runtime state behind its lock.
#[derive(Debug)]
pub(crate) struct PoolState {
    contents: RwLock<Contents>,
}

impl PoolState {
    /// No identity providers, and the app clients of the configuration.
    pub(crate) fn new(config: &UserPoolConfig) -> PoolState {
        let now = SystemTime::now();
        let clients = config
            .clients
            .iter()
            .map(|(name, client)| ClientRecord::from_config(name, client, now))
            .collect();
        PoolState {
            contents: RwLock::new(Contents {
                providers: BTreeMap::new(),
                clients,
            }),
        }
    }

    // Every change replaces whole values under the write lock, so a poisoned lock still guards consistent
    // data.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Contents> {
        self.contents.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Contents> {
        self.contents.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets a client's access- and ID-token lifetimes, in seconds, without the API's range checks (see
    /// `LocalAws::set_token_lifetimes`); `false` for an unknown client.
    pub(crate) fn set_token_lifetimes(
        &self,
        client_id: &str,
        access: Duration,
        id: Duration,
    ) -> bool {
        let mut contents = self.write();
        let Some(client) = contents.client_mut(client_id) else {
            return false;
        };
        client.settings.access_token_validity = access;
        client.settings.id_token_validity = id;
        client.access_token_validity = Validity {
            value: access.as_secs(),
            unit: TimeUnit::Seconds,
        };
        client.id_token_validity = Validity {
            value: id.as_secs(),
            unit: TimeUnit::Seconds,
        };
        client.last_modified_date = SystemTime::now();
        true
    }

    /// The provider with this name.
    pub(crate) fn provider(&self, name: &str) -> Option<IdentityProvider> {
        self.read().providers.get(name).cloned()
    }

    /// The current settings of the app client with this id.
    pub(crate) fn client(&self, client_id: &str) -> Option<AppClient> {
        self.read()
            .clients
            .iter()
            .find(|c| c.settings.client_id == client_id)
            .map(|c| c.settings.clone())
    }

    /// The existing providers `client` supports, in the client's order (`COGNITO` is not one of them).
    pub(crate) fn providers_of(&self, client: &AppClient) -> Vec<IdentityProvider> {
        let contents = self.read();
        client
            .supported_identity_providers
            .iter()
            .filter_map(|name| contents.providers.get(name).cloned())
            .collect()
    }
}
