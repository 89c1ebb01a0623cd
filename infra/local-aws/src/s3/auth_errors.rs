//! S3's detailed answers to a request whose time or signature is wrong, which `s3s` refuses with bare codes:
//!
//! - A presigned URL valid for more than seven days is refused before anything else, 400
//!   `AuthorizationQueryParametersError` `X-Amz-Expires must be less than a week (in seconds) that is; 604800`
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>: `X-Amz-Expires` is at
//!   least 1 and at most 604,800 seconds).
//! - An expired presigned URL is 403 `AccessDenied` `Request has expired`, with `X-Amz-Expires` (as sent),
//!   `Expires` and `ServerTime`.
//! - A request signed in headers more than 15 minutes away from the server's clock is 403
//!   `RequestTimeTooSkewed` `The difference between the request time and the current time is too large.`, with
//!   `RequestTime` (the request's date as sent), `ServerTime` and `MaxAllowedSkewMilliseconds` 900000
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html>, "the request
//!   timestamp must be within 15 minutes of the AWS server's time";
//!   <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>, `RequestTimeTooSkewed`).
//! - A signature that does not match is 403 `SignatureDoesNotMatch` `The request signature we calculated does
//!   not match the signature you provided. Check your key and signing method.`, with `AWSAccessKeyId`,
//!   `StringToSign`, `SignatureProvided`, `StringToSignBytes`, `CanonicalRequest` and `CanonicalRequestBytes`
//!   (the bytes as two-digit lower-case hex separated by spaces), as S3 answers it (its error list names the
//!   code: <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>; the elements are those of
//!   S3's answers quoted in minio/minio issues 2696 and 2986 and s3tools/s3cmd issue 1053). `s3s` verifies
//!   the signature and says only that it does not match; [`signature_mismatch`] rebuilds the canonical
//!   request and string to sign from the request as received (SigV4's rules:
//!   <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>), which is what the
//!   client signed when it signed what it sent.
//!
//! The time checks run before the credentials are looked up; `s3s` would refuse the same requests, with
//! the same codes but none of the elements. Times are S3's: `ServerTime` and `Expires` as
//! `2026-01-31T12:00:00Z`.

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::s3::error::XmlError;

/// The longest validity of a presigned URL: seven days.
pub(crate) const MAX_PRESIGNED_EXPIRES_SECONDS: i64 = 604_800;
/// How far a request's time may be from the server's: 15 minutes.
pub(crate) const MAX_SKEW_MILLISECONDS: i64 = 900_000;

/// SigV4's `URI-encode`: everything but the unreserved characters.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A time as S3 writes it in error elements.
fn s3_time(at: OffsetDateTime) -> String {
    let at = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

/// `20260131T120000Z`.
fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(value, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// The query string's parameters, percent-decoded.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Whether the request is signed in its query string (a presigned URL).
fn is_presigned(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(name, _)| name == "X-Amz-Signature" || name == "X-Amz-Credential")
}

/// The time checks S3 makes before it looks at the credentials: a presigned URL's validity (at most seven
/// days, not over) and a header-signed request's clock skew. A request without a readable date is left to
/// `s3s`, which refuses it.
pub(crate) fn check_time(
    headers: &HeaderMap,
    uri: &Uri,
    now: OffsetDateTime,
) -> Result<(), XmlError> {
    let query = query_pairs(uri);
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if is_presigned(&query) {
        let Some(expires) = value("X-Amz-Expires") else {
            return Ok(());
        };
        let Ok(seconds) = expires.parse::<i64>() else {
            return Ok(());
        };
        if seconds > MAX_PRESIGNED_EXPIRES_SECONDS {
            return Err(XmlError::new(
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is; {MAX_PRESIGNED_EXPIRES_SECONDS}"
                ),
            ));
        }
        let Some(signed) = value("X-Amz-Date").and_then(parse_amz_date) else {
            return Ok(());
        };
        let expiry = signed + time::Duration::seconds(seconds);
        if now > expiry {
            return Err(XmlError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Request has expired",
            )
            .with("X-Amz-Expires", expires)
            .with("Expires", s3_time(expiry))
            .with("ServerTime", s3_time(now)));
        }
        return Ok(());
    }
    if !headers.contains_key(header::AUTHORIZATION) {
        return Ok(());
    }
    // SigV4 takes the request's time from `x-amz-date`, or from `Date` when that is absent.
    let (sent, at) = if let Some(sent) = headers.get("x-amz-date").and_then(|v| v.to_str().ok()) {
        (sent, parse_amz_date(sent))
    } else if let Some(sent) = headers.get(header::DATE).and_then(|v| v.to_str().ok()) {
        (sent, httpdate_parse(sent).or_else(|| parse_amz_date(sent)))
    } else {
        return Ok(());
    };
    let Some(at) = at else {
        return Ok(());
    };
    if (now - at).abs() > time::Duration::milliseconds(MAX_SKEW_MILLISECONDS) {
        return Err(XmlError::new(
            StatusCode::FORBIDDEN,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
        .with("RequestTime", sent)
        .with("ServerTime", s3_time(now))
        .with(
            "MaxAllowedSkewMilliseconds",
            MAX_SKEW_MILLISECONDS.to_string(),
        ));
    }
    Ok(())
}

