//! Building the pool's access and ID tokens with Cognito's claims, applying the trigger's overrides, signing
//! them, and verifying the pool's own access tokens (userInfo).

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value, json};

use super::users::PoolUser;
use super::{Pool, Session};
use crate::config::AppClient;
use crate::keys::KeyError;
use crate::store::unix_now;
use crate::trigger::OverrideDetails;

/// Claims the trigger may neither add, override nor suppress: Cognito's documented list ("You can not modify
/// the following claims: acr, amr, aud, at_hash, auth_time, azp, cognito:username, exp, iat, identities,
/// iss, jti, nbf, nonce, origin_jti, sub, token_use", and claims with a `dev:` prefix,
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html>),
/// plus the access token's own `client_id`, `scope`, `username`, `event_id` and `version`. Every `cognito:`
/// claim is protected as well (groups change only through `groupOverrideDetails`).
///
/// The documentation does not say whether Cognito ignores such a change or fails the sign-in; the stand-in
/// fails it (`PreTokenGeneration failed with error Invalid claim ...`), so that a trigger relying on one shows
/// its mistake here instead of silently doing nothing on AWS.
const PROTECTED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "client_id",
    "cognito:username",
    "event_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
    "version",
];

fn is_protected(claim: &str) -> bool {
    PROTECTED_CLAIMS.contains(&claim) || claim.starts_with("cognito:") || claim.starts_with("dev:")
}

/// Attributes that Cognito puts in the ID token as booleans rather than strings.
const BOOLEAN_ATTRIBUTES: &[&str] = &["email_verified", "phone_number_verified"];

/// Signed tokens ready to hand out.
#[derive(Debug, Clone)]
pub(crate) struct IssuedTokens {
    pub access_token: String,
    /// Only when the `openid` scope was granted.
    pub id_token: Option<String>,
    /// The access token's lifetime in seconds.
    pub expires_in: u64,
}

/// Unsigned tokens of a user sign-in, open to the trigger's changes.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub access: Map<String, Value>,
    pub id: Option<Map<String, Value>>,
    pub scopes: Vec<String>,
    expires_in: u64,
}

/// The claims of a user's tokens before the trigger runs.
pub(crate) fn draft(
    pool: &Pool,
    client: &AppClient,
    user: &PoolUser,
    session: &Session,
    nonce: Option<&str>,
) -> Draft {
    let now = unix_now();
    let access_lifetime = client.access_token_validity.as_secs();
    let id_lifetime = client.id_token_validity.as_secs();

    let mut access = Map::new();
    access.insert("sub".into(), json!(user.sub));
    if !user.groups.is_empty() {
        access.insert("cognito:groups".into(), json!(user.groups));
    }
    access.insert("iss".into(), json!(pool.urls.issuer));
    access.insert("client_id".into(), json!(client.client_id));
    access.insert("version".into(), json!(2));
    access.insert("origin_jti".into(), json!(session.origin_jti));
    access.insert("event_id".into(), json!(session.event_id));
    access.insert("token_use".into(), json!("access"));
    access.insert("auth_time".into(), json!(session.auth_time));
    access.insert(
        "exp".into(),
        json!(now.saturating_add_unsigned(access_lifetime)),
    );
    access.insert("iat".into(), json!(now));
    access.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    access.insert("username".into(), json!(user.username));

    let id = session.scopes.iter().any(|s| s == "openid").then(|| {
        let mut id = Map::new();
        id.insert("sub".into(), json!(user.sub));
        if !user.groups.is_empty() {
            id.insert("cognito:groups".into(), json!(user.groups));
        }
        for attribute in &client.read_attributes {
            if BOOLEAN_ATTRIBUTES.contains(&attribute.as_str()) {
                id.insert(
                    attribute.clone(),
                    json!(user.attribute(attribute) == Some("true")),
                );
            } else if let Some(value) = user.attribute(attribute) {
                id.insert(attribute.clone(), json!(value));
            }
        }
        id.insert("iss".into(), json!(pool.urls.issuer));
        id.insert("cognito:username".into(), json!(user.username));
        if let Some(nonce) = nonce {
            id.insert("nonce".into(), json!(nonce));
        }
        id.insert("origin_jti".into(), json!(session.origin_jti));
        id.insert("event_id".into(), json!(session.event_id));
        id.insert("aud".into(), json!(client.client_id));
        // Only federated users have identities; the pool's own users' ID tokens have no such claim.
        if user.attribute("identities").is_some() {
            id.insert("identities".into(), user.identities_claim());
        }
        id.insert("token_use".into(), json!("id"));
        id.insert("auth_time".into(), json!(session.auth_time));
        id.insert(
            "exp".into(),
            json!(now.saturating_add_unsigned(id_lifetime)),
        );
        id.insert("iat".into(), json!(now));
        id.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        id
    });

    Draft {
        access,
        id,
        scopes: session.scopes.clone(),
        expires_in: access_lifetime,
    }
}

