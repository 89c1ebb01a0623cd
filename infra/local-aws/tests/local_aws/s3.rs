//! The S3 stand-in, driven by the real `aws-sdk-s3` client with credentials the identity pool vends over
//! HTTP: the role policy confines each user to `<tenant>/<user>/uploads/`, keys cannot escape it, every
//! request needs a live session and its own token, presigned URLs cannot be altered, multipart uploads work
//! as on S3, and browsers at the app origin pass CORS.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use local_aws::s3::{Authorization, S3Options, Storage};
use local_aws::{LocalAws, Ports};
use md5::{Digest, Md5};
use rand::RngCore;
use reqwest::StatusCode;

use crate::helpers::{World, demo_config, upload_credentials, upload_parts};

/// The app's origin: the web client's callback URLs are on it.
const APP_ORIGIN: &str = "http://localhost:3000";
const MIB: usize = 1024 * 1024;

/// Credentials the identity pool vended, as the browser receives them.
#[derive(Clone)]
struct Vended {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
}

/// Signs in `sub` of `tenant` at the identity pool the way the backend does (see
/// `helpers::upload_credentials`), keeping the parts as the browser receives them.
async fn vend(aws: &LocalAws, tenant: &str, sub: &str) -> Vended {
    let credentials = upload_credentials(aws, tenant, sub).await;
    Vended {
        access_key_id: credentials.access_key_id().to_owned(),
        secret_access_key: credentials.secret_access_key().to_owned(),
        session_token: credentials.session_token().unwrap().to_owned(),
    }
}

/// The real S3 client, configured as the browser and the backend configure it for the stand-in.
fn s3_client(aws: &LocalAws, access_key_id: &str, secret: &str, token: Option<&str>) -> Client {
    s3_client_in(aws, aws.region(), access_key_id, secret, token)
}

fn s3_client_in(
    aws: &LocalAws,
    region: &str,
    access_key_id: &str,
    secret: &str,
    token: Option<&str>,
) -> Client {
    let credentials = Credentials::new(
        access_key_id,
        secret,
        token.map(str::to_owned),
        None,
        "identity-pool",
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(aws.s3_endpoint())
        .force_path_style(true)
        .credentials_provider(credentials)
        .build();
    Client::from_conf(config)
}

fn client_for(aws: &LocalAws, vended: &Vended) -> Client {
    s3_client(
        aws,
        &vended.access_key_id,
        &vended.secret_access_key,
        Some(&vended.session_token),
    )
}

/// The S3 error code and HTTP status of a failed call.
fn failure<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<R, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> (String, u16) {
    let error = result.expect_err("the call should fail");
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16())
        .unwrap_or_default();
    (error.code().unwrap_or("<none>").to_owned(), status)
}

async fn put(client: &Client, bucket: &str, key: &str, body: &[u8]) -> Result<String, String> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .map(|output| output.e_tag().unwrap_or_default().to_owned())
        .map_err(|error| error.code().unwrap_or("<none>").to_owned())
}

async fn get(client: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let output = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| error.code().unwrap_or("<none>").to_owned())?;
    Ok(output.body.collect().await.unwrap().into_bytes().to_vec())
}

async fn list(client: &Client, bucket: &str, prefix: Option<&str>) -> Result<Vec<String>, String> {
    let output = client
        .list_objects_v2()
        .bucket(bucket)
        .set_prefix(prefix.map(str::to_owned))
        .send()
        .await
        .map_err(|error| error.code().unwrap_or("<none>").to_owned())?;
    Ok(output
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect())
}

/// `url` with the value of its query parameter `name` replaced by `change(value)`.
fn with_query_value(url: &str, name: &str, change: impl Fn(&str) -> String) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(key, value)| {
            let value = if key == name {
                change(&value)
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

fn md5_hex(bytes: &[u8]) -> String {
    format!("{:x}", Md5::digest(bytes))
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// A call's result without its value: `Ok(())` or the S3 error code.
fn outcome<T>(result: Result<T, String>) -> Result<(), String> {
    result.map(|_| ())
}

/// What a call the policy refuses comes to.
fn access_denied() -> Result<(), String> {
    Err("AccessDenied".to_owned())
}

#[tokio::test]
async fn alice_writes_reads_lists_and_deletes_her_own_uploads() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let key = "acme/u1/uploads/2026/report.pdf";
    let body = b"quarterly figures".to_vec();

    let e_tag = put(&alice, &bucket, key, &body).await.unwrap();
    assert_eq!(
        e_tag,
        format!("\"{}\"", md5_hex(&body)),
        "S3's ETag: the MD5"
    );
    assert_eq!(get(&alice, &bucket, key).await.unwrap(), body);
    let head = alice
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.e_tag(), Some(e_tag.as_str()));

    let listed = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("acme/u1/uploads/")
        .send()
        .await
        .unwrap();
    let objects = listed.contents();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].key(), Some(key));
    assert_eq!(objects[0].size(), Some(body.len() as i64));
    assert_eq!(objects[0].e_tag(), Some(e_tag.as_str()));
    let folders = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("acme/u1/uploads/")
        .delimiter("/")
        .max_keys(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        folders
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect::<Vec<_>>(),
        vec!["acme/u1/uploads/2026/"]
    );

    alice
        .delete_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(get(&alice, &bucket, key).await, Err("NoSuchKey".to_owned()));
    // A prefix left behind on disk is no object either.
    assert_eq!(
        get(&alice, &bucket, "acme/u1/uploads/2026").await,
        Err("NoSuchKey".to_owned())
    );
}

