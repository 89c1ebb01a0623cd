//! `/logout` redirects only to registered sign-out URLs.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn logout_redirects_to_a_registered_logout_uri() {
    let world = World::start().await;
    let url = url::Url::parse_with_params(
        &format!("{}/logout", world.aws.auth_domain()),
        [
            ("client_id", world.web.client_id.as_str()),
            ("logout_uri", "http://localhost:3000/"),
        ],
    )
    .unwrap();
    assert_eq!(
        location(&world.get(url.as_str()).await),
        "http://localhost:3000/"
    );
}

#[tokio::test]
async fn logout_to_an_unregistered_uri_or_for_an_unknown_client_is_an_error_page() {
    let world = World::start().await;
    for (client_id, logout_uri) in [
        (world.web.client_id.as_str(), "https://evil.example/"),
        (world.web.client_id.as_str(), "http://localhost:3000"),
        ("unknown", "http://localhost:3000/"),
    ] {
        let url = url::Url::parse_with_params(
            &format!("{}/logout", world.aws.auth_domain()),
            [("client_id", client_id), ("logout_uri", logout_uri)],
        )
        .unwrap();
        let response = world.get(url.as_str()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{logout_uri}");
        assert!(response.headers().get("location").is_none());
    }
}
