//! `CreateIdentityProvider`, `UpdateIdentityProvider`, `DescribeIdentityProvider`, `DeleteIdentityProvider` and
//! `ListIdentityProviders` for OIDC providers.
//!
//! What Cognito does and the stand-in reproduces: `ProviderDetails` of an OIDC provider need `client_id`,
//! `client_secret`, `authorize_scopes`, `attributes_request_method` (`GET` or `POST`) and `oidc_issuer`, and
//! may give `authorize_url`, `token_url`, `attributes_url` and `jwks_uri` explicitly; the ones not given are
//! read from the issuer's discovery document when the provider is created or changed, and
//! `DescribeIdentityProvider` returns all of them, the `client_secret` included, with the read-only
//! `attributes_url_add_attributes: "false"`. A name is unique in the pool (`DuplicateProviderException`),
//! `AttributeMapping` may only name attributes of the pool's schema (and `username` only as `sub`), and an
//! identifier routes to one provider only. Deleting a provider also takes it out of every app client's
//! `SupportedIdentityProviders`. Dates are epoch seconds.
//!
//! The stand-in federates OIDC providers only: SAML and the social provider types are refused with a message
//! that says so.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::error::ServiceError;
use super::validation::{
    Input, StringShape, Violations, page_after, page_size, page_token, string_member,
};
use crate::user_pool::Pool;
use crate::user_pool::state::{COGNITO, ExplicitEndpoints, IdentityProvider, OidcDetails};

/// `ProviderNameTypeV2`, the name `CreateIdentityProvider` accepts.
const NEW_PROVIDER_NAME: StringShape = StringShape::pattern(
    1,
    Some(32),
    r"[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+",
    r"[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+",
);
/// `ProviderNameType`, the name the other operations accept.
pub(crate) const PROVIDER_NAME: StringShape = StringShape::pattern(
    1,
    Some(32),
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}\p{Z}]+",
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}\p{Z}]+",
);
/// `IdpIdentifierType`.
const IDP_IDENTIFIER: StringShape = StringShape::pattern(
    1,
    Some(40),
    r"[\w\s+=.@-]+",
    r"[0-9A-Za-z_ \t\n\x0B\x0C\r+=.@-]+",
);
/// `AttributeMappingKeyType`.
const ATTRIBUTE_KEY: StringShape = StringShape::length(1, 32);
/// `PaginationKeyType`.
const NEXT_TOKEN: StringShape = StringShape::pattern(1, None, r"[\S]+", r"[^ \t\n\x0B\x0C\r]+");

/// `IdentityProviderTypeType`.
const PROVIDER_TYPES: &[&str] = &[
    "SAML",
    "Facebook",
    "Google",
    "LoginWithAmazon",
    "SignInWithApple",
    "OIDC",
];
/// Social provider types, whose provider name must be the type itself.
const SOCIAL_TYPES: &[&str] = &["Facebook", "Google", "LoginWithAmazon", "SignInWithApple"];

/// The `ProviderDetails` keys of an OIDC provider that a request must give.
const REQUIRED_OIDC_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "authorize_scopes",
    "attributes_request_method",
    "oidc_issuer",
];
/// The keys a request may give besides the required ones. `attributes_url_add_attributes` is read-only and
/// ignored, so that what `DescribeIdentityProvider` returned can be sent back unchanged.
const OPTIONAL_OIDC_KEYS: &[&str] = &[
    "authorize_url",
    "token_url",
    "attributes_url",
    "jwks_uri",
    "attributes_url_add_attributes",
];

/// The largest page of `ListIdentityProviders`.
const MAX_PAGE: i64 = 60;

/// Epoch seconds with milliseconds, as the service writes dates.
pub(crate) fn epoch_seconds(time: SystemTime) -> Value {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    json!(millis as f64 / 1000.0)
}

