//! The mock Microsoft Entra ID (v2 endpoints): one or more directories by tenant id, each with the pool's app
//! registration, a login form, single-use codes and ID tokens with Entra's claim shapes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::login_page::{Brand, LoginForm, render};
use super::{
    AuthorizeProblem, AuthorizeRequest, IdpCode, IdpCodes, LiveUsers, RegisteredApp, TokenProblem,
    login_hint,
};
use crate::Urls;
use crate::config::{EntraUser, LocalAwsConfig};
use crate::keys::SigningKey;
use crate::oauth::PkceMethod;
use crate::store::{ExpiringMap, random_token, unix_now};
use crate::web::{
    FormError, FormPage, PageForm, bearer_token, error_page, no_store_json, parse_form, redirect,
    with_query,
};

/// Entra ID's answer to a sign-in request whose parameters cannot be read: its own error page.
pub(crate) struct EntraPage;

impl FormPage for EntraPage {
    fn refuse(error: &FormError) -> Response {
        error_page(
            StatusCode::BAD_REQUEST,
            "Sign in",
            &format!("AADSTS900144: {error}"),
        )
    }
}

/// Lifetime of ID and access tokens, like Entra's default of about an hour.
const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// The message Entra shows for an unknown user or a wrong password.
const BAD_CREDENTIALS: &str = "Your account or password is incorrect.";

/// One directory with the apps registered in it.
struct Tenant {
    tenant_id: String,
    display_name: String,
    users: LiveUsers<EntraUser>,
    /// Email domains whose ownership the directory verified, lower-case.
    verified_domains: Vec<String>,
    apps: Vec<RegisteredApp>,
    codes: IdpCodes,
}

/// The mock Entra ID: every directory of `directories.json`, one signing key (Entra's keys are shared by all
/// tenants too).
pub(crate) struct Entra {
    base: String,
    key: SigningKey,
    tenants: Vec<Tenant>,
    /// The Microsoft Graph access tokens issued with ID tokens, for the userInfo endpoint.
    graph_tokens: ExpiringMap<String, GraphGrant>,
}

/// Who a Graph access token was issued to.
#[derive(Debug, Clone)]
struct GraphGrant {
    tenant_id: String,
    oid: String,
    client_id: String,
    scopes: Vec<String>,
}

impl Entra {
    pub(crate) fn new(config: &LocalAwsConfig, urls: &Urls, key: SigningKey) -> Arc<Entra> {
        let tenants = config
            .directories
            .entra
            .iter()
            .map(|directory| Tenant {
                apps: super::registered_apps(&directory.apps, urls),
                tenant_id: directory.tenant_id.clone(),
                display_name: directory.display_name.clone(),
                users: LiveUsers::new(directory.users.clone()),
                verified_domains: directory
                    .verified_domains
                    .iter()
                    .map(|d| d.to_ascii_lowercase())
                    .collect(),
                codes: IdpCodes::new(),
            })
            .collect();
        Arc::new(Entra {
            base: urls.entra.clone(),
            key,
            tenants,
            graph_tokens: ExpiringMap::new(),
        })
    }

    fn tenant(&self, tid: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.tenant_id.eq_ignore_ascii_case(tid))
    }

    /// Changes the user with this sign-in name in whichever directory holds it; `false` when none does.
    pub(crate) fn update_user(
        &self,
        user_principal_name: &str,
        change: impl FnOnce(&mut EntraUser),
    ) -> bool {
        let matches = |u: &EntraUser| {
            u.user_principal_name
                .eq_ignore_ascii_case(user_principal_name)
        };
        let Some(tenant) = self
            .tenants
            .iter()
            .find(|t| t.users.find(matches).is_some())
        else {
            return false;
        };
        tenant.users.update(matches, change)
    }

    fn issuer(&self, tid: &str) -> String {
        super::entra_issuer(&self.base, tid)
    }
}

