//! The JWKS cache: refetch on an unknown `kid`, the penalty window, rotation and outages.

use super::*;

#[tokio::test]
async fn jwks_is_fetched_once_and_cached() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();

    for _ in 0..5 {
        verifier
            .verify(&key.sign(&access_claims(&server.issuer())))
            .await
            .unwrap();
    }

    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn flood_of_unknown_kids_fetches_the_jwks_once_per_window() {
    let (server, verifier) = pool().await;
    let claims = access_claims(&server.issuer());
    let tokens: Vec<String> = (0..64)
        .map(|i| SigningKey::foreign(&format!("random-kid-{i}")).sign(&claims))
        .collect();

    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let verifier = verifier.clone();
        tasks.spawn(async move { verifier.verify(&token).await });
    }
    while let Some(outcome) = tasks.join_next().await {
        assert_rejected!(outcome.unwrap(), VerifyError::UnknownKid);
    }

    assert_eq!(server.requests(), 1, "64 unknown kids, one JWKS request");
    // Known kids are still served from the cache meanwhile.
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn unknown_kid_may_trigger_a_refetch_again_after_the_penalty_window() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let claims = access_claims(&server.issuer());
    let unknown = SigningKey::foreign("unknown-kid").sign(&claims);

    assert_rejected!(verifier.verify(&unknown).await, VerifyError::UnknownKid);
    assert_rejected!(verifier.verify(&unknown).await, VerifyError::UnknownKid);
    assert_eq!(server.requests(), 1, "no refetch inside the window");

    tokio::time::sleep(SHORT_PENALTY + Duration::from_millis(100)).await;
    assert_rejected!(verifier.verify(&unknown).await, VerifyError::UnknownKid);
    assert_eq!(
        server.requests(),
        2,
        "one refetch once the window has passed"
    );
}

#[tokio::test]
async fn penalty_window_is_kept_per_issuer() {
    let pool_a = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let pool_b = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = AccessTokenVerifier::new(config_for(&[&pool_a, &pool_b], LONG_PENALTY)).unwrap();
    let unknown = SigningKey::foreign("unknown-kid");

    for _ in 0..3 {
        assert_rejected!(
            verifier
                .verify(&unknown.sign(&access_claims(&pool_a.issuer())))
                .await,
            VerifyError::UnknownKid
        );
    }
    // A flood against pool A does not stop pool B from fetching its keys.
    verifier
        .verify(&SigningKey::primary().sign(&access_claims(&pool_b.issuer())))
        .await
        .unwrap();

    assert_eq!((pool_a.requests(), pool_b.requests()), (1, 1));
}

