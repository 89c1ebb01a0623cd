//! The test world: a running stand-in with the demo tenants' identity providers created through the user-pool
//! API (as the backend's reconciler creates them), a browser-like HTTP client (cookies kept, redirects never
//! followed), and the steps of a federated sign-in as a browser would take them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use aws_sdk_cognitoidentityprovider::Client as UserPoolApi;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::builders::UpdateUserPoolClientFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::IdentityProviderTypeType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use local_aws::config::LocalAwsConfig;
use local_aws::{ClientCredentials, LocalAws, Ports};
use rand::RngCore;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const PASSWORD: &str = "Passw0rd!";
pub const ALICE: &str = "alice@acme.example";
pub const ALICE_OID: &str = "0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001";
pub const BOB: &str = "bob@acme.example";
pub const ERIN: &str = "erin@acme.example";
pub const CAROL: &str = "carol@globex.example";
pub const CAROL_ID: &str = "00u1carol0globex0001";
pub const MALLORY: &str = "mallory@acme.example";
pub const ALL_SCOPES: &str = "openid email profile saas-api/read saas-api/write saas-api/admin";

/// The demo configuration with no trigger (tests that need one add it).
pub fn demo_config() -> LocalAwsConfig {
    let infra = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut config = LocalAwsConfig::load(&infra).unwrap();
    config.user_pool.trigger = None;
    config
}

/// A browser-like client: it keeps cookies (the pool binds a sign-in to the browser with one) and never
/// follows redirects, so each hop can be checked.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub struct World {
    pub aws: LocalAws,
    /// The configuration the stand-ins run with.
    pub config: LocalAwsConfig,
    /// The browser every helper uses.
    pub http: reqwest::Client,
    pub web: ClientCredentials,
    pub callback: String,
}