/// The Entra listener's routes, with Entra's real path shapes.
pub(crate) fn router(entra: Arc<Entra>) -> Router {
    Router::new()
        .route(
            "/{tid}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tid}/discovery/v2.0/keys", get(keys))
        .route(
            "/{tid}/oauth2/v2.0/authorize",
            get(authorize_form).post(authorize_submit),
        )
        .route("/{tid}/oauth2/v2.0/token", post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .with_state(entra)
}

fn unknown_tenant(tid: &str) -> Response {
    let body = json!({
        "error": "invalid_tenant",
        "error_description": format!("AADSTS90002: Tenant '{tid}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        "error_codes": [90002],
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn discovery(State(entra): State<Arc<Entra>>, Path(tid): Path<String>) -> Response {
    let Some(tenant) = entra.tenant(&tid) else {
        return unknown_tenant(&tid);
    };
    let tid = &tenant.tenant_id;
    let base = format!("{}/{tid}", entra.base);
    Json(json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        // On Entra this is Microsoft Graph's `https://graph.microsoft.com/oidc/userinfo`; the mock serves it
        // on its own listener.
        "userinfo_endpoint": format!("{}/oidc/userinfo", entra.base),
        "response_modes_supported": ["query"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": entra.issuer(tid),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "code_challenge_methods_supported": ["plain", "S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "preferred_username", "name",
            "tid", "oid", "ver", "email", "roles", "xms_edov"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

async fn keys(State(entra): State<Arc<Entra>>, Path(tid): Path<String>) -> Response {
    if entra.tenant(&tid).is_none() {
        return unknown_tenant(&tid);
    }
    Json(json!({ "keys": [entra.key.jwk()] })).into_response()
}

async fn authorize_form(
    State(entra): State<Arc<Entra>>,
    Path(tid): Path<String>,
    PageForm(params, _): PageForm<EntraPage>,
) -> Response {
    let Some(tenant) = entra.tenant(&tid) else {
        return unknown_tenant(&tid);
    };
    let request = AuthorizeRequest::from_params(&params);
    match super::check_authorize(&tenant.apps, request.clone(), PKCE) {
        Ok(checked) => show_form(tenant, &checked.request, None, login_hint(&params)),
        Err(problem) => authorize_problem(tenant, &request, problem),
    }
}

async fn authorize_submit(
    State(entra): State<Arc<Entra>>,
    Path(tid): Path<String>,
    PageForm(params, _): PageForm<EntraPage>,
) -> Response {
    let Some(tenant) = entra.tenant(&tid) else {
        return unknown_tenant(&tid);
    };
    let checked =
        match super::check_authorize(&tenant.apps, AuthorizeRequest::from_params(&params), PKCE) {
            Ok(checked) => checked,
            Err(problem) => {
                return authorize_problem(tenant, &AuthorizeRequest::from_params(&params), problem);
            }
        };
    let username = params
        .get("username")
        .map(String::as_str)
        .unwrap_or_default();
    let password = params
        .get("password")
        .map(String::as_str)
        .unwrap_or_default();
    let user = tenant.users.find(|u| {
        u.user_principal_name.eq_ignore_ascii_case(username.trim())
            && crate::web::secrets_equal(&u.password, password)
    });
    let Some(user) = user else {
        return show_form(tenant, &checked.request, Some(BAD_CREDENTIALS), username);
    };
    let request = &checked.request;
    let code = tenant.codes.issue(IdpCode {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scopes: request.scopes(),
        nonce: request.nonce.clone(),
        challenge: checked.challenge.clone(),
        user: user.oid.clone(),
        auth_time: unix_now(),
    });
    let session_state = uuid::Uuid::new_v4().to_string();
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("session_state", &session_state));
    redirect(&with_query(&request.redirect_uri, params))
}

/// Entra accepts both PKCE methods.
const PKCE: &[PkceMethod] = &[PkceMethod::S256, PkceMethod::Plain];

fn authorize_problem(
    tenant: &Tenant,
    request: &AuthorizeRequest,
    problem: AuthorizeProblem,
) -> Response {
    match problem {
        AuthorizeProblem::UnknownClient => error_page(
            StatusCode::BAD_REQUEST,
            "Sign in",
            &format!(
                "AADSTS700016: Application with identifier '{}' was not found in the directory '{}'.",
                request.client_id, tenant.display_name
            ),
        ),
        AuthorizeProblem::RedirectMismatch => error_page(
            StatusCode::BAD_REQUEST,
            "Sign in",
            &format!(
                "AADSTS50011: The redirect URI '{}' specified in the request does not match the redirect URIs \
                 configured for the application '{}'.",
                request.redirect_uri, request.client_id
            ),
        ),
        AuthorizeProblem::Redirect { error, description } => {
            request.redirect_error(error, &description)
        }
    }
}

fn show_form(
    tenant: &Tenant,
    request: &AuthorizeRequest,
    error: Option<&str>,
    username: &str,
) -> Response {
    let action = format!("/{}/oauth2/v2.0/authorize", tenant.tenant_id);
    let hidden = request.hidden_fields();
    Html(render(&LoginForm {
        brand: Brand::Entra,
        display_name: &tenant.display_name,
        action: &action,
        hidden: &hidden,
        error,
        username,
    }))
    .into_response()
}

async fn token(
    State(entra): State<Arc<Entra>>,
    Path(tid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(tenant) = entra.tenant(&tid) else {
        return unknown_tenant(&tid);
    };
    let params = match parse_form(&body) {
        Ok(params) => params,
        Err(_) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "A parameter is repeated.",
            );
        }
    };
    let code = match super::redeem_code(&tenant.apps, &tenant.codes, &headers, &params) {
        Ok(code) => code,
        Err(problem) => return token_problem(problem),
    };
    let Some(user) = tenant.users.find(|u| u.oid == code.user) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50034,
            "The user account does not exist.",
        );
    };
    let id_token = match entra.key.sign(&id_token_claims(
        &entra.issuer(&tenant.tenant_id),
        tenant,
        &user,
        &code,
    )) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(%error, "signing an Entra ID token");
            return token_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                50000,
                "There was an error issuing a token.",
            );
        }
    };
    // A Microsoft Graph token, opaque to the relying party, good for the userInfo endpoint.
    let access_token = random_token(48);
    entra.graph_tokens.insert(
        access_token.clone(),
        GraphGrant {
            tenant_id: tenant.tenant_id.clone(),
            oid: user.oid.clone(),
            client_id: code.client_id.clone(),
            scopes: code.scopes.clone(),
        },
        std::time::Duration::from_secs(TOKEN_LIFETIME_SECONDS.unsigned_abs()),
    );
    no_store_json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "scope": code.scopes.join(" "),
            "expires_in": TOKEN_LIFETIME_SECONDS - 1,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS - 1,
            "access_token": access_token,
            "id_token": id_token,
        }),
    )
}