/// `DescribeIdentityProvider`'s view of a provider.
fn describe(user_pool_id: &str, provider: &IdentityProvider) -> Value {
    let details = &provider.details;
    let mut provider_details = Map::new();
    let mut put = |key: &str, value: &str| {
        provider_details.insert(key.to_owned(), json!(value));
    };
    put(
        "attributes_request_method",
        &details.attributes_request_method,
    );
    if let Some(url) = &details.attributes_url {
        put("attributes_url", url);
    }
    put("attributes_url_add_attributes", "false");
    put("authorize_scopes", &details.authorize_scopes);
    put("authorize_url", &details.authorize_url);
    put("client_id", &details.client_id);
    put("client_secret", &details.client_secret);
    put("jwks_uri", &details.jwks_uri);
    put("oidc_issuer", &details.oidc_issuer);
    put("token_url", &details.token_url);
    json!({
        "UserPoolId": user_pool_id,
        "ProviderName": provider.name,
        "ProviderType": "OIDC",
        "ProviderDetails": provider_details,
        "AttributeMapping": provider.attribute_mapping,
        "IdpIdentifiers": provider.idp_identifiers,
        "LastModifiedDate": epoch_seconds(provider.last_modified_date),
        "CreationDate": epoch_seconds(provider.creation_date),
    })
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::resource_not_found(format!("Identity provider {name} does not exist."))
}

/// `CreateIdentityProvider`.
pub(crate) async fn create(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let name = input.string("ProviderName")?;
    let provider_type = input.string("ProviderType")?;
    let details = input.string_map("ProviderDetails")?;
    let mapping = input.string_map("AttributeMapping")?;
    let identifiers = input.string_list("IdpIdentifiers")?;

    let mut violations = Violations::new();
    violations.string("ProviderName", name, NEW_PROVIDER_NAME);
    let name = violations.require("ProviderName", name);
    violations.one_of("ProviderType", provider_type, PROVIDER_TYPES);
    let provider_type = violations.require("ProviderType", provider_type);
    let details = violations.require("ProviderDetails", details);
    check_mapping_keys(&mut violations, mapping.as_ref());
    check_identifiers(&mut violations, identifiers.as_deref());
    violations.finish()?;
    let (Some(name), Some(provider_type), Some(details)) = (name, provider_type, details) else {
        return Err(ServiceError::invalid_parameter(
            "ProviderName, ProviderType and ProviderDetails are required.",
        ));
    };

    check_type(name, provider_type)?;
    let mapping = check_mapping(pool, mapping.unwrap_or_default())?;
    let identifiers = identifiers.unwrap_or_default();
    check_identifiers_unique(pool, name, &identifiers)?;
    if pool.state.read().providers.contains_key(name) {
        return Err(duplicate(pool, name));
    }
    let details = oidc_details(pool, details).await?;

    let now = SystemTime::now();
    let provider = IdentityProvider {
        name: name.to_owned(),
        details,
        attribute_mapping: mapping,
        idp_identifiers: identifiers,
        creation_date: now,
        last_modified_date: now,
    };
    let mut state = pool.state.write();
    // Checked again under the lock: another request may have created it during discovery.
    if state.providers.contains_key(name) {
        return Err(duplicate(pool, name));
    }
    let clash = identifier_clash(&state.providers, name, &provider.idp_identifiers);
    if let Some((identifier, owner)) = clash {
        return Err(identifier_taken(&identifier, &owner));
    }
    state.providers.insert(name.to_owned(), provider.clone());
    Ok(json!({ "IdentityProvider": describe(&pool.settings.user_pool_id, &provider) }))
}

