//! Where an upload goes and in which pieces: the object key, the bucket URL, the multipart plan and the
//! `CompleteMultipartUpload` body. Plain functions, so the rules are tested without a browser.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use shared::api::{MAX_KEY_BYTES, StorageCredentials, allowed_in_key};

use crate::format::format_bytes;

/// Files smaller than this go up in one `PutObject`; larger ones in parts.
pub const MULTIPART_THRESHOLD: f64 = 8.0 * MIB;
/// The size of every part but the last, unless the file is so large that S3's limit of 10,000 parts needs
/// bigger ones.
pub const PART_SIZE: f64 = 8.0 * MIB;
/// S3's largest object: 5 GiB is what the product promises per file.
pub const MAX_FILE_SIZE: f64 = 5.0 * 1024.0 * MIB;

/// The storage a plan has: what its files use and its quota (`None`: no quota).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Storage {
    /// Bytes the tenant's recorded files use.
    pub used: f64,
    /// The plan's quota in bytes, if it has one.
    pub quota: Option<f64>,
}

impl Storage {
    /// What is left for new files, once `pending` bytes (files on their way, not recorded yet) arrive.
    pub fn left(self, pending: f64) -> Option<f64> {
        self.quota
            .map(|quota| (quota - self.used - pending).max(0.0))
    }
}

/// Why a file of `size` bytes cannot be uploaded before a byte of it is sent, if it cannot: larger than any
/// file may be, or larger than the storage the plan has left (`pending`: bytes of files already on their way).
pub fn refusal(size: f64, storage: Option<Storage>, pending: f64) -> Option<String> {
    if size > MAX_FILE_SIZE {
        return Some(format!(
            "This file is {}; files of up to {} can be uploaded.",
            format_bytes(size),
            format_bytes(MAX_FILE_SIZE)
        ));
    }
    let storage = storage?;
    let left = storage.left(pending)?;
    let quota = storage.quota?;
    (size > left).then(|| {
        let waiting = if pending > 0.0 {
            format!(", {} more on its way", format_bytes(pending))
        } else {
            String::new()
        };
        format!(
            "This file is {}, more than the {} of storage your plan has left ({} of {} used{waiting}). \
             Delete files or ask your admin about a larger plan.",
            format_bytes(size),
            format_bytes(left),
            format_bytes(storage.used),
            format_bytes(quota),
        )
    })
}
/// S3's limit on the number of parts of one upload.
const MAX_PARTS: f64 = 10_000.0;
const MIB: f64 = 1024.0 * 1024.0;

