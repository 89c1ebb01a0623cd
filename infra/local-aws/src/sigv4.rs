//! SigV4 verification for the awsJson APIs the stand-ins serve to callers with AWS credentials (the user-pool
//! API): which principal signed a request, checked the way AWS checks it.
//!
//! The signature is not recomputed by hand: the request's signed headers, body, date and scope are handed to
//! `aws-sigv4` (the signer the AWS SDKs use) with the caller's secret key, and the result is compared with the
//! presented signature in constant time. Everything around the signature is checked here, in the order AWS
//! answers for it: an `Authorization` header at all (`MissingAuthenticationTokenException`), a complete one
//! (`IncompleteSignatureException`), a credential scope for this region, service and date and a request time
//! within 15 minutes (`InvalidSignatureException`), a known access key with its session token
//! (`UnrecognizedClientException`, `ExpiredTokenException`), then the signature (`InvalidSignatureException`).
//!
//! Only header signatures are accepted (awsJson clients never presign), and the date must be in `X-Amz-Date`
//! (AWS also accepts a `Date` header; no AWS SDK sends one).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SessionTokenMode, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, Uri, header};
use subtle::ConstantTimeEq as _;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::credentials::{CredentialStore, CredentialsError, SessionCredentials};

/// The only algorithm accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's time may be from the server's, either way (AWS: 15 minutes).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The session token header.
const SECURITY_TOKEN: &str = "x-amz-security-token";
/// The request time header.
const AMZ_DATE: &str = "x-amz-date";

/// Why a request's signature was refused, as the awsJson error it is answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SigV4Error {
    /// No `Authorization` header at all.
    #[error("Missing Authentication Token")]
    Missing,
    /// An `Authorization` header that is not a complete SigV4 one, or no request time.
    #[error("{0}")]
    Incomplete(String),
    /// A wrong scope, a time too far off, or a signature that does not match.
    #[error("{0}")]
    InvalidSignature(String),
    /// An access key nobody issued, or a session key without its own session token.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// A session whose credentials have expired.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
}

impl SigV4Error {
    /// The exception type (`__type`) AWS answers with.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            SigV4Error::Missing => "MissingAuthenticationTokenException",
            SigV4Error::Incomplete(_) => "IncompleteSignatureException",
            SigV4Error::InvalidSignature(_) => "InvalidSignatureException",
            SigV4Error::UnrecognizedClient => "UnrecognizedClientException",
            SigV4Error::ExpiredToken => "ExpiredTokenException",
        }
    }
}

/// The message AWS gives for a signature that does not match.
pub(crate) const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
     Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// A request as received, for verification.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceivedRequest<'a> {
    pub method: &'a str,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Where a request must be scoped to: the endpoint's region and the service's signing name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization {
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
}

/// Verifies the request's SigV4 signature and returns the credentials (and so the principal) that made it.
pub(crate) fn verify(
    request: ReceivedRequest<'_>,
    scope: Scope<'_>,
    credentials: &CredentialStore,
    now: SystemTime,
) -> Result<SessionCredentials, SigV4Error> {
    let header_value = request
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(SigV4Error::Missing)?
        .to_str()
        .map_err(|_| incomplete_header(""))?;
    let date_header = request
        .headers
        .get(AMZ_DATE)
        .and_then(|value| value.to_str().ok());
    let authorization = parse_authorization(header_value, date_header.is_some())?;
    let date_text = date_header.unwrap_or_default();
    let signed_at = parse_amz_date(date_text).ok_or_else(|| {
        SigV4Error::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{date_text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    let access_key_id = check_scope(&authorization.credential, scope, date_text)?;
    check_time(signed_at, date_text, now)?;

    let token = request
        .headers
        .get(SECURITY_TOKEN)
        .and_then(|value| value.to_str().ok());
    let session = credentials
        .check(access_key_id, token)
        .map_err(|error| match error {
            CredentialsError::Expired => SigV4Error::ExpiredToken,
            CredentialsError::UnknownAccessKey | CredentialsError::InvalidToken => {
                SigV4Error::UnrecognizedClient
            }
        })?;

    let expected = expected_signature(request, &authorization, scope, &session, signed_at)
        .ok_or_else(|| SigV4Error::InvalidSignature(SIGNATURE_MISMATCH.to_owned()))?;
    let matches: bool = expected
        .as_bytes()
        .ct_eq(authorization.signature.as_bytes())
        .into();
    if matches {
        Ok(session)
    } else {
        Err(SigV4Error::InvalidSignature(SIGNATURE_MISMATCH.to_owned()))
    }
}

/// AWS's answer to an `Authorization` header that lacks SigV4 parts (a Bearer token, say).
fn incomplete_header(value: &str) -> SigV4Error {
    SigV4Error::Incomplete(format!(
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' \
         parameter. Authorization header requires 'SignedHeaders' parameter. Authorization={value}"
    ))
}

fn parse_authorization(value: &str, has_date: bool) -> Result<Authorization, SigV4Error> {
    let Some(parameters) = value
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
    else {
        let algorithm = value.split_whitespace().next().unwrap_or_default();
        return Err(incomplete_header(algorithm));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in parameters.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v.split(';').map(str::to_owned).collect::<Vec<_>>());
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v.to_owned());
        }
    }
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if !has_date {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) if missing.is_empty() => {
            Ok(Authorization {
                credential,
                signed_headers,
                signature,
            })
        }
        _ => Err(SigV4Error::Incomplete(format!(
            "{} Authorization={ALGORITHM}",
            missing.join(" ")
        ))),
    }
}

