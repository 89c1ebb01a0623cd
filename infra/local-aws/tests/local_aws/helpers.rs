//! The test world: a running stand-in, a browser-like HTTP client (cookies kept, redirects never followed),
//! and the steps of a federated sign-in as a browser would take them.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use local_aws::config::LocalAwsConfig;
use local_aws::{ClientCredentials, LocalAws, Ports};
use rand::RngCore;
use reqwest::StatusCode;
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
    config.trigger = None;
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
    pub async fn start() -> World {
        World::start_with(|_| {}).await
    }

    pub async fn start_with(change: impl FnOnce(&mut LocalAwsConfig)) -> World {
        let mut config = demo_config();
        change(&mut config);
        let callback = config.clients["web"].callback_urls[0].clone();
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
        let idp = self
            .config
            .identity_provider(provider)
            .expect("a configured provider")
            .clone();
        let issuer = self.aws.idp_issuer(provider).unwrap();
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
                ("client_id", idp.client_id.as_str()),
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
                ("client_id", &idp.client_id),
                ("client_secret", &idp.client_secret),
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
        verify_with(id_token, &jwks, &issuer, &idp.client_id)
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
