//! `DescribeUserPoolClient` and `UpdateUserPoolClient`.
//!
//! `UpdateUserPoolClient` replaces the client's settings: every member the request leaves out is set to its
//! default, not kept (the API reference: "If you don't provide a value for an attribute, Amazon Cognito sets
//! it to its default value"). So a caller that only means to change `SupportedIdentityProviders` must send
//! back everything `DescribeUserPoolClient` returned; one that does not finds its callback URLs, scopes, OAuth
//! flows and attribute permissions gone, and sign-ins failing. The defaults: no callback or sign-out URLs, no
//! OAuth flows or scopes, `AllowedOAuthFlowsUserPoolClient` false, no identity providers, the standard
//! attributes readable and writable (custom ones neither), tokens for one hour and refresh tokens for 30
//! days, revocation on, `PreventUserExistenceErrors` `LEGACY`, the default explicit auth flows. The client's
//! id, secret and creation date never change, and a missing `ClientName` keeps the name.
//!
//! `SupportedIdentityProviders` may name `COGNITO` and the pool's existing providers only. Not served
//! locally, and refused when asked for: analytics (`AnalyticsConfiguration`) and refresh-token rotation.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::error::ServiceError;
use super::providers::{PROVIDER_NAME, epoch_seconds};
use super::validation::{Input, StringShape, Violations, enum_member, string_member};
use crate::config::{AppClient, STANDARD_ATTRIBUTES};
use crate::user_pool::Pool;
use crate::user_pool::state::{COGNITO, ClientRecord, TimeUnit, Validity};

/// `ClientIdType`.
const CLIENT_ID: StringShape = StringShape::pattern(1, Some(128), r"[\w+]+", "[0-9A-Za-z_+]+");
/// `ClientNameType`.
const CLIENT_NAME: StringShape = StringShape::pattern(
    1,
    Some(128),
    r"[\w\s+=,.@-]+",
    r"[0-9A-Za-z_ \t\n\x0B\x0C\r+=,.@-]+",
);
/// `RedirectUrlType`, of callback and sign-out URLs.
const REDIRECT_URL: StringShape = StringShape::pattern(
    1,
    Some(1024),
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
    r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
);
/// `ScopeType`.
const SCOPE: StringShape = StringShape::pattern(
    1,
    Some(256),
    r"[\x21\x23-\x5B\x5D-\x7E]+",
    r"[\x21\x23-\x5B\x5D-\x7E]+",
);
/// `ClientPermissionType`, of read and write attributes.
const ATTRIBUTE: StringShape = StringShape::length(1, 2048);

const OAUTH_FLOWS: &[&str] = &["code", "implicit", "client_credentials"];
const EXPLICIT_AUTH_FLOWS: &[&str] = &[
    "ADMIN_NO_SRP_AUTH",
    "CUSTOM_AUTH_FLOW_ONLY",
    "USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH",
];
/// What a client supports when `ExplicitAuthFlows` is not given.
const DEFAULT_EXPLICIT_AUTH_FLOWS: &[&str] = &[
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_CUSTOM_AUTH",
];
const PREVENT_USER_EXISTENCE_ERRORS: &[&str] = &["LEGACY", "ENABLED"];
const FEATURE: &[&str] = &["ENABLED", "DISABLED"];
/// The OAuth scopes Cognito knows besides the resource servers' custom ones.
const BUILT_IN_SCOPES: &[&str] = &[
    "phone",
    "email",
    "openid",
    "profile",
    "aws.cognito.signin.user.admin",
];

/// Access and ID tokens last five minutes to a day; refresh tokens an hour to ten years.
const SHORT_TOKEN_RANGE: (u64, u64) = (5 * 60, 86_400);
const REFRESH_TOKEN_RANGE: (u64, u64) = (3600, 315_360_000);
/// A refresh-token validity of 0 means the default, 30 days.
const DEFAULT_REFRESH_DAYS: u64 = 30;