/// `UpdateIdentityProvider`: the members given replace the provider's (`ProviderDetails` as a whole, checked
/// like a new provider's); the others stay.
pub(crate) async fn update(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let name = input.string("ProviderName")?;
    let details = input.string_map("ProviderDetails")?;
    let mapping = input.string_map("AttributeMapping")?;
    let identifiers = input.string_list("IdpIdentifiers")?;

    let mut violations = Violations::new();
    violations.string("ProviderName", name, PROVIDER_NAME);
    let name = violations.require("ProviderName", name);
    check_mapping_keys(&mut violations, mapping.as_ref());
    check_identifiers(&mut violations, identifiers.as_deref());
    violations.finish()?;
    let Some(name) = name else {
        return Err(ServiceError::invalid_parameter("ProviderName is required."));
    };
    if name == COGNITO {
        return Err(cognito_is_built_in());
    }
    let Some(current) = pool.state.provider(name) else {
        return Err(not_found(name));
    };
    let mapping = mapping.map(|m| check_mapping(pool, m)).transpose()?;
    if let Some(identifiers) = &identifiers {
        check_identifiers_unique(pool, name, identifiers)?;
    }
    let details = match details {
        Some(details) => Some(oidc_details(pool, details).await?),
        None => None,
    };

    let mut state = pool.state.write();
    if let Some(identifiers) = &identifiers
        && let Some((identifier, owner)) = identifier_clash(&state.providers, name, identifiers)
    {
        return Err(identifier_taken(&identifier, &owner));
    }
    // The provider may have been deleted while its issuer was being read.
    let Some(provider) = state.providers.get_mut(name) else {
        return Err(not_found(name));
    };
    if provider.creation_date != current.creation_date {
        return Err(not_found(name));
    }
    if let Some(details) = details {
        provider.details = details;
    }
    if let Some(mapping) = mapping {
        provider.attribute_mapping = mapping;
    }
    if let Some(identifiers) = identifiers {
        provider.idp_identifiers = identifiers;
    }
    provider.last_modified_date = SystemTime::now();
    Ok(json!({ "IdentityProvider": describe(&pool.settings.user_pool_id, provider) }))
}

/// `DescribeIdentityProvider`.
pub(crate) fn describe_provider(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let name = provider_name(input)?;
    let provider = pool.state.provider(name).ok_or_else(|| not_found(name))?;
    Ok(json!({ "IdentityProvider": describe(&pool.settings.user_pool_id, &provider) }))
}

/// `DeleteIdentityProvider`: the provider goes, and with it every app client's support for it.
pub(crate) fn delete(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let name = provider_name(input)?;
    if name == COGNITO {
        return Err(cognito_is_built_in());
    }
    let mut state = pool.state.write();
    if state.providers.remove(name).is_none() {
        return Err(not_found(name));
    }
    for client in &mut state.clients {
        client
            .settings
            .supported_identity_providers
            .retain(|supported| supported != name);
    }
    tracing::info!(provider = name, "identity provider deleted");
    Ok(json!({}))
}

/// `ListIdentityProviders`: names, types and dates, by name, a page at a time.
pub(crate) fn list(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let max_results = input.integer("MaxResults")?;
    let next_token = input.string("NextToken")?;
    let mut violations = Violations::new();
    violations.range("MaxResults", max_results, 0, MAX_PAGE);
    violations.string("NextToken", next_token, NEXT_TOKEN);
    violations.finish()?;
    let page_size = page_size(max_results, MAX_PAGE);
    let after = page_after(next_token, "Invalid NextToken.")?;

    let state = pool.state.read();
    let mut remaining = state
        .providers
        .values()
        .filter(|p| after.as_ref().is_none_or(|after| p.name > *after));
    let page: Vec<&IdentityProvider> = remaining.by_ref().take(page_size).collect();
    let more = remaining.next().is_some();
    let providers: Vec<Value> = page
        .iter()
        .map(|p| {
            json!({
                "ProviderName": p.name,
                "ProviderType": "OIDC",
                "LastModifiedDate": epoch_seconds(p.last_modified_date),
                "CreationDate": epoch_seconds(p.creation_date),
            })
        })
        .collect();
    let mut output = json!({ "Providers": providers });
    if more && let Some(last) = page.last() {
        output["NextToken"] = json!(page_token(&last.name));
    }
    Ok(output)
}

