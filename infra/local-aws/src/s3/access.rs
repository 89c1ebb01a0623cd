//! Authorization: each request is decided by the upload role's permission policy, the way S3 decides a
//! request made with the role's session credentials.
//!
//! The operations the app uses, and the action each needs (S3 API reference, "Actions, resources, and
//! condition keys for Amazon S3"): `PutObject`, `CreateMultipartUpload`, `UploadPart`,
//! `CompleteMultipartUpload` → `s3:PutObject`; `CopyObject` → `s3:PutObject` on the destination and
//! `s3:GetObject` on the source (`x-amz-copy-source`), both required; `GetObject`, `HeadObject` → `s3:GetObject`; `DeleteObject` →
//! `s3:DeleteObject`; `AbortMultipartUpload` → `s3:AbortMultipartUpload`; `ListParts` →
//! `s3:ListMultipartUploadParts`, all on `arn:aws:s3:::<bucket>/<key>`; `ListObjectsV2` (and the older
//! `ListObjects`) → `s3:ListBucket` on `arn:aws:s3:::<bucket>`, with `s3:prefix`, `s3:delimiter` and
//! `s3:max-keys` in the context when the request has them (no `prefix` parameter, no `s3:prefix` key);
//! `GetBucketLifecycleConfiguration` → `s3:GetLifecycleConfiguration` on `arn:aws:s3:::<bucket>`. Every other
//! operation is refused, as are anonymous requests: `PutBucketLifecycleConfiguration` and
//! `DeleteBucketLifecycle` among them, since the bucket's lifecycle rules come from the deployment's file.
//!
//! The context holds what S3 puts there for a web-identity role session: `aws:PrincipalTag/<key>` for each
//! session tag, `aws:PrincipalArn` (the role), `aws:PrincipalAccount`, `aws:PrincipalType`
//! (`AssumedRole`), `aws:SecureTransport` (`false`: the stand-in speaks plain HTTP), `aws:CurrentTime`,
//! `aws:EpochTime`, and the identity pool's `cognito-identity.amazonaws.com:sub` (the identity id) and
//! `:aud` (the pool id).
//!
//! Object operations are decided in [`S3Access::check`], before the request's input is even parsed, from
//! the key `s3s` hands the store. Bucket operations are decided in their own hooks, after `s3s` has parsed
//! the request, so that a listing's policy sees the very `prefix` the store will list.
//!
//! A read of a key that holds no object (`GetObject`, `HeadObject`, the source of `CopyObject`) answers
//! `404 NoSuchKey` only to a caller who may also list the bucket; anyone else gets `403 AccessDenied`, so that
//! a caller who may not list cannot learn which keys exist
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>, "Permissions"). The check decides
//! `s3:ListBucket` on `arn:aws:s3:::<bucket>` with the requested key as `s3:prefix` (and no `s3:delimiter` or
//! `s3:max-keys`), so that a listing grant conditioned on a prefix counts for the keys under that prefix. AWS
//! documents the rule but not its request context; the key as `s3:prefix` is what Ceph's S3 gateway adopted
//! "to match aws behavior" (ceph/ceph pull request 68577, tracker issue 74398) and what kopia's maintainers
//! observed against S3 with a prefix-conditioned `s3:ListBucket` (kopia/kopia pull request 3072). The
//! decision is taken with the access check and handed to the store in the request's extensions
//! ([`MissingKey`]), which answers with it only when the key turns out to hold nothing.

use std::time::SystemTime;

use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::{
    CopyObjectInput, CopySource, GetBucketLifecycleConfigurationInput, ListObjectsInput,
    ListObjectsV2Input,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Result};

use crate::credentials::SessionCredentials;
use crate::iam::{Context, Outcome, PolicySet, Request};
use crate::s3::auth::PresentedSession;
use crate::s3::{Authorization, S3Settings};

/// The session name Cognito gives the role sessions of identity pool credentials.
const SESSION_NAME: &str = "CognitoIdentityCredentials";