/// `DescribeUserPoolClient`'s view of a client.
fn describe(user_pool_id: &str, record: &ClientRecord) -> Value {
    let client = &record.settings;
    let mut out = Map::new();
    out.insert("UserPoolId".into(), json!(user_pool_id));
    out.insert("ClientName".into(), json!(record.name));
    out.insert("ClientId".into(), json!(client.client_id));
    if let Some(secret) = &client.client_secret {
        out.insert("ClientSecret".into(), json!(secret));
    }
    out.insert(
        "LastModifiedDate".into(),
        epoch_seconds(record.last_modified_date),
    );
    out.insert("CreationDate".into(), epoch_seconds(record.creation_date));
    out.insert(
        "RefreshTokenValidity".into(),
        json!(record.refresh_token_validity.value),
    );
    out.insert(
        "AccessTokenValidity".into(),
        json!(record.access_token_validity.value),
    );
    out.insert(
        "IdTokenValidity".into(),
        json!(record.id_token_validity.value),
    );
    out.insert(
        "TokenValidityUnits".into(),
        json!({
            "AccessToken": record.access_token_validity.unit.name(),
            "IdToken": record.id_token_validity.unit.name(),
            "RefreshToken": record.refresh_token_validity.unit.name(),
        }),
    );
    // Cognito reports attribute permissions only when they were set (the defaults are left out).
    if record.read_attributes_set {
        out.insert("ReadAttributes".into(), json!(client.read_attributes));
    }
    if record.write_attributes_set {
        out.insert("WriteAttributes".into(), json!(client.write_attributes));
    }
    out.insert(
        "ExplicitAuthFlows".into(),
        json!(record.explicit_auth_flows),
    );
    let mut list = |key: &str, values: &[String]| {
        if !values.is_empty() {
            out.insert(key.to_owned(), json!(values));
        }
    };
    list(
        "SupportedIdentityProviders",
        &client.supported_identity_providers,
    );
    list("CallbackURLs", &client.callback_urls);
    list("LogoutURLs", &client.logout_urls);
    list("AllowedOAuthFlows", &client.allowed_oauth_flows);
    list("AllowedOAuthScopes", &client.allowed_oauth_scopes);
    if let Some(uri) = &record.default_redirect_uri {
        out.insert("DefaultRedirectURI".into(), json!(uri));
    }
    out.insert(
        "AllowedOAuthFlowsUserPoolClient".into(),
        json!(client.allowed_oauth_flows_user_pool_client),
    );
    out.insert(
        "PreventUserExistenceErrors".into(),
        json!(record.prevent_user_existence_errors),
    );
    out.insert(
        "EnableTokenRevocation".into(),
        json!(client.enable_token_revocation),
    );
    out.insert(
        "EnablePropagateAdditionalUserContextData".into(),
        json!(record.enable_propagate_additional_user_context_data),
    );
    out.insert(
        "AuthSessionValidity".into(),
        json!(record.auth_session_validity),
    );
    Value::Object(out)
}

fn client_not_found(client_id: &str) -> ServiceError {
    ServiceError::resource_not_found(format!("User pool client {client_id} does not exist."))
}

/// The `ClientId` of both operations.
fn client_id<'a>(
    input: Input<'a>,
    violations: &mut Violations,
) -> Result<Option<&'a str>, ServiceError> {
    let client_id = input.string("ClientId")?;
    violations.string("ClientId", client_id, CLIENT_ID);
    Ok(violations.require("ClientId", client_id))
}

/// `DescribeUserPoolClient`.
pub(crate) fn describe_client(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let mut violations = Violations::new();
    let client_id = client_id(input, &mut violations)?;
    violations.finish()?;
    let client_id = client_id.unwrap_or_default();
    let state = pool.state.read();
    let record = state
        .clients
        .iter()
        .find(|c| c.settings.client_id == client_id)
        .ok_or_else(|| client_not_found(client_id))?;
    Ok(json!({ "UserPoolClient": describe(&pool.settings.user_pool_id, record) }))
}

