//! Federation: the pool as an OIDC client of the tenant's IdP (discovery, authorization code + PKCE, ID token
//! verification with the `openidconnect` crate), then the pool user, the trigger, the tokens and a code for
//! the app.
//!
//! The provider is the pool's runtime state as the user-pool API left it, read again when the IdP answers: a
//! provider deleted in between fails the sign-in, a changed one is used as it now is. Discovery starts from
//! its `oidc_issuer` at every sign-in; endpoint URLs the provider set explicitly take the place of the
//! discovered ones.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpClientError, HttpRequest, HttpResponse,
    IssuerUrl, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, StandardErrorResponse, TokenResponse, TokenUrl,
    UserInfoUrl,
};
use serde_json::{Map, Value};

use super::state::IdentityProvider;
use super::users::UserError;
use super::{ClientRequest, PendingFederation, Pool, PoolPage, issue};
use crate::store::random_token;
use crate::web::{PageForm, error_page, redirect, secrets_equal};

/// The cookie that binds a federated sign-in to the browser that started it, like Cognito's own
/// `XSRF-TOKEN`: without it, anyone could send a victim to `/oauth2/idpresponse` with the attacker's code
/// and state and sign the victim in as the attacker (login CSRF).
pub(crate) const BINDING_COOKIE: &str = "XSRF-TOKEN";

/// Bytes of entropy in a binding cookie value.
const BINDING_BYTES: usize = 32;

/// An OIDC client built from the IdP's discovery document.
type IdpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The error type of the HTTP client the pool calls IdPs with.
type HttpError = HttpClientError<reqwest::Error>;

/// What went wrong in a call to an IdP endpoint.
#[derive(Debug, thiserror::Error)]
enum Upstream {
    /// No answer within the pool's HTTP timeout.
    #[error("timed out")]
    Timeout,
    /// No answer at all (connection refused, DNS, TLS...).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// An HTTP error status, with the OAuth error body (`error`, `error_description`) when there was one.
    #[error("HTTP status {status}, OAuth error {oauth_error:?}")]
    Status {
        status: u16,
        oauth_error: Option<(String, Option<String>)>,
    },
    /// An answer the pool cannot use.
    #[error("unusable answer: {0}")]
    Unusable(String),
}

impl Upstream {
    fn from_http(error: &HttpError) -> Upstream {
        match error {
            HttpClientError::Reqwest(e) if e.is_timeout() => Upstream::Timeout,
            other => Upstream::Unreachable(error_chain(other)),
        }
    }
}

/// Why a federated sign-in failed after the IdP answered.
#[derive(Debug, thiserror::Error)]
enum FederationError {
    #[error("identity provider discovery failed: {0}")]
    Discovery(Upstream),
    #[error("identity provider token request failed: {0}")]
    TokenRequest(Upstream),
    #[error("identity provider returned no id_token")]
    NoIdToken,
    #[error("id_token verification failed: {0}")]
    Verification(String),
    #[error("identity provider userInfo request failed: {0}")]
    UserInfo(Upstream),
    #[error("the userInfo answer is for another subject")]
    UserInfoSubject,
}

