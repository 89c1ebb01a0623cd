//! Calls to the JSON API: one small client every page uses, and the paths it calls.
//!
//! The browser sends the session cookie by itself (same origin) and an `Origin` header on state-changing
//! requests, which is what the backend's CSRF check looks at; the app never handles a token. Every error
//! becomes a [`Problem`] carrying the server's message. An answer that says the session is over (401) or the
//! member was deactivated (403 `member_inactive`) also changes the app's [`Session`], so the whole workspace
//! gives way to the sign-in page or the deactivation message, whichever page made the call.

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::session::{Problem, Session, problem_from_error};

/// `GET /api/v1/dashboard`.
pub const DASHBOARD: &str = "/api/v1/dashboard";
/// `GET|POST /api/v1/reports`.
pub const REPORTS: &str = "/api/v1/reports";
/// `GET /api/v1/reports/export.csv`: fetched by the app and handed to the browser as a download.
pub const REPORTS_CSV: &str = "/api/v1/reports/export.csv";
/// `GET /api/v1/members`.
pub const MEMBERS: &str = "/api/v1/members";
/// `GET|POST /api/v1/invitations`.
pub const INVITATIONS: &str = "/api/v1/invitations";
/// `GET|PUT /api/v1/tenant/settings`.
pub const TENANT_SETTINGS: &str = "/api/v1/tenant/settings";
/// `GET /api/v1/audit`.
pub const AUDIT: &str = "/api/v1/audit";
/// `GET /api/v1/audit/export?format=csv|json`: fetched by the app and handed to the browser as a download.
pub const AUDIT_EXPORT: &str = "/api/v1/audit/export";
/// `GET|POST /api/v1/files`.
pub const FILES: &str = "/api/v1/files";
/// `POST /api/v1/storage/credentials`: short-lived upload credentials for the member's own prefix.
pub const STORAGE_CREDENTIALS: &str = "/api/v1/storage/credentials";

/// How many rows a list asks for per page.
pub const PAGE_SIZE: &str = "20";

/// The message for an answer the app cannot read (a proxy's page, or a newer server's body).
const UNREADABLE_ANSWER: &str =
    "The server sent an answer this app does not understand. Please reload the page.";

/// The caller's own browser sessions.
pub const MY_SESSIONS: &str = "/api/v1/me/sessions";

/// The path of one item of a collection (`/api/v1/reports/<id>`), or `None` when `id` is not an id this API
/// hands out. Ids come from the address bar too, and one such as `..` must not turn into another route.
pub fn item_path(collection: &str, id: &str) -> Option<String> {
    let is_id = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    is_id.then(|| format!("{collection}/{id}"))
}

/// The API client. `Copy`, so event handlers and async tasks take it along freely.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// Told when an answer says the session is over ([`Session::Expired`] or [`Session::Unavailable`]).
    on_end: Callback<Session>,
}

impl Api {
    /// A client that reports the end of the session to `session`.
    pub fn new(session: RwSignal<Session>) -> Self {
        Api::reporting_to(Callback::new(move |ended| session.set(ended)))
    }

    /// A client that reports the end of the session to `on_end` (the operators' console keeps a session of
    /// its own kind).
    pub fn reporting_to(on_end: Callback<Session>) -> Self {
        Api { on_end }
    }

    /// `GET path` and the JSON answer.
    pub async fn get<T: DeserializeOwned>(self, path: String) -> Result<T, Problem> {
        self.get_with(path, Vec::new()).await
    }

    /// `GET path?query` and the JSON answer. Query values are encoded by the browser.
    pub async fn get_with<T: DeserializeOwned>(
        self,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> Result<T, Problem> {
        let request = Request::get(&path).query(query);
        let response = self.send(request).await?;
        read_json(&response).await
    }

    /// `GET path?query` and the text answer, with the file name its `Content-Disposition` gives.
    pub async fn get_text(
        self,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> Result<(String, Option<String>), Problem> {
        let response = self.send(Request::get(&path).query(query)).await?;
        let name = response
            .headers()
            .get("content-disposition")
            .as_deref()
            .and_then(crate::downloads::attachment_name);
        let text = response.text().await.map_err(|_| Problem::unreachable())?;
        Ok((text, name))
    }

    /// `POST path` with a JSON body, and the JSON answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        self,
        path: String,
        body: &B,
    ) -> Result<T, Problem> {
        self.send_json(Method::POST, path, body).await
    }

    /// `POST path` with a JSON body; any success (204) is `Ok`.
    pub async fn post_no_content<B: Serialize>(
        self,
        path: String,
        body: &B,
    ) -> Result<(), Problem> {
        let request = RequestBuilder::new(&path)
            .method(Method::POST)
            .json(body)
            .map_err(|_| Problem {
                code: None,
                message: "The app could not prepare this request. Please reload the page.".into(),
            })?;
        let response = request.send().await.map_err(|_| Problem::unreachable())?;
        self.check(response).await.map(|_| ())
    }

    /// `PATCH path` with a JSON body, and the JSON answer.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        self,
        path: String,
        body: &B,
    ) -> Result<T, Problem> {
        self.send_json(Method::PATCH, path, body).await
    }

