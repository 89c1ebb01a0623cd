//! Uploads: credentials from the identity pool confined to the caller's own prefix, recording uploaded
//! objects, listing, presigned downloads, deletion by the uploader or an admin (never half-done), the
//! `basic` plan's storage quota, and tenant isolation.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api::{AuditPage, FileInfo, FilePage, StorageCredentials};
use shared::{ErrorBody, ErrorCode};

use crate::helpers::{ALICE, BOB, CAROL, ExtraBackend, SignedIn, TestApp, closed_port_url};

/// `POST /api/v1/storage/credentials` as `user`: the status and body.
async fn credentials_response(user: &SignedIn) -> (StatusCode, Value) {
    let response = user
        .send(Method::POST, "/api/v1/storage/credentials", None)
        .await;
    (response.status(), response.json().await.unwrap())
}

/// Upload credentials of `user`, which must be granted.
pub async fn credentials(user: &SignedIn) -> StorageCredentials {
    let (status, body) = credentials_response(user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

/// The real S3 client with vended credentials, as the browser would sign.
pub fn s3_client(vended: &StorageCredentials) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(vended.region.clone()))
        .endpoint_url(vended.endpoint.clone().unwrap())
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            vended.access_key_id.clone(),
            vended.secret_access_key.clone(),
            Some(vended.session_token.clone()),
            None,
            "vended",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Uploads `bytes` as `user` under their own prefix and returns the key.
pub async fn upload(user: &SignedIn, name: &str, bytes: &[u8]) -> String {
    let vended = credentials(user).await;
    let key = format!("{}{}/{name}", vended.prefix, uuid::Uuid::new_v4().simple());
    s3_client(&vended)
        .put_object()
        .bucket(&vended.bucket)
        .key(&key)
        .content_type("application/pdf")
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .unwrap();
    key
}

/// Uploads and records a file as `user`.
pub async fn upload_and_record(user: &SignedIn, name: &str, bytes: &[u8]) -> FileInfo {
    let key = upload(user, name, bytes).await;
    record(user, &key).await
}

/// Records the upload `key` as `user`, which must succeed.
async fn record(user: &SignedIn, key: &str) -> FileInfo {
    let response = user
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Uploads `bytes` with `vended` under a fresh folder of its prefix; returns the key.
async fn put(vended: &StorageCredentials, name: &str, bytes: &[u8]) -> String {
    let key = format!("{}{}/{name}", vended.prefix, uuid::Uuid::new_v4().simple());
    put_at(vended, &key, bytes).await;
    key
}

/// Uploads `bytes` with `vended` at `key`.
async fn put_at(vended: &StorageCredentials, key: &str, bytes: &[u8]) {
    s3_client(vended)
        .put_object()
        .bucket(&vended.bucket)
        .key(key)
        .content_type("application/pdf")
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .unwrap();
}

/// The bytes a download link of file `id` serves to `user`, through both ways of asking for one: the
/// redirect (plain links, scripts) and the JSON link (the web app), which must lead to the same bytes.
async fn download(user: &SignedIn, id: &str) -> Vec<u8> {
    let response = user
        .send(Method::GET, &format!("/api/v1/files/{id}/download"), None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let link = response.headers()["location"].to_str().unwrap().to_owned();
    let downloaded = reqwest::get(&link).await.unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    let bytes = downloaded.bytes().await.unwrap().to_vec();

    let response = user
        .send(Method::GET, &format!("/api/v1/files/{id}/link"), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let link: shared::api::FileLink = response.json().await.unwrap();
    let expires = time::OffsetDateTime::parse(
        &link.expires_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(4) && left <= time::Duration::minutes(5),
        "{left}"
    );
    let again = reqwest::get(&link.url).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.unwrap().to_vec(), bytes);
    bytes
}

/// Makes the recorded file `id` count `size` bytes.
async fn set_recorded_size(app: &TestApp, id: &str, size: i64) {
    sqlx::query("UPDATE files SET size_bytes = $2 WHERE id = $1::uuid")
        .bind(id)
        .bind(size)
        .execute(&app.db.owner)
        .await
        .unwrap();
}

/// `PATCH /api/v1/members/{id}` as `admin`, which must succeed.
async fn set_member(admin: &SignedIn, id: &str, change: Value) {
    let response = admin
        .send(
            Method::PATCH,
            &format!("/api/v1/members/{id}"),
            Some(change.clone()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{change}");
}

/// The S3 error code of a failed SDK call.
fn error_code<E: aws_sdk_s3::error::ProvideErrorMetadata>(error: &E) -> Option<&str> {
    error.code()
}

#[tokio::test]
async fn credentials_write_only_under_the_callers_own_prefix() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let me = alice.me().await;
    let vended = credentials(&alice).await;
    assert!(vended.access_key_id.starts_with("ASIA"));
    assert!(vended.prefix.starts_with(&format!("{}/", me.tenant.id)));
    assert!(vended.prefix.ends_with("/uploads/"));
    assert_eq!(
        vended.endpoint.as_deref(),
        Some(app.aws.s3_endpoint().as_str())
    );

    let client = s3_client(&vended);
    let own = format!("{}notes.txt", vended.prefix);
    client
        .put_object()
        .bucket(&vended.bucket)
        .key(&own)
        .body(ByteStream::from_static(b"mine"))
        .send()
        .await
        .unwrap();
    let bob_me = app.sign_in(&BOB).await.me().await;
    for elsewhere in [
        format!("{}/x/uploads/notes.txt", me.tenant.id),
        format!("{}/notes.txt", me.tenant.id),
        format!("{}/{}/notes.txt", bob_me.tenant.id, bob_me.user.id),
    ] {
        let denied = client
            .put_object()
            .bucket(&vended.bucket)
            .key(&elsewhere)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&denied),
            Some("AccessDenied"),
            "{elsewhere}"
        );
    }

    // Bearer clients have no ID token to exchange.
    let tokens = app.pool_tokens(&ALICE).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/storage/credentials"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::NotPermitted);
    assert!(
        error.message.contains("browser sessions"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn an_uploaded_file_is_recorded_listed_downloaded_and_deleted_by_its_uploader() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let content = b"%PDF-1.7 quarterly numbers".to_vec();
    let key = upload(&bob, "Q3 report.pdf", &content).await;

    let response = bob
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: FileInfo = response.json().await.unwrap();
    assert_eq!(file.name, "Q3 report.pdf");
    assert_eq!(file.size, i64::try_from(content.len()).unwrap());
    assert_eq!(file.content_type, "application/pdf");
    assert_eq!(file.uploader.name, BOB.name);
    let again = bob
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let upload_left = s3_client(&credentials(&bob).await)
        .head_object()
        .bucket(app.aws.bucket())
        .key(&key)
        .send()
        .await;
    assert!(upload_left.is_err(), "recording removes the upload");

    let page: FilePage = alice.get_json("/api/v1/files").await;
    assert_eq!(page.items, vec![file.clone()]);
    assert_eq!(page.used_bytes, file.size);
    assert_eq!(page.quota_bytes, None, "pro has no storage quota");

    // The download is a short-lived presigned link straight to S3.
    let response = alice
        .send(
            Method::GET,
            &format!("/api/v1/files/{}/download", file.id),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let link = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(link.starts_with(&app.aws.s3_endpoint()), "{link}");
    assert!(link.contains("X-Amz-Expires=300"), "{link}");
    let downloaded = reqwest::get(&link).await.unwrap();
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert!(
        downloaded.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Q3 report.pdf")
    );
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), content);

    // A viewer may not delete it, another member may not either; its uploader may.
    let erin = app.sign_in(&crate::helpers::ERIN).await;
    let response = erin
        .send(Method::DELETE, &format!("/api/v1/files/{}", file.id), None)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a viewer lacks the write scope"
    );
    let alice_file = upload_and_record(&alice, "alice.pdf", b"a").await;
    let response = bob
        .send(
            Method::DELETE,
            &format!("/api/v1/files/{}", alice_file.id),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::NotPermitted);
    let response = bob
        .send(Method::DELETE, &format!("/api/v1/files/{}", file.id), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let page: FilePage = alice.get_json("/api/v1/files").await;
    assert_eq!(page.items, vec![alice_file.clone()]);

    // Admins delete anyone's file; both changes are in the audit log.
    let response = alice
        .send(
            Method::DELETE,
            &format!("/api/v1/files/{}", alice_file.id),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let audit: AuditPage = alice.get_json("/api/v1/audit?limit=100").await;
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|event| event.action.as_str())
        .collect();
    assert!(
        actions.contains(&"file_uploaded") && actions.contains(&"file_deleted"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn only_objects_under_the_callers_own_prefix_can_be_recorded() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let bobs_key = upload(&bob, "bob.pdf", b"b").await;
    let vended = credentials(&alice).await;
    for key in [
        bobs_key.clone(),
        format!("{}missing.pdf", vended.prefix),
        format!("{}a/../b.pdf", vended.prefix),
        vended.prefix.clone(),
    ] {
        let response = alice
            .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{key}");
        let error: ErrorBody = response.json().await.unwrap();
        assert!(error.message.starts_with("key:"), "{}", error.message);
    }
}

#[tokio::test]
async fn a_basic_tenant_over_its_storage_quota_gets_no_more_upload_credentials() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    let file = upload_and_record(&carol, "small.pdf", b"x").await;
    let page: FilePage = carol.get_json("/api/v1/files").await;
    assert_eq!(page.quota_bytes, Some(100_000_000));
    // The tenant's records already add up to the quota.
    sqlx::query("UPDATE files SET size_bytes = 100000000 WHERE id = $1::uuid")
        .bind(&file.id)
        .execute(&app.db.owner)
        .await
        .unwrap();
    let response = carol
        .send(Method::POST, "/api/v1/storage/credentials", None)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::StorageQuotaExceeded);

    // Other tenants see nothing of Globex's files.
    let alice = app.sign_in(&ALICE).await;
    let acme: FilePage = alice.get_json("/api/v1/files").await;
    assert!(acme.items.is_empty());
    let response = alice
        .send(
            Method::GET,
            &format!("/api/v1/files/{}/download", file.id),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_file_that_would_pass_the_storage_quota_is_refused_and_its_object_removed() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    let earlier = upload_and_record(&carol, "earlier.pdf", b"x").await;
    // 99,999,990 of Globex's 100,000,000 bytes are used: credentials are still handed out, and one set can
    // carry more than what is left.
    set_recorded_size(&app, &earlier.id, 99_999_990).await;
    let vended = credentials(&carol).await;
    let fits = put(&vended, "fits.pdf", b"0123456789").await;
    let too_big = put(&vended, "too-big.pdf", b"0123456789!").await;

    let response = carol
        .send(Method::POST, "/api/v1/files", Some(json!({"key": too_big})))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::StorageQuotaExceeded);
    let gone = s3_client(&vended)
        .head_object()
        .bucket(&vended.bucket)
        .key(&too_big)
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the refused object is removed from the bucket"
    );

    // Exactly up to the quota is allowed.
    let response = carol
        .send(Method::POST, "/api/v1/files", Some(json!({"key": fits})))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page: FilePage = carol.get_json("/api/v1/files").await;
    assert_eq!(page.used_bytes, 100_000_000);
    assert_eq!(page.items.len(), 2);
}

#[tokio::test]
async fn unrecorded_uploads_count_against_the_quota_when_credentials_are_asked_for() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    let earlier = upload_and_record(&carol, "earlier.pdf", b"x").await;
    set_recorded_size(&app, &earlier.id, 99_999_990).await;
    // Uploaded but never recorded: it occupies storage all the same, until the lifecycle rule removes it.
    upload(&carol, "never-recorded.bin", b"0123456789").await;

    let (status, body) = credentials_response(&carol).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "storage_quota_exceeded");
}

