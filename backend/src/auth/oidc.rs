//! The user pool as an OpenID Connect provider, seen by the backend as a confidential client: the authorize
//! URL (code flow, PKCE S256, state, nonce), the code and refresh-token exchanges with ID-token verification,
//! and token revocation.
//!
//! The discovery document (with the ID-token keys) is fetched lazily and cached, so the backend starts while
//! the user pool is down and sign-in answers 503 until it is back. No lock is held while the network is
//! used: once a document is cached, a stale one is served while a background task refreshes it, a failed
//! refresh keeps the cached document and is not retried for a penalty window, and no request ever waits
//! for another request's discovery.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardErrorResponse, TokenResponse as _,
};
use openidconnect::{ClaimsVerificationError, NonceVerifier, SignatureVerificationError};
use url::Url;

use crate::config::{Config, Secret};

/// Which pool and which of its confidential clients an [`OidcClient`] signs users in with.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// The pool's issuer; discovery is read below it.
    pub issuer: Url,
    /// The app client.
    pub client_id: String,
    /// The app client's secret.
    pub client_secret: Secret,
    /// The redirect URI registered for the client.
    pub redirect_url: Url,
}

impl ClientSettings {
    /// The tenants' pool and the web client, returning to `/auth/callback`.
    pub fn web(config: &Config) -> ClientSettings {
        ClientSettings {
            issuer: config.cognito_issuer.clone(),
            client_id: config.cognito_client_id.clone(),
            client_secret: config.cognito_client_secret.clone(),
            redirect_url: config.callback_url(),
        }
    }

    /// The tenants' pool and the web client, returning to `/setup/auth/callback`: a set-up's test sign-in.
    pub fn setup_test(config: &Config) -> ClientSettings {
        ClientSettings {
            redirect_url: config.setup_callback_url(),
            ..ClientSettings::web(config)
        }
    }

    /// The operators' pool and the console client, returning to `/operator/auth/callback`.
    pub fn console(config: &Config) -> ClientSettings {
        ClientSettings {
            issuer: config.operators.issuer.clone(),
            client_id: config.operators.client_id.clone(),
            client_secret: config.operators.client_secret.clone(),
            redirect_url: config.operator_callback_url(),
        }
    }
}

/// The discovery document is re-read after this long, so key rotation of the ID-token keys is picked up.
const DISCOVERY_TTL: Duration = Duration::from_secs(60 * 60);
/// After a forced re-read (an ID token signed with an unknown key), no other is made for this long.
const FORCED_REFRESH_PENALTY: Duration = Duration::from_secs(10);
/// After a failed refresh of a cached document, the cached one is served and no refresh is tried for this
/// long, so an outage of the user pool is not met with a request per sign-in.
const FAILED_REFRESH_PENALTY: Duration = Duration::from_secs(10);
/// After a failed first discovery (nothing cached yet), callers get 503 at once for this long instead of
/// each trying again; short, so that a pool that comes back is used almost at once.
const FAILED_DISCOVERY_PENALTY: Duration = Duration::from_secs(1);
/// Total timeout of each discovery request (the document, then the keys): discovery never holds up a
/// request for long.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Connect timeout for requests to the user pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Total timeout for one request to the user pool.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The client type after discovery: authorize and token endpoints set, userinfo maybe.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;

/// Why a call to the user pool failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The user pool could not be reached, or answered with something that is not OAuth (503).
    #[error("the user pool is unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the grant (`invalid_grant`, `invalid_request`, ...): the code was used,
    /// expired, or does not match the PKCE verifier; the refresh token was revoked; the trigger refused.
    #[error("the user pool refused the grant: {error}")]
    Refused {
        /// The OAuth error code.
        error: String,
        /// The error description, for the log only: it may carry text chosen by others.
        description: Option<String>,
    },
    /// The token response had no ID token, or the ID token failed verification (issuer, audience,
    /// signature, expiry, nonce).
    #[error("the ID token is invalid: {0}")]
    InvalidIdToken(String),
    /// The client could not be configured.
    #[error("the OpenID Connect client is misconfigured: {0}")]
    Setup(String),
}

