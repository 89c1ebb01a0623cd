//! The upload bucket's lifecycle rules, `infra/policies/bucket-lifecycle.json`, driven with the real
//! `aws-sdk-s3` client: an incomplete multipart upload is aborted at its due time (the rule's days after
//! initiation, rounded up to midnight UTC) and not a second before, completed uploads and objects are
//! left alone by that rule, the deployment's `Expiration` rule deletes every upload a day after it was made
//! (a recorded file has been copied to the files bucket by then), `Expiration` deletes objects under its
//! prefix, `GetBucketLifecycleConfiguration` answers
//! the file to whoever the policies allow, and a file the stand-in cannot honour stops it at load.
//!
//! The lifecycle clock is moved with `LocalAws::s3_lifecycle_sweep(as_of)`, the sweep the stand-in also runs
//! with the real time.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, CompletedMultipartUpload, CompletedPart, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use local_aws::config::LocalAwsConfig;
use local_aws::s3::{
    AbortedUpload, Authorization, BucketLifecycle, ExpiredObject, LifecycleSweep, S3Options,
    Storage,
};
use local_aws::{LocalAws, Ports};
use serde_json::Value;
use time::{OffsetDateTime, Time, UtcOffset};

use crate::helpers::{
    api_error, backend_s3_client, demo_config, s3_client, upload_credentials, upload_parts,
};

const MIB: usize = 1024 * 1024;
/// The ID of the deployment file's rule that aborts incomplete multipart uploads.
const ABORT_RULE: &str = "AbortIncompleteMultipartUploads";
/// The ID of the deployment file's rule that expires uploads nobody recorded.
const EXPIRY_RULE: &str = "ExpireUnrecordedUploads";

/// `infra/policies/bucket-lifecycle.json` as JSON, to compare answers with.
fn lifecycle_file() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/bucket-lifecycle.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Starts the stand-ins with `config`, objects kept in `directory` (so that tests can look at the disk),
/// and the authorization given.
async fn start(config: LocalAwsConfig, directory: &Path, authorization: Authorization) -> LocalAws {
    LocalAws::start_with_s3(
        config,
        "127.0.0.1".parse().unwrap(),
        Ports::ephemeral(),
        S3Options {
            storage: Storage::Directory(directory.to_path_buf()),
            authorization,
        },
    )
    .await
    .unwrap()
}

/// Alice's client: credentials of user `u1` of `acme`, as the browser has them.
async fn alice(aws: &LocalAws) -> Client {
    s3_client(aws, upload_credentials(aws, "acme", "u1").await)
}

/// When an action `days` days after `start` is due, by S3's rule: the days added, rounded up to the next
/// midnight UTC.
fn due(start: SystemTime, days: u32) -> SystemTime {
    let end =
        OffsetDateTime::from(start).to_offset(UtcOffset::UTC) + time::Duration::days(days.into());
    let midnight = end.replace_time(Time::MIDNIGHT);
    let due = if midnight == end {
        end
    } else {
        midnight + time::Duration::DAY
    };
    due.into()
}

/// The files below `directory` whose name contains `needle`.
fn files_naming(directory: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().contains(needle))
            {
                found.push(path);
            }
        }
    }
    found
}

async fn put(client: &Client, bucket: &str, key: &str, body: &[u8]) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap();
}

/// The body of `key`, or the S3 error code.
async fn get(client: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => Ok(output.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(error) => Err(api_error::<(), _, _>(Err(error)).0),
    }
}

