//! `/logout`: redirects only to a sign-out URL registered for the client; anything else is an error page.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::authorize::{login_url, validate};
use super::{Pool, PoolPage};
use crate::web::{PageForm, error_page, redirect};

/// `GET /logout?client_id=…&logout_uri=…`, or Cognito's other form `client_id`, `redirect_uri`,
/// `response_type` (sign out, then sign in again through the managed login page).
pub(crate) async fn logout(
    State(pool): State<Arc<Pool>>,
    PageForm(params, _): PageForm<PoolPage>,
) -> Response {
    let Some(client) = params.get("client_id").and_then(|id| pool.state.client(id)) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid client_id.",
        );
    };
    match params.get("logout_uri") {
        Some(uri)
            if client
                .logout_urls
                .iter()
                .any(|registered| registered == uri) =>
        {
            redirect(uri)
        }
        Some(_) => error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid logout_uri.",
        ),
        None if params.contains_key("redirect_uri") => match validate(&pool, &params) {
            Ok(_) => redirect(&login_url(&pool, &params)),
            Err(response) => *response,
        },
        None => error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required logout_uri is missing.",
        ),
    }
}
