//! Time, token use and client.

use super::*;

#[tokio::test]
async fn expired_token_is_rejected_beyond_the_leeway() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = with(access_claims(&server.issuer()), "iat", json!(now() - 7200));

    let expired = key.sign(&with(claims.clone(), "exp", json!(now() - 60)));
    assert_rejected!(verifier.verify(&expired).await, VerifyError::Expired);
    let long_expired = key.sign(&with(claims.clone(), "exp", json!(0)));
    assert_rejected!(verifier.verify(&long_expired).await, VerifyError::Expired);

    // The default leeway (5 s) absorbs a little clock skew.
    let just_expired = key.sign(&with(claims, "exp", json!(now() - 2)));
    verifier.verify(&just_expired).await.unwrap();
}

#[tokio::test]
async fn exp_is_required() {
    let (server, verifier) = pool().await;
    let claims = without(access_claims(&server.issuer()), "exp");

    let result = verifier.verify(&SigningKey::primary().sign(&claims)).await;

    assert_rejected!(result, VerifyError::MissingClaim("exp"));
}

#[tokio::test]
async fn token_not_yet_valid_is_rejected_beyond_the_leeway() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    let future = key.sign(&with(claims.clone(), "nbf", json!(now() + 60)));
    assert_rejected!(verifier.verify(&future).await, VerifyError::NotYetValid);

    let within_leeway = key.sign(&with(claims.clone(), "nbf", json!(now() + 2)));
    verifier.verify(&within_leeway).await.unwrap();
    let past = key.sign(&with(claims, "nbf", json!(now() - 60)));
    verifier.verify(&past).await.unwrap();
}

#[tokio::test]
async fn token_issued_in_the_future_is_rejected_beyond_the_leeway() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    let future = key.sign(&with(claims.clone(), "iat", json!(now() + 600)));
    assert_rejected!(verifier.verify(&future).await, VerifyError::IssuedInFuture);

    let within_leeway = key.sign(&with(claims.clone(), "iat", json!(now() + 2)));
    verifier.verify(&within_leeway).await.unwrap();

    let missing = key.sign(&without(claims, "iat"));
    assert_rejected!(
        verifier.verify(&missing).await,
        VerifyError::MissingClaim("iat")
    );
}

#[tokio::test]
async fn leeway_is_configurable() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        leeway: Duration::from_secs(120),
        ..config_for(&[&server], LONG_PENALTY)
    })
    .unwrap();
    let claims = with(access_claims(&server.issuer()), "exp", json!(now() - 60));

    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();
}

#[tokio::test]
async fn id_token_is_rejected() {
    let (server, verifier) = pool().await;
    // An ID token of the same pool and client, signed with the pool's key.
    let id_claims = json!({
        "sub": "5f3c9a2e-1b7d-4e8a-9c0f-2d6b8e4a1c3f",
        "aud": WEB_CLIENT,
        "iss": server.issuer(),
        "token_use": "id",
        "cognito:username": "acme-entra_alice",
        "email": "alice@acme.example",
        "auth_time": now(),
        "exp": now() + 3600,
        "iat": now(),
        "nonce": "n-0S6_WzA2Mj",
    });
    let key = SigningKey::primary();

    assert_rejected!(
        verifier.verify(&key.sign(&id_claims)).await,
        VerifyError::NotAnAccessToken
    );
    // Adding a matching client_id does not make it an access token.
    let disguised = with(id_claims, "client_id", json!(WEB_CLIENT));
    assert_rejected!(
        verifier.verify(&key.sign(&disguised)).await,
        VerifyError::NotAnAccessToken
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn token_use_is_required() {
    let (server, verifier) = pool().await;
    let claims = without(access_claims(&server.issuer()), "token_use");

    let result = verifier.verify(&SigningKey::primary().sign(&claims)).await;

    assert_rejected!(result, VerifyError::MissingClaim("token_use"));
}

#[tokio::test]
async fn client_id_must_be_an_allowed_client() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    for client_id in ["another-app-client", "", &WEB_CLIENT.to_uppercase()] {
        let token = key.sign(&with(claims.clone(), "client_id", json!(client_id)));
        assert_rejected!(
            verifier.verify(&token).await,
            VerifyError::ClientIdNotAllowed
        );
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn client_id_is_required_even_when_aud_names_an_allowed_client() {
    // jsonwebtoken alone would let a token without `aud` or `client_id` through; the verifier must not.
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = without(access_claims(&server.issuer()), "client_id");

    assert_rejected!(
        verifier.verify(&key.sign(&claims)).await,
        VerifyError::MissingClaim("client_id")
    );
    let with_aud = with(claims, "aud", json!(WEB_CLIENT));
    assert_rejected!(
        verifier.verify(&key.sign(&with_aud)).await,
        VerifyError::MissingClaim("client_id")
    );
}

#[tokio::test]
async fn client_ids_are_allowed_per_issuer() {
    let pool_a = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let pool_b = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        issuers: vec![
            IssuerConfig::cognito(pool_a.issuer(), ["client-of-a"]),
            IssuerConfig::cognito(pool_b.issuer(), ["client-of-b"]),
        ],
        ..VerifierConfig::default()
    })
    .unwrap();
    let key = SigningKey::primary();
    let claims_a = with(
        access_claims(&pool_a.issuer()),
        "client_id",
        json!("client-of-a"),
    );

    verifier.verify(&key.sign(&claims_a)).await.unwrap();
    let crossed = with(claims_a, "iss", json!(pool_b.issuer()));
    assert_rejected!(
        verifier.verify(&key.sign(&crossed)).await,
        VerifyError::ClientIdNotAllowed
    );
}

#[tokio::test]
async fn sub_is_required_and_not_empty() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    let missing = key.sign(&without(claims.clone(), "sub"));
    assert_rejected!(
        verifier.verify(&missing).await,
        VerifyError::MissingClaim("sub")
    );
    let empty = key.sign(&with(claims, "sub", json!("")));
    assert_rejected!(
        verifier.verify(&empty).await,
        VerifyError::MissingClaim("sub")
    );
}
