//! The pool's user directory: federated users created on first sign-in, keyed by `<provider>_<sub>` and
//! never linked by email, with attributes mapped from the IdP's claims on every sign-in.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::state::IdentityProvider;
use crate::config::{AppClient, UserPoolConfig};
use crate::store::unix_now_millis;

/// A user of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolUser {
    /// `<providerName>_<the IdP's sub>`, lower-cased in a case-insensitive pool.
    pub username: String,
    /// A random, stable uuid: the `sub` of the pool's tokens.
    pub sub: String,
    /// The provider the user came through.
    pub provider: String,
    /// Pool attributes as strings, the way Cognito stores them (`identities` is a JSON string).
    pub attributes: BTreeMap<String, String>,
    /// Pool groups: Cognito adds every federated user to `<userPoolId>_<providerName>`.
    pub groups: Vec<String>,
    /// When the pool created the user (`UserCreateDate`).
    pub created: std::time::SystemTime,
    /// `false` once an administrator disabled the user (`AdminDisableUser`): no sign-in, no refresh.
    pub enabled: bool,
}

impl PoolUser {
    /// The attribute, if set.
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// The `identities` attribute as the ID token carries it: an array whose `primary` and `dateCreated`
    /// are strings.
    pub(crate) fn identities_claim(&self) -> Value {
        let parsed: Vec<Map<String, Value>> = self
            .attribute("identities")
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        let items = parsed
            .into_iter()
            .map(|mut identity| {
                for key in ["primary", "dateCreated"] {
                    if let Some(value) = identity.get_mut(key)
                        && !value.is_string()
                        && !value.is_null()
                    {
                        *value = Value::String(value.to_string());
                    }
                }
                Value::Object(identity)
            })
            .collect();
        Value::Array(items)
    }
}

/// Why a federated sign-in cannot produce a pool user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum UserError {
    /// The ID token has no usable `sub`, the claim every OIDC provider's username is built from.
    #[error("the identity provider's token has no usable sub claim")]
    NoSubject,
    /// A mapped attribute cannot be written; the message is the description Cognito redirects with.
    #[error("Invalid user attributes: {attribute}: {problem}")]
    InvalidAttribute {
        attribute: String,
        problem: AttributeProblem,
    },
}

/// Why one mapped attribute cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AttributeProblem {
    /// Neither a standard attribute nor a declared custom one.
    #[error("Attribute does not exist in the schema.")]
    NotInSchema,
    /// The app client the user signs in through may not write it.
    #[error("Attribute cannot be updated.")]
    NotWritable,
    /// An immutable custom attribute of an existing user (Cognito writes it at creation only, and fails every
    /// later sign-in that maps it, even with the same value).
    #[error("Attribute cannot be updated.")]
    Immutable,
    /// A value longer than an attribute holds: Cognito's limit is 2,048 characters
    /// (<https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html>), and the
    /// sign-in fails. AWS documents that it reports an error, not its words; these are the stand-in's.
    #[error("String must be no longer than 2048 characters.")]
    TooLong,
}

/// The most characters an attribute value may have.
pub(crate) const MAX_ATTRIBUTE_LENGTH: usize = 2048;

/// All users, in memory.
pub(crate) struct UserDirectory {
    users: Mutex<HashMap<String, PoolUser>>,
}

