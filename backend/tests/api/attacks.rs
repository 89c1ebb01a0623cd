//! The access-token attack suite at the API: every forged, tampered or misused token that security.md's
//! "Access-token verification" lists, built from real tokens of the stand-in user pool and sent as a bearer
//! token through the real router, must be answered 401 `unauthenticated` or 403 with its exact code (never
//! 500), always with the JSON error body.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use backend::db::members::MemberStatus;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Client, Method, StatusCode};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding};
use rsa::pkcs8::EncodePublicKey;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value, json};
use shared::ErrorCode;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use url::Url;
use uuid::Uuid;

use crate::helpers::{ALICE, BOB, ExtraBackend, TestApp};

/// `GET` needs the `read` scope.
const ME: &str = "/api/v1/me";
/// `GET` needs the `read` scope, `POST` the `write` scope.
const REPORTS: &str = "/api/v1/reports";

/// Beyond the verifier's 5-second leeway by a wide margin, so no case depends on the clock's precision.
const WELL_BEYOND_LEEWAY: i64 = 600;

/// What a case must get back.
#[derive(Debug, Clone, Copy)]
enum Expected {
    /// The request succeeds with this status (the control cases).
    Success(StatusCode),
    /// The request is refused with this status and the JSON error body with this code.
    Refused(StatusCode, ErrorCode),
}

const UNAUTHENTICATED: Expected =
    Expected::Refused(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated);
const INSUFFICIENT_SCOPE: Expected =
    Expected::Refused(StatusCode::FORBIDDEN, ErrorCode::InsufficientScope);
const MEMBER_INACTIVE: Expected =
    Expected::Refused(StatusCode::FORBIDDEN, ErrorCode::MemberInactive);

/// One attack: a request with an `Authorization` header and what the API must answer.
struct Case {
    name: String,
    method: Method,
    path: &'static str,
    /// The whole header value, as bytes so that non-UTF-8 headers can be sent too.
    authorization: Vec<u8>,
    expected: Expected,
}

impl Case {
    /// `Authorization: Bearer <token>` on `GET path`.
    fn get(name: impl Into<String>, path: &'static str, token: &str, expected: Expected) -> Case {
        Case::raw(name, Method::GET, path, format!("Bearer {token}"), expected)
    }

    /// `Authorization: Bearer <token>` on `GET /api/v1/me`, which must answer 401 `unauthenticated`: the
    /// outcome of most attacks, named once so the table stays readable.
    fn refused_on_me(name: impl Into<String>, token: &str) -> Case {
        Case::get(name, ME, token, UNAUTHENTICATED)
    }

    /// `Authorization: Bearer <token>` on `POST /api/v1/reports` with a valid report.
    fn create_report(name: impl Into<String>, token: &str, expected: Expected) -> Case {
        Case::raw(
            name,
            Method::POST,
            REPORTS,
            format!("Bearer {token}"),
            expected,
        )
    }

    /// Any `Authorization` header value.
    fn raw(
        name: impl Into<String>,
        method: Method,
        path: &'static str,
        authorization: impl Into<Vec<u8>>,
        expected: Expected,
    ) -> Case {
        Case {
            name: name.into(),
            method,
            path,
            authorization: authorization.into(),
            expected,
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// The three parts of a compact JWS, still encoded.
fn parts(token: &str) -> [&str; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        panic!("a pool token has three parts: {token}");
    };
    [header, payload, signature]
}

/// A decoded JSON part of a token.
fn decode(part: &str) -> Map<String, Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Signs exactly `header` and `claims` with `key`, so any header can be combined with any key.
fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let signing_input = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), key, alg).unwrap();
    format!("{signing_input}.{signature}")
}

/// The current time as a NumericDate.
fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An RSA key the user pool has never heard of, with a kid of its own.
struct ForeignKey {
    kid: String,
    encoding: EncodingKey,
}

impl ForeignKey {
    async fn generate() -> ForeignKey {
        // Seeded, so that a failure replays with the same key; the user pool's keys are its own random ones.
        let private = tokio::task::spawn_blocking(|| {
            RsaPrivateKey::new(&mut testkit::rng::seeded(0x0bad_5eed), 2048).unwrap()
        })
        .await
        .unwrap();
        ForeignKey {
            kid: format!("attacker-{}", Uuid::new_v4()),
            encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        }
    }

    /// RS256 over `claims` with `kid` in the header.
    fn sign(&self, kid: &str, claims: &Value) -> String {
        sign_raw(
            &json!({ "alg": "RS256", "typ": "JWT", "kid": kid }),
            claims,
            &self.encoding,
            Algorithm::RS256,
        )
    }
}

