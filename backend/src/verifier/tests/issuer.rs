//! Issuer pinning: the configured issuers only, an unknown one refused before any network call.

use super::*;

#[tokio::test]
async fn unknown_issuer_is_rejected_before_any_network_call() {
    let (server, verifier) = pool().await;
    // An attacker runs their own "user pool" with their own keys and mints a token naming it.
    let attacker_key = SigningKey::foreign("key-1");
    let attacker = JwksServer::start(jwks(&[&attacker_key])).await;

    for iss in [
        attacker.issuer(),
        format!("{}/", server.issuer()),
        server.issuer().to_uppercase(),
        format!("{}x", server.issuer()),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool".to_owned(),
        String::new(),
    ] {
        let token = attacker_key.sign(&access_claims(&iss));
        assert_rejected!(verifier.verify(&token).await, VerifyError::UnknownIssuer);
    }

    assert_eq!(
        attacker.requests(),
        0,
        "no request reached the attacker's JWKS"
    );
    assert_eq!(
        server.requests(),
        0,
        "no request reached the configured JWKS either"
    );
}

#[tokio::test]
async fn token_without_issuer_is_rejected_before_any_network_call() {
    let (server, verifier) = pool().await;
    let claims = without(access_claims(&server.issuer()), "iss");

    let result = verifier.verify(&SigningKey::primary().sign(&claims)).await;

    assert_rejected!(result, VerifyError::MissingClaim("iss"));
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn each_issuer_verifies_only_with_its_own_keys() {
    // Two pools that happen to use the same kid for different keys.
    let key_a = SigningKey::primary();
    let key_b = SigningKey::foreign("key-1");
    let pool_a = JwksServer::start(jwks(&[&key_a])).await;
    let pool_b = JwksServer::start(jwks(&[&key_b])).await;
    let verifier = AccessTokenVerifier::new(config_for(&[&pool_a, &pool_b], LONG_PENALTY)).unwrap();

    let from_a = verifier
        .verify(&key_a.sign(&access_claims(&pool_a.issuer())))
        .await
        .unwrap();
    let from_b = verifier
        .verify(&key_b.sign(&access_claims(&pool_b.issuer())))
        .await
        .unwrap();
    assert_eq!(from_a.issuer, pool_a.issuer());
    assert_eq!(from_b.issuer, pool_b.issuer());

    // Pool B's key cannot vouch for pool A's issuer, nor the other way round.
    assert_rejected!(
        verifier
            .verify(&key_b.sign(&access_claims(&pool_a.issuer())))
            .await,
        VerifyError::InvalidSignature
    );
    assert_rejected!(
        verifier
            .verify(&key_a.sign(&access_claims(&pool_b.issuer())))
            .await,
        VerifyError::InvalidSignature
    );
    assert_eq!((pool_a.requests(), pool_b.requests()), (1, 1));
}

#[tokio::test]
async fn key_urls_and_keys_named_in_the_token_header_are_never_used() {
    let (server, verifier) = pool().await;
    let attacker_key = SigningKey::foreign("attacker-key");
    let attacker = JwksServer::start(jwks(&[&attacker_key])).await;
    let header = json!({
        "alg": "RS256",
        "kid": "attacker-key",
        "jku": format!("{}/keys/jwks.json", attacker.base),
        "x5u": format!("{}/keys/cert.pem", attacker.base),
        "jwk": attacker_key.jwk(),
    });
    let token =
        attacker_key.sign_with_header(&header, &access_claims(&server.issuer()), Algorithm::RS256);

    assert_rejected!(verifier.verify(&token).await, VerifyError::UnknownKid);
    assert_eq!(attacker.requests(), 0);
    assert_eq!(
        server.requests(),
        1,
        "the only request went to the configured JWKS"
    );
}

#[tokio::test]
async fn configured_jwks_uri_is_used_instead_of_the_well_known_path() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    // Nothing is served at this issuer's well-known path, so success proves the configured URL was used.
    let issuer = format!("{}/another-pool", server.base);
    let mut issuer_config = IssuerConfig::cognito(issuer.clone(), [WEB_CLIENT]);
    issuer_config.jwks_uri = Some(format!("{}/keys/jwks.json", server.base).parse().unwrap());
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        issuers: vec![issuer_config],
        ..VerifierConfig::default()
    })
    .unwrap();

    let token = SigningKey::primary().sign(&access_claims(&issuer));
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.requests(), 1);
}

#[test]
fn default_jwks_uri_is_the_issuers_well_known_path() {
    let cases = [
        (
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json",
        ),
        (
            "http://127.0.0.1:9229/eu-west-1_L0caLP00l/",
            "http://127.0.0.1:9229/eu-west-1_L0caLP00l/.well-known/jwks.json",
        ),
        (
            "https://idp.example",
            "https://idp.example/.well-known/jwks.json",
        ),
    ];
    for (issuer, expected) in cases {
        let resolved = IssuerConfig::cognito(issuer, [WEB_CLIENT])
            .resolved_jwks_uri()
            .unwrap();
        assert_eq!(resolved.as_str(), expected);
    }
}
