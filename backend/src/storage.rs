//! The upload storage through the AWS SDK: the Cognito identity pool that vends browser credentials, the S3
//! upload bucket browsers write into, and the files bucket the backend copies recorded files into (and
//! presigns downloads from). The same code talks to the local stand-ins or
//! to AWS; only the endpoints and credentials in [`StorageConfig`] differ.
//!
//! The backend never carries file bytes: browsers upload with the vended credentials and download through
//! presigned URLs. Every SDK call has short timeouts, so a storage outage is a quick 503, not a hung request.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_cognitoidentity::error::ProvideErrorMetadata as _;
use aws_sdk_s3::config::ProvideCredentials as _;
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;

use crate::config::{Config, StorageConfig};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The identity pool refused the sign-in's ID token (expired, or not the pool's): sign in again.
    #[error("the identity pool refused the ID token: {0}")]
    Refused(String),
    /// The identity pool or S3 could not be reached or failed.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// A copy's source is not there (any more).
    #[error("the object to copy is not there")]
    Missing,
    /// A copy's source is not the object that was checked: it was overwritten in between.
    #[error("the object to copy changed after it was checked")]
    Changed,
}

/// The two buckets the backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Where browsers upload, under `<tenant>/<user>/uploads/`; a lifecycle rule expires what stays there.
    Uploads,
    /// Where recorded files are kept, under `<tenant>/<file id>`; only the backend can write here.
    Files,
}

/// Temporary credentials of the upload role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendedCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When they expire.
    pub expiration: SystemTime,
}

/// What S3 says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The size in bytes.
    pub size: i64,
    /// The content type it was uploaded with.
    pub content_type: String,
    /// Its ETag, as S3 quotes it.
    pub etag: String,
}

/// The identity pool and S3 clients.
#[derive(Debug, Clone)]
pub struct Storage {
    config: StorageConfig,
    /// The `Logins` key of the user pool: `cognito-idp.<region>.amazonaws.com/<userPoolId>`.
    provider_name: String,
    identity: aws_sdk_cognitoidentity::Client,
    s3: aws_sdk_s3::Client,
    /// The credentials download links are signed with (see [`LinkCredentials`]).
    link_credentials: Arc<LinkCredentials>,
}

