//! Authentication: which session a request presents, checked against the identity pool's sessions before
//! `s3s` verifies the signature with that session's secret.
//!
//! [`presented`] reads the SigV4 credential scope (the `Authorization` header or the presigned
//! `X-Amz-Credential` query parameter) and the session token (`x-amz-security-token` or
//! `X-Amz-Security-Token`); the caller checks them with [`CredentialStore::check`]. `s3s` asks
//! [`SessionAuth`] for the secret of the access key it parsed itself: the secret is handed out only for the
//! session checked for this very request (a task-local value set around the `s3s` call), so a key whose
//! token was not checked has no secret and the request fails with `InvalidAccessKeyId`.
//!
//! [`CredentialStore::check`]: crate::credentials::CredentialStore::check

use std::future::Future;

use axum::http::{HeaderMap, StatusCode, Uri, header};
use percent_encoding::percent_decode_str;
use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};

use crate::credentials::{CredentialsError, SessionCredentials};
use crate::s3::error::XmlError;

/// The SigV4 algorithm, the only one accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

tokio::task_local! {
    /// The session whose token and expiry were checked for the request being served.
    static CHECKED_SESSION: SessionCredentials;
}

/// The checked session, in the request's extensions for the authorization step.
#[derive(Clone)]
pub(crate) struct PresentedSession(pub(crate) SessionCredentials);

/// Runs `future` (the `s3s` call) with `session` as the request's checked session.
pub(crate) async fn with_session<F: Future>(session: SessionCredentials, future: F) -> F::Output {
    CHECKED_SESSION.scope(session, future).await
}

/// The secret keys `s3s` verifies signatures with: only the checked session's.
pub(crate) struct SessionAuth;

#[async_trait::async_trait]
impl S3Auth for SessionAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        CHECKED_SESSION
            .try_with(|session| {
                (session.access_key_id == access_key)
                    .then(|| SecretKey::from(session.secret_access_key.as_str()))
            })
            .ok()
            .flatten()
            .ok_or_else(|| {
                s3s::s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            })
    }
}

/// What a request presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No SigV4 credential scope: anonymous (or malformed, which `s3s` refuses).
    Anonymous,
    /// The access key of a SigV4 credential scope for the right region and service, and the session token.
    Session {
        access_key_id: String,
        session_token: Option<String>,
    },
}

/// Reads the credential scope and session token of a request; refuses other signature versions, both
/// signature kinds at once, and a scope for another region or service.
pub(crate) fn presented(
    headers: &HeaderMap,
    uri: &Uri,
    region: &str,
) -> Result<Presented, XmlError> {
    let query = query_pairs(uri.query().unwrap_or_default());
    let query_value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let has_query = |name: &str| query.iter().any(|(key, _)| key == name);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    let query_v4 = has_query("X-Amz-Algorithm")
        || has_query("X-Amz-Credential")
        || has_query("X-Amz-Signature");
    let query_v2 = has_query("AWSAccessKeyId") || has_query("Signature");

    if authorization.is_some() && (query_v4 || query_v2) {
        return Err(XmlError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query \
             string parameter or the Authorization header should be specified",
        )
        .with("ArgumentName", "Authorization"));
    }
    if query_v2 || authorization.is_some_and(|value| value.starts_with("AWS ")) {
        return Err(XmlError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        ));
    }
    let header_token = headers
        .get("x-amz-security-token")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let query_token = query_value("X-Amz-Security-Token");

    let (scope, session_token, in_query) = if query_v4 {
        (
            query_value("X-Amz-Credential"),
            query_token.or(header_token),
            true,
        )
    } else if let Some(authorization) = authorization {
        (
            header_credential(authorization),
            header_token.or(query_token),
            false,
        )
    } else {
        return Ok(Presented::Anonymous);
    };
    let Some(scope) = scope.as_deref().and_then(CredentialScope::parse) else {
        return Ok(Presented::Anonymous);
    };
    scope.check(region, in_query)?;
    Ok(Presented::Session {
        access_key_id: scope.access_key_id.to_owned(),
        session_token,
    })
}

/// The `Credential=` value of a SigV4 `Authorization` header.
fn header_credential(authorization: &str) -> Option<String> {
    let parameters = authorization.strip_prefix(ALGORITHM)?.trim_start();
    parameters
        .split(',')
        .map(str::trim)
        .find_map(|parameter| parameter.strip_prefix("Credential="))
        .map(str::to_owned)
}

/// `<access key>/<yyyymmdd>/<region>/<service>/aws4_request`.
struct CredentialScope<'a> {
    access_key_id: &'a str,
    region: &'a str,
    service: &'a str,
}