#[tokio::test]
async fn new_kid_after_key_rotation_is_accepted_without_restart() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let claims = access_claims(&server.issuer());
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    server.publish(jwks(&[&SigningKey::primary(), &SigningKey::rotated()]));
    tokio::time::sleep(SHORT_PENALTY + Duration::from_millis(100)).await;

    verifier
        .verify(&SigningKey::rotated().sign(&claims))
        .await
        .unwrap();
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn key_rotated_in_right_after_a_successful_fetch_is_accepted_at_once() {
    // A fetch that found its kid starts no penalty window (as in aws-jwt-verify): a key published a moment
    // later is picked up by the very next token that uses it.
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, Duration::from_secs(60));
    let claims = access_claims(&server.issuer());
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    server.publish(jwks(&[&SigningKey::primary(), &SigningKey::rotated()]));
    verifier
        .verify(&SigningKey::rotated().sign(&claims))
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_jwks_whose_keys_are_all_malformed_selects_no_key() {
    for body in [
        r#"{"keys": [{"kid": "key-1"}]}"#,
        r#"{"keys": [{"kty": "RSA", "kid": 1}]}"#,
    ] {
        let server = JwksServer::start(json!({})).await;
        server.behave(Behaviour::Body(body.to_owned()));
        let verifier = verifier_for(&server, LONG_PENALTY);
        let error = verifier
            .verify(&SigningKey::primary().sign(&access_claims(&server.issuer())))
            .await
            .unwrap_err();
        assert!(
            matches!(error, VerifyError::UnknownKid),
            "{body}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_malformed_key_in_the_jwks_does_not_disable_the_others() {
    let odd_key = json!({"kty": "RSA", "kid": "odd", "use": 7, "n": ["not", "a", "string"]});
    let mut document = jwks(&[&SigningKey::primary()]);
    document["keys"].as_array_mut().unwrap().insert(0, odd_key);
    let server = JwksServer::start(document).await;
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let claims = access_claims(&server.issuer());
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();
}

#[tokio::test]
async fn key_withdrawn_from_the_jwks_stops_verifying_after_a_refetch() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let claims = access_claims(&server.issuer());
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    server.publish(jwks(&[&SigningKey::rotated()]));
    tokio::time::sleep(SHORT_PENALTY + Duration::from_millis(100)).await;
    verifier
        .verify(&SigningKey::rotated().sign(&claims))
        .await
        .unwrap();

    assert_rejected!(
        verifier.verify(&SigningKey::primary().sign(&claims)).await,
        VerifyError::UnknownKid
    );
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_jwks_is_down() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let claims = access_claims(&server.issuer());
    verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    server.behave(Behaviour::Fail(StatusCode::SERVICE_UNAVAILABLE));
    tokio::time::sleep(SHORT_PENALTY + Duration::from_millis(100)).await;
    // A token with a new kid makes the verifier try, and fail, to refetch.
    let rotated = SigningKey::rotated().sign(&claims);
    let failed = verifier.verify(&rotated).await;
    assert_rejected!(
        &failed,
        VerifyError::JwksUnavailable(JwksFetchError::Status(503))
    );
    assert!(failed.unwrap_err().is_unavailable());

    // The failure does not throw away the cached key.
    for _ in 0..3 {
        verifier
            .verify(&SigningKey::primary().sign(&claims))
            .await
            .unwrap();
    }
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn jwks_outage_is_unavailable_and_recovers_without_restart() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    server.behave(Behaviour::Fail(StatusCode::INTERNAL_SERVER_ERROR));
    let verifier = verifier_for(&server, SHORT_PENALTY);
    let token = SigningKey::primary().sign(&access_claims(&server.issuer()));

    let first = verifier.verify(&token).await.unwrap_err();
    assert!(first.is_unavailable(), "{first:?}");
    assert!(matches!(
        first,
        VerifyError::JwksUnavailable(JwksFetchError::Status(500))
    ));
    // Within the window the verifier does not retry, and still reports the outage, not a bad token.
    let second = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(
        second,
        VerifyError::JwksUnavailable(JwksFetchError::RecentFailure)
    ));
    assert!(second.is_unavailable());
    assert_eq!(server.requests(), 1);

    server.behave(Behaviour::Serve);
    tokio::time::sleep(SHORT_PENALTY + Duration::from_millis(100)).await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn unreachable_jwks_is_unavailable() {
    // Bind a port and release it, so nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}{POOL_PATH}", listener.local_addr().unwrap());
    drop(listener);
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        issuers: vec![IssuerConfig::cognito(issuer.clone(), [WEB_CLIENT])],
        ..VerifierConfig::default()
    })
    .unwrap();

    let error = verifier
        .verify(&SigningKey::primary().sign(&access_claims(&issuer)))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            VerifyError::JwksUnavailable(JwksFetchError::Request(_))
        ),
        "{error:?}"
    );
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn hanging_jwks_request_gives_up_after_the_fetch_timeout() {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    server.behave(Behaviour::Hang);
    let verifier = AccessTokenVerifier::new(VerifierConfig {
        fetch_timeout: Duration::from_millis(200),
        ..config_for(&[&server], LONG_PENALTY)
    })
    .unwrap();
    let token = SigningKey::primary().sign(&access_claims(&server.issuer()));

    // The server hangs for a minute; only the verifier's own timeout can end this within ten seconds.
    let outcome = tokio::time::timeout(Duration::from_secs(10), verifier.verify(&token))
        .await
        .expect("the JWKS request must time out on its own");

    let error = outcome.unwrap_err();
    assert!(
        matches!(&error, VerifyError::JwksUnavailable(JwksFetchError::Request(e)) if e.is_timeout()),
        "{error:?}"
    );
}

#[tokio::test]
async fn jwks_redirects_are_not_followed() {
    let (server, verifier) = pool().await;
    let elsewhere = JwksServer::start(jwks(&[&SigningKey::foreign("key-1")])).await;
    server.behave(Behaviour::RedirectTo(format!(
        "{}/keys/jwks.json",
        elsewhere.base
    )));

    let error = verifier
        .verify(&SigningKey::foreign("key-1").sign(&access_claims(&server.issuer())))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            VerifyError::JwksUnavailable(JwksFetchError::Status(302))
        ),
        "{error:?}"
    );
    assert_eq!(elsewhere.requests(), 0);
}

#[tokio::test]
async fn invalid_or_oversized_jwks_documents_are_unavailable() {
    let bodies = [
        "not json".to_owned(),
        "[]".to_owned(),
        r#"{"keys": {}}"#.to_owned(),
        format!(
            r#"{{"keys": [], "padding": "{}"}}"#,
            "x".repeat(MAX_JWKS_BYTES)
        ),
    ];
    for body in bodies {
        let server = JwksServer::start(json!({})).await;
        server.behave(Behaviour::Body(body.clone()));
        let verifier = verifier_for(&server, LONG_PENALTY);

        let error = verifier
            .verify(&SigningKey::primary().sign(&access_claims(&server.issuer())))
            .await
            .unwrap_err();

        assert!(
            matches!(
                error,
                VerifyError::JwksUnavailable(
                    JwksFetchError::InvalidDocument(_) | JwksFetchError::TooLarge { .. }
                )
            ),
            "{}: {error:?}",
            &body[..body.len().min(40)]
        );
    }
}

#[test]
fn jwks_keys_without_kid_are_skipped_and_the_first_of_duplicate_kids_wins() {
    let body = json!({"keys": [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "kid": "dup", "n": "Zmlyc3Q", "e": "AQAB"},
        {"kty": "RSA", "kid": "dup", "n": "c2Vjb25k", "e": "AQAB"},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA", "x5c": ["ignored"]},
    ]});

    let keys = parse_jwks(body.to_string().as_bytes()).unwrap();

    assert_eq!(keys.len(), 2);
    let first: Jwk =
        serde_json::from_str(r#"{"kty": "RSA", "kid": "dup", "n": "Zmlyc3Q", "e": "AQAB"}"#)
            .unwrap();
    assert_eq!(*keys["dup"], first);
}