/// What an operation acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// An object: `arn:aws:s3:::<bucket>/<key>`, decided in `check`.
    Object,
    /// The bucket: `arn:aws:s3:::<bucket>`, decided in the operation's own hook.
    Bucket,
}

/// The action an implemented operation needs, or `None` for an operation the stand-in refuses.
fn action_for(operation: &str) -> Option<(&'static str, Target)> {
    Some(match operation {
        "PutObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "CompleteMultipartUpload"
        | "CopyObject" => ("s3:PutObject", Target::Object),
        "GetObject" | "HeadObject" => ("s3:GetObject", Target::Object),
        "DeleteObject" => ("s3:DeleteObject", Target::Object),
        "AbortMultipartUpload" => ("s3:AbortMultipartUpload", Target::Object),
        "ListParts" => ("s3:ListMultipartUploadParts", Target::Object),
        "ListObjectsV2" | "ListObjects" => ("s3:ListBucket", Target::Bucket),
        "GetBucketLifecycleConfiguration" => ("s3:GetLifecycleConfiguration", Target::Bucket),
        _ => return None,
    })
}

/// What a read answers when its key holds no object, decided by the access check (see the module
/// documentation) and read by the store from the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingKey {
    /// The caller may list the key's prefix: `404 NoSuchKey`.
    NoSuchKey,
    /// The caller may not: `403 AccessDenied`, as for an object it may not read.
    AccessDenied,
}

impl MissingKey {
    /// The answer a request's extensions carry; without one (a request the access check did not see), the
    /// refusal, so that existence is never revealed by mistake.
    pub(crate) fn of(extensions: &axum::http::Extensions) -> MissingKey {
        extensions
            .get::<MissingKey>()
            .copied()
            .unwrap_or(MissingKey::AccessDenied)
    }
}

/// The access control `s3s` calls for every authenticated request: the role's permission policy.
pub(crate) struct PolicyAccess {
    /// The permission policy of each principal (the upload role, the backend's user), by ARN.
    permissions: Vec<(String, PolicySet)>,
    identity_pool_id: String,
    authorization: Authorization,
}

impl PolicyAccess {
    pub(crate) fn new(settings: &S3Settings, authorization: Authorization) -> PolicyAccess {
        PolicyAccess {
            permissions: settings.permissions.clone(),
            identity_pool_id: settings.identity_pool_id.clone(),
            authorization,
        }
    }

    /// Decides `action` on `resource` for `session`, with `extra` context keys.
    fn authorize(
        &self,
        session: &SessionCredentials,
        action: &str,
        resource: String,
        extra: impl FnOnce(&mut Context),
    ) -> S3Result<()> {
        if self.authorization == Authorization::BenchmarkOnlyDisabled {
            return Ok(());
        }
        let mut request = Request::new(action, resource);
        request.context = session_context(session, &self.identity_pool_id, SystemTime::now());
        extra(&mut request.context);
        // A principal without a policy of its own is allowed nothing (implicit deny).
        let empty = PolicySet::new();
        let permissions = self
            .permissions
            .iter()
            .find(|(arn, _)| *arn == session.role_arn)
            .map_or(&empty, |(_, policy)| policy);
        let decision = permissions.evaluate(&request);
        if decision.is_allowed() {
            tracing::debug!(action, resource = %request.resource, %decision, "S3 stand-in allowed a request");
            return Ok(());
        }
        tracing::debug!(action, resource = %request.resource, %decision, "S3 stand-in denied a request");
        Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            denial_message(session, action, &request.resource, decision.outcome),
        ))
    }

    /// What a read of `key` in `bucket` answers if the key holds no object: whether `session` may list the
    /// bucket with the key as `s3:prefix` (see the module documentation).
    fn missing_key(&self, session: &SessionCredentials, bucket: &str, key: &str) -> MissingKey {
        let listed = self.authorize(session, "s3:ListBucket", bucket_arn(bucket), |context| {
            list_context(context, Some(key), None, None);
        });
        match listed {
            Ok(()) => MissingKey::NoSuchKey,
            Err(_) => MissingKey::AccessDenied,
        }
    }
}