impl<'a> CredentialScope<'a> {
    fn parse(scope: &'a str) -> Option<CredentialScope<'a>> {
        let mut parts = scope.split('/');
        let access_key_id = parts.next().filter(|key| !key.is_empty())?;
        let _date = parts.next()?;
        let region = parts.next()?;
        let service = parts.next()?;
        (parts.next() == Some("aws4_request") && parts.next().is_none()).then_some(
            CredentialScope {
                access_key_id,
                region,
                service,
            },
        )
    }

    /// S3's answers to a scope for another region or service.
    fn check(&self, region: &str, in_query: bool) -> Result<(), XmlError> {
        let (code, problem) = if in_query {
            (
                "AuthorizationQueryParametersError",
                "Error parsing the X-Amz-Credential parameter;",
            )
        } else {
            (
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed;",
            )
        };
        if self.region != region {
            return Err(XmlError::new(
                StatusCode::BAD_REQUEST,
                code,
                format!(
                    "{problem} the region '{}' is wrong; expecting '{region}'",
                    self.region
                ),
            )
            .with("Region", region));
        }
        if self.service != "s3" {
            return Err(XmlError::new(
                StatusCode::BAD_REQUEST,
                code,
                format!(
                    "{problem} incorrect service \"{}\". This endpoint belongs to \"s3\".",
                    self.service
                ),
            ));
        }
        Ok(())
    }
}

/// The query string's parameters, percent-decoded the way SigV4 encodes them (`+` is a plus sign).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// S3's answer to credentials the identity pool did not issue, or no longer honours, presented with
/// `session_token`.
///
/// - An unknown access key is 403 `InvalidAccessKeyId` naming the key
///   (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>).
/// - A session's `ASIA…` key sent without its token is the same: S3 knows temporary keys only together with
///   their token, and answers `The AWS Access Key Id you provided does not exist in our records.` (reported
///   from S3 for exactly that mistake in prolane/samltoawsstskeys issue 40 and awslabs/aws-sdk-swift issue
///   513).
/// - Another session's token, a changed one, or a token with a long-term key is 400 `InvalidToken`.
/// - An expired session is 400 `ExpiredToken` `The provided token has expired.`, naming the token it was
///   given as `Token-0` (as S3's answer quoted in craftcms/aws-s3 issue 182 does).
pub(crate) fn credentials_error(
    error: CredentialsError,
    access_key_id: &str,
    session_token: Option<&str>,
) -> XmlError {
    match (error, session_token) {
        (CredentialsError::UnknownAccessKey, _) | (CredentialsError::InvalidToken, None) => {
            XmlError::new(
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                CredentialsError::UnknownAccessKey.to_string(),
            )
            .with("AWSAccessKeyId", access_key_id)
        }
        (CredentialsError::InvalidToken, Some(_)) => {
            XmlError::new(StatusCode::BAD_REQUEST, "InvalidToken", error.to_string())
        }
        (CredentialsError::Expired, token) => {
            let expired = XmlError::new(StatusCode::BAD_REQUEST, "ExpiredToken", error.to_string());
            match token {
                Some(token) => expired.with("Token-0", token),
                None => expired,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const REGION: &str = "eu-west-1";

    fn header_auth(scope: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=00"
            ))
            .unwrap(),
        );
        headers
    }

    #[test]
    fn header_credentials_and_token_are_read() {
        let mut headers = header_auth("ASIAEXAMPLE/20260101/eu-west-1/s3/aws4_request");
        headers.insert("x-amz-security-token", HeaderValue::from_static("tok+en/="));
        let uri: Uri = "/bucket/key".parse().unwrap();
        assert_eq!(
            presented(&headers, &uri, REGION),
            Ok(Presented::Session {
                access_key_id: "ASIAEXAMPLE".into(),
                session_token: Some("tok+en/=".into())
            })
        );
        let headers = header_auth("ASIAEXAMPLE/20260101/eu-west-1/s3/aws4_request");
        assert_eq!(
            presented(&headers, &uri, REGION),
            Ok(Presented::Session {
                access_key_id: "ASIAEXAMPLE".into(),
                session_token: None
            })
        );
    }

    #[test]
    fn presigned_credentials_and_token_are_read_from_the_query() {
        let uri: Uri = "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20260101%2F\
                        eu-west-1%2Fs3%2Faws4_request&X-Amz-Security-Token=tok%2Ben%2F%3D&X-Amz-Signature=00"
            .parse()
            .unwrap();
        assert_eq!(
            presented(&HeaderMap::new(), &uri, REGION),
            Ok(Presented::Session {
                access_key_id: "ASIAEXAMPLE".into(),
                session_token: Some("tok+en/=".into())
            })
        );
    }

    #[test]
    fn a_request_without_credentials_is_anonymous() {
        let uri: Uri = "/bucket/key".parse().unwrap();
        assert_eq!(
            presented(&HeaderMap::new(), &uri, REGION),
            Ok(Presented::Anonymous)
        );
    }

    #[test]
    fn another_region_or_service_is_refused_as_s3_does() {
        let uri: Uri = "/bucket/key".parse().unwrap();
        let headers = header_auth("ASIAEXAMPLE/20260101/us-east-1/s3/aws4_request");
        let error = presented(&headers, &uri, REGION).unwrap_err();
        assert_eq!(error.code, "AuthorizationHeaderMalformed");
        assert!(
            error
                .message
                .contains("'us-east-1' is wrong; expecting 'eu-west-1'")
        );
        let headers = header_auth("ASIAEXAMPLE/20260101/eu-west-1/sts/aws4_request");
        assert_eq!(
            presented(&headers, &uri, REGION).unwrap_err().code,
            "AuthorizationHeaderMalformed"
        );
        let uri: Uri =
            "/bucket/key?X-Amz-Credential=ASIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
                        &X-Amz-Signature=00"
                .parse()
                .unwrap();
        assert_eq!(
            presented(&HeaderMap::new(), &uri, REGION).unwrap_err().code,
            "AuthorizationQueryParametersError"
        );
    }

    #[test]
    fn signature_version_2_and_two_mechanisms_at_once_are_refused() {
        let uri: Uri = "/bucket/key".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("AWS AKIAEXAMPLE:c2lnbmF0dXJl"),
        );
        assert_eq!(
            presented(&headers, &uri, REGION).unwrap_err().code,
            "InvalidRequest"
        );
        let uri: Uri = "/bucket/key?AWSAccessKeyId=AKIAEXAMPLE&Signature=x&Expires=1"
            .parse()
            .unwrap();
        assert_eq!(
            presented(&HeaderMap::new(), &uri, REGION).unwrap_err().code,
            "InvalidRequest"
        );
        let headers = header_auth("ASIAEXAMPLE/20260101/eu-west-1/s3/aws4_request");
        let uri: Uri = "/bucket/key?X-Amz-Signature=00".parse().unwrap();
        assert_eq!(
            presented(&headers, &uri, REGION).unwrap_err().code,
            "InvalidArgument"
        );
    }