/// Microsoft's OIDC userInfo endpoint (`GET` or `POST https://graph.microsoft.com/oidc/userinfo`): the same
/// pairwise `sub` as the ID token, and `name` and `email` as the token's scopes allow; never `roles`,
/// `email_verified` or `xms_edov`
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/userinfo>). An unknown or expired token is
/// Graph's 401.
async fn userinfo(State(entra): State<Arc<Entra>>, headers: HeaderMap) -> Response {
    let grant = bearer_token(&headers).and_then(|token| entra.graph_tokens.get(&token));
    let user = grant.as_ref().and_then(|grant| {
        entra
            .tenant(&grant.tenant_id)
            .and_then(|tenant| tenant.users.find(|u| u.oid == grant.oid))
    });
    let (Some(grant), Some(user)) = (grant, user) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {
                "code": "InvalidAuthenticationToken",
                "message": "Access token validation failure. Invalid audience.",
            }})),
        )
            .into_response();
    };
    let mut claims = Map::new();
    claims.insert(
        "sub".into(),
        json!(pairwise_subject(&user.oid, &grant.client_id)),
    );
    if grant.scopes.iter().any(|s| s == "profile") {
        claims.insert("name".into(), json!(user.name));
    }
    if grant.scopes.iter().any(|s| s == "email") {
        claims.insert("email".into(), json!(user.email));
    }
    Json(Value::Object(claims)).into_response()
}