#[tokio::test]
async fn alice_is_denied_everything_outside_her_own_uploads() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let bob = client_for(aws, &vend(aws, "acme", "u2").await);
    let carol = client_for(aws, &vend(aws, "globex", "u7").await);
    put(&bob, &bucket, "acme/u2/uploads/salaries.xlsx", b"bob's")
        .await
        .unwrap();
    put(&carol, &bucket, "globex/u7/uploads/plans.txt", b"carol's")
        .await
        .unwrap();
    put(&alice, &bucket, "acme/u1/uploads/mine.txt", b"alice's")
        .await
        .unwrap();

    for key in [
        "acme/u2/uploads/salaries.xlsx",
        "acme/u2/uploads/new.txt",
        "globex/u7/uploads/plans.txt",
        "globex/u1/uploads/new.txt",
        "mine.txt",
        "acme/u1/mine.txt",
        "acme/u1/uploads-other/mine.txt",
        "acme2/u1/uploads/mine.txt",
    ] {
        assert_eq!(
            outcome(put(&alice, &bucket, key, b"x").await),
            access_denied(),
            "put {key}"
        );
        assert_eq!(
            outcome(get(&alice, &bucket, key).await),
            access_denied(),
            "get {key} (denied before the store is asked, existing or not)"
        );
        let (code, status) = failure(alice.delete_object().bucket(&bucket).key(key).send().await);
        assert_eq!(
            (code.as_str(), status),
            ("AccessDenied", 403),
            "delete {key}"
        );
    }
    let (code, status) = failure(
        alice
            .head_object()
            .bucket(&bucket)
            .key("acme/u2/uploads/salaries.xlsx")
            .send()
            .await,
    );
    assert_eq!(status, 403, "head of bob's object: {code}");

    for prefix in [
        None,
        Some(""),
        Some("acme/"),
        Some("acme/u1/"),
        Some("acme/u1/uploads"),
        Some("acme/u1/uploads-other/"),
        Some("acme/u2/uploads/"),
        Some("acme2/u1/uploads/"),
        Some("globex/u7/uploads/"),
    ] {
        assert_eq!(
            outcome(list(&alice, &bucket, prefix).await),
            access_denied(),
            "list {prefix:?}"
        );
    }
    assert_eq!(
        list(&alice, &bucket, Some("acme/u1/uploads/")).await,
        Ok(vec!["acme/u1/uploads/mine.txt".to_owned()])
    );
    // Nothing of alice's attempts landed, and the others' objects are untouched.
    assert_eq!(
        list(&bob, &bucket, Some("acme/u2/uploads/")).await,
        Ok(vec!["acme/u2/uploads/salaries.xlsx".to_owned()])
    );
    assert_eq!(
        get(&bob, &bucket, "acme/u2/uploads/salaries.xlsx").await,
        Ok(b"bob's".to_vec())
    );
    assert_eq!(
        list(&carol, &bucket, Some("globex/u7/uploads/")).await,
        Ok(vec!["globex/u7/uploads/plans.txt".to_owned()])
    );

    // Bucket-level operations the app does not use are refused too.
    let (code, _) = failure(alice.list_buckets().send().await);
    assert_eq!(code, "AccessDenied");
    let (code, _) = failure(
        alice
            .copy_object()
            .bucket(&bucket)
            .key("acme/u1/uploads/copy.xlsx")
            .copy_source(format!("{bucket}/acme/u2/uploads/salaries.xlsx"))
            .send()
            .await,
    );
    assert_eq!(code, "AccessDenied");
}

#[tokio::test]
async fn keys_with_dot_segments_or_encoded_slashes_are_refused() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let bob = client_for(aws, &vend(aws, "acme", "u2").await);
    put(&bob, &bucket, "acme/u2/uploads/report.txt", b"bob's")
        .await
        .unwrap();

    // Each of these keys starts with alice's prefix, so the policy alone would allow it; on disk the first
    // three would be bob's files.
    for key in [
        "acme/u1/uploads/../../u2/uploads/report.txt",
        "acme/u1/uploads/../../u2/uploads/planted.txt",
        "acme/u1/uploads/sub/../../../u2/uploads/report.txt",
        "acme/u1/uploads/./notes.txt",
        "acme/u1/uploads//notes.txt",
        "acme/u1/uploads/notes/",
        "acme/u1/uploads/..",
    ] {
        assert_eq!(
            outcome(put(&alice, &bucket, key, b"alice's").await),
            access_denied(),
            "put {key}"
        );
        assert_eq!(
            outcome(get(&alice, &bucket, key).await),
            access_denied(),
            "get {key}"
        );
    }

    // The real client percent-encodes nothing but the key's own characters; rewrite the signed path so that
    // it carries encoded slashes, and let the client sign it as sent.
    for encoded in [
        "acme%2Fu1%2Fuploads%2Fnotes.txt",
        "acme/u1/uploads/..%2F..%2Fu2%2Fuploads%2Freport.txt",
        "acme/u1/uploads/%2E%2E/%2E%2E/u2/uploads/report.txt",
    ] {
        let path = format!("/{bucket}/{encoded}");
        let result = alice
            .put_object()
            .bucket(&bucket)
            .key("acme/u1/uploads/placeholder")
            .body(ByteStream::from_static(b"alice's"))
            .customize()
            .mutate_request(move |request| {
                let uri = request.uri().to_owned();
                let rewritten = uri.replacen(
                    "/saas-reference-uploads/acme/u1/uploads/placeholder",
                    &path,
                    1,
                );
                assert_ne!(uri, rewritten);
                request.set_uri(rewritten).unwrap();
            })
            .send()
            .await;
        assert_eq!(
            failure(result),
            ("AccessDenied".to_owned(), 403),
            "{encoded}"
        );
    }

    assert_eq!(
        get(&bob, &bucket, "acme/u2/uploads/report.txt").await,
        Ok(b"bob's".to_vec())
    );
    assert_eq!(
        list(&bob, &bucket, Some("acme/u2/uploads/")).await,
        Ok(vec!["acme/u2/uploads/report.txt".to_owned()])
    );
    assert_eq!(
        list(&alice, &bucket, Some("acme/u1/uploads/")).await,
        Ok(vec![])
    );
}

