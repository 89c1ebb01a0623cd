//! The pool binds a federated sign-in to the browser that started it: a cookie set at `/oauth2/authorize`
//! must come back to `/oauth2/idpresponse`, or the answer is refused without redirecting anywhere.

use reqwest::StatusCode;

use crate::helpers::*;

const COOKIE: &str = "XSRF-TOKEN";

#[tokio::test]
async fn authorize_sets_an_http_only_lax_cookie_for_the_whole_domain() {
    let world = World::start().await;
    let response = world
        .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
        .await;
    let to_idp = location(&response);
    assert!(to_idp.starts_with(&world.aws.entra_base()));
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.starts_with(&format!("{COOKIE}=")),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain-http 127.0.0.1 cannot keep a Secure cookie: {set_cookie}"
    );
}

#[tokio::test]
async fn an_idp_answer_in_a_browser_without_the_cookie_is_an_error_page() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let back_to_pool = world.idp_response_url(&attempt, "acme-entra", ALICE).await;

    // The victim's browser, sent to the pool with the attacker's code and state.
    let response = browser().get(&back_to_pool).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none(), "no redirect");
    assert!(response.text().await.unwrap().contains("Invalid state"));

    // The forged request did not use up the sign-in: the browser that started it still completes it.
    let callback = location(&world.get(&back_to_pool).await);
    assert!(callback.starts_with(&world.callback), "{callback}");
    let params = query(&callback);
    assert!(params.contains_key("code"), "{callback}");
    assert_eq!(params["state"], attempt.state);
}

#[tokio::test]
async fn another_browsers_cookie_does_not_match() {
    let world = World::start().await;
    let back_to_pool = world
        .idp_response_url(&Attempt::new(), "acme-entra", ALICE)
        .await;

    // Another browser that has a binding cookie of its own, from a sign-in it started itself.
    let other = browser();
    let started = other
        .get(world.authorize_url(&Attempt::new(), &[("identity_provider", "globex-okta")]))
        .send()
        .await
        .unwrap();
    assert!(started.headers().contains_key("set-cookie"));
    let response = other.get(&back_to_pool).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn two_sign_ins_started_in_one_browser_both_complete() {
    let world = World::start().await;
    let first = Attempt::new();
    let second = Attempt::new();
    let first_back = world.idp_response_url(&first, "acme-entra", ALICE).await;
    let second_back = world.idp_response_url(&second, "globex-okta", CAROL).await;
    for (back, attempt) in [(first_back, &first), (second_back, &second)] {
        let callback = location(&world.get(&back).await);
        let params = query(&callback);
        assert!(params.contains_key("code"), "{callback}");
        assert_eq!(params["state"], attempt.state);
    }
}

#[tokio::test]
async fn an_idp_answer_after_cognitos_five_minutes_finds_the_sign_in_cancelled() {
    assert_eq!(
        local_aws::config::FEDERATION_TIMEOUT,
        std::time::Duration::from_secs(300),
        "Cognito's limit, which the loaded configuration uses"
    );
    let world = World::start_with(|config| {
        config.federation_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let attempt = Attempt::new();
    let back_to_pool = world.idp_response_url(&attempt, "acme-entra", ALICE).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let late = world.get(&back_to_pool).await;
    assert_eq!(
        late.status(),
        StatusCode::BAD_REQUEST,
        "an error page, never a redirect"
    );
    assert!(late.text().await.unwrap().contains("expired"));

    // Within the limit the same flow completes.
    let attempt = Attempt::new();
    let back_to_pool = world.idp_response_url(&attempt, "acme-entra", ALICE).await;
    let callback = location(&world.get(&back_to_pool).await);
    assert!(callback.contains("code="), "{callback}");
}