/// The credentials presigned links are signed with.
///
/// A presigned URL signed with temporary credentials stops working when they expire, whatever its own
/// expiry (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html>, "Expiration time
/// for presigned URLs": "If you created a presigned URL using a temporary credential, the URL expires when
/// the credential expires"). On AWS the backend signs with its ECS task role's temporary credentials, and the
/// SDK's credentials cache keeps them until a few seconds before they expire, so a link signed late in
/// their life would die long before its own expiry. Links are therefore signed with credentials read here:
/// kept while they outlive the link, read again from the provider (which, for a task role, hands out the
/// next credentials well before the old ones expire) when they do not, and if even those expire first, the
/// link's validity is cut to their remaining lifetime, so that a link never claims a validity it cannot
/// have. Static keys (the local stand-in's) never expire and are read once.
#[derive(Debug)]
struct LinkCredentials {
    provider: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl LinkCredentials {
    fn new(provider: SharedCredentialsProvider) -> LinkCredentials {
        LinkCredentials {
            provider,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// Credentials to sign a link valid for `ttl` from `now`, and the validity the link can have with them.
    async fn for_link(
        &self,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<(Credentials, Duration), StorageError> {
        let mut cached = self.cached.lock().await;
        let credentials = match cached.as_ref() {
            Some(credentials) if link_validity(ttl, credentials.expiry(), now) == Some(ttl) => {
                credentials.clone()
            }
            _ => {
                let fresh = self
                    .provider
                    .provide_credentials()
                    .await
                    .map_err(|err| StorageError::Unavailable(describe(&err)))?;
                *cached = Some(fresh.clone());
                fresh
            }
        };
        let validity = link_validity(ttl, credentials.expiry(), now).ok_or_else(|| {
            StorageError::Unavailable("the backend's credentials have expired".into())
        })?;
        Ok((credentials, validity))
    }
}

/// How long a link asked to last `ttl` from `now` can last with credentials expiring at `expiry`: `ttl`, or
/// less when they expire first (whole seconds, as `X-Amz-Expires` counts), or `None` when less than a second
/// is left.
fn link_validity(ttl: Duration, expiry: Option<SystemTime>, now: SystemTime) -> Option<Duration> {
    let Some(expiry) = expiry else {
        return Some(ttl);
    };
    let left = Duration::from_secs(expiry.duration_since(now).ok()?.as_secs());
    let validity = ttl.min(left);
    (validity >= Duration::from_secs(1)).then_some(validity)
}

impl Storage {
    /// The clients for `config`. Nothing is contacted here.
    pub async fn new(config: &Config) -> anyhow::Result<Storage> {
        let storage = config.storage.clone();
        let user_pool_id = config
            .user_pool_id()
            .ok_or_else(|| anyhow::anyhow!("COGNITO_ISSUER has no user pool id in its path"))?;
        // The user pool's region is the prefix of its id (`eu-west-1_AbC`).
        let pool_region = user_pool_id
            .split_once('_')
            .map_or(storage.region.as_str(), |(region, _)| region);
        let provider_name = format!("cognito-idp.{pool_region}.amazonaws.com/{user_pool_id}");
        let timeouts = crate::aws::timeouts();
        let region = Region::new(storage.region.clone());

        // `GetId` and `GetCredentialsForIdentity` are unsigned: the identity pool client needs no credentials.
        let mut identity = aws_sdk_cognitoidentity::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.clone())
            .timeout_config(timeouts.clone());
        if let Some(endpoint) = &storage.identity_pool_endpoint {
            identity = identity.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }

        let credentials = crate::aws::credentials(config, &region).await;
        let mut s3 = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials.clone())
            .timeout_config(timeouts);
        if let Some(endpoint) = &storage.s3_endpoint {
            s3 = s3
                .endpoint_url(endpoint.as_str().trim_end_matches('/'))
                .force_path_style(true);
        }
        Ok(Storage {
            config: storage,
            provider_name,
            identity: aws_sdk_cognitoidentity::Client::from_conf(identity.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            link_credentials: Arc::new(LinkCredentials::new(credentials)),
        })
    }

    /// The storage settings.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// Exchanges a user pool ID token for credentials of the upload role (`GetId`, then
    /// `GetCredentialsForIdentity`).
    pub async fn vend(&self, id_token: &str) -> Result<VendedCredentials, StorageError> {
        let id = self
            .identity
            .get_id()
            .identity_pool_id(&self.config.identity_pool_id)
            .logins(&self.provider_name, id_token)
            .send()
            .await
            .map_err(|err| identity_error(&err))?;
        let identity_id = id
            .identity_id()
            .ok_or_else(|| StorageError::Unavailable("GetId returned no identity id".into()))?;
        let output = self
            .identity
            .get_credentials_for_identity()
            .identity_id(identity_id)
            .logins(&self.provider_name, id_token)
            .send()
            .await
            .map_err(|err| identity_error(&err))?;
        let credentials = output.credentials().ok_or_else(|| {
            StorageError::Unavailable("GetCredentialsForIdentity returned no credentials".into())
        })?;
        let expiration = credentials
            .expiration()
            .and_then(|at| SystemTime::try_from(*at).ok())
            .ok_or_else(|| StorageError::Unavailable("the credentials have no expiry".into()))?;
        match (
            credentials.access_key_id(),
            credentials.secret_key(),
            credentials.session_token(),
        ) {
            (Some(access_key_id), Some(secret), Some(token)) => Ok(VendedCredentials {
                access_key_id: access_key_id.to_owned(),
                secret_access_key: secret.to_owned(),
                session_token: token.to_owned(),
                expiration,
            }),
            _ => Err(StorageError::Unavailable(
                "the identity pool returned incomplete credentials".into(),
            )),
        }
    }

    /// The name of `bucket`.
    fn name(&self, bucket: Bucket) -> &str {
        match bucket {
            Bucket::Uploads => &self.config.bucket,
            Bucket::Files => &self.config.files_bucket,
        }
    }

    /// The object's size, type and ETag, or `None` when there is no such object.
    pub async fn head(
        &self,
        bucket: Bucket,
        key: &str,
    ) -> Result<Option<ObjectInfo>, StorageError> {
        match self
            .s3
            .head_object()
            .bucket(self.name(bucket))
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(ObjectInfo {
                size: head.content_length().unwrap_or_default(),
                content_type: head
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned(),
                etag: head.e_tag().unwrap_or_default().to_owned(),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(StorageError::Unavailable(describe(&err))),
        }
    }

    /// Copies the upload `upload_key` into the files bucket as `file_key`, only if it still has `etag` (the
    /// ETag seen when it was checked), so that the bytes kept are exactly those checked. Returns the copy's
    /// ETag.
    pub async fn copy_upload(
        &self,
        upload_key: &str,
        etag: &str,
        file_key: &str,
    ) -> Result<String, StorageError> {
        let source = format!(
            "{}/{}",
            self.config.bucket,
            percent_encoding::utf8_percent_encode(upload_key, COPY_SOURCE)
        );
        match self
            .s3
            .copy_object()
            .bucket(&self.config.files_bucket)
            .key(file_key)
            .copy_source(source)
            .copy_source_if_match(etag)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .copy_object_result()
                .and_then(|result| result.e_tag())
                .unwrap_or(etag)
                .to_owned()),
            Err(err) => match err.code() {
                Some("PreconditionFailed") => Err(StorageError::Changed),
                Some("NoSuchKey") => Err(StorageError::Missing),
                _ => Err(StorageError::Unavailable(describe(&err))),
            },
        }
    }

    /// The bytes of the objects under `prefix` in the upload bucket (uploads not recorded yet, which the
    /// lifecycle rule removes after a day).
    pub async fn pending_bytes(&self, prefix: &str) -> Result<i64, StorageError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.config.bucket)
            .prefix(prefix)
            // Members write their own keys with their upload credentials, so a key may hold characters XML
            // cannot carry (U+FFFE, control characters); encoded, every key lists, and the quota check
            // cannot be broken by one.
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .into_paginator()
            .send();
        let mut total: i64 = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| StorageError::Unavailable(describe(&err)))?;
            for object in page.contents() {
                total = total.saturating_add(object.size().unwrap_or_default());
            }
        }
        Ok(total)
    }

    /// A presigned GET of the recorded file `key`, valid for `ttl` (less if the backend's credentials expire
    /// sooner, see `LinkCredentials`), that downloads as `file_name`; and how long it is valid.
    pub async fn presigned_get(
        &self,
        key: &str,
        file_name: &str,
        ttl: Duration,
    ) -> Result<(String, Duration), StorageError> {
        let now = SystemTime::now();
        let (credentials, validity) = self.link_credentials.for_link(ttl, now).await?;
        let presigning = PresigningConfig::builder()
            .start_time(now)
            .expires_in(validity)
            .build()
            .map_err(|err| StorageError::Unavailable(err.to_string()))?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.config.files_bucket)
            .key(key)
            .response_content_disposition(content_disposition(file_name))
            .customize()
            .config_override(aws_sdk_s3::config::Builder::new().credentials_provider(credentials))
            .presigned(presigning)
            .await
            .map_err(|err| StorageError::Unavailable(describe(&err)))?;
        Ok((request.uri().to_owned(), validity))
    }

    /// Every object under `prefix` in `bucket`: its key, size and ETag.
    pub async fn list(
        &self,
        bucket: Bucket,
        prefix: &str,
    ) -> Result<Vec<StoredObject>, StorageError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(self.name(bucket))
            .prefix(prefix)
            // Keys members wrote may hold characters XML cannot carry; encoded, every key lists.
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| StorageError::Unavailable(describe(&err)))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(decode_listed_key) else {
                    return Err(StorageError::Unavailable(format!(
                        "S3 listed a key that does not decode: {:?}",
                        object.key()
                    )));
                };
                objects.push(StoredObject {
                    key,
                    size: object.size().unwrap_or_default(),
                    etag: object.e_tag().unwrap_or_default().to_owned(),
                });
            }
        }
        Ok(objects)
    }

    /// Deletes every object under `prefix` in `bucket`; returns how many there were. Safe to run again: what a
    /// run cut short left is deleted by the next.
    pub async fn delete_all(&self, bucket: Bucket, prefix: &str) -> Result<usize, StorageError> {
        let objects = self.list(bucket, prefix).await?;
        for object in &objects {
            self.delete(bucket, &object.key).await?;
        }
        Ok(objects.len())
    }

    /// Deletes `key` from `bucket` (S3 answers success for a key that is already gone).
    pub async fn delete(&self, bucket: Bucket, key: &str) -> Result<(), StorageError> {
        self.s3
            .delete_object()
            .bucket(self.name(bucket))
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| StorageError::Unavailable(describe(&err)))
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The key.
    pub key: String,
    /// Its size in bytes.
    pub size: i64,
    /// Its ETag, as S3 gives it (quoted).
    pub etag: String,
}

