//! Chromium driven through chromedriver (WebDriver), with the steps a person takes in the app.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use crate::repo_dir;

/// How long a step may take (a sign-in crosses the app, the user pool, an IdP and back).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a wait looks at the page again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long chromedriver may take to start listening.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// What chromedriver prints once it listens, followed by the port and a full stop.
const DRIVER_READY: &str = "started successfully on port ";

/// Elements that only the app's sign-in page and signed-in workspace have; one of them shows once the app
/// has loaded the session.
const APP_SETTLED: &str = "#email, #workspace, #load-error";
/// The password field of the identity providers' login forms (the app never has one).
const IDP_PASSWORD: &str = "input[name=password]";

/// Which screen of the app is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The sign-in page (no session).
    SignIn,
    /// The signed-in workspace (whichever of its pages the address names).
    Workspace,
    /// The error state (session could not be loaded).
    LoadError,
}

/// What the profile card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `#user-name`.
    pub name: String,
    /// `#user-email`.
    pub email: String,
    /// `#tenant-name`.
    pub tenant_name: String,
    /// `#tenant-plan`.
    pub plan: String,
    /// `#role`.
    pub role: String,
    /// The API scopes behind the abilities listed in `#scopes`.
    pub scopes: Vec<String>,
}

/// The focus indicator of the focused element.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusIndicator {
    /// `outline-style` (`solid`; `none` means no ring).
    pub style: String,
    /// `outline-width` in CSS pixels.
    pub width_px: f64,
    /// `outline-color` as the browser computes it (`rgb(67, 56, 202)`).
    pub color: String,
    /// Whether the element lies (at least partly) inside the window.
    pub in_view: bool,
    /// The start of the element's HTML, to name it in a failure.
    pub element: String,
}

/// A fresh headless Chromium (its own profile directory, so no cookies are shared between tests) and the
/// chromedriver that drives it. Dropping the value ends the browser session.
pub struct Browser {
    client: Client,
    test_name: String,
    screenshots: AtomicU32,
    closed: bool,
    _driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver (`CHROMEDRIVER`, default `/usr/bin/chromedriver`) on a free port and opens a
    /// headless Chromium (`CHROME`, default `/usr/bin/chromium`). `test_name` prefixes the screenshots.
    pub async fn launch(test_name: &str) -> anyhow::Result<Browser> {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let profile = tempfile::Builder::new()
            .prefix("e2e-chromium-")
            .tempdir()
            .context("creating a profile dir")?;

        let (driver, port) = start_chromedriver(&chromedriver).await?;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,900",
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            bail!("the WebDriver capabilities must be a JSON object");
        };
        // Chromedriver listens on plain http on loopback: no TLS stack is involved.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .with_context(|| format!("opening {chrome} through {chromedriver}"))?;