/// Applies the trigger's overrides. Touching a protected claim fails the sign-in with this message.
pub(crate) fn apply_overrides(draft: &mut Draft, details: &OverrideDetails) -> Result<(), String> {
    if let Some(groups) = &details.group_override_details {
        if let Some(list) = &groups.groups_to_override {
            set_or_remove(&mut draft.access, "cognito:groups", list);
            if let Some(id) = draft.id.as_mut() {
                set_or_remove(id, "cognito:groups", list);
            }
        }
        if let Some(id) = draft.id.as_mut() {
            if let Some(roles) = &groups.iam_roles_to_override {
                set_or_remove(id, "cognito:roles", roles);
            }
            if let Some(role) = &groups.preferred_role {
                id.insert("cognito:preferred_role".into(), json!(role));
            }
        }
    }
    if let Some(generation) = &details.id_token_generation {
        // Changes to the ID token are validated even when no ID token is issued (no openid scope).
        let mut scratch = Map::new();
        let id = draft.id.as_mut().unwrap_or(&mut scratch);
        change_claims(
            id,
            generation.claims_to_add_or_override.as_ref(),
            generation.claims_to_suppress.as_deref(),
        )?;
    }
    if let Some(generation) = &details.access_token_generation {
        change_claims(
            &mut draft.access,
            generation.claims_to_add_or_override.as_ref(),
            generation.claims_to_suppress.as_deref(),
        )?;
        for scope in generation.scopes_to_add.iter().flatten() {
            if !draft.scopes.contains(scope) {
                draft.scopes.push(scope.clone());
            }
        }
        if let Some(suppress) = &generation.scopes_to_suppress {
            draft.scopes.retain(|scope| !suppress.contains(scope));
        }
    }
    Ok(())
}

fn set_or_remove(claims: &mut Map<String, Value>, name: &str, list: &[String]) {
    if list.is_empty() {
        claims.remove(name);
    } else {
        claims.insert(name.into(), json!(list));
    }
}

fn change_claims(
    claims: &mut Map<String, Value>,
    add: Option<&Map<String, Value>>,
    suppress: Option<&[String]>,
) -> Result<(), String> {
    for name in add
        .into_iter()
        .flat_map(Map::keys)
        .chain(suppress.into_iter().flatten())
    {
        if is_protected(name) {
            return Err(format!(
                "Invalid claim {name} in claimsAndScopeOverrideDetails"
            ));
        }
    }
    for (name, value) in add.into_iter().flatten() {
        claims.insert(name.clone(), value.clone());
    }
    for name in suppress.into_iter().flatten() {
        claims.remove(name);
    }
    Ok(())
}

/// Signs a draft: the access token with the access key, the ID token with the ID key.
pub(crate) fn sign(pool: &Pool, mut draft: Draft) -> Result<IssuedTokens, KeyError> {
    draft
        .access
        .insert("scope".into(), json!(draft.scopes.join(" ")));
    let access_token = pool.keys.sign_access(&Value::Object(draft.access))?;
    let id_token = draft
        .id
        .map(|mut id| {
            id.insert("at_hash".into(), json!(at_hash(&access_token)));
            pool.keys.sign_id(&Value::Object(id))
        })
        .transpose()?;
    Ok(IssuedTokens {
        access_token,
        id_token,
        expires_in: draft.expires_in,
    })
}

/// The ID token's `at_hash` for the access token issued with it (OpenID Connect Core 3.3.2.11): the left
/// half of the SHA-256 of its ASCII text, base64url without padding, for RS256. Cognito puts it in every ID
/// token it issues with an access token, from the code grant and the refresh grant alike.
fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Signs a machine (client credentials) access token: `sub` is the client id and there is no user.
pub(crate) fn sign_machine(
    pool: &Pool,
    client: &AppClient,
    scopes: &[String],
) -> Result<IssuedTokens, KeyError> {
    let now = unix_now();
    let lifetime = client.access_token_validity.as_secs();
    let claims = json!({
        "sub": client.client_id,
        "token_use": "access",
        "scope": scopes.join(" "),
        "auth_time": now,
        "iss": pool.urls.issuer,
        "exp": now.saturating_add_unsigned(lifetime),
        "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
        "client_id": client.client_id,
        "version": 2,
    });
    Ok(IssuedTokens {
        access_token: pool.keys.sign_access(&claims)?,
        id_token: None,
        expires_in: lifetime,
    })
}

