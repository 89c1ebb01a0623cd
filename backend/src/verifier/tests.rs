//! The access-token verifier's specification: each point of security.md's "Access-token verification",
//! against real RSA keys and a JWKS server on 127.0.0.1 that counts its requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use super::claims::MAX_TOKEN_BYTES;
use super::jwks::{Jwk, MAX_JWKS_BYTES, parse_jwks};
use super::*;

const POOL_PATH: &str = "/eu-west-1_TestPool";
const WEB_CLIENT: &str = "3n4k1test0web0c1ient0id00";
const MACHINE_CLIENT: &str = "6m2ch1ne0test0c1ient0id0";
const READ_SCOPE: &str = "https://api.saas.example/read";
const WRITE_SCOPE: &str = "https://api.saas.example/write";
/// Long enough that no test's requests spread over two windows, unless the test waits on purpose.
const LONG_PENALTY: Duration = Duration::from_secs(60);
/// Short enough to wait out in a test.
const SHORT_PENALTY: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------------
// Keys and tokens
// ---------------------------------------------------------------------------------------------------

/// RSA key generation is slow, so the test binary makes three keys once (deterministically).
fn rsa_key(index: usize) -> &'static RsaPrivateKey {
    static KEYS: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..3u64)
            .map(|seed| {
                let mut rng = StdRng::seed_from_u64(0x5aa5_0000 + seed);
                RsaPrivateKey::new(&mut rng, 2048).unwrap()
            })
            .collect()
    });
    &keys[index]
}

/// A signing key with the `kid` under which its public half is published.
#[derive(Clone)]
struct SigningKey {
    kid: String,
    private: &'static RsaPrivateKey,
}

impl SigningKey {
    /// The issuer's current key.
    fn primary() -> Self {
        Self::new("key-1", 0)
    }

    /// The key the issuer rotates to.
    fn rotated() -> Self {
        Self::new("key-2", 1)
    }

    /// A key the issuer never published (an attacker's, or another pool's), under any `kid`.
    fn foreign(kid: &str) -> Self {
        Self::new(kid, 2)
    }

    fn new(kid: &str, index: usize) -> Self {
        Self {
            kid: kid.to_owned(),
            private: rsa_key(index),
        }
    }

    /// The public key as Cognito publishes it.
    fn jwk(&self) -> Value {
        let public = self.private.to_public_key();
        json!({
            "alg": "RS256",
            "e": b64(&public.e().to_bytes_be()),
            "kid": self.kid,
            "kty": "RSA",
            "n": b64(&public.n().to_bytes_be()),
            "use": "sig",
        })
    }

    fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_rsa_der(self.private.to_pkcs1_der().unwrap().as_bytes())
    }

    /// An RS256 token with this key's `kid`.
    fn sign(&self, claims: &Value) -> String {
        sign_raw(
            &json!({"alg": "RS256", "kid": self.kid}),
            claims,
            &self.encoding_key(),
            Algorithm::RS256,
        )
    }

    /// A token with any header, signed with this key under `alg`.
    fn sign_with_header(&self, header: &Value, claims: &Value, alg: Algorithm) -> String {
        sign_raw(header, claims, &self.encoding_key(), alg)
    }
}

fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>() })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn compose(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Signs exactly the given header and claims, so tests can put anything in the header.
fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let unsigned = compose(header, claims, "");
    let signing_input = unsigned.trim_end_matches('.');
    let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), key, alg).unwrap();
    format!("{signing_input}.{signature}")
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

