//! The `kid` and `alg` of a token and the key they select.

use super::*;

#[tokio::test]
async fn token_without_kid_is_rejected_before_any_network_call() {
    let (server, verifier) = pool().await;
    let token = SigningKey::primary().sign_with_header(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &access_claims(&server.issuer()),
        Algorithm::RS256,
    );

    assert_rejected!(verifier.verify(&token).await, VerifyError::MissingKid);
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn only_rs256_is_allowed_even_when_signed_with_the_genuine_key() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS512,
    ] {
        let header = json!({"alg": alg, "kid": key.kid});
        let token = key.sign_with_header(&header, &claims, alg);
        assert_rejected!(
            verifier.verify(&token).await,
            VerifyError::AlgorithmNotAllowed
        );
    }
    let header = json!({"kid": key.kid});
    let token = key.sign_with_header(&header, &claims, Algorithm::RS256);
    assert_rejected!(
        verifier.verify(&token).await,
        VerifyError::AlgorithmNotAllowed
    );
    for alg in ["rs256", "RS256 ", "ES256", "EdDSA"] {
        let token = key.sign_with_header(
            &json!({"alg": alg, "kid": key.kid}),
            &claims,
            Algorithm::RS256,
        );
        assert_rejected!(
            verifier.verify(&token).await,
            VerifyError::AlgorithmNotAllowed
        );
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let (server, verifier) = pool().await;
    let claims = access_claims(&server.issuer());

    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": "key-1"});
        // The classic form has an empty signature; with any signature at all it must fail too.
        assert!(
            verifier
                .verify(&compose(&header, &claims, ""))
                .await
                .is_err()
        );
        assert_rejected!(
            verifier.verify(&compose(&header, &claims, "c2ln")).await,
            VerifyError::AlgorithmNotAllowed
        );
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    // The key-confusion attack: the attacker uses the published public key as an HMAC secret and hopes
    // the verifier feeds the same bytes to HMAC verification.
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let public = key.private.to_public_key();
    let claims = access_claims(&server.issuer());
    let secrets: Vec<Vec<u8>> = vec![
        public
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
        public
            .to_public_key_pem(LineEnding::CRLF)
            .unwrap()
            .into_bytes(),
        public.to_pkcs1_pem(LineEnding::LF).unwrap().into_bytes(),
        public.to_public_key_der().unwrap().as_bytes().to_vec(),
        public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        public.n().to_bytes_be(),
        key.jwk()["n"].as_str().unwrap().as_bytes().to_vec(),
        key.jwk().to_string().into_bytes(),
    ];

    for secret in &secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let header = json!({"alg": alg, "kid": key.kid, "typ": "JWT"});
            let token = sign_raw(&header, &claims, &EncodingKey::from_secret(secret), alg);
            assert_rejected!(
                verifier.verify(&token).await,
                VerifyError::AlgorithmNotAllowed
            );
        }
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn token_alg_must_equal_the_alg_of_its_jwk() {
    let key = SigningKey::primary();
    let mut jwk = key.jwk();
    jwk["alg"] = json!("RS512");
    let server = JwksServer::start(json!({"keys": [jwk]})).await;
    let verifier = verifier_for(&server, LONG_PENALTY);

    let result = verifier
        .verify(&key.sign(&access_claims(&server.issuer())))
        .await;

    assert_rejected!(result, VerifyError::KeyAlgorithmMismatch);
}

#[tokio::test]
async fn jwk_without_alg_or_use_is_accepted() {
    let key = SigningKey::primary();
    let mut jwk = key.jwk();
    jwk.as_object_mut().unwrap().remove("alg");
    jwk.as_object_mut().unwrap().remove("use");
    let server = JwksServer::start(json!({"keys": [jwk]})).await;
    let verifier = verifier_for(&server, LONG_PENALTY);

    verifier
        .verify(&key.sign(&access_claims(&server.issuer())))
        .await
        .unwrap();
}

#[tokio::test]
async fn jwk_must_be_an_rsa_signing_key() {
    let key = SigningKey::primary();
    let rsa_jwk = key.jwk();
    let cases = [
        (
            json!({"kty": "EC", "kid": "key-1", "crv": "P-256", "x": "AA", "y": "AA"}),
            "EC",
        ),
        (
            json!({"kty": "oct", "kid": "key-1", "k": rsa_jwk["n"]}),
            "oct",
        ),
        (
            json!({"kty": "OKP", "kid": "key-1", "crv": "Ed25519", "x": "AA"}),
            "OKP",
        ),
        (with(rsa_jwk.clone(), "kty", json!("rsa")), "lower-case rsa"),
        (with(rsa_jwk.clone(), "use", json!("enc")), "use enc"),
        (without(rsa_jwk.clone(), "n"), "no modulus"),
        (with(rsa_jwk.clone(), "e", json!("")), "empty exponent"),
        (
            with(rsa_jwk.clone(), "n", json!("not base64url!")),
            "modulus not base64url",
        ),
    ];

    for (jwk, case) in cases {
        let server = JwksServer::start(json!({"keys": [jwk]})).await;
        let verifier = verifier_for(&server, LONG_PENALTY);
        let result = verifier
            .verify(&key.sign(&access_claims(&server.issuer())))
            .await;
        let expected = match case {
            "use enc" => matches!(result, Err(VerifyError::KeyNotForSignatures)),
            "no modulus" | "empty exponent" | "modulus not base64url" => {
                matches!(result, Err(VerifyError::InvalidKey))
            }
            _ => matches!(result, Err(VerifyError::KeyNotRsa)),
        };
        assert!(expected, "{case}: {result:?}");
    }
}

