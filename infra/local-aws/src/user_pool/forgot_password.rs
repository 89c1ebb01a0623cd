//! `/forgotPassword` and `/confirmForgotPassword`: a user of the pool's own who forgot their password asks for
//! a code by email, then sets a new password with it, and signs in again on `/login`. Both pages carry the
//! authorize request, as Cognito's managed login does.
//!
//! As Cognito with `PreventUserExistenceErrors` on, the answers do not tell whether an account exists: asking
//! for a code always leads to the same page ("if an account exists…"), and a code for a name without one is
//! refused as a wrong code would be ("Invalid verification code provided, please try again."). Only a user who
//! has set their own password can reset it (an invited user whose temporary password is lost is sent a new one
//! by an administrator). A code works for an hour, only the latest one, and wrong codes count towards the
//! account's lockout ("Attempt limit exceeded, please try after some time.").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::accounts::{Refusal, UserStatus, policy_violation};
use super::authorize::{carried_without_hint, login_url, validate};
use super::{COGNITO_PROVIDER, Pool, PoolPage};
use crate::config::AppClient;
use crate::web::{PageForm, error_paragraph, esc, hidden_inputs, page, redirect, with_query};

/// `GET /forgotPassword`: the form asking for the user's name.
pub(crate) async fn show(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    match validate(&pool, &params) {
        Ok((_, client)) if signs_in_own_users(&client) => render_request(&pool, &params, None),
        Ok((request, _)) => request.redirect_error(
            "invalid_request",
            "This app does not sign users in with a password.",
        ),
        Err(response) => *response,
    }
}

/// `POST /forgotPassword`: emails a code if the account exists and may reset its password, then shows the
/// code form either way.
pub(crate) async fn request_code(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    let client = match validate(&pool, &params) {
        Ok((_, client)) => client,
        Err(response) => return *response,
    };
    if !signs_in_own_users(&client) {
        return render_request(
            &pool,
            &params,
            Some("This app does not sign users in with a password."),
        );
    }
    let name = params.get("username").map_or("", |name| name.trim());
    if name.is_empty() {
        return render_request(&pool, &params, Some("Enter your email address."));
    }
    if let Some(user) = pool.users.find(
        name,
        pool.settings.sign_in_case_sensitive,
        pool.settings.native_users.email_is_username(),
    ) && user.enabled
        && let Some(email) = user.attribute("email")
    {
        let now = SystemTime::now();
        let code = pool.accounts.update(&user.username, |account| {
            (account.status == UserStatus::Confirmed).then(|| account.new_reset_code(now))
        });
        if let Some(Some(code)) = code {
            let template = &pool.settings.native_users.password_reset;
            pool.outbox.send(
                &pool.settings.pool_name,
                email,
                &template.email_subject,
                &template.email_message.replace("{####}", &code),
            );
        }
    }
    let carried = carried_without_hint(&params);
    redirect(&with_query(
        &with_query(
            &format!("{}/confirmForgotPassword", pool.urls.auth_domain),
            carried,
        ),
        [("username", name)],
    ))
}

/// `GET /confirmForgotPassword`: the form for the code and the new password.
pub(crate) async fn show_confirm(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    match validate(&pool, &params) {
        Ok(_) => render_confirm(&pool, &params, None),
        Err(response) => *response,
    }
}

/// `POST /confirmForgotPassword`: checks the code and sets the new password, then back to `/login`.
pub(crate) async fn confirm(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    if let Err(response) = validate(&pool, &params) {
        return *response;
    }
    let name = params.get("username").map_or("", |name| name.trim());
    let code = params.get("code").map_or("", |code| code.trim());
    let password = params.get("password").map_or("", String::as_str);
    let confirmation = params
        .get("password_confirmation")
        .map_or("", String::as_str);
    if password != confirmation {
        return render_confirm(&pool, &params, Some("The passwords do not match."));
    }
    if let Some(reason) = policy_violation(&pool.settings.native_users.password_policy, password) {
        return render_confirm(
            &pool,
            &params,
            Some(&format!("Password does not conform to policy: {reason}")),
        );
    }
    let now = SystemTime::now();
    let user = pool
        .users
        .find(
            name,
            pool.settings.sign_in_case_sensitive,
            pool.settings.native_users.email_is_username(),
        )
        .filter(|user| user.enabled);
    let outcome = user.as_ref().and_then(|user| {
        pool.accounts.update(&user.username, |account| {
            account.check_reset_code(code, now)?;
            account
                .set_password(password, now)
                .map_err(|_| Refusal::Expired)
        })
    });
    let message = match outcome {
        Some(Ok(())) => {
            // Back to the sign-in page, where the new password now works.
            return redirect(&login_url(&pool, &params));
        }
        Some(Err(Refusal::Expired)) => "Invalid code provided, please request a code again.",
        Some(Err(Refusal::LockedOut)) => "Attempt limit exceeded, please try after some time.",
        Some(Err(_)) | None => "Invalid verification code provided, please try again.",
    };
    render_confirm(&pool, &params, Some(message))
}

fn signs_in_own_users(client: &AppClient) -> bool {
    client
        .supported_identity_providers
        .iter()
        .any(|provider| provider == COGNITO_PROVIDER)
}

fn hidden_fields(params: &HashMap<String, String>) -> String {
    hidden_inputs(carried_without_hint(params))
}

fn render_request(pool: &Pool, params: &HashMap<String, String>, error: Option<&str>) -> Response {
    let body = format!(
        "<main class=\"card\">\n<h1>Forgot your password?</h1>\n<p class=\"hint\">{pool_name}</p>\n{error}\
         <p>Enter your email address below and we will send a code to reset your password.</p>\n\
         <form method=\"post\" action=\"/forgotPassword\">\n{hidden}\
         <label for=\"username\">Email address</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required>\n\
         <button type=\"submit\">Reset my password</button>\n</form>\n</main>",
        pool_name = esc(&pool.settings.pool_name),
        error = error_paragraph(error),
        hidden = hidden_fields(params),
    );
    Html(page("Forgot your password?", "", &body)).into_response()
}

fn render_confirm(pool: &Pool, params: &HashMap<String, String>, error: Option<&str>) -> Response {
    let name = params.get("username").map_or("", |name| name.trim());
    let body = format!(
        "<main class=\"card\">\n<h1>Reset your password</h1>\n<p class=\"hint\">{pool_name}</p>\n{error}\
         <p>If an account exists for {name}, we have sent it a code by email. Enter the code and a new password.\
         </p>\n<form method=\"post\" action=\"/confirmForgotPassword\">\n{hidden}\
         <input type=\"hidden\" name=\"username\" value=\"{name}\">\n\
         <label for=\"code\">Code</label>\n\
         <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\n\
         <label for=\"password\">New password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>\n\
         <label for=\"password_confirmation\">Enter new password again</label>\n\
         <input type=\"password\" id=\"password_confirmation\" name=\"password_confirmation\" \
         autocomplete=\"new-password\" required>\n\
         <button type=\"submit\">Change password</button>\n</form>\n</main>",
        pool_name = esc(&pool.settings.pool_name),
        error = error_paragraph(error),
        hidden = hidden_fields(params),
        name = esc(name),
    );
    Html(page("Reset your password", "", &body)).into_response()
}
