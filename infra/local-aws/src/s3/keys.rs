//! The key checks made before anything else: a key reaches the policy and the store only if it names one
//! file under the bucket, and the same one for both.
//!
//! S3 keys are flat strings, and S3 stores `a/../b` or `a//b` literally; the policy is evaluated on that
//! literal key. The stand-in keeps objects as files, where `..` and `.` segments would resolve to another key
//! (`acme/u1/uploads/../../u2/uploads/x` is bob's file, evaluated as alice's), and an empty segment or a
//! trailing slash is no file name. A percent-encoded slash (`%2F`) decodes to a separator, so the same key
//! could be spelt two ways. Such requests are refused with `AccessDenied`: the app never makes them, and a
//! refusal can never write or read outside the prefix the policy was evaluated on.
//!
//! The key is taken exactly as `s3s` takes it: the whole path percent-decoded, the bucket up to the first
//! `/`, the key after it.

use std::fmt;

use axum::http::StatusCode;
use percent_encoding::percent_decode_str;

use crate::s3::error::XmlError;

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRefusal {
    /// The raw path has `%2F` (or `%2f`).
    EncodedSlash,
    /// A key segment is `.` or `..`.
    DotSegment,
    /// A key segment is empty (`a//b`, a leading or trailing `/`).
    EmptySegment,
    /// The path does not decode to UTF-8.
    Undecodable,
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRefusal::EncodedSlash => "a percent-encoded slash in the path",
            PathRefusal::DotSegment => "a . or .. segment in the key",
            PathRefusal::EmptySegment => "an empty segment in the key",
            PathRefusal::Undecodable => "a path that does not decode to UTF-8",
        })
    }
}

impl PathRefusal {
    /// The answer: `AccessDenied`, or S3's `InvalidURI` for a path that is not UTF-8.
    pub(crate) fn into_error(self) -> XmlError {
        match self {
            PathRefusal::Undecodable => XmlError::new(
                StatusCode::BAD_REQUEST,
                "InvalidURI",
                "Couldn't parse the specified URI.",
            ),
            _ => XmlError::access_denied(),
        }
    }
}

/// Checks the raw request path (`/<bucket>/<key>`, still percent-encoded).
pub(crate) fn check_path(raw_path: &str) -> Result<(), PathRefusal> {
    if raw_path.as_bytes().windows(3).any(|window| {
        window[0] == b'%' && window[1] == b'2' && window[2].eq_ignore_ascii_case(&b'f')
    }) {
        return Err(PathRefusal::EncodedSlash);
    }
    let decoded = percent_decode_str(raw_path)
        .decode_utf8()
        .map_err(|_| PathRefusal::Undecodable)?;
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    let Some((_bucket, key)) = path.split_once('/') else {
        return Ok(());
    };
    // `/<bucket>/` addresses the bucket itself, as in s3s.
    if key.is_empty() {
        return Ok(());
    }
    for segment in key.split('/') {
        match segment {
            "" => return Err(PathRefusal::EmptySegment),
            "." | ".." => return Err(PathRefusal::DotSegment),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_and_bucket_paths_pass() {
        for path in [
            "/",
            "/uploads",
            "/uploads/",
            "/uploads/acme/u1/uploads/report.pdf",
            "/uploads/acme/u1/uploads/my..file.pdf",
            "/uploads/acme/u1/uploads/.hidden",
            "/uploads/acme/u1/uploads/a%20b%25c.txt",
            "/uploads/acme/u1/uploads/%C3%A9t%C3%A9.txt",
        ] {
            assert_eq!(check_path(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn dot_segments_are_refused_however_they_are_spelt() {
        for path in [
            "/uploads/acme/u1/uploads/../../u2/uploads/x",
            "/uploads/acme/u1/uploads/%2E%2E/%2e%2e/u2/uploads/x",
            "/uploads/acme/u1/uploads/./x",
            "/uploads/..",
            "/uploads/acme/u1/uploads/..",
        ] {
            assert_eq!(check_path(path), Err(PathRefusal::DotSegment), "{path}");
        }
    }

    #[test]
    fn empty_segments_are_refused() {
        for path in [
            "/uploads//acme/u1/uploads/x",
            "/uploads/acme//u1/uploads/x",
            "/uploads/acme/u1/uploads/",
        ] {
            assert_eq!(check_path(path), Err(PathRefusal::EmptySegment), "{path}");
        }
    }

    #[test]
    fn an_encoded_slash_anywhere_in_the_path_is_refused() {
        for path in [
            "/uploads/acme%2Fu1%2Fuploads%2Fx",
            "/uploads/acme/u1/uploads/..%2f..%2fu2%2Fuploads%2Fx",
            "/uploads%2Facme/u1/uploads/x",
        ] {
            assert_eq!(check_path(path), Err(PathRefusal::EncodedSlash), "{path}");
        }
        // An encoded percent sign followed by "2F" is the literal text "%2F", not a slash.
        assert_eq!(check_path("/uploads/acme/u1/uploads/100%252Fx"), Ok(()));
    }

    #[test]
    fn a_path_that_is_not_utf8_is_an_invalid_uri() {
        assert_eq!(
            check_path("/uploads/acme/u1/uploads/%FF"),
            Err(PathRefusal::Undecodable)
        );
        assert_eq!(PathRefusal::Undecodable.into_error().code, "InvalidURI");
        assert_eq!(PathRefusal::DotSegment.into_error().code, "AccessDenied");
    }
}