/// An HTTP date (`Tue, 24 Apr 2018 13:15:18 GMT`).
fn httpdate_parse(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// What `s3s` needs of a request to describe a signature mismatch, kept before the request is handed over.
#[derive(Debug, Clone)]
pub(crate) struct SignedRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl SignedRequest {
    pub(crate) fn new(method: &Method, uri: &Uri, headers: &HeaderMap) -> SignedRequest {
        SignedRequest {
            method: method.clone(),
            uri: uri.clone(),
            headers: headers.clone(),
        }
    }
}

/// What a SigV4 signature covers, as read from the request.
struct SigningParameters {
    access_key_id: String,
    scope: String,
    amz_date: String,
    signed_headers: Vec<String>,
    signature: String,
    presigned: bool,
}

fn signing_parameters(request: &SignedRequest) -> Option<SigningParameters> {
    let query = query_pairs(&request.uri);
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let (credential, signed_headers, signature, amz_date, presigned) = if is_presigned(&query) {
        (
            value("X-Amz-Credential")?,
            value("X-Amz-SignedHeaders")?,
            value("X-Amz-Signature")?,
            value("X-Amz-Date")?,
            true,
        )
    } else {
        let authorization = request
            .headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("AWS4-HMAC-SHA256")?;
        let parameter = |name: &str| {
            authorization
                .split(',')
                .map(str::trim)
                .find_map(|part| part.strip_prefix(name))
                .map(str::to_owned)
        };
        let amz_date = request
            .headers
            .get("x-amz-date")
            .or_else(|| request.headers.get(header::DATE))
            .and_then(|v| v.to_str().ok())?
            .to_owned();
        (
            parameter("Credential=")?,
            parameter("SignedHeaders=")?,
            parameter("Signature=")?,
            amz_date,
            false,
        )
    };
    let (access_key_id, scope) = credential.split_once('/')?;
    Some(SigningParameters {
        access_key_id: access_key_id.to_owned(),
        scope: scope.to_owned(),
        amz_date,
        signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
        signature,
        presigned,
    })
}

/// The canonical request of SigV4 for S3: the path as sent (S3 does not encode it a second time), the
/// query sorted and strictly encoded (without `X-Amz-Signature` for a presigned URL), the signed headers
/// with their values trimmed and inner spaces collapsed, and the payload hash (`x-amz-content-sha256`, or
/// `UNSIGNED-PAYLOAD` for a presigned URL that does not name one).
fn canonical_request(request: &SignedRequest, parameters: &SigningParameters) -> String {
    let mut query: Vec<(String, String)> = query_pairs(&request.uri)
        .into_iter()
        .filter(|(name, _)| !(parameters.presigned && name == "X-Amz-Signature"))
        .map(|(name, value)| {
            (
                utf8_percent_encode(&name, STRICT).to_string(),
                utf8_percent_encode(&value, STRICT).to_string(),
            )
        })
        .collect();
    query.sort();
    let query: Vec<String> = query
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let mut headers = String::new();
    for name in &parameters.signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = request
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            query_pairs(&request.uri)
                .into_iter()
                .find(|(name, _)| name == "X-Amz-Content-Sha256")
                .map(|(_, value)| value)
        })
        .unwrap_or_else(|| "UNSIGNED-PAYLOAD".to_owned());
    let path = match request.uri.path() {
        "" => "/",
        path => path,
    };
    format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        query.join("&"),
        parameters.signed_headers.join(";"),
    )
}