        Ok(Browser {
            client,
            test_name: test_name.to_owned(),
            screenshots: AtomicU32::new(0),
            closed: false,
            _driver: driver,
            _profile: profile,
        })
    }

    /// The WebDriver session, for steps defined in other modules.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn open(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Reloads the current page.
    pub async fn reload(&self) -> anyhow::Result<()> {
        self.client.refresh().await.context("reloading the page")
    }

    /// Goes one step back in the browser's history, like the back button.
    pub async fn back(&self) -> anyhow::Result<()> {
        self.client.back().await.context("going back")
    }

    /// The URL the browser is on.
    pub async fn current_url(&self) -> anyhow::Result<Url> {
        self.client
            .current_url()
            .await
            .context("reading the current URL")
    }

    /// Waits until the app has loaded the session and says which screen it shows.
    pub async fn wait_for_app(&self) -> anyhow::Result<Page> {
        let element = self
            .wait_for(APP_SETTLED)
            .await
            .context("waiting for the app to load")?;
        match element.attr("id").await?.as_deref() {
            Some("email") => Ok(Page::SignIn),
            Some("workspace") => Ok(Page::Workspace),
            Some("load-error") => Ok(Page::LoadError),
            other => bail!("unexpected element {other:?} matched {APP_SETTLED}"),
        }
    }

    /// Types `email` into the sign-in page and presses Continue.
    pub async fn continue_with_email(&self, email: &str) -> anyhow::Result<()> {
        let field = self
            .wait_for("#email")
            .await
            .context("waiting for the sign-in page")?;
        field.clear().await?;
        field.send_keys(email).await?;
        self.client
            .find(Locator::Css("#continue"))
            .await?
            .click()
            .await
            .context("pressing Continue")
    }

    /// Waits for an identity provider's login form and returns the URL it is on.
    pub async fn wait_for_identity_provider(&self) -> anyhow::Result<Url> {
        self.wait_for(IDP_PASSWORD)
            .await
            .context("waiting for the identity provider's login form")?;
        self.current_url().await
    }

    /// Fills the identity provider's login form and submits it.
    pub async fn sign_in_at_identity_provider(
        &self,
        username: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        self.wait_for_identity_provider().await?;
        let user_field = self
            .client
            .find(Locator::Css("input[name=username]"))
            .await?;
        user_field.clear().await?;
        user_field.send_keys(username).await?;
        self.client
            .find(Locator::Css(IDP_PASSWORD))
            .await?
            .send_keys(password)
            .await?;
        self.client
            .find(Locator::Css("form button[type=submit]"))
            .await?
            .click()
            .await
            .context("submitting the identity provider's form")
    }

    /// Waits for the identity provider to re-show its form with an error, and returns the error's text.
    pub async fn identity_provider_error(&self) -> anyhow::Result<String> {
        let error = self
            .wait_for("#login-error")
            .await
            .context("waiting for the identity provider's error")?;
        Ok(error.text().await?)
    }

    /// Waits for the signed-in workspace, opens the profile from the member's name in the top bar and
    /// reads the profile card.
    pub async fn wait_for_profile(&self) -> anyhow::Result<Profile> {
        // Waiting for the workspace itself, not for any settled screen: after Try again the error screen
        // can still be on display for a moment.
        self.wait_for("#workspace")
            .await
            .context("waiting for the workspace")?;
        self.click("#profile-link").await?;
        self.wait_for("#user-name")
            .await
            .context("waiting for the profile")?;
        self.profile().await
    }

    /// Reads the profile card on the current page.
    pub async fn profile(&self) -> anyhow::Result<Profile> {
        let mut scopes = Vec::new();
        for ability in self.client.find_all(Locator::Css("#scopes li")).await? {
            scopes.push(ability.attr("data-scope").await?.unwrap_or_default());
        }
        Ok(Profile {
            name: self.text_of("#user-name").await?,
            email: self.text_of("#user-email").await?,
            tenant_name: self.text_of("#tenant-name").await?,
            plan: self.text_of("#tenant-plan").await?,
            role: self.text_of("#role").await?,
            scopes,
        })
    }

    /// The text of the sign-in page's error banner, waiting for it to show.
    pub async fn error_banner(&self) -> anyhow::Result<String> {
        let banner = self
            .wait_for("#error-banner")
            .await
            .context("waiting for the error banner")?;
        Ok(banner.text().await?)
    }

    /// Presses Try again on the error screen.
    pub async fn retry(&self) -> anyhow::Result<()> {
        self.client
            .find(Locator::Css("#retry"))
            .await?
            .click()
            .await
            .context("pressing Try again")
    }

    /// Presses Sign out and waits for the sign-in page it leads back to.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.client
            .find(Locator::Css("#sign-out"))
            .await?
            .click()
            .await
            .context("pressing Sign out")?;
        // The shell stays on screen until the browser has followed the sign-out redirects, so wait for an
        // element only the sign-in page has.
        self.wait_for("#email")
            .await
            .context("waiting for the sign-in page after signing out")?;
        Ok(())
    }

    /// The text of the element matching `css`, which must be on the page.
    pub async fn text_of(&self, css: &str) -> anyhow::Result<String> {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("finding {css}"))?;
        Ok(element.text().await?)
    }

    /// Whether an element matches `css` right now.
    pub async fn has(&self, css: &str) -> anyhow::Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    /// Waits for the element matching `css` and clicks it.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.wait_for(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {css}"))
    }

    /// Waits for the field matching `css`, empties it and types `text`.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.wait_for(css).await?;
        field.clear().await?;
        field
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {css}"))
    }

    /// Picks the option with `value` in the select matching `css`, the way a person does (the page sees a
    /// change event).
    pub async fn choose(&self, css: &str, value: &str) -> anyhow::Result<()> {
        self.wait_for(css)
            .await?
            .select_by_value(value)
            .await
            .with_context(|| format!("choosing {value:?} in {css}"))
    }

    /// Sets the value of the input matching `css` and fires its `change` event. For date fields, whose
    /// typing order depends on the browser's locale.
    pub async fn set_value(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let field = self.wait_for(css).await?;
        let field = serde_json::to_value(&field).context("the field as a script argument")?;
        self.client
            .execute(
                "arguments[0].value = arguments[1];\
                 arguments[0].dispatchEvent(new Event('change', { bubbles: true }));",
                vec![field, json!(value)],
            )
            .await
            .with_context(|| format!("setting {css} to {value:?}"))?;
        Ok(())
    }

    /// Waits until an element matches `css`.
    pub async fn wait_for_element(&self, css: &str) -> anyhow::Result<()> {
        self.wait_for(css).await.map(|_| ())
    }

    /// Waits until the text of the element matching `css` contains `needle`, and returns the whole text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> anyhow::Result<String> {
        self.poll(&format!("{css} to say {needle:?}"), || async {
            Ok(self
                .text_now(css)
                .await
                .filter(|text| text.contains(needle)))
        })
        .await
    }

    /// Waits until no element matches `css`.
    pub async fn wait_until_gone(&self, css: &str) -> anyhow::Result<()> {
        self.poll(&format!("{css} to disappear"), || async {
            Ok((!self.has(css).await?).then_some(()))
        })
        .await
    }

    /// The texts of every element matching `css`, in page order.
    pub async fn texts_of(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await? {
            texts.push(element.text().await?);
        }
        Ok(texts)
    }

    /// The attribute `name` of every element matching `css`, in page order.
    pub async fn attrs_of(&self, css: &str, name: &str) -> anyhow::Result<Vec<String>> {
        let mut values = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await? {
            values.push(element.attr(name).await?.unwrap_or_default());
        }
        Ok(values)
    }

    /// The attribute `name` of the element matching `css`, which must be on the page.
    pub async fn attr_of(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("finding {css}"))?;
        Ok(element.attr(name).await?)
    }

    /// The current value of the form field matching `css` (what a person sees in it).
    pub async fn value_of(&self, css: &str) -> anyhow::Result<String> {
        let element = self.wait_for(css).await?;
        Ok(element.prop("value").await?.unwrap_or_default())
    }

    /// The current values of every form field matching `css`, in page order.
    pub async fn values_of(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let mut values = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await? {
            values.push(element.prop("value").await?.unwrap_or_default());
        }
        Ok(values)
    }

    /// Whether the checkbox matching `css` is ticked.
    pub async fn is_checked(&self, css: &str) -> anyhow::Result<bool> {
        let element = self.wait_for(css).await?;
        Ok(element.prop("checked").await?.as_deref() == Some("true"))
    }

    /// Presses Tab, moving the keyboard's focus to the next control, as a person does.
    pub async fn press_tab(&self) -> anyhow::Result<()> {
        self.press_key(fantoccini::key::Key::Tab).await
    }

    /// Presses Enter on the focused element.
    pub async fn press_enter(&self) -> anyhow::Result<()> {
        self.press_key(fantoccini::key::Key::Enter).await
    }

    /// Presses the down arrow on the focused element (in a radio group: selects the next choice).
    pub async fn press_down(&self) -> anyhow::Result<()> {
        self.press_key(fantoccini::key::Key::Down).await
    }

    /// Types `text` into the focused element, as a person at the keyboard does.
    pub async fn type_text(&self, text: &str) -> anyhow::Result<()> {
        let focused = self
            .client
            .active_element()
            .await
            .context("finding the focused element")?;
        focused.send_keys(text).await.context("typing")
    }

    async fn press_key(&self, key: fantoccini::key::Key) -> anyhow::Result<()> {
        let focused = self
            .client
            .active_element()
            .await
            .context("finding the focused element")?;
        focused
            .send_keys(&char::from(key).to_string())
            .await
            .context("pressing a key")
    }

    /// The id of the element that has the keyboard's focus (empty when it has none).
    pub async fn focused_id(&self) -> anyhow::Result<String> {
        let focused = self.client.active_element().await?;
        Ok(focused.attr("id").await?.unwrap_or_default())
    }

    /// How the focused element shows that it has the focus: its computed outline, and whether it lies
    /// inside the window.
    pub async fn focus_indicator(&self) -> anyhow::Result<FocusIndicator> {
        let shown = self
            .client
            .execute(
                "const e = document.activeElement; const s = getComputedStyle(e); \
                 const r = e.getBoundingClientRect(); \
                 return [s.outlineStyle, s.outlineWidth, s.outlineColor, \
                         r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth, \
                         e.outerHTML.slice(0, 160)];",
                vec![],
            )
            .await
            .context("reading the focused element's outline")?;
        let shown: (String, String, String, bool, String) =
            serde_json::from_value(shown.clone())
                .with_context(|| format!("the outline as the script returns it: {shown}"))?;
        Ok(FocusIndicator {
            style: shown.0,
            width_px: shown.1.trim_end_matches("px").parse().unwrap_or(0.0),
            color: shown.2,
            in_view: shown.3,
            element: shown.4,
        })
    }

    /// Presses Tab at most `limit` times, until the focus leaves the page or reaches the element with id
    /// `last`, and answers each stop: the focused element's id (empty when it has none) and its focus
    /// indicator.
    pub async fn tab_stops(
        &self,
        limit: usize,
        last: Option<&str>,
    ) -> anyhow::Result<Vec<(String, FocusIndicator)>> {
        let mut stops = Vec::new();
        for _ in 0..limit {
            self.press_tab().await?;
            let ring = self.focus_indicator().await?;
            if ring.element.starts_with("<body") {
                break;
            }
            let id = self.focused_id().await?;
            let reached_last = last == Some(id.as_str());
            stops.push((id, ring));
            if reached_last {
                break;
            }
        }
        Ok(stops)
    }

    /// Resizes the browser window (the page's viewport follows).
    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.client
            .set_window_size(width, height)
            .await
            .context("resizing the window")
    }

    /// The elements that reach past the window's right edge, innermost first (at most five), to name in a
    /// failure: `tag.class (right edge px)`.
    pub async fn elements_past_the_right_edge(&self) -> anyhow::Result<Vec<String>> {
        let found = self
            .client
            .execute(
                "const w = document.documentElement.clientWidth; \
                 const past = e => e.getBoundingClientRect().right > w + 1; \
                 const clipped = e => { for (let a = e.parentElement; a && a !== document.body; \
                   a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') return true; } \
                   return false; }; \
                 return [...document.querySelectorAll('body *')] \
                   .filter(e => past(e) && !clipped(e) && ![...e.children].some(past)) \
                   .slice(0, 5) \
                   .map(e => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`);",
                vec![],
            )
            .await
            .context("looking for elements past the right edge")?;
        serde_json::from_value(found).context("the elements as the script returns them")
    }

    /// The rendered height in CSS pixels of the element matching `css`.
    pub async fn element_height(&self, css: &str) -> anyhow::Result<f64> {
        let element = self.wait_for(css).await?;
        let element = serde_json::to_value(&element).context("the element as a script argument")?;
        let height = self
            .client
            .execute(
                "return arguments[0].getBoundingClientRect().height;",
                vec![element],
            )
            .await
            .with_context(|| format!("measuring {css}"))?;
        height.as_f64().context("the height as a number")
    }

    /// How many CSS pixels the page is wider than the window (0: no sideways scrolling).
    pub async fn horizontal_overflow(&self) -> anyhow::Result<i64> {
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .context("measuring the page's width")?;
        overflow.as_i64().context("the overflow as a number")
    }

    /// The text of the element matching `css` right now, or `None` when there is none (or it was just
    /// replaced by a new rendering).
    async fn text_now(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    /// Asks `check` again every [`POLL_INTERVAL`] until it answers `Some`, for at most [`STEP_TIMEOUT`];
    /// `what` names the wait in the error, which also says what the page showed.
    pub(crate) async fn poll<T, F, Fut>(&self, what: &str, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            if let Some(found) = check().await? {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                let text = self.page_text().await.unwrap_or_default();
                let _ = self.screenshot("timeout").await;
                bail!("waited in vain for {what}; the page shows: {text}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// All text the page shows.
    pub async fn page_text(&self) -> anyhow::Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    /// The browser's cookies for the current page's site as a `Cookie` request header, HttpOnly ones
    /// included (WebDriver sees them; page scripts do not).
    pub async fn cookie_header(&self) -> anyhow::Result<String> {
        let cookies = self
            .client
            .get_all_cookies()
            .await
            .context("reading the cookies")?;
        Ok(cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; "))
    }

    /// Gives this browser `other`'s cookies for the current page's site (open a page of the site first): the
    /// same signed-in session in a browser that has nothing else of the app, no cache included.
    pub async fn take_cookies_of(&self, other: &Browser) -> anyhow::Result<()> {
        for cookie in other
            .client
            .get_all_cookies()
            .await
            .context("reading the cookies")?
        {
            self.client
                .add_cookie(cookie)
                .await
                .context("setting a cookie")?;
        }
        Ok(())
    }

    /// The time of the page's first User Timing mark `name`, in milliseconds from the start of its navigation
    /// (the time origin of Navigation Timing), if the page set it.
    pub async fn user_timing_mark(&self, name: &str) -> anyhow::Result<Option<f64>> {
        let time = self
            .client
            .execute(
                "const mark = performance.getEntriesByName(arguments[0], 'mark')[0];
                 return mark ? mark.startTime : null;",
                vec![json!(name)],
            )
            .await
            .context("reading a User Timing mark")?;
        Ok(time.as_f64())
    }

    /// Every resource the page has fetched since it was opened, in the order of Resource Timing: its file
    /// name (the last segment of its path) and the bytes of its body as they came over the network (after
    /// compression; 0 when it came from the cache).
    pub async fn fetched_resources(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let resources = self
            .client
            .execute(
                "return performance.getEntriesByType('resource').map(entry =>
                     [new URL(entry.name).pathname.split('/').pop(),
                      entry.transferSize > 0 ? entry.encodedBodySize : 0]);",
                vec![],
            )
            .await
            .context("reading Resource Timing")?;
        Ok(serde_json::from_value(resources)?)
    }

    /// The file names of [`Browser::fetched_resources`].
    pub async fn fetched_file_names(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .fetched_resources()
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// Forgets every cookie of the current site, as when the session cookie expires in the browser.
    pub async fn delete_cookies(&self) -> anyhow::Result<()> {
        self.client
            .delete_all_cookies()
            .await
            .context("deleting the cookies")
    }

    /// Saves a PNG of the viewport as `e2e/artifacts/<test>-<nn>-<step>.png` and returns its path.
    pub async fn screenshot(&self, step: &str) -> anyhow::Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let dir = repo_dir().join("e2e").join("artifacts");
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
        let number = self.screenshots.fetch_add(1, Ordering::Relaxed) + 1;
        let path = dir.join(format!("{}-{number:02}-{step}.png", self.test_name));
        tokio::fs::write(&path, png)
            .await
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Like [`Browser::screenshot`], and also writes the picture to `docs/screenshots/<name>.png`, where the
    /// README shows it: the README's screenshots are whatever the browser tests last saw.
    pub async fn readme_screenshot(&self, step: &str, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.screenshot(step).await?;
        let dir = repo_dir().join("docs").join("screenshots");
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
        let readme_copy = dir.join(format!("{name}.png"));
        tokio::fs::copy(&path, &readme_copy)
            .await
            .with_context(|| format!("writing {}", readme_copy.display()))?;
        Ok(path)
    }

    /// Ends the browser session and stops the browser.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.closed = true;
        self.client
            .clone()
            .close()
            .await
            .context("closing the browser")
    }

    /// Waits for an element matching `css` (WebDriver wait, polling the DOM). On timeout the error names the
    /// page the browser is on, and a `timeout` screenshot shows what it looked like.
    pub(crate) async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        let waited = self
            .client
            .wait()
            .at_most(STEP_TIMEOUT)
            .every(POLL_INTERVAL)
            .for_element(Locator::Css(css))
            .await;
        match waited {
            Ok(element) => Ok(element),
            Err(error) => {
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|url| url.to_string())
                    .unwrap_or_default();
                let text = self.page_text().await.unwrap_or_default();
                let _ = self.screenshot("timeout").await;
                Err(anyhow::Error::new(error)
                    .context(format!("waiting for {css} on {url}, which shows: {text}")))
            }
        }
    }
}

impl Drop for Browser {
    /// A test that fails half-way still ends its browser: chromedriver is killed with the value, and
    /// Chromium would otherwise outlive it.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        let client = self.client.clone();
        tokio::task::block_in_place(|| {
            let _ = handle.block_on(tokio::time::timeout(
                Duration::from_secs(10),
                client.close(),
            ));
        });
    }
}

