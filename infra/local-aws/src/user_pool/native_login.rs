//! Managed login for the pool's own users: user name (or email address) and password on `/login`, then the
//! challenges Cognito puts after a password, each a page posting to `/login/challenge` with the challenge's
//! session: `NEW_PASSWORD_REQUIRED` (a user an administrator created sets their own password),
//! `MFA_SETUP` (the pool requires MFA and the user has no authenticator app yet: the secret is shown as text
//! and as a QR code, and a first code proves the app holds it) and `SOFTWARE_TOKEN_MFA` (a code from the app).
//! The last step sends the browser to the client with an authorization code, as a federated sign-in does.
//!
//! The messages are Cognito's: "Incorrect username or password." for an unknown user and for a wrong password
//! alike (and an unknown user costs a password hash too, so timing tells nothing either), "Password attempts
//! exceeded" during a lockout, "User is disabled." only once the password is right, "Temporary password has
//! expired and must be reset by an administrator.", "Invalid code received for user", and "Invalid session for
//! the user, session is expired." after three minutes on one step. A session is replaced at every step, so a
//! page submitted twice fails the second time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::accounts::{
    Account, Refusal, UserStatus, new_authenticator_secret, otpauth_uri, policy_violation,
    secret_base32,
};
use super::users::PoolUser;
use super::{ClientRequest, Pool, PoolPage, issue};
use crate::config::{AppClient, MfaConfiguration};
use crate::store::random_token;
use crate::web::{PageForm, error_page, error_paragraph, esc, hidden_inputs, page};

/// How long a user has for each step: Cognito's default `AuthSessionValidity`, three minutes.
pub(crate) const CHALLENGE_VALIDITY: Duration = Duration::from_secs(180);

/// A sign-in between its password and its tokens.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    request: ClientRequest,
    username: String,
    step: Step,
}

/// What the user must do next.
#[derive(Debug, Clone)]
enum Step {
    /// `NEW_PASSWORD_REQUIRED`.
    NewPassword,
    /// `MFA_SETUP`, with the secret offered to the authenticator app.
    MfaSetup { secret: Vec<u8> },
    /// `SOFTWARE_TOKEN_MFA`.
    Mfa,
}

/// The managed login's message for a refusal, in Cognito's words.
fn refusal_message(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Wrong => "Incorrect username or password.",
        Refusal::LockedOut => "Password attempts exceeded",
        Refusal::TemporaryPasswordExpired => {
            "Temporary password has expired and must be reset by an administrator."
        }
        Refusal::CodeReused => "Your software token has already been used once.",
        Refusal::Expired => "Invalid session for the user, session is expired.",
    }
}

/// `POST /login` with `username` and `password`: checks them and goes on to the next step. `render_login`
/// shows the login page again with an error.
pub(crate) async fn sign_in(
    pool: &Arc<Pool>,
    request: ClientRequest,
    client: &AppClient,
    params: &HashMap<String, String>,
    render_login: impl Fn(&str) -> Response,
) -> Response {
    if !client
        .supported_identity_providers
        .iter()
        .any(|provider| provider == super::COGNITO_PROVIDER)
    {
        return render_login("This app does not sign users in with a password.");
    }
    let name = params.get("username").map_or("", |name| name.trim());
    let password = params.get("password").map_or("", String::as_str);
    if name.is_empty() || password.is_empty() {
        return render_login("Enter your username and password.");
    }
    let now = SystemTime::now();
    let user = pool.users.find(
        name,
        pool.settings.sign_in_case_sensitive,
        pool.settings.native_users.email_is_username(),
    );
    let checked = user.as_ref().and_then(|user| {
        pool.accounts.update(&user.username, |account| {
            account.check_password(password, now)
        })
    });
    let user = match (user, checked) {
        (Some(user), Some(Ok(()))) => user,
        (_, Some(Err(refusal))) => return render_login(refusal_message(refusal)),
        // No such user, or a federated one: the same answer as a wrong password, after as much work.
        (None, _) | (_, None) => {
            pool.accounts.spend_a_password_check(password);
            return render_login(refusal_message(Refusal::Wrong));
        }
    };
    if !user.enabled {
        return render_login("User is disabled.");
    }
    let Some(account) = pool.accounts.get(&user.username) else {
        return render_login(refusal_message(Refusal::Wrong));
    };
    advance(pool, client, request, &user, &account).await
}

