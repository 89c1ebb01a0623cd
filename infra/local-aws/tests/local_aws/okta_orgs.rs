//! Every Okta org of `directories.json` is served on its own listener, as each `<org>.okta.com` is its own
//! host, with its own users, app integrations and keys; and Initech, the customer no demo tenant refers to yet,
//! signs in through either of its directories once its IT administrator has connected them.

use std::collections::BTreeMap;

use local_aws::Ports;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PETER: &str = "peter@initech.example";
const PETER_ID: &str = "00u1peter0initech001";
const SAMIR: &str = "samir@initech.example";
const MILTON: &str = "milton@initech.example";
const INITECH_OKTA_CLIENT: (&str, &str) =
    ("0oainitech0client0id", "local-demo-initech-okta-secret");
const GLOBEX_OKTA_CLIENT: (&str, &str) = ("0oaglobex0client0id", "local-demo-globex-okta-secret");
const INITECH_ENTRA_TENANT: &str = "7b2e3c4d-5f60-4a1b-9c2d-1a17ec000002";
const INITECH_ENTRA_CLIENT: (&str, &str) = (
    "5e6f7a8b-9c0d-4e1f-a2b3-1a17ec00c11e",
    "local-demo-initech-entra-secret",
);

/// An org's discovery document.
async fn discovery(world: &World, issuer: &str) -> Value {
    world
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap()
}

