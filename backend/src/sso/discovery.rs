//! Step 3 of the SSO wizard: from what an IT admin entered for their identity provider, the issuer it implies
//! ([`expected_issuer`]), then a check of that provider's OpenID Connect discovery document and signing keys
//! ([`check_provider`]) that says precisely what is wrong.
//!
//! Both answer with errors meant to be shown to the admin as they are: a [`FieldError`] names the form field
//! at fault, a [`DiscoveryError`] what the provider published (or failed to). Every error has a stable
//! machine-readable code. Nothing a provider sends is repeated in a message except the issuer it claims and
//! the URLs it names, shortened and stripped of control characters; response bodies never are.

use std::fmt;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::egress::{EgressClient, EgressError, FetchError, check_url, shown};

/// The longest client id accepted (Amazon Cognito's limit for an identity provider's `client_id`).
const MAX_CLIENT_ID_CHARS: usize = 255;
/// The longest Okta authorization server id accepted.
const MAX_AUTHORIZATION_SERVER_CHARS: usize = 40;
/// The path, below the issuer, of the discovery document (OpenID Connect Discovery 1.0, section 4).
const DISCOVERY_PATH: &str = ".well-known/openid-configuration";

/// What an IT admin enters for their identity provider, by kind. Client secrets are not part of the check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderSettings {
    /// Microsoft Entra ID (formerly Azure AD).
    Entra {
        /// The directory (tenant) ID, a GUID.
        directory_id: String,
        /// The application (client) ID of the app registration.
        client_id: String,
    },
    /// Okta.
    Okta {
        /// The org URL, such as `https://example.okta.com` (or the org's custom domain).
        org_url: String,
        /// `default`, the id of a custom authorization server (`aus…`), or empty for the org authorization
        /// server.
        #[serde(default)]
        authorization_server: String,
        /// The client ID of the app integration.
        client_id: String,
    },
    /// Any other OpenID Connect provider.
    Oidc {
        /// The issuer URL, exactly as the provider publishes it.
        issuer: String,
        /// The client ID registered with the provider.
        client_id: String,
    },
}

/// A field of the wizard's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Entra's directory (tenant) ID.
    DirectoryId,
    /// Okta's org URL.
    OrgUrl,
    /// Okta's authorization server.
    AuthorizationServer,
    /// A generic provider's issuer.
    Issuer,
    /// The client ID, for every kind.
    ClientId,
}

impl Field {
    /// The field's name in the wizard's form, as in [`ProviderSettings`].
    pub fn as_str(self) -> &'static str {
        match self {
            Field::DirectoryId => "directory_id",
            Field::OrgUrl => "org_url",
            Field::AuthorizationServer => "authorization_server",
            Field::Issuer => "issuer",
            Field::ClientId => "client_id",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of [`ProviderSettings`] that is not valid, with a sentence for the admin saying what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The field at fault.
    pub field: Field,
    /// What is wrong and how to fix it, for the admin.
    pub message: String,
}

impl FieldError {
    fn new(field: Field, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }

    /// The stable, machine-readable code: always `invalid_field` ([`FieldError::field`] says which).
    pub fn code(&self) -> &'static str {
        "invalid_field"
    }
}

/// The issuer the settings imply, after checking every field (in the order of the form, the client ID
/// last): for Entra `<entra_authority>/<directory id>/v2.0` (`entra_authority` is configuration:
/// `https://login.microsoftonline.com` in production, a stand-in locally), for Okta
/// `<org url>/oauth2/<authorization server>` or the org URL itself for the org authorization server, and for
/// other providers the issuer as entered. Surrounding spaces are ignored in every field but the client ID,
/// which is used as entered.
pub fn expected_issuer(
    settings: &ProviderSettings,
    entra_authority: &Url,
) -> Result<Url, FieldError> {
    let issuer = match settings {
        ProviderSettings::Entra { directory_id, .. } => {
            entra_issuer(entra_authority, &directory_id_of(directory_id)?)?
        }
        ProviderSettings::Okta {
            org_url,
            authorization_server,
            ..
        } => {
            let org = org_url_of(org_url)?;
            okta_issuer(org, authorization_server_of(authorization_server)?)?
        }
        ProviderSettings::Oidc { issuer, .. } => issuer_of(issuer)?,
    };
    let (ProviderSettings::Entra { client_id, .. }
    | ProviderSettings::Okta { client_id, .. }
    | ProviderSettings::Oidc { client_id, .. }) = settings;
    check_client_id(client_id)?;
    Ok(issuer)
}

/// The directory ID as a lower-case GUID.
fn directory_id_of(raw: &str) -> Result<String, FieldError> {
    const WHERE: &str =
        "It is on the Overview page of Microsoft Entra ID in the Microsoft Entra admin center.";
    let value = raw.trim();
    let error = |message: String| Err(FieldError::new(Field::DirectoryId, message));
    if value.is_empty() {
        return error(format!(
            "Enter the directory (tenant) ID of your Microsoft Entra tenant. {WHERE}"
        ));
    }
    if ["common", "organizations", "consumers"]
        .iter()
        .any(|shared| value.eq_ignore_ascii_case(shared))
    {
        return error(format!(
            "\"{value}\" is Microsoft's shared sign-in endpoint, not your tenant: enter your directory (tenant) \
             ID, a GUID. {WHERE}"
        ));
    }
    if value.contains('.') {
        return error(format!(
            "Enter the directory (tenant) ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, not a \
             domain name. {WHERE}"
        ));
    }
    let is_guid = value.len() == 36
        && value.bytes().enumerate().all(|(index, byte)| {
            if matches!(index, 8 | 13 | 18 | 23) {
                byte == b'-'
            } else {
                byte.is_ascii_hexdigit()
            }
        });
    if !is_guid {
        return error(format!(
            "The directory (tenant) ID must be a GUID: 32 hexadecimal digits in groups of 8, 4, 4, 4 and 12 \
             separated by hyphens, such as 72f988bf-86f1-41af-91ab-2d7cd011db47. {WHERE}"
        ));
    }
    if value.bytes().all(|byte| matches!(byte, b'0' | b'-')) {
        return error(format!(
            "The directory (tenant) ID cannot be all zeros. {WHERE}"
        ));
    }
    Ok(value.to_ascii_lowercase())
}