#[tokio::test]
async fn every_request_needs_a_live_session_and_its_own_token() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = vend(aws, "acme", "u1").await;
    let other = vend(aws, "acme", "u1").await;
    let key = "acme/u1/uploads/a.txt";
    put(&client_for(aws, &alice), &bucket, key, b"a")
        .await
        .unwrap();

    let get_with = |client: Client| {
        let bucket = bucket.clone();
        async move { failure(client.get_object().bucket(bucket).key(key).send().await) }
    };
    let cases = [
        (
            "another session's token",
            s3_client(
                aws,
                &alice.access_key_id,
                &alice.secret_access_key,
                Some(&other.session_token),
            ),
            ("InvalidToken", 400),
        ),
        (
            "a changed token",
            s3_client(
                aws,
                &alice.access_key_id,
                &alice.secret_access_key,
                Some(&format!("{}A", alice.session_token)),
            ),
            ("InvalidToken", 400),
        ),
        (
            // S3 knows a session's `ASIA…` key only together with its token.
            "no token",
            s3_client(aws, &alice.access_key_id, &alice.secret_access_key, None),
            ("InvalidAccessKeyId", 403),
        ),
        (
            "an unknown access key",
            s3_client(
                aws,
                "ASIAAAAAAAAAAAAAAAAA",
                &alice.secret_access_key,
                Some(&alice.session_token),
            ),
            ("InvalidAccessKeyId", 403),
        ),
        (
            "a wrong secret",
            s3_client(
                aws,
                &alice.access_key_id,
                &other.secret_access_key,
                Some(&alice.session_token),
            ),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            "another region",
            s3_client_in(
                aws,
                "us-east-1",
                &alice.access_key_id,
                &alice.secret_access_key,
                Some(&alice.session_token),
            ),
            ("AuthorizationHeaderMalformed", 400),
        ),
    ];
    for (name, client, (code, status)) in cases {
        assert_eq!(get_with(client).await, (code.to_owned(), status), "{name}");
    }

    let anonymous = reqwest::get(format!("{}/{bucket}/{key}", aws.s3_endpoint()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);
    assert!(
        anonymous
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    assert_eq!(
        get(&client_for(aws, &alice), &bucket, key).await,
        Ok(b"a".to_vec())
    );
    assert!(aws.credentials().expire(&alice.access_key_id));
    assert_eq!(
        get_with(client_for(aws, &alice)).await,
        ("ExpiredToken".to_owned(), 400)
    );
    assert_eq!(
        outcome(put(&client_for(aws, &alice), &bucket, key, b"b").await),
        Err("ExpiredToken".to_owned())
    );
    assert_eq!(
        get(&client_for(aws, &other), &bucket, key).await,
        Ok(b"a".to_vec())
    );
}

#[tokio::test]
async fn presigned_urls_work_as_signed_and_not_once_altered() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let vended = vend(aws, "acme", "u1").await;
    let alice = client_for(aws, &vended);
    let http = reqwest::Client::new();
    let key = "acme/u1/uploads/presigned.bin";
    let body = random_bytes(64 * 1024);
    let presign = || PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();

    let upload = alice
        .put_object()
        .bucket(&bucket)
        .key(key)
        .presigned(presign())
        .await
        .unwrap();
    assert!(upload.uri().contains("X-Amz-Security-Token="));
    let response = http
        .put(upload.uri())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["etag"],
        format!("\"{}\"", md5_hex(&body)).as_str()
    );

    let download = alice
        .get_object()
        .bucket(&bucket)
        .key(key)
        .presigned(presign())
        .await
        .unwrap();
    let url = download.uri().to_owned();
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), body);

    put(&alice, &bucket, "acme/u1/uploads/other.bin", b"other")
        .await
        .unwrap();
    // Rewriting the query string leaves a valid URL valid, so each refusal below is the change's doing.
    let rewritten = with_query_value(&url, "X-Amz-Expires", str::to_owned);
    assert_eq!(
        http.get(&rewritten).send().await.unwrap().status(),
        StatusCode::OK
    );
    let tampered = [
        ("another key", url.replace("presigned.bin", "other.bin")),
        (
            "a longer expiry",
            with_query_value(&url, "X-Amz-Expires", |_| "3600".to_owned()),
        ),
        (
            "another signature",
            with_query_value(&url, "X-Amz-Signature", |signature| {
                let first = if signature.starts_with('0') { "1" } else { "0" };
                format!("{first}{}", &signature[1..])
            }),
        ),
        (
            "another method's signature",
            with_query_value(&url, "X-Amz-Signature", |_| {
                let put_url = url::Url::parse(upload.uri()).unwrap();
                put_url
                    .query_pairs()
                    .find(|(name, _)| name == "X-Amz-Signature")
                    .unwrap()
                    .1
                    .into_owned()
            }),
        ),
    ];
    for (name, tampered_url) in tampered {
        assert_ne!(tampered_url, url, "{name}");
        let response = http.get(&tampered_url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("<Code>SignatureDoesNotMatch</Code>"),
            "{name}: {text}"
        );
    }

    let outside = alice
        .get_object()
        .bucket(&bucket)
        .key("acme/u2/uploads/presigned.bin")
        .presigned(presign())
        .await
        .unwrap();
    let response = http.get(outside.uri()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    assert!(aws.credentials().expire(&vended.access_key_id));
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(text.contains("<Code>ExpiredToken</Code>"), "{text}");
    assert!(
        text.contains("<Message>The provided token has expired.</Message><Token-0>"),
        "{text}"
    );
}

