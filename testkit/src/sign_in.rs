//! A sign-in walked without a browser: from the backend's `/auth/login` through the user pool and the
//! identity provider's login form to the redirect to the backend's callback, with a `reqwest` client that
//! keeps cookies and follows no redirect, so every hop is seen.

use anyhow::{Context as _, bail};
use reqwest::{Client, Response, StatusCode};
use url::Url;

/// The outcome of walking a sign-in from its first request.
#[derive(Debug)]
pub enum FlowEnd {
    /// The user pool redirected to the backend's callback (not followed).
    Callback(Url),
    /// The backend redirected back into the app (for example `/?error=...`) before any identity provider.
    App(Url),
    /// An identity provider showed its login form again after the credentials were posted: it refused them.
    LoginRefused(String),
    /// Anything else: the status, the URL and the body.
    Other(StatusCode, Url, String),
}

/// A client as a browser behaves for a sign-in: it keeps cookies and never follows redirects.
pub fn browser() -> anyhow::Result<Client> {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")
}

/// Starts at `start` in `browser` and follows every hop, filling the identity provider's login form with
/// `username` and `password`, until the user pool redirects to `<app>/auth/callback` or the flow ends
/// elsewhere. `app` is the backend's origin (`http://localhost:<port>`).
pub async fn walk(
    browser: &Client,
    start: Url,
    app: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<FlowEnd> {
    let callback_prefix = format!("{app}/auth/callback");
    let mut response = browser.get(start).send().await?;
    let mut posted = false;
    for _ in 0..12 {
        let status = response.status();
        if status.is_redirection() {
            let next = location(&response)?;
            if next.as_str().starts_with(&callback_prefix) {
                return Ok(FlowEnd::Callback(next));
            }
            if next.origin().ascii_serialization() == app {
                return Ok(FlowEnd::App(next));
            }
            response = browser.get(next).send().await?;
            continue;
        }
        let url = response.url().clone();
        let body = response.text().await?;
        if status != StatusCode::OK || !body.contains("<form") {
            return Ok(FlowEnd::Other(status, url, body));
        }
        if posted {
            return Ok(FlowEnd::LoginRefused(body));
        }
        let (action, mut fields) = login_form(&url, &body)?;
        fields.push(("username".to_owned(), username.to_owned()));
        fields.push(("password".to_owned(), password.to_owned()));
        posted = true;
        response = browser.post(action).form(&fields).send().await?;
    }
    bail!("the sign-in did not end within 12 hops")
}

/// The absolute URL a redirect points to.
pub fn location(response: &Response) -> anyhow::Result<Url> {
    let value = response
        .headers()
        .get(reqwest::header::LOCATION)
        .context("a redirect without a Location")?
        .to_str()
        .context("a Location that is not text")?;
    response
        .url()
        .join(value)
        .context("a Location that is no URL")
}

/// The action (absolute) and hidden fields of the first form on an identity provider's login page.
fn login_form(page_url: &Url, html: &str) -> anyhow::Result<(Url, Vec<(String, String)>)> {
    let document = scraper::Html::parse_document(html);
    let form_selector =
        scraper::Selector::parse("form").map_err(|error| anyhow::anyhow!("a selector: {error}"))?;
    let hidden_selector = scraper::Selector::parse("input[type=hidden]")
        .map_err(|error| anyhow::anyhow!("a selector: {error}"))?;
    let form = document
        .select(&form_selector)
        .next()
        .context("the login page has no form")?;
    let action = page_url
        .join(form.value().attr("action").unwrap_or(""))
        .context("the form's action")?;
    let fields = form
        .select(&hidden_selector)
        .filter_map(|input| {
            let name = input.value().attr("name")?;
            Some((
                name.to_owned(),
                input.value().attr("value").unwrap_or("").to_owned(),
            ))
        })
        .collect();
    Ok((action, fields))
}

/// What an operator signs in with at the operators' pool's managed login.
#[derive(Debug, Clone)]
pub struct OperatorCredentials {
    /// The email address the operator signs in with.
    pub email: String,
    /// The password: the emailed temporary one at the first sign-in.
    pub password: String,
    /// The password to set when the pool asks for a new one (the first sign-in).
    pub new_password: String,
    /// The authenticator's secret, once enrolled; the walker learns it from the set-up page otherwise.
    pub totp_secret: Option<String>,
}

/// How an operator's sign-in walk ended, and the authenticator secret it enrolled or used.
#[derive(Debug)]
pub struct OperatorFlow {
    /// Where the walk ended.
    pub end: FlowEnd,
    /// The authenticator's secret (shown on the set-up page at the first sign-in).
    pub totp_secret: Option<String>,
}

/// Walks an operator's sign-in from `start` (the backend's `/operator/auth/login`) through the operators'
/// pool's managed login, answering each page as a person would: email and password, a new password (twice)
/// when asked, the authenticator set-up (the secret read from the page, the code computed from it) and the
/// code of later sign-ins, until the pool redirects to `<app>/operator/auth/callback` or the walk ends
/// elsewhere. A page shown again after it was answered is a refusal ([`FlowEnd::LoginRefused`]).
///
/// Codes are used once each: the set-up takes the current step's code and a later sign-in the next step's
/// (the pool accepts one step of drift), so an operator can set up and sign in again within one step.
pub async fn walk_operator(
    browser: &Client,
    start: Url,
    app: &str,
    credentials: &OperatorCredentials,
) -> anyhow::Result<OperatorFlow> {
    let callback_prefix = format!("{app}/operator/auth/callback");
    let mut secret = credentials.totp_secret.clone();
    let mut answered: Vec<String> = Vec::new();
    let mut response = browser.get(start).send().await?;
    for _ in 0..16 {
        let status = response.status();
        if status.is_redirection() {
            let next = location(&response)?;
            let end = if next.as_str().starts_with(&callback_prefix) {
                Some(FlowEnd::Callback(next.clone()))
            } else if next.origin().ascii_serialization() == app {
                Some(FlowEnd::App(next.clone()))
            } else {
                None
            };
            if let Some(end) = end {
                return Ok(OperatorFlow {
                    end,
                    totp_secret: secret,
                });
            }
            response = browser.get(next).send().await?;
            continue;
        }
        let url = response.url().clone();
        let body = response.text().await?;
        if status != StatusCode::OK || !body.contains("<form") {
            return Ok(OperatorFlow {
                end: FlowEnd::Other(status, url, body),
                totp_secret: secret,
            });
        }
        let title = page_title(&body);
        if answered.contains(&title) {
            return Ok(OperatorFlow {
                end: FlowEnd::LoginRefused(body),
                totp_secret: secret,
            });
        }
        let (action, mut fields) = login_form(&url, &body)?;
        match title.as_str() {
            "Change password" => {
                fields.push(("password".into(), credentials.new_password.clone()));
                fields.push((
                    "password_confirmation".into(),
                    credentials.new_password.clone(),
                ));
            }
            "Set up your authenticator app" => {
                let shown = totp_secret_on(&body).context("the set-up page shows no secret")?;
                let code = local_aws::totp_code(&shown, std::time::SystemTime::now())
                    .context("the shown secret is no base32 key")?;
                secret = Some(shown);
                fields.push(("code".into(), code));
            }
            "Enter your code" => {
                let known = secret
                    .as_deref()
                    .context("the pool asks for a code, and no secret is known")?;
                let next_step = std::time::SystemTime::now() + std::time::Duration::from_secs(30);
                let code = local_aws::totp_code(known, next_step)
                    .context("the known secret is no base32 key")?;
                fields.push(("code".into(), code));
            }
            _ => {
                fields.push(("username".into(), credentials.email.clone()));
                fields.push(("password".into(), credentials.password.clone()));
            }
        }
        answered.push(title);
        response = browser.post(action).form(&fields).send().await?;
    }
    bail!("the operator's sign-in did not end within 16 hops")
}

/// The text of a page's first `<h1>`.
fn page_title(html: &str) -> String {
    let document = scraper::Html::parse_document(html);
    scraper::Selector::parse("h1")
        .ok()
        .and_then(|selector| {
            document
                .select(&selector)
                .next()
                .map(|h1| h1.text().collect::<String>().trim().to_owned())
        })
        .unwrap_or_default()
}

/// The secret key shown on the authenticator set-up page.
pub fn totp_secret_on(html: &str) -> Option<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("#totp-secret").ok()?;
    let secret = document
        .select(&selector)
        .next()?
        .text()
        .collect::<String>();
    Some(secret.trim().to_owned()).filter(|secret| !secret.is_empty())
}