/// The session `s3s` verified the signature of, as checked before the signature.
fn checked_session<'a>(
    extensions: &'a axum::http::Extensions,
    access_key: Option<&str>,
) -> S3Result<&'a SessionCredentials> {
    let session = extensions
        .get::<PresentedSession>()
        .map(|presented| &presented.0);
    match (session, access_key) {
        (Some(session), Some(key)) if session.access_key_id == key => Ok(session),
        _ => Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Access Denied",
        )),
    }
}

#[async_trait::async_trait]
impl S3Access for PolicyAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let access_key = cx.credentials().map(|c| c.access_key.clone());
        let operation = cx.s3_op().name();
        let Some((action, target)) = action_for(operation) else {
            tracing::debug!(
                operation,
                "S3 stand-in refused an operation the app does not use"
            );
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Access Denied",
            ));
        };
        // A read tells a missing key apart only for a caller who may list (see the module documentation).
        let reads = matches!(operation, "GetObject" | "HeadObject");
        let object = cx
            .s3_path()
            .as_object()
            .map(|(bucket, key)| (bucket.to_owned(), key.to_owned()));
        let session = checked_session(cx.extensions_mut(), access_key.as_deref())?.clone();
        match target {
            Target::Object => {
                let Some((bucket, key)) = object else {
                    return Err(S3Error::with_message(
                        S3ErrorCode::AccessDenied,
                        "Access Denied",
                    ));
                };
                self.authorize(&session, action, object_arn(&bucket, &key), |_| {})?;
                if reads {
                    let missing = self.missing_key(&session, &bucket, &key);
                    cx.extensions_mut().insert(missing);
                }
                Ok(())
            }
            // Bucket operations are decided by their own hooks (`list_objects_v2`, `list_objects`,
            // `get_bucket_lifecycle_configuration`), which see the parsed parameters.
            Target::Bucket => Ok(()),
        }
    }

    /// A copy needs `s3:PutObject` on the destination, decided in `check` from the path, and `s3:GetObject` on
    /// the source, decided here from the parsed `x-amz-copy-source`.
    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        let access_key = req.credentials.as_ref().map(|c| c.access_key.as_str());
        let session = checked_session(&req.extensions, access_key)?;
        let CopySource::Bucket { bucket, key, .. } = &req.input.copy_source else {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Access Denied",
            ));
        };
        self.authorize(session, "s3:GetObject", object_arn(bucket, key), |_| {})?;
        // A source that holds nothing is told apart only for a caller who may list its bucket.
        let missing = self.missing_key(session, bucket, key);
        req.extensions.insert(missing);
        Ok(())
    }

    async fn list_objects_v2(&self, req: &mut S3Request<ListObjectsV2Input>) -> S3Result<()> {
        let access_key = req.credentials.as_ref().map(|c| c.access_key.as_str());
        let session = checked_session(&req.extensions, access_key)?;
        let input = &req.input;
        self.authorize(
            session,
            "s3:ListBucket",
            bucket_arn(&input.bucket),
            |context| {
                list_context(
                    context,
                    input.prefix.as_deref(),
                    input.delimiter.as_deref(),
                    input.max_keys,
                );
            },
        )
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: &mut S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<()> {
        let access_key = req.credentials.as_ref().map(|c| c.access_key.as_str());
        let session = checked_session(&req.extensions, access_key)?;
        self.authorize(
            session,
            "s3:GetLifecycleConfiguration",
            bucket_arn(&req.input.bucket),
            |_| {},
        )
    }

    async fn list_objects(&self, req: &mut S3Request<ListObjectsInput>) -> S3Result<()> {
        let access_key = req.credentials.as_ref().map(|c| c.access_key.as_str());
        let session = checked_session(&req.extensions, access_key)?;
        let input = &req.input;
        self.authorize(
            session,
            "s3:ListBucket",
            bucket_arn(&input.bucket),
            |context| {
                list_context(
                    context,
                    input.prefix.as_deref(),
                    input.delimiter.as_deref(),
                    input.max_keys,
                );
            },
        )
    }
}

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The listing's condition keys, only those the request has.
fn list_context(
    context: &mut Context,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max_keys: Option<i32>,
) {
    if let Some(prefix) = prefix {
        context.insert("s3:prefix", prefix);
    }
    if let Some(delimiter) = delimiter {
        context.insert("s3:delimiter", delimiter);
    }
    if let Some(max_keys) = max_keys {
        context.insert("s3:max-keys", max_keys.to_string());
    }
}

