//! The mock Okta: the default custom authorization server of an org of `directories.json`, each org on a
//! listener of its own since each real org is a host name of its own (`<org>.okta.com`), with its own users,
//! app integrations and signing key, a login form, single-use codes, ID tokens with Okta's claim shapes and a
//! userinfo endpoint.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::login_page::{Brand, LoginForm, render};
use super::{
    AuthorizeProblem, AuthorizeRequest, IdpCode, IdpCodes, LiveUsers, RegisteredApp, TokenProblem,
    login_hint,
};
use crate::Urls;
use crate::config::{OktaOrg, OktaUser};
use crate::keys::SigningKey;
use crate::oauth::PkceMethod;
use crate::store::{ExpiringMap, random_token, unix_now};
use crate::web::{
    FormError, FormPage, PageForm, bearer_token, error_page, no_store_json, parse_form, redirect,
    with_query,
};

/// Okta's answer to a sign-in request whose parameters cannot be read: its own error page.
pub(crate) struct OktaPage;

impl FormPage for OktaPage {
    fn refuse(error: &FormError) -> Response {
        error_page(
            StatusCode::BAD_REQUEST,
            "400 Bad Request",
            &error.to_string(),
        )
    }
}

/// Okta's default ID and access token lifetime: one hour.
const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// The message Okta's sign-in widget shows for an unknown user or a wrong password.
const BAD_CREDENTIALS: &str = "Unable to sign in";

/// Okta's default custom authorization server accepts only S256.
const PKCE: &[PkceMethod] = &[PkceMethod::S256];

/// What an access token the mock issued grants, for `/v1/userinfo`.
#[derive(Debug, Clone)]
struct AccessGrant {
    user: String,
    scopes: Vec<String>,
}

/// One mock Okta org (`<org>.okta.com`), on a listener of its own.
pub(crate) struct Okta {
    /// The org's name (`globex`; empty when `directories.json` has no Okta org).
    org: String,
    /// The listener's base URL, the org's `https://<org>.okta.com`.
    base: String,
    issuer: String,
    key: SigningKey,
    /// The org's display name (`None` when `directories.json` has no Okta org).
    display_name: Option<String>,
    users: LiveUsers<OktaUser>,
    /// The groups claim's filter: only groups whose names start with it are released.
    groups_filter: Option<String>,
    apps: Vec<RegisteredApp>,
    codes: IdpCodes,
    access_tokens: ExpiringMap<String, AccessGrant>,
}

impl Okta {
    /// The org `org` of `directories.json` (or an org without users or apps when there is none), served at
    /// `base`, signing with its own `key` as each Okta org does.
    pub(crate) fn new(
        org: Option<&OktaOrg>,
        base: &str,
        urls: &Urls,
        key: SigningKey,
    ) -> anyhow::Result<Arc<Okta>> {
        let apps = org
            .map(|org| super::registered_apps(&org.apps, urls))
            .unwrap_or_default();
        let issuer = super::okta_issuer(base);
        url::Url::parse(&issuer).context("the Okta issuer URL")?;
        Ok(Arc::new(Okta {
            org: org.map(|o| o.org.clone()).unwrap_or_default(),
            base: base.to_owned(),
            issuer,
            key,
            display_name: org.map(|o| o.display_name.clone()),
            groups_filter: org
                .and_then(|o| o.groups_claim_filter.as_ref())
                .map(|filter| filter.starts_with.clone()),
            users: LiveUsers::new(org.map(|o| o.users.clone()).unwrap_or_default()),
            apps,
            codes: IdpCodes::new(),
            access_tokens: ExpiringMap::new(),
        }))
    }

    /// The org's name (`globex`).
    pub(crate) fn org(&self) -> &str {
        &self.org
    }

    /// The org's base URL (`<org>.okta.com`'s stand-in).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The issuer of the org's default authorization server.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    fn user(&self, id: &str) -> Option<OktaUser> {
        self.users.find(|u| u.id == id)
    }

    /// Changes the user with this sign-in name; `false` when the org has none.
    pub(crate) fn update_user(&self, login: &str, change: impl FnOnce(&mut OktaUser)) -> bool {
        self.users
            .update(|u| u.login.eq_ignore_ascii_case(login), change)
    }

    /// Whether the org has a user with this sign-in name.
    pub(crate) fn has_user(&self, login: &str) -> bool {
        self.users
            .find(|u| u.login.eq_ignore_ascii_case(login))
            .is_some()
    }
}