/// What SigV4 and S3 leave unencoded in a path segment or query value: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The object key for a file: `<prefix><folder>/<name>`. Each upload gets a folder of its own, so two files
/// with the same name never overwrite each other. The name is cleaned of what S3 or the backend would refuse
/// (slashes, control characters, a bare `.` or `..`) and of the two characters XML cannot carry (U+FFFE,
/// U+FFFF: S3's answers name the key in XML), and shortened from the front of its stem so the key fits S3's
/// 1,024 bytes while the extension survives.
pub fn object_key(prefix: &str, folder: &str, file_name: &str) -> String {
    let cleaned: String = file_name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || !allowed_in_key(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim();
    let name = match cleaned {
        "" | "." | ".." => "file",
        name => name,
    };
    let room = MAX_KEY_BYTES.saturating_sub(prefix.len() + folder.len() + 1);
    format!("{prefix}{folder}/{}", shorten(name, room))
}

/// `name` in at most `room` bytes, dropping characters from the end of the stem, never the extension.
fn shorten(name: &str, room: usize) -> String {
    if name.len() <= room {
        return name.to_owned();
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => name.split_at(dot),
        _ => (name, ""),
    };
    let mut kept = String::new();
    for c in stem.chars() {
        if kept.len() + c.len_utf8() + extension.len() > room {
            break;
        }
        kept.push(c);
    }
    kept + extension
}

/// A folder name from random bytes: lower-case hex.
pub fn folder_name(random: &[u8]) -> String {
    random.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The URL of `key` in the bucket the credentials name: path-style on the configured endpoint (the local
/// stand-in, or any S3-compatible endpoint), virtual-hosted on AWS itself. The key is encoded segment by
/// segment exactly as SigV4 signs it, so the browser sends the very path that was signed.
pub fn object_url(credentials: &StorageCredentials, key: &str) -> String {
    let path = key
        .split('/')
        .map(|segment| utf8_percent_encode(segment, UNRESERVED).to_string())
        .collect::<Vec<_>>()
        .join("/");
    match &credentials.endpoint {
        Some(endpoint) => format!(
            "{}/{}/{path}",
            endpoint.trim_end_matches('/'),
            credentials.bucket
        ),
        None => format!(
            "https://{}.s3.{}.amazonaws.com/{path}",
            credentials.bucket, credentials.region
        ),
    }
}

/// `url` with a query of `name=value` pairs, values encoded as SigV4 expects; a pair with an empty value is
/// written as the bare name (`?uploads`).
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let query = pairs
        .iter()
        .map(|(name, value)| {
            if value.is_empty() {
                (*name).to_owned()
            } else {
                format!("{name}={}", utf8_percent_encode(value, UNRESERVED))
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{url}?{query}")
}

/// One part of a multipart upload: bytes `start..end` of the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartRange {
    /// S3's part number, from 1.
    pub number: u32,
    /// The first byte.
    pub start: f64,
    /// One past the last byte.
    pub end: f64,
}

impl PartRange {
    /// How many bytes the part holds.
    pub fn len(&self) -> f64 {
        self.end - self.start
    }
}

/// The parts of a file of `size` bytes: [`PART_SIZE`] each (larger when 10,000 of those would not hold the
/// file), the last one shorter.
pub fn plan_parts(size: f64) -> Vec<PartRange> {
    let part_size = PART_SIZE.max((size / MAX_PARTS / MIB).ceil() * MIB);
    let mut parts = Vec::new();
    let mut start = 0.0;
    let mut number = 1;
    while start < size {
        let end = (start + part_size).min(size);
        parts.push(PartRange { number, start, end });
        start = end;
        number += 1;
    }
    parts
}

/// The `CompleteMultipartUpload` request body: every part's number and the `ETag` S3 answered for it, in
/// order.
pub fn complete_body(etags: &[(u32, String)]) -> String {
    let mut body =
        String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (number, etag) in etags {
        body.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            xml_escape(etag)
        ));
    }
    body.push_str("</CompleteMultipartUpload>");
    body
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether credentials expiring at `expires_ms` (milliseconds since the epoch) should be replaced at
/// `now_ms`: five minutes ahead, so a part that starts now still finishes within their lifetime.
pub fn expires_soon(expires_ms: f64, now_ms: f64) -> bool {
    const MARGIN_MS: f64 = 5.0 * 60.0 * 1000.0;
    expires_ms.is_nan() || expires_ms - now_ms < MARGIN_MS
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_larger_than_the_storage_left_is_refused_with_the_real_numbers() {
        let globex = Some(Storage {
            used: 0.0,
            quota: Some(100_000_000.0),
        });
        assert_eq!(
            refusal(106_000_000.0, globex, 0.0).as_deref(),
            Some(
                "This file is 106.0 MB, more than the 100.0 MB of storage your plan has left (0 B of \
                 100.0 MB used). Delete files or ask your admin about a larger plan."
            )
        );
        assert_eq!(
            refusal(100_000_000.0, globex, 0.0),
            None,
            "exactly the quota fits"
        );
        // Files already on their way count.
        let said = refusal(60_000_000.0, globex, 50_000_000.0).unwrap();
        assert!(
            said.contains("50.0 MB of storage") && said.contains("50.0 MB more on its way"),
            "{said}"
        );
    }

    #[test]
    fn without_a_quota_or_before_it_is_known_only_the_file_size_limit_applies() {
        let pro = Some(Storage {
            used: 9e12,
            quota: None,
        });
        assert_eq!(refusal(MAX_FILE_SIZE, pro, 0.0), None);
        assert_eq!(refusal(1e9, None, 0.0), None);
        assert_eq!(
            refusal(MAX_FILE_SIZE + 1.0, None, 0.0).as_deref(),
            Some("This file is 5.4 GB; files of up to 5.4 GB can be uploaded.")
        );
    }

    use super::*;

    const PREFIX: &str = "acme-id/alice-sub/uploads/";

    fn credentials(endpoint: Option<&str>) -> StorageCredentials {
        StorageCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration: "2026-11-22T12:00:00Z".into(),
            region: "eu-west-1".into(),
            bucket: "uploads".into(),
            prefix: PREFIX.into(),
            endpoint: endpoint.map(str::to_owned),
        }
    }

    #[test]
    fn every_upload_gets_its_own_folder_under_the_prefix() {
        assert_eq!(
            object_key(PREFIX, "0a1b", "Q3 report.pdf"),
            "acme-id/alice-sub/uploads/0a1b/Q3 report.pdf"
        );
        assert_eq!(folder_name(&[0, 171, 255]), "00abff");
    }

    #[test]
    fn names_lose_what_would_leave_the_folder_or_be_refused() {
        for (name, expected) in [
            ("../../bob/uploads/x", ".._.._bob_uploads_x"),
            ("a\\b", "a_b"),
            ("tab\there", "tab_here"),
            ("x\u{fffe}\u{ffff}.txt", "x__.txt"),
            ("..", "file"),
            (".", "file"),
            ("   ", "file"),
        ] {
            assert_eq!(
                object_key(PREFIX, "f", name),
                format!("{PREFIX}f/{expected}"),
                "{name}"
            );
        }
    }

    #[test]
    fn long_names_are_shortened_to_fit_the_key_and_keep_their_extension() {
        let name = format!("{}.tar.gz", "é".repeat(900));
        let key = object_key(PREFIX, "folder", &name);
        assert!(key.len() <= 1024, "{}", key.len());
        assert!(key.ends_with("é.gz"), "{key}");
        assert!(key.starts_with(&format!("{PREFIX}folder/é")));
    }

    #[test]
    fn urls_are_path_style_on_an_endpoint_and_virtual_hosted_on_aws() {
        let key = "acme-id/alice-sub/uploads/f/Q3 report (final)+ü.pdf";
        assert_eq!(
            object_url(&credentials(Some("http://127.0.0.1:9234/")), key),
            "http://127.0.0.1:9234/uploads/acme-id/alice-sub/uploads/f/Q3%20report%20%28final%29%2B%C3%BC.pdf"
        );
        assert_eq!(
            object_url(&credentials(None), "a/b~c.txt"),
            "https://uploads.s3.eu-west-1.amazonaws.com/a/b~c.txt"
        );
    }

    #[test]
    fn query_values_are_encoded_and_empty_ones_are_bare_names() {
        assert_eq!(
            with_query("http://h/b/k", &[("uploads", "")]),
            "http://h/b/k?uploads"
        );
        assert_eq!(
            with_query(
                "http://h/b/k",
                &[("partNumber", "3"), ("uploadId", "a+b/c=")]
            ),
            "http://h/b/k?partNumber=3&uploadId=a%2Bb%2Fc%3D"
        );
    }

    #[test]
    fn twenty_megabytes_go_in_three_parts_of_eight_four() {
        let parts = plan_parts(20.0 * MIB);
        let sizes: Vec<f64> = parts.iter().map(PartRange::len).collect();
        assert_eq!(sizes, [8.0 * MIB, 8.0 * MIB, 4.0 * MIB]);
        assert_eq!(
            parts.iter().map(|part| part.number).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(parts[2].end, 20.0 * MIB);
    }

    #[test]
    fn five_gibibytes_fit_in_s3s_part_limit() {
        let parts = plan_parts(MAX_FILE_SIZE);
        assert!(parts.len() <= 10_000, "{}", parts.len());
        assert_eq!(parts.last().map(|part| part.end), Some(MAX_FILE_SIZE));
        // A file too large for 10,000 parts of 8 MiB gets larger parts instead.
        let huge = plan_parts(100_000.0 * MIB);
        assert_eq!(huge.len(), 10_000);
        assert_eq!(huge[0].len(), 10.0 * MIB);
    }

    #[test]
    fn the_completion_body_lists_parts_in_order_with_escaped_etags() {
        assert_eq!(
            complete_body(&[(1, "\"abc\"".into()), (2, "\"d&e\"".into())]),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>&quot;d&amp;e&quot;</ETag></Part>\
             </CompleteMultipartUpload>"
        );
    }

    #[test]
    fn credentials_are_replaced_five_minutes_before_they_expire() {
        let now = 1_000_000_000.0;
        assert!(!expires_soon(now + 6.0 * 60_000.0, now));
        assert!(expires_soon(now + 4.0 * 60_000.0, now));
        assert!(expires_soon(now - 1.0, now));
        assert!(
            expires_soon(f64::NAN, now),
            "an unreadable expiry counts as expired"
        );
    }
}