/// The step after one that succeeded: the next challenge's page, or the sign-in's code.
async fn advance(
    pool: &Pool,
    client: &AppClient,
    request: ClientRequest,
    user: &PoolUser,
    account: &Account,
) -> Response {
    let step = if account.status == UserStatus::ForceChangePassword {
        Some(Step::NewPassword)
    } else {
        match pool.settings.native_users.mfa {
            MfaConfiguration::On if !account.has_authenticator() => Some(Step::MfaSetup {
                secret: new_authenticator_secret(),
            }),
            MfaConfiguration::On | MfaConfiguration::Optional if account.has_authenticator() => {
                Some(Step::Mfa)
            }
            _ => None,
        }
    };
    match step {
        Some(step) => {
            let challenge = Challenge {
                request,
                username: user.username.clone(),
                step,
            };
            let session = random_token(48);
            pool.challenges
                .insert(session.clone(), challenge.clone(), CHALLENGE_VALIDITY);
            render_step(pool, user, &session, &challenge, None)
        }
        None => issue::authorization_code(pool, client, &request, user).await,
    }
}

/// `POST /login/challenge`: the answer to the step the session is at.
pub(crate) async fn respond(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    let session = params.get("session").map_or("", String::as_str);
    let Some(challenge) = pool.challenges.get(&session.to_owned()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Sign in",
            refusal_message(Refusal::Expired),
        );
    };
    let Some(client) = pool.state.client(&challenge.request.client_id) else {
        return error_page(StatusCode::BAD_REQUEST, "Sign in", "Invalid client_id");
    };
    let user = pool
        .users
        .get(&challenge.username)
        .filter(|user| user.enabled);
    let Some(user) = user else {
        pool.challenges.take(&session.to_owned());
        return error_page(StatusCode::BAD_REQUEST, "Sign in", "User is disabled.");
    };
    let again = |error: &str| render_step(&pool, &user, session, &challenge, Some(error));
    let now = SystemTime::now();
    let outcome = match &challenge.step {
        Step::NewPassword => {
            let password = params.get("password").map_or("", String::as_str);
            let confirmation = params
                .get("password_confirmation")
                .map_or("", String::as_str);
            if password != confirmation {
                return again("The passwords do not match.");
            }
            if let Some(reason) =
                policy_violation(&pool.settings.native_users.password_policy, password)
            {
                return again(&format!("Password does not conform to policy: {reason}"));
            }
            pool.accounts.update(&user.username, |account| {
                account.set_password(password, now).is_ok()
            })
        }
        Step::MfaSetup { secret } => {
            let code = params.get("code").map_or("", String::as_str);
            match pool.accounts.update(&user.username, |account| {
                account.verify_authenticator(secret, code, now)
            }) {
                Some(Err(Refusal::Wrong)) => {
                    return again("Code mismatch and fail enable Software Token MFA");
                }
                Some(Err(refusal)) => return again(refusal_message(refusal)),
                other => other.map(|_| true),
            }
        }
        Step::Mfa => {
            let code = params.get("code").map_or("", String::as_str);
            match pool
                .accounts
                .update(&user.username, |account| account.check_code(code, now))
            {
                Some(Err(Refusal::Wrong)) => return again("Invalid code received for user"),
                Some(Err(refusal)) => return again(refusal_message(refusal)),
                other => other.map(|_| true),
            }
        }
    };
    // The step is done: this session cannot be used again.
    pool.challenges.take(&session.to_owned());
    let account = match (outcome, pool.accounts.get(&user.username)) {
        (Some(true), Some(account)) => account,
        _ => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign in",
                "An error was encountered with the requested page.",
            );
        }
    };
    // A new password is followed by the set-up of MFA when the pool requires it, then the code.
    match challenge.step {
        Step::NewPassword => advance(&pool, &client, challenge.request, &user, &account).await,
        Step::MfaSetup { .. } | Step::Mfa => {
            issue::authorization_code(&pool, &client, &challenge.request, &user).await
        }
    }
}