/// How many times chromedriver is started before a test gives up on it. Under the load of parallel browser
/// tests it has been seen to exit during start-up now and then; a second start works.
const DRIVER_START_ATTEMPTS: u32 = 3;

/// Starts chromedriver on port 0 and reads the port it chose from its start-up line, so no other process
/// can take the port between choosing and binding it. A chromedriver that exits before it is ready is started
/// again; the error after the last attempt carries what it printed.
async fn start_chromedriver(path: &str) -> anyhow::Result<(Child, u16)> {
    let mut last_error = None;
    for _ in 0..DRIVER_START_ATTEMPTS {
        match start_chromedriver_once(path).await {
            Ok(started) => return Ok(started),
            Err(error) => {
                eprintln!("e2e: chromedriver did not start, trying again: {error:#}");
                last_error = Some(error);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("chromedriver was never started")))
}

async fn start_chromedriver_once(path: &str) -> anyhow::Result<(Child, u16)> {
    let mut driver = Command::new(path)
        .arg("--port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {path} (set CHROMEDRIVER to its path)"))?;
    let stdout = driver.stdout.take().context("chromedriver's output")?;
    let stderr = driver
        .stderr
        .take()
        .context("chromedriver's error output")?;
    // Its error output is kept for the error message, and read to the end so that it never blocks.
    let errors = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut kept = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if kept.len() < 20 {
                kept.push(line);
            }
        }
        kept
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let started = tokio::time::timeout(DRIVER_START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.split(DRIVER_READY).nth(1) {
                return rest
                    .trim_end_matches('.')
                    .trim()
                    .parse::<u16>()
                    .context("chromedriver's port");
            }
            printed.push(line);
        }
        bail!("chromedriver exited before it was ready")
    })
    .await;
    let port = match started {
        Ok(Ok(port)) => port,
        failed => {
            let _ = driver.start_kill();
            let status = driver.wait().await.ok();
            let errors = errors.await.unwrap_or_default();
            let why = match failed {
                Ok(Err(error)) => error,
                _ => anyhow::anyhow!("chromedriver did not start within {DRIVER_START_TIMEOUT:?}"),
            };
            return Err(why.context(format!(
                "exit status {status:?}; it printed {:?} and {:?}",
                printed, errors
            )));
        }
    };
    // Chromedriver keeps writing to its output; keep reading so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((driver, port))
}