/// A presigned URL made with temporary credentials stops working when they expire, even if it was signed
/// for longer (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html>, "Expiration
/// time for presigned URLs"): S3 answers 400 `ExpiredToken`.
#[tokio::test]
async fn a_presigned_url_dies_with_its_session_however_long_it_was_signed_for() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let vended = vend(aws, "acme", "u1").await;
    let alice = client_for(aws, &vended);
    let key = "acme/u1/uploads/week.bin";
    put(&alice, &bucket, key, b"a week").await.unwrap();
    let week = PresigningConfig::expires_in(Duration::from_secs(604_800)).unwrap();
    let url = alice
        .get_object()
        .bucket(&bucket)
        .key(key)
        .presigned(week)
        .await
        .unwrap()
        .uri()
        .to_owned();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    assert!(aws.credentials().expire(&vended.access_key_id));
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(text.contains("<Code>ExpiredToken</Code>"), "{text}");
}

/// The text of element `name` in an S3 error document.
fn element(document: &str, name: &str) -> Option<String> {
    let start = document.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + document[start..].find(&format!("</{name}>"))?;
    Some(html_unescape(&document[start..end]))
}

fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// Every S3 error document carries `RequestId` and `HostId`, the values of the answer's `x-amz-request-id`
/// and `x-amz-id-2` (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>), whether the
/// stand-in refused the request itself or `s3s` or the store did.
#[tokio::test]
async fn every_error_document_names_its_request_and_host_ids() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let http = reqwest::Client::new();
    let presigned = |key: &'static str| {
        let alice = alice.clone();
        let bucket = bucket.clone();
        async move {
            alice
                .get_object()
                .bucket(bucket)
                .key(key)
                .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
                .await
                .unwrap()
                .uri()
                .to_owned()
        }
    };
    let urls = [
        // The stand-in's own refusal (anonymous).
        format!("{}/{bucket}/acme/u1/uploads/a.txt", aws.s3_endpoint()),
        // The store's `NoSuchKey`.
        presigned("acme/u1/uploads/missing.txt").await,
        // The policy's `AccessDenied`.
        presigned("acme/u2/uploads/other.txt").await,
    ];
    for url in urls {
        let response = http.get(&url).send().await.unwrap();
        assert!(response.status().is_client_error(), "{url}");
        let request_id = response.headers()["x-amz-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let host_id = response.headers()["x-amz-id-2"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = response.text().await.unwrap();
        assert!(
            text.ends_with(&format!(
                "<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
            )),
            "{text}"
        );
    }
}