fn entra_issuer(authority: &Url, directory_id: &str) -> Result<Url, FieldError> {
    let mut issuer = authority.clone();
    issuer.set_query(None);
    issuer.set_fragment(None);
    match issuer.path_segments_mut() {
        Ok(mut segments) => {
            segments.pop_if_empty().push(directory_id).push("v2.0");
        }
        // Only a configured authority that is not a web address gets here: the admin can do nothing.
        Err(()) => {
            return Err(FieldError::new(
                Field::DirectoryId,
                "Sign-in with Microsoft Entra ID is not configured correctly on this service. Contact \
                 support.",
            ));
        }
    }
    Ok(issuer)
}

/// The org URL as an origin (scheme, host and port; its path is `/`).
fn org_url_of(raw: &str) -> Result<Url, FieldError> {
    const EXAMPLE: &str = "such as https://example.okta.com";
    let value = raw.trim();
    let error = |message: String| Err(FieldError::new(Field::OrgUrl, message));
    if value.is_empty() {
        return error(format!("Enter the URL of your Okta org, {EXAMPLE}."));
    }
    let url = match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => url,
        _ => {
            return error(format!(
                "The Okta org URL must be a full address starting with https://, {EXAMPLE}."
            ));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return error("The Okta org URL must not contain a user name or password.".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return error(format!(
            "The Okta org URL must not contain a query (?…) or fragment (#…): enter only the address of \
             your org, {EXAMPLE}."
        ));
    }
    // The URL parser turns an empty path into "/", so "/" is the one trailing slash that is allowed.
    if url.path() != "/" {
        return error(format!(
            "The Okta org URL must be only the address of your org, {EXAMPLE}, without a path. Enter the \
             authorization server in its own field."
        ));
    }
    if let Some(host) = url.host_str()
        && let Some((first, rest)) = host.split_once('.')
        && first.ends_with("-admin")
        && ["okta.com", "oktapreview.com", "okta-emea.com"].contains(&rest)
    {
        return error(format!(
            "This is the address of the Okta Admin Console. The org URL is the same without \"-admin\", \
             {EXAMPLE}."
        ));
    }
    Ok(url)
}

/// The authorization server's id, or `None` for the org authorization server.
fn authorization_server_of(raw: &str) -> Result<Option<&str>, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() <= MAX_AUTHORIZATION_SERVER_CHARS
        && value.bytes().all(|byte| byte.is_ascii_alphanumeric())
    {
        return Ok(Some(value));
    }
    let hint = if value.contains('/') {
        " Enter only its ID, not a URL."
    } else {
        ""
    };
    Err(FieldError::new(
        Field::AuthorizationServer,
        format!(
            "The authorization server must be \"default\", the ID of a custom authorization server (up to \
             {MAX_AUTHORIZATION_SERVER_CHARS} letters and digits, such as aus1a2b3c4d5E6f7g8h9, listed under \
             Security > API in the Okta Admin Console), or empty for the org authorization server.{hint}"
        ),
    ))
}

fn okta_issuer(org: Url, authorization_server: Option<&str>) -> Result<Url, FieldError> {
    let Some(server) = authorization_server else {
        return Ok(org);
    };
    let mut issuer = org;
    match issuer.path_segments_mut() {
        Ok(mut segments) => {
            segments.pop_if_empty().push("oauth2").push(server);
        }
        // `org_url_of` accepts only http(s) URLs, which always have a path.
        Err(()) => {
            return Err(FieldError::new(
                Field::OrgUrl,
                "The Okta org URL must be a web address, such as https://example.okta.com.",
            ));
        }
    }
    Ok(issuer)
}

/// A generic provider's issuer: an absolute http(s) URL without credentials, query or fragment.
fn issuer_of(raw: &str) -> Result<Url, FieldError> {
    const EXAMPLE: &str = "such as https://login.example.com/realms/acme";
    let value = raw.trim();
    let error = |message: String| Err(FieldError::new(Field::Issuer, message));
    if value.is_empty() {
        return error(format!(
            "Enter the issuer URL of your identity provider, {EXAMPLE}."
        ));
    }
    let url = match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => url,
        _ => {
            return error(format!(
                "The issuer must be a full URL starting with https://, {EXAMPLE}."
            ));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return error("The issuer must not contain a user name or password.".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return error(
            "The issuer must not contain a query (?…) or fragment (#…), as OpenID Connect requires.".into(),
        );
    }
    if url
        .path()
        .trim_end_matches('/')
        .ends_with(&format!("/{DISCOVERY_PATH}"))
    {
        return error(format!(
            "Enter the issuer, not the address of its discovery document: remove /{DISCOVERY_PATH} from the \
             end."
        ));
    }
    Ok(url)
}

fn check_client_id(value: &str) -> Result<(), FieldError> {
    let error = |message: String| Err(FieldError::new(Field::ClientId, message));
    if value.is_empty() {
        return error(
            "Enter the client ID of the application registered with your identity provider for sign-in."
                .into(),
        );
    }
    let length = value.chars().count();
    if length > MAX_CLIENT_ID_CHARS {
        return error(format!(
            "The client ID must be at most {MAX_CLIENT_ID_CHARS} characters long; this one has {length}."
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return error(
            "The client ID must not contain spaces or line breaks. Check for one copied at the start or end."
                .into(),
        );
    }
    if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return error(
            "The client ID may only contain printable ASCII characters: letters, digits and punctuation."
                .into(),
        );
    }
    Ok(())
}

/// What a provider's discovery document says, once checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredProvider {
    /// The issuer, exactly as the provider publishes it: the value to configure for the provider.
    pub issuer: String,
    /// Where users are sent to sign in.
    pub authorization_endpoint: Url,
    /// Where codes are exchanged for tokens.
    pub token_endpoint: Url,
    /// Where the provider publishes its signing keys.
    pub jwks_uri: Url,
    /// Where user attributes can be read, when the provider names one.
    pub userinfo_endpoint: Option<Url>,
    /// The scopes the provider lists (empty when it lists none).
    pub scopes_supported: Vec<String>,
    /// The claims the provider lists (empty when it lists none).
    pub claims_supported: Vec<String>,
}

/// What is wrong with a member of the discovery document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberProblem {
    /// The member is absent (or null).
    Missing,
    /// The member is not a string.
    NotAString,
    /// The member is not an absolute URL.
    NotAUrl,
    /// The member is a URL with a fragment, which endpoints must not have (RFC 6749, section 3.1).
    HasFragment,
    /// The member is not a list of strings.
    NotAStringList,
}

impl fmt::Display for MemberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemberProblem::Missing => "is missing",
            MemberProblem::NotAString => "is not a string",
            MemberProblem::NotAUrl => "is not an absolute URL",
            MemberProblem::HasFragment => "contains a fragment (#…)",
            MemberProblem::NotAStringList => "is not a list of strings",
        })
    }
}

