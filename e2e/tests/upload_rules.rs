#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The upload rules, differentially: the web app's own upload code (object keys, URLs, SigV4 signatures),
//! run here natively, against the S3 stand-in and the backend's checks and storage calls.
//!
//! For generated file names, content types and bodies: the key the app makes is accepted by the backend and
//! names the file the app showed; the app's signed requests are accepted by the stand-in under the upload
//! role's policy; the bytes arrive intact under exactly that key, where the backend's HEAD, listing, copy
//! and download link find them; and a request for another user's key, or with a changed signature, is
//! refused. Cases come from a fixed seed (`PROPTEST_CASES` for more); no Postgres or browser is needed.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backend::api::files::file_name;
use backend::config::Config;
use backend::storage::{Bucket, Storage, content_disposition};
use frontend::upload::object::{complete_body, folder_name, object_key, plan_parts};
use frontend::upload::sign::signed_request;
use local_aws::config::LocalAwsConfig;
use local_aws::{LocalAws, Ports};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use shared::api::{StorageCredentials, allowed_in_key};
use uuid::Uuid;

/// The stand-ins, and the backend's storage client pointed at them.
struct World {
    aws: LocalAws,
    storage: Storage,
    http: reqwest::Client,
}

impl World {
    async fn start() -> World {
        let aws = LocalAws::start(
            LocalAwsConfig::load(&testkit::infra_dir()).unwrap(),
            Ipv4Addr::LOCALHOST.into(),
            Ports::ephemeral(),
        )
        .await
        .unwrap();
        let mut config = Config::local_defaults();
        testkit::stack::point_at_stand_ins(&mut config, &aws).unwrap();
        let storage = Storage::new(&config).await.unwrap();
        World {
            aws,
            storage,
            http: reqwest::Client::new(),
        }
    }

    /// The credentials the app receives for user `sub` of `tenant`: an ID token of the user pool exchanged at
    /// the identity pool by the backend's own call, with the backend's storage settings.
    async fn credentials(&self, tenant: Uuid, sub: Uuid) -> StorageCredentials {
        let now = unix_seconds();
        let id_token = self.aws.sign_id_token(&serde_json::json!({
            "sub": sub.to_string(),
            "iss": self.aws.issuer(),
            "aud": self.aws.client("web").unwrap().client_id,
            "token_use": "id",
            "tenant_id": tenant.to_string(),
            "iat": now,
            "auth_time": now,
            "exp": now + 600,
        }));
        let vended = self.storage.vend(&id_token).await.unwrap();
        let settings = self.storage.config();
        StorageCredentials {
            access_key_id: vended.access_key_id,
            secret_access_key: vended.secret_access_key,
            session_token: vended.session_token,
            expiration: String::new(),
            region: settings.region.clone(),
            bucket: settings.bucket.clone(),
            prefix: format!("{tenant}/{sub}/uploads/"),
            endpoint: settings
                .s3_endpoint
                .as_ref()
                .map(|url| url.as_str().trim_end_matches('/').to_owned()),
        }
    }

    /// Sends the request the app would send: its signed URL and headers, its own (unsigned) headers, the body.
    async fn send(
        &self,
        credentials: &StorageCredentials,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let (url, signed) =
            signed_request(credentials, method.as_str(), key, query, now_ms()).unwrap();
        self.send_signed(method, &url, &signed, headers, body).await
    }

