//! The test application: the test kit's stack (a fresh database, the local AWS stand-ins, the demo world and
//! the backend on `http://localhost:<port>`) set up for these tests, plus helpers that walk the federated
//! sign-in over HTTP the way a browser does.

use std::sync::Arc;
use std::time::Duration;

use backend::config::Config;
use backend::db::members::MemberStatus;
use backend::db::{MemberId, TenantId};
use local_aws::LocalAws;
use local_aws::config::LocalAwsConfig;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::{Client, Response, StatusCode};
use serde::Deserialize;
use shared::Scope;
use shared::api::Me;
use testkit::outage::Gate;
use testkit::{TestDatabase, fresh_database, infra_dir};
use tokio::net::TcpListener;
use url::Url;
use uuid::Uuid;

pub use testkit::demo::{ALICE, BOB, CAROL, DAVE, DemoUser, ERIN, MALLORY, PASSWORD, PETER, SAMIR};
pub use testkit::sign_in::FlowEnd;

/// Changes to the default test set-up.
pub type Customize = Box<dyn FnOnce(&mut Config, &mut LocalAwsConfig) + Send>;

/// A running backend with its own database and stand-ins.
pub struct TestApp {
    /// The backend, stopped when dropped (first, before the stand-ins it talks to).
    backend: testkit::Backend,
    /// `http://localhost:<port>`, the origin browsers use.
    pub address: String,
    /// The configuration the backend runs with.
    pub config: Config,
    /// The local AWS stand-ins.
    pub aws: LocalAws,
    /// The test's database.
    pub db: TestDatabase,
    /// The gate between the backend and the identity pool (closed, the identity pool is down for it).
    pub identity_pool: Gate,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.config.web_dist_dir);
    }
}

/// Tokens straight from the user pool's token endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct PoolTokens {
    /// The access token.
    pub access_token: String,
    /// The ID token.
    pub id_token: String,
    /// The refresh token.
    pub refresh_token: Option<String>,
}

/// A browser (cookie store, no automatic redirects) that has completed a sign-in.
pub struct SignedIn {
    /// The browser.
    pub browser: Client,
    /// Its cookie jar.
    pub jar: Arc<Jar>,
    /// The backend's address.
    pub address: String,
}