impl FederationError {
    /// What the app is told, in the words Cognito uses: upstream errors name the provider and the HTTP
    /// status, and pass on the IdP's own OAuth error; detail beyond that stays in the log.
    fn description(&self, provider: &str) -> String {
        match self {
            FederationError::TokenRequest(Upstream::Timeout) => {
                "Timeout occurred in calling IdP token endpoint".to_owned()
            }
            FederationError::TokenRequest(Upstream::Unreachable(_)) => {
                "Error occurred in calling IdP token endpoint".to_owned()
            }
            FederationError::TokenRequest(Upstream::Status {
                status,
                oauth_error: Some((error, description)),
            }) => {
                let mut text = format!("{provider} Error - {status} {error}");
                if let Some(description) = description {
                    text.push(' ');
                    text.push_str(description);
                }
                text
            }
            FederationError::TokenRequest(Upstream::Status { status, .. }) => {
                format!("{provider} Error - {status} error getting token")
            }
            FederationError::TokenRequest(Upstream::Unusable(_)) => {
                format!("{provider} Error - 200 error getting token")
            }
            FederationError::Discovery(Upstream::Timeout) => {
                "Timeout occurred in calling IdP discovery endpoint".to_owned()
            }
            FederationError::Discovery(Upstream::Unreachable(_)) => {
                "Error occurred in calling IdP discovery endpoint".to_owned()
            }
            FederationError::Discovery(Upstream::Status { status, .. }) => {
                format!("{provider} Error - {status} error getting OIDC configuration")
            }
            FederationError::Discovery(Upstream::Unusable(_)) => {
                format!("{provider} Error - invalid OIDC configuration")
            }
            FederationError::NoIdToken
            | FederationError::Verification(_)
            | FederationError::UserInfoSubject => "Bad id_token from identity provider".to_owned(),
            // AWS does not document these words; they follow the token endpoint's.
            FederationError::UserInfo(Upstream::Timeout) => {
                "Timeout occurred in calling IdP userinfo endpoint".to_owned()
            }
            FederationError::UserInfo(Upstream::Unreachable(_)) => {
                "Error occurred in calling IdP userinfo endpoint".to_owned()
            }
            FederationError::UserInfo(Upstream::Status { status, .. }) => {
                format!("{provider} Error - {status} error getting user info")
            }
            FederationError::UserInfo(Upstream::Unusable(_)) => {
                format!("{provider} Error - 200 error getting user info")
            }
        }
    }
}

/// An error and its sources on one line, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn discover(pool: &Pool, idp: &IdentityProvider) -> Result<IdpClient, FederationError> {
    let details = &idp.details;
    let invalid = |e: String| FederationError::Discovery(Upstream::Unusable(e));
    let issuer = IssuerUrl::new(details.oidc_issuer.clone()).map_err(|e| invalid(e.to_string()))?;
    let mut metadata = CoreProviderMetadata::discover_async(issuer, &pool.http)
        .await
        .map_err(|e| {
            FederationError::Discovery(match e {
                DiscoveryError::Request(http) => Upstream::from_http(&http),
                DiscoveryError::Response(status, _, _) => Upstream::Status {
                    status: status.as_u16(),
                    oauth_error: None,
                },
                other => Upstream::Unusable(error_chain(&other)),
            })
        })?;
    let explicit = details.explicit;
    if explicit.authorize_url {
        let url =
            AuthUrl::new(details.authorize_url.clone()).map_err(|e| invalid(e.to_string()))?;
        metadata = metadata.set_authorization_endpoint(url);
    }
    if explicit.token_url {
        let url = TokenUrl::new(details.token_url.clone()).map_err(|e| invalid(e.to_string()))?;
        metadata = metadata.set_token_endpoint(Some(url));
    }
    if explicit.attributes_url
        && let Some(attributes_url) = &details.attributes_url
    {
        let url = UserInfoUrl::new(attributes_url.clone()).map_err(|e| invalid(e.to_string()))?;
        metadata = metadata.set_userinfo_endpoint(Some(url));
    }
    if explicit.jwks_uri && metadata.jwks_uri().url().as_str() != details.jwks_uri.as_str() {
        let url =
            JsonWebKeySetUrl::new(details.jwks_uri.clone()).map_err(|e| invalid(e.to_string()))?;
        let keys = CoreJsonWebKeySet::fetch_async(&url, &pool.http)
            .await
            .map_err(|e| FederationError::Discovery(Upstream::Unusable(error_chain(&e))))?;
        metadata = metadata.set_jwks_uri(url).set_jwks(keys);
    }
    let redirect = RedirectUrl::new(pool.idp_response_url()).map_err(|e| invalid(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(details.client_id.clone()),
        Some(ClientSecret::new(details.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// The binding cookie the browser sent, if it has the shape of one the pool issued.
fn presented_binding(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| {
            Cookie::split_parse(header)
                .filter_map(Result::ok)
                .filter(|c| c.name() == BINDING_COOKIE)
                .map(|c| c.value().to_owned())
                .collect::<Vec<_>>()
        })
        .find(|value| {
            URL_SAFE_NO_PAD
                .decode(value)
                .is_ok_and(|bytes| bytes.len() == BINDING_BYTES)
        })
}

/// Sends the browser to the IdP's authorize endpoint with the pool's own state, nonce and PKCE, and binds
/// the sign-in to the browser with an HttpOnly cookie. A browser that already holds a binding cookie keeps
/// it, so sign-ins started in two tabs both complete.
pub(crate) async fn start(
    pool: &Pool,
    request: ClientRequest,
    idp: &IdentityProvider,
    login_hint: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    let client = match discover(pool, idp).await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, provider = %idp.name, "starting a federated sign-in");
            return request.redirect_error("invalid_request", &error.description(&idp.name));
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = random_token(32);
    let nonce = random_token(32);
    let binding = presented_binding(headers).unwrap_or_else(|| random_token(BINDING_BYTES));
    let scopes = idp
        .details
        .authorize_scopes
        .split_whitespace()
        .filter(|s| *s != "openid")
        .map(|s| Scope::new(s.to_owned()));
    let mut authorize = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            {
                let state = state.clone();
                move || CsrfToken::new(state)
            },
            {
                let nonce = nonce.clone();
                move || Nonce::new(nonce)
            },
        )
        .add_scopes(scopes)
        .set_pkce_challenge(challenge);
    if let Some(hint) = login_hint {
        authorize = authorize.add_extra_param("login_hint", hint.to_owned());
    }
    let (url, _, _) = authorize.url();
    pool.pending.insert(
        state,
        PendingFederation {
            request,
            provider: idp.name.clone(),
            nonce,
            pkce_verifier: verifier.secret().clone(),
            browser_binding: binding.clone(),
        },
        pool.config.federation_timeout,
    );
    // Lax, not Strict: the browser comes back from the IdP by a top-level cross-site redirect, which must
    // carry the cookie. Secure whenever the pool is served over https (never on plain-http 127.0.0.1).
    let cookie = Cookie::build((BINDING_COOKIE, binding))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(pool.urls.auth_domain.starts_with("https://"))
        .build();
    let mut response = redirect(url.as_str());
    match HeaderValue::from_str(&cookie.to_string()) {
        Ok(value) => {
            response.headers_mut().append(SET_COOKIE, value);
            response
        }
        Err(error) => {
            tracing::error!(%error, "building the binding cookie");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error",
                "The sign-in could not be started.",
            )
        }
    }
}