/// The tokens the user pool issued. `Debug` prints none of them.
pub struct TokenSet {
    /// The access token (a JWT the API verifies).
    pub access_token: String,
    /// The ID token, verified.
    pub id_token: String,
    /// The refresh token; absent from refresh responses (Cognito does not rotate refresh tokens).
    pub refresh_token: Option<String>,
    /// The verified ID token's subject.
    pub id_token_subject: String,
    /// The verified ID token's `email` claim, when it has one.
    pub id_token_email: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("id_token_subject", &self.id_token_subject)
            .finish_non_exhaustive()
    }
}

/// What the backend keeps between sending the browser to the authorize endpoint and the callback.
/// `Debug` prints none of it.
pub struct AuthorizationStart {
    /// Where to send the browser.
    pub url: Url,
    /// The `state` parameter (bound to the browser's session, single use).
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier whose S256 challenge went into the URL.
    pub pkce_verifier: String,
}

impl fmt::Debug for AuthorizationStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationStart(..)")
    }
}

/// The user pool's OpenID Connect client, with the discovery document cached.
pub struct OidcClient {
    inner: Arc<Inner>,
}

/// What the client and its background refreshes share.
struct Inner {
    http: reqwest::Client,
    discovery_http: reqwest::Client,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Secret,
    redirect_url: RedirectUrl,
    /// Held only to read or update the cache, never across a request to the user pool.
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    client: Option<(Arc<DiscoveredClient>, Instant)>,
    refreshing: bool,
    last_failure: Option<Instant>,
    last_forced_refresh: Option<Instant>,
}

/// What [`OidcClient::client`] decided under the lock.
enum Lookup {
    Ready(Arc<DiscoveredClient>),
    Discover,
    RecentlyFailed,
}