impl SignedIn {
    /// Sends a request through the session as the app's own pages do (with the app's `Origin`, which
    /// state-changing requests need), with `body` as JSON if given.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Response {
        let mut request = self
            .browser
            .request(method, format!("{}{path}", self.address))
            .header("origin", &self.address);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// `GET path`, which must answer 200, as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// `GET /api/v1/me` through the session.
    pub async fn me_response(&self) -> Response {
        self.browser
            .get(format!("{}/api/v1/me", self.address))
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/v1/me`, which must succeed.
    pub async fn me(&self) -> Me {
        let response = self.me_response().await;
        assert_eq!(response.status(), StatusCode::OK, "GET /api/v1/me");
        response.json().await.unwrap()
    }

    /// The current value of the session cookie.
    pub fn session_cookie(&self) -> Option<String> {
        session_cookie(&self.jar, &self.address)
    }
}

/// The value of `saas_session` in `jar` for `address`.
pub fn session_cookie(jar: &Jar, address: &str) -> Option<String> {
    cookie(jar, address, "saas_session")
}

/// The value of the pending sign-in cookie (`saas_sign_in`) in `jar` for `address`.
pub fn pending_cookie(jar: &Jar, address: &str) -> Option<String> {
    cookie(jar, address, "saas_sign_in")
}

/// The value of the cookie `name` in `jar` for `address`.
fn cookie(jar: &Jar, address: &str, name: &str) -> Option<String> {
    let url = Url::parse(address).unwrap();
    let header = jar.cookies(&url)?;
    let prefix = format!("{name}=");
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|pair| pair.strip_prefix(prefix.as_str()))
        .map(str::to_owned)
}

/// A browser-like client: cookies kept, redirects not followed (each hop is checked by hand), and
/// `localhost` pinned to 127.0.0.1 where the backend listens.
pub fn browser_with_jar() -> (Client, Arc<Jar>) {
    browser_with_jar_as(None)
}

/// A browser-like client (see [`browser_with_jar`]) sending `user_agent` as its `User-Agent`, if given.
pub fn browser_with_jar_as(user_agent: Option<&str>) -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let mut client = Client::builder();
    if let Some(user_agent) = user_agent {
        client = client.user_agent(user_agent.to_owned());
    }
    let client = client
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (client, jar)
}

/// A browser-like client (see [`browser_with_jar`]).
pub fn browser() -> Client {
    browser_with_jar().0
}

/// The absolute target of a redirect response.
pub fn location(response: &Response) -> Url {
    testkit::sign_in::location(response).unwrap()
}

impl TestApp {
    /// The standard set-up.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Box::new(|_, _| {})).await
    }

    /// The standard set-up, changed by `customize` before anything starts.
    pub async fn spawn_with(customize: Customize) -> TestApp {
        let bootstrap = testkit::stack::trigger_bootstrap(Some(
            env!("CARGO_BIN_EXE_pre-token-generation").into(),
        ))
        .unwrap();
        let stack = testkit::Stack::start(
            fresh_database().await,
            web_dist_dir(),
            bootstrap,
            |config, aws_config| {
                config.database_max_connections = 5;
                // Every test signs in from 127.0.0.1, some many times a minute; the limit has tests of its own.
                config.sign_in_starts_per_minute = 10_000;
                customize(config, aws_config);
                // The machine client is accepted so that its tokens get past the verifier and exercise the
                // "no tenant" refusal, not the client allowlist.
                config.api_client_ids =
                    vec![aws_config.user_pool.clients["machine"].client_id.clone()];
            },
        )
        .await
        .unwrap();
        TestApp {
            backend: stack.backend,
            address: stack.address,
            config: stack.config,
            aws: stack.aws,
            db: stack.db,
            identity_pool: stack.identity_pool,
        }
    }

    /// The running backend's shared state (its session store and token cipher, say).
    pub fn backend_state(&self) -> backend::state::AppState {
        self.backend.state().clone()
    }

    /// The user-pool API (`cognito-idp`) of the stand-in, with the backend's own key.
    pub fn cognito(&self) -> aws_sdk_cognitoidentityprovider::Client {
        let (key, secret) = self.aws.backend_s3_key();
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentityprovider::config::Region::new(
                self.aws.region().to_owned(),
            ))
            .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
                key, secret, None, None, "test",
            ))
            .endpoint_url(self.aws.user_pool_endpoint())
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(config)
    }

    /// The demo world of `infra/tenants/demo.json`.
    pub fn demo_world(&self) -> backend::seed::DemoWorld {
        backend::seed::DemoWorld::load(&infra_dir()).unwrap()
    }

    /// Where the demo providers live: the stand-ins' mock identity providers.
    pub fn demo_issuers(&self) -> backend::seed::DemoIssuers {
        testkit::stack::demo_issuers(&self.aws)
    }

    /// Sets the environment under which the `backend` binary talks to this app's database and stand-ins
    /// (for its commands, such as `reconcile-idps`).
    pub fn backend_env(&self, command: &mut std::process::Command) {
        testkit::stack::backend_env(command, &self.address, &self.config, &self.aws);
    }

    /// Makes the backend forget the copy it keeps in memory of the session whose cookie is `cookie`, as a
    /// restart (or another instance) would not have it: its next request reads the session from the database.
    pub fn forget_session(&self, cookie: &str) {
        let id: tower_sessions::session::Id = cookie.parse().unwrap();
        self.backend
            .state()
            .sessions
            .forget(&[backend::auth::session::storage_key(&id)]);
    }

    /// Another backend instance beside this one: the same configuration, database and stand-ins, its own
    /// port and memory (as a second task behind a load balancer).
    pub async fn another_instance(&self) -> testkit::Backend {
        testkit::Backend::spawn(self.config.clone()).await.unwrap()
    }

    /// An absolute URL of the backend.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Signs `user` in through their email and returns the signed-in browser.
    pub async fn sign_in(&self, user: &DemoUser) -> SignedIn {
        self.sign_in_with_query(&format!("email={}", user.email), user)
            .await
    }

    /// Signs `user` in from a browser that names itself `user_agent` in every request.
    pub async fn sign_in_from(&self, user: &DemoUser, user_agent: &str) -> SignedIn {
        let (browser, jar) = browser_with_jar_as(Some(user_agent));
        self.sign_in_in(browser, jar, &format!("email={}", user.email), user)
            .await
    }

    /// Signs `user` in starting from `/auth/login?<query>`; the sign-in must succeed and land on `/`.
    pub async fn sign_in_with_query(&self, query: &str, user: &DemoUser) -> SignedIn {
        let (browser, jar) = browser_with_jar();
        self.sign_in_in(browser, jar, query, user).await
    }

    /// Signs `user` in from `browser` (with its cookie `jar`), starting from `/auth/login?<query>`.
    async fn sign_in_in(
        &self,
        browser: Client,
        jar: Arc<Jar>,
        query: &str,
        user: &DemoUser,
    ) -> SignedIn {
        let callback = match self.walk(&browser, query, user.email, PASSWORD).await {
            FlowEnd::Callback(url) => url,
            other => panic!(
                "sign-in of {} did not reach the callback: {other:?}",
                user.email
            ),
        };
        let landing = self.finish(&browser, &callback).await;
        assert_eq!(landing, "/", "sign-in of {} ended at {landing}", user.email);
        SignedIn {
            browser,
            jar,
            address: self.address.clone(),
        }
    }

    /// Walks `user`'s whole sign-in in a fresh browser and returns where the backend finally sends it: `/`
    /// when the sign-in succeeded, `/?error=<code>` when it was refused.
    pub async fn sign_in_landing(&self, user: &DemoUser) -> String {
        self.sign_in_landing_with_query(&format!("email={}", user.email), user)
            .await
    }

    /// Like [`TestApp::sign_in_landing`], starting from `/auth/login?<query>` (`org=globex`, say).
    pub async fn sign_in_landing_with_query(&self, query: &str, user: &DemoUser) -> String {
        let (browser, _jar) = browser_with_jar();
        match self.walk(&browser, query, user.email, PASSWORD).await {
            FlowEnd::Callback(url) => self.finish(&browser, &url).await,
            FlowEnd::App(url) => match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            },
            other => panic!("sign-in of {} ended unexpectedly: {other:?}", user.email),
        }
    }

    /// Requests the callback URL in `browser` and returns where the backend sends it (path and query).
    pub async fn finish(&self, browser: &Client, callback: &Url) -> String {
        let response = browser.get(callback.clone()).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "the callback redirects"
        );
        let target = location(&response);
        assert_eq!(
            target.origin().ascii_serialization(),
            self.address,
            "the callback stays on the app's origin"
        );
        match target.query() {
            Some(query) => format!("{}?{query}", target.path()),
            None => target.path().to_owned(),
        }
    }

    /// Starts at `/auth/login?<query>` in `browser` and follows every hop, filling the identity provider's
    /// login form with `username` and `password`, until the user pool redirects to the backend's callback.
    pub async fn walk(
        &self,
        browser: &Client,
        query: &str,
        username: &str,
        password: &str,
    ) -> FlowEnd {
        self.walk_from(
            browser,
            Url::parse(&self.url(&format!("/auth/login?{query}"))).unwrap(),
            username,
            password,
        )
        .await
    }

    /// Like [`TestApp::walk`], from any first URL.
    pub async fn walk_from(
        &self,
        browser: &Client,
        start: Url,
        username: &str,
        password: &str,
    ) -> FlowEnd {
        testkit::sign_in::walk(browser, start, &self.address, username, password)
            .await
            .unwrap()
    }

    /// Walks `user`'s sign-in with an authorize request made here (own state, nonce and PKCE), stops at the
    /// redirect to the backend's callback and redeems the code with the web client's credentials: raw
    /// user-pool tokens, as a script or API client would hold them.
    pub async fn pool_tokens(&self, user: &DemoUser) -> PoolTokens {
        let web = self.aws.client("web").unwrap();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let scopes = ["openid", "email", "profile"]
            .into_iter()
            .map(str::to_owned)
            .chain(
                Scope::ALL
                    .iter()
                    .map(|s| s.qualified(&self.config.resource_server_id)),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let mut authorize =
            Url::parse(&format!("{}/oauth2/authorize", self.aws.auth_domain())).unwrap();
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &web.client_id)
            .append_pair("redirect_uri", &self.url("/auth/callback"))
            .append_pair("scope", &scopes)
            .append_pair("state", state.secret())
            .append_pair("nonce", Nonce::new_random().secret())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256")
            .append_pair("identity_provider", user.provider);
        let callback = match self
            .walk_from(&browser(), authorize, user.email, PASSWORD)
            .await
        {
            FlowEnd::Callback(url) => url,
            other => panic!(
                "authorize for {} did not reach the callback: {other:?}",
                user.email
            ),
        };
        let params: std::collections::HashMap<String, String> =
            callback.query_pairs().into_owned().collect();
        assert_eq!(params.get("state"), Some(state.secret()));
        let response = Client::new()
            .post(format!("{}/oauth2/token", self.aws.auth_domain()))
            .basic_auth(&web.client_id, Some(&web.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", params["code"].as_str()),
                ("redirect_uri", &self.url("/auth/callback")),
                ("code_verifier", verifier.secret()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "token endpoint");
        response.json().await.unwrap()
    }

    /// A client-credentials access token of the machine client (no user, no tenant).
    pub async fn machine_token(&self) -> String {
        let machine = self.aws.client("machine").unwrap();
        let response = Client::new()
            .post(format!("{}/oauth2/token", self.aws.auth_domain()))
            .basic_auth(&machine.client_id, Some(&machine.client_secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "saas-api/read"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "client credentials grant"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET path` with `Authorization: Bearer <token>`.
    pub async fn get_with_bearer(&self, path: &str, token: &str) -> Response {
        Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Sets a member's status as the database owner (a tenant admin's action, done behind the app's back).
    pub async fn set_member_status(&self, me: &Me, status: MemberStatus) {
        let tenant = TenantId(Uuid::parse_str(&me.tenant.id).unwrap());
        let member = MemberId(Uuid::parse_str(&me.user.id).unwrap());
        self.db
            .set_member_status(tenant, member, status)
            .await
            .unwrap();
    }
}

/// Another backend, next to a [`TestApp`], with its own configuration (for outage tests).
pub type ExtraBackend = testkit::Backend;

/// A URL on 127.0.0.1 where nothing listens (a port bound and released at once).
pub async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A directory with a stand-in `index.html`, so the web app's fallback can be observed without building it.
fn web_dist_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("saas-web-dist-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>SaaS reference</title><div id=app></div>",
    )
    .unwrap();
    dir
}

/// The error code in an app redirect (`/?error=<code>`).
pub fn error_code(landing: &str) -> Option<String> {
    let url = Url::parse(&format!("http://app.invalid{landing}")).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned())
}
