//! `/login`: the managed login page. One button per existing identity provider of the client, and an email box
//! that routes to the provider with the email's domain among its `IdpIdentifiers` (home-realm discovery,
//! which grants nothing; Cognito documents this email matching for SAML providers, the stand-in does it for its
//! OIDC ones). A client that supports the pool's own users (`COGNITO`) gets a user name and password form
//! instead, with a "Forgot your password?" link (see `native_login` and `forgot_password`).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::authorize::{REQUEST_PARAMS, carried_without_hint, supported_provider, validate};
use super::{COGNITO_PROVIDER, Pool, PoolPage, native_login};
use crate::config::AppClient;
use crate::web::{PageForm, error_paragraph, esc, hidden_inputs, page, redirect, with_query};

/// `GET /login`.
pub(crate) async fn show(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    match validate(&pool, &params) {
        Ok((_, client)) => render(&pool, &client, &params, None),
        Err(response) => *response,
    }
}

/// `POST /login` with `email` and the request as hidden fields: routes by the email's domain.
pub(crate) async fn submit(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    let (request, client) = match validate(&pool, &params) {
        Ok(valid) => valid,
        Err(response) => return *response,
    };
    if params.contains_key("password") {
        let render_login = |error: &str| render(&pool, &client, &params, Some(error));
        return native_login::sign_in(&pool, request, &client, &params, render_login).await;
    }
    let email = params
        .get("email")
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let domain = email
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_owned())
        .unwrap_or_default();
    if supported_provider(&pool, &client, |idp| idp.has_identifier(&domain)).is_none() {
        return render(
            &pool,
            &client,
            &params,
            Some("No sign-in option is set up for this email domain."),
        );
    }
    // The email typed here is the hint passed on to the identity provider, not a hint the app sent earlier.
    let carried = carried_without_hint(&params);
    let url = with_query(
        &format!("{}/oauth2/authorize", pool.urls.auth_domain),
        carried,
    );
    redirect(&with_query(
        &url,
        [
            ("idp_identifier", domain.as_str()),
            ("login_hint", email.as_str()),
        ],
    ))
}

fn render(
    pool: &Pool,
    client: &AppClient,
    params: &std::collections::HashMap<String, String>,
    error: Option<&str>,
) -> Response {
    let carried: Vec<(&str, &str)> = REQUEST_PARAMS
        .iter()
        .filter_map(|name| params.get(*name).map(|value| (*name, value.as_str())))
        .collect();
    // Managed login fills the username field with the app's `login_hint`.
    let hint = params.get("login_hint").map_or("", |hint| hint.trim());
    let authorize = format!("{}/oauth2/authorize", pool.urls.auth_domain);
    let buttons: String = pool
        .state
        .providers_of(client)
        .iter()
        .map(|idp| {
            let href = with_query(
                &with_query(&authorize, carried.iter().copied()),
                [("identity_provider", idp.name.as_str())],
            );
            format!(
                "<a class=\"idp\" href=\"{}\">Continue with {}</a>\n",
                esc(&href),
                esc(&idp.name)
            )
        })
        .collect();
    let hidden = hidden_inputs(carried.iter().copied());
    let error = error_paragraph(error);
    if client
        .supported_identity_providers
        .iter()
        .any(|provider| provider == COGNITO_PROVIDER)
    {
        return render_password_form(pool, &carried, &hidden, hint, &error, &buttons);
    }
    let body = format!(
        "<main class=\"card\">\n<h1>Sign in</h1>\n<p class=\"hint\">{pool_name}</p>\n{error}\n\
         <p>Sign in with your corporate ID</p>\n{buttons}\
         <form method=\"post\" action=\"/login\">\n{hidden}\
         <label for=\"email\">Work email</label>\n\
         <input type=\"email\" id=\"email\" name=\"email\" value=\"{hint}\" placeholder=\"name@company.com\" autocomplete=\"email\" required>\n\
         <button type=\"submit\">Next</button>\n</form>\n</main>",
        pool_name = esc(&pool.settings.pool_name),
        hint = esc(hint),
    );
    let style = ".idp{display:block;margin:8px 0;padding:10px;border:1px solid #8c8c8c;color:#1b1b1b;\
                 text-decoration:none;text-align:center}.idp:hover{background:#f2f2f2}";
    Html(page("Sign in", style, &body)).into_response()
}

/// The login page of a client that signs the pool's own users in: user name (or email address) and password,
/// the providers' buttons above them if the client also has some.
fn render_password_form(
    pool: &Pool,
    carried: &[(&str, &str)],
    hidden: &str,
    hint: &str,
    error: &str,
    buttons: &str,
) -> Response {
    let forgot = with_query(
        &format!("{}/forgotPassword", pool.urls.auth_domain),
        carried.iter().copied(),
    );
    let (label, kind, autocomplete) = if pool.settings.native_users.email_is_username() {
        ("Email address", "email", "username")
    } else {
        ("Username", "text", "username")
    };
    let body = format!(
        "<main class=\"card\">\n<h1>Sign in</h1>\n<p class=\"hint\">{pool_name}</p>\n{error}\n{buttons}\
         <form method=\"post\" action=\"/login\">\n{hidden}\
         <label for=\"username\">{label}</label>\n\
         <input type=\"{kind}\" id=\"username\" name=\"username\" value=\"{hint}\" autocomplete=\"{autocomplete}\" required>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <p><a href=\"{forgot}\">Forgot your password?</a></p>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n</main>",
        pool_name = esc(&pool.settings.pool_name),
        hint = esc(hint),
        forgot = esc(&forgot),
    );
    Html(page("Sign in", "", &body)).into_response()
}
