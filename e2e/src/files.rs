//! The steps of the files page: choosing files for upload, watching their progress bars, reading the list,
//! and calling the API from inside the page as its own scripts would.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::Locator;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::json;
use url::Url;

use crate::browser::Browser;

/// How often the page samples the progress bars while an upload runs.
const SAMPLE_EVERY_MS: u32 = 20;
/// How long a large upload may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// A file row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// `data-file-id`.
    pub id: String,
    /// The link's text.
    pub name: String,
    /// `.file-size`.
    pub size: String,
    /// `.file-uploader`.
    pub uploader: String,
    /// The link's `href` (the download route).
    pub href: String,
    /// Whether the row offers Delete.
    pub deletable: bool,
}

/// A command of Chromium's DevTools protocol, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct DevTools {
    method: &'static str,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    /// Limits how fast the browser sends request bodies, as on a slow uplink, so that a local upload takes
    /// long enough for its progress to be watched.
    pub async fn limit_upload_speed(&self, bytes_per_second: u32) -> anyhow::Result<()> {
        self.network_conditions(false, bytes_per_second).await
    }

    /// Cuts the browser off the network (every request fails at once, as with the cable pulled), or brings
    /// it back at `bytes_per_second` upload speed.
    pub async fn set_offline(&self, offline: bool, bytes_per_second: u32) -> anyhow::Result<()> {
        self.network_conditions(offline, bytes_per_second).await
    }

    async fn network_conditions(&self, offline: bool, bytes_per_second: u32) -> anyhow::Result<()> {
        self.client()
            .issue_cmd(DevTools {
                method: "Network.enable",
                params: json!({}),
            })
            .await
            .context("enabling the DevTools network domain")?;
        self.client()
            .issue_cmd(DevTools {
                method: "Network.emulateNetworkConditions",
                params: json!({
                    "offline": offline,
                    "latency": 0,
                    "downloadThroughput": -1,
                    "uploadThroughput": bytes_per_second,
                }),
            })
            .await
            .context("changing the network conditions")?;
        Ok(())
    }

    /// Starts sampling, inside the page, the value of every upload progress bar every 20 ms, for
    /// [`Browser::progress_samples`].
    pub async fn sample_upload_progress(&self) -> anyhow::Result<()> {
        self.client()
            .execute(
                "window.__progressSamples = [];\
                 window.__progressSampler = setInterval(() => {\
                   for (const bar of document.querySelectorAll('.upload-progress')) {\
                     const samples = window.__progressSamples;\
                     if (samples.length === 0 || samples[samples.length - 1] !== bar.value) {\
                       samples.push(bar.value);\
                     }\
                   }\
                 }, arguments[0]);",
                vec![json!(SAMPLE_EVERY_MS)],
            )
            .await
            .context("installing the progress sampler")?;
        Ok(())
    }

    /// The distinct successive values the progress bar showed since [`Browser::sample_upload_progress`].
    pub async fn progress_samples(&self) -> anyhow::Result<Vec<f64>> {
        let samples = self
            .client()
            .execute(
                "clearInterval(window.__progressSampler); return window.__progressSamples;",
                vec![],
            )
            .await
            .context("reading the progress samples")?;
        Ok(serde_json::from_value(samples)?)
    }

    /// How many bytes the progress bar of the upload of `name` shows as sent (0 without such an upload).
    pub async fn upload_progress(&self, name: &str) -> anyhow::Result<f64> {
        let value = self
            .client()
            .execute(
                "const row = [...document.querySelectorAll('.upload-item')]\
                   .find((item) => item.dataset.uploadName === arguments[0]);\
                 return row ? row.querySelector('.upload-progress').value : 0;",
                vec![json!(name)],
            )
            .await
            .context("reading the progress bar")?;
        Ok(value.as_f64().unwrap_or_default())
    }

    /// Waits until the upload of `name` has sent more than `bytes`.
    pub async fn wait_for_progress_past(&self, name: &str, bytes: f64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + UPLOAD_TIMEOUT;
        while self.upload_progress(name).await? <= bytes {
            if tokio::time::Instant::now() >= deadline {
                bail!("the upload of {name} never passed {bytes} bytes");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Presses `button` (`cancel`, `retry` or `dismiss`) on the upload of `name`.
    pub async fn press_upload_button(&self, name: &str, button: &str) -> anyhow::Result<()> {
        self.click(&format!(
            ".upload-item[data-upload-name=\"{name}\"] .upload-{button}"
        ))
        .await
    }

    /// Starts counting, inside the page, the app's requests for upload credentials (its `fetch` calls to
    /// `POST /api/v1/storage/credentials`), for [`Browser::credential_requests`].
    pub async fn count_credential_requests(&self) -> anyhow::Result<()> {
        self.client()
            .execute(
                "window.__credentialRequests = 0;\
                 const fetch = window.fetch;\
                 window.fetch = function (resource, init) {\
                   const url = resource instanceof Request ? resource.url : String(resource);\
                   if (url.includes('/api/v1/storage/credentials')) { window.__credentialRequests += 1; }\
                   return fetch.apply(this, arguments);\
                 };",
                vec![],
            )
            .await
            .context("counting credential requests")?;
        Ok(())
    }

    /// How many credential requests the page made since [`Browser::count_credential_requests`].
    pub async fn credential_requests(&self) -> anyhow::Result<u64> {
        let count = self
            .client()
            .execute("return window.__credentialRequests;", vec![])
            .await
            .context("reading the credential request count")?;
        count
            .as_u64()
            .context("the page has no credential request count")
    }

    /// Chooses `files` in the upload picker, as a person does in the file dialog.
    pub async fn choose_files(&self, files: &[&Path]) -> anyhow::Result<()> {
        let input = self
            .client()
            .find(Locator::Css("#upload-input"))
            .await
            .context("finding the upload picker")?;
        let paths = files
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        input
            .send_keys(&paths)
            .await
            .context("choosing the files")?;
        Ok(())
    }

    /// Drops a file named `name` holding `text` on the drop zone, as when a person drags it there from their
    /// desktop: the same `drop` event, with the file in its `DataTransfer`.
    pub async fn drop_file(&self, name: &str, text: &str) -> anyhow::Result<()> {
        self.client()
            .execute(
                "const transfer = new DataTransfer();\
                 transfer.items.add(new File([arguments[1]], arguments[0], { type: 'text/plain' }));\
                 const zone = document.querySelector('#upload-drop');\
                 zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));\
                 zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));",
                vec![json!(name), json!(text)],
            )
            .await
            .with_context(|| format!("dropping {name}"))?;
        Ok(())
    }

    /// Starts keeping, inside the page, what the app hands the browser to save (the CSV export: a blob behind
    /// a temporary link the app clicks), instead of letting the browser save it; see
    /// [`Browser::saved_downloads`].
    pub async fn capture_downloads(&self) -> anyhow::Result<()> {
        self.client()
            .execute(
                "window.__saved = []; const blobs = new Map();\
                 const create = URL.createObjectURL;\
                 URL.createObjectURL = function (blob) { const url = create.call(URL, blob); blobs.set(url, blob); return url; };\
                 const click = HTMLAnchorElement.prototype.click;\
                 HTMLAnchorElement.prototype.click = function () {\
                   const blob = blobs.get(this.href);\
                   if (!blob) { return click.call(this); }\
                   const name = this.download;\
                   blob.text().then(text => window.__saved.push([name, text]));\
                 };",
                vec![],
            )
            .await
            .context("capturing downloads")?;
        Ok(())
    }

    /// Waits until the app has handed the browser a download since [`Browser::capture_downloads`], and
    /// returns each as (file name, text).
    pub async fn saved_downloads(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.poll("a download", || async {
            let saved = self
                .client()
                .execute("return window.__saved;", vec![])
                .await
                .context("reading the captured downloads")?;
            let saved: Vec<(String, String)> =
                serde_json::from_value(saved).context("the downloads as the page keeps them")?;
            Ok((!saved.is_empty()).then_some(saved))
        })
        .await
    }

    /// Drops a file named `name` of `size` zero bytes on the drop zone (made in the page, so a large file
    /// costs the test nothing to send to the browser).
    pub async fn drop_blank_file(&self, name: &str, size: u64) -> anyhow::Result<()> {
        self.client()
            .execute(
                "const transfer = new DataTransfer();\
                 transfer.items.add(new File([new Uint8Array(arguments[1])], arguments[0]));\
                 const zone = document.querySelector('#upload-drop');\
                 zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));",
                vec![json!(name), json!(size)],
            )
            .await
            .with_context(|| format!("dropping {name}"))?;
        Ok(())
    }

    /// Waits until the upload of `name` is recorded and returns its final status (`done`, or `cancelled`);
    /// a failed upload is an error naming the reason shown.
    pub async fn wait_for_upload(&self, name: &str) -> anyhow::Result<String> {
        let (status, shown) = self.wait_for_upload_end(name).await?;
        if status == "failed" {
            bail!("the upload of {name} failed: {shown}");
        }
        Ok(status)
    }

    /// Waits until the upload of `name` stops (`done`, `failed`, `refused` or `cancelled`): the status and
    /// the text shown for it.
    pub async fn wait_for_upload_end(&self, name: &str) -> anyhow::Result<(String, String)> {
        let row = format!(".upload-item[data-upload-name=\"{name}\"]");
        let deadline = tokio::time::Instant::now() + UPLOAD_TIMEOUT;
        loop {
            let status = self.attr_of(&row, "data-status").await?.unwrap_or_default();
            if matches!(status.as_str(), "done" | "failed" | "refused" | "cancelled") {
                let shown = self.text_of(&format!("{row} .upload-status")).await?;
                return Ok((status, shown));
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self.screenshot("upload-timeout").await;
                bail!("the upload of {name} is still {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The rows of the file list.
    pub async fn file_rows(&self) -> anyhow::Result<Vec<FileRow>> {
        let mut rows = Vec::new();
        for row in self
            .client()
            .find_all(Locator::Css("#file-list .file-item"))
            .await?
        {
            let link = row.find(Locator::Css(".file-download")).await?;
            rows.push(FileRow {
                id: row.attr("data-file-id").await?.unwrap_or_default(),
                name: link.text().await?,
                size: row.find(Locator::Css(".file-size")).await?.text().await?,
                uploader: row
                    .find(Locator::Css(".file-uploader"))
                    .await?
                    .text()
                    .await?,
                href: link.attr("href").await?.unwrap_or_default(),
                deletable: !row.find_all(Locator::Css(".file-delete")).await?.is_empty(),
            });
        }
        Ok(rows)
    }

    /// `fetch(path, {method})` from inside the page, as the app's own code would send it (same origin, the
    /// session cookie, the browser's `Origin`): the status and the error code of the answer, if any.
    pub async fn fetch_from_page(
        &self,
        method: &str,
        path: &str,
    ) -> anyhow::Result<(u16, Option<String>)> {
        let answer = self
            .client()
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 fetch(arguments[1], { method: arguments[0], headers: { 'Content-Type': 'application/json' }, body: '{}' })\
                   .then(async (response) => {\
                     let code = null;\
                     try { code = (await response.json()).code ?? null; } catch (_) {}\
                     done([response.status, code]);\
                   })\
                   .catch((error) => done([0, String(error)]));",
                vec![json!(method), json!(path)],
            )
            .await
            .with_context(|| format!("{method} {path} from the page"))?;
        Ok(serde_json::from_value(answer)?)
    }
}