/// The user pool's public access-token key in every encoding an HS256 forger might use as the secret.
struct PublicKeyEncodings {
    spki_pem: String,
    pkcs1_pem: String,
    spki_der: Vec<u8>,
    pkcs1_der: Vec<u8>,
}

/// Reads the pool's published JWKS (as anyone can) and encodes the key with `kid`.
async fn published_key(app: &TestApp, kid: &str) -> PublicKeyEncodings {
    let jwks: Value = Client::new()
        .get(format!("{}/.well-known/jwks.json", app.aws.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid)
        .expect("the access-token key is published");
    let component = |name: &str| {
        BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap())
    };
    let public = RsaPublicKey::new(component("n"), component("e")).unwrap();
    PublicKeyEncodings {
        spki_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        pkcs1_pem: public.to_pkcs1_pem(LineEnding::LF).unwrap(),
        spki_der: public.to_public_key_der().unwrap().as_bytes().to_vec(),
        pkcs1_der: public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
    }
}

/// Alice's genuine tokens and ways to derive attacks from them.
struct Forge<'a> {
    app: &'a TestApp,
    /// Alice's genuine access token.
    access: String,
    /// Alice's genuine ID token.
    id: String,
    /// The claims of her access token.
    claims: Map<String, Value>,
}

impl Forge<'_> {
    /// Alice's access-token claims after `change`.
    fn claims_with(&self, change: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut claims = self.claims.clone();
        change(&mut claims);
        Value::Object(claims)
    }

    /// Alice's claims after `change`, properly signed with the pool's access-token key: only the claims
    /// can make such a token fail.
    fn pool_signed(&self, change: impl FnOnce(&mut Map<String, Value>)) -> String {
        self.app.aws.sign_access_token(&self.claims_with(change))
    }

    /// Alice's access token with its header replaced (payload and signature kept).
    fn with_header(&self, header: &Value) -> String {
        let [_, payload, signature] = parts(&self.access);
        format!("{}.{payload}.{signature}", b64_json(header))
    }

    /// Alice's access token with its payload changed (header and signature kept).
    fn with_payload(&self, change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let [header, _, signature] = parts(&self.access);
        format!(
            "{header}.{}.{signature}",
            b64_json(&self.claims_with(change))
        )
    }

    /// Alice's access token (payload kept) under a header naming `alg` and the pool's access-token kid,
    /// with `signature` as its signature.
    fn with_alg(&self, alg: &str, signature: &str) -> String {
        let [_, payload, _] = parts(&self.access);
        let header = json!({ "alg": alg, "typ": "JWT", "kid": self.app.aws.keys().access_kid() });
        format!("{}.{payload}.{signature}", b64_json(&header))
    }

    /// Alice's claims signed with HMAC, the pool's public key bytes as the secret.
    fn hmac(&self, alg: Algorithm, secret: &[u8]) -> String {
        let name = match alg {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            other => panic!("not an HMAC algorithm: {other:?}"),
        };
        sign_raw(
            &json!({ "alg": name, "typ": "JWT", "kid": self.app.aws.keys().access_kid() }),
            &Value::Object(self.claims.clone()),
            &EncodingKey::from_secret(secret),
            alg,
        )
    }
}

/// Sends `case` and describes how the answer differs from what it must be.
async fn check(client: &Client, base: &str, case: &Case) -> Result<(), String> {
    let authorization = HeaderValue::from_bytes(&case.authorization)
        .map_err(|e| format!("the header could not be built: {e}"))?;
    let mut request = client
        .request(case.method.clone(), format!("{base}{}", case.path))
        .header(AUTHORIZATION, authorization);
    if case.method == Method::POST {
        request = request.json(&json!({ "title": "Quarterly numbers", "body": "All good." }));
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("the request failed: {e}"))?;
    let status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).cloned();
    let www_authenticate = response.headers().get(WWW_AUTHENTICATE).cloned();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("the body could not be read: {e}"))?;
    let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();

    let (expected_status, expected_code) = match case.expected {
        Expected::Success(expected) if status == expected => return Ok(()),
        Expected::Success(expected) => {
            return Err(format!("answered {status} {shown}, expected {expected}"));
        }
        Expected::Refused(status, code) => (status, code),
    };
    if status != expected_status {
        return Err(format!(
            "answered {status} {shown}, expected {expected_status} {}",
            expected_code.as_str()
        ));
    }
    if !content_type
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
    {
        return Err(format!("content type {content_type:?}, expected JSON"));
    }
    let object: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|_| format!("the body is not a JSON object: {shown}"))?;
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["code", "message"] {
        return Err(format!(
            "the body has keys {keys:?}, expected exactly code and message"
        ));
    }
    if object["code"] != expected_code.as_str() {
        return Err(format!(
            "code {}, expected {}",
            object["code"],
            expected_code.as_str()
        ));
    }
    if object["message"].as_str().is_none_or(str::is_empty) {
        return Err(format!("the message is not a non-empty string: {shown}"));
    }
    if status == StatusCode::UNAUTHORIZED
        && www_authenticate.as_ref().map(HeaderValue::as_bytes) != Some(b"Bearer")
    {
        return Err(format!(
            "WWW-Authenticate {www_authenticate:?}, expected Bearer (RFC 6750)"
        ));
    }
    Ok(())
}