async fn list(client: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_upload_left_incomplete_is_aborted_when_the_rule_is_due_and_not_a_second_before() {
    let directory = tempfile::tempdir().unwrap();
    let aws = start(demo_config(), directory.path(), Authorization::Enforced).await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;
    let key = "acme/u1/uploads/abandoned.iso";
    let file = lifecycle_file();
    let rule = file["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["ID"] == ABORT_RULE)
        .unwrap();
    let days = u32::try_from(
        rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            .as_u64()
            .unwrap(),
    )
    .unwrap();

    let before = SystemTime::now();
    let upload = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let after = SystemTime::now();
    let upload_id = upload.upload_id().unwrap().to_owned();
    let part = alice
        .upload_part()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(1)
        .body(ByteStream::from(vec![7u8; MIB]))
        .send()
        .await
        .unwrap();

    // S3 names the abort date and the rule when the upload starts, and again with its parts.
    let abort_date = SystemTime::try_from(*upload.abort_date().unwrap()).unwrap();
    assert!(
        abort_date == due(before, days) || abort_date == due(after, days),
        "{days} day(s) after the initiation, rounded up to midnight UTC: {abort_date:?}"
    );
    assert_eq!(upload.abort_rule_id(), Some(ABORT_RULE));
    let parts = alice
        .list_parts()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        parts
            .abort_date()
            .map(|date| SystemTime::try_from(*date).unwrap()),
        Some(abort_date)
    );
    assert_eq!(parts.abort_rule_id(), Some(ABORT_RULE));
    assert!(!files_naming(directory.path(), &upload_id).is_empty());

    let early = aws
        .s3_lifecycle_sweep(abort_date - Duration::from_secs(1))
        .await;
    assert_eq!(early, LifecycleSweep::default(), "not yet due");
    let parts = alice
        .list_parts()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 1, "the part is still there");

    let swept = aws.s3_lifecycle_sweep(abort_date).await;
    assert_eq!(
        swept.aborted_uploads,
        vec![AbortedUpload {
            key: key.to_owned(),
            upload_id: upload_id.clone(),
            rule_id: ABORT_RULE.to_owned(),
        }]
    );
    assert!(swept.expired_objects.is_empty());

    let (code, _) = api_error(
        alice
            .list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await,
    );
    assert_eq!(code, "NoSuchUpload");
    let (code, _) = api_error(
        alice
            .upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(2)
            .body(ByteStream::from(vec![8u8; MIB]))
            .send()
            .await,
    );
    assert_eq!(code, "NoSuchUpload");
    let (code, _) = api_error(
        alice
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "NoSuchUpload");
    assert_eq!(
        files_naming(directory.path(), &upload_id),
        Vec::<PathBuf>::new(),
        "nothing of the upload is left on disk"
    );
    assert_eq!(get(&alice, &bucket, key).await, Err("NoSuchKey".to_owned()));
    assert_eq!(
        aws.s3_lifecycle_sweep(abort_date + Duration::from_secs(86_400))
            .await,
        LifecycleSweep::default(),
        "an aborted upload is aborted once"
    );
    aws.shutdown().await;
}

#[tokio::test]
async fn completed_uploads_and_objects_are_left_alone_by_the_abort_rule() {
    let directory = tempfile::tempdir().unwrap();
    // The abort rule alone (the deployment's file also expires objects, see the next test).
    let mut config = demo_config();
    config.identity_pool.bucket_lifecycle = Some(
        BucketLifecycle::parse(&format!(
            r#"{{"Rules": [{{"ID": "{ABORT_RULE}", "Status": "Enabled", "Filter": {{"Prefix": ""}},
                 "AbortIncompleteMultipartUpload": {{"DaysAfterInitiation": 1}}}}]}}"#
        ))
        .unwrap(),
    );
    let aws = start(config, directory.path(), Authorization::Enforced).await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;
    let assembled = "acme/u1/uploads/video.mp4";
    let body = vec![3u8; 5 * MIB + 10];

    let upload = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key(assembled)
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let completed = upload_parts(&alice, &bucket, assembled, upload_id, &body, 5 * MIB).await;
    alice
        .complete_multipart_upload()
        .bucket(&bucket)
        .key(assembled)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    put(&alice, &bucket, "acme/u1/uploads/note.txt", b"kept").await;
    let head = alice
        .head_object()
        .bucket(&bucket)
        .key("acme/u1/uploads/note.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.expiration(), None, "no rule expires objects");

    let years_later = SystemTime::now() + Duration::from_secs(3 * 365 * 86_400);
    assert_eq!(
        aws.s3_lifecycle_sweep(years_later).await,
        LifecycleSweep::default()
    );
    assert_eq!(get(&alice, &bucket, assembled).await, Ok(body));
    assert_eq!(
        get(&alice, &bucket, "acme/u1/uploads/note.txt").await,
        Ok(b"kept".to_vec())
    );
    assert_eq!(
        list(&alice, &bucket, "acme/u1/uploads/").await,
        vec!["acme/u1/uploads/note.txt".to_owned(), assembled.to_owned()]
    );
    aws.shutdown().await;
}

