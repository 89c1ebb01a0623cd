//! Properties over generated input, with fixed seeds: the verifier never panics, whatever it is given, and
//! a token it accepts satisfies every check, whatever claims were signed.

use proptest::prelude::*;
use proptest::test_runner::Config;
use tokio::runtime::Runtime;

use super::*;

fn config() -> Config {
    crate::test_support::property_config(256, 0x070c_3e25)
}

/// A runtime serving the test pool's JWKS, and a verifier for it, shared by every case of a test.
fn pool_on_runtime() -> (Runtime, JwksServer, AccessTokenVerifier) {
    let runtime = Runtime::new().unwrap();
    let (server, verifier) = runtime.block_on(pool());
    (runtime, server, verifier)
}

/// Any JSON value a claim could be given, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        prop::sample::select(vec![
            "access",
            "id",
            WEB_CLIENT,
            MACHINE_CLIENT,
            "RS256",
            ""
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::from)
    })
}

/// The claims the verifier looks at, and a few it does not.
const CLAIMS: [&str; 12] = [
    "iss",
    "sub",
    "client_id",
    "token_use",
    "scope",
    "exp",
    "nbf",
    "iat",
    "auth_time",
    "origin_jti",
    "username",
    "tenant_id",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_string_is_refused_without_a_panic(token in any::<String>()) {
        let (runtime, _server, verifier) = pool_on_runtime();
        prop_assert!(runtime.block_on(verifier.verify(&token)).is_err());
    }

    #[test]
    fn any_three_parts_of_base64url_json_are_refused_without_a_panic(
        header in json_value(),
        claims in json_value(),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let (runtime, _server, verifier) = pool_on_runtime();
        let token = compose(&header, &claims, &b64(&signature));
        prop_assert!(runtime.block_on(verifier.verify(&token)).is_err());
    }

    #[test]
    fn whatever_claims_are_signed_an_accepted_token_passes_every_check(
        changes in prop::collection::vec(
            (prop::sample::select(CLAIMS.to_vec()), prop::option::of(json_value())),
            0..4,
        ),
    ) {
        let (runtime, server, verifier) = pool_on_runtime();
        let mut claims = access_claims(&server.issuer());
        for (name, value) in &changes {
            match value {
                Some(value) => claims[*name] = value.clone(),
                None => {
                    claims.as_object_mut().unwrap().remove(*name);
                }
            }
        }
        let token = SigningKey::primary().sign(&claims);
        if let Ok(verified) = runtime.block_on(verifier.verify(&token)) {
            prop_assert_eq!(&verified.issuer, &server.issuer());
            prop_assert_eq!(claims["token_use"].as_str(), Some("access"));
            prop_assert!([WEB_CLIENT, MACHINE_CLIENT].contains(&verified.client_id.as_str()));
            // Within the leeway a token may be a few seconds past `exp`; never more.
            prop_assert!(verified.expires_at + 60 > now());
            prop_assert!(!verified.sub.is_empty());
        }
    }
}
