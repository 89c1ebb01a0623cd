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
