//! Downloads started from the app: the exports (reports, audit log) and a file's download go through the API client first, so
//! an ended session leads to the sign-in page and a refusal (a file deleted meanwhile, a plan without the
//! export) is said on the page, instead of the browser showing the API's raw JSON.

use shared::ErrorCode;
use shared::api::FileLink;
use wasm_bindgen::JsCast as _;

use crate::api::{Api, FILES, item_path};
use crate::session::Problem;

/// The export at `path?query` (of type `mime`), saved by the browser under the name the server gives it.
pub async fn save_export(
    api: Api,
    path: &str,
    query: Vec<(&'static str, String)>,
    mime: &str,
    fallback_name: &str,
) -> Result<(), Problem> {
    let (text, name) = api.get_text(path.to_owned(), query).await?;
    let name = name.unwrap_or_else(|| fallback_name.to_owned());
    save_text(&text, mime, &name).ok_or_else(|| Problem {
        code: None,
        message: "The browser did not let the app save the file. Please try again.".to_owned(),
    })
}

/// Downloads the file with id `id`: asks the API for a short-lived link, then lets the browser fetch it
/// straight from storage (the link names the file, so the page stays where it is).
pub async fn download_file(api: Api, id: &str) -> Result<(), Problem> {
    let Some(path) = item_path(FILES, id).map(|path| format!("{path}/link")) else {
        return Err(gone());
    };
    let link = api.get::<FileLink>(path).await.map_err(|problem| {
        if problem.code == Some(ErrorCode::NotFound) {
            gone()
        } else {
            problem
        }
    })?;
    leptos::prelude::window()
        .location()
        .assign(&link.url)
        .map_err(|_| Problem {
            code: None,
            message: "The browser did not start the download. Please try again.".to_owned(),
        })
}

/// What to say about a file that is no longer there.
fn gone() -> Problem {
    Problem {
        code: Some(ErrorCode::NotFound),
        message: "This file is no longer there: someone deleted it. Reload the list to see the current files."
            .to_owned(),
    }
}

/// Hands `text` to the browser as a download named `name` (a temporary object URL and a link clicked for
/// it); `None` when the browser refuses.
fn save_text(text: &str, mime: &str, name: &str) -> Option<()> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let document = leptos::prelude::document();
    let link = document
        .create_element("a")
        .ok()?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .ok()?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Some(())
}

/// The file name of a `Content-Disposition: attachment; filename="…"` header, if it names a plain one.
pub fn attachment_name(disposition: &str) -> Option<String> {
    let (_, rest) = disposition.split_once("filename=\"")?;
    let (name, _) = rest.split_once('"')?;
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    plain.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_taken_from_the_header() {
        assert_eq!(
            attachment_name("attachment; filename=\"reports-acme-2026-12-02.csv\"").as_deref(),
            Some("reports-acme-2026-12-02.csv")
        );
        assert_eq!(attachment_name("attachment"), None);
        assert_eq!(attachment_name("attachment; filename=\"../../x\""), None);
        assert_eq!(attachment_name("attachment; filename=\"\""), None);
    }
}