    /// `PUT path` with a JSON body, and the JSON answer.
    pub async fn put<B: Serialize, T: DeserializeOwned>(
        self,
        path: String,
        body: &B,
    ) -> Result<T, Problem> {
        self.send_json(Method::PUT, path, body).await
    }

    /// `DELETE path`; any success (204) is `Ok`.
    pub async fn delete(self, path: String) -> Result<(), Problem> {
        self.send(Request::delete(&path)).await.map(|_| ())
    }

    /// `DELETE path` and the JSON answer (what was deleted).
    pub async fn delete_json<T: DeserializeOwned>(self, path: String) -> Result<T, Problem> {
        let response = self.send(Request::delete(&path)).await?;
        read_json(&response).await
    }

    /// `DELETE path` with a JSON body (a typed confirmation), and the JSON answer.
    pub async fn delete_with<B: Serialize, T: DeserializeOwned>(
        self,
        path: String,
        body: &B,
    ) -> Result<T, Problem> {
        self.send_json(Method::DELETE, path, body).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        self,
        method: Method,
        path: String,
        body: &B,
    ) -> Result<T, Problem> {
        let request = RequestBuilder::new(&path)
            .method(method)
            .json(body)
            .map_err(|_| Problem {
                code: None,
                message: "The app could not prepare this request. Please reload the page.".into(),
            })?;
        let response = request.send().await.map_err(|_| Problem::unreachable())?;
        let response = self.check(response).await?;
        read_json(&response).await
    }

    async fn send(self, request: RequestBuilder) -> Result<Response, Problem> {
        let response = request
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|_| Problem::unreachable())?;
        self.check(response).await
    }

    /// Passes a successful answer through; turns any other into a [`Problem`], ending the session first
    /// when the answer says it is over.
    async fn check(self, response: Response) -> Result<Response, Problem> {
        if response.ok() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let problem = problem_from_error(status, &body);
        if let Some(session) = ending(status, &problem) {
            self.on_end.run(session);
        }
        Err(problem)
    }
}

/// The session an error answer leaves the app in, when it is not the current one: the sign-in page saying
/// the session ended after a 401, the screen that says why after `member_inactive` or `tenant_suspended`.
fn ending(status: u16, problem: &Problem) -> Option<Session> {
    if status == 401 {
        return Some(Session::Expired);
    }
    problem
        .suggests_sign_out()
        .then(|| Session::Unavailable(problem.clone()))
}

/// The body of a successful answer as `T`.
async fn read_json<T: DeserializeOwned>(response: &Response) -> Result<T, Problem> {
    response.json::<T>().await.map_err(|_| Problem {
        code: None,
        message: UNREADABLE_ANSWER.to_owned(),
    })
}

/// Makes the client available to every page below the caller.
pub fn provide_api(session: RwSignal<Session>) {
    provide_context(Api::new(session));
}

/// Makes `api` available to every page below the caller.
pub fn provide_api_client(api: Api) {
    provide_context(api);
}

/// The client the app provided.
pub fn use_api() -> Api {
    expect_context::<Api>()
}

#[cfg(test)]
mod tests {
    use shared::{ErrorBody, ErrorCode};

    use super::*;

    #[test]
    fn item_paths_take_only_ids() {
        assert_eq!(
            item_path(REPORTS, "6f1c2a3e-0acb-4d5e-9f10-ac3e00000001").as_deref(),
            Some("/api/v1/reports/6f1c2a3e-0acb-4d5e-9f10-ac3e00000001")
        );
        for crafted in ["", "..", "../members", "a/b", "x?y=1", "%2e%2e", "a b"] {
            assert_eq!(item_path(REPORTS, crafted), None, "{crafted}");
        }
    }

    #[test]
    fn unauthenticated_answers_end_the_session_in_the_app() {
        let problem = problem_from_error(401, "");
        assert_eq!(ending(401, &problem), Some(Session::Expired));
    }

    #[test]
    fn deactivation_shows_the_servers_message_instead_of_the_workspace() {
        let body = r#"{"code":"member_inactive","message":"Deactivated by Acme's admin."}"#;
        let problem = problem_from_error(403, body);
        let Some(Session::Unavailable(shown)) = ending(403, &problem) else {
            panic!("a deactivated member must leave the workspace");
        };
        assert_eq!(shown.message, "Deactivated by Acme's admin.");
    }

    #[test]
    fn a_suspended_organisation_leaves_the_workspace_with_the_reason() {
        let body = serde_json::to_string(&ErrorBody::new(ErrorCode::TenantSuspended)).unwrap();
        let problem = problem_from_error(403, &body);
        let Some(Session::Unavailable(shown)) = ending(403, &problem) else {
            panic!("a member of a suspended organisation must leave the workspace");
        };
        assert!(shown.message.contains("suspended"), "{}", shown.message);
        assert!(shown.suggests_sign_out());
    }

    #[test]
    fn other_refusals_stay_on_the_page() {
        for code in [
            ErrorCode::InsufficientScope,
            ErrorCode::NotPermitted,
            ErrorCode::PlanLimitReached,
            ErrorCode::LastAdmin,
        ] {
            let body = serde_json::to_string(&ErrorBody::new(code)).unwrap();
            assert_eq!(ending(403, &problem_from_error(403, &body)), None, "{code}");
        }
    }
}