/// Something sign-in needs that the provider does not offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// The authorization code flow (`code` in `response_types_supported`).
    CodeFlow,
    /// ID tokens signed with RS256 (`RS256` in `id_token_signing_alg_values_supported`), which Amazon
    /// Cognito requires of OpenID Connect providers.
    Rs256,
    /// The `openid` scope, when the provider lists its scopes.
    OpenidScope,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Requirement::CodeFlow => {
                "The provider does not offer the authorization code flow: the discovery document's \
                 `response_types_supported` does not include `code`."
            }
            Requirement::Rs256 => {
                "The provider does not sign ID tokens with RS256, which Amazon Cognito requires: the discovery \
                 document's `id_token_signing_alg_values_supported` does not include `RS256`."
            }
            Requirement::OpenidScope => {
                "The provider does not offer OpenID Connect sign-in: the discovery document's \
                 `scopes_supported` does not include `openid`."
            }
        })
    }
}

/// What is wrong with the provider's signing keys (the JWK set at `jwks_uri`).
#[derive(Debug, thiserror::Error)]
pub enum JwksProblem {
    /// The key set could not be fetched.
    #[error("could not be read: {0}")]
    Fetch(FetchError),
    /// The key set is not JSON.
    #[error("is not JSON")]
    NotJson,
    /// The key set is not a JSON object with a `keys` list.
    #[error("is not a JSON Web Key Set (an object with a `keys` list)")]
    NotAKeySet,
    /// No key is an RSA key usable to verify RS256 signatures.
    #[error(
        "has no RSA signing key: none has `kty` RSA, `use` sig (or none), `alg` RS256 (or none) and a valid \
         2048- to 8192-bit modulus"
    )]
    NoRsaSigningKey,
}

/// Why a provider failed the check. [`DiscoveryError::code`] gives a stable machine-readable code; the
/// `Display` text is a sentence for the admin.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The discovery document could not be fetched: refused by the egress guard (`forbidden_address`,
    /// `insecure_url`), the server unreachable (`unreachable`), a status other than 200 or a redirect
    /// (`discovery_not_found`), or too large (`response_too_large`).
    #[error("Could not read the discovery document at {url}: {source}.{hint}", hint = document_hint(.source))]
    Document {
        /// The discovery document's URL (shortened).
        url: String,
        /// What went wrong.
        source: FetchError,
    },
    /// The discovery document is not JSON (`discovery_invalid`).
    #[error("The discovery document at {url} is not JSON.")]
    NotJson {
        /// The discovery document's URL (shortened).
        url: String,
    },
    /// The discovery document is JSON but not an object (`discovery_invalid`).
    #[error("The discovery document at {url} is not a JSON object.")]
    NotAnObject {
        /// The discovery document's URL (shortened).
        url: String,
    },
    /// The document's `issuer` is not the expected issuer (`issuer_mismatch`).
    #[error(
        "The provider's discovery document gives its issuer as {found}, but {expected} was expected; the two \
         must be identical. Check the address you entered."
    )]
    IssuerMismatch {
        /// The issuer the settings imply.
        expected: String,
        /// The issuer the provider published (shortened, control characters replaced).
        found: String,
    },
    /// A member the check needs is missing or malformed (`discovery_incomplete`).
    #[error("The discovery document's `{member}` {problem}.")]
    Incomplete {
        /// The member.
        member: &'static str,
        /// What is wrong with it.
        problem: MemberProblem,
    },
    /// An endpoint the document names is refused by the egress guard (`forbidden_address` or
    /// `insecure_url`).
    #[error("The discovery document's `{member}` ({url}) is not allowed: {source}.")]
    EndpointRefused {
        /// The member.
        member: &'static str,
        /// The endpoint (shortened).
        url: String,
        /// Why it is refused.
        source: EgressError,
    },
    /// The provider does not offer something sign-in needs (`discovery_unsupported`).
    #[error("{requirement}")]
    Unsupported {
        /// What is missing.
        requirement: Requirement,
    },
    /// The signing keys are unusable (`jwks_invalid`, or the guard's code when it refused their address).
    #[error("The provider's signing keys at {url} {problem}.")]
    Jwks {
        /// The key set's URL (shortened).
        url: String,
        /// What is wrong with them.
        problem: JwksProblem,
    },
}

fn document_hint(source: &FetchError) -> &'static str {
    match source {
        FetchError::Status { .. } => {
            " Check the address you entered: the provider publishes its discovery document below its issuer."
        }
        _ => "",
    }
}

impl DiscoveryError {
    /// The stable, machine-readable code: `forbidden_address`, `insecure_url`, `unreachable`,
    /// `discovery_not_found`, `response_too_large`, `discovery_invalid`, `issuer_mismatch`,
    /// `discovery_incomplete`, `discovery_unsupported` or `jwks_invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            DiscoveryError::Document { source, .. } => match source {
                FetchError::Refused(refused) => refused.code(),
                FetchError::Unreachable(_) => "unreachable",
                FetchError::Status { .. } | FetchError::Redirected { .. } => "discovery_not_found",
                FetchError::TooLarge { .. } => "response_too_large",
            },
            DiscoveryError::NotJson { .. } | DiscoveryError::NotAnObject { .. } => {
                "discovery_invalid"
            }
            DiscoveryError::IssuerMismatch { .. } => "issuer_mismatch",
            DiscoveryError::Incomplete { .. } => "discovery_incomplete",
            DiscoveryError::EndpointRefused { source, .. } => source.code(),
            DiscoveryError::Unsupported { .. } => "discovery_unsupported",
            // A refusal by the guard is reported as such wherever it happens.
            DiscoveryError::Jwks {
                problem: JwksProblem::Fetch(FetchError::Refused(refused)),
                ..
            } => refused.code(),
            DiscoveryError::Jwks { .. } => "jwks_invalid",
        }
    }
}