impl UserDirectory {
    pub(crate) fn new() -> Self {
        UserDirectory {
            users: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PoolUser>> {
        // Each critical section replaces whole entries, so a poisoned map is still consistent.
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user with this username.
    pub(crate) fn get(&self, username: &str) -> Option<PoolUser> {
        self.lock().get(username).cloned()
    }

    /// Every user, in no particular order.
    pub(crate) fn all(&self) -> Vec<PoolUser> {
        self.lock().values().cloned().collect()
    }

    /// Adds a user the pool itself holds (not federated), unless the name is taken; returns whether it was
    /// added.
    pub(crate) fn insert_native(&self, user: PoolUser) -> bool {
        let mut users = self.lock();
        if users.contains_key(&user.username) {
            return false;
        }
        users.insert(user.username.clone(), user);
        true
    }

    /// Removes the user.
    pub(crate) fn remove(&self, username: &str) -> Option<PoolUser> {
        self.lock().remove(username)
    }

    /// Enables or disables the user; `false` when there is no such user.
    pub(crate) fn set_enabled(&self, username: &str, enabled: bool) -> bool {
        self.lock()
            .get_mut(username)
            .map(|user| user.enabled = enabled)
            .is_some()
    }

    /// The user whose user name, `sub` or (in a pool whose users sign in with their email address) email is
    /// `name`: the names Cognito's operations accept for a user. User names compare without regard to case in
    /// a case-insensitive pool, email addresses always.
    pub(crate) fn find(
        &self,
        name: &str,
        case_sensitive: bool,
        by_email: bool,
    ) -> Option<PoolUser> {
        let users = self.lock();
        let by_name = if case_sensitive {
            users.get(name).cloned()
        } else {
            users.get(&name.to_lowercase()).cloned()
        };
        by_name.or_else(|| {
            users
                .values()
                .find(|user| {
                    user.sub == name
                        || (by_email
                            && user
                                .attribute("email")
                                .is_some_and(|email| email.eq_ignore_ascii_case(name)))
                })
                .cloned()
        })
    }

    /// Adds a user named `username` with pool `sub` unless one exists (tokens that tests sign themselves, see
    /// `LocalAws::sign_id_token`).
    pub(crate) fn ensure_exists(&self, username: &str, sub: &str) {
        self.lock()
            .entry(username.to_owned())
            .or_insert_with(|| PoolUser {
                username: username.to_owned(),
                sub: sub.to_owned(),
                provider: String::new(),
                attributes: BTreeMap::from([("sub".to_owned(), sub.to_owned())]),
                groups: Vec::new(),
                created: std::time::SystemTime::now(),
                enabled: true,
            });
    }

    /// Creates the user on first sign-in through `idp`, or updates its mapped attributes on later ones, as
    /// `client` signs the user in. Users are found only by `<provider>_<sub>`: an email address never links
    /// two identities. Like Cognito, only attributes whose claims the token carries are written (an attribute
    /// whose claim is absent keeps its value), and every one of them must exist in the schema and be writable
    /// by the client, or nothing is written and the sign-in fails.
    pub(crate) fn upsert_federated(
        &self,
        config: &UserPoolConfig,
        client: &AppClient,
        idp: &IdentityProvider,
        claims: &Map<String, Value>,
    ) -> Result<PoolUser, UserError> {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(UserError::NoSubject)?;
        // A case-insensitive pool (the deployment's, `sign_in_case_sensitive: false`) "flattens to lowercase" the
        // user names it outputs, a federated user's whole `<provider>_<sub>` included (`Acme-Entra_AbC` is
        // `acme-entra_abc` in trigger events and tokens), while `identities` keeps the provider name and the
        // subject as they are; subjects that differ only in case are then one user
        // (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-case-sensitivity.html).
        let username = format!("{}_{subject}", idp.name);
        let username = if config.sign_in_case_sensitive {
            username
        } else {
            username.to_lowercase()
        };
        // A `username` entry names no attribute: the username is always `<provider>_<sub>`.
        let updates: Vec<(&String, String)> = idp
            .attribute_mapping
            .iter()
            .filter(|(attribute, _)| *attribute != "username")
            .filter_map(|(attribute, claim)| {
                claims
                    .get(claim)
                    .and_then(attribute_value)
                    .map(|value| (attribute, value))
            })
            .collect();

        let mut users = self.lock();
        let exists = users.contains_key(&username);
        for (attribute, value) in &updates {
            let problem = if !config.declares_attribute(attribute) {
                Some(AttributeProblem::NotInSchema)
            } else if !client.write_attributes.contains(attribute) {
                Some(AttributeProblem::NotWritable)
            } else if exists
                && config
                    .custom_attribute(attribute)
                    .is_some_and(|custom| !custom.mutable)
            {
                Some(AttributeProblem::Immutable)
            } else if value.chars().count() > MAX_ATTRIBUTE_LENGTH {
                Some(AttributeProblem::TooLong)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(UserError::InvalidAttribute {
                    attribute: (*attribute).clone(),
                    problem,
                });
            }
        }

        let user = users.entry(username.clone()).or_insert_with(|| {
            let sub = uuid::Uuid::new_v4().to_string();
            let identities = json!([{
                "userId": subject,
                "providerName": idp.name,
                "providerType": "OIDC",
                "issuer": null,
                "primary": true,
                "dateCreated": unix_now_millis(),
            }]);
            let mut attributes = BTreeMap::new();
            attributes.insert("sub".to_owned(), sub.clone());
            attributes.insert("identities".to_owned(), identities.to_string());
            PoolUser {
                username,
                sub,
                provider: idp.name.clone(),
                attributes,
                groups: vec![format!("{}_{}", config.user_pool_id, idp.name)],
                created: std::time::SystemTime::now(),
                enabled: true,
            }
        });
        let email_written = updates.iter().any(|(attribute, _)| *attribute == "email");
        let verified_written = updates
            .iter()
            .any(|(attribute, _)| *attribute == "email_verified");
        for (attribute, value) in updates {
            user.attributes.insert(attribute.clone(), value);
        }
        // Cognito treats an email address mapped from an IdP as unverified unless the mapping also sets
        // `email_verified`; it is then `"false"` in the user's attributes, so in the trigger's event and in
        // userInfo as a string and in the ID token as `false`
        // (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-specifying-attribute-mapping.html).
        if email_written && !verified_written {
            user.attributes
                .insert("email_verified".to_owned(), "false".to_owned());
        }
        Ok(user.clone())
    }
}

/// A claim in Cognito's attribute string form: strings as they are, booleans and numbers as text, and arrays and
/// objects as their JSON text (how Cognito stores a multi-valued OIDC claim, such as Entra's `roles` or Okta's
/// `groups`, mapped to a String attribute: `["SaaS-Admins","SaaS-Users"]`, so a value containing a comma stays one
/// value).
fn attribute_value(claim: &Value) -> Option<String> {
    match claim {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => Some(claim.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The demo world's tenants pool.
    fn demo() -> UserPoolConfig {
        crate::config::LocalAwsConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .unwrap()
            .user_pool
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    /// Acme's Entra ID provider as the demo's reconciler creates it.
    fn acme_entra() -> IdentityProvider {
        let now = std::time::SystemTime::now();
        IdentityProvider {
            name: "acme-entra".into(),
            details: super::super::state::OidcDetails {
                client_id: "client".into(),
                client_secret: "secret".into(),
                authorize_scopes: "openid email profile".into(),
                oidc_issuer: "https://login.example/tenant/v2.0".into(),
                attributes_request_method: "GET".into(),
                authorize_url: "https://login.example/authorize".into(),
                token_url: "https://login.example/token".into(),
                attributes_url: None,
                jwks_uri: "https://login.example/keys".into(),
                explicit: Default::default(),
            },
            attribute_mapping: [
                ("email", "email"),
                ("name", "name"),
                ("custom:idp_groups", "roles"),
                ("username", "sub"),
            ]
            .into_iter()
            .map(|(a, c)| (a.to_owned(), c.to_owned()))
            .collect(),
            idp_identifiers: vec!["acme.example".into()],
            creation_date: now,
            last_modified_date: now,
        }
    }

    fn sign_in_through(
        users: &UserDirectory,
        config: &UserPoolConfig,
        idp: &IdentityProvider,
        claims_json: Value,
    ) -> Result<PoolUser, UserError> {
        users.upsert_federated(config, &config.clients["web"], idp, &claims(claims_json))
    }

    fn sign_in(
        users: &UserDirectory,
        config: &UserPoolConfig,
        claims_json: Value,
    ) -> Result<PoolUser, UserError> {
        sign_in_through(users, config, &acme_entra(), claims_json)
    }

    #[test]
    fn the_username_is_provider_and_sub_and_the_pool_sub_is_stable() {
        let config = demo();
        let users = UserDirectory::new();
        let first = sign_in(
            &users,
            &config,
            json!({"oid": "o1", "sub": "pairwise-1", "roles": ["A", "B"]}),
        )
        .unwrap();
        assert_eq!(first.username, "acme-entra_pairwise-1", "sub, not oid");
        assert_eq!(first.attribute("custom:idp_groups"), Some(r#"["A","B"]"#));
        assert_eq!(
            first.groups,
            vec![format!("{}_acme-entra", config.user_pool_id)]
        );
        let again = sign_in(&users, &config, json!({"oid": "o1", "sub": "pairwise-1"})).unwrap();
        assert_eq!(again.sub, first.sub);
        assert_ne!(again.sub, "pairwise-1", "the pool's sub is its own uuid");
    }

    #[test]
    fn the_username_is_lower_case_while_the_identity_keeps_the_providers_and_subjects_case() {
        let config = demo();
        let users = UserDirectory::new();
        let idp = IdentityProvider {
            name: "Acme-Entra".into(),
            ..acme_entra()
        };
        let user = sign_in_through(&users, &config, &idp, json!({"sub": "PairWise-X1"})).unwrap();
        assert_eq!(user.username, "acme-entra_pairwise-x1");
        let identities = user.identities_claim();
        assert_eq!(identities[0]["providerName"], "Acme-Entra");
        assert_eq!(identities[0]["userId"], "PairWise-X1");
        // The same subject in another case is the same Cognito user.
        let again = sign_in_through(&users, &config, &idp, json!({"sub": "pairwise-x1"})).unwrap();
        assert_eq!(again.sub, user.sub);

        // A case-sensitive pool keeps the case.
        let config = UserPoolConfig {
            sign_in_case_sensitive: true,
            ..demo()
        };
        let users = UserDirectory::new();
        let user = sign_in_through(&users, &config, &idp, json!({"sub": "PairWise-X1"})).unwrap();
        assert_eq!(user.username, "Acme-Entra_PairWise-X1");
    }

    #[test]
    fn a_mapped_email_without_a_verified_claim_is_unverified_and_a_mapped_claim_decides_otherwise()
    {
        let config = demo();
        let users = UserDirectory::new();
        let user = sign_in(
            &users,
            &config,
            json!({"sub": "s1", "email": "a@acme.example"}),
        )
        .unwrap();
        assert_eq!(user.attribute("email_verified"), Some("false"));

        let mut idp = acme_entra();
        idp.attribute_mapping
            .insert("email_verified".into(), "xms_edov".into());
        let user = sign_in_through(
            &users,
            &config,
            &idp,
            json!({"sub": "s2", "email": "b@acme.example", "xms_edov": true}),
        )
        .unwrap();
        assert_eq!(user.attribute("email_verified"), Some("true"));
        // A new address without the claim is unverified again.
        let user = sign_in_through(
            &users,
            &config,
            &idp,
            json!({"sub": "s2", "email": "c@acme.example"}),
        )
        .unwrap();
        assert_eq!(user.attribute("email_verified"), Some("false"));
    }

    #[test]
    fn a_value_longer_than_2048_characters_fails_the_sign_in_and_writes_nothing() {
        let config = demo();
        let users = UserDirectory::new();
        let groups: Vec<String> = (0..300)
            .map(|i| format!("Directory-Group-{i:04}"))
            .collect();
        let error = sign_in(&users, &config, json!({"sub": "s1", "roles": groups})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid user attributes: custom:idp_groups: String must be no longer than 2048 characters."
        );
        assert!(users.get("acme-entra_s1").is_none(), "nothing written");
        let just_fits = "x".repeat(MAX_ATTRIBUTE_LENGTH);
        let user = sign_in(&users, &config, json!({"sub": "s1", "name": just_fits})).unwrap();
        assert_eq!(
            user.attribute("name").map(str::len),
            Some(MAX_ATTRIBUTE_LENGTH)
        );
    }

    #[test]
    fn an_array_claim_is_stored_as_json_so_a_group_name_with_a_comma_stays_one_group() {
        let config = demo();
        let users = UserDirectory::new();
        let user = sign_in(
            &users,
            &config,
            json!({"sub": "s1", "roles": ["x, SaaS-Admins", "Staff"]}),
        )
        .unwrap();
        let stored = user.attribute("custom:idp_groups").unwrap();
        let groups: Vec<String> = serde_json::from_str(stored).unwrap();
        assert_eq!(groups, ["x, SaaS-Admins", "Staff"]);
    }

    #[test]
    fn an_attribute_whose_claim_is_absent_keeps_its_value() {
        let config = demo();
        let users = UserDirectory::new();
        sign_in(
            &users,
            &config,
            json!({"sub": "s1", "roles": ["SaaS-Users"], "name": "Bob"}),
        )
        .unwrap();
        let again = sign_in(&users, &config, json!({"sub": "s1", "name": "Bob B."})).unwrap();
        assert_eq!(
            again.attribute("custom:idp_groups"),
            Some(r#"["SaaS-Users"]"#),
            "Cognito only writes attributes from claims that are present"
        );
        assert_eq!(
            again.attribute("name"),
            Some("Bob B."),
            "present claims update"
        );
    }

    #[test]
    fn users_with_the_same_email_are_never_linked() {
        let config = demo();
        let users = UserDirectory::new();
        let a = sign_in(
            &users,
            &config,
            json!({"sub": "s1", "email": "x@acme.example"}),
        );
        let b = sign_in(
            &users,
            &config,
            json!({"sub": "s2", "email": "x@acme.example"}),
        );
        assert_ne!(a.unwrap().sub, b.unwrap().sub);
    }

    #[test]
    fn a_missing_sub_is_refused_even_when_an_oid_is_there() {
        let config = demo();
        let users = UserDirectory::new();
        let result = sign_in(&users, &config, json!({"oid": "o1"}));
        assert_eq!(result, Err(UserError::NoSubject));
    }

    #[test]
    fn a_mapped_attribute_the_client_may_not_write_fails_and_writes_nothing() {
        let mut config = demo();
        config
            .clients
            .get_mut("web")
            .unwrap()
            .write_attributes
            .retain(|a| a != "custom:idp_groups");
        let users = UserDirectory::new();
        let error = sign_in(&users, &config, json!({"sub": "s1", "roles": ["X"]})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid user attributes: custom:idp_groups: Attribute cannot be updated."
        );
        assert!(users.get("acme-entra_s1").is_none(), "no user was created");
        assert!(
            sign_in(&users, &config, json!({"sub": "s1"})).is_ok(),
            "a token without the claim writes nothing and passes"
        );
    }

    #[test]
    fn a_mapped_attribute_outside_the_schema_fails() {
        // The user-pool API refuses such a mapping; the sign-in refuses it as well, should one get through.
        let config = demo();
        let mut entra = acme_entra();
        entra
            .attribute_mapping
            .insert("custom:tenant_id".into(), "tid".into());
        let users = UserDirectory::new();
        let error =
            sign_in_through(&users, &config, &entra, json!({"sub": "s1", "tid": "t"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid user attributes: custom:tenant_id: Attribute does not exist in the schema."
        );
    }

    #[test]
    fn an_immutable_custom_attribute_is_written_at_creation_only() {
        let mut config = demo();
        for attribute in &mut config.custom_attributes {
            attribute.mutable = false;
        }
        let users = UserDirectory::new();
        let created = sign_in(&users, &config, json!({"sub": "s1", "roles": ["A"]})).unwrap();
        assert_eq!(created.attribute("custom:idp_groups"), Some(r#"["A"]"#));
        let error = sign_in(&users, &config, json!({"sub": "s1", "roles": ["A"]})).unwrap_err();
        assert!(
            matches!(
                error,
                UserError::InvalidAttribute {
                    problem: AttributeProblem::Immutable,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn identities_in_the_id_token_have_string_primary_and_date() {
        let config = demo();
        let users = UserDirectory::new();
        let user = sign_in(&users, &config, json!({"sub": "pairwise-1", "oid": "o1"})).unwrap();
        let identity = &user.identities_claim()[0];
        assert_eq!(identity["primary"], "true");
        assert!(identity["dateCreated"].is_string());
        assert_eq!(identity["issuer"], Value::Null);
        assert_eq!(identity["userId"], "pairwise-1");
        assert_eq!(identity["providerType"], "OIDC");
    }
}
