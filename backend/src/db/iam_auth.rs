//! Amazon RDS IAM database authentication: the short-lived token that stands in for a password.
//!
//! The token is a SigV4-presigned `GET https://<host>:<port>/?Action=connect&DBUser=<user>` for the service
//! `rds-db`, valid for 15 minutes, without its scheme. The trigger Lambda connects to RDS Proxy this way, so it
//! holds no database password at all: its execution role's `rds-db:connect` permission is the credential.
//!
//! Written here with `aws-sigv4` (the signer the AWS SDK itself uses) rather than by depending on the whole
//! `aws-sdk-rds` crate for this one function; the test checks the result against the AWS SDK's own vector.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;

/// How long a token is valid: RDS accepts at most 15 minutes.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// What a token is for.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// The database (or RDS Proxy) endpoint's host name.
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// The database user to log in as.
    pub user: &'a str,
    /// The endpoint's region.
    pub region: &'a str,
}

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
#[error("could not sign the RDS authentication token: {0}")]
pub struct TokenError(String);

/// The authentication token for `request`, signed with `credentials` at `now`.
pub fn rds_auth_token(
    request: &TokenRequest<'_>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<String, TokenError> {
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| TokenError(e.to_string()))?
        .into();
    let user = percent_encoding::utf8_percent_encode(request.user, QUERY_VALUE);
    let url = format!(
        "https://{}:{}/?Action=connect&DBUser={user}",
        request.host, request.port
    );
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| TokenError(e.to_string()))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| TokenError(e.to_string()))?
        .into_parts();
    let mut token = format!(
        "{}:{}/?Action=connect&DBUser={user}",
        request.host, request.port
    );
    for (name, value) in instructions.params() {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.extend(percent_encoding::utf8_percent_encode(value, QUERY_VALUE));
    }
    Ok(token)
}

/// Query values as SigV4 encodes them: everything but the unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn the_token_matches_the_aws_sdks_own_test_vector() {
        // The AWS SDK for Rust's `aws-sdk-rds` signs this request to exactly this token.
        let request = TokenRequest {
            host: "prod-instance.us-east-1.rds.amazonaws.com",
            port: 3306,
            user: "peccy",
            region: "us-east-1",
        };
        let credentials = Credentials::new("akid", "secret", None, None, "test");
        let time = UNIX_EPOCH + Duration::from_secs(1_724_709_600);
        assert_eq!(
            rds_auth_token(&request, &credentials, time).unwrap(),
            "prod-instance.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=peccy\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89"
        );
    }

    #[test]
    fn temporary_credentials_put_their_session_token_in_the_token() {
        let request = TokenRequest {
            host: "proxy.proxy-abc.eu-west-1.rds.amazonaws.com",
            port: 5432,
            user: "saas_app_login",
            region: "eu-west-1",
        };
        let credentials = Credentials::new("ASIAX", "secret", Some("tok/en+".into()), None, "test");
        let token = rds_auth_token(&request, &credentials, SystemTime::now()).unwrap();
        assert!(
            token.starts_with(
                "proxy.proxy-abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=saas_app_login&"
            ),
            "{token}"
        );
        assert!(
            token.contains("X-Amz-Security-Token=tok%2Fen%2B"),
            "{token}"
        );
        assert!(!token.contains("https://"));
    }
}
