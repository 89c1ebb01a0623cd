//! The mock enterprise identity providers (Entra ID, Okta): what they share, namely app registrations,
//! authorize-request checks, single-use codes and the code redemption at their token endpoints.
//!
//! They are the IdP side of federation and know nothing of the pool's configuration: the applications
//! registered with them come from `directories.json`, as an IdP administrator would have set them up, and the
//! pool's identity providers (runtime state of the pool) work only when they name one of those.

pub(crate) mod entra;
pub(crate) mod login_page;
pub(crate) mod okta;

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use axum::http::HeaderMap;

use crate::Urls;
use crate::config::RegisteredApplication;
use crate::oauth::{PkceMethod, pkce_matches, presented_client, valid_pkce_value};
use crate::store::ExpiringMap;

/// How long an IdP authorization code lives (Okta: 5 minutes; Entra: up to 10).
const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// A directory's users, which can change while the mock runs (an administrator removes a group, say), so
/// that what the pool does with the next sign-in can be observed.
pub(crate) struct LiveUsers<U> {
    users: RwLock<Vec<U>>,
}

impl<U: Clone> LiveUsers<U> {
    pub(crate) fn new(users: Vec<U>) -> Self {
        LiveUsers {
            users: RwLock::new(users),
        }
    }

    /// A copy of the first user that `matches`.
    pub(crate) fn find(&self, matches: impl Fn(&U) -> bool) -> Option<U> {
        // Every write replaces a user in one step, so a poisoned lock still guards consistent data.
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        users.iter().find(|u| matches(u)).cloned()
    }

    /// Changes the first user that `matches`; `false` when there is none.
    pub(crate) fn update(&self, matches: impl Fn(&U) -> bool, change: impl FnOnce(&mut U)) -> bool {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        match users.iter_mut().find(|u| matches(u)) {
            Some(user) => {
                change(user);
                true
            }
            None => false,
        }
    }
}

/// An application registered at the IdP: the user pool's OIDC client for one of its identity providers.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredApp {
    pub client_id: String,
    pub client_secret: String,
    /// The only redirect URI the app may use: the pool's `/oauth2/idpresponse`.
    pub redirect_uri: String,
}

/// The apps registered in one Entra directory or Okta org (`directories.json`), each redirecting to the running
/// pool's `/oauth2/idpresponse`.
pub(crate) fn registered_apps(apps: &[RegisteredApplication], urls: &Urls) -> Vec<RegisteredApp> {
    apps.iter()
        .map(|app| RegisteredApp {
            client_id: app.client_id.clone(),
            client_secret: app.client_secret.clone(),
            redirect_uri: format!("{}/oauth2/idpresponse", urls.auth_domain),
        })
        .collect()
}

/// The issuer of the mock Entra ID directory `tenant_id`: `<entra base>/<tenant id>/v2.0`, as
/// `https://login.microsoftonline.com/<tid>/v2.0`. Bases have no trailing slash.
pub(crate) fn entra_issuer(entra_base: &str, tenant_id: &str) -> String {
    format!("{entra_base}/{tenant_id}/v2.0")
}

/// The issuer of the mock Okta org's default authorization server: `<okta base>/oauth2/default`, as
/// `https://<org>.okta.com/oauth2/default`.
pub(crate) fn okta_issuer(okta_base: &str) -> String {
    format!("{okta_base}/oauth2/default")
}

/// The `login_hint` of an authorize request (OIDC Core 3.1.2.1), which both Entra ID and Okta put into the
/// username field of their login page. Only a hint: the user may type another name.
pub(crate) fn login_hint(params: &HashMap<String, String>) -> &str {
    params.get("login_hint").map_or("", |hint| hint.trim())
}

/// The OIDC parameters of an authorize request, carried through the login form as hidden fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub response_mode: Option<String>,
}

impl AuthorizeRequest {
    /// Reads the request from query or form parameters (the login form posts them back as hidden fields).
    pub(crate) fn from_params(params: &HashMap<String, String>) -> AuthorizeRequest {
        let get = |name: &str| params.get(name).filter(|v| !v.is_empty()).cloned();
        AuthorizeRequest {
            client_id: get("client_id").unwrap_or_default(),
            redirect_uri: get("redirect_uri").unwrap_or_default(),
            response_type: get("response_type").unwrap_or_default(),
            scope: get("scope").unwrap_or_default(),
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            response_mode: get("response_mode"),
        }
    }

    /// The parameters to carry as hidden form fields.
    /// Reports an error to the (validated) redirect URI, with the request's state, as the IdPs do.
    pub(crate) fn redirect_error(
        &self,
        error: &str,
        description: &str,
    ) -> axum::response::Response {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        crate::web::redirect(&crate::web::with_query(&self.redirect_uri, params))
    }

    pub(crate) fn hidden_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("response_type", self.response_type.clone()),
            ("scope", self.scope.clone()),
        ];
        let optional = [
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("response_mode", &self.response_mode),
        ];
        fields.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| value.clone().map(|v| (name, v))),
        );
        fields
    }

    /// The requested scopes.
    pub(crate) fn scopes(&self) -> Vec<String> {
        self.scope.split_whitespace().map(str::to_owned).collect()
    }
}