/// Where the discovery document of `issuer` is: the issuer's path (without a trailing slash) followed by
/// `/.well-known/openid-configuration`, as OpenID Connect Discovery requires (a relative URL join would
/// drop the issuer's last path segment).
pub fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = format!("{}/{DISCOVERY_PATH}", issuer.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Whether the published issuer is the expected one. The comparison is exact, except that an expected
/// issuer without a path (Okta's org authorization server, for one) also matches without the trailing
/// slash that the URL parser always adds.
fn issuer_matches(expected: &Url, found: &str) -> bool {
    let text = expected.as_str();
    found == text || (expected.path() == "/" && text.strip_suffix('/') == Some(found))
}

/// Checks the provider whose issuer is `issuer` (from [`expected_issuer`]): fetches its discovery
/// document and its signing keys through `client`, and checks that the document is served with status 200,
/// is a JSON object, names exactly this issuer, names usable authorization, token and key-set endpoints
/// (and a usable userinfo endpoint, if any), supports the code flow, RS256-signed ID tokens and (when it
/// lists scopes) the `openid` scope, and that the key set holds at least one RSA signing key.
pub async fn check_provider(
    client: &EgressClient,
    issuer: &Url,
) -> Result<DiscoveredProvider, DiscoveryError> {
    let document_url = discovery_url(issuer);
    let url = shown(document_url.as_str());
    let body = client
        .get_json(&document_url)
        .await
        .map_err(|source| DiscoveryError::Document {
            url: url.clone(),
            source,
        })?;
    let document = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(document)) => document,
        Ok(_) => return Err(DiscoveryError::NotAnObject { url }),
        Err(_) => return Err(DiscoveryError::NotJson { url }),
    };

    let found = required(string_member(&document, "issuer")?, "issuer")?;
    if !issuer_matches(issuer, found) {
        return Err(DiscoveryError::IssuerMismatch {
            expected: shown(issuer.as_str()),
            found: shown(found),
        });
    }
    let endpoint = |member| url_member(&document, member, client);
    let authorization_endpoint = required(
        endpoint("authorization_endpoint")?,
        "authorization_endpoint",
    )?;
    let token_endpoint = required(endpoint("token_endpoint")?, "token_endpoint")?;
    let jwks_uri = required(endpoint("jwks_uri")?, "jwks_uri")?;
    let userinfo_endpoint = endpoint("userinfo_endpoint")?;

    let response_types = required(
        string_list_member(&document, "response_types_supported")?,
        "response_types_supported",
    )?;
    if !response_types.iter().any(|types| types == "code") {
        return Err(DiscoveryError::Unsupported {
            requirement: Requirement::CodeFlow,
        });
    }
    let algorithms = required(
        string_list_member(&document, "id_token_signing_alg_values_supported")?,
        "id_token_signing_alg_values_supported",
    )?;
    if !algorithms.iter().any(|algorithm| algorithm == "RS256") {
        return Err(DiscoveryError::Unsupported {
            requirement: Requirement::Rs256,
        });
    }
    let scopes_supported = string_list_member(&document, "scopes_supported")?;
    if scopes_supported
        .as_ref()
        .is_some_and(|scopes| !scopes.iter().any(|scope| scope == "openid"))
    {
        return Err(DiscoveryError::Unsupported {
            requirement: Requirement::OpenidScope,
        });
    }
    let claims_supported = string_list_member(&document, "claims_supported")?;

    check_jwks(client, &jwks_uri).await?;

    Ok(DiscoveredProvider {
        issuer: found.to_owned(),
        authorization_endpoint,
        token_endpoint,
        jwks_uri,
        userinfo_endpoint,
        scopes_supported: scopes_supported.unwrap_or_default(),
        claims_supported: claims_supported.unwrap_or_default(),
    })
}

fn required<T>(value: Option<T>, member: &'static str) -> Result<T, DiscoveryError> {
    value.ok_or(DiscoveryError::Incomplete {
        member,
        problem: MemberProblem::Missing,
    })
}

/// A string member; absent and null are the same.
fn string_member<'a>(
    document: &'a Map<String, Value>,
    member: &'static str,
) -> Result<Option<&'a str>, DiscoveryError> {
    match document.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(DiscoveryError::Incomplete {
            member,
            problem: MemberProblem::NotAString,
        }),
    }
}

/// A list-of-strings member; absent and null are the same.
fn string_list_member(
    document: &Map<String, Value>,
    member: &'static str,
) -> Result<Option<Vec<String>>, DiscoveryError> {
    let not_a_list = DiscoveryError::Incomplete {
        member,
        problem: MemberProblem::NotAStringList,
    };
    match document.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or(not_a_list),
        Some(_) => Err(not_a_list),
    }
}

/// An endpoint member: an absolute URL without fragment that the egress guard allows.
fn url_member(
    document: &Map<String, Value>,
    member: &'static str,
    client: &EgressClient,
) -> Result<Option<Url>, DiscoveryError> {
    let Some(text) = string_member(document, member)? else {
        return Ok(None);
    };
    let problem = |problem| DiscoveryError::Incomplete { member, problem };
    let url = Url::parse(text).map_err(|_| problem(MemberProblem::NotAUrl))?;
    check_url(&url, client.policy()).map_err(|source| DiscoveryError::EndpointRefused {
        member,
        url: shown(url.as_str()),
        source,
    })?;
    if url.fragment().is_some() {
        return Err(problem(MemberProblem::HasFragment));
    }
    Ok(Some(url))
}

/// Fetches the key set and checks that it holds at least one key usable to verify RS256 signatures.
async fn check_jwks(client: &EgressClient, jwks_uri: &Url) -> Result<(), DiscoveryError> {
    let error = |problem| DiscoveryError::Jwks {
        url: shown(jwks_uri.as_str()),
        problem,
    };
    let body = client
        .get_json(jwks_uri)
        .await
        .map_err(|source| error(JwksProblem::Fetch(source)))?;
    let key_set: Value = serde_json::from_slice(&body).map_err(|_| error(JwksProblem::NotJson))?;
    let keys = key_set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| error(JwksProblem::NotAKeySet))?;
    if keys.iter().any(is_rs256_signing_key) {
        Ok(())
    } else {
        Err(error(JwksProblem::NoRsaSigningKey))
    }
}