    async fn send_signed(
        &self,
        method: Method,
        url: &str,
        signed: &[(String, String)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self.http.request(method, url).body(body);
        for (name, value) in signed {
            request = request.header(name, value);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .map(|value| value.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Answer { status, etag, body }
    }
}

struct Answer {
    status: StatusCode,
    etag: Option<String>,
    body: String,
}

impl Answer {
    /// The text of the first `<tag>` of an XML answer.
    fn xml(&self, tag: &str) -> Option<&str> {
        let start = self.body.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = self.body[start..].find(&format!("</{tag}>"))?;
        Some(&self.body[start..start + end])
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `Date.now()`, as the app passes it to the signer.
fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64
}

/// A fixed seed and `cases` cases, or `PROPTEST_CASES` (the longer run of `cargo xtask bench`).
fn property_config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(cases),
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// File names as people and their operating systems make them, and as attackers do: any characters
/// (control and XML-invalid ones included), path tricks, percent signs and query characters, right-to-left
/// overrides, and names far longer than a key may be.
fn file_names() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        2 => "[ -~]{0,40}",
        2 => prop::sample::select(vec![
            "", ".", "..", " ", "/", "../x.pdf", "a/../../b.txt", "..\\..\\etc\\passwd", "%2F..%2Fx",
            "name?.pdf", "a+b=c&d;e.txt", "#1 report (final).docx", "Résumé 2026.pdf", "日本語のファイル.pdf",
            "emoji 🎉.png", "\u{202e}fdp.exe", "\u{fffe}\u{ffff}.txt", "tab\tand\nnewline.csv",
        ])
        .prop_map(str::to_owned),
        1 => ("[a-zé😀]{300,1100}", "(\\.[a-z0-9]{1,8})?").prop_map(|(stem, ext)| stem + &ext),
    ]
}

/// Content types a browser guesses from a file, or the app's default.
fn content_types() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/octet-stream".to_owned()),
        Just("application/pdf".to_owned()),
        Just("text/plain;charset=utf-8".to_owned()),
        "[a-z]{1,12}/[a-z0-9.+-]{1,24}",
    ]
}

/// One generated upload, checked from the app's key to the backend's download link.
async fn an_upload_goes_where_the_app_says_and_nowhere_else(
    world: &World,
    name: &str,
    folder: [u8; 16],
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), TestCaseError> {
    let (tenant, user) = (Uuid::new_v4(), Uuid::new_v4());
    let credentials = world.credentials(tenant, user).await;
    let key = object_key(&credentials.prefix, &folder_name(&folder), name);

    // The backend accepts every key the app makes, and the file keeps the name the app shows.
    prop_assert!(key.len() <= 1024, "{} bytes", key.len());
    let recorded = file_name(&key, &credentials.prefix)
        .map_err(|err| TestCaseError::fail(format!("the backend refused {key:?}: {err:?}")))?;
    prop_assert_eq!(Some(recorded), key.rsplit('/').next());
    let plain = name.trim();
    if name
        .chars()
        .all(|c| c != '/' && c != '\\' && allowed_in_key(c))
        && !matches!(plain, "" | "." | "..")
        && plain.len() < 900
    {
        prop_assert_eq!(recorded, plain, "a name S3 can hold is kept as it is");
    }

    // The stand-in accepts the app's signature and keeps the bytes under exactly that key.
    let put = world
        .send(
            &credentials,
            Method::PUT,
            &key,
            &[],
            &[("content-type", content_type)],
            body.clone(),
        )
        .await;
    prop_assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let object = world
        .storage
        .head(Bucket::Uploads, &key)
        .await
        .unwrap()
        .ok_or_else(|| TestCaseError::fail(format!("no object at {key:?}")))?;
    prop_assert_eq!(object.size, body.len() as i64);
    prop_assert_eq!(&object.content_type, content_type);
    prop_assert_eq!(Some(&object.etag), put.etag.as_ref());
    // The quota check lists the tenant's uploads: it sees this one, whatever its key.
    prop_assert_eq!(
        world
            .storage
            .pending_bytes(&format!("{tenant}/"))
            .await
            .unwrap(),
        body.len() as i64
    );

    // Recording copies it; the download link serves the same bytes under the recorded name.
    let file_key = format!("{tenant}/{}", Uuid::new_v4());
    world
        .storage
        .copy_upload(&key, &object.etag, &file_key)
        .await
        .unwrap();
    let (link, _) = world
        .storage
        .presigned_get(&file_key, recorded, Duration::from_secs(60))
        .await
        .unwrap();
    let download = world.http.get(&link).send().await.unwrap();
    prop_assert_eq!(download.status(), StatusCode::OK);
    prop_assert_eq!(
        download
            .headers()
            .get("content-disposition")
            .map(|value| value.as_bytes().to_vec()),
        Some(content_disposition(recorded).into_bytes())
    );
    prop_assert_eq!(&download.bytes().await.unwrap()[..], &body[..]);

    // The same name under another user's prefix, correctly signed, is refused by the role's policy.
    let elsewhere = object_key(
        &format!("{tenant}/{}/uploads/", Uuid::new_v4()),
        &folder_name(&folder),
        name,
    );
    let refused = world
        .send(
            &credentials,
            Method::PUT,
            &elsewhere,
            &[],
            &[],
            b"x".to_vec(),
        )
        .await;
    prop_assert_eq!(refused.status, StatusCode::FORBIDDEN);
    prop_assert_eq!(refused.xml("Code"), Some("AccessDenied"));

    // A signature that does not match the request is refused before anything is written.
    let (url, mut signed) = signed_request(&credentials, "PUT", &key, &[], now_ms()).unwrap();
    for (header, value) in &mut signed {
        if header.eq_ignore_ascii_case("authorization") {
            let last = value.pop().unwrap();
            value.push(if last == '0' { '1' } else { '0' });
        }
    }
    let forged = world
        .send_signed(Method::PUT, &url, &signed, &[], b"changed".to_vec())
        .await;
    prop_assert_eq!(forged.status, StatusCode::FORBIDDEN);
    prop_assert_eq!(forged.xml("Code"), Some("SignatureDoesNotMatch"));
    let kept = world.storage.head(Bucket::Uploads, &key).await.unwrap();
    prop_assert_eq!(kept.map(|object| object.size), Some(body.len() as i64));
    Ok(())
}