fn within(at: Option<Instant>, window: Duration) -> bool {
    at.is_some_and(|at| at.elapsed() < window)
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.inner.issuer.as_str())
            .field("client_id", &self.inner.client_id.as_str())
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// A client for the pool and app client of `settings`. Makes no request.
    pub fn new(settings: ClientSettings) -> Result<OidcClient, OidcError> {
        let http = reqwest::Client::builder()
            // Never follow redirects: an OAuth endpoint that redirects is misconfigured or hostile.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|err| OidcError::Setup(err.to_string()))?;
        let discovery_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(DISCOVERY_TIMEOUT)
            .build()
            .map_err(|err| OidcError::Setup(err.to_string()))?;
        let issuer = IssuerUrl::new(settings.issuer.as_str().to_owned())
            .map_err(|err| OidcError::Setup(err.to_string()))?;
        let redirect_url = RedirectUrl::from_url(settings.redirect_url);
        Ok(OidcClient {
            inner: Arc::new(Inner {
                http,
                discovery_http,
                issuer,
                client_id: ClientId::new(settings.client_id),
                client_secret: settings.client_secret,
                redirect_url,
                cache: Mutex::new(Cache::default()),
            }),
        })
    }

    /// The HTTP client used for the user pool (no redirects, short timeouts).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The discovered client. A fresh cached document is used as is; a stale one is used while one
    /// background task refreshes it; with none cached, this caller discovers (unless a discovery failed
    /// within the last [`FAILED_DISCOVERY_PENALTY`], which answers 503 at once).
    async fn client(&self) -> Result<Arc<DiscoveredClient>, OidcError> {
        let lookup = {
            let mut cache = self.inner.lock();
            match &cache.client {
                Some((client, fetched_at)) => {
                    let client = client.clone();
                    if fetched_at.elapsed() >= DISCOVERY_TTL
                        && !cache.refreshing
                        && !within(cache.last_failure, FAILED_REFRESH_PENALTY)
                    {
                        cache.refreshing = true;
                        let inner = self.inner.clone();
                        tokio::spawn(async move {
                            let _ = inner.refresh().await;
                        });
                    }
                    Lookup::Ready(client)
                }
                None if within(cache.last_failure, FAILED_DISCOVERY_PENALTY) => {
                    Lookup::RecentlyFailed
                }
                None => Lookup::Discover,
            }
        };
        match lookup {
            Lookup::Ready(client) => Ok(client),
            Lookup::RecentlyFailed => Err(OidcError::Unavailable(
                "the user pool's discovery document could not be read a moment ago".to_owned(),
            )),
            Lookup::Discover => self.inner.refresh().await,
        }
    }

    /// Re-reads the discovery document now (an ID token names a key the cached set lacks), at most once per
    /// penalty window. `Ok(None)` when the window has not passed since a re-read that worked (the key is
    /// simply unknown); an error when the re-read fails, or failed within the window: the keys cannot be read,
    /// so whether the token is good cannot be told, and the sign-in should be tried again later.
    async fn force_refresh(&self) -> Result<Option<Arc<DiscoveredClient>>, OidcError> {
        {
            let mut cache = self.inner.lock();
            if within(cache.last_forced_refresh, FORCED_REFRESH_PENALTY) {
                return if within(cache.last_failure, FORCED_REFRESH_PENALTY) {
                    Err(OidcError::Unavailable(
                        "the user pool's keys could not be read a moment ago".to_owned(),
                    ))
                } else {
                    Ok(None)
                };
            }
            cache.last_forced_refresh = Some(Instant::now());
        }
        self.inner.refresh().await.map(Some)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Cache> {
        // The cache holds no invariant a panic could break halfway; a poisoned lock is still usable.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Discovers and stores the result: the new client, or the time of the failure (the cached client, if
    /// any, stays). The lock is taken only after the network calls.
    async fn refresh(&self) -> Result<Arc<DiscoveredClient>, OidcError> {
        let discovered = self.discover().await;
        let mut cache = self.lock();
        cache.refreshing = false;
        match discovered {
            Ok(client) => {
                let client = Arc::new(client);
                cache.client = Some((client.clone(), Instant::now()));
                cache.last_failure = None;
                Ok(client)
            }
            Err(err) => {
                cache.last_failure = Some(Instant::now());
                if cache.client.is_some() {
                    tracing::warn!(error = %err, "could not refresh the user pool's discovery document; using the cached one");
                } else {
                    tracing::warn!(error = %err, "could not read the user pool's discovery document");
                }
                Err(err)
            }
        }
    }

    async fn discover(&self) -> Result<DiscoveredClient, OidcError> {
        let metadata =
            CoreProviderMetadata::discover_async(self.issuer.clone(), &self.discovery_http)
                .await
                .map_err(|err| {
                    OidcError::Unavailable(format!("discovery failed: {}", error_chain(&err)))
                })?;
        let token_url = metadata.token_endpoint().cloned().ok_or_else(|| {
            OidcError::Unavailable("the discovery document has no token endpoint".to_owned())
        })?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(ClientSecret::new(self.client_secret.expose().to_owned())),
        )
        .set_token_uri(token_url)
        .set_redirect_uri(self.redirect_url.clone());
        Ok(client)
    }
}