/// What the app remembers between sending the browser to the pool and the callback.
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Attempt {
    pub fn new() -> Attempt {
        Attempt {
            state: random(),
            nonce: random(),
            verifier: random(),
        }
    }

    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

pub fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The `Location` of a redirect, asserting it is one.
pub fn location(response: &reqwest::Response) -> String {
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "expected a redirect from {}",
        response.url()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A form of an HTML page: its action and hidden fields.
pub struct Form {
    pub action: String,
    pub hidden: Vec<(String, String)>,
}

/// Reads the first form of a page the stand-ins render (`action="…"` and `<input type="hidden" …>`).
pub fn form(html: &str) -> Form {
    let attribute = |from: &str, name: &str| -> Option<String> {
        let start = from.find(&format!("{name}=\""))? + name.len() + 2;
        let end = from[start..].find('"')? + start;
        Some(html_escape::decode_html_entities(&from[start..end]).into_owned())
    };
    let form_at = html.find("<form").expect("a form");
    let action = attribute(&html[form_at..], "action").unwrap();
    let hidden = html
        .match_indices("<input type=\"hidden\"")
        .map(|(at, _)| {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            (
                attribute(tag, "name").unwrap(),
                attribute(tag, "value").unwrap(),
            )
        })
        .collect();
    Form { action, hidden }
}

impl World {
    /// The demo world: the demo tenants' providers created, the web client supporting them.
    pub async fn start() -> World {
        World::start_with(|_| {}).await
    }

    /// The demo world after `change` edits the configuration.
    pub async fn start_with(change: impl FnOnce(&mut LocalAwsConfig)) -> World {
        let world = World::start_bare_with(change).await;
        create_demo_providers(&world.aws).await;
        world
    }

    /// A pool as it starts: no identity providers at all.
    pub async fn start_bare() -> World {
        World::start_bare_with(|_| {}).await
    }

    pub async fn start_bare_with(change: impl FnOnce(&mut LocalAwsConfig)) -> World {
        let mut config = demo_config();
        change(&mut config);
        let callback = config.user_pool.clients["web"].callback_urls[0].clone();
        let aws = LocalAws::start(
            config.clone(),
            "127.0.0.1".parse().unwrap(),
            Ports::ephemeral(),
        )
        .await
        .unwrap();
        let http = browser();
        let web = aws.client("web").unwrap();
        World {
            aws,
            config,
            http,
            web,
            callback,
        }
    }

    /// The authorize URL the app would build, plus `extra` parameters.
    pub fn authorize_url(&self, attempt: &Attempt, extra: &[(&str, &str)]) -> String {
        let challenge = attempt.challenge();
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", &self.web.client_id),
            ("redirect_uri", &self.callback),
            ("response_type", "code"),
            ("scope", ALL_SCOPES),
            ("state", &attempt.state),
            ("nonce", &attempt.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        params.extend_from_slice(extra);
        url::Url::parse_with_params(
            &format!("{}/oauth2/authorize", self.aws.auth_domain()),
            params,
        )
        .unwrap()
        .to_string()
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    /// Follows the browser from the pool to the IdP's login form and submits it. Returns the IdP's answer:
    /// a redirect to the pool on success, the form again on failure.
    pub async fn submit_idp_login(
        &self,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let to_idp = location(&self.get(authorize_url).await);
        let page = self.get(&to_idp).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let form = form(&html);
        let idp = url::Url::parse(&to_idp).unwrap();
        let action = idp.join(&form.action).unwrap();
        let mut fields = form.hidden;
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        self.http.post(action).form(&fields).send().await.unwrap()
    }

    /// Follows the browser from the pool through the IdP's login form; returns the IdP's redirect back to
    /// the pool's `/oauth2/idpresponse` (not followed).
    pub async fn idp_response_url(
        &self,
        attempt: &Attempt,
        provider: &str,
        username: &str,
    ) -> String {
        let url = self.authorize_url(attempt, &[("identity_provider", provider)]);
        let back_to_pool = location(&self.submit_idp_login(&url, username, PASSWORD).await);
        assert!(
            back_to_pool.starts_with(&format!("{}/oauth2/idpresponse", self.aws.auth_domain())),
            "{back_to_pool}"
        );
        back_to_pool
    }

    /// Signs in through `provider` and returns the pool's final redirect to the app's callback.
    pub async fn callback_for(&self, attempt: &Attempt, provider: &str, username: &str) -> String {
        let back_to_pool = self.idp_response_url(attempt, provider, username).await;
        location(&self.get(&back_to_pool).await)
    }

    /// The ID token claims the IdP behind `provider` issues to the pool's registration there for `username`
    /// and `scope`, obtained the way the pool obtains them (discovery, authorization code + PKCE, client
    /// secret) in a browser of its own, and verified against the IdP's JWKS, issuer and audience.
    pub async fn idp_id_token(
        &self,
        provider: &str,
        username: &str,
        scope: &str,
        nonce: &str,
    ) -> Map<String, Value> {
        self.idp_tokens(provider, username, scope, nonce).await.0
    }

    /// As [`World::idp_id_token`], with the IdP's access token as well.
    pub async fn idp_tokens(
        &self,
        provider: &str,
        username: &str,
        scope: &str,
        nonce: &str,
    ) -> (Map<String, Value>, String) {
        // The pool's registration at the IdP, as the pool itself knows it.
        let described = user_pool_api(&self.aws)
            .describe_identity_provider()
            .user_pool_id(self.aws.user_pool_id())
            .provider_name(provider)
            .send()
            .await
            .expect("an existing provider");
        let details = described
            .identity_provider()
            .unwrap()
            .provider_details()
            .unwrap();
        let client_id = details["client_id"].clone();
        let client_secret = details["client_secret"].clone();
        let issuer = details["oidc_issuer"].clone();
        let browser = browser();
        let discovery: Value = browser
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let redirect_uri = format!("{}/oauth2/idpresponse", self.aws.auth_domain());
        let attempt = Attempt::new();
        let challenge = attempt.challenge();
        let authorize = url::Url::parse_with_params(
            discovery["authorization_endpoint"].as_str().unwrap(),
            [
                ("client_id", client_id.as_str()),
                ("redirect_uri", &redirect_uri),
                ("response_type", "code"),
                ("scope", scope),
                ("state", &attempt.state),
                ("nonce", nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap();
        let page = browser.get(authorize.clone()).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let form = form(&page.text().await.unwrap());
        let mut fields = form.hidden;
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), PASSWORD.into()));
        let action = authorize.join(&form.action).unwrap();
        let back = location(&browser.post(action).form(&fields).send().await.unwrap());
        assert!(back.starts_with(&redirect_uri), "{back}");
        let code = query(&back)["code"].clone();
        let tokens: Value = browser
            .post(discovery["token_endpoint"].as_str().unwrap())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &attempt.verifier),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id_token = tokens["id_token"].as_str().expect("an id_token");
        let jwks: Value = browser
            .get(discovery["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access_token = tokens["access_token"]
            .as_str()
            .expect("an access_token")
            .to_owned();
        (
            verify_with(id_token, &jwks, &issuer, &client_id),
            access_token,
        )
    }

    /// Revokes a refresh token of the web client at `/oauth2/revoke`, as the app's sign-out does.
    pub async fn revoke(&self, refresh_token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth2/revoke", self.aws.auth_domain()))
            .basic_auth(&self.web.client_id, Some(&self.web.client_secret))
            .form(&[("token", refresh_token)])
            .send()
            .await
            .unwrap()
    }

    /// A code for the app after a successful sign-in.
    pub async fn code_for(&self, attempt: &Attempt, provider: &str, username: &str) -> String {
        let callback = self.callback_for(attempt, provider, username).await;
        assert!(callback.starts_with(&self.callback), "{callback}");
        let params = query(&callback);
        assert_eq!(params.get("state"), Some(&attempt.state));
        params
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {callback}"))
    }

    /// POSTs a form to the token endpoint with the web client's Basic credentials.
    pub async fn token_request(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.token_request_as(&self.web, form).await
    }

    pub async fn token_request_as(
        &self,
        client: &ClientCredentials,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.aws.auth_domain()))
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn exchange(&self, code: &str, attempt: &Attempt) -> (StatusCode, Value) {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.callback),
            ("code_verifier", &attempt.verifier),
        ])
        .await
    }

    /// Signs in and exchanges the code: the token response.
    pub async fn sign_in(&self, provider: &str, username: &str) -> (Attempt, Value) {
        let attempt = Attempt::new();
        let code = self.code_for(&attempt, provider, username).await;
        let (status, tokens) = self.exchange(&code, &attempt).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        (attempt, tokens)
    }

    /// The pool's JWKS.
    pub async fn jwks(&self) -> Value {
        let url = format!("{}/.well-known/jwks.json", self.aws.issuer());
        self.get(&url).await.json().await.unwrap()
    }

    /// Verifies a pool token against the published JWKS and the issuer; returns its header kid and claims.
    pub async fn verify(
        &self,
        token: &str,
        audience: Option<&str>,
    ) -> (String, Map<String, Value>) {
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        let jwks = self.jwks().await;
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("kid in JWKS");
        let key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[self.aws.issuer()]);
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).unwrap();
        (kid, data.claims)
    }
}