#[tokio::test]
async fn the_deployments_rules_delete_every_upload_a_day_after_it_was_made() {
    let directory = tempfile::tempdir().unwrap();
    let aws = start(demo_config(), directory.path(), Authorization::Enforced).await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;
    let key = "acme/u1/uploads/f/never-recorded.pdf";
    let start = SystemTime::now();
    put(&alice, &bucket, key, b"left behind").await;
    let head = alice
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert!(
        head.expiration()
            .is_some_and(|value| value.contains(&format!("rule-id=\"{EXPIRY_RULE}\""))),
        "{:?}",
        head.expiration()
    );

    assert_eq!(
        aws.s3_lifecycle_sweep(start + Duration::from_secs(3600))
            .await,
        LifecycleSweep::default(),
        "nothing is due within the day"
    );
    let swept = aws.s3_lifecycle_sweep(due(start, 1)).await;
    assert_eq!(
        swept
            .expired_objects
            .iter()
            .map(|object| object.key.as_str())
            .collect::<Vec<_>>(),
        vec![key]
    );
    assert!(get(&alice, &bucket, key).await.is_err());
    aws.shutdown().await;
}

#[tokio::test]
async fn an_expiration_rule_deletes_the_objects_under_its_prefix_once_due() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = demo_config();
    config.identity_pool.bucket_lifecycle = Some(
        BucketLifecycle::parse(
            r#"{"Rules": [
                {"ID": "ScratchFiles", "Status": "Enabled", "Filter": {"Prefix": "acme/u1/uploads/scratch/"},
                 "Expiration": {"Days": 2}},
                {"ID": "Paused", "Status": "Disabled", "Filter": {},
                 "Expiration": {"Days": 1}}
            ]}"#,
        )
        .unwrap(),
    );
    let aws = start(config, directory.path(), Authorization::Enforced).await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;
    let scratch = "acme/u1/uploads/scratch/draft.txt";
    let kept = "acme/u1/uploads/final.txt";

    let before = SystemTime::now();
    let put_output = alice
        .put_object()
        .bucket(&bucket)
        .key(scratch)
        .body(ByteStream::from_static(b"draft"))
        .send()
        .await
        .unwrap();
    let after = SystemTime::now();
    put(&alice, &bucket, kept, b"final").await;

    // S3 names the expiry on every answer about the object: expiry-date="<HTTP date>", rule-id="<ID>".
    let head = alice
        .head_object()
        .bucket(&bucket)
        .key(scratch)
        .send()
        .await
        .unwrap();
    let expiration = head.expiration().unwrap().to_owned();
    assert_eq!(put_output.expiration(), Some(expiration.as_str()));
    let expires = [due(before, 2), due(after, 2)]
        .into_iter()
        .find(|candidate| {
            let date = httpdate(*candidate);
            expiration == format!("expiry-date=\"{date}\", rule-id=\"ScratchFiles\"")
        })
        .unwrap_or_else(|| {
            panic!("two days after creation, rounded up to midnight UTC: {expiration}")
        });
    let kept_head = alice
        .head_object()
        .bucket(&bucket)
        .key(kept)
        .send()
        .await
        .unwrap();
    assert_eq!(
        kept_head.expiration(),
        None,
        "outside the prefix, and the catch-all rule is disabled"
    );

    assert_eq!(
        aws.s3_lifecycle_sweep(expires - Duration::from_secs(1))
            .await,
        LifecycleSweep::default()
    );
    assert_eq!(get(&alice, &bucket, scratch).await, Ok(b"draft".to_vec()));

    let swept = aws.s3_lifecycle_sweep(expires).await;
    assert_eq!(
        swept.expired_objects,
        vec![ExpiredObject {
            key: scratch.to_owned(),
            rule_id: "ScratchFiles".to_owned(),
        }]
    );
    assert_eq!(
        get(&alice, &bucket, scratch).await,
        Err("NoSuchKey".to_owned())
    );
    assert_eq!(
        list(&alice, &bucket, "acme/u1/uploads/").await,
        vec![kept.to_owned()]
    );
    assert_eq!(get(&alice, &bucket, kept).await, Ok(b"final".to_vec()));
    aws.shutdown().await;
}