/// The claims of a Cognito access token after the pre-token-generation trigger.
fn access_claims(issuer: &str) -> Value {
    let now = now();
    json!({
        "sub": "5f3c9a2e-1b7d-4e8a-9c0f-2d6b8e4a1c3f",
        "cognito:groups": ["eu-west-1_TestPool_acme-entra"],
        "iss": issuer,
        "version": 2,
        "client_id": WEB_CLIENT,
        "origin_jti": "0b8f6a1e-7c2d-4f5a-9e3b-6d1c8a4f2e7b",
        "token_use": "access",
        "scope": format!("{READ_SCOPE} {WRITE_SCOPE}"),
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": "9e2d4c6a-8b1f-4a3e-b5c7-1f9d3e5a7c2b",
        "username": "acme-entra_alice",
        "tenant_id": "1d5a3e7c-9b2f-4c8d-a6e1-3f7b9d5c2a8e",
        "tenant_role": "member",
        "tenant_plan": "pro",
        "member_id": "7a3c5e9b-2d4f-4e6a-8c1b-5d9f3a7e1c4b",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

macro_rules! assert_rejected {
    ($result:expr, $pattern:pat) => {{
        let result = $result;
        assert!(
            matches!(result, Err($pattern)),
            "expected Err({}), got {result:?}",
            stringify!($pattern)
        );
    }};
}

// ---------------------------------------------------------------------------------------------------
// A JWKS server that counts requests and can rotate keys or fail
// ---------------------------------------------------------------------------------------------------

#[derive(Clone)]
enum Behaviour {
    Serve,
    Fail(StatusCode),
    Hang,
    RedirectTo(String),
    Body(String),
}

struct ServerState {
    jwks: Mutex<Value>,
    behaviour: Mutex<Behaviour>,
    /// Every request, whatever its path.
    requests: AtomicUsize,
}

struct JwksServer {
    base: String,
    state: Arc<ServerState>,
}

impl JwksServer {
    /// Serves `jwks` at `<base>/eu-west-1_TestPool/.well-known/jwks.json`, like a user pool.
    async fn start(jwks: Value) -> Self {
        let state = Arc::new(ServerState {
            jwks: Mutex::new(jwks),
            behaviour: Mutex::new(Behaviour::Serve),
            requests: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route(
                &format!("{POOL_PATH}/.well-known/jwks.json"),
                get(serve_jwks),
            )
            .route("/keys/jwks.json", get(serve_jwks))
            .fallback(not_found)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    fn issuer(&self) -> String {
        format!("{}{POOL_PATH}", self.base)
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn publish(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    fn behave(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }
}

async fn serve_jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let behaviour = state.behaviour.lock().unwrap().clone();
    match behaviour {
        Behaviour::Serve => axum::Json(state.jwks.lock().unwrap().clone()).into_response(),
        Behaviour::Fail(status) => status.into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Behaviour::RedirectTo(location) => {
            (StatusCode::FOUND, [(LOCATION, location)]).into_response()
        }
        Behaviour::Body(body) => body.into_response(),
    }
}

async fn not_found(State(state): State<Arc<ServerState>>) -> StatusCode {
    state.requests.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND
}

fn config_for(servers: &[&JwksServer], penalty: Duration) -> VerifierConfig {
    VerifierConfig {
        issuers: servers
            .iter()
            .map(|server| IssuerConfig::cognito(server.issuer(), [WEB_CLIENT, MACHINE_CLIENT]))
            .collect(),
        jwks_refetch_penalty: penalty,
        fetch_timeout: Duration::from_secs(2),
        ..VerifierConfig::default()
    }
}

fn verifier_for(server: &JwksServer, penalty: Duration) -> AccessTokenVerifier {
    AccessTokenVerifier::new(config_for(&[server], penalty)).unwrap()
}

/// A user pool publishing the primary key, and a verifier trusting it.
async fn pool() -> (JwksServer, AccessTokenVerifier) {
    let server = JwksServer::start(jwks(&[&SigningKey::primary()])).await;
    let verifier = verifier_for(&server, LONG_PENALTY);
    (server, verifier)
}

// ---------------------------------------------------------------------------------------------------
// Accepting a genuine token
// ---------------------------------------------------------------------------------------------------

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
    assert_eq!(Value::Object(verified.claims.clone()), claims);
    assert_eq!(verified.claim_str("tenant_role"), Some("member"));
    assert_eq!(
        verified.claim_str("tenant_id"),
        claims["tenant_id"].as_str()
    );
    assert_eq!(
        verified.claim_str("version"),
        None,
        "a number is not a string claim"
    );
    assert_eq!(verified.claim_str("no_such_claim"), None);
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

// ---------------------------------------------------------------------------------------------------
// Shape and types of the token
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// Issuer pinning
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// JWKS cache, refetch penalty, rotation and outages
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// kid, alg and the key it selects
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// The cache of verified tokens
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// Time, token use and client
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------

#[test]
fn defaults_match_the_contract() {
    let config = VerifierConfig::default();

    assert!(config.issuers.is_empty());
    assert_eq!(config.jwks_refetch_penalty, Duration::from_secs(10));
    assert_eq!(config.leeway, Duration::from_secs(5));
    assert_eq!(config.fetch_timeout, Duration::from_secs(3));
    assert_eq!(config.token_cache_capacity, 10_000);
}

#[test]
fn setup_rejects_configurations_that_could_never_accept_a_token() {
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";
    let with_issuers = |issuers: Vec<IssuerConfig>| {
        AccessTokenVerifier::new(VerifierConfig {
            issuers,
            ..VerifierConfig::default()
        })
    };

    assert!(matches!(
        with_issuers(vec![]),
        Err(VerifierSetupError::NoIssuers)
    ));
    assert!(matches!(
        with_issuers(vec![IssuerConfig::cognito(issuer, Vec::<String>::new())]),
        Err(VerifierSetupError::NoClientIds { .. })
    ));
    assert!(matches!(
        with_issuers(vec![
            IssuerConfig::cognito(issuer, [WEB_CLIENT]),
            IssuerConfig::cognito(issuer, [MACHINE_CLIENT]),
        ]),
        Err(VerifierSetupError::DuplicateIssuer { .. })
    ));
    assert!(matches!(
        with_issuers(vec![IssuerConfig::cognito(
            "eu-west-1_AbC123",
            [WEB_CLIENT]
        )]),
        Err(VerifierSetupError::IssuerNotAUrl { .. })
    ));
    let mut file_jwks = IssuerConfig::cognito(issuer, [WEB_CLIENT]);
    file_jwks.jwks_uri = Some("file:///etc/jwks.json".parse().unwrap());
    assert!(matches!(
        with_issuers(vec![file_jwks]),
        Err(VerifierSetupError::InvalidJwksUri { .. })
    ));
    let lenient = AccessTokenVerifier::new(VerifierConfig {
        issuers: vec![IssuerConfig::cognito(issuer, [WEB_CLIENT])],
        leeway: Duration::from_secs(301),
        ..VerifierConfig::default()
    });
    assert!(matches!(
        lenient,
        Err(VerifierSetupError::LeewayTooLarge { max_secs: 300 })
    ));
    assert!(with_issuers(vec![IssuerConfig::cognito(issuer, [WEB_CLIENT])]).is_ok());
}

#[test]
fn unavailable_is_reported_only_for_jwks_outages() {
    assert!(VerifyError::JwksUnavailable(JwksFetchError::RecentFailure).is_unavailable());
    assert!(VerifyError::JwksUnavailable(JwksFetchError::Status(500)).is_unavailable());
    for error in [
        VerifyError::UnknownKid,
        VerifyError::UnknownIssuer,
        VerifyError::InvalidSignature,
        VerifyError::Expired,
        VerifyError::NotThreeParts,
    ] {
        assert!(!error.is_unavailable(), "{error:?}");
    }
}
