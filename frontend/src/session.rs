//! Who is signed in: loads `GET /api/v1/me` and turns the answer into the state the app renders.

use gloo_net::http::Request;
use shared::api::Me;
use shared::{ErrorBody, ErrorCode};

/// The path of the endpoint that says who the session belongs to.
const ME_PATH: &str = "/api/v1/me";

/// What the app knows about the visitor's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// The answer to `GET /api/v1/me` has not arrived yet.
    Loading,
    /// There is no valid session (401): show the sign-in page.
    SignedOut,
    /// The session ended while the workspace was open (an API call answered 401): show the sign-in page,
    /// saying so, and come back to the same page afterwards.
    Expired,
    /// The member and tenant the session belongs to.
    SignedIn(Me),
    /// The session could not be loaded (deactivated member, service down, network error).
    Unavailable(Problem),
}

/// Why the session could not be loaded, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The server's error code, when the server answered with one.
    pub code: Option<ErrorCode>,
    /// The message to show.
    pub message: String,
}

impl Problem {
    /// The problem when the server could not be reached at all.
    pub fn unreachable() -> Self {
        Problem {
            code: None,
            message: "We could not reach the server. Check your connection and try again."
                .to_owned(),
        }
    }

    /// Whether signing out is a sensible way forward (retrying will not help a deactivated member, nor a
    /// member of a suspended organisation).
    pub fn suggests_sign_out(&self) -> bool {
        matches!(
            self.code,
            Some(ErrorCode::MemberInactive | ErrorCode::TenantSuspended)
        )
    }
}

/// Asks the backend who is signed in. Same-origin, so the browser sends the session cookie by itself.
pub async fn load_session() -> Session {
    let response = match Request::get(ME_PATH)
        .header("Accept", "application/json")
        .send()
        .await
    {
        Ok(response) => response,
        Err(_) => return Session::Unavailable(Problem::unreachable()),
    };
    match response.text().await {
        Ok(body) => session_from_response(response.status(), &body),
        Err(_) => Session::Unavailable(Problem::unreachable()),
    }
}

/// Interprets an answer of `GET /api/v1/me`: 200 is the member, 401 means signed out, and anything else
/// is a problem carrying the server's message when it sent an [`ErrorBody`].
pub fn session_from_response(status: u16, body: &str) -> Session {
    match status {
        200 => match serde_json::from_str::<Me>(body) {
            Ok(me) => Session::SignedIn(me),
            Err(_) => Session::Unavailable(Problem {
                code: None,
                message: "The server sent an answer this app does not understand. Please reload the page.".to_owned(),
            }),
        },
        401 => Session::SignedOut,
        _ => Session::Unavailable(problem_from_error(status, body)),
    }
}

/// The problem an error answer describes: the server's own words when the body is an [`ErrorBody`],
/// otherwise the default message of the code the status most likely stands for.
pub(crate) fn problem_from_error(status: u16, body: &str) -> Problem {
    if let Ok(error) = serde_json::from_str::<ErrorBody>(body) {
        return Problem {
            code: Some(error.code),
            message: error.message,
        };
    }
    // Proxies and load balancers answer with their own HTML pages; the status is all that can be trusted.
    let code = match status {
        403 => ErrorCode::InsufficientScope,
        502..=504 => ErrorCode::ServiceUnavailable,
        _ => ErrorCode::Internal,
    };
    Problem {
        code: Some(code),
        message: code.default_message().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use shared::api::{MeTenant, MeUser};
    use shared::{Plan, Role, Scope};

    use super::*;

    fn alice() -> Me {
        Me {
            user: MeUser {
                id: "m1".into(),
                email: "alice@acme.example".into(),
                name: "Alice Anderson".into(),
            },
            tenant: MeTenant {
                id: "t1".into(),
                slug: "acme".into(),
                name: "Acme Corp".into(),
                plan: Plan::Pro,
            },
            role: Role::Admin,
            scopes: vec![Scope::Read, Scope::Write, Scope::Admin],
        }
    }

    #[test]
    fn ok_answer_is_the_signed_in_member() {
        let body = serde_json::to_string(&alice()).unwrap();
        assert_eq!(
            session_from_response(200, &body),
            Session::SignedIn(alice())
        );
    }

    #[test]
    fn unauthenticated_answer_means_signed_out() {
        let body = serde_json::to_string(&ErrorBody::new(ErrorCode::Unauthenticated)).unwrap();
        assert_eq!(session_from_response(401, &body), Session::SignedOut);
        assert_eq!(session_from_response(401, ""), Session::SignedOut);
    }

    #[test]
    fn deactivated_member_sees_the_servers_message_and_is_offered_sign_out() {
        let body = r#"{"code":"member_inactive","message":"Your membership was deactivated by Acme's admin."}"#;
        let Session::Unavailable(problem) = session_from_response(403, body) else {
            panic!("a 403 must be shown as a problem");
        };
        assert_eq!(problem.code, Some(ErrorCode::MemberInactive));
        assert_eq!(
            problem.message,
            "Your membership was deactivated by Acme's admin."
        );
        assert!(problem.suggests_sign_out());
    }

    #[test]
    fn unavailable_service_shows_the_servers_message_without_suggesting_sign_out() {
        let body = serde_json::to_string(&ErrorBody::new(ErrorCode::ServiceUnavailable)).unwrap();
        let Session::Unavailable(problem) = session_from_response(503, &body) else {
            panic!("a 503 must be shown as a problem");
        };
        assert_eq!(
            problem.message,
            ErrorCode::ServiceUnavailable.default_message()
        );
        assert!(!problem.suggests_sign_out());
    }

    #[test]
    fn error_page_from_a_proxy_is_described_by_its_status_and_never_echoed() {
        let html = "<html><body>502 Bad Gateway <script>alert(1)</script></body></html>";
        let Session::Unavailable(problem) = session_from_response(502, html) else {
            panic!("a 502 must be shown as a problem");
        };
        assert_eq!(problem.code, Some(ErrorCode::ServiceUnavailable));
        assert!(!problem.message.contains("script"));
    }

    #[test]
    fn malformed_member_is_a_problem_not_a_sign_in() {
        assert!(matches!(
            session_from_response(200, "{}"),
            Session::Unavailable(_)
        ));
    }
}
