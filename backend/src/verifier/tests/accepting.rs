//! Accepting a genuine token.

use super::*;

#[tokio::test]
async fn genuine_access_token_is_accepted_with_all_its_claims() {
    let (server, verifier) = pool().await;
    let claims = access_claims(&server.issuer());

    let verified = verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    assert_eq!(verified.issuer, server.issuer());
    assert_eq!(verified.sub, claims["sub"]);
    assert_eq!(verified.client_id, WEB_CLIENT);
    assert_eq!(verified.username.as_deref(), Some("acme-entra_alice"));
    assert_eq!(verified.scopes, [READ_SCOPE, WRITE_SCOPE]);
    assert_eq!(Some(verified.expires_at), claims["exp"].as_i64());
    assert_eq!(Some(verified.issued_at), claims["iat"].as_i64());
    assert_eq!(verified.jti.as_deref(), claims["jti"].as_str());
    assert_eq!(
        verified.origin_jti.as_deref(),
        claims["origin_jti"].as_str()
    );
    assert_eq!(verified.auth_time, claims["auth_time"].as_i64());
    assert_eq!(verified.tenant_id.as_deref(), claims["tenant_id"].as_str());
    assert_eq!(verified.member_id.as_deref(), claims["member_id"].as_str());
}

#[tokio::test]
async fn escaped_strings_are_read_unescaped_and_mistyped_binding_claims_count_as_absent() {
    let (server, verifier) = pool().await;
    let claims = with(access_claims(&server.issuer()), "tenant_id", json!(42));
    let claims = with(
        claims,
        "member_id",
        json!(["7a3c5e9b-2d4f-4e6a-8c1b-5d9f3a7e1c4b"]),
    );
    let claims = with(claims, "auth_time", json!("1764748800"));
    let key = SigningKey::primary();
    // serde_json writes no needless escapes, so the escape is written by hand into the signed payload.
    let payload = claims
        .to_string()
        .replace("\"acme-entra_alice\"", "\"acme-entra_\\u0061lice\"");
    assert!(payload.contains("\\u0061"));

    let verified = verifier
        .verify(&key.sign_raw_payload(payload.as_bytes()))
        .await
        .unwrap();

    assert_eq!(verified.username.as_deref(), Some("acme-entra_alice"));
    assert_eq!(verified.tenant_id, None);
    assert_eq!(verified.member_id, None);
    assert_eq!(verified.auth_time, None);
}

#[tokio::test]
async fn client_credentials_token_without_username_is_accepted() {
    let (server, verifier) = pool().await;
    let claims = without(access_claims(&server.issuer()), "username");
    let claims = with(claims, "client_id", json!(MACHINE_CLIENT));
    let claims = with(claims, "scope", json!(READ_SCOPE));

    let verified = verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    assert_eq!(verified.client_id, MACHINE_CLIENT);
    assert_eq!(verified.username, None);
    assert_eq!(verified.scopes, [READ_SCOPE]);
}

#[tokio::test]
async fn scopes_are_matched_as_whole_space_separated_names() {
    let (server, verifier) = pool().await;
    let claims = with(
        access_claims(&server.issuer()),
        "scope",
        json!(format!(" {READ_SCOPE}  openid ")),
    );

    let verified = verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    assert_eq!(verified.scopes, [READ_SCOPE, "openid"]);
    assert!(verified.has_scope(READ_SCOPE));
    assert!(verified.has_scope("openid"));
    assert!(!verified.has_scope(WRITE_SCOPE));
    assert!(
        !verified.has_scope("https://api.saas.example/rea"),
        "no prefix match"
    );
    assert!(!verified.has_scope("read"), "no suffix match");
    assert!(!verified.has_scope(""));
}

#[tokio::test]
async fn token_without_scope_claim_has_no_scopes() {
    let (server, verifier) = pool().await;
    let claims = without(access_claims(&server.issuer()), "scope");

    let verified = verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    assert!(verified.scopes.is_empty());
    assert!(!verified.has_scope(READ_SCOPE));
}

#[tokio::test]
async fn clones_share_one_key_cache_across_tasks() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    let (server, verifier) = pool().await;
    assert_shareable(&verifier);
    let token = SigningKey::primary().sign(&access_claims(&server.issuer()));

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (verifier, token) = (verifier.clone(), token.clone());
        tasks.spawn(async move { verifier.verify(&token).await.map(|_| ()) });
    }
    while let Some(outcome) = tasks.join_next().await {
        outcome.unwrap().unwrap();
    }

    assert_eq!(server.requests(), 1, "one JWKS request serves every clone");
}