/// `41 57 53 34`: each byte as two lower-case hex digits, separated by spaces.
fn spaced_hex(text: &str) -> String {
    text.bytes()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// S3's `SignatureDoesNotMatch` for `request`, with the canonical request and string to sign the server
/// computed, or the bare error when the request's signature cannot be read.
pub(crate) fn signature_mismatch(request: &SignedRequest) -> XmlError {
    let error = XmlError::new(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key \
         and signing method.",
    );
    let Some(parameters) = signing_parameters(request) else {
        return error;
    };
    let canonical = canonical_request(request, &parameters);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        parameters.amz_date,
        parameters.scope,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    error
        .with("AWSAccessKeyId", parameters.access_key_id.as_str())
        .with("StringToSign", string_to_sign.as_str())
        .with("SignatureProvided", parameters.signature.as_str())
        .with("StringToSignBytes", spaced_hex(&string_to_sign))
        .with("CanonicalRequest", canonical.as_str())
        .with("CanonicalRequestBytes", spaced_hex(&canonical))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    #[test]
    fn a_presigned_url_longer_than_a_week_is_refused_before_its_time_is_read() {
        let uri: Uri = "/b/k?X-Amz-Credential=AKIA%2F20260101%2Feu-west-1%2Fs3%2Faws4_request\
                        &X-Amz-Date=20260101T000000Z&X-Amz-Expires=604801&X-Amz-Signature=00"
            .parse()
            .unwrap();
        let error = check_time(&HeaderMap::new(), &uri, at("2026-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(
            (error.status, error.code, error.message.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds) that is; 604800"
            )
        );
        let week = uri.to_string().replace("604801", "604800");
        assert!(
            check_time(
                &HeaderMap::new(),
                &week.parse().unwrap(),
                at("2026-01-01T00:00:00Z")
            )
            .is_ok()
        );
    }

    #[test]
    fn an_expired_presigned_url_says_when_it_expired_and_what_time_it_is() {
        let uri: Uri = "/b/k?X-Amz-Credential=AKIA%2F20260101%2Feu-west-1%2Fs3%2Faws4_request\
                        &X-Amz-Date=20260101T120000Z&X-Amz-Expires=300&X-Amz-Signature=00"
            .parse()
            .unwrap();
        assert!(check_time(&HeaderMap::new(), &uri, at("2026-01-01T12:05:00Z")).is_ok());
        let error = check_time(&HeaderMap::new(), &uri, at("2026-01-01T12:05:01.5Z")).unwrap_err();
        assert_eq!(
            (error.status, error.code, error.message.as_str()),
            (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
        );
        assert_eq!(
            error.details,
            vec![
                ("X-Amz-Expires", "300".to_owned()),
                ("Expires", "2026-01-01T12:05:00Z".to_owned()),
                ("ServerTime", "2026-01-01T12:05:01Z".to_owned()),
            ]
        );
    }

    #[test]
    fn a_header_signed_request_more_than_fifteen_minutes_off_is_too_skewed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=x"),
        );
        headers.insert("x-amz-date", HeaderValue::from_static("20260101T120000Z"));
        let uri: Uri = "/b/k".parse().unwrap();
        assert!(check_time(&headers, &uri, at("2026-01-01T12:15:00Z")).is_ok());
        assert!(check_time(&headers, &uri, at("2026-01-01T11:45:00Z")).is_ok());
        let error = check_time(&headers, &uri, at("2026-01-01T12:15:01Z")).unwrap_err();
        assert_eq!(
            (error.status, error.code),
            (StatusCode::FORBIDDEN, "RequestTimeTooSkewed")
        );
        assert_eq!(
            error.details,
            vec![
                ("RequestTime", "20260101T120000Z".to_owned()),
                ("ServerTime", "2026-01-01T12:15:01Z".to_owned()),
                ("MaxAllowedSkewMilliseconds", "900000".to_owned()),
            ]
        );
        headers.remove("x-amz-date");
        headers.insert(
            header::DATE,
            HeaderValue::from_static("Thu, 01 Jan 2026 12:00:00 GMT"),
        );
        let error = check_time(&headers, &uri, at("2026-01-01T11:44:59Z")).unwrap_err();
        assert_eq!(
            error.details[0],
            ("RequestTime", "Thu, 01 Jan 2026 12:00:00 GMT".to_owned())
        );
    }

    #[test]
    fn a_signature_mismatch_shows_the_canonical_request_and_string_to_sign() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/eu-west-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc123",
            ),
        );
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9234"));
        headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        headers.insert("x-amz-date", HeaderValue::from_static("20260101T120000Z"));
        let uri: Uri = "/b/a%20b.txt?x-id=GetObject&a=%2F".parse().unwrap();
        let error = signature_mismatch(&SignedRequest::new(&Method::GET, &uri, &headers));
        let detail = |name: &str| {
            error
                .details
                .iter()
                .find(|(element, _)| *element == name)
                .map(|(_, value)| value.clone())
                .unwrap()
        };
        let canonical = "GET\n/b/a%20b.txt\na=%2F&x-id=GetObject\nhost:127.0.0.1:9234\n\
                         x-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20260101T120000Z\n\n\
                         host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD";
        assert_eq!(detail("CanonicalRequest"), canonical);
        assert_eq!(
            detail("StringToSign"),
            format!(
                "AWS4-HMAC-SHA256\n20260101T120000Z\n20260101/eu-west-1/s3/aws4_request\n{}",
                hex(&Sha256::digest(canonical.as_bytes()))
            )
        );
        assert!(detail("StringToSignBytes").starts_with("41 57 53 34 2d 48 4d 41 43"));
        assert!(detail("CanonicalRequestBytes").starts_with("47 45 54 0a 2f"));
        assert_eq!(detail("AWSAccessKeyId"), "AKIAEXAMPLE");
        assert_eq!(detail("SignatureProvided"), "abc123");
        assert_eq!(
            error
                .details
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>(),
            [
                "AWSAccessKeyId",
                "StringToSign",
                "SignatureProvided",
                "StringToSignBytes",
                "CanonicalRequest",
                "CanonicalRequestBytes"
            ]
        );
    }
}