/// Verifies an RS256 token against `jwks` (by `kid`), the issuer and the audience; returns its claims.
pub fn verify_with(token: &str, jwks: &Value, issuer: &str, audience: &str) -> Map<String, Value> {
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .unwrap()
        .claims
}

/// The sorted claim names of a token.
pub fn claim_names(claims: &Map<String, Value>) -> Vec<&str> {
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}

/// A client of the user-pool API signed with the backend's key, as the backend's reconciler calls it.
pub fn user_pool_api(aws: &LocalAws) -> UserPoolApi {
    let (key, secret) = aws.backend_s3_key();
    user_pool_api_as(aws, &key, &secret, None, aws.region())
}

/// A client of the user-pool API signed with any credentials, for any region.
pub fn user_pool_api_as(
    aws: &LocalAws,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
    region: &str,
) -> UserPoolApi {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(aws.user_pool_endpoint())
        .credentials_provider(Credentials::new(
            access_key_id,
            secret_access_key,
            session_token.map(str::to_owned),
            None,
            "tests",
        ))
        .build();
    UserPoolApi::from_conf(config)
}

/// The exception type and message of a failed call.
pub fn api_error<
    T: std::fmt::Debug,
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    result: Result<T, SdkError<E, R>>,
) -> (String, String) {
    let error = result.expect_err("the call should fail");
    (
        error.code().unwrap_or("<none>").to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

/// A tenant identity provider of `infra/tenants/demo.json`, the source the backend seeds its database from.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoProvider {
    pub name: String,
    pub kind: String,
    pub entra_tenant_id: Option<String>,
    /// The Okta org (`globex` of `globex.okta.com`).
    #[serde(default)]
    pub okta_org: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub verified_domains: Vec<String>,
    pub authorize_scopes: String,
    pub attribute_mapping: BTreeMap<String, String>,
}

impl DemoProvider {
    /// The provider's issuer at the running mock IdPs.
    pub fn issuer(&self, aws: &LocalAws) -> String {
        match (self.kind.as_str(), &self.entra_tenant_id) {
            ("entra", Some(tenant_id)) => aws.entra_issuer(tenant_id),
            ("okta", _) => match &self.okta_org {
                Some(org) => aws
                    .okta_org_issuer(org)
                    .unwrap_or_else(|| panic!("no Okta org {org}")),
                None => aws.okta_issuer(),
            },
            other => panic!("{} has an unknown kind {other:?}", self.name),
        }
    }
}

/// The demo tenants' identity providers.
pub fn demo_providers() -> Vec<DemoProvider> {
    #[derive(Deserialize)]
    struct Tenants {
        tenants: Vec<Tenant>,
    }
    #[derive(Deserialize)]
    struct Tenant {
        identity_providers: Vec<DemoProvider>,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/demo.json");
    let tenants: Tenants = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    tenants
        .tenants
        .into_iter()
        .flat_map(|t| t.identity_providers)
        .collect()
}

/// The demo provider with this name.
pub fn demo_provider(name: &str) -> DemoProvider {
    demo_providers()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no demo provider {name}"))
}

/// `CreateIdentityProvider` for a demo provider: OIDC, its issuer, client id and secret, scopes, attribute
/// mapping, and its verified domains as identifiers.
pub async fn create_provider(aws: &LocalAws, provider: &DemoProvider) {
    user_pool_api(aws)
        .create_identity_provider()
        .user_pool_id(aws.user_pool_id())
        .provider_name(&provider.name)
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", &provider.client_id)
        .provider_details("client_secret", &provider.client_secret)
        .provider_details("authorize_scopes", &provider.authorize_scopes)
        .provider_details("attributes_request_method", "GET")
        .provider_details("oidc_issuer", provider.issuer(aws))
        .set_attribute_mapping(Some(
            provider.attribute_mapping.clone().into_iter().collect(),
        ))
        .set_idp_identifiers(Some(provider.verified_domains.clone()))
        .send()
        .await
        .unwrap();
}

/// `UpdateUserPoolClient` the safe way: everything `DescribeUserPoolClient` returned is sent back (the update
/// replaces the whole configuration), with `change` applied on top.
pub async fn update_client(
    aws: &LocalAws,
    client_id: &str,
    change: impl FnOnce(UpdateUserPoolClientFluentBuilder) -> UpdateUserPoolClientFluentBuilder,
) {
    let api = user_pool_api(aws);
    let described = api
        .describe_user_pool_client()
        .user_pool_id(aws.user_pool_id())
        .client_id(client_id)
        .send()
        .await
        .unwrap();
    let c = described.user_pool_client().unwrap();
    let listed = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
    let update = api
        .update_user_pool_client()
        .user_pool_id(aws.user_pool_id())
        .client_id(client_id)
        .set_client_name(c.client_name().map(str::to_owned))
        .refresh_token_validity(c.refresh_token_validity())
        .set_access_token_validity(c.access_token_validity())
        .set_id_token_validity(c.id_token_validity())
        .set_token_validity_units(c.token_validity_units().cloned())
        .set_read_attributes(listed(c.read_attributes()))
        .set_write_attributes(listed(c.write_attributes()))
        .set_explicit_auth_flows(
            (!c.explicit_auth_flows().is_empty()).then(|| c.explicit_auth_flows().to_vec()),
        )
        .set_supported_identity_providers(listed(c.supported_identity_providers()))
        .set_callback_urls(listed(c.callback_urls()))
        .set_logout_urls(listed(c.logout_urls()))
        .set_default_redirect_uri(c.default_redirect_uri().map(str::to_owned))
        .set_allowed_o_auth_flows(
            (!c.allowed_o_auth_flows().is_empty()).then(|| c.allowed_o_auth_flows().to_vec()),
        )
        .set_allowed_o_auth_scopes(listed(c.allowed_o_auth_scopes()))
        .set_allowed_o_auth_flows_user_pool_client(c.allowed_o_auth_flows_user_pool_client())
        .set_prevent_user_existence_errors(c.prevent_user_existence_errors().cloned())
        .set_enable_token_revocation(c.enable_token_revocation())
        .set_enable_propagate_additional_user_context_data(
            c.enable_propagate_additional_user_context_data(),
        )
        .set_auth_session_validity(c.auth_session_validity());
    change(update).send().await.unwrap();
}

/// Creates every demo provider and lets the web client sign in through all of them, as the backend's
/// reconciler does from its database.
pub async fn create_demo_providers(aws: &LocalAws) {
    let providers = demo_providers();
    for provider in &providers {
        create_provider(aws, provider).await;
    }
    let names: Vec<String> = providers.iter().map(|p| p.name.clone()).collect();
    let web = aws.client("web").unwrap().client_id;
    update_client(aws, &web, |update| {
        update.set_supported_identity_providers(Some(names))
    })
    .await;
}

/// The temporary credentials the identity pool vends to user `sub` of `tenant`, obtained as the backend
/// obtains them: an ID token of the user pool carrying `tenant_id`, then `GetId` and
/// `GetCredentialsForIdentity` over HTTP.
pub async fn upload_credentials(
    aws: &LocalAws,
    tenant: &str,
    sub: &str,
) -> aws_sdk_s3::config::Credentials {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let web = aws.client("web").unwrap();
    let id_token = aws.sign_id_token(&serde_json::json!({
        "sub": sub,
        "iss": aws.issuer(),
        "aud": web.client_id,
        "token_use": "id",
        "tenant_id": tenant,
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
    }));
    let logins = serde_json::json!({
        format!("cognito-idp.{}.amazonaws.com/{}", aws.region(), aws.user_pool_id()): id_token
    });
    let http = reqwest::Client::new();
    let call = |operation: &str, input: Value| {
        let request = http
            .post(format!("{}/", aws.identity_pool_endpoint()))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityService.{operation}"),
            )
            .body(input.to_string());
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let id = call(
        "GetId",
        serde_json::json!({"IdentityPoolId": aws.identity_pool_id(), "Logins": logins}),
    )
    .await;
    let answer = call(
        "GetCredentialsForIdentity",
        serde_json::json!({"IdentityId": id["IdentityId"], "Logins": logins}),
    )
    .await;
    let credentials = &answer["Credentials"];
    aws_sdk_s3::config::Credentials::new(
        credentials["AccessKeyId"].as_str().unwrap(),
        credentials["SecretKey"].as_str().unwrap(),
        credentials["SessionToken"].as_str().map(str::to_owned),
        None,
        "identity-pool",
    )
}

/// The real S3 client with `credentials`, configured as the browser and the backend configure it for the
/// stand-in (its endpoint, path-style).
pub fn s3_client(
    aws: &LocalAws,
    credentials: aws_sdk_s3::config::Credentials,
) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(aws.region().to_owned()))
        .endpoint_url(aws.s3_endpoint())
        .force_path_style(true)
        .credentials_provider(credentials)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The real S3 client with the backend's own long-term key.
pub fn backend_s3_client(aws: &LocalAws) -> aws_sdk_s3::Client {
    let (key, secret) = aws.backend_s3_key();
    s3_client(
        aws,
        aws_sdk_s3::config::Credentials::new(key, secret, None, None, "backend"),
    )
}

/// Sends `body` as the parts of the multipart upload `upload_id` of `key`, in chunks of `part_size`, and
/// returns the parts as `CompleteMultipartUpload` takes them.
pub async fn upload_parts(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    body: &[u8],
    part_size: usize,
) -> Vec<aws_sdk_s3::types::CompletedPart> {
    let mut completed = Vec::new();
    for (index, chunk) in body.chunks(part_size).enumerate() {
        let number = i32::try_from(index + 1).unwrap();
        let part = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(aws_sdk_s3::primitives::ByteStream::from(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        completed.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    completed
}

/// The user-pool API as the operator administrators (`operator_admin_key` of `local.json`).
pub fn operator_admin(world: &World) -> UserPoolApi {
    let (key, secret) = world.aws.operator_admin_key();
    user_pool_api_as(&world.aws, &key, &secret, None, world.aws.region())
}

pub fn operators_pool_id(world: &World) -> String {
    world
        .aws
        .user_pool("operators")
        .unwrap()
        .user_pool_id()
        .to_owned()
}

/// The temporary password of the last invitation to `email`.
pub fn invited_password(world: &World, email: &str) -> String {
    let invitation = world
        .aws
        .outbox()
        .messages_to(email)
        .pop()
        .expect("an invitation");
    assert_eq!(invitation.subject, "Your operator account");
    invitation
        .body
        .split("temporary password is ")
        .nth(1)
        .and_then(|rest| rest.split(". ").next())
        .unwrap()
        .to_owned()
}

/// Creates an operator account for `email` (invited by email) as the operator administrators; returns the
/// temporary password of its invitation.
pub async fn create_operator(world: &World, email: &str) -> String {
    use aws_sdk_cognitoidentityprovider::types::DeliveryMediumType;
    operator_admin(world)
        .admin_create_user()
        .user_pool_id(operators_pool_id(world))
        .username(email)
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await
        .unwrap();
    invited_password(world, email)
}

/// Gives the backend's key `cognito-idp:*` on every resource, so that a test sees what lies past IAM (a pool
/// that does not exist, another pool's state).
pub fn allow_the_backend_every_user_pool_call(config: &mut LocalAwsConfig) {
    let everywhere = local_aws::iam::Policy::parse_identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cognito-idp:*", "Resource": "*"}]}"#,
    )
    .unwrap();
    config.backend_user.permissions =
        local_aws::iam::PolicySet::new().with("everything", everywhere);
}