#[test]
fn keys_and_signatures_of_the_web_app_agree_with_the_backend_and_the_s3_stand_in() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let world = runtime.block_on(World::start());
    let mut runner = TestRunner::new(property_config(48, 0x53ee_4e75));
    let cases = (
        file_names(),
        any::<[u8; 16]>(),
        content_types(),
        prop::collection::vec(any::<u8>(), 0..4096),
    );
    runner
        .run(&cases, |(name, folder, content_type, body)| {
            runtime.block_on(an_upload_goes_where_the_app_says_and_nowhere_else(
                &world,
                &name,
                folder,
                &content_type,
                body,
            ))
        })
        .unwrap();
}

#[tokio::test]
async fn a_multipart_upload_signed_by_the_web_app_completes_at_the_s3_stand_in() {
    let world = World::start().await;
    let credentials = world.credentials(Uuid::new_v4(), Uuid::new_v4()).await;
    let key = object_key(
        &credentials.prefix,
        &folder_name(&[7; 16]),
        "Q3 résumé (final) #2 + 50% ?.bin",
    );
    let body = testkit::rng::bytes(0x9a27, 8 * 1024 * 1024 + 1000);
    let parts = plan_parts(body.len() as f64);
    assert_eq!(parts.len(), 2, "one full part and a short last one");

    let started = world
        .send(
            &credentials,
            Method::POST,
            &key,
            &[("uploads", "")],
            &[("content-type", "application/octet-stream")],
            Vec::new(),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let upload_id = started.xml("UploadId").unwrap().to_owned();
    let mut etags = Vec::new();
    for part in &parts {
        let number = part.number.to_string();
        let sent = world
            .send(
                &credentials,
                Method::PUT,
                &key,
                &[("partNumber", &number), ("uploadId", &upload_id)],
                &[],
                body[part.start as usize..part.end as usize].to_vec(),
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        etags.push((part.number, sent.etag.unwrap()));
    }
    let completed = world
        .send(
            &credentials,
            Method::POST,
            &key,
            &[("uploadId", &upload_id)],
            &[("content-type", "application/xml")],
            complete_body(&etags).into_bytes(),
        )
        .await;
    assert_eq!(completed.status, StatusCode::OK, "{}", completed.body);
    assert_eq!(completed.xml("Code"), None, "{}", completed.body);

    let object = world
        .storage
        .head(Bucket::Uploads, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(object.size, body.len() as i64);
    assert!(object.etag.ends_with("-2\""), "{}", object.etag);
}

#[tokio::test]
async fn a_key_the_app_would_never_make_does_not_stop_the_quota_check_listing_the_tenants_uploads()
{
    let world = World::start().await;
    let tenant = Uuid::new_v4();
    let credentials = world.credentials(tenant, Uuid::new_v4()).await;
    // A member can write any key under their prefix with their credentials, without the app: here one
    // holding characters XML cannot carry, which S3 would name raw in a listing unless asked to encode.
    let mut sizes = 0;
    for name in ["x\u{fffe}\u{ffff}.txt", "ctl\u{1}\u{7f}.bin", "plain.txt"] {
        let key = format!("{}f/{name}", credentials.prefix);
        let put = world
            .send(
                &credentials,
                Method::PUT,
                &key,
                &[],
                &[],
                name.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        sizes += name.len() as i64;
    }
    assert_eq!(
        world
            .storage
            .pending_bytes(&format!("{tenant}/"))
            .await
            .unwrap(),
        sizes
    );
}