#[tokio::test]
async fn signature_from_a_foreign_key_with_the_same_kid_is_rejected() {
    let (server, verifier) = pool().await;
    let impostor = SigningKey::foreign("key-1");

    let result = verifier
        .verify(&impostor.sign(&access_claims(&server.issuer())))
        .await;

    assert_rejected!(result, VerifyError::InvalidSignature);
}

#[tokio::test]
async fn tampered_payload_or_header_is_rejected() {
    let (server, verifier) = pool().await;
    let claims = access_claims(&server.issuer());
    let token = SigningKey::primary().sign(&claims);
    let parts: Vec<&str> = token.split('.').collect();
    verifier.verify(&token).await.unwrap();

    // Promote the member to admin of the tenant, keeping the genuine signature.
    let promoted = with(claims.clone(), "tenant_role", json!("admin"));
    let promoted = with(
        promoted,
        "scope",
        json!(format!(
            "{READ_SCOPE} {WRITE_SCOPE} https://api.saas.example/admin"
        )),
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(promoted.to_string().as_bytes()),
        parts[2]
    );
    assert_rejected!(
        verifier.verify(&forged).await,
        VerifyError::InvalidSignature
    );

    // Same claims, re-encoded with different whitespace: the signature covers the exact bytes.
    let reformatted = serde_json::to_string_pretty(&claims).unwrap();
    let forged = format!("{}.{}.{}", parts[0], b64(reformatted.as_bytes()), parts[2]);
    assert_rejected!(
        verifier.verify(&forged).await,
        VerifyError::InvalidSignature
    );

    let header = b64(br#"{"kid":"key-1","alg":"RS256"}"#);
    let forged = format!("{header}.{}.{}", parts[1], parts[2]);
    assert_rejected!(
        verifier.verify(&forged).await,
        VerifyError::InvalidSignature
    );

    // A signature from another token of the same issuer does not carry over.
    let other = SigningKey::primary().sign(&with(claims, "sub", json!("someone-else")));
    let other_signature = other.rsplit('.').next().unwrap();
    let forged = format!("{}.{}.{other_signature}", parts[0], parts[1]);
    assert_rejected!(
        verifier.verify(&forged).await,
        VerifyError::InvalidSignature
    );
}

#[tokio::test]
async fn critical_header_extensions_are_rejected() {
    let (server, verifier) = pool().await;
    let header = json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"], "exp": 0});
    let token = SigningKey::primary().sign_with_header(
        &header,
        &access_claims(&server.issuer()),
        Algorithm::RS256,
    );

    assert_rejected!(
        verifier.verify(&token).await,
        VerifyError::UnsupportedCriticalHeader
    );
}

#[tokio::test]
async fn a_genuine_signature_by_a_published_key_shorter_than_2048_bits_is_rejected() {
    // RS256 keys must have at least 2048 bits (RFC 7518 section 3.3). aws-lc-rs refuses to sign with a shorter
    // one, so the token is signed here with the `rsa` crate: PKCS#1 v1.5 over SHA-256, exactly as RS256 does.
    let private = RsaPrivateKey::new(&mut StdRng::seed_from_u64(0x5aa5_1024), 1024).unwrap();
    let public = private.to_public_key();
    let jwk = json!({
        "alg": "RS256",
        "e": b64(&public.e().to_bytes_be()),
        "kid": "short-key",
        "kty": "RSA",
        "n": b64(&public.n().to_bytes_be()),
        "use": "sig",
    });
    let server = JwksServer::start(json!({"keys": [jwk]})).await;
    let verifier = verifier_for(&server, LONG_PENALTY);
    let unsigned = compose(
        &json!({"alg": "RS256", "kid": "short-key"}),
        &access_claims(&server.issuer()),
        "",
    );
    let signing_input = unsigned.trim_end_matches('.');
    let digest = <sha2::Sha256 as sha2::Digest>::digest(signing_input.as_bytes());
    let signature = private
        .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
        .unwrap();
    // The signature itself is sound: the `rsa` crate, which has no lower bound, accepts it.
    public
        .verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &digest,
            &signature,
        )
        .unwrap();
    let token = format!("{signing_input}.{}", b64(&signature));

    assert_rejected!(verifier.verify(&token).await, VerifyError::InvalidSignature);
}