/// `20260101T120000Z`.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = PrimitiveDateTime::parse(text, format).ok()?;
    Some(parsed.assume_utc().into())
}

/// Checks `<access key>/<yyyymmdd>/<region>/<service>/aws4_request` against the endpoint and the request
/// date; returns the access key id.
fn check_scope<'c>(
    credential: &'c str,
    scope: Scope<'_>,
    date_text: &str,
) -> Result<&'c str, SigV4Error> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(SigV4Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
             got '{credential}'"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(SigV4Error::InvalidSignature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    let request_day = date_text.get(..8).unwrap_or_default();
    if *date != request_day {
        return Err(SigV4Error::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '{date}' != '{request_day}', from '{date_text}'."
        )));
    }
    if *region != scope.region {
        return Err(SigV4Error::InvalidSignature(format!(
            "Credential should be scoped to a valid region, not '{region}'."
        )));
    }
    if *service != scope.service {
        return Err(SigV4Error::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{}'.",
            scope.service
        )));
    }
    Ok(access_key_id)
}

/// Refuses a request signed more than 15 minutes before or after now, with AWS's wording.
fn check_time(signed_at: SystemTime, date_text: &str, now: SystemTime) -> Result<(), SigV4Error> {
    let stamp = |t: SystemTime| {
        let format = format_description!("[year][month][day]T[hour][minute][second]Z");
        OffsetDateTime::from(t).format(format).unwrap_or_default()
    };
    if signed_at + MAX_SKEW < now {
        return Err(SigV4Error::InvalidSignature(format!(
            "Signature expired: {date_text} is now earlier than {} ({} - 15 min.)",
            stamp(now - MAX_SKEW),
            stamp(now)
        )));
    }
    if signed_at > now + MAX_SKEW {
        return Err(SigV4Error::InvalidSignature(format!(
            "Signature not yet current: {date_text} is still later than {} ({} + 15 min.)",
            stamp(now + MAX_SKEW),
            stamp(now)
        )));
    }
    Ok(())
}