/// Why an authorize request cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthorizeProblem {
    /// No app with this client id: an error page, never a redirect.
    UnknownClient,
    /// The redirect URI is not the registered one: an error page, never a redirect.
    RedirectMismatch,
    /// Anything else, reported to the (validated) redirect URI.
    Redirect {
        error: &'static str,
        description: String,
    },
}

/// A checked authorize request.
#[derive(Debug, Clone)]
pub(crate) struct CheckedAuthorize {
    pub request: AuthorizeRequest,
    pub challenge: Option<(PkceMethod, String)>,
}

/// Checks an authorize request against the registered apps. `allowed_pkce` lists the methods the IdP accepts.
pub(crate) fn check_authorize(
    apps: &[RegisteredApp],
    request: AuthorizeRequest,
    allowed_pkce: &[PkceMethod],
) -> Result<CheckedAuthorize, AuthorizeProblem> {
    let app = apps
        .iter()
        .find(|a| a.client_id == request.client_id)
        .ok_or(AuthorizeProblem::UnknownClient)?;
    if app.redirect_uri != request.redirect_uri {
        return Err(AuthorizeProblem::RedirectMismatch);
    }
    if request.response_type != "code" {
        return Err(AuthorizeProblem::Redirect {
            error: "unsupported_response_type",
            description: "The only response type this application may use is code.".to_owned(),
        });
    }
    if !request.scopes().iter().any(|s| s == "openid") {
        return Err(AuthorizeProblem::Redirect {
            error: "invalid_scope",
            description: "The openid scope is required.".to_owned(),
        });
    }
    if request
        .response_mode
        .as_deref()
        .is_some_and(|mode| mode != "query")
    {
        return Err(AuthorizeProblem::Redirect {
            error: "invalid_request",
            description: "Only response_mode=query is supported.".to_owned(),
        });
    }
    let challenge = match &request.code_challenge {
        None => None,
        Some(challenge) => {
            let method = PkceMethod::parse(request.code_challenge_method.as_deref())
                .filter(|m| allowed_pkce.contains(m))
                .ok_or_else(|| AuthorizeProblem::Redirect {
                    error: "invalid_request",
                    description: "The code_challenge_method is not supported.".to_owned(),
                })?;
            if !valid_pkce_value(challenge) {
                return Err(AuthorizeProblem::Redirect {
                    error: "invalid_request",
                    description: "The code_challenge is not valid.".to_owned(),
                });
            }
            Some((method, challenge.clone()))
        }
    };
    Ok(CheckedAuthorize { request, challenge })
}

/// An authorization code the IdP issued, bound to everything the token request must repeat.
#[derive(Debug, Clone)]
pub(crate) struct IdpCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub challenge: Option<(PkceMethod, String)>,
    /// The user's key in the directory (Entra `oid`, Okta user id).
    pub user: String,
    pub auth_time: i64,
}

/// The single-use codes of one IdP.
pub(crate) struct IdpCodes {
    codes: ExpiringMap<String, IdpCode>,
}

impl IdpCodes {
    pub(crate) fn new() -> Self {
        IdpCodes {
            codes: ExpiringMap::new(),
        }
    }

    /// Issues a fresh code.
    pub(crate) fn issue(&self, code: IdpCode) -> String {
        let value = crate::store::random_token(32);
        self.codes.insert(value.clone(), code, CODE_LIFETIME);
        value
    }
}

/// Why a token request was refused; each IdP renders these in its own error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    InvalidRequest(&'static str),
    InvalidClient,
    UnsupportedGrantType,
    /// The code is unknown, used, expired or bound to another client.
    InvalidCode,
    RedirectMismatch,
    PkceFailed,
}

/// Authenticates the client and redeems an authorization code (single use: the code is consumed even when a
/// later check fails, so a stolen code cannot be retried with other guesses).
pub(crate) fn redeem_code(
    apps: &[RegisteredApp],
    codes: &IdpCodes,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<IdpCode, TokenProblem> {
    let presented = presented_client(headers, params).ok_or(TokenProblem::InvalidClient)?;
    let app = apps
        .iter()
        .find(|a| a.client_id == presented.client_id)
        .ok_or(TokenProblem::InvalidClient)?;
    if !presented.secret_matches(Some(&app.client_secret)) {
        return Err(TokenProblem::InvalidClient);
    }
    match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        Some(_) => return Err(TokenProblem::UnsupportedGrantType),
        None => return Err(TokenProblem::InvalidRequest("grant_type is required")),
    }
    let code = params
        .get("code")
        .ok_or(TokenProblem::InvalidRequest("code is required"))?;
    let issued = codes.codes.take(code).ok_or(TokenProblem::InvalidCode)?;
    if issued.client_id != app.client_id {
        return Err(TokenProblem::InvalidCode);
    }
    if params.get("redirect_uri") != Some(&issued.redirect_uri) {
        return Err(TokenProblem::RedirectMismatch);
    }
    if let Some((method, challenge)) = &issued.challenge {
        let verifier = params
            .get("code_verifier")
            .ok_or(TokenProblem::PkceFailed)?;
        if !pkce_matches(*method, verifier, challenge) {
            return Err(TokenProblem::PkceFailed);
        }
    }
    Ok(issued)
}