/// `at` as an HTTP date (`Sun, 01 Feb 2026 00:00:00 GMT`).
fn httpdate(at: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    OffsetDateTime::from(at).format(&format).unwrap()
}

/// A lifecycle configuration someone might try to put: every object expires after a day.
fn expire_everything_configuration() -> BucketLifecycleConfiguration {
    BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("ExpireEverything")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn neither_the_upload_role_nor_the_backend_may_read_or_change_the_lifecycle_configuration() {
    let directory = tempfile::tempdir().unwrap();
    let aws = start(demo_config(), directory.path(), Authorization::Enforced).await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;

    let (code, message) = api_error(
        alice
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
    );
    assert_eq!(code, "AccessDenied");
    assert_eq!(
        message,
        format!(
            "User: arn:aws:sts::000000000000:assumed-role/saas-reference-uploads/CognitoIdentityCredentials is \
             not authorized to perform: s3:GetLifecycleConfiguration on resource: \"arn:aws:s3:::{bucket}\" \
             because no identity-based policy allows the s3:GetLifecycleConfiguration action"
        )
    );
    let backend = backend_s3_client(&aws);
    let (code, message) = api_error(
        backend
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await,
    );
    assert_eq!(code, "AccessDenied");
    assert!(
        message.contains(
            "user/saas-reference-backend is not authorized to perform: s3:GetLifecycleConfiguration"
        ),
        "{message}"
    );
    for client in [&alice, &backend] {
        let (code, _) = api_error(
            client
                .delete_bucket_lifecycle()
                .bucket(&bucket)
                .send()
                .await,
        );
        assert_eq!(code, "AccessDenied");
        let (code, _) = api_error(
            client
                .put_bucket_lifecycle_configuration()
                .bucket(&bucket)
                .lifecycle_configuration(expire_everything_configuration())
                .send()
                .await,
        );
        assert_eq!(code, "AccessDenied");
    }
    aws.shutdown().await;
}

#[tokio::test]
async fn the_lifecycle_configuration_answered_is_the_deployments_file() {
    let directory = tempfile::tempdir().unwrap();
    let aws = start(
        demo_config(),
        directory.path(),
        Authorization::BenchmarkOnlyDisabled,
    )
    .await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;

    let answer = alice
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let file = lifecycle_file();
    let file_rules = file["Rules"].as_array().unwrap();
    assert_eq!(answer.rules().len(), file_rules.len());
    for (rule, expected) in answer.rules().iter().zip(file_rules) {
        assert_eq!(rule.id(), expected["ID"].as_str());
        assert_eq!(rule.status().as_str(), expected["Status"].as_str().unwrap());
        assert_eq!(
            rule.filter().and_then(|filter| filter.prefix()),
            expected["Filter"]["Prefix"].as_str()
        );
        assert_eq!(
            rule.abort_incomplete_multipart_upload()
                .and_then(|abort| abort.days_after_initiation())
                .map(i64::from),
            expected["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_i64()
        );
        assert_eq!(
            rule.expiration()
                .and_then(|expiration| expiration.days())
                .map(i64::from),
            expected["Expiration"]["Days"].as_i64()
        );
    }
    assert_eq!(
        answer
            .transition_default_minimum_object_size()
            .map(|size| size.as_str()),
        Some("all_storage_classes_128K")
    );

    // The file is the source: changing the rules through the API stays refused, whatever the policy says.
    let (code, _) = api_error(alice.delete_bucket_lifecycle().bucket(&bucket).send().await);
    assert_eq!(code, "AccessDenied");
    let (code, _) = api_error(
        alice
            .put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(expire_everything_configuration())
            .send()
            .await,
    );
    assert_eq!(code, "AccessDenied");
    let unchanged = alice
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.rules(), answer.rules());
    aws.shutdown().await;
}

#[tokio::test]
async fn a_bucket_without_lifecycle_rules_answers_no_such_lifecycle_configuration() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = demo_config();
    config.identity_pool.bucket_lifecycle = None;
    let aws = start(
        config,
        directory.path(),
        Authorization::BenchmarkOnlyDisabled,
    )
    .await;
    let bucket = aws.bucket().to_owned();
    let alice = alice(&aws).await;

    let result = alice
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await;
    let status = result
        .as_ref()
        .err()
        .and_then(|error| error.raw_response())
        .map(|response| response.status().as_u16());
    assert_eq!(status, Some(404));
    let (code, message) = api_error(result);
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist"
        )
    );
    let upload = alice
        .create_multipart_upload()
        .bucket(&bucket)
        .key("acme/u1/uploads/forever.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.abort_date(), None);
    assert_eq!(upload.abort_rule_id(), None);
    let far = SystemTime::now() + Duration::from_secs(10 * 365 * 86_400);
    assert_eq!(aws.s3_lifecycle_sweep(far).await, LifecycleSweep::default());
    aws.shutdown().await;
}

