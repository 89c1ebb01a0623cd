//! Key rotation without restart.

use crate::helpers::*;

fn published(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_the_old_stays_published_until_retired() {
    let world = World::start().await;
    let admin = world.aws.keys();
    let (_, before) = world.sign_in("acme-entra", ALICE).await;
    let old = admin.access_kid();

    let new = admin.rotate_access_key();
    assert_ne!(new, old);
    let kids = published(&world.jwks().await);
    assert!(kids.contains(&old) && kids.contains(&new));
    let (old_kid, _) = world
        .verify(before["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(
        old_kid, old,
        "tokens issued before the rotation still verify"
    );

    let (_, after) = world.sign_in("acme-entra", ALICE).await;
    let (new_kid, _) = world
        .verify(after["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(new_kid, new);

    assert!(admin.retire_key(&old));
    let kids = published(&world.jwks().await);
    assert!(!kids.contains(&old));
    assert_eq!(kids, admin.published_kids());
    assert!(
        !admin.retire_key(&new),
        "the current signing key cannot be retired"
    );
}

#[tokio::test]
async fn the_id_key_rotates_on_its_own() {
    let world = World::start().await;
    let admin = world.aws.keys();
    let access = admin.access_kid();
    let new = admin.rotate_id_key();
    assert_eq!(admin.id_kid(), new);
    assert_eq!(admin.access_kid(), access);
    let (_, tokens) = world.sign_in("globex-okta", CAROL).await;
    let (kid, _) = world
        .verify(
            tokens["id_token"].as_str().unwrap(),
            Some(&world.web.client_id),
        )
        .await;
    assert_eq!(kid, new);
}

#[tokio::test]
async fn sign_access_token_signs_arbitrary_claims_with_the_access_key() {
    let world = World::start().await;
    let token = world.aws.sign_access_token(&serde_json::json!({
        "iss": world.aws.issuer(), "sub": "x", "token_use": "id", "exp": 4_000_000_000u64
    }));
    let (kid, claims) = world.verify(&token, None).await;
    assert_eq!(kid, world.aws.keys().access_kid());
    assert_eq!(claims["token_use"], "id");
}
