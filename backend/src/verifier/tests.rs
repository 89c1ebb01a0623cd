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

    /// A token whose payload is exactly `payload` (JSON written by hand), signed with this key.
    fn sign_raw_payload(&self, payload: &[u8]) -> String {
        let header = json!({"alg": "RS256", "kid": self.kid}).to_string();
        let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &self.encoding_key(),
            Algorithm::RS256,
        )
        .unwrap();
        format!("{signing_input}.{signature}")
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

// The sections of the specification. Declared after the helpers above, so that they can use
// `assert_rejected!` (a macro is in scope only below its definition).
mod accepting;
mod cache;
mod claims;
mod configuration;
mod issuer;
mod jwks;
mod keys;
mod properties;
mod shape;