/// Whether a JWK is an RSA key meant for signatures (no `use`, or `sig`), for RS256 (no `alg`, or `RS256`),
/// whose modulus and exponent form a valid 2048- to 8192-bit public key.
fn is_rs256_signing_key(key: &Value) -> bool {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let absent_or = |name: &str, expected: &str| match key.get(name) {
        None | Some(Value::Null) => true,
        Some(value) => value.as_str() == Some(expected),
    };
    let component = |name: &str| {
        text(name)
            .filter(|value| !value.is_empty())
            .and_then(|value| URL_SAFE_NO_PAD.decode(value).ok())
    };
    if text("kty") != Some("RSA") || !absent_or("use", "sig") || !absent_or("alg", "RS256") {
        return false;
    }
    let (Some(n), Some(e)) = (component("n"), component("e")) else {
        return false;
    };
    // Parsing the key does not check its size (verification would), so the modulus is measured here.
    let significant = n
        .iter()
        .position(|&byte| byte != 0)
        .map_or(&[][..], |start| &n[start..]);
    let bits = significant.first().map_or(0, |&first| {
        (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    });
    if !(2048..=8192).contains(&bits) {
        return false;
    }
    RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::http::StatusCode;
    use axum::http::header::LOCATION;
    use axum::routing::{MethodRouter, get};
    use serde_json::json;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::super::egress::{EgressPolicy, MAX_BODY_BYTES, NetworkFailure};
    use super::*;

    const DIRECTORY_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT_ID: &str = "0oa1b2c3d4e5f6g7h8i9";

    /// The modulus of a 2048-bit RSA public key (base64url), for key sets that must hold a usable key.
    const RSA_MODULUS: &str = "vmjWC_MH6OFf0CgL9_1MDL6n7pX7DKMjs1xX6CJaTMz4dqlTFhmaGFAKHN0BQ1Qgj3_DEYNQ4CW-Whu6q-_1XpGXJxGenKCDCUvotxcjF3bn2uyD2mocqMcotAOCaNE17IMPsM0hb-1MbqcnQy-5xmkMgEHwAguquI_diLqxCkAM9Jt9hidwZmWSImhxJQGJAVJIypF8j17CpPH1cd_aRLDfHm_b1VrHk29b-__TXsP3Z0y-uTunqcG6J7PMPIy2qAvTngmBacnTvSd_MxNzoIcUOncr8Pqj_ME2uaEKRbtrCP6QLXZkogJDOqNW1lWqHjw-KlNIzxP6rU9abgECCQ";

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn authority() -> Url {
        url("https://login.microsoftonline.com")
    }

    fn entra(directory_id: &str, client_id: &str) -> ProviderSettings {
        ProviderSettings::Entra {
            directory_id: directory_id.into(),
            client_id: client_id.into(),
        }
    }

    fn okta(org_url: &str, authorization_server: &str) -> ProviderSettings {
        ProviderSettings::Okta {
            org_url: org_url.into(),
            authorization_server: authorization_server.into(),
            client_id: CLIENT_ID.into(),
        }
    }

    fn oidc(issuer: &str) -> ProviderSettings {
        ProviderSettings::Oidc {
            issuer: issuer.into(),
            client_id: CLIENT_ID.into(),
        }
    }

    fn issuer_of_settings(settings: &ProviderSettings) -> String {
        expected_issuer(settings, &authority()).unwrap().to_string()
    }

    fn field_error(settings: &ProviderSettings) -> FieldError {
        expected_issuer(settings, &authority()).unwrap_err()
    }

    #[test]
    fn entra_issuers_are_the_directorys_v2_issuer() {
        assert_eq!(
            issuer_of_settings(&entra(DIRECTORY_ID, CLIENT_ID)),
            format!("https://login.microsoftonline.com/{DIRECTORY_ID}/v2.0")
        );
        assert_eq!(
            issuer_of_settings(&entra(" 72F988BF-86F1-41AF-91AB-2D7CD011DB47\n", CLIENT_ID)),
            format!("https://login.microsoftonline.com/{DIRECTORY_ID}/v2.0")
        );
        for local in [
            "http://127.0.0.1:9230/entra",
            "http://127.0.0.1:9230/entra/",
        ] {
            assert_eq!(
                expected_issuer(&entra(DIRECTORY_ID, CLIENT_ID), &url(local))
                    .unwrap()
                    .as_str(),
                format!("http://127.0.0.1:9230/entra/{DIRECTORY_ID}/v2.0")
            );
        }
    }

    #[test]
    fn bad_directory_ids_are_explained() {
        for (directory_id, expected) in [
            ("", "Enter the directory (tenant) ID"),
            ("   ", "Enter the directory (tenant) ID"),
            ("common", "shared sign-in endpoint"),
            ("Organizations", "shared sign-in endpoint"),
            ("contoso.onmicrosoft.com", "not a domain name"),
            ("72f988bf86f141af91ab2d7cd011db47", "must be a GUID"),
            ("72f988bf-86f1-41af-91ab-2d7cd011db4", "must be a GUID"),
            ("72f988bf-86f1-41af-91ab-2d7cd011db4g", "must be a GUID"),
            ("{72f988bf-86f1-41af-91ab-2d7cd011db47}", "must be a GUID"),
            ("00000000-0000-0000-0000-000000000000", "all zeros"),
        ] {
            let error = field_error(&entra(directory_id, CLIENT_ID));
            assert_eq!(error.field, Field::DirectoryId, "{directory_id:?}");
            assert_eq!(error.code(), "invalid_field");
            assert!(
                error.message.contains(expected),
                "{directory_id:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn okta_issuers_are_the_authorization_servers() {
        for (org_url, server, expected) in [
            (
                "https://example.okta.com",
                "default",
                "https://example.okta.com/oauth2/default",
            ),
            (
                "https://example.okta.com/",
                "default",
                "https://example.okta.com/oauth2/default",
            ),
            (
                " https://example.okta.com ",
                " aus1a2b3c4d5E6f7g8h9 ",
                "https://example.okta.com/oauth2/aus1a2b3c4d5E6f7g8h9",
            ),
            (
                "https://login.example.com:8443",
                "default",
                "https://login.example.com:8443/oauth2/default",
            ),
            // The org authorization server's issuer is the org URL itself.
            ("https://example.okta.com", "", "https://example.okta.com/"),
            (
                "https://example.okta.com/",
                "  ",
                "https://example.okta.com/",
            ),
        ] {
            assert_eq!(
                issuer_of_settings(&okta(org_url, server)),
                expected,
                "{org_url} {server}"
            );
        }
    }

    #[test]
    fn bad_okta_fields_are_explained() {
        for (org_url, server, field, expected) in [
            (
                "",
                "default",
                Field::OrgUrl,
                "Enter the URL of your Okta org",
            ),
            (
                "example.okta.com",
                "default",
                Field::OrgUrl,
                "starting with https://",
            ),
            (
                "ftp://example.okta.com",
                "default",
                Field::OrgUrl,
                "starting with https://",
            ),
            (
                "https://example.okta.com/oauth2/default",
                "",
                Field::OrgUrl,
                "without a path",
            ),
            (
                "https://example.okta.com//",
                "default",
                Field::OrgUrl,
                "without a path",
            ),
            (
                "https://example.okta.com/?a=b",
                "default",
                Field::OrgUrl,
                "query",
            ),
            (
                "https://example.okta.com/#top",
                "default",
                Field::OrgUrl,
                "fragment",
            ),
            (
                "https://me:pw@example.okta.com",
                "default",
                Field::OrgUrl,
                "user name",
            ),
            (
                "https://example-admin.okta.com",
                "default",
                Field::OrgUrl,
                "Admin Console",
            ),
            (
                "https://example.okta.com",
                "aus-1",
                Field::AuthorizationServer,
                "\"default\"",
            ),
            (
                "https://example.okta.com",
                &"a".repeat(41),
                Field::AuthorizationServer,
                "up to 40 letters and digits",
            ),
            (
                "https://example.okta.com",
                "https://example.okta.com/oauth2/default",
                Field::AuthorizationServer,
                "not a URL",
            ),
        ] {
            let error = field_error(&okta(org_url, server));
            assert_eq!(error.field, field, "{org_url} {server}");
            assert!(
                error.message.contains(expected),
                "{org_url} {server}: {}",
                error.message
            );
        }
        assert_eq!(
            issuer_of_settings(&okta("https://example.okta.com", &"a".repeat(40))),
            format!("https://example.okta.com/oauth2/{}", "a".repeat(40))
        );
    }

    #[test]
    fn generic_issuers_are_taken_as_entered() {
        for issuer in [
            "https://login.example.com/realms/acme",
            "https://login.example.com/realms/acme/",
            "https://acme.eu.auth0.com/",
            "http://127.0.0.1:9232/idp",
        ] {
            assert_eq!(issuer_of_settings(&oidc(issuer)), issuer);
        }
    }

    #[test]
    fn bad_generic_issuers_are_explained() {
        for (issuer, expected) in [
            ("", "Enter the issuer URL"),
            ("login.example.com/realms/acme", "full URL"),
            ("/realms/acme", "full URL"),
            ("ldap://login.example.com", "full URL"),
            ("https://login.example.com/?tenant=acme", "query"),
            ("https://login.example.com/#acme", "fragment"),
            ("https://admin:secret@login.example.com", "user name"),
            (
                "https://login.example.com/realms/acme/.well-known/openid-configuration",
                "not the address of its discovery document",
            ),
        ] {
            let error = field_error(&oidc(issuer));
            assert_eq!(error.field, Field::Issuer, "{issuer}");
            assert!(
                error.message.contains(expected),
                "{issuer}: {}",
                error.message
            );
        }
    }

    #[test]
    fn bad_client_ids_are_explained_for_every_kind() {
        let too_long = "c".repeat(256);
        for (client_id, expected) in [
            ("", "Enter the client ID"),
            (
                too_long.as_str(),
                "at most 255 characters long; this one has 256",
            ),
            (" abc", "must not contain spaces"),
            ("abc\n", "must not contain spaces"),
            ("a b", "must not contain spaces"),
            ("clïent", "printable ASCII"),
            ("client\u{7f}", "printable ASCII"),
        ] {
            for settings in [
                entra(DIRECTORY_ID, client_id),
                ProviderSettings::Okta {
                    org_url: "https://example.okta.com".into(),
                    authorization_server: "default".into(),
                    client_id: client_id.into(),
                },
                ProviderSettings::Oidc {
                    issuer: "https://login.example.com".into(),
                    client_id: client_id.into(),
                },
            ] {
                let error = field_error(&settings);
                assert_eq!(error.field, Field::ClientId, "{client_id:?}");
                assert!(
                    error.message.contains(expected),
                    "{client_id:?}: {}",
                    error.message
                );
            }
        }
        assert!(expected_issuer(&entra(DIRECTORY_ID, &"c".repeat(255)), &authority()).is_ok());
        assert!(expected_issuer(&entra(DIRECTORY_ID, "api://client-1~!{}"), &authority()).is_ok());
    }

    #[test]
    fn settings_are_read_from_the_wizards_json() {
        let settings: ProviderSettings = serde_json::from_value(json!({
            "kind": "okta",
            "org_url": "https://example.okta.com",
            "client_id": CLIENT_ID,
        }))
        .unwrap();
        assert_eq!(settings, okta("https://example.okta.com", ""));
    }

    #[test]
    fn the_discovery_document_is_below_the_issuers_path() {
        for (issuer, expected) in [
            (
                "https://login.microsoftonline.com/t/v2.0",
                "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration",
            ),
            (
                "https://login.example.com/realms/acme/",
                "https://login.example.com/realms/acme/.well-known/openid-configuration",
            ),
            (
                "https://example.okta.com",
                "https://example.okta.com/.well-known/openid-configuration",
            ),
            (
                "https://example.okta.com/",
                "https://example.okta.com/.well-known/openid-configuration",
            ),
        ] {
            assert_eq!(discovery_url(&url(issuer)).as_str(), expected);
        }
    }

    // --- Checks against small providers served on 127.0.0.1. ---

    const DEVELOPMENT: EgressPolicy = EgressPolicy {
        allow_private: true,
    };
    const PRODUCTION: EgressPolicy = EgressPolicy {
        allow_private: false,
    };

    fn rsa_key() -> Value {
        json!({ "kty": "RSA", "use": "sig", "kid": "k1", "n": RSA_MODULUS, "e": "AQAB" })
    }

    fn ec_key() -> Value {
        json!({
            "kty": "EC",
            "use": "sig",
            "crv": "P-256",
            "kid": "e1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        })
    }

    /// A discovery document as Entra publishes one, for `issuer`, with its endpoints under `base`.
    fn good_document(base: &str, issuer: &str) -> Value {
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/keys"),
            "userinfo_endpoint": format!("{base}/userinfo"),
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "iss", "email", "name"],
            "subject_types_supported": ["pairwise"],
        })
    }

    fn json_route(value: Value) -> MethodRouter {
        get(move || std::future::ready(axum::Json(value.clone())))
    }

    /// Serves the router made from the server's base URL on 127.0.0.1, and returns that base URL.
    async fn serve(router: impl FnOnce(&str) -> Router) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = router(&base);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    /// A provider at `<base>/tenant/v2.0` serving the good document after `edit`, and `key_set` at `/keys`.
    async fn provider(edit: impl FnOnce(&mut Value), key_set: Value) -> Url {
        let base = serve(|base| {
            let mut document = good_document(base, &format!("{base}/tenant/v2.0"));
            edit(&mut document);
            Router::new()
                .route(
                    "/tenant/v2.0/.well-known/openid-configuration",
                    json_route(document),
                )
                .route("/keys", json_route(key_set))
        })
        .await;
        url(&format!("{base}/tenant/v2.0"))
    }

    async fn check(issuer: &Url) -> Result<DiscoveredProvider, DiscoveryError> {
        check_provider(&EgressClient::new(DEVELOPMENT).unwrap(), issuer).await
    }

    async fn code_of(issuer: &Url) -> &'static str {
        match check(issuer).await {
            Ok(_) => "ok",
            Err(error) => error.code(),
        }
    }

    fn good_key_set() -> Value {
        json!({ "keys": [ec_key(), rsa_key()] })
    }

    #[tokio::test]
    async fn a_good_provider_passes_with_its_endpoints() {
        let issuer = provider(|_| {}, good_key_set()).await;
        let base = issuer.origin().ascii_serialization();
        let found = check(&issuer).await.unwrap();
        assert_eq!(
            found,
            DiscoveredProvider {
                issuer: issuer.to_string(),
                authorization_endpoint: url(&format!("{base}/authorize")),
                token_endpoint: url(&format!("{base}/token")),
                jwks_uri: url(&format!("{base}/keys")),
                userinfo_endpoint: Some(url(&format!("{base}/userinfo"))),
                scopes_supported: ["openid", "profile", "email", "offline_access"]
                    .map(String::from)
                    .to_vec(),
                claims_supported: ["sub", "iss", "email", "name"].map(String::from).to_vec(),
            }
        );
    }

    #[tokio::test]
    async fn optional_members_may_be_absent() {
        let issuer = provider(
            |document| {
                for member in ["userinfo_endpoint", "scopes_supported", "claims_supported"] {
                    document.as_object_mut().unwrap().remove(member);
                }
            },
            json!({ "keys": [{ "kty": "RSA", "n": RSA_MODULUS, "e": "AQAB", "alg": "RS256" }] }),
        )
        .await;
        let found = check(&issuer).await.unwrap();
        assert_eq!(found.userinfo_endpoint, None);
        assert!(found.scopes_supported.is_empty() && found.claims_supported.is_empty());
    }

    #[tokio::test]
    async fn an_issuer_with_a_trailing_slash_keeps_it() {
        let base = serve(|base| {
            let issuer = format!("{base}/realms/acme/");
            Router::new()
                .route(
                    "/realms/acme/.well-known/openid-configuration",
                    json_route(good_document(base, &issuer)),
                )
                .route("/keys", json_route(good_key_set()))
        })
        .await;
        let with_slash = url(&format!("{base}/realms/acme/"));
        assert_eq!(
            check(&with_slash).await.unwrap().issuer,
            with_slash.as_str()
        );
        // Without the slash the document is found at the same place, but its issuer differs.
        let without = url(&format!("{base}/realms/acme"));
        assert_eq!(code_of(&without).await, "issuer_mismatch");
    }

    #[tokio::test]
    async fn an_org_authorization_server_matches_without_a_trailing_slash() {
        let base = serve(|base| {
            Router::new()
                .route(
                    "/.well-known/openid-configuration",
                    json_route(good_document(base, base)),
                )
                .route("/keys", json_route(good_key_set()))
        })
        .await;
        let settings = ProviderSettings::Okta {
            org_url: base.clone(),
            authorization_server: String::new(),
            client_id: CLIENT_ID.into(),
        };
        let issuer = expected_issuer(&settings, &authority()).unwrap();
        assert_eq!(check(&issuer).await.unwrap().issuer, base);
    }

    #[tokio::test]
    async fn a_wrong_issuer_is_reported_with_both_values() {
        let issuer = provider(
            |document| document["issuer"] = json!("https://login.example.com/other/v2.0"),
            good_key_set(),
        )
        .await;
        let error = check(&issuer).await.unwrap_err();
        assert_eq!(error.code(), "issuer_mismatch");
        match &error {
            DiscoveryError::IssuerMismatch { expected, found } => {
                assert_eq!(expected, issuer.as_str());
                assert_eq!(found, "https://login.example.com/other/v2.0");
            }
            other => panic!("{other:?}"),
        }
        let message = error.to_string();
        assert!(message.contains(issuer.as_str()) && message.contains("/other/v2.0"));
    }

    #[tokio::test]
    async fn a_missing_document_is_not_found() {
        let base = serve(|_| Router::new()).await;
        let issuer = url(&format!("{base}/tenant/v2.0"));
        let error = check(&issuer).await.unwrap_err();
        assert_eq!(error.code(), "discovery_not_found");
        assert!(matches!(
            error,
            DiscoveryError::Document {
                source: FetchError::Status {
                    status: StatusCode::NOT_FOUND
                },
                ..
            }
        ));
        let message = error.to_string();
        assert!(
            message.contains("HTTP 404")
                && message.contains(&format!("{issuer}/.well-known/openid-configuration")),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_document_that_is_not_a_json_object_is_invalid() {
        for body in ["<html>Sign in</html>", "[1, 2, 3]", "\"issuer\""] {
            let base = serve(|_| {
                Router::new().route(
                    "/t/.well-known/openid-configuration",
                    get(move || std::future::ready(body)),
                )
            })
            .await;
            let error = check(&url(&format!("{base}/t"))).await.unwrap_err();
            assert_eq!(error.code(), "discovery_invalid", "{body}");
            assert!(!error.to_string().contains(body), "{error}");
        }
    }

    #[tokio::test]
    async fn missing_or_malformed_members_are_named() {
        for (member, value, problem) in [
            ("jwks_uri", Value::Null, MemberProblem::Missing),
            (
                "authorization_endpoint",
                Value::Null,
                MemberProblem::Missing,
            ),
            ("token_endpoint", json!(42), MemberProblem::NotAString),
            ("jwks_uri", json!("/keys"), MemberProblem::NotAUrl),
            (
                "token_endpoint",
                json!("https://login.example.com/token#x"),
                MemberProblem::HasFragment,
            ),
            ("issuer", Value::Null, MemberProblem::Missing),
            (
                "response_types_supported",
                Value::Null,
                MemberProblem::Missing,
            ),
            (
                "id_token_signing_alg_values_supported",
                json!("RS256"),
                MemberProblem::NotAStringList,
            ),
            (
                "scopes_supported",
                json!(["openid", 7]),
                MemberProblem::NotAStringList,
            ),
            ("claims_supported", json!({}), MemberProblem::NotAStringList),
        ] {
            let issuer = provider(
                |document| {
                    let document = document.as_object_mut().unwrap();
                    if value.is_null() {
                        document.remove(member);
                    } else {
                        document.insert(member.into(), value.clone());
                    }
                },
                good_key_set(),
            )
            .await;
            let error = check(&issuer).await.unwrap_err();
            assert_eq!(error.code(), "discovery_incomplete", "{member}");
            match &error {
                DiscoveryError::Incomplete {
                    member: named,
                    problem: found,
                } => assert_eq!((*named, *found), (member, problem)),
                other => panic!("{member}: {other:?}"),
            }
            assert!(error.to_string().contains(&format!("`{member}`")));
        }
    }

    #[tokio::test]
    async fn endpoints_the_guard_refuses_are_named() {
        for (member, value, code) in [
            ("jwks_uri", "ftp://login.example.com/keys", "insecure_url"),
            (
                "authorization_endpoint",
                "https://me:pw@login.example.com/a",
                "insecure_url",
            ),
            ("userinfo_endpoint", "javascript:alert(1)", "insecure_url"),
        ] {
            let issuer = provider(|document| document[member] = json!(value), good_key_set()).await;
            let error = check(&issuer).await.unwrap_err();
            assert_eq!(error.code(), code, "{member}");
            assert!(
                matches!(error, DiscoveryError::EndpointRefused { member: named, .. } if named == member),
                "{error:?}"
            );
        }
    }

    #[tokio::test]
    async fn unsupported_flows_and_algorithms_are_reported() {
        for (member, value, requirement) in [
            (
                "id_token_signing_alg_values_supported",
                json!(["ES256", "PS256"]),
                Requirement::Rs256,
            ),
            (
                "response_types_supported",
                json!(["id_token", "code id_token"]),
                Requirement::CodeFlow,
            ),
            (
                "scopes_supported",
                json!(["profile", "email"]),
                Requirement::OpenidScope,
            ),
        ] {
            let issuer =
                provider(|document| document[member] = value.clone(), good_key_set()).await;
            let error = check(&issuer).await.unwrap_err();
            assert_eq!(error.code(), "discovery_unsupported", "{member}");
            assert!(
                matches!(error, DiscoveryError::Unsupported { requirement: found } if found == requirement),
                "{error:?}"
            );
        }
    }

    #[tokio::test]
    async fn key_sets_without_an_rsa_signing_key_are_invalid() {
        let mut encryption_key = rsa_key();
        encryption_key["use"] = json!("enc");
        let mut other_algorithm = rsa_key();
        other_algorithm["alg"] = json!("RS512");
        let mut short_modulus = rsa_key();
        short_modulus["n"] = json!("AQAB");
        for (key_set, problem) in [
            (json!({ "keys": [ec_key()] }), "NoRsaSigningKey"),
            (json!({ "keys": [] }), "NoRsaSigningKey"),
            (json!({ "keys": [encryption_key] }), "NoRsaSigningKey"),
            (json!({ "keys": [other_algorithm] }), "NoRsaSigningKey"),
            (json!({ "keys": [short_modulus] }), "NoRsaSigningKey"),
            (json!([rsa_key()]), "NotAKeySet"),
            (json!({ "keys": "none" }), "NotAKeySet"),
        ] {
            let issuer = provider(|_| {}, key_set.clone()).await;
            let error = check(&issuer).await.unwrap_err();
            assert_eq!(error.code(), "jwks_invalid", "{key_set}");
            assert!(
                format!("{error:?}").contains(problem),
                "{key_set}: {error:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_key_set_is_invalid() {
        let issuer = provider(
            |document| {
                document["jwks_uri"] =
                    json!(format!("{}missing", document["jwks_uri"].as_str().unwrap()))
            },
            good_key_set(),
        )
        .await;
        let error = check(&issuer).await.unwrap_err();
        assert_eq!(error.code(), "jwks_invalid");
        assert!(error.to_string().contains("HTTP 404"), "{error}");
    }

    #[tokio::test]
    async fn redirects_are_reported_not_followed() {
        let followed = Arc::new(AtomicUsize::new(0));
        let counter = followed.clone();
        let base = serve(move |base| {
            let target = format!("{base}/elsewhere/.well-known/openid-configuration");
            Router::new()
                .route(
                    "/t/.well-known/openid-configuration",
                    get(move || {
                        std::future::ready((StatusCode::FOUND, [(LOCATION, target.clone())]))
                    }),
                )
                .route(
                    "/elsewhere/.well-known/openid-configuration",
                    get(move || {
                        counter.fetch_add(1, Ordering::SeqCst);
                        std::future::ready("{}")
                    }),
                )
        })
        .await;
        let error = check(&url(&format!("{base}/t"))).await.unwrap_err();
        assert_eq!(error.code(), "discovery_not_found");
        match &error {
            DiscoveryError::Document {
                source: FetchError::Redirected { status, location },
                ..
            } => {
                assert_eq!(*status, StatusCode::FOUND);
                assert_eq!(
                    location.as_deref(),
                    Some(format!("{base}/elsewhere/.well-known/openid-configuration").as_str())
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().contains("redirect"), "{error}");
        assert_eq!(followed.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_huge_declared_body_is_refused() {
        let base = serve(|_| {
            Router::new().route(
                "/t/.well-known/openid-configuration",
                get(|| std::future::ready(" ".repeat(MAX_BODY_BYTES + 1))),
            )
        })
        .await;
        let error = check(&url(&format!("{base}/t"))).await.unwrap_err();
        assert_eq!(error.code(), "response_too_large");
    }

    #[tokio::test]
    async fn a_huge_body_of_undeclared_length_is_cut_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // A raw server with no Content-Length: the body ends when the connection closes, so only counting
        // the bytes read can stop it.
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 4096];
            let _ = stream.read(&mut request).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                .await;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..64 {
                if stream.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let error = check(&url(&format!("http://{address}/t")))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "response_too_large");
        assert!(error.to_string().contains("256 KiB"), "{error}");
        server.abort();
    }

    #[tokio::test]
    async fn production_refuses_loopback_before_connecting() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = EgressClient::new(PRODUCTION).unwrap();
        for (issuer, code) in [
            (
                format!("https://127.0.0.1:{port}/t/v2.0"),
                "forbidden_address",
            ),
            (
                format!("https://localhost:{port}/t/v2.0"),
                "forbidden_address",
            ),
            (
                format!("https://[::ffff:7f00:1]:{port}/t/v2.0"),
                "forbidden_address",
            ),
            (format!("http://127.0.0.1:{port}/t/v2.0"), "insecure_url"),
        ] {
            let error = check_provider(&client, &url(&issuer)).await.unwrap_err();
            assert_eq!(error.code(), code, "{issuer}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the guard let a connection through");
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let error = check(&url(&format!("http://{address}/t")))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "unreachable");
        assert!(
            matches!(
                error,
                DiscoveryError::Document {
                    source: FetchError::Unreachable(NetworkFailure::ConnectionRefused),
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