#[tokio::test]
async fn uploads_left_in_progress_at_a_restart_leave_nothing_on_disk() {
    let directory = tempfile::tempdir().unwrap();
    let aws = start(demo_config(), directory.path(), Authorization::Enforced).await;
    let bucket = aws.bucket().to_owned();
    let alice_before = alice(&aws).await;
    let key = "acme/u1/uploads/interrupted.bin";
    let upload_id = alice_before
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    alice_before
        .upload_part()
        .bucket(&bucket)
        .key(key)
        .upload_id(&upload_id)
        .part_number(1)
        .body(ByteStream::from(vec![1u8; MIB]))
        .send()
        .await
        .unwrap();
    assert!(!files_naming(directory.path(), &upload_id).is_empty());
    aws.shutdown().await;

    let aws = start(demo_config(), directory.path(), Authorization::Enforced).await;
    assert_eq!(
        files_naming(directory.path(), &upload_id),
        Vec::<PathBuf>::new()
    );
    let alice = alice(&aws).await;
    let (code, _) = api_error(
        alice
            .list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await,
    );
    assert_eq!(code, "NoSuchUpload");
    aws.shutdown().await;
}

/// A copy of the configuration files `LocalAwsConfig::load` reads, with `bucket-lifecycle.json` replaced.
fn infra_with_lifecycle(lifecycle: &str) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let copy = tempfile::tempdir().unwrap();
    for directory in ["config", "policies", "local-aws"] {
        std::fs::create_dir(copy.path().join(directory)).unwrap();
    }
    for file in [
        "config/user-pool.json",
        "config/operator-pool.json",
        "config/identity-pool.json",
        "local-aws/local.json",
        "local-aws/directories.json",
    ] {
        std::fs::copy(source.join(file), copy.path().join(file)).unwrap();
    }
    for entry in std::fs::read_dir(source.join("policies")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            copy.path().join("policies").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::write(
        copy.path().join("policies/bucket-lifecycle.json"),
        lifecycle,
    )
    .unwrap();
    copy
}

#[test]
fn a_malformed_or_unsupported_lifecycle_file_is_refused_at_load_naming_the_problem() {
    let unchanged = infra_with_lifecycle(&lifecycle_file().to_string());
    assert!(
        LocalAwsConfig::load(unchanged.path()).is_ok(),
        "the copy itself loads"
    );

    let cases = [
        (
            r#"{"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": ""},"#.to_owned(),
            "not well-formed",
        ),
        (
            r#"{"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 0}}]}"#
                .to_owned(),
            "rule 1: \"a\": 'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive \
             integer, not 0",
        ),
        (
            r#"{"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitation": 1}}]}"#
                .to_owned(),
            "unknown field `DaysAfterInitation`",
        ),
        (
            r#"{"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}},
                "Expiration": {"Days": 1}}]}"#
                .to_owned(),
            "rule 1: \"a\": Filter: Tag is not implemented by the S3 stand-in",
        ),
        (
            r#"{"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": ""},
                "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]}"#
                .to_owned(),
            "rule 1: \"a\": transitions are not implemented by the S3 stand-in",
        ),
    ];
    for (file, expected) in cases {
        let infra = infra_with_lifecycle(&file);
        let error = format!("{:#}", LocalAwsConfig::load(infra.path()).unwrap_err());
        assert!(
            error.contains("bucket-lifecycle.json") && error.contains(expected),
            "{file}\n→ {error}"
        );
    }
}