impl OidcClient {
    /// Builds the authorize URL for the code flow with PKCE S256, a random state and nonce, the given scopes
    /// (`openid` is always added) and, when given, `identity_provider=<provider>`, which sends the browser
    /// straight to the tenant's identity provider (without it the pool shows its own managed login, where the
    /// operators' native accounts sign in). A `login_hint` (the email the user typed) is passed on: the user
    /// pool adds it to its redirect to an OIDC provider, whose login page then starts with the name filled in.
    pub async fn authorization_request(
        &self,
        identity_provider: Option<&str>,
        scopes: &[String],
        login_hint: Option<&str>,
    ) -> Result<AuthorizationStart, OidcError> {
        let client = self.client().await?;
        let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(pkce_challenge)
            .add_scopes(scopes.iter().cloned().map(Scope::new));
        if let Some(provider) = identity_provider {
            request = request.add_extra_param("identity_provider", provider.to_owned());
        }
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, state, nonce) = request.url();
        Ok(AuthorizationStart {
            url,
            state: state.into_secret(),
            nonce: nonce.secret().clone(),
            pkce_verifier: pkce_verifier.into_secret(),
        })
    }

    /// Exchanges an authorization code (client secret and PKCE verifier), then verifies the ID token: issuer,
    /// audience, signature, expiry and `nonce`.
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<TokenSet, OidcError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.inner.http)
            .await
            .map_err(token_error)?;
        // `&Nonce` compares in constant time and rejects an ID token without a nonce.
        let expected = Nonce::new(nonce.to_owned());
        self.verified_tokens(client, response, &expected).await
    }

    /// Exchanges a refresh token for new access and ID tokens (the user pool runs the pre-token-generation
    /// trigger again, so a deactivated member is refused here).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OidcError> {
        let client = self.client().await?;
        let refresh_token = RefreshToken::new(refresh_token.to_owned());
        let response = client
            .exchange_refresh_token(&refresh_token)
            .request_async(&self.inner.http)
            .await
            .map_err(token_error)?;
        // A refreshed ID token answers no authorization request, so there is no nonce to compare.
        self.verified_tokens(client, response, |_: Option<&Nonce>| Ok::<(), String>(()))
            .await
    }

    /// Verifies the ID token of `response` and collects the tokens. An unknown signing key triggers one
    /// re-read of the discovery document (key rotation) before the token is rejected.
    async fn verified_tokens<N>(
        &self,
        client: Arc<DiscoveredClient>,
        response: CoreTokenResponse,
        nonce_check: N,
    ) -> Result<TokenSet, OidcError>
    where
        N: NonceVerifier + Clone,
    {
        let id_token: &CoreIdToken = response.id_token().ok_or_else(|| {
            OidcError::InvalidIdToken("the token response has no ID token".to_owned())
        })?;
        let (subject, email) = match verify_id_token(&client, id_token, nonce_check.clone()) {
            Ok(subject) => subject,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let Some(refreshed) = self.force_refresh().await? else {
                    return Err(OidcError::InvalidIdToken(
                        "no key matches the ID token's kid".to_owned(),
                    ));
                };
                verify_id_token(&refreshed, id_token, nonce_check)
                    .map_err(|err| OidcError::InvalidIdToken(err.to_string()))?
            }
            Err(err) => return Err(OidcError::InvalidIdToken(err.to_string())),
        };
        Ok(TokenSet {
            access_token: response.access_token().secret().clone(),
            id_token: id_token.to_string(),
            refresh_token: response.refresh_token().map(|token| token.secret().clone()),
            id_token_subject: subject,
            id_token_email: email,
        })
    }

    /// Revokes a refresh token at `<auth domain>/oauth2/revoke` (RFC 7009, client authenticated with HTTP
    /// Basic): the pool issues no more tokens for it and its own endpoints refuse the access tokens issued
    /// from it, but an API verifying tokens offline (this one included) cannot see that; see
    /// `db::revocations` for what this API refuses.
    pub async fn revoke(&self, revoke_url: Url, refresh_token: &str) -> Result<(), OidcError> {
        let response = self
            .inner
            .http
            .post(revoke_url)
            .basic_auth(
                self.inner.client_id.as_str(),
                Some(self.inner.client_secret.expose()),
            )
            .form(&[
                ("token", refresh_token),
                ("client_id", self.inner.client_id.as_str()),
            ])
            .send()
            .await
            .map_err(|err| OidcError::Unavailable(error_chain(&err)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        Err(OidcError::Refused {
            error: body
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or(status.as_str())
                .to_owned(),
            description: None,
        })
    }
}

/// Verifies an ID token against `client` (issuer, audience, signature, expiry) and `nonce_check`; returns
/// `sub` and `email`. The signature algorithm is pinned to RS256, what the user pool signs with: an HMAC token "signed"
/// with the client secret, or any other algorithm, is refused.
fn verify_id_token<N>(
    client: &DiscoveredClient,
    id_token: &CoreIdToken,
    nonce_check: N,
) -> Result<(String, Option<String>), ClaimsVerificationError>
where
    N: NonceVerifier,
{
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let claims = id_token.claims(&verifier, nonce_check)?;
    Ok((
        claims.subject().as_str().to_owned(),
        claims.email().map(|email| email.as_str().to_owned()),
    ))
}

/// Maps a token-endpoint failure: an OAuth error answer is a refusal; anything else means the pool is not
/// working right now.
fn token_error<RE: std::error::Error + 'static>(
    err: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> OidcError {
    match err {
        RequestTokenError::ServerResponse(response) => OidcError::Refused {
            error: response.error().as_ref().to_owned(),
            description: response.error_description().cloned(),
        },
        other => OidcError::Unavailable(format!("token endpoint: {}", error_chain(&other))),
    }
}

/// An error and its sources on one line, for logs.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