/// The ID token Entra issues: pairwise `sub`, `oid` and `tid`, app `roles` only when assigned, profile and
/// email claims only for the scopes that ask for them. With the email comes the optional claim `xms_edov`
/// (email domain owner verified), as an app registration that adds it to its ID tokens gets it: Entra sends
/// no `email_verified`, and its `email` is a directory attribute anyone with rights on the user can set.
fn id_token_claims(issuer: &str, tenant: &Tenant, user: &EntraUser, code: &IdpCode) -> Value {
    let now = unix_now();
    let mut claims = Map::new();
    claims.insert("aud".into(), json!(code.client_id));
    claims.insert("iss".into(), json!(issuer));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now + TOKEN_LIFETIME_SECONDS));
    if code.scopes.iter().any(|s| s == "email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert(
            "xms_edov".into(),
            json!(domain_owner_verified(tenant, &user.email)),
        );
    }
    if code.scopes.iter().any(|s| s == "profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.user_principal_name));
    }
    if let Some(nonce) = &code.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("oid".into(), json!(user.oid));
    if !user.app_roles.is_empty() {
        claims.insert("roles".into(), json!(user.app_roles));
    }
    claims.insert(
        "sub".into(),
        json!(pairwise_subject(&user.oid, &code.client_id)),
    );
    claims.insert("tid".into(), json!(tenant.tenant_id));
    claims.insert("ver".into(), json!("2.0"));
    Value::Object(claims)
}

/// Whether `email`'s domain is one the directory verified ownership of.
fn domain_owner_verified(tenant: &Tenant, email: &str) -> bool {
    email.rsplit_once('@').is_some_and(|(_, domain)| {
        tenant
            .verified_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    })
}

/// Entra's `sub` differs per application for the same user, so it cannot be correlated across apps.
fn pairwise_subject(oid: &str, client_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{oid}{client_id}").as_bytes()))
}

fn token_problem(problem: TokenProblem) -> Response {
    match problem {
        TokenProblem::InvalidRequest(what) => {
            token_error(StatusCode::BAD_REQUEST, "invalid_request", 900144, what)
        }
        TokenProblem::InvalidClient => token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        ),
        TokenProblem::UnsupportedGrantType => token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ),
        TokenProblem::InvalidCode => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity, or was already redeemed.",
        ),
        TokenProblem::RedirectMismatch => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            500112,
            "The reply address does not match the reply address provided when requesting the authorization code.",
        ),
        TokenProblem::PkceFailed => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        ),
    }
}

/// Entra's error body: `error`, an `AADSTS` description and the numeric code.
fn token_error(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
    no_store_json(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {message}"),
            "error_codes": [code],
            "timestamp": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": uuid::Uuid::new_v4().to_string(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_email_in_a_domain_the_directory_verified_is_domain_owner_verified() {
        let tenant = Tenant {
            tenant_id: "t".into(),
            display_name: "T".into(),
            users: LiveUsers::new(Vec::new()),
            verified_domains: vec!["acme.example".into()],
            apps: Vec::new(),
            codes: IdpCodes::new(),
        };
        assert!(domain_owner_verified(&tenant, "erin@acme.example"));
        assert!(domain_owner_verified(&tenant, "Erin@ACME.example"));
        assert!(!domain_owner_verified(&tenant, "erin@contractor.example"));
        assert!(!domain_owner_verified(&tenant, "erin@sub.acme.example"));
        assert!(!domain_owner_verified(&tenant, "acme.example"));
    }

    #[test]
    fn the_pairwise_subject_differs_per_app_and_hides_the_oid() {
        let a = pairwise_subject("oid-1", "app-a");
        assert_ne!(a, pairwise_subject("oid-1", "app-b"));
        assert_eq!(a, pairwise_subject("oid-1", "app-a"));
        assert!(!a.contains("oid-1"));
    }
}
