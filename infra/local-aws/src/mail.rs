//! The stand-ins' mailbox: every email a user pool sends (an invitation with a temporary password, a password
//! reset code) is delivered here instead of through Amazon SES, on a listener of its own. A person reads them
//! at `/` (newest first); tools and tests read `/messages` (JSON, `?to=` filters by recipient) or call
//! [`Outbox::messages_to`] in-process.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::web::{esc, page};

/// The most emails kept; the oldest go first. Enough for a day of local work, bounded for a long test run.
const KEPT: usize = 1000;

/// An email a pool sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The sending pool's name (`saas-reference-operators`).
    pub from: String,
    /// The subject.
    pub subject: String,
    /// The body, placeholders filled in.
    pub body: String,
    /// When it was sent, in seconds since the Unix epoch.
    pub sent_at: u64,
}

/// Every email sent so far (the most recent thousand), shared by the pools and the listener.
#[derive(Clone, Default)]
pub struct Outbox {
    emails: Arc<Mutex<Vec<Email>>>,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Vec<Email>> {
        // Emails are only ever appended whole, so a poisoned list is still consistent.
        self.emails
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Delivers an email.
    pub(crate) fn send(&self, from: &str, to: &str, subject: &str, body: &str) {
        tracing::info!(%to, %subject, "email delivered to the local outbox");
        let sent_at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let mut emails = self.lock();
        if emails.len() >= KEPT {
            emails.remove(0);
        }
        emails.push(Email {
            to: to.to_owned(),
            from: from.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            sent_at,
        });
    }

    /// The emails sent to `to` (compared without regard to case), oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<Email> {
        self.lock()
            .iter()
            .filter(|email| email.to.eq_ignore_ascii_case(to))
            .cloned()
            .collect()
    }

    /// Every email kept, oldest first.
    pub fn all(&self) -> Vec<Email> {
        self.lock().clone()
    }
}

#[derive(Deserialize)]
struct Filter {
    to: Option<String>,
}

/// The mailbox's listener.
pub(crate) fn router(outbox: Outbox) -> Router {
    Router::new()
        .route("/", get(list_page))
        .route("/messages", get(list_json))
        .with_state(outbox)
}

fn select(outbox: &Outbox, filter: &Filter) -> Vec<Email> {
    match filter
        .to
        .as_deref()
        .map(str::trim)
        .filter(|to| !to.is_empty())
    {
        Some(to) => outbox.messages_to(to),
        None => outbox.all(),
    }
}

/// `GET /messages[?to=]`: the emails as JSON, oldest first.
async fn list_json(State(outbox): State<Outbox>, Query(filter): Query<Filter>) -> Json<Vec<Email>> {
    Json(select(&outbox, &filter))
}

/// `GET /[?to=]`: the emails for a person, newest first.
async fn list_page(State(outbox): State<Outbox>, Query(filter): Query<Filter>) -> Response {
    let emails = select(&outbox, &filter);
    let items: String = emails
        .iter()
        .rev()
        .map(|email| {
            let sent = time::OffsetDateTime::from_unix_timestamp(
                i64::try_from(email.sent_at).unwrap_or_default(),
            )
            .map(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            })
            .unwrap_or_default();
            format!(
                "<article class=\"email\">\n<h2>{}</h2>\n<p class=\"hint\">To {} · from {} · {}</p>\n<pre>{}</pre>\n</article>\n",
                esc(&email.subject),
                esc(&email.to),
                esc(&email.from),
                esc(&sent),
                esc(&email.body)
            )
        })
        .collect();
    let body = if items.is_empty() {
        "<main class=\"card\">\n<h1>Outbox</h1>\n<p>No email has been sent yet. Invitations and password reset \
         codes of the local user pools appear here.</p>\n</main>"
            .to_owned()
    } else {
        format!(
            "<main class=\"card wide\">\n<h1>Outbox</h1>\n<p class=\"hint\">Emails the local user pools sent, \
             newest first.</p>\n{items}</main>"
        )
    };
    let style = ".wide{max-width:720px}.email{border-top:1px solid #d0d0d0;padding:8px 0}\
                 .email h2{font-size:1.05rem;margin:4px 0}pre{white-space:pre-wrap;font:inherit}";
    Html(page("Outbox", style, &body)).into_response()
}