/// The page of a step, with the session to post back.
fn render_step(
    pool: &Pool,
    user: &PoolUser,
    session: &str,
    challenge: &Challenge,
    error: Option<&str>,
) -> Response {
    let error = error_paragraph(error);
    let hidden = hidden_inputs([("session", session)]);
    let account_name = user.attribute("email").unwrap_or(&user.username);
    let (title, content) = match &challenge.step {
        Step::NewPassword => (
            "Change password",
            format!(
                "<p>Please enter a new password for {}.</p>\n\
                 <label for=\"password\">New password</label>\n\
                 <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>\n\
                 <label for=\"password_confirmation\">Enter new password again</label>\n\
                 <input type=\"password\" id=\"password_confirmation\" name=\"password_confirmation\" \
                 autocomplete=\"new-password\" required>\n<p class=\"hint\">{}</p>\n\
                 <button type=\"submit\">Send</button>\n",
                esc(account_name),
                esc(&policy_hint(pool))
            ),
        ),
        Step::MfaSetup { secret } => {
            let uri = otpauth_uri(secret, &pool.settings.pool_name, account_name);
            let qr = qrcode::QrCode::new(uri.as_bytes())
                .map(|code| {
                    code.render::<qrcode::render::svg::Color<'_>>()
                        .min_dimensions(180, 180)
                        .build()
                })
                .unwrap_or_default();
            (
                "Set up your authenticator app",
                format!(
                    "<p>This account requires a second step at sign-in. Scan the code with an authenticator \
                     app, or type the secret key into it, then enter the six-digit code it shows.</p>\n\
                     <div class=\"qr\" aria-label=\"QR code of the secret key\">{qr}</div>\n\
                     <p>Secret key: <code id=\"totp-secret\">{}</code></p>\n\
                     <label for=\"code\">Code from the app</label>\n\
                     <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" \
                     autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" required>\n\
                     <button type=\"submit\">Verify</button>\n",
                    esc(&secret_base32(secret))
                ),
            )
        }
        Step::Mfa => (
            "Enter your code",
            "<p>Enter the six-digit code from your authenticator app.</p>\n\
             <label for=\"code\">Code</label>\n\
             <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
             pattern=\"[0-9]{6}\" maxlength=\"6\" autofocus required>\n\
             <button type=\"submit\">Sign in</button>\n"
                .to_owned(),
        ),
    };
    let body = format!(
        "<main class=\"card\">\n<h1>{title}</h1>\n<p class=\"hint\">{pool_name}</p>\n{error}\
         <form method=\"post\" action=\"/login/challenge\">\n{hidden}{content}</form>\n</main>",
        title = esc(title),
        pool_name = esc(&pool.settings.pool_name),
    );
    let style = ".qr svg{display:block;margin:8px auto}code{font-size:.95rem;word-break:break-all}";
    Html(page(title, style, &body)).into_response()
}

/// The pool's password policy in words, under the new password's fields.
fn policy_hint(pool: &Pool) -> String {
    let policy = &pool.settings.native_users.password_policy;
    let mut kinds = Vec::new();
    if policy.require_uppercase {
        kinds.push("an uppercase letter");
    }
    if policy.require_lowercase {
        kinds.push("a lowercase letter");
    }
    if policy.require_numbers {
        kinds.push("a number");
    }
    if policy.require_symbols {
        kinds.push("a symbol");
    }
    let mut hint = format!("At least {} characters", policy.minimum_length);
    if !kinds.is_empty() {
        hint.push_str(", with ");
        hint.push_str(&kinds.join(", "));
    }
    hint.push('.');
    hint
}