/// Why an access token presented to the pool is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AccessTokenError {
    #[error("Access token is malformed or its signature is invalid")]
    Invalid,
    #[error("Access token has expired")]
    Expired,
    #[error("Access token has been revoked")]
    Revoked,
}

/// Verifies one of the pool's own access tokens: signature by a published key, issuer, expiry,
/// `token_use = access`, and not revoked.
pub(crate) fn verify_access_token(
    pool: &Pool,
    token: &str,
) -> Result<Map<String, Value>, AccessTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AccessTokenError::Invalid)?;
    let kid = header.kid.ok_or(AccessTokenError::Invalid)?;
    let key = pool
        .keys
        .published_key(&kid)
        .ok_or(AccessTokenError::Invalid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&pool.urls.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_aud = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), &validation)
        .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => AccessTokenError::Expired,
        _ => AccessTokenError::Invalid,
    })?;
    let claims = data.claims;
    if claims.get("token_use").and_then(Value::as_str) != Some("access") {
        return Err(AccessTokenError::Invalid);
    }
    if let Some(origin) = claims.get("origin_jti").and_then(Value::as_str)
        && pool.revoked_origins.get(&origin.to_owned()).is_some()
    {
        return Err(AccessTokenError::Revoked);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::{GroupOverrideDetails, TokenGeneration};

    fn sample() -> Draft {
        let access = json!({"sub": "s", "scope": "x", "username": "u"})
            .as_object()
            .cloned()
            .unwrap();
        let id = json!({"sub": "s", "email": "a@b"})
            .as_object()
            .cloned()
            .unwrap();
        Draft {
            access,
            id: Some(id),
            scopes: vec!["openid".into(), "saas-api/admin".into()],
            expires_in: 60,
        }
    }

    #[test]
    fn overrides_reach_both_tokens_and_scopes() {
        let mut draft = sample();
        let details = OverrideDetails {
            id_token_generation: Some(TokenGeneration {
                claims_to_add_or_override: json!({"tenant_id": "t1"}).as_object().cloned(),
                claims_to_suppress: Some(vec!["email".into()]),
                ..TokenGeneration::default()
            }),
            access_token_generation: Some(TokenGeneration {
                claims_to_add_or_override: json!({"tenant_role": "viewer"}).as_object().cloned(),
                scopes_to_add: Some(vec!["saas-api/read".into()]),
                scopes_to_suppress: Some(vec!["saas-api/admin".into()]),
                ..TokenGeneration::default()
            }),
            group_override_details: Some(GroupOverrideDetails {
                groups_to_override: Some(vec![]),
                ..GroupOverrideDetails::default()
            }),
        };
        apply_overrides(&mut draft, &details).unwrap();
        let id = draft.id.unwrap();
        assert_eq!(id["tenant_id"], "t1");
        assert!(!id.contains_key("email"));
        assert_eq!(draft.access["tenant_role"], "viewer");
        assert_eq!(draft.scopes, vec!["openid", "saas-api/read"]);
        assert!(!draft.access.contains_key("cognito:groups"));
    }

    #[test]
    fn protected_claims_cannot_be_changed() {
        let prefixed = [
            "dev:custom:tenant",
            "cognito:groups",
            "cognito:roles",
            "cognito:preferred_role",
            "cognito:username",
            "cognito:anything_new",
        ];
        for protected in PROTECTED_CLAIMS.iter().chain(&prefixed) {
            let mut draft = sample();
            let details = OverrideDetails {
                access_token_generation: Some(TokenGeneration {
                    claims_to_suppress: Some(vec![(*protected).to_owned()]),
                    ..TokenGeneration::default()
                }),
                ..OverrideDetails::default()
            };
            assert!(
                apply_overrides(&mut draft, &details).is_err(),
                "{protected} was suppressed"
            );
            let mut draft = sample();
            let details = OverrideDetails {
                id_token_generation: Some(TokenGeneration {
                    claims_to_add_or_override: json!({ *protected: "forged" }).as_object().cloned(),
                    ..TokenGeneration::default()
                }),
                ..OverrideDetails::default()
            };
            assert!(
                apply_overrides(&mut draft, &details).is_err(),
                "{protected} was overridden"
            );
        }
    }
}