#[tokio::test]
async fn a_recorded_file_cannot_be_overwritten_or_deleted_with_upload_credentials() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let vended = credentials(&bob).await;
    let key = put(&vended, "tiny.txt", b"1").await;
    let file = record(&bob, &key).await;
    assert_eq!(file.size, 1);
    let tenant = vended.prefix.split('/').next().unwrap();
    let kept_key = format!("{tenant}/{}", file.id);
    let s3 = s3_client(&vended);

    // Overwriting the key that was recorded only makes a new, unrecorded upload there.
    let html = "<html>".repeat(3 * 1024 * 1024 / 6).into_bytes();
    s3.put_object()
        .bucket(&vended.bucket)
        .key(&key)
        .content_type("text/html")
        .body(ByteStream::from(html))
        .send()
        .await
        .unwrap();
    let again = bob
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "one upload is recorded once"
    );

    // The recorded copy is out of reach of every browser credential: no write, copy, delete or read.
    let files_bucket = app.aws.files_bucket().to_owned();
    let overwrite = s3
        .put_object()
        .bucket(&files_bucket)
        .key(&kept_key)
        .body(ByteStream::from_static(b"replaced"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&overwrite), Some("AccessDenied"));
    let copy = s3
        .copy_object()
        .bucket(&files_bucket)
        .key(&kept_key)
        .copy_source(format!("{}/{key}", vended.bucket))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&copy), Some("AccessDenied"));
    let delete = s3
        .delete_object()
        .bucket(&files_bucket)
        .key(&kept_key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&delete), Some("AccessDenied"));
    let read = s3
        .get_object()
        .bucket(&files_bucket)
        .key(&kept_key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&read), Some("AccessDenied"));

    // The list and the download still give the one byte recorded.
    let page: FilePage = alice.get_json("/api/v1/files").await;
    assert_eq!(page.items, vec![file.clone()]);
    assert_eq!(download(&alice, &file.id).await, b"1");
}

