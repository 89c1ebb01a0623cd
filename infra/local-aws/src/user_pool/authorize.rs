//! `/oauth2/authorize`: validates the client request, then sends the browser straight to the chosen IdP
//! (`identity_provider` or `idp_identifier`) or to the managed login page.
//!
//! The client's settings and the identity providers are read from the pool's runtime state at every request,
//! so what `UpdateUserPoolClient`, `CreateIdentityProvider` or `DeleteIdentityProvider` changed applies to the
//! next sign-in. `idp_identifier` matches a provider's `IdpIdentifiers` (without regard to ASCII case).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::state::IdentityProvider;
use super::{ClientRequest, Pool, PoolPage, federation};
use crate::config::AppClient;
use crate::oauth::valid_pkce_value;
use crate::web::{PageForm, error_page, redirect, with_query};

/// The authorize parameters the managed login page carries along.
pub(crate) const REQUEST_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
];

/// The authorize parameters `params` holds, `login_hint` left out: what a page of the managed login passes on
/// when the user has typed their name there.
pub(crate) fn carried_without_hint(params: &HashMap<String, String>) -> Vec<(&'static str, &str)> {
    REQUEST_PARAMS
        .iter()
        .filter(|name| **name != "login_hint")
        .filter_map(|name| params.get(*name).map(|value| (*name, value.as_str())))
        .collect()
}

/// `GET /oauth2/authorize`.
pub(crate) async fn authorize(
    State(pool): State<Arc<Pool>>,
    headers: HeaderMap,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    let (request, client) = match validate(&pool, &params) {
        Ok(valid) => valid,
        Err(response) => return *response,
    };
    // Cognito adds the client's `login_hint` to its redirect to an OIDC identity provider (the authorize
    // endpoint's documentation), so the user does not type their name twice.
    let login_hint = params
        .get("login_hint")
        .map(|hint| hint.trim())
        .filter(|hint| !hint.is_empty());
    if let Some(name) = params.get("identity_provider") {
        return match supported_provider(&pool, &client, |idp| idp.name == *name) {
            Some(idp) => federation::start(&pool, request, &idp, login_hint, &headers).await,
            None => request.redirect_error(
                "invalid_request",
                "Identity provider does not exist for this client",
            ),
        };
    }
    if let Some(identifier) = params.get("idp_identifier") {
        let identifier = identifier.trim();
        return match supported_provider(&pool, &client, |idp| idp.has_identifier(identifier)) {
            Some(idp) => federation::start(&pool, request, &idp, login_hint, &headers).await,
            None => request.redirect_error(
                "invalid_request",
                "No identity provider found for the identifier",
            ),
        };
    }
    redirect(&login_url(&pool, &params))
}

/// The managed login page URL for this request.
pub(crate) fn login_url(pool: &Pool, params: &HashMap<String, String>) -> String {
    let carried = REQUEST_PARAMS
        .iter()
        .filter_map(|name| params.get(*name).map(|value| (*name, value.as_str())));
    with_query(&format!("{}/login", pool.urls.auth_domain), carried)
}

/// The first of the client's existing identity providers that `matches`.
pub(crate) fn supported_provider(
    pool: &Pool,
    client: &AppClient,
    matches: impl Fn(&IdentityProvider) -> bool,
) -> Option<IdentityProvider> {
    pool.state
        .providers_of(client)
        .into_iter()
        .find(|idp| matches(idp))
}

/// `GET /error`: the hosted domain's error page, where Cognito sends a browser it cannot send back to the app
/// (`error=redirect_mismatch`).
pub(crate) async fn error(PageForm(params, _): PageForm<PoolPage>) -> Response {
    let code = params
        .get("error")
        .map_or("error", String::as_str)
        .to_owned();
    error_page(StatusCode::BAD_REQUEST, &code, &code)
}

/// Validates an authorize request. Until the client and its redirect URI are known to be registered, every
/// error is a 400 page (redirecting would make the pool an open redirector); after that, errors go back to
/// the redirect URI.
pub(crate) fn validate(
    pool: &Pool,
    params: &HashMap<String, String>,
) -> Result<(ClientRequest, AppClient), Box<Response>> {
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let client = get("client_id")
        .and_then(|id| pool.state.client(id))
        .ok_or_else(|| {
            error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Invalid client_id.",
            )
        })?;
    let redirect_uri = get("redirect_uri")
        .filter(|uri| {
            client
                .callback_urls
                .iter()
                .any(|registered| registered == uri)
        })
        .ok_or_else(|| {
            // Cognito sends the browser to its own error page, never to the unregistered URI:
            // `<domain>/error?error=redirect_mismatch&client_id=<id>`, "An error was encountered with the
            // requested page." (observed; AWS documents only the errors it sends to a registered URI).
            redirect(&with_query(
                &format!("{}/error", pool.urls.auth_domain),
                [
                    ("error", "redirect_mismatch"),
                    ("client_id", client.client_id.as_str()),
                ],
            ))
        })?;
    // Only the authorization code flow is served; implicit (`token`) is off, as it should be.
    match get("response_type") {
        Some("code") if client.allows_flow("code") => {}
        _ => {
            return Err(Box::new(error_page(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "unauthorized_client: the response_type is not allowed for this client.",
            )));
        }
    }

    let mut request = ClientRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").map(str::to_owned),
        scopes: Vec::new(),
        nonce: get("nonce").map(str::to_owned),
        code_challenge: None,
    };
    let requested: Vec<String> = get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested
        .iter()
        .any(|scope| !client.allowed_oauth_scopes.contains(scope))
    {
        return Err(Box::new(
            request.redirect_error("invalid_scope", "invalid_scope"),
        ));
    }
    request.scopes = if requested.is_empty() {
        client.allowed_oauth_scopes.clone()
    } else {
        dedup(requested)
    };
    if let Some(challenge) = get("code_challenge") {
        if get("code_challenge_method") != Some("S256") {
            return Err(Box::new(request.redirect_error(
                "invalid_request",
                "invalid code_challenge_method",
            )));
        }
        if !valid_pkce_value(challenge) {
            return Err(Box::new(
                request.redirect_error("invalid_request", "invalid code_challenge"),
            ));
        }
        request.code_challenge = Some(challenge.to_owned());
    }
    Ok((request, client))
}

fn dedup(scopes: Vec<String>) -> Vec<String> {
    let mut unique = Vec::with_capacity(scopes.len());
    for scope in scopes {
        if !unique.contains(&scope) {
            unique.push(scope);
        }
    }
    unique
}
