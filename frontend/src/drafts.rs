//! Unsent writing kept in the browser tab, so a session that ends while someone writes loses nothing.
//!
//! A draft lives in the tab's `sessionStorage` under the member's id and the page's path: it survives the
//! round trip through the identity provider (same tab, same origin), is gone when the tab is closed, and is
//! offered back only to the member who wrote it, at the page where they wrote it. It never leaves the
//! browser; saving the form sends it to the API as usual and removes it.

use serde::{Deserialize, Serialize};

/// What a report form holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDraft {
    /// The title typed so far.
    pub title: String,
    /// The text typed so far.
    pub body: String,
}

/// The storage key of `member_id`'s draft on the page at `path`.
pub fn draft_key(member_id: &str, path: &str) -> String {
    format!("draft:{member_id}:{path}")
}

/// The draft stored under `key`, if there is one this app can read.
pub fn load(key: &str) -> Option<ReportDraft> {
    let stored = storage()?.get_item(key).ok()??;
    serde_json::from_str(&stored).ok()
}

/// Keeps `draft` under `key`; an empty draft is removed instead. Storage that is full or switched off
/// loses the draft, which is what the tab would do without this module.
pub fn save(key: &str, draft: &ReportDraft) {
    if draft.title.is_empty() && draft.body.is_empty() {
        discard(key);
        return;
    }
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(draft)) {
        let _ = storage.set_item(key, &json);
    }
}

/// Removes the draft under `key`.
pub fn discard(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

/// The tab's session storage, when the browser offers it.
pub(crate) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_belongs_to_one_member_and_one_page() {
        assert_eq!(draft_key("m1", "/reports/new"), "draft:m1:/reports/new");
        assert_ne!(
            draft_key("m1", "/reports/new"),
            draft_key("m2", "/reports/new")
        );
        assert_ne!(
            draft_key("m1", "/reports/new"),
            draft_key("m1", "/reports/r1/edit")
        );
    }
}