/// The Okta listener's routes, with Okta's real path shapes.
pub(crate) fn router(okta: Arc<Okta>) -> Router {
    Router::new()
        .route(
            "/oauth2/default/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/oauth2/default/v1/keys", get(keys))
        .route(
            "/oauth2/default/v1/authorize",
            get(authorize_form).post(authorize_submit),
        )
        .route("/oauth2/default/v1/token", axum::routing::post(token))
        .route("/oauth2/default/v1/userinfo", get(userinfo).post(userinfo))
        .with_state(okta)
}

async fn discovery(State(okta): State<Arc<Okta>>) -> Response {
    let issuer = &okta.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/v1/authorize"),
        "token_endpoint": format!("{issuer}/v1/token"),
        "userinfo_endpoint": format!("{issuer}/v1/userinfo"),
        "jwks_uri": format!("{issuer}/v1/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "groups"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "nonce", "name",
            "preferred_username", "email", "email_verified", "groups"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn keys(State(okta): State<Arc<Okta>>) -> Response {
    Json(json!({ "keys": [okta.key.jwk()] })).into_response()
}

async fn authorize_form(
    State(okta): State<Arc<Okta>>,
    PageForm(params, _): PageForm<OktaPage>,
) -> Response {
    let request = AuthorizeRequest::from_params(&params);
    match super::check_authorize(&okta.apps, request.clone(), PKCE) {
        Ok(checked) => show_form(&okta, &checked.request, None, login_hint(&params)),
        Err(problem) => authorize_problem(&request, problem),
    }
}

async fn authorize_submit(
    State(okta): State<Arc<Okta>>,
    PageForm(params, _): PageForm<OktaPage>,
) -> Response {
    let request = AuthorizeRequest::from_params(&params);
    let checked = match super::check_authorize(&okta.apps, request.clone(), PKCE) {
        Ok(checked) => checked,
        Err(problem) => return authorize_problem(&request, problem),
    };
    let username = params
        .get("username")
        .map(String::as_str)
        .unwrap_or_default();
    let password = params
        .get("password")
        .map(String::as_str)
        .unwrap_or_default();
    let user = okta.users.find(|u| {
        u.login.eq_ignore_ascii_case(username.trim())
            && crate::web::secrets_equal(&u.password, password)
    });
    let Some(user) = user else {
        return show_form(&okta, &checked.request, Some(BAD_CREDENTIALS), username);
    };
    let code = okta.codes.issue(IdpCode {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scopes: request.scopes(),
        nonce: request.nonce.clone(),
        challenge: checked.challenge.clone(),
        user: user.id.clone(),
        auth_time: unix_now(),
    });
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    redirect(&with_query(&request.redirect_uri, params))
}

fn authorize_problem(request: &AuthorizeRequest, problem: AuthorizeProblem) -> Response {
    match problem {
        AuthorizeProblem::UnknownClient => error_page(
            StatusCode::BAD_REQUEST,
            "400 Bad Request",
            "Invalid value for 'client_id' parameter.",
        ),
        AuthorizeProblem::RedirectMismatch => error_page(
            StatusCode::BAD_REQUEST,
            "400 Bad Request",
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        ),
        AuthorizeProblem::Redirect { error, description } => {
            request.redirect_error(error, &description)
        }
    }
}

fn show_form(
    okta: &Okta,
    request: &AuthorizeRequest,
    error: Option<&str>,
    username: &str,
) -> Response {
    let hidden = request.hidden_fields();
    Html(render(&LoginForm {
        brand: Brand::Okta,
        display_name: okta.display_name.as_deref().unwrap_or("Okta"),
        action: "/oauth2/default/v1/authorize",
        hidden: &hidden,
        error,
        username,
    }))
    .into_response()
}

async fn token(State(okta): State<Arc<Okta>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match parse_form(&body) {
        Ok(params) => params,
        Err(_) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "A parameter is repeated.",
            );
        }
    };
    let code = match super::redeem_code(&okta.apps, &okta.codes, &headers, &params) {
        Ok(code) => code,
        Err(problem) => return token_problem(problem),
    };
    let Some(user) = okta.user(&code.user) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The user is no longer active.",
        );
    };
    let now = unix_now();
    let access_claims = json!({
        "ver": 1,
        "jti": format!("AT.{}", random_token(32)),
        "iss": okta.issuer,
        "aud": "api://default",
        "iat": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "cid": code.client_id,
        "uid": user.id,
        "scp": code.scopes,
        "auth_time": code.auth_time,
        "sub": user.login,
    });
    let signed = okta.key.sign(&access_claims).and_then(|access| {
        okta.key
            .sign(&id_token_claims(&okta, &user, &code))
            .map(|id| (access, id))
    });
    let (access_token, id_token) = match signed {
        Ok(pair) => pair,
        Err(error) => {
            tracing::error!(%error, "signing Okta tokens");
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The server encountered an error.",
            );
        }
    };
    okta.access_tokens.insert(
        access_token.clone(),
        AccessGrant {
            user: user.id.clone(),
            scopes: code.scopes.clone(),
        },
        Duration::from_secs(TOKEN_LIFETIME_SECONDS.unsigned_abs()),
    );
    no_store_json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": access_token,
            "scope": code.scopes.join(" "),
            "id_token": id_token,
        }),
    )
}