/// S3's answers to a wrong signature, an expired or too long presigned URL and a skewed clock, with the
/// elements S3 gives: <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>,
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html> (`X-Amz-Expires` at most
/// 604,800 seconds) and <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html>
/// (15 minutes).
#[tokio::test]
async fn signature_and_time_errors_carry_what_s3_says_about_them() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = vend(aws, "acme", "u1").await;
    let other = vend(aws, "acme", "u1").await;
    let key = "acme/u1/uploads/a.txt";
    put(&client_for(aws, &alice), &bucket, key, b"a")
        .await
        .unwrap();
    let http = reqwest::Client::new();

    // A wrong secret: the canonical request and string to sign S3 computed, which are what the client
    // signed, so the client's own signature of that string to sign is the one it provided.
    let wrong_secret = s3_client(
        aws,
        &alice.access_key_id,
        &other.secret_access_key,
        Some(&alice.session_token),
    );
    let signed_at = std::time::SystemTime::now();
    let url = wrong_secret
        .get_object()
        .bucket(&bucket)
        .key(key)
        .presigned(
            PresigningConfig::builder()
                .start_time(signed_at)
                .expires_in(Duration::from_secs(60))
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
        .uri()
        .to_owned();
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert_eq!(
        element(&text, "Code").as_deref(),
        Some("SignatureDoesNotMatch")
    );
    assert_eq!(
        element(&text, "Message").as_deref(),
        Some(
            "The request signature we calculated does not match the signature you provided. Check your key \
             and signing method."
        )
    );
    assert_eq!(
        element(&text, "AWSAccessKeyId").as_deref(),
        Some(alice.access_key_id.as_str())
    );
    let string_to_sign = element(&text, "StringToSign").unwrap();
    let canonical = element(&text, "CanonicalRequest").unwrap();
    assert!(
        canonical.starts_with(&format!("GET\n/{bucket}/{key}\n")),
        "{canonical}"
    );
    assert!(string_to_sign.ends_with(&format!("{:x}", sha2::Sha256::digest(canonical.as_bytes()))));
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        &other.secret_access_key,
        signed_at,
        aws.region(),
        "s3",
    );
    let provided = element(&text, "SignatureProvided").unwrap();
    assert_eq!(
        aws_sigv4::sign::v4::calculate_signature(signing_key, string_to_sign.as_bytes()),
        provided
    );
    let bytes = |text: &str| {
        text.bytes()
            .map(|byte| format!("{byte:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        element(&text, "StringToSignBytes"),
        Some(bytes(&string_to_sign))
    );
    assert_eq!(
        element(&text, "CanonicalRequestBytes"),
        Some(bytes(&canonical))
    );
    assert!(text.contains("<RequestId>") && text.contains("<HostId>"));

    // A presigned URL valid for more than a week is refused before its signature is looked at.
    let alice_client = client_for(aws, &alice);
    let url = alice_client
        .get_object()
        .bucket(&bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap()
        .uri()
        .to_owned();
    let response = http
        .get(with_query_value(&url, "X-Amz-Expires", |_| {
            "604801".to_owned()
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert_eq!(
        element(&text, "Code").as_deref(),
        Some("AuthorizationQueryParametersError")
    );
    assert_eq!(
        element(&text, "Message").as_deref(),
        Some("X-Amz-Expires must be less than a week (in seconds) that is; 604800")
    );

    // An expired presigned URL.
    let url = alice_client
        .get_object()
        .bucket(&bucket)
        .key(key)
        .presigned(
            PresigningConfig::builder()
                .start_time(std::time::SystemTime::now() - Duration::from_secs(120))
                .expires_in(Duration::from_secs(60))
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
        .uri()
        .to_owned();
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert_eq!(element(&text, "Code").as_deref(), Some("AccessDenied"));
    assert_eq!(
        element(&text, "Message").as_deref(),
        Some("Request has expired")
    );
    assert_eq!(element(&text, "X-Amz-Expires").as_deref(), Some("60"));
    assert!(element(&text, "Expires").unwrap().ends_with('Z'), "{text}");
    assert!(
        element(&text, "ServerTime").unwrap().ends_with('Z'),
        "{text}"
    );

    // A request signed in headers 20 minutes ago.
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(20);
    let amz_date = long_ago
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let response = http
        .get(format!("{}/{bucket}/{key}", aws.s3_endpoint()))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{}/{}/s3/aws4_request, SignedHeaders=host;x-amz-date, \
                 Signature=00",
                alice.access_key_id,
                &amz_date[..8],
                aws.region()
            ),
        )
        .header("x-amz-date", &amz_date)
        .header("x-amz-security-token", &alice.session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert_eq!(
        element(&text, "Code").as_deref(),
        Some("RequestTimeTooSkewed")
    );
    assert_eq!(
        element(&text, "Message").as_deref(),
        Some("The difference between the request time and the current time is too large.")
    );
    assert_eq!(element(&text, "RequestTime"), Some(amz_date));
    assert!(
        element(&text, "ServerTime").unwrap().ends_with('Z'),
        "{text}"
    );
    assert_eq!(
        element(&text, "MaxAllowedSkewMilliseconds").as_deref(),
        Some("900000")
    );
}

#[tokio::test]
async fn a_large_multipart_upload_in_concurrent_parts_reads_back_identical() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let key = "acme/u1/uploads/video.mp4";
    let body = random_bytes(12 * MIB + 345);
    let chunks: Vec<Vec<u8>> = body.chunks(5 * MIB).map(<[u8]>::to_vec).collect();
    assert_eq!(chunks.len(), 3);

    let upload = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .content_type("video/mp4")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap().to_owned();
    let uploads = chunks.iter().enumerate().map(|(index, chunk)| {
        let client = alice.clone();
        let (bucket, upload_id, chunk) = (bucket.clone(), upload_id.clone(), chunk.clone());
        tokio::spawn(async move {
            let part_number = i32::try_from(index + 1).unwrap();
            let output = client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(part_number)
                .body(ByteStream::from(chunk))
                .send()
                .await
                .unwrap();
            (part_number, output.e_tag().unwrap().to_owned())
        })
    });
    let mut parts: Vec<(i32, String)> = futures::future::join_all(uploads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    parts.sort();
    for ((_, e_tag), chunk) in parts.iter().zip(&chunks) {
        assert_eq!(
            e_tag,
            &format!("\"{}\"", md5_hex(chunk)),
            "a part's ETag is its MD5"
        );
    }

    let listed = alice
        .list_parts()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    let listed: Vec<(i32, String)> = listed
        .parts()
        .iter()
        .map(|part| {
            (
                part.part_number().unwrap(),
                part.e_tag().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(listed, parts);

    let completed = |parts: &[(i32, String)]| {
        CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(number, e_tag)| {
                        CompletedPart::builder()
                            .part_number(*number)
                            .e_tag(e_tag)
                            .build()
                    })
                    .collect(),
            ))
            .build()
    };
    let mut wrong = parts.clone();
    wrong[1].1 = format!("\"{}\"", md5_hex(b"something else"));
    let (code, status) = failure(
        alice
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(completed(&wrong))
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("InvalidPart", 400));

    let done = alice
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(completed(&parts))
        .send()
        .await
        .unwrap();
    let part_digests: Vec<u8> = chunks
        .iter()
        .flat_map(|chunk| Md5::digest(chunk).to_vec())
        .collect();
    let expected_e_tag = format!("\"{}-3\"", md5_hex(&part_digests));
    assert_eq!(done.e_tag(), Some(expected_e_tag.as_str()));

    let read = alice
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.e_tag(), Some(expected_e_tag.as_str()));
    assert_eq!(read.content_type(), Some("video/mp4"));
    let read = read.body.collect().await.unwrap().into_bytes();
    assert!(read.as_ref() == body.as_slice(), "byte-identical");
}

#[tokio::test]
async fn an_aborted_multipart_upload_is_gone_and_an_upload_id_serves_only_its_key() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let key = "acme/u1/uploads/big.iso";
    let upload_id = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let part = |key: &'static str| {
        alice
            .upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(random_bytes(MIB)))
            .send()
    };
    part(key).await.unwrap();
    let (code, status) = failure(part("acme/u1/uploads/elsewhere.iso").await);
    assert_eq!((code.as_str(), status), ("NoSuchUpload", 404));

    alice
        .abort_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    let (code, status) = failure(part(key).await);
    assert_eq!((code.as_str(), status), ("NoSuchUpload", 404));
    let (code, _) = failure(
        alice
            .list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await,
    );
    assert_eq!(code, "NoSuchUpload");
    assert_eq!(get(&alice, &bucket, key).await, Err("NoSuchKey".to_owned()));

    // Bob may not abort, list or add to alice's uploads even with the upload id.
    let bob = client_for(aws, &vend(aws, "acme", "u2").await);
    let other_upload = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let other_id = other_upload.upload_id().unwrap();
    let (code, _) = failure(
        bob.abort_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(other_id)
            .send()
            .await,
    );
    assert_eq!(code, "AccessDenied");
    let (code, _) = failure(
        bob.upload_part()
            .bucket(&bucket)
            .key("acme/u2/uploads/mine.iso")
            .upload_id(other_id)
            .part_number(1)
            .body(ByteStream::from_static(b"bob's"))
            .send()
            .await,
    );
    assert_eq!(code, "NoSuchUpload");
}

#[tokio::test]
async fn browsers_at_the_app_origin_pass_cors_and_other_origins_do_not() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let http = reqwest::Client::new();
    let object_url = format!("{}/{bucket}/acme/u1/uploads/photo.jpg", aws.s3_endpoint());
    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, &object_url)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-security-token",
            )
            .send()
    };

    let allowed = preflight(APP_ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    for method in ["PUT", "GET", "HEAD", "POST", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization, content-type, x-amz-content-sha256, x-amz-date, x-amz-security-token"
    );
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(
        exposed.contains("ETag") && exposed.contains("x-amz-request-id"),
        "{exposed}"
    );
    assert!(headers.contains_key("x-amz-request-id"));

    let refused = preflight("http://evil.example").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessForbidden</Code>")
    );

    // The actual request: CORS headers for the app origin only, on successes and on errors alike.
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    put(&alice, &bucket, "acme/u1/uploads/photo.jpg", b"jpeg")
        .await
        .unwrap();
    let url = alice
        .get_object()
        .bucket(&bucket)
        .key("acme/u1/uploads/photo.jpg")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap()
        .uri()
        .to_owned();
    let from_app = http
        .get(&url)
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(from_app.status(), StatusCode::OK);
    assert_eq!(
        from_app.headers()["access-control-allow-origin"],
        APP_ORIGIN
    );
    let denied = http
        .get(&object_url)
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(denied.headers()["access-control-allow-origin"], APP_ORIGIN);
    let from_elsewhere = http
        .get(&url)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        !from_elsewhere
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn the_files_bucket_has_no_cors_rules() {
    let world = World::start().await;
    let aws = &world.aws;
    let http = reqwest::Client::new();
    let url = format!("{}/{}/acme/file-1", aws.s3_endpoint(), aws.files_bucket());

    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert!(
        preflight
            .text()
            .await
            .unwrap()
            .contains("CORS is not enabled for this bucket")
    );
    let read = http
        .get(&url)
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
    assert!(read.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_benchmark_setting_skips_the_policy_and_nothing_else() {
    let aws = LocalAws::start_with_s3(
        demo_config(),
        "127.0.0.1".parse().unwrap(),
        Ports::ephemeral(),
        S3Options {
            authorization: Authorization::BenchmarkOnlyDisabled,
            ..S3Options::default()
        },
    )
    .await
    .unwrap();
    let bucket = aws.bucket().to_owned();
    let alice = vend(&aws, "acme", "u1").await;
    let client = client_for(&aws, &alice);
    assert_eq!(
        put(&client, &bucket, "acme/u2/uploads/unchecked.txt", b"x").await,
        Ok(format!("\"{}\"", md5_hex(b"x")))
    );
    assert_eq!(
        outcome(put(&client, &bucket, "acme/u1/uploads/../../u2/uploads/x", b"x").await),
        access_denied()
    );
    let wrong_token = s3_client(
        &aws,
        &alice.access_key_id,
        &alice.secret_access_key,
        Some("not-the-token"),
    );
    assert_eq!(
        outcome(get(&wrong_token, &bucket, "acme/u2/uploads/unchecked.txt").await),
        Err("InvalidToken".to_owned())
    );
    let (code, _) = failure(client.list_buckets().send().await);
    assert_eq!(
        code, "AccessDenied",
        "unimplemented operations stay refused"
    );
    aws.shutdown().await;
}

#[tokio::test]
async fn a_storage_directory_keeps_objects_across_restarts() {
    let directory = tempfile::tempdir().unwrap();
    let options = || S3Options {
        storage: Storage::Directory(directory.path().join("s3")),
        ..S3Options::default()
    };
    let start = || {
        LocalAws::start_with_s3(
            demo_config(),
            "127.0.0.1".parse().unwrap(),
            Ports::ephemeral(),
            options(),
        )
    };
    let aws = start().await.unwrap();
    let bucket = aws.bucket().to_owned();
    let alice = client_for(&aws, &vend(&aws, "acme", "u1").await);
    put(&alice, &bucket, "acme/u1/uploads/kept.txt", b"kept")
        .await
        .unwrap();
    aws.shutdown().await;

    let aws = start().await.unwrap();
    let alice = client_for(&aws, &vend(&aws, "acme", "u1").await);
    assert_eq!(
        get(&alice, &bucket, "acme/u1/uploads/kept.txt").await,
        Ok(b"kept".to_vec())
    );
    assert_eq!(
        list(&alice, &bucket, Some("acme/u1/uploads/")).await,
        Ok(vec!["acme/u1/uploads/kept.txt".to_owned()]),
        "listings see what earlier runs stored"
    );
    aws.shutdown().await;
}

#[tokio::test]
async fn keys_as_long_as_s3_allows_work_for_every_operation() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let prefix = "acme/u1/uploads/";
    // 1,024 bytes in all, with a name of multi-byte characters, as the browser's file names can be.
    let name = format!(
        "{}.bin",
        "é".repeat((1024 - prefix.len() - "f/".len() - 4) / 2)
    );
    let whole = format!("{prefix}f/{name}");
    assert_eq!(whole.len(), 1024);
    let parts_key = format!("{prefix}g/{name}");

    put(&alice, &bucket, &whole, b"small").await.unwrap();
    assert_eq!(get(&alice, &bucket, &whole).await, Ok(b"small".to_vec()));
    // One byte more is S3's own error.
    assert_eq!(
        put(&alice, &bucket, &format!("{whole}x"), b"small").await,
        Err("KeyTooLongError".to_owned())
    );

    let body = random_bytes(5 * MIB + 1);
    let upload = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key(&parts_key)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.key(), Some(parts_key.as_str()));
    let upload_id = upload.upload_id().unwrap();
    let completed = upload_parts(&alice, &bucket, &parts_key, upload_id, &body, 5 * MIB).await;
    let done = alice
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(&parts_key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.key(), Some(parts_key.as_str()));
    assert_eq!(get(&alice, &bucket, &parts_key).await, Ok(body));

    assert_eq!(
        list(&alice, &bucket, Some(prefix)).await,
        Ok(vec![whole.clone(), parts_key.clone()])
    );
    alice
        .delete_object()
        .bucket(&bucket)
        .key(&whole)
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&alice, &bucket, &whole).await,
        Err("NoSuchKey".to_owned())
    );
    assert_eq!(
        list(&alice, &bucket, Some(prefix)).await,
        Ok(vec![parts_key])
    );
}