/// The `ProviderName` of `Describe` and `Delete`.
fn provider_name<'a>(input: Input<'a>) -> Result<&'a str, ServiceError> {
    let name = input.string("ProviderName")?;
    let mut violations = Violations::new();
    violations.string("ProviderName", name, PROVIDER_NAME);
    let name = violations.require("ProviderName", name);
    violations.finish()?;
    name.ok_or_else(|| ServiceError::invalid_parameter("ProviderName is required."))
}

fn duplicate(pool: &Pool, name: &str) -> ServiceError {
    ServiceError::duplicate_provider(format!(
        "{name} already exists in user pool {}",
        pool.settings.user_pool_id
    ))
}

fn cognito_is_built_in() -> ServiceError {
    ServiceError::unsupported_identity_provider(format!(
        "{COGNITO} is the user pool's own directory, not an identity provider that can be changed."
    ))
}

/// Social types need the type as the name (Cognito's rule); beyond that, only OIDC is served locally.
fn check_type(name: &str, provider_type: &str) -> Result<(), ServiceError> {
    if SOCIAL_TYPES.contains(&provider_type) && name != provider_type {
        return Err(ServiceError::invalid_parameter(format!(
            "Provider {name} cannot be of type {provider_type}."
        )));
    }
    if provider_type != "OIDC" {
        return Err(ServiceError::invalid_parameter(format!(
            "The local stand-in federates OIDC providers only; {provider_type} providers are not served."
        )));
    }
    Ok(())
}

fn check_mapping_keys(violations: &mut Violations, mapping: Option<&BTreeMap<String, String>>) {
    if let Some(mapping) = mapping {
        for key in mapping.keys() {
            violations.string("AttributeMapping", Some(key), ATTRIBUTE_KEY);
        }
    }
}

fn check_identifiers(violations: &mut Violations, identifiers: Option<&[String]>) {
    violations.list(
        "IdpIdentifiers",
        identifiers,
        Some(50),
        string_member(IDP_IDENTIFIER),
    );
}

