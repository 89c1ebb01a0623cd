//! SigV4 signatures for the browser's S3 requests, with the `aws-sigv4` crate the AWS SDK itself uses.
//!
//! Requests are signed in headers with `x-amz-content-sha256: UNSIGNED-PAYLOAD`, as the SDK does for
//! streamed bodies: hashing a 5 GB file in wasm before sending it would double the work for nothing, since
//! TLS already protects the body in transit. The session token is part of the signature. Only `host` and the
//! `x-amz-*` headers are signed, so the headers the browser adds by itself (`Origin`, `Content-Type`…) cannot
//! break the signature.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use shared::api::StorageCredentials;

use super::object::{object_url, with_query};

/// The URL and the signing headers of the S3 request `method` on `key` with the `query` pairs, signed with
/// `credentials` at `now_ms`: exactly what the app sends (its own headers, such as `Content-Type`, are added
/// to these and are not signed).
pub fn signed_request(
    credentials: &StorageCredentials,
    method: &str,
    key: &str,
    query: &[(&str, &str)],
    now_ms: f64,
) -> Result<(String, Vec<(String, String)>), String> {
    let url = object_url(credentials, key);
    let url = if query.is_empty() {
        url
    } else {
        with_query(&url, query)
    };
    let headers = signed_headers(credentials, method, &url, now_ms)?;
    Ok((url, headers))
}

/// The headers that sign `method url` with `credentials` at `now_ms` (milliseconds since the epoch), to add
/// to the request as they are. `url` must already be encoded (see `object::object_url`).
pub fn signed_headers(
    credentials: &StorageCredentials,
    method: &str,
    url: &str,
    now_ms: f64,
) -> Result<Vec<(String, String)>, String> {
    let identity = Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        Some(credentials.session_token.clone()),
        None,
        "storage-credentials",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    // S3 signs the path as sent, encoded once and never normalised.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    // The browser has no clock `SystemTime::now()` can read on wasm32; the caller passes `Date.now()`.
    let time = SystemTime::UNIX_EPOCH + Duration::from_millis(now_ms.max(0.0) as u64);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&credentials.region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|error| error.to_string())?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|error| error.to_string())?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|error| error.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> StorageCredentials {
        StorageCredentials {
            access_key_id: "ASIAEXAMPLE00000001".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: "session-token".into(),
            expiration: "2026-11-22T12:00:00Z".into(),
            region: "eu-west-1".into(),
            bucket: "uploads".into(),
            prefix: "t/u/uploads/".into(),
            endpoint: Some("http://127.0.0.1:9234".into()),
        }
    }

    /// 2026-11-22T11:00:00Z.
    const NOW_MS: f64 = 1_795_345_200_000.0;

    fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
        headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    }

    #[test]
    fn a_request_is_signed_for_s3_in_the_credentials_region_with_the_session_token() {
        let url = "http://127.0.0.1:9234/uploads/t/u/uploads/f/a%20b.txt";
        let headers = signed_headers(&credentials(), "PUT", url, NOW_MS).unwrap();
        let authorization = header(&headers, "authorization");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE00000001/20261122/eu-west-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        assert_eq!(header(&headers, "x-amz-date"), "20261122T110000Z");
        assert_eq!(header(&headers, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
        assert_eq!(header(&headers, "x-amz-security-token"), "session-token");
    }

    #[test]
    fn the_signature_covers_method_path_query_and_time() {
        let url = "http://127.0.0.1:9234/uploads/t/u/uploads/f/a.txt";
        let signature = |method: &str, url: &str, now: f64| {
            let headers = signed_headers(&credentials(), method, url, now).unwrap();
            header(&headers, "authorization").to_owned()
        };
        let base = signature("PUT", url, NOW_MS);
        assert_eq!(
            base,
            signature("PUT", url, NOW_MS),
            "signing is deterministic"
        );
        assert_ne!(base, signature("GET", url, NOW_MS));
        assert_ne!(base, signature("PUT", &format!("{url}x"), NOW_MS));
        assert_ne!(base, signature("PUT", &format!("{url}?uploads"), NOW_MS));
        assert_ne!(base, signature("PUT", url, NOW_MS + 1000.0));
    }
}