/// The members of an `UpdateUserPoolClient` request.
struct Update<'a> {
    client_id: &'a str,
    client_name: Option<&'a str>,
    refresh_token_validity: Option<i64>,
    access_token_validity: Option<i64>,
    id_token_validity: Option<i64>,
    units: Option<Input<'a>>,
    read_attributes: Option<Vec<String>>,
    write_attributes: Option<Vec<String>>,
    explicit_auth_flows: Option<Vec<String>>,
    supported_identity_providers: Option<Vec<String>>,
    callback_urls: Option<Vec<String>>,
    logout_urls: Option<Vec<String>>,
    default_redirect_uri: Option<&'a str>,
    allowed_oauth_flows: Option<Vec<String>>,
    allowed_oauth_scopes: Option<Vec<String>>,
    allowed_oauth_flows_user_pool_client: Option<bool>,
    prevent_user_existence_errors: Option<&'a str>,
    enable_token_revocation: Option<bool>,
    enable_propagate_additional_user_context_data: Option<bool>,
    auth_session_validity: Option<i64>,
}

/// Reads the request and checks it against the model.
fn read_update(input: Input<'_>) -> Result<Update<'_>, ServiceError> {
    let mut v = Violations::new();
    let client_id = client_id(input, &mut v)?;
    let update = Update {
        client_id: client_id.unwrap_or_default(),
        client_name: input.string("ClientName")?,
        refresh_token_validity: input.integer("RefreshTokenValidity")?,
        access_token_validity: input.integer("AccessTokenValidity")?,
        id_token_validity: input.integer("IdTokenValidity")?,
        units: input.structure("TokenValidityUnits")?,
        read_attributes: input.string_list("ReadAttributes")?,
        write_attributes: input.string_list("WriteAttributes")?,
        explicit_auth_flows: input.string_list("ExplicitAuthFlows")?,
        supported_identity_providers: input.string_list("SupportedIdentityProviders")?,
        callback_urls: input.string_list("CallbackURLs")?,
        logout_urls: input.string_list("LogoutURLs")?,
        default_redirect_uri: input.string("DefaultRedirectURI")?,
        allowed_oauth_flows: input.string_list("AllowedOAuthFlows")?,
        allowed_oauth_scopes: input.string_list("AllowedOAuthScopes")?,
        allowed_oauth_flows_user_pool_client: input.boolean("AllowedOAuthFlowsUserPoolClient")?,
        prevent_user_existence_errors: input.string("PreventUserExistenceErrors")?,
        enable_token_revocation: input.boolean("EnableTokenRevocation")?,
        enable_propagate_additional_user_context_data: input
            .boolean("EnablePropagateAdditionalUserContextData")?,
        auth_session_validity: input.integer("AuthSessionValidity")?,
    };
    v.string("ClientName", update.client_name, CLIENT_NAME);
    v.range(
        "RefreshTokenValidity",
        update.refresh_token_validity,
        0,
        315_360_000,
    );
    v.range(
        "AccessTokenValidity",
        update.access_token_validity,
        1,
        86_400,
    );
    v.range("IdTokenValidity", update.id_token_validity, 1, 86_400);
    if let Some(units) = update.units {
        for (member, field) in [
            ("AccessToken", "TokenValidityUnits.accessToken"),
            ("IdToken", "TokenValidityUnits.idToken"),
            ("RefreshToken", "TokenValidityUnits.refreshToken"),
        ] {
            v.one_of(field, units.string(member)?, &TimeUnit::NAMES);
        }
    }
    v.list(
        "ReadAttributes",
        update.read_attributes.as_deref(),
        None,
        string_member(ATTRIBUTE),
    );
    v.list(
        "WriteAttributes",
        update.write_attributes.as_deref(),
        None,
        string_member(ATTRIBUTE),
    );
    v.list(
        "ExplicitAuthFlows",
        update.explicit_auth_flows.as_deref(),
        None,
        enum_member(EXPLICIT_AUTH_FLOWS),
    );
    v.list(
        "SupportedIdentityProviders",
        update.supported_identity_providers.as_deref(),
        None,
        string_member(PROVIDER_NAME),
    );
    v.list(
        "CallbackURLs",
        update.callback_urls.as_deref(),
        Some(100),
        string_member(REDIRECT_URL),
    );
    v.list(
        "LogoutURLs",
        update.logout_urls.as_deref(),
        Some(100),
        string_member(REDIRECT_URL),
    );
    v.string(
        "DefaultRedirectURI",
        update.default_redirect_uri,
        REDIRECT_URL,
    );
    v.list(
        "AllowedOAuthFlows",
        update.allowed_oauth_flows.as_deref(),
        Some(3),
        enum_member(OAUTH_FLOWS),
    );
    v.list(
        "AllowedOAuthScopes",
        update.allowed_oauth_scopes.as_deref(),
        Some(50),
        string_member(SCOPE),
    );
    v.one_of(
        "PreventUserExistenceErrors",
        update.prevent_user_existence_errors,
        PREVENT_USER_EXISTENCE_ERRORS,
    );
    v.range("AuthSessionValidity", update.auth_session_validity, 3, 15);
    if let Some(rotation) = input.structure("RefreshTokenRotation")? {
        let feature = rotation.string("Feature")?;
        v.one_of("RefreshTokenRotation.feature", feature, FEATURE);
        v.require("RefreshTokenRotation.feature", feature);
        v.range(
            "RefreshTokenRotation.retryGracePeriodSeconds",
            rotation.integer("RetryGracePeriodSeconds")?,
            0,
            60,
        );
        v.finish()?;
        if feature == Some("ENABLED") {
            return Err(ServiceError::invalid_parameter(
                "The local stand-in does not rotate refresh tokens; RefreshTokenRotation can only be DISABLED.",
            ));
        }
    } else {
        v.finish()?;
    }
    if input.structure("AnalyticsConfiguration")?.is_some() {
        return Err(ServiceError::invalid_parameter(
            "The local stand-in has no analytics; AnalyticsConfiguration cannot be set.",
        ));
    }
    Ok(update)
}

/// A token lifetime from the request (in its unit, or the default unit), or the default lifetime.
fn validity(
    value: Option<i64>,
    unit: Option<&str>,
    default_unit: TimeUnit,
    default: Validity,
    (min, max): (u64, u64),
) -> Result<Validity, ServiceError> {
    let unit = unit.and_then(TimeUnit::parse).unwrap_or(default_unit);
    let validity = match value {
        None => return Ok(default),
        Some(value) => Validity {
            value: u64::try_from(value).unwrap_or_default(),
            unit,
        },
    };
    let seconds = validity.duration().as_secs();
    if seconds < min || seconds > max {
        return Err(ServiceError::invalid_parameter(
            "Invalid range for token validity.",
        ));
    }
    Ok(validity)
}

/// `UpdateUserPoolClient`: the request becomes the client's whole configuration.
pub(crate) fn update(pool: &Pool, input: Input<'_>) -> Result<Value, ServiceError> {
    let request = read_update(input)?;
    let units = request.units;
    let unit = |member: &str| -> Result<Option<&str>, ServiceError> {
        units
            .map(|u| u.string(member))
            .transpose()
            .map(Option::flatten)
    };
    let one_hour = Validity {
        value: 60,
        unit: TimeUnit::Minutes,
    };
    let access = validity(
        request.access_token_validity,
        unit("AccessToken")?,
        TimeUnit::Hours,
        one_hour,
        SHORT_TOKEN_RANGE,
    )?;
    let id = validity(
        request.id_token_validity,
        unit("IdToken")?,
        TimeUnit::Hours,
        one_hour,
        SHORT_TOKEN_RANGE,
    )?;
    let default_refresh = Validity {
        value: DEFAULT_REFRESH_DAYS,
        unit: TimeUnit::Days,
    };
    let refresh = match request.refresh_token_validity {
        Some(0) => default_refresh,
        value => validity(
            value,
            unit("RefreshToken")?,
            TimeUnit::Days,
            default_refresh,
            REFRESH_TOKEN_RANGE,
        )?,
    };
    // Access and ID tokens cannot outlive the refresh token.
    if access.duration() > refresh.duration() || id.duration() > refresh.duration() {
        return Err(ServiceError::invalid_parameter(
            "Invalid range for token validity.",
        ));
    }

    check_attributes(pool, "read", request.read_attributes.as_deref())?;
    check_attributes(pool, "write", request.write_attributes.as_deref())?;
    let flows = request.allowed_oauth_flows.clone().unwrap_or_default();
    let scopes = request.allowed_oauth_scopes.clone().unwrap_or_default();
    check_scopes(pool, &scopes)?;
    let callback_urls = request.callback_urls.clone().unwrap_or_default();
    let logout_urls = request.logout_urls.clone().unwrap_or_default();
    for url in callback_urls.iter().chain(&logout_urls) {
        check_redirect_url(url)?;
    }
    if let Some(uri) = request.default_redirect_uri
        && !callback_urls.iter().any(|c| c == uri)
    {
        return Err(ServiceError::invalid_parameter(
            "DefaultRedirectURI must be one of the CallbackURLs.",
        ));
    }
    let oauth = request
        .allowed_oauth_flows_user_pool_client
        .unwrap_or(false);

    let mut state = pool.state.write();
    let providers = request
        .supported_identity_providers
        .clone()
        .unwrap_or_default();
    if let Some(unknown) = providers
        .iter()
        .find(|name| *name != COGNITO && !state.providers.contains_key(*name))
    {
        return Err(ServiceError::invalid_parameter(format!(
            "The provider {unknown} does not exist for User Pool {}.",
            pool.settings.user_pool_id
        )));
    }
    let Some(record) = state.client_mut(request.client_id) else {
        return Err(client_not_found(request.client_id));
    };
    check_flows(&record.settings, oauth, &flows, &scopes, pool)?;

    let current = &record.settings;
    let settings = AppClient {
        client_id: current.client_id.clone(),
        client_secret: current.client_secret.clone(),
        callback_urls,
        logout_urls,
        allowed_oauth_flows: flows,
        allowed_oauth_scopes: scopes,
        supported_identity_providers: providers,
        read_attributes: request
            .read_attributes
            .clone()
            .unwrap_or_else(default_attributes),
        write_attributes: request
            .write_attributes
            .clone()
            .unwrap_or_else(default_attributes),
        enable_token_revocation: request.enable_token_revocation.unwrap_or(true),
        access_token_validity: access.duration(),
        id_token_validity: id.duration(),
        refresh_token_validity: refresh.duration(),
        allowed_oauth_flows_user_pool_client: oauth,
        explicit_auth_flows: request.explicit_auth_flows.clone().unwrap_or_else(|| {
            DEFAULT_EXPLICIT_AUTH_FLOWS
                .iter()
                .map(|f| (*f).to_owned())
                .collect()
        }),
        prevent_user_existence_errors: request.prevent_user_existence_errors == Some("ENABLED"),
    };
    *record = ClientRecord {
        name: request
            .client_name
            .map_or_else(|| record.name.clone(), str::to_owned),
        read_attributes_set: request.read_attributes.is_some(),
        write_attributes_set: request.write_attributes.is_some(),
        access_token_validity: access,
        id_token_validity: id,
        refresh_token_validity: refresh,
        explicit_auth_flows: settings.explicit_auth_flows.clone(),
        default_redirect_uri: request.default_redirect_uri.map(str::to_owned),
        prevent_user_existence_errors: request
            .prevent_user_existence_errors
            .unwrap_or("LEGACY")
            .to_owned(),
        enable_propagate_additional_user_context_data: request
            .enable_propagate_additional_user_context_data
            .unwrap_or(false),
        auth_session_validity: request
            .auth_session_validity
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(3),
        creation_date: record.creation_date,
        last_modified_date: SystemTime::now(),
        settings,
    };
    tracing::info!(client_id = request.client_id, "app client updated");
    Ok(json!({ "UserPoolClient": describe(&pool.settings.user_pool_id, record) }))
}

/// The attributes a client may read or write when its request does not say: the standard ones.
fn default_attributes() -> Vec<String> {
    STANDARD_ATTRIBUTES
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
}

/// Read and write attributes must be in the pool's schema; developer-only ones are never client-writable.
fn check_attributes(
    pool: &Pool,
    kind: &str,
    attributes: Option<&[String]>,
) -> Result<(), ServiceError> {
    let invalid = attributes.unwrap_or_default().iter().any(|attribute| {
        !pool.settings.declares_attribute(attribute)
            || (kind == "write" && attribute.starts_with("dev:"))
    });
    if invalid {
        return Err(ServiceError::invalid_parameter(format!(
            "Invalid {kind} attributes specified while updating a client"
        )));
    }
    Ok(())
}

/// Scopes must be Cognito's own or a resource server's.
fn check_scopes(pool: &Pool, scopes: &[String]) -> Result<(), ServiceError> {
    let custom = pool.settings.resource_server.qualified_scopes();
    match scopes
        .iter()
        .find(|s| !BUILT_IN_SCOPES.contains(&s.as_str()) && !custom.contains(s))
    {
        Some(scope) => Err(ServiceError::scope_does_not_exist(format!(
            "Invalid scope requested: {scope}"
        ))),
        None => Ok(()),
    }
}

/// The OAuth rules: flows and scopes come together when the client may use OAuth; `client_credentials`
/// stands alone, needs a client secret and grants resource-server scopes only.
fn check_flows(
    client: &AppClient,
    oauth: bool,
    flows: &[String],
    scopes: &[String],
    pool: &Pool,
) -> Result<(), ServiceError> {
    if oauth && (flows.is_empty() || scopes.is_empty()) {
        return Err(ServiceError::invalid_oauth_flow(
            "AllowedOAuthFlows and AllowedOAuthScopes are required when AllowedOAuthFlowsUserPoolClient is true.",
        ));
    }
    if !flows.iter().any(|f| f == "client_credentials") {
        return Ok(());
    }
    if flows.len() > 1 {
        return Err(ServiceError::invalid_oauth_flow(
            "client_credentials flow can not be selected along with code flow or implicit flow.",
        ));
    }
    if client.client_secret.is_none() {
        return Err(ServiceError::invalid_oauth_flow(
            "client_credentials flow can not be selected if client does not have a client secret.",
        ));
    }
    let custom = pool.settings.resource_server.qualified_scopes();
    if let Some(scope) = scopes.iter().find(|s| !custom.contains(s)) {
        return Err(ServiceError::invalid_oauth_flow(format!(
            "{scope} is not supported with client_credentials flow"
        )));
    }
    Ok(())
}

/// Callback and sign-out URLs are absolute, without a fragment, and https except on the local machine.
fn check_redirect_url(value: &str) -> Result<(), ServiceError> {
    let invalid = |why: &str| {
        ServiceError::invalid_parameter(format!("Invalid redirect URL {value}: {why}."))
    };
    let url = url::Url::parse(value).map_err(|_| invalid("not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(invalid("it has a fragment"));
    }
    let local = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && !local {
        return Err(invalid("http is allowed for localhost only"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_validity_without_a_unit_is_in_the_default_unit() {
        let default = Validity {
            value: 60,
            unit: TimeUnit::Minutes,
        };
        // 60 with the default unit, hours, is two and a half days: out of range, as on Cognito.
        assert_eq!(
            validity(Some(60), None, TimeUnit::Hours, default, SHORT_TOKEN_RANGE)
                .unwrap_err()
                .message,
            "Invalid range for token validity."
        );
        let ten_minutes = validity(
            Some(10),
            Some("minutes"),
            TimeUnit::Hours,
            default,
            SHORT_TOKEN_RANGE,
        )
        .unwrap();
        assert_eq!(ten_minutes.duration(), Duration::from_secs(600));
        let omitted = validity(None, None, TimeUnit::Hours, default, SHORT_TOKEN_RANGE).unwrap();
        assert_eq!(omitted.duration(), Duration::from_secs(3600));
    }

    #[test]
    fn redirect_urls_must_be_https_except_locally() {
        assert!(check_redirect_url("https://app.example.com/auth/callback").is_ok());
        assert!(check_redirect_url("http://localhost:3000/auth/callback").is_ok());
        assert!(check_redirect_url("http://app.example.com/auth/callback").is_err());
        assert!(check_redirect_url("https://app.example.com/#x").is_err());
    }
}