#[tokio::test]
async fn the_backends_own_key_checks_lists_copies_and_removes_uploads_but_never_writes_them() {
    let aws = LocalAws::start(
        demo_config(),
        "127.0.0.1".parse().unwrap(),
        Ports::ephemeral(),
    )
    .await
    .unwrap();
    let bucket = aws.bucket().to_owned();
    let files = aws.files_bucket().to_owned();
    let alice = client_for(&aws, &vend(&aws, "acme", "u1").await);
    let upload = "acme/u1/uploads/f/report Q3.pdf";
    let etag = put(&alice, &bucket, upload, b"%PDF").await.unwrap();
    let (key_id, secret) = aws.backend_s3_key();
    let backend = s3_client(&aws, &key_id, &secret, None);

    let head = backend
        .head_object()
        .bucket(&bucket)
        .key(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(4));
    assert_eq!(get(&backend, &bucket, upload).await.unwrap(), b"%PDF");
    assert_eq!(
        outcome(put(&backend, &bucket, "acme/u1/uploads/planted.pdf", b"x").await),
        access_denied(),
        "the backend never writes into the upload bucket"
    );
    assert_eq!(
        list(&backend, &bucket, Some("acme/")).await,
        Ok(vec![upload.to_owned()]),
        "the backend counts a tenant's unrecorded uploads"
    );

    // Recording copies the upload into the files bucket, only if it is still the object checked.
    let copy = |if_match: &str| {
        backend
            .copy_object()
            .bucket(&files)
            .key("acme/file-1")
            .copy_source(format!("{bucket}/acme/u1/uploads/f/report%20Q3.pdf"))
            .copy_source_if_match(if_match)
            .send()
    };
    assert_eq!(
        failure(copy("\"0123456789abcdef0123456789abcdef\"").await),
        ("PreconditionFailed".to_owned(), 412)
    );
    let copied = copy(&etag).await.unwrap();
    assert_eq!(
        copied
            .copy_object_result()
            .and_then(|result| result.e_tag()),
        Some(etag.as_str())
    );
    assert_eq!(get(&backend, &files, "acme/file-1").await.unwrap(), b"%PDF");
    let missing = backend
        .copy_object()
        .bucket(&files)
        .key("acme/file-2")
        .copy_source(format!("{bucket}/acme/u1/uploads/none.pdf"))
        .send()
        .await;
    assert_eq!(failure(missing), ("NoSuchKey".to_owned(), 404));

    // The upload role reaches nothing in the files bucket: no read, write, delete, or copy in or out.
    assert_eq!(
        outcome(get(&alice, &files, "acme/file-1").await),
        access_denied()
    );
    assert_eq!(
        outcome(put(&alice, &files, "acme/file-1", b"replaced").await),
        access_denied()
    );
    let deleted = alice
        .delete_object()
        .bucket(&files)
        .key("acme/file-1")
        .send()
        .await;
    assert_eq!(failure(deleted).0, "AccessDenied");
    let copied_in = alice
        .copy_object()
        .bucket(&files)
        .key("acme/file-1")
        .copy_source(format!("{bucket}/acme/u1/uploads/f/report%20Q3.pdf"))
        .send()
        .await;
    assert_eq!(failure(copied_in).0, "AccessDenied");
    let copied_out = alice
        .copy_object()
        .bucket(&bucket)
        .key("acme/u1/uploads/stolen.pdf")
        .copy_source(format!("{files}/acme/file-1"))
        .send()
        .await;
    assert_eq!(
        failure(copied_out).0,
        "AccessDenied",
        "a copy needs read access to its source"
    );
    assert_eq!(get(&backend, &files, "acme/file-1").await.unwrap(), b"%PDF");

    backend
        .delete_object()
        .bucket(&bucket)
        .key(upload)
        .send()
        .await
        .unwrap();
    assert!(get(&alice, &bucket, upload).await.is_err());

    // A long-term key used with a session token is refused, as AWS does.
    let with_token = s3_client(&aws, &key_id, &secret, Some("a-token"));
    assert_eq!(
        outcome(get(&with_token, &bucket, "acme/u1/uploads/x").await),
        Err("InvalidToken".to_owned())
    );
}