    #[test]
    fn credential_errors_have_the_codes_and_statuses_s3_answers_with() {
        let unknown = credentials_error(CredentialsError::UnknownAccessKey, "ASIAX", Some("t"));
        assert_eq!(
            (unknown.status, unknown.code),
            (StatusCode::FORBIDDEN, "InvalidAccessKeyId")
        );
        assert_eq!(
            unknown.details,
            vec![("AWSAccessKeyId", "ASIAX".to_owned())]
        );
        let token = credentials_error(CredentialsError::InvalidToken, "ASIAX", Some("t"));
        assert_eq!(
            (token.status, token.code),
            (StatusCode::BAD_REQUEST, "InvalidToken")
        );
        let expired = credentials_error(CredentialsError::Expired, "ASIAX", Some("t"));
        assert_eq!(
            (expired.status, expired.code),
            (StatusCode::BAD_REQUEST, "ExpiredToken")
        );
        assert_eq!(expired.details, vec![("Token-0", "t".to_owned())]);
    }

    #[test]
    fn a_session_key_without_its_token_is_an_unknown_key_as_s3_answers() {
        let missing = credentials_error(CredentialsError::InvalidToken, "ASIAX", None);
        assert_eq!(
            (missing.status, missing.code, missing.message.as_str()),
            (
                StatusCode::FORBIDDEN,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records."
            )
        );
        assert_eq!(
            missing.details,
            vec![("AWSAccessKeyId", "ASIAX".to_owned())]
        );
    }

    #[tokio::test]
    async fn the_secret_is_handed_out_only_for_the_checked_session() {
        let store = crate::credentials::CredentialStore::default();
        let session = store.issue(
            "arn:aws:iam::000000000000:role/uploads",
            Default::default(),
            "eu-west-1:1",
            crate::credentials::SESSION_DURATION,
        );
        let key = session.access_key_id.clone();
        let secret = session.secret_access_key.clone();
        assert!(
            SessionAuth.get_secret_key(&key).await.is_err(),
            "no session checked"
        );
        let found = with_session(session, async {
            (
                SessionAuth
                    .get_secret_key(&key)
                    .await
                    .ok()
                    .map(|s| s.expose().to_owned()),
                SessionAuth.get_secret_key("ASIAOTHER").await.is_err(),
            )
        })
        .await;
        assert_eq!(found, (Some(secret), true));
    }
}
