//! The full federated sign-in through the mock IdPs, and the tokens it ends in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const ACCESS_CLAIMS: &[&str] = &[
    "auth_time",
    "client_id",
    "cognito:groups",
    "event_id",
    "exp",
    "iat",
    "iss",
    "jti",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
    "version",
];

/// The token's JOSE header as sent: Cognito's carry `kid` and `alg` only.
fn header_names(token: &str) -> Vec<String> {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes).unwrap();
    header.keys().cloned().collect()
}

#[tokio::test]
async fn alice_signs_in_through_entra_and_gets_cognito_shaped_tokens() {
    let world = World::start().await;
    let (attempt, tokens) = world.sign_in("acme-entra", ALICE).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let (access_kid, access) = world
        .verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(access_kid, world.aws.keys().access_kid());
    assert_eq!(claim_names(&access), ACCESS_CLAIMS, "no aud, nothing extra");
    // Cognito names OIDC users <provider>_<sub>, lower-cased; Entra's sub is pairwise, so ask the mock for it.
    let entra_sub = world
        .idp_id_token("acme-entra", ALICE, "openid", "n-1")
        .await["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(entra_sub, ALICE_OID);
    let username = format!("acme-entra_{entra_sub}").to_lowercase();
    assert_eq!(access["username"], username.as_str());
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], world.web.client_id.as_str());
    assert_eq!(access["scope"], ALL_SCOPES);
    assert_eq!(
        access["cognito:groups"],
        json!([format!("{}_acme-entra", world.aws.user_pool_id())])
    );
    assert!(
        uuid::Uuid::parse_str(access["sub"].as_str().unwrap()).is_ok(),
        "sub is a uuid, not the IdP subject"
    );
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        3600
    );

    let (id_kid, id) = world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(id_kid, world.aws.keys().id_kid());
    assert_ne!(id_kid, access_kid);
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["aud"], world.web.client_id.as_str());
    assert_eq!(id["sub"], access["sub"]);
    assert_eq!(id["cognito:username"], username.as_str());
    assert_eq!(id["email"], ALICE);
    assert_eq!(
        id["email_verified"], true,
        "mapped from xms_edov: the directory verified acme.example"
    );
    assert_eq!(id["name"], "Alice Anderson");
    assert_eq!(id["custom:idp_groups"], r#"["SaaS-Admins"]"#);
    assert_eq!(id["nonce"], attempt.nonce.as_str());
    assert_eq!(id["origin_jti"], access["origin_jti"]);
    assert_eq!(id["auth_time"], access["auth_time"]);
    assert_eq!(access["version"], 2);
    assert!(uuid::Uuid::parse_str(access["event_id"].as_str().unwrap()).is_ok());
    assert_eq!(
        id["event_id"], access["event_id"],
        "one authentication event"
    );
    assert_eq!(
        id["at_hash"],
        at_hash(tokens["access_token"].as_str().unwrap()),
        "OpenID Connect's at_hash of the access token issued with it"
    );
    for token in [&tokens["access_token"], &tokens["id_token"]] {
        assert_eq!(header_names(token.as_str().unwrap()), ["alg", "kid"]);
    }
    let identity = &id["identities"][0];
    assert_eq!(
        identity["userId"],
        entra_sub.as_str(),
        "the Entra subject is the pairwise sub, not the oid"
    );
    assert_eq!(identity["providerName"], "acme-entra");
    assert_eq!(identity["providerType"], "OIDC");
    assert_eq!(identity["issuer"], Value::Null);
    assert_eq!(identity["primary"], "true");
    assert!(
        identity["dateCreated"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
}

#[tokio::test]
async fn carol_signs_in_through_okta_with_her_groups_and_verified_email() {
    let world = World::start().await;
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    let (_, id) = world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(id["cognito:username"], format!("globex-okta_{CAROL_ID}"));
    assert_eq!(id["email"], CAROL);
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Carol Chen");
    assert_eq!(id["custom:idp_groups"], r#"["saas-admin"]"#);
    assert_eq!(id["identities"][0]["userId"], CAROL_ID);
}

#[tokio::test]
async fn a_user_keeps_the_same_sub_across_sign_ins() {
    let world = World::start().await;
    let (_, first) = world.sign_in("acme-entra", ALICE).await;
    let (_, second) = world.sign_in("acme-entra", ALICE).await;
    let (_, first) = world
        .verify(first["access_token"].as_str().unwrap(), None)
        .await;
    let (_, second) = world
        .verify(second["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(first["sub"], second["sub"]);
    assert_ne!(first["origin_jti"], second["origin_jti"]);
}

#[tokio::test]
async fn an_okta_user_claiming_an_acme_email_stays_a_globex_okta_user() {
    let world = World::start().await;
    let (_, alice) = world.sign_in("acme-entra", ALICE).await;
    let (_, mallory) = world.sign_in("globex-okta", MALLORY).await;
    let (_, alice) = world
        .verify(
            alice["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    let (_, mallory) = world
        .verify(
            mallory["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(mallory["email"], MALLORY);
    assert!(
        mallory["cognito:username"]
            .as_str()
            .unwrap()
            .starts_with("globex-okta_")
    );
    assert_eq!(mallory["identities"][0]["providerName"], "globex-okta");
    assert_ne!(mallory["sub"], alice["sub"], "never linked by email");
}

#[tokio::test]
async fn a_wrong_password_shows_the_entra_form_again_with_an_error() {
    let world = World::start().await;
    let url = world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]);
    let response = world.submit_idp_login(&url, ALICE, "wrong").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("Your account or password is incorrect."));
    assert!(html.contains("Acme Corp (Entra ID)"));
    assert!(html.contains("name=\"password\""));
}

#[tokio::test]
async fn an_unknown_okta_user_sees_the_form_again_with_an_error() {
    let world = World::start().await;
    let url = world.authorize_url(&Attempt::new(), &[("identity_provider", "globex-okta")]);
    let response = world
        .submit_idp_login(&url, "nobody@globex.example", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Unable to sign in"));
    assert!(html.contains("Globex (Okta)"));
}

#[tokio::test]
async fn idp_identifier_routes_to_the_provider_that_lists_the_identifier() {
    let world = World::start().await;
    let response = world
        .get(&world.authorize_url(&Attempt::new(), &[("idp_identifier", "globex.example")]))
        .await;
    let to_idp = location(&response);
    assert!(
        to_idp.starts_with(&format!(
            "{}/oauth2/default/v1/authorize",
            world.aws.okta_base()
        )),
        "{to_idp}"
    );
    let params = query(&to_idp);
    assert_eq!(params["client_id"], "0oaglobex0client0id");
    assert_eq!(
        params["redirect_uri"],
        format!("{}/oauth2/idpresponse", world.aws.auth_domain())
    );
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["scope"], "openid email profile groups");
    assert!(params.contains_key("nonce"));
    let state = query(&to_idp)["state"].clone();
    assert_ne!(state, "", "the pool sends its own state");
}

#[tokio::test]
async fn the_apps_login_hint_reaches_the_identity_providers_login_page_as_the_user_name() {
    let world = World::start().await;
    for (routing, hint) in [
        (("identity_provider", "acme-entra"), "alice@acme.example"),
        (("idp_identifier", "globex.example"), "carol@globex.example"),
    ] {
        let response = world
            .get(&world.authorize_url(&Attempt::new(), &[routing, ("login_hint", hint)]))
            .await;
        let to_idp = location(&response);
        assert_eq!(query(&to_idp)["login_hint"], hint, "{to_idp}");

        let page = world.get(&to_idp).await.text().await.unwrap();
        assert!(
            page.contains(&format!("name=\"username\" value=\"{hint}\"")),
            "{page}"
        );
    }

    // Without a hint the IdP's field starts empty, and the pool adds no hint of its own.
    let to_idp = location(
        &world
            .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
            .await,
    );
    assert!(!query(&to_idp).contains_key("login_hint"), "{to_idp}");
}

#[tokio::test]
async fn an_unverified_domain_or_unknown_provider_is_reported_to_the_app() {
    let world = World::start().await;
    let attempt = Attempt::new();
    for extra in [
        ("idp_identifier", "evil.example"),
        ("identity_provider", "nobody"),
    ] {
        let back = location(&world.get(&world.authorize_url(&attempt, &[extra])).await);
        assert!(back.starts_with(&world.callback));
        let params = query(&back);
        assert_eq!(params["error"], "invalid_request");
        assert_eq!(params["state"], attempt.state);
    }
}

#[tokio::test]
async fn without_a_provider_the_managed_login_page_offers_each_one_and_routes_by_email() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let to_login = location(&world.get(&world.authorize_url(&attempt, &[])).await);
    assert!(to_login.starts_with(&format!("{}/login?", world.aws.auth_domain())));
    assert_eq!(query(&to_login)["state"], attempt.state);
    let page = world.get(&to_login).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("identity_provider=acme-entra"));
    assert!(html.contains("identity_provider=globex-okta"));

    let form = form(&html);
    let mut fields = form.hidden;
    fields.push(("email".into(), "Carol@Globex.example".into()));
    let url = format!("{}{}", world.aws.auth_domain(), form.action);
    let routed = location(&world.http.post(&url).form(&fields).send().await.unwrap());
    assert_eq!(query(&routed)["idp_identifier"], "globex.example");
    let to_idp = location(&world.get(&routed).await);
    assert!(to_idp.starts_with(&world.aws.okta_base()));
    assert_eq!(query(&to_idp)["login_hint"], "carol@globex.example");

    let mut fields = crate::helpers::form(&html).hidden;
    fields.push(("email".into(), "someone@nowhere.example".into()));
    let again = world.http.post(&url).form(&fields).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("No sign-in option"));
}

#[tokio::test]
async fn an_idp_refusal_is_reported_to_the_app() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let to_idp = location(
        &world
            .get(&world.authorize_url(&attempt, &[("identity_provider", "acme-entra")]))
            .await,
    );
    let pool_state = query(&to_idp)["state"].clone();
    let url = format!(
        "{}/oauth2/idpresponse?error=access_denied&error_description=AADSTS65004&state={pool_state}",
        world.aws.auth_domain()
    );
    let back = query(&location(&world.get(&url).await));
    assert_eq!(back["error"], "invalid_request");
    assert_eq!(back["state"], attempt.state);
    let replay = world.get(&url).await;
    assert_eq!(
        replay.status(),
        StatusCode::BAD_REQUEST,
        "the pool's state is single use"
    );
}

#[tokio::test]
async fn the_entra_mock_refuses_a_foreign_redirect_uri_without_redirecting() {
    let world = World::start().await;
    let to_idp = location(
        &world
            .get(&world.authorize_url(&Attempt::new(), &[("identity_provider", "acme-entra")]))
            .await,
    );
    let mut url = url::Url::parse(&to_idp).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            (
                k.to_string(),
                if k == "redirect_uri" {
                    "https://evil.example/cb".into()
                } else {
                    v.into_owned()
                },
            )
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let response = world.get(url.as_str()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("AADSTS50011"));
}

/// `url` with the query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

#[tokio::test]
async fn the_pool_refuses_an_idp_id_token_with_another_nonce() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let to_idp = location(
        &world
            .get(&world.authorize_url(&attempt, &[("identity_provider", "acme-entra")]))
            .await,
    );
    // The IdP faithfully echoes whatever nonce it was given; here not the one the pool sent.
    let tampered = with_param(&to_idp, "nonce", "not-the-pools-nonce");
    let page = world.get(&tampered).await;
    let html = page.text().await.unwrap();
    let form = form(&html);
    let mut fields = form.hidden;
    fields.push(("username".into(), ALICE.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let action = url::Url::parse(&tampered)
        .unwrap()
        .join(&form.action)
        .unwrap();
    let back_to_pool = location(&world.http.post(action).form(&fields).send().await.unwrap());
    let callback = location(&world.get(&back_to_pool).await);
    assert!(callback.starts_with(&world.callback), "{callback}");
    let params = query(&callback);
    assert!(!params.contains_key("code"));
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(
        params["error_description"],
        "Bad id_token from identity provider"
    );
    assert_eq!(params["state"], attempt.state);
}

#[tokio::test]
async fn an_idp_token_error_is_reported_with_the_provider_and_the_status() {
    let world = World::start().await;
    let attempt = Attempt::new();
    let back_to_pool = world.idp_response_url(&attempt, "acme-entra", ALICE).await;

    // Someone redeems the IdP's code first (a failed PKCE check still uses it up).
    let idp = demo_provider("acme-entra");
    let tid = idp.entra_tenant_id.clone().unwrap();
    let stolen = world
        .http
        .post(format!(
            "{}/{tid}/oauth2/v2.0/token",
            world.aws.entra_base()
        ))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query(&back_to_pool)["code"].as_str()),
            (
                "redirect_uri",
                &format!("{}/oauth2/idpresponse", world.aws.auth_domain()),
            ),
            ("code_verifier", &random()),
            ("client_id", &idp.client_id),
            ("client_secret", &idp.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);

    let callback = location(&world.get(&back_to_pool).await);
    let params = query(&callback);
    assert_eq!(
        params["error"], "invalid_request",
        "not temporarily_unavailable"
    );
    assert!(
        params["error_description"].starts_with("acme-entra Error - 400 invalid_grant AADSTS70008"),
        "{}",
        params["error_description"]
    );
    assert_eq!(params["state"], attempt.state);
}

/// OpenID Connect Core 3.3.2.11: base64url of the left half of the SHA-256 of the access token (RS256).
fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}