/// The request context of a role session from the identity pool.
fn session_context(
    session: &SessionCredentials,
    identity_pool_id: &str,
    now: SystemTime,
) -> Context {
    let mut context = session.request_context(now);
    context.insert(
        "cognito-identity.amazonaws.com:sub",
        session.identity_id.as_str(),
    );
    context.insert("cognito-identity.amazonaws.com:aud", identity_pool_id);
    context
}

/// The account of an IAM ARN (`arn:aws:iam::<account>:role/<name>`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// The assumed-role session ARN S3 names in a denial:
/// `arn:aws:sts::<account>:assumed-role/<role name>/CognitoIdentityCredentials`.
fn session_arn(role_arn: &str) -> String {
    // An IAM user (the backend's long-term key) is named as itself.
    if role_arn.contains(":user/") {
        return role_arn.to_owned();
    }
    let account = account_of(role_arn).unwrap_or_default();
    let role_name = role_arn.rsplit('/').next().unwrap_or_default();
    format!("arn:aws:sts::{account}:assumed-role/{role_name}/{SESSION_NAME}")
}

/// S3's message for a request the caller's own policy denies.
fn denial_message(
    session: &SessionCredentials,
    action: &str,
    resource: &str,
    outcome: Outcome,
) -> String {
    let reason = match outcome {
        Outcome::ExplicitDeny => "with an explicit deny in an identity-based policy".to_owned(),
        Outcome::ImplicitDeny | Outcome::Allowed => {
            format!("because no identity-based policy allows the {action} action")
        }
    };
    format!(
        "User: {} is not authorized to perform: {action} on resource: \"{resource}\" {reason}",
        session_arn(&session.role_arn)
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::credentials::CredentialStore;
    use crate::iam::{ContextValue, Policy};

    fn session() -> SessionCredentials {
        CredentialStore::default().issue(
            "arn:aws:iam::000000000000:role/saas-reference-uploads",
            BTreeMap::from([
                ("tenant_id".to_owned(), "acme".to_owned()),
                ("user_id".to_owned(), "u1".to_owned()),
            ]),
            "eu-west-1:4a3c",
            Duration::from_secs(60),
        )
    }

    fn access(authorization: Authorization) -> PolicyAccess {
        let infra = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let config = crate::config::LocalAwsConfig::load(&infra).unwrap();
        PolicyAccess::new(&config.s3_settings(), authorization)
    }

    #[test]
    fn every_operation_the_app_uses_has_its_action_and_nothing_else_does() {
        let expected = [
            ("PutObject", "s3:PutObject"),
            ("CreateMultipartUpload", "s3:PutObject"),
            ("UploadPart", "s3:PutObject"),
            ("CompleteMultipartUpload", "s3:PutObject"),
            ("GetObject", "s3:GetObject"),
            ("HeadObject", "s3:GetObject"),
            ("DeleteObject", "s3:DeleteObject"),
            ("AbortMultipartUpload", "s3:AbortMultipartUpload"),
            ("ListParts", "s3:ListMultipartUploadParts"),
            ("ListObjectsV2", "s3:ListBucket"),
            (
                "GetBucketLifecycleConfiguration",
                "s3:GetLifecycleConfiguration",
            ),
        ];
        for (operation, action) in expected {
            assert_eq!(
                action_for(operation).map(|(a, _)| a),
                Some(action),
                "{operation}"
            );
        }
        assert_eq!(
            action_for("CopyObject"),
            Some(("s3:PutObject", Target::Object)),
            "the destination's action; the source's s3:GetObject is checked in the copy_object hook"
        );
        for operation in [
            "DeleteObjects",
            "PutBucketPolicy",
            "PutBucketCors",
            "ListBuckets",
            "PostObject",
            "UploadPartCopy",
            "GetObjectAcl",
            "ListMultipartUploads",
            "PutBucketLifecycleConfiguration",
            "DeleteBucketLifecycle",
        ] {
            assert_eq!(action_for(operation), None, "{operation}");
        }
    }

    #[test]
    fn the_context_carries_the_sessions_tags_and_identity() {
        let session = session();
        let context = session_context(&session, "eu-west-1:pool", SystemTime::UNIX_EPOCH);
        let single = |key: &str| match context.get(key) {
            Some(ContextValue::Single(value)) => value.clone(),
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(single("aws:PrincipalTag/tenant_id"), "acme");
        assert_eq!(single("aws:PrincipalTag/user_id"), "u1");
        assert_eq!(single("aws:PrincipalAccount"), "000000000000");
        assert_eq!(single("aws:SecureTransport"), "false");
        assert_eq!(single("aws:CurrentTime"), "1970-01-01T00:00:00Z");
        assert_eq!(single("aws:EpochTime"), "0");
        assert_eq!(
            single("cognito-identity.amazonaws.com:sub"),
            "eu-west-1:4a3c"
        );
        assert_eq!(
            single("cognito-identity.amazonaws.com:aud"),
            "eu-west-1:pool"
        );
    }

    #[test]
    fn the_role_policy_decides_object_requests_on_the_exact_key() {
        let access = access(Authorization::Enforced);
        let session = session();
        let own = object_arn("saas-reference-uploads", "acme/u1/uploads/a.pdf");
        assert!(
            access
                .authorize(&session, "s3:PutObject", own.clone(), |_| {})
                .is_ok()
        );
        for key in [
            "acme/u2/uploads/a.pdf",
            "globex/u1/uploads/a.pdf",
            "a.pdf",
            "acme/u1/a.pdf",
        ] {
            let error = access
                .authorize(
                    &session,
                    "s3:GetObject",
                    object_arn("saas-reference-uploads", key),
                    |_| {},
                )
                .unwrap_err();
            assert_eq!(*error.code(), S3ErrorCode::AccessDenied, "{key}");
            assert_eq!(
                error.message(),
                Some(
                    format!(
                        "User: arn:aws:sts::000000000000:assumed-role/saas-reference-uploads/\
                         CognitoIdentityCredentials is not authorized to perform: s3:GetObject on resource: \
                         \"arn:aws:s3:::saas-reference-uploads/{key}\" because no identity-based policy \
                         allows the s3:GetObject action"
                    )
                    .as_str()
                )
            );
        }
        assert!(
            access
                .authorize(
                    &session,
                    "s3:PutObject",
                    object_arn("other-bucket", "acme/u1/uploads/a"),
                    |_| {}
                )
                .is_err()
        );
    }

    #[test]
    fn listing_needs_a_prefix_inside_the_users_own_uploads() {
        let access = access(Authorization::Enforced);
        let session = session();
        let list = |prefix: Option<&str>| {
            access.authorize(
                &session,
                "s3:ListBucket",
                bucket_arn("saas-reference-uploads"),
                |c| {
                    list_context(c, prefix, Some("/"), Some(1000));
                },
            )
        };
        assert!(list(Some("acme/u1/uploads/")).is_ok());
        assert!(list(Some("acme/u1/uploads/2026/")).is_ok());
        for prefix in [
            None,
            Some(""),
            Some("acme/u1/"),
            Some("acme/u1/uploads"),
            Some("acme/u1/uploads-other/"),
            Some("acme/u2/uploads/"),
            Some("acme2/u1/uploads/"),
        ] {
            assert!(list(prefix).is_err(), "{prefix:?}");
        }
    }

    /// HeadObject and GetObject on a key that holds nothing: 404 only with `s3:ListBucket` on the bucket,
    /// otherwise 403 (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>, "Permissions").
    #[test]
    fn a_missing_key_is_told_only_to_callers_who_may_list_it() {
        let access = access(Authorization::Enforced);
        let alice = session();
        // The upload role's listing grant is conditioned on `s3:prefix`; the key is the prefix of the check.
        assert_eq!(
            access.missing_key(&alice, "saas-reference-uploads", "acme/u1/uploads/gone.pdf"),
            MissingKey::NoSuchKey
        );
        assert_eq!(
            access.missing_key(&alice, "saas-reference-uploads", "acme/u2/uploads/gone.pdf"),
            MissingKey::AccessDenied
        );
        assert_eq!(
            access.missing_key(&alice, "saas-reference-files", "acme/file"),
            MissingKey::AccessDenied
        );

        // The backend lists both of its buckets, so it is told that a key holds nothing in either.
        let infra = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let config = crate::config::LocalAwsConfig::load(&infra).unwrap();
        let backend = CredentialStore::default();
        backend.register_long_term("AKIAEXAMPLE", "secret", &config.backend_user.arn);
        let backend = backend.check("AKIAEXAMPLE", None).unwrap();
        for bucket in [&config.identity_pool.bucket, &config.files_bucket] {
            assert_eq!(
                access.missing_key(&backend, bucket, "acme/u1/uploads/gone.pdf"),
                MissingKey::NoSuchKey,
                "{bucket}"
            );
        }

        // A principal allowed to read objects but not to list is refused, existing key or not.
        let reader = "arn:aws:iam::000000000000:user/reader";
        let only_get = Policy::parse_identity(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*"}]}"#,
        )
        .unwrap();
        let restricted = PolicyAccess {
            permissions: vec![(reader.to_owned(), PolicySet::new().with("get", only_get))],
            identity_pool_id: "eu-west-1:pool".to_owned(),
            authorization: Authorization::Enforced,
        };
        let store = CredentialStore::default();
        store.register_long_term("AKIAREADER", "secret", reader);
        let reader = store.check("AKIAREADER", None).unwrap();
        assert!(
            restricted
                .authorize(&reader, "s3:GetObject", object_arn("b", "k"), |_| {})
                .is_ok()
        );
        assert_eq!(
            restricted.missing_key(&reader, "b", "k"),
            MissingKey::AccessDenied
        );
        assert_eq!(
            MissingKey::of(&axum::http::Extensions::new()),
            MissingKey::AccessDenied,
            "a request the access check did not see reveals nothing"
        );
    }

    #[test]
    fn the_benchmark_setting_skips_only_the_policy() {
        let access = access(Authorization::BenchmarkOnlyDisabled);
        let session = session();
        assert!(
            access
                .authorize(
                    &session,
                    "s3:GetObject",
                    object_arn("saas-reference-uploads", "globex/x"),
                    |_| {}
                )
                .is_ok()
        );
        let mut extensions = axum::http::Extensions::new();
        assert!(checked_session(&extensions, Some(&session.access_key_id)).is_err());
        extensions.insert(PresentedSession(session.clone()));
        assert!(checked_session(&extensions, Some(&session.access_key_id)).is_ok());
        assert!(checked_session(&extensions, Some("ASIAOTHER")).is_err());
        assert!(checked_session(&extensions, None).is_err());
    }

    #[test]
    fn an_explicit_deny_is_named_as_such() {
        let message = denial_message(
            &session(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Outcome::ExplicitDeny,
        );
        assert!(
            message.ends_with("with an explicit deny in an identity-based policy"),
            "{message}"
        );
    }
}