/// The page shown when `/oauth2/idpresponse` cannot tie the answer to a sign-in of this browser. There is
/// no trustworthy redirect target then, so no redirect.
fn invalid_state(detail: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "Invalid state",
        &format!("Invalid state: {detail}"),
    )
}

/// `GET /oauth2/idpresponse`: where the IdP sends the browser back.
pub(crate) async fn idp_response(
    State(pool): State<Arc<Pool>>,
    headers: HeaderMap,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    let Some(state) = params.get("state") else {
        return invalid_state("the identity provider's answer has no state.");
    };
    // Without a live state there is no request to answer, so no redirect target either.
    let Some(pending) = pool.pending.get(state) else {
        return invalid_state("the sign-in expired or was already completed.");
    };
    // Checked before the state is consumed, so a forged request cannot cancel the real browser's sign-in.
    let bound = presented_binding(&headers)
        .is_some_and(|presented| secrets_equal(&presented, &pending.browser_binding));
    if !bound {
        tracing::warn!(provider = %pending.provider, "identity provider answer without the browser's binding cookie");
        return invalid_state("the sign-in was not started in this browser.");
    }
    if pool.pending.take(state).is_none() {
        return invalid_state("the sign-in expired or was already completed.");
    }
    let request = pending.request.clone();
    if let Some(error) = params.get("error") {
        let description = params
            .get("error_description")
            .map_or(error.as_str(), String::as_str);
        tracing::info!(%error, %description, provider = %pending.provider, "identity provider refused the sign-in");
        return request.redirect_error("invalid_request", description);
    }
    let Some(code) = params.get("code") else {
        return request.redirect_error(
            "invalid_request",
            "Missing authorization code from identity provider",
        );
    };
    // Read again now: the provider or the client may have changed (or gone) since the sign-in started.
    let Some(idp) = pool.state.provider(&pending.provider) else {
        return request.redirect_error("invalid_request", "Identity provider does not exist");
    };
    let idp = &idp;
    let Some(client) = pool.state.client(&request.client_id) else {
        return request.redirect_error("invalid_request", "Invalid client_id");
    };
    let client = &client;
    let claims = match verified_claims(&pool, idp, &pending, code).await {
        Ok(claims) => claims,
        Err(error) => {
            tracing::warn!(%error, provider = %idp.name, "federated sign-in failed");
            return request.redirect_error("invalid_request", &error.description(&idp.name));
        }
    };
    let user = match pool
        .users
        .upsert_federated(&pool.settings, client, idp, &claims)
    {
        Ok(user) => user,
        Err(error) => {
            tracing::warn!(%error, provider = %idp.name, "federated sign-in failed");
            let description = match &error {
                UserError::InvalidAttribute { .. } => error.to_string(),
                UserError::NoSubject => "Bad id_token from identity provider".to_owned(),
            };
            return request.redirect_error("invalid_request", &description);
        }
    };
    if !user.enabled {
        return request.redirect_error("invalid_request", "User is disabled.");
    }
    issue::authorization_code(&pool, client, &request, &user).await
}