/// The signature `aws-sigv4` computes for the request's signed headers, body and time with the session's
/// secret; `None` when a signed header is missing or the request cannot be signed at all.
fn expected_signature(
    request: ReceivedRequest<'_>,
    authorization: &Authorization,
    scope: Scope<'_>,
    session: &SessionCredentials,
    signed_at: SystemTime,
) -> Option<String> {
    // Exactly the headers the client says it signed; the signer adds `x-amz-date` and the session token
    // itself, with the values that were signed.
    let mut headers = Vec::with_capacity(authorization.signed_headers.len());
    for name in &authorization.signed_headers {
        if name == AMZ_DATE || name == SECURITY_TOKEN {
            continue;
        }
        let mut values = request.headers.get_all(name.as_str()).iter();
        let first = values.next()?.to_str().ok()?;
        if values.next().is_some() {
            // Repeated headers are signed joined with commas; no awsJson client sends any.
            return None;
        }
        headers.push((name.as_str(), first));
    }
    let host = request.headers.get(header::HOST)?.to_str().ok()?;
    let path_and_query = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("http://{host}{path_and_query}");
    let signed_token = authorization
        .signed_headers
        .iter()
        .any(|name| name == SECURITY_TOKEN);
    let token = (!session.session_token.is_empty()).then(|| session.session_token.clone());
    let identity = Credentials::new(
        &session.access_key_id,
        &session.secret_access_key,
        token,
        None,
        "local-aws",
    )
    .into();
    let mut settings = SigningSettings::default();
    // Sign whatever the client listed (some clients sign `user-agent`); only the header that carries the
    // signature itself stays out.
    settings.excluded_headers = Some(vec![header::AUTHORIZATION.as_str().into()]);
    settings.session_token_mode = if signed_token {
        SessionTokenMode::Include
    } else {
        SessionTokenMode::Exclude
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(
        request.method,
        url,
        headers.into_iter(),
        SignableBody::Bytes(request.body),
    )
    .ok()?;
    let output = sign(signable, &params).ok()?;
    Some(output.signature().to_owned())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const REGION: &str = "eu-west-1";
    const KEY: &str = "AKIATESTKEY000000001";
    const SECRET: &str = "test-secret-key";
    const SCOPE: Scope<'static> = Scope {
        region: REGION,
        service: "cognito-idp",
    };

    fn store() -> CredentialStore {
        let store = CredentialStore::default();
        store.register_long_term(KEY, SECRET, "arn:aws:iam::000000000000:user/test");
        store
    }

    /// A request signed by `aws-sigv4` as the AWS SDK signs an awsJson call.
    fn signed(
        key: &str,
        secret: &str,
        token: Option<&str>,
        region: &str,
        at: SystemTime,
        body: &[u8],
    ) -> HeaderMap {
        let identity = Credentials::new(key, secret, token.map(str::to_owned), None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("cognito-idp")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            (
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListIdentityProviders",
            ),
            ("host", "127.0.0.1:9229"),
        ];
        let signable = SignableRequest::new(
            "POST",
            "http://127.0.0.1:9229/",
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(name, HeaderValue::from_static(value));
        }
        for (name, value) in instructions.headers() {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn check(
        headers: &HeaderMap,
        body: &[u8],
        store: &CredentialStore,
        now: SystemTime,
    ) -> Result<SessionCredentials, SigV4Error> {
        let uri: Uri = "/".parse().unwrap();
        verify(
            ReceivedRequest {
                method: "POST",
                uri: &uri,
                headers,
                body,
            },
            SCOPE,
            store,
            now,
        )
    }

    #[test]
    fn a_request_signed_with_the_key_is_accepted_and_names_its_principal() {
        let now = SystemTime::now();
        let body = br#"{"UserPoolId":"eu-west-1_x"}"#;
        let headers = signed(KEY, SECRET, None, REGION, now, body);
        let session = check(&headers, body, &store(), now).unwrap();
        assert_eq!(session.role_arn, "arn:aws:iam::000000000000:user/test");
    }

    #[test]
    fn a_changed_body_or_a_wrong_secret_does_not_match() {
        let now = SystemTime::now();
        let headers = signed(KEY, SECRET, None, REGION, now, b"{}");
        assert_eq!(
            check(&headers, b"{\"a\":1}", &store(), now),
            Err(SigV4Error::InvalidSignature(SIGNATURE_MISMATCH.into()))
        );
        let headers = signed(KEY, "guessed", None, REGION, now, b"{}");
        assert_eq!(
            check(&headers, b"{}", &store(), now).unwrap_err().kind(),
            "InvalidSignatureException"
        );
    }

    #[test]
    fn an_unknown_key_and_a_missing_header_have_their_own_errors() {
        let now = SystemTime::now();
        let headers = signed("AKIANOBODY0000000000", SECRET, None, REGION, now, b"{}");
        assert_eq!(
            check(&headers, b"{}", &store(), now),
            Err(SigV4Error::UnrecognizedClient)
        );
        assert_eq!(
            check(&HeaderMap::new(), b"{}", &store(), now),
            Err(SigV4Error::Missing)
        );
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(
            check(&bearer, b"{}", &store(), now).unwrap_err().kind(),
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn another_region_and_an_old_signature_are_refused_with_awss_words() {
        let now = SystemTime::now();
        let headers = signed(KEY, SECRET, None, "us-east-1", now, b"{}");
        assert_eq!(
            check(&headers, b"{}", &store(), now),
            Err(SigV4Error::InvalidSignature(
                "Credential should be scoped to a valid region, not 'us-east-1'.".into()
            ))
        );
        let then = now - Duration::from_secs(16 * 60);
        let headers = signed(KEY, SECRET, None, REGION, then, b"{}");
        let error = check(&headers, b"{}", &store(), now).unwrap_err();
        assert!(
            error.to_string().starts_with("Signature expired: "),
            "{error}"
        );
    }

    #[test]
    fn a_session_key_needs_its_token_and_stops_at_expiry() {
        let now = SystemTime::now();
        let store = store();
        let session = store.issue(
            "arn:aws:iam::000000000000:role/uploads",
            Default::default(),
            "eu-west-1:1",
            Duration::from_secs(60),
        );
        let with_token = signed(
            &session.access_key_id,
            &session.secret_access_key,
            Some(&session.session_token),
            REGION,
            now,
            b"{}",
        );
        assert!(check(&with_token, b"{}", &store, now).is_ok());
        let without = signed(
            &session.access_key_id,
            &session.secret_access_key,
            None,
            REGION,
            now,
            b"{}",
        );
        assert_eq!(
            check(&without, b"{}", &store, now),
            Err(SigV4Error::UnrecognizedClient)
        );
        store.expire(&session.access_key_id);
        assert_eq!(
            check(&with_token, b"{}", &store, now),
            Err(SigV4Error::ExpiredToken)
        );
    }
}