/// HeadObject and GetObject on a key that holds nothing answer 404 `NoSuchKey` only to a caller with
/// `s3:ListBucket` on the bucket, and 403 `AccessDenied` (HEAD: 403 without a body) to anyone else:
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html> and
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>, "Permissions".
#[tokio::test]
async fn a_missing_key_is_not_found_only_for_callers_who_may_list_the_bucket() {
    let world = World::start().await;
    let aws = &world.aws;
    let bucket = aws.bucket().to_owned();
    let files = aws.files_bucket().to_owned();
    let alice = client_for(aws, &vend(aws, "acme", "u1").await);
    let head = |client: &Client, bucket: &str, key: &str| {
        client.head_object().bucket(bucket).key(key).send()
    };

    // The upload role lists only under its own prefix, which covers its own keys.
    let missing = "acme/u1/uploads/never-uploaded.pdf";
    assert_eq!(failure(head(&alice, &bucket, missing).await).1, 404);
    assert_eq!(
        get(&alice, &bucket, missing).await,
        Err("NoSuchKey".to_owned())
    );

    // The backend lists both of its buckets (`backend-storage-permissions.json`), so a missing recorded
    // file is "not found" for it, as `Storage::head` expects, rather than a refusal.
    let (key_id, secret) = aws.backend_s3_key();
    let backend = s3_client(aws, &key_id, &secret, None);
    assert_eq!(
        failure(head(&backend, &files, "acme/no-such-file").await).1,
        404
    );
    assert_eq!(
        get(&backend, &files, "acme/no-such-file").await,
        Err("NoSuchKey".to_owned())
    );
    assert_eq!(failure(head(&backend, &bucket, missing).await).1, 404);

    // The same backend key with a policy that reads the files bucket without listing it: 403 for a missing
    // key, while an existing key still reads.
    let mut config = demo_config();
    let read_only = local_aws::iam::Policy::parse_identity(&format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::{files}/*"}}]}}"#
    ))
    .unwrap();
    config.backend_user.permissions = local_aws::iam::PolicySet::new().with("read-only", read_only);
    let unlisted = LocalAws::start(config, "127.0.0.1".parse().unwrap(), Ports::ephemeral())
        .await
        .unwrap();
    let backend = s3_client(&unlisted, &key_id, &secret, None);
    put(&backend, &files, "acme/file-1", b"kept").await.unwrap();
    assert_eq!(
        get(&backend, &files, "acme/file-1").await,
        Ok(b"kept".to_vec())
    );
    assert_eq!(
        failure(head(&backend, &files, "acme/no-such-file").await).1,
        403
    );
    assert_eq!(
        get(&backend, &files, "acme/no-such-file").await,
        Err("AccessDenied".to_owned())
    );
    let url = backend
        .head_object()
        .bucket(&files)
        .key("acme/no-such-file")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let response = reqwest::Client::new().head(url.uri()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.bytes().await.unwrap().is_empty(),
        "HEAD answers without a body"
    );
    unlisted.shutdown().await;
}

#[tokio::test]
async fn listings_url_encode_key_names_on_request_and_continue_with_opaque_tokens() {
    let aws = LocalAws::start(
        demo_config(),
        "127.0.0.1".parse().unwrap(),
        Ports::ephemeral(),
    )
    .await
    .unwrap();
    let bucket = aws.bucket().to_owned();
    let alice = client_for(&aws, &vend(&aws, "acme", "u1").await);
    let prefix = "acme/u1/uploads/";
    // In S3's order (by UTF-8 bytes), with what S3 answers for each under `encoding-type=url`.
    let keys = [
        ("100%.csv", "100%25.csv"),
        ("a b.txt", "a+b.txt"),
        ("a+b.txt", "a%2Bb.txt"),
        ("ctl\u{1}.txt", "ctl%01.txt"),
        ("run books/x.txt", "run+books/x.txt"),
        ("x\u{fffe}.txt", "x%EF%BF%BE.txt"),
        ("한글/x.txt", "%ED%95%9C%EA%B8%80/x.txt"),
    ];
    for (key, _) in keys {
        put(&alice, &bucket, &format!("{prefix}{key}"), b"x")
            .await
            .unwrap();
    }
    let listed = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(prefix)
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let expected: Vec<String> = keys
        .iter()
        .map(|(_, encoded)| format!("acme/u1/uploads/{encoded}"))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(listed.prefix(), Some(prefix));

    // Rolled up by a delimiter, the common prefixes are encoded alike, and the delimiter itself.
    let rolled = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(prefix)
        .delimiter("/")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = rolled
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(
        prefixes,
        [
            "acme/u1/uploads/run+books/",
            "acme/u1/uploads/%ED%95%9C%EA%B8%80/"
        ]
    );
    assert_eq!(rolled.delimiter(), Some("/"));

    // One key per page: the tokens reveal no key, and the pages hold every key once, in order.
    let mut pages = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(prefix)
        .max_keys(1)
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .into_paginator()
        .send();
    let mut paged = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        if let Some(token) = page.next_continuation_token() {
            assert!(keys.iter().all(|(key, _)| !token.contains(key)), "{token}");
        }
        paged.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    assert_eq!(paged, expected);

    // A token S3 did not make, or an encoding S3 does not know, is refused.
    let forged = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(prefix)
        .continuation_token("acme/u1/uploads/a b.txt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Some("InvalidArgument"));
    let unknown = alice
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(prefix)
        .encoding_type(aws_sdk_s3::types::EncodingType::from("base64"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("InvalidArgument"));
}