/// The authorization code flow at an org, as the pool runs it with its registration there: the login form
/// for `client_id`, submitted as `username`; returns the IdP's redirect back to the pool (not followed), or
/// the page it answered instead.
async fn authorize(
    world: &World,
    doc: &Value,
    client_id: &str,
    username: &str,
    attempt: &Attempt,
) -> Result<String, (StatusCode, String)> {
    let redirect_uri = format!("{}/oauth2/idpresponse", world.aws.auth_domain());
    let challenge = attempt.challenge();
    let url = url::Url::parse_with_params(
        doc["authorization_endpoint"].as_str().unwrap(),
        [
            ("client_id", client_id),
            ("redirect_uri", &redirect_uri),
            ("response_type", "code"),
            ("scope", "openid email profile groups"),
            ("state", &attempt.state),
            ("nonce", &attempt.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let page = world.get(url.as_str()).await;
    let status = page.status();
    let html = page.text().await.unwrap();
    if status != StatusCode::OK {
        return Err((status, html));
    }
    let form = form(&html);
    let mut fields = form.hidden;
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let answer = world
        .http
        .post(url.join(&form.action).unwrap())
        .form(&fields)
        .send()
        .await
        .unwrap();
    if answer.status() == StatusCode::FOUND {
        Ok(location(&answer))
    } else {
        let status = answer.status();
        Err((status, answer.text().await.unwrap()))
    }
}

/// Redeems a code at the org's token endpoint with `client`'s credentials.
async fn redeem(
    world: &World,
    doc: &Value,
    code: &str,
    attempt: &Attempt,
    client: (&str, &str),
) -> (StatusCode, Value) {
    let redirect_uri = format!("{}/oauth2/idpresponse", world.aws.auth_domain());
    let response = world
        .http
        .post(doc["token_endpoint"].as_str().unwrap())
        .basic_auth(client.0, Some(client.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &attempt.verifier),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Signs `username` in through the pool's `provider`; the claims of the pool's ID token.
async fn id_claims(
    world: &World,
    provider: &str,
    username: &str,
) -> serde_json::Map<String, Value> {
    let (_, tokens) = world.sign_in(provider, username).await;
    world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await
        .1
}

#[tokio::test]
async fn every_okta_org_listens_on_its_own_host_with_its_own_keys() {
    let world = World::start_bare().await;
    let aws = &world.aws;
    assert_eq!(aws.okta_orgs(), ["globex", "initech"]);
    assert_eq!(aws.okta_org_base("globex"), Some(aws.okta_base()));
    assert_eq!(aws.okta_org_issuer("globex"), Some(aws.okta_issuer()));
    let initech = aws.okta_org_base("initech").unwrap();
    assert_ne!(initech, aws.okta_base());
    assert_eq!(aws.okta_org_base("Initech"), Some(initech.clone()));
    assert_eq!(
        aws.okta_org_issuer("initech"),
        Some(format!("{initech}/oauth2/default"))
    );
    assert_eq!(aws.okta_org_base("umbrella"), None);
    assert_eq!(aws.okta_org_issuer("umbrella"), None);

    let mut kids = Vec::new();
    for org in ["globex", "initech"] {
        let issuer = aws.okta_org_issuer(org).unwrap();
        let doc = discovery(&world, &issuer).await;
        assert_eq!(doc["issuer"], issuer.as_str(), "{org}");
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{issuer}/v1/authorize")
        );
        let jwks: Value = world
            .get(doc["jwks_uri"].as_str().unwrap())
            .await
            .json()
            .await
            .unwrap();
        kids.push(jwks["keys"][0]["kid"].as_str().unwrap().to_owned());
    }
    assert_ne!(kids[0], kids[1], "each org signs with its own key");
}

#[tokio::test]
async fn an_org_listens_on_the_port_local_json_gives_it() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let ports = Ports {
        okta_orgs: BTreeMap::from([("initech".to_owned(), port)]),
        ..Ports::ephemeral()
    };
    let aws = local_aws::LocalAws::start(demo_config(), "127.0.0.1".parse().unwrap(), ports)
        .await
        .unwrap();
    assert_eq!(
        aws.okta_org_base("initech"),
        Some(format!("http://127.0.0.1:{port}"))
    );
    aws.shutdown().await;

    // A port for an org the directories do not have is a mistake worth hearing about.
    let ports = Ports {
        okta_orgs: BTreeMap::from([("umbrella".to_owned(), 0)]),
        ..Ports::ephemeral()
    };
    let error = local_aws::LocalAws::start(demo_config(), "127.0.0.1".parse().unwrap(), ports)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("umbrella"), "{error}");
}

#[tokio::test]
async fn peter_signs_in_at_initechs_own_org_with_initechs_app_and_not_with_globexs() {
    let world = World::start_bare().await;
    let issuer = world.aws.okta_org_issuer("initech").unwrap();
    let doc = discovery(&world, &issuer).await;
    assert_eq!(doc["issuer"], issuer.as_str());

    let attempt = Attempt::new();
    let back = authorize(&world, &doc, INITECH_OKTA_CLIENT.0, PETER, &attempt)
        .await
        .unwrap();
    let params = query(&back);
    assert_eq!(params["state"], attempt.state);
    let (status, tokens) =
        redeem(&world, &doc, &params["code"], &attempt, INITECH_OKTA_CLIENT).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let jwks: Value = world
        .get(doc["jwks_uri"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let claims = verify_with(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &issuer,
        INITECH_OKTA_CLIENT.0,
    );
    assert_eq!(claims["sub"], PETER_ID);
    assert_eq!(claims["email"], PETER);
    assert_eq!(claims["name"], "Peter Gibbons");
    assert_eq!(claims["groups"], json!(["saas-admins"]));
    assert_eq!(claims["nonce"], attempt.nonce.as_str());

    // Globex's registration is Globex's: Initech's org does not know its client.
    let (status, page) = authorize(&world, &doc, GLOBEX_OKTA_CLIENT.0, PETER, &Attempt::new())
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("Invalid value for &#x27;client_id&#x27; parameter."),
        "{page}"
    );
    // Nor can Globex's credentials redeem a code Initech's org issued.
    let attempt = Attempt::new();
    let back = authorize(&world, &doc, INITECH_OKTA_CLIENT.0, PETER, &attempt)
        .await
        .unwrap();
    let (status, body) = redeem(
        &world,
        &doc,
        &query(&back)["code"],
        &attempt,
        GLOBEX_OKTA_CLIENT,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // Each org has its own people: Carol is Globex's, Peter Initech's.
    let (status, page) = authorize(&world, &doc, INITECH_OKTA_CLIENT.0, CAROL, &Attempt::new())
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Unable to sign in") && page.contains("Initech (Okta)"));
    let globex = discovery(&world, &world.aws.okta_issuer()).await;
    let (status, page) = authorize(
        &world,
        &globex,
        GLOBEX_OKTA_CLIENT.0,
        PETER,
        &Attempt::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Unable to sign in") && page.contains("Globex (Okta)"));
    let (status, _) = authorize(
        &world,
        &globex,
        INITECH_OKTA_CLIENT.0,
        PETER,
        &Attempt::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn initech_signs_in_through_the_pool_with_either_of_its_directories() {
    let world = World::start().await;
    let okta = DemoProvider {
        name: "initech-okta".into(),
        kind: "okta".into(),
        entra_tenant_id: None,
        okta_org: Some("initech".into()),
        client_id: INITECH_OKTA_CLIENT.0.into(),
        client_secret: INITECH_OKTA_CLIENT.1.into(),
        verified_domains: Vec::new(),
        authorize_scopes: "openid email profile groups".into(),
        attribute_mapping: BTreeMap::from([
            ("email".into(), "email".into()),
            ("email_verified".into(), "email_verified".into()),
            ("name".into(), "name".into()),
            ("custom:idp_groups".into(), "groups".into()),
        ]),
    };
    let entra = DemoProvider {
        name: "initech-entra".into(),
        kind: "entra".into(),
        entra_tenant_id: Some(INITECH_ENTRA_TENANT.into()),
        okta_org: None,
        client_id: INITECH_ENTRA_CLIENT.0.into(),
        client_secret: INITECH_ENTRA_CLIENT.1.into(),
        verified_domains: Vec::new(),
        authorize_scopes: "openid email profile".into(),
        attribute_mapping: BTreeMap::from([
            ("email".into(), "email".into()),
            ("email_verified".into(), "xms_edov".into()),
            ("name".into(), "name".into()),
            ("custom:idp_groups".into(), "roles".into()),
        ]),
    };
    create_provider(&world.aws, &okta).await;
    create_provider(&world.aws, &entra).await;
    let mut names: Vec<String> = demo_providers().into_iter().map(|p| p.name).collect();
    names.extend([okta.name.clone(), entra.name.clone()]);
    update_client(&world.aws, &world.web.client_id, |update| {
        update.set_supported_identity_providers(Some(names))
    })
    .await;

    let peter = id_claims(&world, "initech-okta", PETER).await;
    assert_eq!(
        peter["cognito:username"],
        format!("initech-okta_{PETER_ID}")
    );
    assert_eq!(peter["email"], PETER);
    assert_eq!(peter["email_verified"], true);
    assert_eq!(peter["custom:idp_groups"], r#"["saas-admins"]"#);

    let samir = id_claims(&world, "initech-entra", SAMIR).await;
    assert_eq!(samir["identities"][0]["providerName"], "initech-entra");
    assert_eq!(samir["name"], "Samir Nagheenanajar");
    assert_eq!(samir["email_verified"], true, "initech.example is verified");
    assert_eq!(samir["custom:idp_groups"], r#"["SaaS-Users"]"#);

    let milton = id_claims(&world, "initech-okta", MILTON).await;
    assert_eq!(milton["name"], "Milton Waddams");
    assert_eq!(milton["custom:idp_groups"], "[]");
}