#[tokio::test]
async fn an_upload_replaced_between_check_and_copy_is_not_recorded() {
    let app = TestApp::spawn().await;
    let bob = app.sign_in(&BOB).await;
    let vended = credentials(&bob).await;
    let key = put(&vended, "report.pdf", b"checked bytes").await;
    let storage = backend::storage::Storage::new(&app.config).await.unwrap();
    let checked = storage
        .head(backend::storage::Bucket::Uploads, &key)
        .await
        .unwrap()
        .unwrap();
    // The uploader overwrites the object after the backend looked at it.
    put_at(&vended, &key, b"other bytes, and more of them").await;

    let tenant = vended.prefix.split('/').next().unwrap();
    let copied = storage
        .copy_upload(
            &key,
            &checked.etag,
            &format!("{tenant}/{}", uuid::Uuid::new_v4()),
        )
        .await;
    assert!(
        matches!(copied, Err(backend::storage::StorageError::Changed)),
        "{copied:?}"
    );
}

#[tokio::test]
async fn unrecorded_uploads_expire_and_recorded_files_stay() {
    let app = TestApp::spawn().await;
    let bob = app.sign_in(&BOB).await;
    let vended = credentials(&bob).await;
    let recorded = record(&bob, &put(&vended, "kept.pdf", b"kept").await).await;
    let left = put(&vended, "left-behind.pdf", b"left").await;
    let s3 = s3_client(&vended);
    let unfinished = s3
        .create_multipart_upload()
        .bucket(&vended.bucket)
        .key(format!("{}unfinished/big.bin", vended.prefix))
        .send()
        .await
        .unwrap();

    let two_days_later = std::time::SystemTime::now() + std::time::Duration::from_secs(2 * 86_400);
    let sweep = app.aws.s3_lifecycle_sweep(two_days_later).await;
    let expired: Vec<&str> = sweep
        .expired_objects
        .iter()
        .map(|object| object.key.as_str())
        .collect();
    assert_eq!(
        expired,
        vec![left.as_str()],
        "only the unrecorded upload expires"
    );
    assert_eq!(
        sweep
            .aborted_uploads
            .iter()
            .map(|upload| upload.upload_id.as_str())
            .collect::<Vec<_>>(),
        vec![unfinished.upload_id().unwrap()]
    );
    assert_eq!(download(&bob, &recorded.id).await, b"kept");
}