/// The profile claims a scope set releases, shared by the ID token and userinfo.
fn profile_claims(
    claims: &mut Map<String, Value>,
    user: &OktaUser,
    scopes: &[String],
    groups_filter: Option<&str>,
) {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    if has("profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.login));
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    // Okta releases groups only when a groups claim is configured; here, when the groups scope is requested.
    // The claim's filter (Okta's "Starts with") keeps a user in hundreds of directory groups to the app's
    // own: the whole list would not fit the 2,048 characters of the user-pool attribute it is mapped to.
    if has("groups") {
        let groups: Vec<&String> = user
            .groups
            .iter()
            .filter(|group| groups_filter.is_none_or(|prefix| group.starts_with(prefix)))
            .collect();
        claims.insert("groups".into(), json!(groups));
    }
}

fn id_token_claims(okta: &Okta, user: &OktaUser, code: &IdpCode) -> Value {
    let issuer = &okta.issuer;
    let now = unix_now();
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    claims.insert("ver".into(), json!(1));
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(code.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + TOKEN_LIFETIME_SECONDS));
    claims.insert("jti".into(), json!(format!("ID.{}", random_token(32))));
    claims.insert("amr".into(), json!(["pwd"]));
    claims.insert("auth_time".into(), json!(code.auth_time));
    if let Some(nonce) = &code.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    profile_claims(
        &mut claims,
        user,
        &code.scopes,
        okta.groups_filter.as_deref(),
    );
    Value::Object(claims)
}

async fn userinfo(State(okta): State<Arc<Okta>>, headers: HeaderMap) -> Response {
    let grant = bearer_token(&headers).and_then(|token| okta.access_tokens.get(&token));
    let Some((grant, user)) = grant.and_then(|g| okta.user(&g.user).map(|u| (g, u))) else {
        let challenge = HeaderValue::from_static(
            "Bearer authorization_uri=\"\", realm=\"IdP\", scope=\"openid\", error=\"invalid_token\", \
             error_description=\"The access token is invalid.\"",
        );
        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, challenge)]).into_response();
    };
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    profile_claims(
        &mut claims,
        &user,
        &grant.scopes,
        okta.groups_filter.as_deref(),
    );
    Json(Value::Object(claims)).into_response()
}

fn token_problem(problem: TokenProblem) -> Response {
    match problem {
        TokenProblem::InvalidRequest(what) => {
            token_error(StatusCode::BAD_REQUEST, "invalid_request", what)
        }
        TokenProblem::InvalidClient => token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client secret supplied for a confidential client is invalid.",
        ),
        TokenProblem::UnsupportedGrantType => token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
        TokenProblem::InvalidCode => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The authorization code is invalid or has expired.",
        ),
        TokenProblem::RedirectMismatch => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        ),
        TokenProblem::PkceFailed => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verification failed.",
        ),
    }
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store_json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}
