//! A list that grows page by page ("Load more"), for the reports, members and audit log pages.
//!
//! The API pages with opaque cursors; this keeps the rows loaded so far, the cursor of the next page and
//! whether a page is on its way. Starting over (new filters) makes answers to earlier requests stale, so a
//! slow first page can never overwrite a newer one.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::session::Problem;

/// Where loading stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadStatus {
    /// A page is on its way.
    Loading,
    /// The last page asked for has arrived.
    Ready,
    /// The last page asked for could not be loaded.
    Failed(Problem),
}

/// The rows loaded so far and the way to the next page.
#[derive(Debug)]
pub struct Pages<T: Send + Sync + 'static> {
    /// The rows, in the API's order.
    pub items: RwSignal<Vec<T>>,
    /// Where loading stands.
    pub status: RwSignal<LoadStatus>,
    next_cursor: RwSignal<Option<String>>,
    generation: RwSignal<u64>,
}

impl<T: Send + Sync + 'static> Clone for Pages<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Pages<T> {}

impl<T: Send + Sync + 'static> Pages<T> {
    /// An empty list, loading.
    pub fn new() -> Self {
        Pages {
            items: RwSignal::new(Vec::new()),
            status: RwSignal::new(LoadStatus::Loading),
            next_cursor: RwSignal::new(None),
            generation: RwSignal::new(0),
        }
    }

    /// Whether another page follows the rows loaded so far.
    pub fn has_more(&self) -> bool {
        self.next_cursor.with(Option::is_some)
    }

    /// Throws the rows away and loads the first page with `fetch(None)`.
    pub fn reload<F, Fut>(self, fetch: F)
    where
        F: FnOnce(Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), Problem>> + 'static,
    {
        self.generation.update(|generation| *generation += 1);
        self.items.set(Vec::new());
        self.next_cursor.set(None);
        self.fetch(None, fetch);
    }

    /// Loads the page after the rows loaded so far with `fetch(Some(cursor))`; does nothing on the last page
    /// or while a page is on its way.
    pub fn load_more<F, Fut>(self, fetch: F)
    where
        F: FnOnce(Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), Problem>> + 'static,
    {
        let cursor = self.next_cursor.get_untracked();
        if cursor.is_none() || self.status.get_untracked() == LoadStatus::Loading {
            return;
        }
        self.fetch(cursor, fetch);
    }

    /// Replaces the first row `matches` accepts (a row changed on the server).
    pub fn replace(&self, matches: impl Fn(&T) -> bool, row: T) {
        self.items.update(|items| {
            if let Some(slot) = items.iter_mut().find(|item| matches(item)) {
                *slot = row;
            }
        });
    }

    fn fetch<F, Fut>(self, cursor: Option<String>, fetch: F)
    where
        F: FnOnce(Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), Problem>> + 'static,
    {
        let generation = self.generation.get_untracked();
        self.status.set(LoadStatus::Loading);
        let page = fetch(cursor);
        spawn_local(async move {
            let result = page.await;
            // The list may have started over, or its page been left, while the request was on its way.
            if self.generation.try_get_untracked() != Some(generation) {
                return;
            }
            match result {
                Ok((rows, next_cursor)) => {
                    self.items.update(|items| items.extend(rows));
                    self.next_cursor.set(next_cursor);
                    self.status.set(LoadStatus::Ready);
                }
                Err(problem) => self.status.set(LoadStatus::Failed(problem)),
            }
        });
    }
}

impl<T: Send + Sync + 'static> Default for Pages<T> {
    fn default() -> Self {
        Self::new()
    }
}