/// Exchanges the IdP's code (with the pool's client secret and PKCE verifier) and verifies the ID token:
/// signature against the IdP's JWKS, issuer, audience, expiry and nonce. Returns its claims.
async fn verified_claims(
    pool: &Pool,
    idp: &IdentityProvider,
    pending: &PendingFederation,
    code: &str,
) -> Result<Map<String, Value>, FederationError> {
    let client = discover(pool, idp).await?;
    let recording = RecordingClient {
        http: &pool.http,
        last_status: Mutex::new(None),
    };
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| FederationError::TokenRequest(Upstream::Unusable(e.to_string())))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&recording)
        .await
        .map_err(|e| FederationError::TokenRequest(token_failure(e, recording.last_status())))?;
    let id_token = response.id_token().ok_or(FederationError::NoIdToken)?;
    id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(pending.nonce.clone()),
        )
        .map_err(|e| FederationError::Verification(e.to_string()))?;
    // The token is verified; read every claim (Entra's oid, tid and roles, Okta's groups) from its payload.
    let raw = id_token.to_string();
    let payload = raw
        .split('.')
        .nth(1)
        .ok_or_else(|| FederationError::Verification("not a JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| FederationError::Verification(e.to_string()))?;
    let mut claims: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|e| FederationError::Verification(e.to_string()))?;
    if let Some(url) = client.user_info_url() {
        let info = user_info(
            pool,
            url.as_str(),
            &idp.details.attributes_request_method,
            response.access_token().secret(),
        )
        .await?;
        merge_user_info(&mut claims, info)?;
    }
    Ok(claims)
}

/// Calls the IdP's userInfo endpoint (the provider's `attributes_url`, discovered or set) with the IdP's
/// access token, by the provider's `attributes_request_method`, as Cognito does during OIDC federation
/// (<https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-oidc-flow.html>).
async fn user_info(
    pool: &Pool,
    url: &str,
    method: &str,
    access_token: &str,
) -> Result<Map<String, Value>, FederationError> {
    let request = if method.eq_ignore_ascii_case("POST") {
        pool.http.post(url)
    } else {
        pool.http.get(url)
    };
    let response = request
        .bearer_auth(access_token)
        .header(axum::http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            FederationError::UserInfo(if e.is_timeout() {
                Upstream::Timeout
            } else {
                Upstream::Unreachable(error_chain(&e))
            })
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(FederationError::UserInfo(Upstream::Status {
            status: status.as_u16(),
            oauth_error: None,
        }));
    }
    response
        .json::<Map<String, Value>>()
        .await
        .map_err(|e| FederationError::UserInfo(Upstream::Unusable(error_chain(&e))))
}

/// Adds the userInfo claims to the ID token's. The answer must be about the ID token's subject, or it is
/// not used at all (OpenID Connect Core 5.3.2), and the sign-in fails. Where both name a claim, the
/// verified ID token's value stays: AWS does not document which source wins, and the signed one is the one
/// to trust.
fn merge_user_info(
    claims: &mut Map<String, Value>,
    info: Map<String, Value>,
) -> Result<(), FederationError> {
    if info.get("sub") != claims.get("sub") {
        return Err(FederationError::UserInfoSubject);
    }
    for (name, value) in info {
        claims.entry(name).or_insert(value);
    }
    Ok(())
}