/// Every mapped attribute must be in the pool's schema and writable by an identity provider (no `sub`, no
/// developer-only attribute); `username` may only be mapped to `sub`, which is what Cognito does anyway for
/// an OIDC provider, so that entry is kept as given and changes nothing.
fn check_mapping(
    pool: &Pool,
    mapping: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ServiceError> {
    if let Some(claim) = mapping.get("username")
        && claim != "sub"
    {
        return Err(ServiceError::invalid_parameter(format!(
            "AttributeMapping maps username to {claim}, but an OIDC provider's username is always derived from \
             sub."
        )));
    }
    let invalid: Vec<&str> = mapping
        .keys()
        .map(String::as_str)
        .filter(|key| {
            *key != "username"
                && (!pool.settings.declares_attribute(key) || key.starts_with("dev:"))
        })
        .collect();
    if !invalid.is_empty() {
        return Err(ServiceError::invalid_parameter(format!(
            "AttributeMapping contains invalid mapping: [{}]",
            invalid.join(", ")
        )));
    }
    Ok(mapping)
}

/// Refuses an identifier given twice, or one that routes to another provider already.
fn check_identifiers_unique(
    pool: &Pool,
    name: &str,
    identifiers: &[String],
) -> Result<(), ServiceError> {
    for (i, identifier) in identifiers.iter().enumerate() {
        if identifiers[..i]
            .iter()
            .any(|earlier| earlier.eq_ignore_ascii_case(identifier))
        {
            return Err(ServiceError::invalid_parameter(format!(
                "Duplicate identifier {identifier} in IdpIdentifiers."
            )));
        }
    }
    let state = pool.state.read();
    match identifier_clash(&state.providers, name, identifiers) {
        Some((identifier, owner)) => Err(identifier_taken(&identifier, &owner)),
        None => Ok(()),
    }
}

/// The first of `identifiers` that another provider than `name` already has, and that provider.
fn identifier_clash(
    providers: &BTreeMap<String, IdentityProvider>,
    name: &str,
    identifiers: &[String],
) -> Option<(String, String)> {
    providers.values().filter(|p| p.name != name).find_map(|p| {
        identifiers
            .iter()
            .find(|identifier| p.has_identifier(identifier))
            .map(|identifier| (identifier.clone(), p.name.clone()))
    })
}

fn identifier_taken(identifier: &str, owner: &str) -> ServiceError {
    ServiceError::invalid_parameter(format!(
        "The identifier {identifier} is already used by the identity provider {owner}."
    ))
}

/// Checks an OIDC provider's `ProviderDetails` and completes the endpoint URLs from the issuer's discovery
/// document.
async fn oidc_details(
    pool: &Pool,
    mut details: BTreeMap<String, String>,
) -> Result<OidcDetails, ServiceError> {
    let unknown: Vec<&str> = details
        .keys()
        .map(String::as_str)
        .filter(|k| !REQUIRED_OIDC_KEYS.contains(k) && !OPTIONAL_OIDC_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(ServiceError::invalid_parameter(format!(
            "ProviderDetails contains keys an OIDC provider does not have: [{}]",
            unknown.join(", ")
        )));
    }
    if REQUIRED_OIDC_KEYS
        .iter()
        .any(|key| details.get(*key).is_none_or(|v| v.trim().is_empty()))
    {
        return Err(ServiceError::invalid_parameter(
            "client_id, client_secret, authorize_scopes, attributes_request_method and oidc_issuer are all \
             required idp details",
        ));
    }
    let mut take = |key: &str| details.remove(key).unwrap_or_default();
    let client_id = take("client_id");
    let client_secret = take("client_secret");
    let authorize_scopes = take("authorize_scopes");
    let attributes_request_method = take("attributes_request_method");
    let oidc_issuer = take("oidc_issuer");
    if attributes_request_method != "GET" && attributes_request_method != "POST" {
        return Err(ServiceError::invalid_parameter(format!(
            "attributes_request_method must be GET or POST, not {attributes_request_method}."
        )));
    }
    check_url("oidc_issuer", &oidc_issuer)?;
    let explicit_url = |key: &str, details: &mut BTreeMap<String, String>| {
        let value = details.remove(key).filter(|v| !v.is_empty());
        if let Some(url) = &value {
            check_url(key, url)?;
        }
        Ok::<_, ServiceError>(value)
    };
    let authorize_url = explicit_url("authorize_url", &mut details)?;
    let token_url = explicit_url("token_url", &mut details)?;
    let attributes_url = explicit_url("attributes_url", &mut details)?;
    let jwks_uri = explicit_url("jwks_uri", &mut details)?;
    let explicit = ExplicitEndpoints {
        authorize_url: authorize_url.is_some(),
        token_url: token_url.is_some(),
        attributes_url: attributes_url.is_some(),
        jwks_uri: jwks_uri.is_some(),
    };

    let discovered =
        if explicit.authorize_url && explicit.token_url && explicit.jwks_uri {
            None
        } else {
            Some(discover(&pool.http, &oidc_issuer).await.map_err(|problem| {
            ServiceError::invalid_parameter(format!(
                "The OIDC discovery document of {oidc_issuer} could not be used: {problem}"
            ))
        })?)
        };
    let pick =
        |given: Option<String>,
         found: Option<&Discovered>,
         of: fn(&Discovered) -> Option<String>| { given.or_else(|| found.and_then(of)) };
    let found = discovered.as_ref();
    let missing = |key: &str| {
        ServiceError::invalid_parameter(format!(
            "{key} was neither given nor found in the discovery document of {oidc_issuer}."
        ))
    };
    Ok(OidcDetails {
        authorize_url: pick(authorize_url, found, |d| Some(d.authorize_url.clone()))
            .ok_or_else(|| missing("authorize_url"))?,
        token_url: pick(token_url, found, |d| Some(d.token_url.clone()))
            .ok_or_else(|| missing("token_url"))?,
        attributes_url: pick(attributes_url, found, |d| d.attributes_url.clone()),
        jwks_uri: pick(jwks_uri, found, |d| Some(d.jwks_uri.clone()))
            .ok_or_else(|| missing("jwks_uri"))?,
        client_id,
        client_secret,
        authorize_scopes,
        oidc_issuer,
        attributes_request_method,
        explicit,
    })
}

/// An endpoint URL must be https, as Cognito requires; plain http is accepted for loopback hosts only, where
/// the local stand-ins serve their mock IdPs.
fn check_url(key: &str, value: &str) -> Result<(), ServiceError> {
    let invalid = || {
        ServiceError::invalid_parameter(format!(
            "{key} must be an https URL (http only for localhost), not {value}."
        ))
    };
    let url = url::Url::parse(value).map_err(|_| invalid())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid()),
    }
}

