//! The cache of verified tokens.

use super::*;

#[tokio::test]
async fn only_tokens_that_verified_are_cached() {
    let (server, verifier) = pool().await;
    let claims = access_claims(&server.issuer());
    let genuine = SigningKey::primary().sign(&claims);
    let foreign = SigningKey::foreign("key-1").sign(&claims);

    assert_rejected!(
        verifier.verify(&foreign).await,
        VerifyError::InvalidSignature
    );
    assert_eq!(verifier.inner.verified.len(), 0);
    let first = verifier.verify(&genuine).await.unwrap();
    assert_eq!(verifier.inner.verified.len(), 1);

    assert_eq!(verifier.verify(&genuine).await.unwrap(), first);
    assert_eq!(verifier.inner.verified.len(), 1);
    assert_rejected!(
        verifier.verify(&foreign).await,
        VerifyError::InvalidSignature
    );
}

#[tokio::test]
async fn a_tampered_copy_of_a_cached_token_is_verified_in_full_and_rejected() {
    let (server, verifier) = pool().await;
    let claims = access_claims(&server.issuer());
    let token = SigningKey::primary().sign(&claims);
    verifier.verify(&token).await.unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // One character of the signature changed.
    let signature = parts[2];
    let middle = signature.len() / 2;
    let flipped = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let forged = format!(
        "{}.{}.{}{flipped}{}",
        parts[0],
        parts[1],
        &signature[..middle],
        &signature[middle + 1..]
    );
    assert_rejected!(
        verifier.verify(&forged).await,
        VerifyError::InvalidSignature
    );

    // Another tenant in the payload, under the cached token's header and signature.
    let moved = with(
        claims,
        "tenant_id",
        json!("00000000-0000-4000-8000-000000000000"),
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(moved.to_string().as_bytes()),
        parts[2]
    );
    assert_rejected!(
        verifier.verify(&forged).await,
        VerifyError::InvalidSignature
    );

    // The genuine token is still served.
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_exp_has_passed() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        leeway: Duration::ZERO,
        ..config_for(&[&server], LONG_PENALTY)
    })
    .unwrap();
    let expires_at = now() + 1;
    let token = SigningKey::primary().sign(&with(
        access_claims(&server.issuer()),
        "exp",
        json!(expires_at),
    ));
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.inner.verified.len(), 1);

    while now() <= expires_at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_rejected!(verifier.verify(&token).await, VerifyError::Expired);
}

#[tokio::test]
async fn a_cached_token_stops_verifying_when_a_refetched_jwks_withdraws_its_key() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let claims = access_claims(&server.issuer());
    let token = SigningKey::primary().sign(&claims);
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();

    server.publish(jwks(&[&SigningKey::rotated()]));
    tokio::time::sleep(SHORT_PENALTY + Duration::from_millis(100)).await;
    // A token of the new key makes the verifier fetch the changed JWKS.
    verifier
        .verify(&SigningKey::rotated().sign(&claims))
        .await
        .unwrap();

    assert_rejected!(verifier.verify(&token).await, VerifyError::UnknownKid);
}

#[tokio::test]
async fn the_cache_holds_at_most_its_configured_number_of_tokens() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        token_cache_capacity: 3,
        ..config_for(&[&server], LONG_PENALTY)
    })
    .unwrap();
    let claims = access_claims(&server.issuer());

    for n in 0..10 {
        let token = SigningKey::primary().sign(&with(claims.clone(), "jti", json!(n.to_string())));
        verifier.verify(&token).await.unwrap();
        assert!(verifier.inner.verified.len() <= 3);
    }
    assert_eq!(verifier.inner.verified.len(), 3);
}