/// The pool's HTTP client, remembering the status of the last answer: openidconnect's token errors do not
/// carry it, and Cognito's error descriptions name it.
struct RecordingClient<'a> {
    http: &'a reqwest::Client,
    last_status: Mutex<Option<u16>>,
}

impl RecordingClient<'_> {
    fn last_status(&self) -> Option<u16> {
        // The lock only guards a plain value, so a poisoned one still holds a valid status.
        *self
            .last_status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<'c> AsyncHttpClient<'c> for RecordingClient<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.call(request).await?;
            *self
                .last_status
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                Some(response.status().as_u16());
            Ok(response)
        })
    }
}

/// Classifies a failed token request; `status` is the HTTP status of the answer, if one came.
fn token_failure(
    error: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>,
    status: Option<u16>,
) -> Upstream {
    match (error, status) {
        (RequestTokenError::Request(http), _) => Upstream::from_http(&http),
        (RequestTokenError::ServerResponse(body), status) => Upstream::Status {
            // The recording client saw the answer the error body came in; 400 is only a fallback.
            status: status.unwrap_or(400),
            oauth_error: Some((
                body.error().as_ref().to_owned(),
                body.error_description().cloned(),
            )),
        },
        (_, Some(status)) if status != 200 => Upstream::Status {
            status,
            oauth_error: None,
        },
        (other, _) => Upstream::Unusable(error_chain(&other)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn token_description(
        error: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>,
        status: Option<u16>,
    ) -> String {
        FederationError::TokenRequest(token_failure(error, status)).description("acme-entra")
    }

    #[tokio::test]
    async fn a_token_endpoint_that_never_answers_is_cognitos_timeout() {
        // A listener that accepts connections and never answers stands in for a hung IdP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let client = RecordingClient {
            http: &http,
            last_status: Mutex::new(None),
        };
        let request = openidconnect::http::Request::post(format!("http://{address}/token"))
            .body(Vec::new())
            .unwrap();
        let error = client.call(request).await.unwrap_err();
        hold.abort();
        assert_eq!(client.last_status(), None);
        assert_eq!(
            token_description(RequestTokenError::Request(error), None),
            "Timeout occurred in calling IdP token endpoint"
        );
    }

    #[test]
    fn an_idp_oauth_error_names_the_provider_the_status_and_the_idps_words() {
        let body = StandardErrorResponse::new(
            CoreErrorResponseType::InvalidGrant,
            Some("AADSTS70008: The code was already redeemed.".to_owned()),
            None,
        );
        assert_eq!(
            token_description(RequestTokenError::ServerResponse(body), Some(400)),
            "acme-entra Error - 400 invalid_grant AADSTS70008: The code was already redeemed."
        );
    }

    #[test]
    fn an_idp_error_without_an_oauth_body_is_an_error_getting_token() {
        assert_eq!(
            token_description(
                RequestTokenError::Other("server returned empty error response".to_owned()),
                Some(502)
            ),
            "acme-entra Error - 502 error getting token"
        );
    }

    #[test]
    fn discovery_and_connection_failures_read_like_cognitos() {
        let failures = [
            FederationError::Discovery(Upstream::Timeout),
            FederationError::Discovery(Upstream::Status {
                status: 503,
                oauth_error: None,
            }),
            FederationError::TokenRequest(Upstream::Unreachable("refused".to_owned())),
        ];
        let descriptions: Vec<String> = failures
            .iter()
            .map(|f| f.description("globex-okta"))
            .collect();
        assert_eq!(
            descriptions,
            vec![
                "Timeout occurred in calling IdP discovery endpoint",
                "globex-okta Error - 503 error getting OIDC configuration",
                "Error occurred in calling IdP token endpoint",
            ]
        );
    }

    #[test]
    fn only_a_well_formed_binding_cookie_is_read() {
        let value = random_token(BINDING_BYTES);
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {BINDING_COOKIE}={value}")).unwrap(),
        );
        assert_eq!(presented_binding(&headers), Some(value));
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("{BINDING_COOKIE}=short")).unwrap(),
        );
        assert_eq!(presented_binding(&headers), None);
    }
}