#[tokio::test]
async fn a_demoted_or_deactivated_member_gets_no_credentials_and_records_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let vended = credentials(&bob).await;
    let key = put(&vended, "before.pdf", b"b").await;
    let bob_id = bob.me().await.user.id;

    set_member(&alice, &bob_id, json!({"role": "viewer"})).await;
    let (status, _) = credentials_response(&bob).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer lacks the write scope"
    );
    let response = bob
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    set_member(&alice, &bob_id, json!({"status": "deactivated"})).await;
    let (status, body) = credentials_response(&bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "member_inactive");
    let response = bob
        .send(Method::POST, "/api/v1/files", Some(json!({"key": key})))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page: FilePage = alice.get_json("/api/v1/files").await;
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn a_deletion_that_s3_fails_hides_the_file_and_deleting_again_finishes_it() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let file = upload_and_record(&alice, "doomed.pdf", b"d").await;

    // A second backend on the same database whose S3 is down.
    let mut config = app.config.clone();
    config.storage.s3_endpoint = Some(url::Url::parse(&closed_port_url().await).unwrap());
    let broken = ExtraBackend::spawn(config).await.unwrap();
    let tokens = app.pool_tokens(&ALICE).await;
    let response = reqwest::Client::new()
        .delete(broken.url(&format!("/api/v1/files/{}", file.id)))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page: FilePage = alice.get_json("/api/v1/files").await;
    assert!(page.items.is_empty(), "a file being deleted is not listed");
    let state: String = sqlx::query_scalar("SELECT state FROM files WHERE id = $1::uuid")
        .bind(&file.id)
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(
        state, "deleting",
        "nothing is lost: the row waits for its object"
    );

    let response = alice
        .send(Method::DELETE, &format!("/api/v1/files/{}", file.id), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM files")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