/// A key of a listing made with `encoding-type=url`: S3 writes a space as `+` and every other byte outside
/// RFC 3986's unreserved characters and `/` as `%XX`.
fn decode_listed_key(listed: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&listed.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// An identity pool failure: a refused token is the caller's problem (sign in again), anything else is an
/// outage.
fn identity_error<
    E: aws_sdk_cognitoidentity::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    err: &aws_sdk_cognitoidentity::error::SdkError<E, R>,
) -> StorageError {
    match err.code() {
        Some("NotAuthorizedException") => {
            StorageError::Refused(err.message().unwrap_or("not authorized").to_owned())
        }
        _ => StorageError::Unavailable(describe(err)),
    }
}

/// A one-line description of an SDK error for the logs (never sent to clients).
fn describe<E: std::fmt::Debug>(err: &E) -> String {
    let text = format!("{err:?}");
    text.chars().take(500).collect()
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): the ASCII fallback drops quotes, backslashes
/// and control characters; the UTF-8 form is percent-encoded.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(file_name, RFC5987).to_string();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// `x-amz-copy-source` is `<bucket>/<key>` with the key URL-encoded; its slashes may stay.
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Everything but RFC 5987's `attr-char` is percent-encoded.
const RFC5987: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::provider::future::ProvideCredentials as ProvideFuture;

    use super::*;

    /// A provider handing out the credentials of `expiries` in turn (the last one again and again), each
    /// expiring that long after `now`, and counting the calls.
    #[derive(Debug)]
    struct Rotating {
        now: SystemTime,
        expiries: Vec<Option<Duration>>,
        calls: Arc<AtomicUsize>,
    }

    impl aws_sdk_s3::config::ProvideCredentials for Rotating {
        fn provide_credentials<'a>(&'a self) -> ProvideFuture<'a>
        where
            Self: 'a,
        {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = self.expiries[call.min(self.expiries.len() - 1)];
            ProvideFuture::ready(Ok(Credentials::new(
                format!("ASIAEXAMPLE{call}"),
                "secret",
                Some("token".to_owned()),
                expiry.map(|left| self.now + left),
                "test",
            )))
        }
    }

    fn link_credentials(
        now: SystemTime,
        expiries: Vec<Option<Duration>>,
    ) -> (LinkCredentials, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = Rotating {
            now,
            expiries,
            calls: calls.clone(),
        };
        (
            LinkCredentials::new(SharedCredentialsProvider::new(provider)),
            calls,
        )
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_link_lasts_no_longer_than_the_credentials_it_is_signed_with() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(link_validity(5 * MINUTE, None, now), Some(5 * MINUTE));
        assert_eq!(
            link_validity(5 * MINUTE, Some(now + 60 * MINUTE), now),
            Some(5 * MINUTE)
        );
        assert_eq!(
            link_validity(5 * MINUTE, Some(now + Duration::from_millis(90_500)), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            link_validity(5 * MINUTE, Some(now + Duration::from_millis(900)), now),
            None
        );
        assert_eq!(link_validity(5 * MINUTE, Some(now - MINUTE), now), None);
    }

    #[tokio::test]
    async fn credentials_that_would_die_before_the_link_are_read_again_and_otherwise_kept() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // The first credentials expire in a minute; the provider then has the next ones, good for an hour.
        let (links, calls) = link_credentials(now, vec![Some(MINUTE), Some(60 * MINUTE)]);
        let (first, validity) = links.for_link(5 * MINUTE, now).await.unwrap();
        assert_eq!(first.access_key_id(), "ASIAEXAMPLE0");
        assert_eq!(
            validity, MINUTE,
            "the first credentials outlive the link by no more than a minute"
        );
        let (second, validity) = links.for_link(5 * MINUTE, now).await.unwrap();
        assert_eq!(
            second.access_key_id(),
            "ASIAEXAMPLE1",
            "read again: the cached ones die first"
        );
        assert_eq!(validity, 5 * MINUTE);
        let (third, _) = links.for_link(5 * MINUTE, now + 10 * MINUTE).await.unwrap();
        assert_eq!(
            third.access_key_id(),
            "ASIAEXAMPLE1",
            "kept while they outlive the link"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Credentials the provider cannot renew yet shorten the link instead.
        let (links, _) = link_credentials(now, vec![Some(2 * MINUTE)]);
        let (_, validity) = links.for_link(5 * MINUTE, now).await.unwrap();
        assert_eq!(validity, 2 * MINUTE);
        let expired = links.for_link(5 * MINUTE, now + 3 * MINUTE).await;
        assert!(matches!(expired, Err(StorageError::Unavailable(_))));

        // A static key has no expiry and is read once.
        let (links, calls) = link_credentials(now, vec![None]);
        for _ in 0..3 {
            assert_eq!(links.for_link(5 * MINUTE, now).await.unwrap().1, 5 * MINUTE);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_presigned_link_is_signed_for_what_the_credentials_allow() {
        let now = SystemTime::now();
        let (links, _) = link_credentials(now, vec![Some(2 * MINUTE + Duration::from_secs(30))]);
        let mut config = crate::config::Config::local_defaults();
        config.storage.s3_endpoint = Some("http://127.0.0.1:9".parse().unwrap());
        let mut storage = Storage::new(&config).await.unwrap();
        storage.link_credentials = Arc::new(links);
        let (url, validity) = storage
            .presigned_get("acme/file", "a.pdf", 5 * MINUTE)
            .await
            .unwrap();
        assert!(
            validity <= 2 * MINUTE + Duration::from_secs(30),
            "{validity:?}"
        );
        let url = url::Url::parse(&url).unwrap();
        let query = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let expires: u64 = query("X-Amz-Expires").unwrap().parse().unwrap();
        assert!((149..=150).contains(&expires), "{expires}");
        assert!(
            query("X-Amz-Credential")
                .unwrap()
                .starts_with("ASIAEXAMPLE0/")
        );
        assert_eq!(query("X-Amz-Security-Token").as_deref(), Some("token"));
    }

    #[test]
    fn download_names_survive_quotes_and_unicode() {
        assert_eq!(
            content_disposition("Q3 report.pdf"),
            "attachment; filename=\"Q3 report.pdf\"; filename*=UTF-8''Q3%20report.pdf"
        );
        assert_eq!(
            content_disposition("a\"b\\c\r\n.txt"),
            "attachment; filename=\"a_b_c__.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0A.txt"
        );
        assert_eq!(
            content_disposition("résumé.pdf"),
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
    }

    #[test]
    fn listed_keys_decode_as_s3_encodes_them() {
        assert_eq!(
            decode_listed_key("acme/u/uploads/a%2Bb+c.txt").as_deref(),
            Some("acme/u/uploads/a+b c.txt")
        );
        assert_eq!(
            decode_listed_key("acme/100%25.csv").as_deref(),
            Some("acme/100%.csv")
        );
        assert_eq!(decode_listed_key("%ED%95%9C").as_deref(), Some("한"));
        assert_eq!(decode_listed_key("%FF"), None);
    }
}