/// Runs every case against `base` and fails listing every case that was not answered as it must be.
async fn run(base: &str, cases: &[Case]) {
    let client = Client::new();
    let mut failures = Vec::new();
    for case in cases {
        if let Err(problem) = check(&client, base, case).await {
            failures.push(format!(
                "{} {} [{}]: {problem}",
                case.method, case.path, case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_forged_tampered_or_misused_access_token_is_refused_with_its_exact_code_never_500() {
    let app = TestApp::spawn().await;
    let tokens = app.pool_tokens(&ALICE).await;
    let bob_access = app.pool_tokens(&BOB).await.access_token;
    let bob = decode(parts(&bob_access)[1]);
    let machine = app.machine_token().await;
    let foreign = ForeignKey::generate().await;
    let access_kid = app.aws.keys().access_kid();
    let id_kid = app.aws.keys().id_kid();
    assert_ne!(
        access_kid, id_kid,
        "the pool signs access and ID tokens with different keys, as Cognito does"
    );
    let public = published_key(&app, &access_kid).await;
    let globex = app.db.tenant_id("globex").await.to_string();
    let web_client = app.config.cognito_client_id.clone();
    let issuer = app.aws.issuer();
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    let forge = Forge {
        app: &app,
        claims: decode(parts(&tokens.access_token)[1]),
        access: tokens.access_token,
        id: tokens.id_token,
    };
    let genuine = forge.access.as_str();
    let [genuine_header, genuine_payload, genuine_signature] = parts(genuine);
    let now = now();
    let scope = |scopes: &str| {
        let scopes = scopes.to_owned();
        move |claims: &mut Map<String, Value>| {
            claims.insert("scope".into(), json!(scopes));
        }
    };
    let set = |name: &'static str, value: Value| {
        move |claims: &mut Map<String, Value>| {
            claims.insert(name.into(), value);
        }
    };
    let remove = |name: &'static str| {
        move |claims: &mut Map<String, Value>| {
            claims.remove(name);
        }
    };

    let mut cases = vec![
        // Controls: the genuine token passes, so every refusal below is the attack's doing.
        Case::get(
            "control: the genuine access token",
            ME,
            genuine,
            Expected::Success(StatusCode::OK),
        ),
        Case::get(
            "control: the genuine access token",
            REPORTS,
            genuine,
            Expected::Success(StatusCode::OK),
        ),
        Case::create_report(
            "control: the genuine access token",
            genuine,
            Expected::Success(StatusCode::CREATED),
        ),
        Case::get(
            "control: re-signed by the pool with unchanged claims",
            ME,
            &forge.pool_signed(|_| {}),
            Expected::Success(StatusCode::OK),
        ),
        // Unsigned tokens.
        Case::refused_on_me(
            "alg none without kid, empty signature",
            &format!("{}.{genuine_payload}.", b64_json(&json!({ "alg": "none" }))),
        ),
        Case::refused_on_me(
            "no alg at all",
            &forge.with_header(&json!({ "typ": "JWT", "kid": access_kid })),
        ),
        Case::refused_on_me(
            "alg as a number",
            &forge.with_header(&json!({ "alg": 256, "kid": access_kid })),
        ),
        Case::refused_on_me(
            "alg rs256 in lower case",
            &forge.with_alg("rs256", genuine_signature),
        ),
        Case::refused_on_me(
            "alg RS512 over an RS256 signature",
            &forge.with_alg("RS512", genuine_signature),
        ),
        Case::refused_on_me(
            "alg PS256 over an RS256 signature",
            &forge.with_alg("PS256", genuine_signature),
        ),
        // HMAC with the pool's public key as the secret (the classic algorithm confusion).
        Case::refused_on_me(
            "HS256 keyed with the public key as SPKI PEM",
            &forge.hmac(Algorithm::HS256, public.spki_pem.as_bytes()),
        ),
        Case::refused_on_me(
            "HS256 keyed with the public key as SPKI PEM without its final newline",
            &forge.hmac(Algorithm::HS256, public.spki_pem.trim_end().as_bytes()),
        ),
        Case::refused_on_me(
            "HS256 keyed with the public key as PKCS#1 PEM",
            &forge.hmac(Algorithm::HS256, public.pkcs1_pem.as_bytes()),
        ),
        Case::refused_on_me(
            "HS256 keyed with the public key as SPKI DER",
            &forge.hmac(Algorithm::HS256, &public.spki_der),
        ),
        Case::refused_on_me(
            "HS256 keyed with the public key as PKCS#1 DER",
            &forge.hmac(Algorithm::HS256, &public.pkcs1_der),
        ),
        Case::refused_on_me(
            "HS384 keyed with the public key as SPKI PEM",
            &forge.hmac(Algorithm::HS384, public.spki_pem.as_bytes()),
        ),
        Case::refused_on_me(
            "HS512 keyed with the public key as SPKI PEM",
            &forge.hmac(Algorithm::HS512, public.spki_pem.as_bytes()),
        ),
        // Valid RS256 signatures from keys that are not the pool's.
        Case::refused_on_me(
            "signed by a foreign key under the pool's access-token kid",
            &foreign.sign(&access_kid, &Value::Object(forge.claims.clone())),
        ),
        Case::refused_on_me(
            "signed by a foreign key under the pool's ID-token kid",
            &foreign.sign(&id_kid, &Value::Object(forge.claims.clone())),
        ),
        Case::refused_on_me(
            "signed by a foreign key with its own kid, iss of the real pool",
            &foreign.sign(&foreign.kid, &Value::Object(forge.claims.clone())),
        ),
        Case::refused_on_me(
            "another user pool on the same host, signed by its own key",
            &foreign.sign(
                &foreign.kid,
                &forge.claims_with(set(
                    "iss",
                    json!(format!("{}_Att4cker", issuer.rsplit_once('_').unwrap().0)),
                )),
            ),
        ),
        Case::refused_on_me(
            "a real Cognito pool's issuer, signed by its own key",
            &foreign.sign(
                &foreign.kid,
                &forge.claims_with(set(
                    "iss",
                    json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Att4cker"),
                )),
            ),
        ),
        Case::refused_on_me(
            "foreign key, kid and jku naming the attacker's JWKS",
            &sign_raw(
                &json!({ "alg": "RS256", "kid": foreign.kid, "jku": "http://127.0.0.1:9/.well-known/jwks.json" }),
                &Value::Object(forge.claims.clone()),
                &foreign.encoding,
                Algorithm::RS256,
            ),
        ),
        Case::refused_on_me(
            "foreign key embedded in the header as a jwk, under the pool's kid",
            &sign_raw(
                &json!({ "alg": "RS256", "kid": access_kid, "jwk": { "kty": "RSA", "kid": access_kid, "n": "AQAB", "e": "AQAB" } }),
                &Value::Object(forge.claims.clone()),
                &foreign.encoding,
                Algorithm::RS256,
            ),
        ),
        // Issuer pinning on tokens the pool itself signed.
        Case::refused_on_me(
            "iss with a trailing slash",
            &forge.pool_signed(set("iss", json!(format!("{issuer}/")))),
        ),
        Case::refused_on_me(
            "iss in upper case",
            &forge.pool_signed(set("iss", json!(issuer.to_uppercase()))),
        ),
        Case::refused_on_me("iss missing", &forge.pool_signed(remove("iss"))),
        Case::refused_on_me(
            "iss as an array",
            &forge.pool_signed(set("iss", json!([issuer]))),
        ),
        // Key selection.
        Case::refused_on_me(
            "unknown kid",
            &forge.with_header(&json!({ "alg": "RS256", "typ": "JWT", "kid": "no-such-key" })),
        ),
        Case::refused_on_me(
            "missing kid",
            &forge.with_header(&json!({ "alg": "RS256", "typ": "JWT" })),
        ),
        Case::refused_on_me(
            "empty kid",
            &forge.with_header(&json!({ "alg": "RS256", "kid": "" })),
        ),
        Case::refused_on_me(
            "kid as a number",
            &forge.with_header(&json!({ "alg": "RS256", "kid": 1 })),
        ),
        Case::refused_on_me(
            "kid that looks like a path",
            &forge.with_header(&json!({ "alg": "RS256", "kid": "../../../.well-known/jwks.json" })),
        ),
        Case::refused_on_me(
            "kid of the pool's ID-token key over an access-token signature",
            &forge.with_header(&json!({ "alg": "RS256", "typ": "JWT", "kid": id_kid })),
        ),
        Case::refused_on_me(
            "critical header extension",
            &forge.with_header(&json!({ "alg": "RS256", "kid": access_kid, "crit": ["exp"] })),
        ),
        // Tokens that are not access tokens, or not for this API's clients.
        Case::refused_on_me("alice's ID token", &forge.id),
        Case::get("alice's ID token", REPORTS, &forge.id, UNAUTHENTICATED),
        Case::refused_on_me("alice's refresh token", &refresh),
        Case::refused_on_me("alice's ID token with token_use flipped to access", &{
            let [header, payload, signature] = parts(&forge.id);
            let mut claims = decode(payload);
            claims.insert("token_use".into(), json!("access"));
            format!("{header}.{}.{signature}", b64_json(&Value::Object(claims)))
        }),
        Case::refused_on_me("token_use missing", &forge.pool_signed(remove("token_use"))),
        Case::refused_on_me(
            "token_use id",
            &forge.pool_signed(set("token_use", json!("id"))),
        ),
        Case::refused_on_me(
            "token_use Access",
            &forge.pool_signed(set("token_use", json!("Access"))),
        ),
        Case::refused_on_me(
            "token_use as an array",
            &forge.pool_signed(set("token_use", json!(["access"]))),
        ),
        Case::refused_on_me(
            "client_id of an unknown client",
            &forge.pool_signed(set("client_id", json!("7attackerclient0000000000"))),
        ),
        Case::refused_on_me("client_id missing", &forge.pool_signed(remove("client_id"))),
        Case::refused_on_me(
            "audience only: aud names the web client, no client_id",
            &forge.pool_signed(|claims| {
                claims.remove("client_id");
                claims.insert("aud".into(), json!(web_client));
            }),
        ),
        Case::refused_on_me(
            "unknown client_id with aud naming the web client",
            &forge.pool_signed(|claims| {
                claims.insert("client_id".into(), json!("7attackerclient0000000000"));
                claims.insert("aud".into(), json!(web_client));
            }),
        ),
        Case::refused_on_me(
            "client_id as an array",
            &forge.pool_signed(set("client_id", json!([web_client]))),
        ),
        Case::refused_on_me("the machine client's client-credentials token", &machine),
        Case::get(
            "the machine client's client-credentials token",
            REPORTS,
            &machine,
            UNAUTHENTICATED,
        ),
        Case::refused_on_me("sub missing", &forge.pool_signed(remove("sub"))),
        Case::refused_on_me("sub empty", &forge.pool_signed(set("sub", json!("")))),
        // Time claims.
        Case::refused_on_me(
            "expired beyond the leeway",
            &forge.pool_signed(|claims| {
                claims.insert("iat".into(), json!(now - 3600));
                claims.insert("exp".into(), json!(now - WELL_BEYOND_LEEWAY));
            }),
        ),
        Case::refused_on_me(
            "expired 30 seconds ago",
            &forge.pool_signed(|claims| {
                claims.insert("iat".into(), json!(now - 3600));
                claims.insert("exp".into(), json!(now - 30));
            }),
        ),
        Case::refused_on_me(
            "nbf in the future",
            &forge.pool_signed(set("nbf", json!(now + WELL_BEYOND_LEEWAY))),
        ),
        Case::refused_on_me(
            "iat far in the future",
            &forge.pool_signed(|claims| {
                claims.insert("iat".into(), json!(now + 86_400));
                claims.insert("exp".into(), json!(now + 2 * 86_400));
            }),
        ),
        Case::refused_on_me("exp missing", &forge.pool_signed(remove("exp"))),
        Case::refused_on_me("iat missing", &forge.pool_signed(remove("iat"))),
        Case::refused_on_me(
            "exp as a string",
            &forge.pool_signed(set("exp", json!("9999999999"))),
        ),
        Case::refused_on_me("exp null", &forge.pool_signed(set("exp", Value::Null))),
        Case::refused_on_me("exp negative", &forge.pool_signed(set("exp", json!(-1)))),
        Case::refused_on_me(
            "exp beyond any date",
            &forge.pool_signed(set("exp", json!(1e300))),
        ),
        Case::refused_on_me(
            "nbf as a string",
            &forge.pool_signed(set("nbf", json!("0"))),
        ),
        // Payload changed after signing: the pool's signature no longer covers it.
        Case::refused_on_me(
            "tenant_id flipped to Globex",
            &forge.with_payload(set("tenant_id", json!(globex))),
        ),
        Case::refused_on_me(
            "member_id flipped to Bob's",
            &forge.with_payload(set("member_id", bob["member_id"].clone())),
        ),
        Case::refused_on_me(
            "sub flipped to Bob's",
            &forge.with_payload(set("sub", bob["sub"].clone())),
        ),
        Case::refused_on_me(
            "tenant_role flipped to viewer",
            &forge.with_payload(set("tenant_role", json!("viewer"))),
        ),
        Case::create_report(
            "scope narrowed to read",
            &forge.with_payload(scope("saas-api/read")),
            UNAUTHENTICATED,
        ),
        Case::refused_on_me(
            "exp extended by a year",
            &forge.with_payload(set("exp", json!(now + 365 * 86_400))),
        ),
        Case::refused_on_me("the same claims re-serialized with whitespace", &{
            let pretty =
                serde_json::to_string_pretty(&Value::Object(forge.claims.clone())).unwrap();
            format!(
                "{genuine_header}.{}.{genuine_signature}",
                b64(pretty.as_bytes())
            )
        }),
        // Headers and signatures moved between tokens, or damaged.
        Case::refused_on_me(
            "the ID token's header on the access token",
            &format!(
                "{}.{genuine_payload}.{genuine_signature}",
                parts(&forge.id)[0]
            ),
        ),
        Case::refused_on_me(
            "the ID token's signature on the access token",
            &format!("{genuine_header}.{genuine_payload}.{}", parts(&forge.id)[2]),
        ),
        Case::refused_on_me(
            "the signature of Bob's access token",
            &format!(
                "{genuine_header}.{genuine_payload}.{}",
                parts(&bob_access)[2]
            ),
        ),
        Case::refused_on_me("signature with its last character changed", &{
            let mut signature = genuine_signature.to_owned();
            let last = signature.pop().unwrap();
            signature.push(if last == 'A' { 'B' } else { 'A' });
            format!("{genuine_header}.{genuine_payload}.{signature}")
        }),
        Case::refused_on_me(
            "signature truncated",
            &format!(
                "{genuine_header}.{genuine_payload}.{}",
                &genuine_signature[..genuine_signature.len() / 2]
            ),
        ),
        // Malformed input.
        Case::raw("empty token", Method::GET, ME, "Bearer ", UNAUTHENTICATED),
        Case::raw(
            "Bearer without a token",
            Method::GET,
            ME,
            "Bearer",
            UNAUTHENTICATED,
        ),
        Case::raw(
            "the genuine token under the Basic scheme",
            Method::GET,
            ME,
            format!("Basic {genuine}"),
            UNAUTHENTICATED,
        ),
        Case::raw(
            "two tokens",
            Method::GET,
            ME,
            format!("Bearer {genuine} {genuine}"),
            UNAUTHENTICATED,
        ),
        Case::refused_on_me("one part", genuine_payload),
        Case::refused_on_me("two parts", &format!("{genuine_header}.{genuine_payload}")),
        Case::refused_on_me("four parts", &format!("{genuine}.{genuine_signature}")),
        Case::refused_on_me("four parts with an empty last one", &format!("{genuine}.")),
        Case::refused_on_me(
            "five parts (JWE shape)",
            &format!("{genuine_header}..{genuine_payload}.{genuine_signature}.AAAA"),
        ),
        Case::refused_on_me("only dots", ".."),
        Case::refused_on_me("not base64", "!!!.$$$.***"),
        Case::refused_on_me(
            "padded base64",
            &format!("{genuine_header}=.{genuine_payload}.{genuine_signature}"),
        ),
        Case::refused_on_me("standard base64 alphabet", &{
            let standard = genuine.replace('-', "+").replace('_', "/");
            // Over some 1500 random-looking characters, at least one is `-` or `_` all but surely.
            assert_ne!(
                standard, genuine,
                "the token has a URL-safe character to change"
            );
            standard
        }),
        Case::refused_on_me(
            "base64 of text that is not JSON",
            &format!(
                "{}.{}.{genuine_signature}",
                b64(b"not json"),
                b64(b"not json either")
            ),
        ),
        Case::refused_on_me(
            "payload a JSON array",
            &format!("{genuine_header}.{}.{genuine_signature}", b64(b"[1,2,3]")),
        ),
        Case::refused_on_me(
            "payload a JSON string",
            &format!("{genuine_header}.{}.{genuine_signature}", b64(b"\"alice\"")),
        ),
        Case::refused_on_me(
            "payload JSON null",
            &format!("{genuine_header}.{}.{genuine_signature}", b64(b"null")),
        ),
        Case::refused_on_me(
            "header a JSON array",
            &format!("{}.{genuine_payload}.{genuine_signature}", b64(b"[]")),
        ),
        Case::refused_on_me(
            "payload nested 5000 levels deep",
            &format!(
                "{genuine_header}.{}.{genuine_signature}",
                b64(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).as_bytes())
            ),
        ),
        Case::refused_on_me(
            "payload with a duplicated tenant_id claim",
            &format!(
                "{genuine_header}.{}.{genuine_signature}",
                b64(format!(
                    "{},\"tenant_id\":\"{globex}\"}}",
                    Value::Object(forge.claims.clone())
                        .to_string()
                        .trim_end_matches('}')
                )
                .as_bytes())
            ),
        ),
        Case::refused_on_me(
            "a 100 KB token",
            &format!("{genuine}{}", "A".repeat(100 * 1024)),
        ),
        Case::raw(
            "non-ASCII bytes in the token",
            Method::GET,
            ME,
            [
                b"Bearer ".as_slice(),
                genuine.as_bytes(),
                "\u{e9}".as_bytes(),
            ]
            .concat(),
            UNAUTHENTICATED,
        ),
        Case::raw(
            "a header that is not UTF-8",
            Method::GET,
            ME,
            [b"Bearer ".as_slice(), &[0xff, 0xfe, 0x80]].concat(),
            UNAUTHENTICATED,
        ),
        // Scopes: a valid token of an active member, lacking the route's scope.
        Case::create_report(
            "re-signed with only the read scope",
            &forge.pool_signed(scope("saas-api/read")),
            INSUFFICIENT_SCOPE,
        ),
        Case::create_report(
            "re-signed without a scope claim",
            &forge.pool_signed(remove("scope")),
            INSUFFICIENT_SCOPE,
        ),
        Case::get(
            "re-signed without the read scope",
            REPORTS,
            &forge.pool_signed(scope("saas-api/write saas-api/admin")),
            INSUFFICIENT_SCOPE,
        ),
        Case::get(
            "re-signed without the read scope",
            ME,
            &forge.pool_signed(scope("saas-api/write saas-api/admin")),
            INSUFFICIENT_SCOPE,
        ),
        Case::create_report(
            "scope names that only start like write",
            &forge.pool_signed(scope("saas-api/writer saas-api/write-all saas-api/read")),
            INSUFFICIENT_SCOPE,
        ),
        Case::create_report(
            "unqualified scope names",
            &forge.pool_signed(scope("read write admin")),
            INSUFFICIENT_SCOPE,
        ),
        Case::create_report(
            "write scope of another resource server",
            &forge.pool_signed(scope("other-api/write saas-api/read")),
            INSUFFICIENT_SCOPE,
        ),
        Case::create_report(
            "scopes separated by commas",
            &forge.pool_signed(scope("saas-api/read,saas-api/write")),
            INSUFFICIENT_SCOPE,
        ),
        // Signed by the pool but not bound to a live member of the claimed tenant.
        Case::refused_on_me(
            "re-signed without tenant_id",
            &forge.pool_signed(remove("tenant_id")),
        ),
        Case::refused_on_me(
            "re-signed without member_id",
            &forge.pool_signed(remove("member_id")),
        ),
        Case::refused_on_me(
            "re-signed with a tenant_id that is not a UUID",
            &forge.pool_signed(set("tenant_id", json!("acme"))),
        ),
        Case::get(
            "re-signed with tenant_id of Globex",
            ME,
            &forge.pool_signed(set("tenant_id", json!(globex))),
            MEMBER_INACTIVE,
        ),
        Case::get(
            "re-signed with an unknown member_id",
            ME,
            &forge.pool_signed(set("member_id", json!(Uuid::new_v4().to_string()))),
            MEMBER_INACTIVE,
        ),
    ];
    for alg in ["none", "None", "NONE", "nOnE"] {
        cases.push(Case::refused_on_me(
            format!("alg {alg:?} keeping the genuine signature"),
            &forge.with_alg(alg, genuine_signature),
        ));
        cases.push(Case::refused_on_me(
            format!("alg {alg:?} with an empty signature"),
            &forge.with_alg(alg, ""),
        ));
    }

    run(&app.address, &cases).await;
}

#[tokio::test]
async fn a_valid_token_of_a_member_deactivated_after_it_was_issued_is_refused_as_member_inactive() {
    let app = TestApp::spawn().await;
    let token = app.pool_tokens(&ALICE).await.access_token;
    let me: shared::api::Me = app.get_with_bearer(ME, &token).await.json().await.unwrap();

    app.set_member_status(&me, MemberStatus::Deactivated).await;
    run(
        &app.address,
        &[
            Case::get(
                "the deactivated member's token",
                ME,
                &token,
                MEMBER_INACTIVE,
            ),
            Case::get(
                "the deactivated member's token",
                REPORTS,
                &token,
                MEMBER_INACTIVE,
            ),
            Case::create_report("the deactivated member's token", &token, MEMBER_INACTIVE),
            // Authentication still comes first: a broken token of the same member stays a 401.
            Case::refused_on_me(
                "the deactivated member's token, truncated",
                &token[..token.len() - 8],
            ),
        ],
    )
    .await;

    app.set_member_status(&me, MemberStatus::Active).await;
    run(
        &app.address,
        &[Case::get(
            "the same token once reactivated",
            ME,
            &token,
            Expected::Success(StatusCode::OK),
        )],
    )
    .await;
}

/// A JWKS endpoint in front of the stand-in's that counts the requests it serves.
struct CountingJwks {
    /// The issuer to configure so that the backend fetches keys from here.
    issuer: String,
    fetches: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for CountingJwks {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The state of the counting endpoint: where the real JWKS is, and how many requests were served.
#[derive(Clone)]
struct JwksProxy {
    upstream: String,
    fetches: Arc<AtomicUsize>,
}

/// Counts the request and answers with the stand-in's JWKS as it is now.
async fn proxy_jwks(State(proxy): State<JwksProxy>) -> impl IntoResponse {
    proxy.fetches.fetch_add(1, Ordering::SeqCst);
    let body = reqwest::get(&proxy.upstream)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    ([(CONTENT_TYPE, "application/json")], body)
}

impl CountingJwks {
    /// Serves the JWKS of `app`'s user pool under an issuer of its own on a fresh port.
    async fn start(app: &TestApp) -> CountingJwks {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!(
            "http://127.0.0.1:{}/{}",
            listener.local_addr().unwrap().port(),
            app.aws.user_pool_id()
        );
        let fetches = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new()
            .route(
                &format!("/{}/.well-known/jwks.json", app.aws.user_pool_id()),
                axum::routing::get(proxy_jwks),
            )
            .with_state(JwksProxy {
                upstream: format!("{}/.well-known/jwks.json", app.aws.issuer()),
                fetches: fetches.clone(),
            });
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        CountingJwks {
            issuer,
            fetches,
            server,
        }
    }

    /// How many JWKS requests were served so far.
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_flood_of_tokens_with_made_up_kids_fetches_the_jwks_at_most_once_per_penalty_window() {
    let app = TestApp::spawn().await;
    let jwks = CountingJwks::start(&app).await;
    // A second backend on the same database whose configured issuer is the counting endpoint: the JWKS URL
    // is derived from the issuer, so every key request of this backend is counted.
    let mut config = app.config.clone();
    config.cognito_issuer = Url::parse(&jwks.issuer).unwrap();
    let backend = ExtraBackend::spawn(config).await.unwrap();

    let mut claims = decode(parts(&app.pool_tokens(&ALICE).await.access_token)[1]);
    claims.insert("iss".into(), json!(jwks.issuer));
    let genuine = app.aws.sign_access_token(&Value::Object(claims));
    let [_, payload, signature] = parts(&genuine);
    let control = || Case::get("control", ME, &genuine, Expected::Success(StatusCode::OK));

    run(&backend.address, &[control()]).await;
    assert_eq!(jwks.fetches(), 1, "the first token fetches the keys once");

    let mut flood = JoinSet::new();
    for _ in 0..50 {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": Uuid::new_v4().to_string() });
        let token = format!("{}.{payload}.{signature}", b64_json(&header));
        let base = backend.address.clone();
        flood.spawn(async move {
            check(
                &Client::new(),
                &base,
                &Case::refused_on_me("random kid", &token),
            )
            .await
        });
    }
    while let Some(outcome) = flood.join_next().await {
        outcome.unwrap().unwrap();
    }
    assert_eq!(
        jwks.fetches(),
        2,
        "50 unknown kids cause one refetch, not one each"
    );

    run(&backend.address, &[control()]).await;
    assert_eq!(
        jwks.fetches(),
        2,
        "the known key is still served from the cache"
    );
}
