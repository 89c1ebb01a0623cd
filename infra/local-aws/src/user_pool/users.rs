//! The pool's user directory: federated users created on first sign-in, keyed by `<provider>_<subject>` and
//! never linked by email, with attributes mapped from the IdP's claims on every sign-in.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::config::IdentityProvider;
use crate::store::unix_now_millis;

/// A user of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolUser {
    /// `<providerName>_<idp subject>`.
    pub username: String,
    /// A random, stable uuid: the `sub` of the pool's tokens.
    pub sub: String,
    /// The provider the user came through.
    pub provider: String,
    /// Pool attributes as strings, the way Cognito stores them (`identities` is a JSON string).
    pub attributes: BTreeMap<String, String>,
    /// Pool groups: Cognito adds every federated user to `<userPoolId>_<providerName>`.
    pub groups: Vec<String>,
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
    /// The claim the provider's `username` mapping names is missing or not a string.
    #[error("the identity provider's token has no usable {0} claim")]
    NoSubject(String),
}

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

    /// Creates the user on first sign-in through `idp`, or updates its mapped attributes on later ones.
    /// Users are found only by `<provider>_<subject>`: an email address never links two identities.
    pub(crate) fn upsert_federated(
        &self,
        user_pool_id: &str,
        idp: &IdentityProvider,
        claims: &Map<String, Value>,
    ) -> Result<PoolUser, UserError> {
        let subject_claim = idp
            .attribute_mapping
            .get("username")
            .map_or("sub", String::as_str);
        let subject = claims
            .get(subject_claim)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| UserError::NoSubject(subject_claim.to_owned()))?;
        let username = format!("{}_{subject}", idp.name);

        let mut users = self.lock();
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
                groups: vec![format!("{user_pool_id}_{}", idp.name)],
            }
        });
        for (attribute, claim) in &idp.attribute_mapping {
            if attribute == "username" {
                continue;
            }
            // A claim the IdP no longer sends clears the attribute, so stale groups cannot outlive the IdP's
            // own removal of them.
            match claims.get(claim).and_then(attribute_value) {
                Some(value) => user.attributes.insert(attribute.clone(), value),
                None => user.attributes.remove(attribute),
            };
        }
        Ok(user.clone())
    }
}

/// A claim in Cognito's attribute string form: strings as they are, booleans and numbers as text, and arrays
/// as `[a, b]` (how Cognito stores a multi-valued claim mapped to a String attribute).
fn attribute_value(claim: &Value) -> Option<String> {
    match claim {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            Some(format!("[{}]", parts.join(", ")))
        }
        Value::Object(_) => Some(claim.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IdentityProviderKind;

    fn entra() -> IdentityProvider {
        IdentityProvider {
            name: "acme-entra".into(),
            tenant: "acme".into(),
            kind: IdentityProviderKind::Entra {
                tenant_id: "tid".into(),
            },
            client_id: "client".into(),
            client_secret: "secret".into(),
            verified_domains: vec!["acme.example".into()],
            authorize_scopes: "openid email profile".into(),
            attribute_mapping: [
                ("username", "oid"),
                ("email", "email"),
                ("custom:idp_groups", "roles"),
            ]
            .into_iter()
            .map(|(a, c)| (a.to_owned(), c.to_owned()))
            .collect(),
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_username_is_provider_and_mapped_subject_and_the_sub_is_stable() {
        let users = UserDirectory::new();
        let first = users
            .upsert_federated(
                "pool",
                &entra(),
                &claims(json!({"oid": "o1", "sub": "pairwise", "roles": ["A", "B"]})),
            )
            .unwrap();
        assert_eq!(first.username, "acme-entra_o1");
        assert_eq!(first.attribute("custom:idp_groups"), Some("[A, B]"));
        assert_eq!(first.groups, vec!["pool_acme-entra"]);
        let again = users
            .upsert_federated("pool", &entra(), &claims(json!({"oid": "o1"})))
            .unwrap();
        assert_eq!(again.sub, first.sub);
        assert_eq!(
            again.attribute("custom:idp_groups"),
            None,
            "a claim that disappeared clears the attribute"
        );
    }

    #[test]
    fn users_with_the_same_email_are_never_linked() {
        let users = UserDirectory::new();
        let a = users.upsert_federated(
            "pool",
            &entra(),
            &claims(json!({"oid": "o1", "email": "x@acme.example"})),
        );
        let b = users.upsert_federated(
            "pool",
            &entra(),
            &claims(json!({"oid": "o2", "email": "x@acme.example"})),
        );
        assert_ne!(a.unwrap().sub, b.unwrap().sub);
    }

    #[test]
    fn a_missing_subject_claim_is_refused() {
        let users = UserDirectory::new();
        let result = users.upsert_federated("pool", &entra(), &claims(json!({"sub": "x"})));
        assert_eq!(result, Err(UserError::NoSubject("oid".into())));
    }

    #[test]
    fn identities_in_the_id_token_have_string_primary_and_date() {
        let users = UserDirectory::new();
        let user = users
            .upsert_federated("pool", &entra(), &claims(json!({"oid": "o1"})))
            .unwrap();
        let identity = &user.identities_claim()[0];
        assert_eq!(identity["primary"], "true");
        assert!(identity["dateCreated"].is_string());
        assert_eq!(identity["issuer"], Value::Null);
        assert_eq!(identity["userId"], "o1");
        assert_eq!(identity["providerType"], "OIDC");
    }
}