/// The endpoints an issuer's discovery document names.
#[derive(Debug, Clone)]
struct Discovered {
    authorize_url: String,
    token_url: String,
    attributes_url: Option<String>,
    jwks_uri: String,
}

/// Reads `<issuer>/.well-known/openid-configuration`; its `issuer` must be the issuer asked for (OpenID
/// Connect Discovery §4.3).
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovered, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url} did not answer ({e})"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let document: Value = response
        .json()
        .await
        .map_err(|_| format!("{url} is not a JSON document"))?;
    let text = |key: &str| document.get(key).and_then(Value::as_str).map(str::to_owned);
    if text("issuer").as_deref() != Some(issuer) {
        return Err(format!(
            "its issuer is {:?}, not {issuer}",
            text("issuer").unwrap_or_default()
        ));
    }
    let required = |key: &str| text(key).ok_or_else(|| format!("it has no {key}"));
    Ok(Discovered {
        authorize_url: required("authorization_endpoint")?,
        token_url: required("token_endpoint")?,
        attributes_url: text("userinfo_endpoint"),
        jwks_uri: required("jwks_uri")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_patterns_of_the_model_compile_and_match_as_documented() {
        use super::super::validation::matches_whole;
        for shape in [NEW_PROVIDER_NAME, PROVIDER_NAME, IDP_IDENTIFIER, NEXT_TOKEN] {
            let pattern = shape.pattern.unwrap();
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
        let new_name = NEW_PROVIDER_NAME.pattern.unwrap();
        assert!(matches_whole(new_name, "acme-entra"));
        assert!(!matches_whole(new_name, "_acme"), "no leading underscore");
        assert!(!matches_whole(new_name, "acme entra"), "no space");
        assert!(!matches_whole(new_name, "ab"), "three characters at least");
        assert!(matches_whole(
            IDP_IDENTIFIER.pattern.unwrap(),
            "acme.example"
        ));
        assert!(!matches_whole(
            IDP_IDENTIFIER.pattern.unwrap(),
            "acme/example"
        ));
    }

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        assert!(check_url("oidc_issuer", "https://login.example.com/tenant/v2.0").is_ok());
        assert!(check_url("oidc_issuer", "http://127.0.0.1:9231/t/v2.0").is_ok());
        assert!(check_url("oidc_issuer", "http://localhost:9232/oauth2/default").is_ok());
        assert!(check_url("oidc_issuer", "http://idp.example.com").is_err());
        assert!(check_url("oidc_issuer", "login.example.com").is_err());
    }

    #[test]
    fn dates_are_epoch_seconds_with_milliseconds() {
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_619_707_045_438);
        assert_eq!(epoch_seconds(at), json!(1_619_707_045.438));
    }
}
