//! The shape and types of the token: malformed input is a 401, never a panic.

use super::*;

#[tokio::test]
async fn token_must_have_exactly_three_non_empty_parts() {
    let (server, verifier) = pool().await;
    let token = SigningKey::primary().sign(&access_claims(&server.issuer()));
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);

    for malformed in [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        header.to_owned(),
        format!("{header}.{payload}"),
        format!("{header}.{payload}."),
        format!(".{payload}.{signature}"),
        format!("{header}..{signature}"),
        format!("{header}.{payload}.{signature}."),
        format!("{header}.{payload}.{signature}.{signature}"),
        format!("{token} "),
        format!(" {token}"),
        format!("Bearer {token}"),
    ] {
        assert_rejected!(
            verifier.verify(&malformed).await,
            VerifyError::NotThreeParts
        );
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn parts_must_be_unpadded_base64url() {
    let (server, verifier) = pool().await;
    let token = SigningKey::primary().sign(&access_claims(&server.issuer()));
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);

    for malformed in [
        format!("{header}=.{payload}.{signature}"),
        format!("{header}.{payload}.{signature}=="),
        format!("{header}.{}.{signature}", payload.replace('-', "+")),
        format!("{header}.{payload}.{}", signature.replace('_', "/")),
        format!("{header}.{payload}.sig nature"),
        format!("{header}.{payload}.é"),
    ] {
        if malformed != token {
            assert_rejected!(
                verifier.verify(&malformed).await,
                VerifyError::NotThreeParts
            );
        }
    }
    // Right alphabet, impossible length: a single leftover character encodes no whole byte.
    let impossible_length = |part: &str| {
        let mut part = part.to_owned();
        while part.len() % 4 != 1 {
            part.push('A');
        }
        part
    };
    assert_rejected!(
        verifier
            .verify(&format!(
                "{header}.{payload}.{}",
                impossible_length(signature)
            ))
            .await,
        VerifyError::InvalidBase64 {
            part: TokenPart::Signature
        }
    );
    assert_rejected!(
        verifier
            .verify(&format!(
                "{}.{payload}.{signature}",
                impossible_length(header)
            ))
            .await,
        VerifyError::InvalidBase64 {
            part: TokenPart::Header
        }
    );
    assert_rejected!(
        verifier
            .verify(&format!(
                "{header}.{}.{signature}",
                impossible_length(payload)
            ))
            .await,
        VerifyError::InvalidBase64 {
            part: TokenPart::Payload
        }
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn header_and_payload_must_be_json_objects() {
    let (server, verifier) = pool().await;
    let good_header = b64(br#"{"alg":"RS256","kid":"key-1"}"#);
    let good_payload = b64(access_claims(&server.issuer()).to_string().as_bytes());

    for not_an_object in [
        "[]",
        "\"a string\"",
        "42",
        "null",
        "true",
        "{",
        "{\"alg\":\"RS256\",}",
        "not json at all",
    ] {
        let part = b64(not_an_object.as_bytes());
        assert_rejected!(
            verifier
                .verify(&format!("{part}.{good_payload}.c2ln"))
                .await,
            VerifyError::NotJsonObject {
                part: TokenPart::Header
            }
        );
        assert_rejected!(
            verifier.verify(&format!("{good_header}.{part}.c2ln")).await,
            VerifyError::NotJsonObject {
                part: TokenPart::Payload
            }
        );
    }
    // Bytes that are not UTF-8 are not JSON either.
    let binary = b64(&[0xff, 0xfe, 0x7b, 0x7d]);
    assert_rejected!(
        verifier
            .verify(&format!("{binary}.{good_payload}.c2ln"))
            .await,
        VerifyError::NotJsonObject {
            part: TokenPart::Header
        }
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn registered_claims_must_have_their_json_types() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    let wrong_types = [
        ("exp", json!("9999999999")),
        ("exp", json!(-1)),
        ("exp", json!(null)),
        ("nbf", json!("0")),
        ("nbf", json!([1])),
        ("iat", json!({"seconds": 1})),
        ("iat", json!(-0.5)),
        ("iss", json!([server.issuer()])),
        ("sub", json!(12345)),
        ("scope", json!([READ_SCOPE])),
        ("client_id", json!([WEB_CLIENT])),
        ("token_use", json!(true)),
        ("username", json!(7)),
        ("jti", json!({})),
        ("aud", json!(1)),
        ("aud", json!(["ok", 2])),
    ];
    for (name, value) in wrong_types {
        let token = key.sign(&with(claims.clone(), name, value.clone()));
        let result = verifier.verify(&token).await;
        assert!(
            matches!(&result, Err(VerifyError::InvalidType { name: got, .. }) if *got == name),
            "{name} = {value}: {result:?}"
        );
    }
    assert_eq!(
        server.requests(),
        0,
        "type errors are found before any network call"
    );
}

#[tokio::test]
async fn a_claim_or_header_parameter_named_twice_is_rejected() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer()).to_string();
    // The second `sub` would win in a parser keeping the last value, the first in one keeping the first.
    let twice = claims.replacen('{', "{\"sub\":\"someone-else\",", 1);

    assert_rejected!(
        verifier
            .verify(&key.sign_raw_payload(twice.as_bytes()))
            .await,
        VerifyError::NotJsonObject {
            part: TokenPart::Payload
        }
    );
    let header = b64(br#"{"alg":"RS256","kid":"key-1","kid":"key-2"}"#);
    let payload = b64(claims.as_bytes());
    assert_rejected!(
        verifier.verify(&format!("{header}.{payload}.c2ln")).await,
        VerifyError::NotJsonObject {
            part: TokenPart::Header
        }
    );
    // A claim the verifier does not read may repeat: it is not kept.
    let unread_twice = claims.replacen('{', "{\"tenant_role\":\"admin\",", 1);
    verifier
        .verify(&key.sign_raw_payload(unread_twice.as_bytes()))
        .await
        .unwrap();
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn fractional_numeric_dates_are_accepted() {
    let (server, verifier) = pool().await;
    let now = now() as f64;
    let claims = with(access_claims(&server.issuer()), "exp", json!(now + 600.75));
    let claims = with(claims, "iat", json!(now - 0.25));
    let claims = with(claims, "nbf", json!(now - 1.5));

    let verified = verifier
        .verify(&SigningKey::primary().sign(&claims))
        .await
        .unwrap();

    assert_eq!(verified.expires_at, (now + 600.75).trunc() as i64);
}

#[tokio::test]
async fn header_parameters_must_have_their_json_types() {
    let (server, verifier) = pool().await;
    let key = SigningKey::primary();
    let claims = access_claims(&server.issuer());

    let token = key.sign_with_header(
        &json!({"alg": "RS256", "kid": 1}),
        &claims,
        Algorithm::RS256,
    );
    assert_rejected!(
        verifier.verify(&token).await,
        VerifyError::InvalidType { name: "kid", .. }
    );
    let token = key.sign_with_header(
        &json!({"alg": ["RS256"], "kid": "key-1"}),
        &claims,
        Algorithm::RS256,
    );
    assert_rejected!(
        verifier.verify(&token).await,
        VerifyError::InvalidType { name: "alg", .. }
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn oversized_token_is_rejected_before_parsing() {
    let (server, verifier) = pool().await;
    let padding = "x".repeat(MAX_TOKEN_BYTES);
    let claims = with(access_claims(&server.issuer()), "padding", json!(padding));

    let result = verifier.verify(&SigningKey::primary().sign(&claims)).await;

    assert_rejected!(
        result,
        VerifyError::TooLarge {
            max: MAX_TOKEN_BYTES
        }
    );
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn random_truncated_and_mutated_inputs_are_errors_never_panics() {
    let (server, verifier) = pool().await;
    let token = SigningKey::primary().sign(&access_claims(&server.issuer()));
    verifier.verify(&token).await.unwrap();
    let mut rng = StdRng::seed_from_u64(0x706b_656e);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

    let mut inputs: Vec<String> = Vec::new();
    // Every proper prefix and every proper suffix of a genuine token.
    inputs.extend((0..token.len()).map(|end| token[..end].to_owned()));
    inputs.extend((1..token.len()).map(|start| token[start..].to_owned()));
    // One character of a genuine token replaced by a different one.
    for _ in 0..300 {
        let mut bytes = token.clone().into_bytes();
        let position = rng.gen_range(0..bytes.len());
        let replacement = loop {
            let candidate = ALPHABET[rng.gen_range(0..ALPHABET.len())];
            if candidate != bytes[position] {
                break candidate;
            }
        };
        bytes[position] = replacement;
        inputs.push(String::from_utf8(bytes).unwrap());
    }
    // Random strings over the token alphabet and over arbitrary bytes.
    for _ in 0..300 {
        let length = rng.gen_range(0..400);
        inputs.push(
            (0..length)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect(),
        );
        let bytes: Vec<u8> = (0..length).map(|_| rng.r#gen()).collect();
        inputs.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    // Three random parts that decode to random bytes, and random JSON objects with random values.
    for _ in 0..200 {
        let (a, b, c) = (
            random_part(&mut rng),
            random_part(&mut rng),
            random_part(&mut rng),
        );
        inputs.push(format!("{a}.{b}.{c}"));
        let value = match rng.gen_range(0..5) {
            0 => json!(rng.r#gen::<f64>() * 1e12),
            1 => json!(rng.r#gen::<i64>()),
            2 => json!(null),
            3 => json!([rng.r#gen::<u32>()]),
            _ => json!({"nested": rng.r#gen::<bool>()}),
        };
        let names = [
            "exp",
            "nbf",
            "iat",
            "iss",
            "sub",
            "kid",
            "alg",
            "client_id",
            "token_use",
        ];
        let name = names[rng.gen_range(0..names.len())];
        let header = json!({"alg": "RS256", "kid": "key-1", name: value.clone()});
        let claims = with(access_claims(&server.issuer()), name, value);
        inputs.push(compose(&header, &claims, &c));
    }

    for input in &inputs {
        assert!(verifier.verify(input).await.is_err(), "accepted {input:?}");
    }
    // One request finds the genuine kid (no window), the next one misses a made-up kid and opens the
    // window for the rest.
    assert!(
        server.requests() <= 2,
        "garbage must not hammer the JWKS endpoint"
    );
}

fn random_part(rng: &mut StdRng) -> String {
    let bytes: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.r#gen()).collect();
    b64(&bytes)
}
