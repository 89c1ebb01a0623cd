//! `/oauth2/authorize` refuses bad requests: with an error page while the client or redirect URI is in
//! doubt, with an error redirect after that.

use reqwest::StatusCode;

use crate::helpers::*;

async fn assert_error_page(world: &World, url: &str) {
    let response = world.get(url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
    assert!(
        response.headers().get("location").is_none(),
        "never a redirect"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

fn replace(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            (
                k.to_string(),
                if k == name {
                    value.to_owned()
                } else {
                    v.into_owned()
                },
            )
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page() {
    let world = World::start().await;
    let url = world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]);
    assert_error_page(&world, &replace(&url, "client_id", "no-such-client")).await;
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_the_pools_own_error_page() {
    let world = World::start().await;
    let url = world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]);
    for redirect_uri in [
        "https://evil.example/auth/callback".to_owned(),
        format!("{}/", world.callback),
    ] {
        // As Cognito: to `/error` on the pool's own domain, never to the URI the request named.
        let to_error = location(
            &world
                .get(&replace(&url, "redirect_uri", &redirect_uri))
                .await,
        );
        assert_eq!(
            to_error,
            format!(
                "{}/error?error=redirect_mismatch&client_id={}",
                world.aws.auth_domain(),
                world.web.client_id
            )
        );
        assert_error_page(&world, &to_error).await;
    }
}

#[tokio::test]
async fn the_implicit_grant_is_refused_with_an_error_page() {
    let world = World::start().await;
    let url = world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]);
    assert_error_page(&world, &replace(&url, "response_type", "token")).await;
}

#[tokio::test]
async fn the_machine_client_cannot_start_a_browser_sign_in() {
    let world = World::start().await;
    let machine = world.aws.client("machine").unwrap();
    let url = world.authorize_url(&Attempt::new(), &[]);
    // It has no callback URL, so any redirect URI is a mismatch: the pool's own error page.
    let to_error = location(
        &world
            .get(&replace(&url, "client_id", &machine.client_id))
            .await,
    );
    assert!(
        to_error.starts_with(&format!(
            "{}/error?error=redirect_mismatch",
            world.aws.auth_domain()
        )),
        "{to_error}"
    );
    assert_error_page(&world, &to_error).await;
}

#[tokio::test]
async fn plain_pkce_is_refused_with_an_error_redirect() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let url = world.authorize_url(&attempt, &[("identity_provider", "acme-entra")]);
    let url = replace(
        &replace(&url, "code_challenge_method", "plain"),
        "code_challenge",
        &attempt.verifier,
    );
    let back = location(&world.get(&url).await);
    assert!(back.starts_with(&world.callback));
    let params = query(&back);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], attempt.state);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn a_scope_the_client_may_not_request_is_an_invalid_scope_redirect() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let url = replace(
        &world.authorize_url(&attempt, &[]),
        "scope",
        "openid saas-api/superuser",
    );
    let params = query(&location(&world.get(&url).await));
    assert_eq!(params["error"], "invalid_scope");
    assert_eq!(params["state"], attempt.state);
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let world = World::start().await;
    let url = format!(
        "{}&client_id=other",
        world.authorize_url(&Attempt::new(), &[])
    );
    assert_error_page(&world, &url).await;
}
