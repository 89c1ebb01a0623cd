//! The bucket's CORS configuration and S3's CORS behaviour, so that the browser uploads straight to the
//! bucket as it will in production.
//!
//! The rules are the deployment's own file, `infra/policies/bucket-cors.json`, in the shape
//! `aws s3api put-bucket-cors --cors-configuration` takes, with `@@APP_ORIGIN@@` standing for the app's
//! origins (here, the origins of the callback URLs of the app clients the identity pool accepts). The rule
//! there: `AllowedMethods` `PUT GET HEAD POST DELETE`, `AllowedHeaders *`, `ExposeHeaders ETag
//! x-amz-request-id` (the browser needs each part's `ETag` to complete a multipart upload), `MaxAgeSeconds 3000`.
//!
//! As S3 does: every `OPTIONS` request is a preflight, answered without authentication — 400 `BadRequest`
//! without `Origin` or with a missing or unknown `Access-Control-Request-Method`, 403 `AccessForbidden` when
//! no rule allows the origin, method and requested headers, and 200 with the first allowing rule's
//! `Access-Control-*` headers otherwise. Other requests get the headers of the first rule that allows their
//! origin and method; requests from any other origin are served without CORS headers (the browser then hides
//! the answer).

use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::s3::error::XmlError;

/// The methods a CORS rule may allow.
const CORS_METHODS: [Method; 5] = [
    Method::GET,
    Method::PUT,
    Method::HEAD,
    Method::POST,
    Method::DELETE,
];

/// The `Vary` header S3 sends with CORS answers.
const VARY_VALUE: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// One CORS rule of the bucket (`CORSRule` in S3's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CorsRule {
    /// Origins, each with at most one `*` wildcard.
    allowed_origins: Vec<String>,
    allowed_methods: Vec<Method>,
    /// Header names, case-insensitive, each with at most one `*` wildcard.
    allowed_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age_seconds: Option<u32>,
}

/// The placeholder of `bucket-cors.json` that stands for the app's origins.
const APP_ORIGIN: &str = "@@APP_ORIGIN@@";

/// `infra/policies/bucket-cors.json`: the bucket's CORS configuration as the deployment applies it, the app's
/// origins still to be filled in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketCors {
    #[serde(rename = "CORSRules")]
    rules: Vec<RuleFile>,
}

/// One `CORSRule` as S3's API spells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "ID", default)]
    _id: Option<String>,
    allowed_origins: Vec<String>,
    allowed_methods: Vec<String>,
    #[serde(default)]
    allowed_headers: Vec<String>,
    #[serde(default)]
    expose_headers: Vec<String>,
    max_age_seconds: Option<u32>,
}

impl BucketCors {
    /// Reads `<infra_dir>/policies/bucket-cors.json` and checks it as S3 would: at least one rule, each with
    /// origins and methods, methods among S3's five, at most one `*` per origin or header name, and no
    /// placeholder but `@@APP_ORIGIN@@`.
    pub fn load(infra_dir: &Path) -> anyhow::Result<BucketCors> {
        let path = infra_dir.join("policies").join("bucket-cors.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let cors: BucketCors =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(
            !cors.rules.is_empty(),
            "{} has no CORS rule",
            path.display()
        );
        for rule in &cors.rules {
            ensure!(
                !rule.allowed_origins.is_empty() && !rule.allowed_methods.is_empty(),
                "every CORS rule needs AllowedOrigins and AllowedMethods"
            );
            for method in &rule.allowed_methods {
                let known = Method::from_bytes(method.as_bytes())
                    .is_ok_and(|method| CORS_METHODS.contains(&method));
                ensure!(known, "{method:?} is not a method a CORS rule may allow");
            }
            for pattern in rule.allowed_origins.iter().chain(&rule.allowed_headers) {
                if pattern.contains("@@") && pattern != APP_ORIGIN {
                    bail!("{pattern:?} is not a placeholder bucket-cors.json may use");
                }
                ensure!(
                    pattern.matches('*').count() <= 1,
                    "{pattern:?} has more than one `*`"
                );
            }
        }
        Ok(cors)
    }

    /// The rules with `@@APP_ORIGIN@@` replaced by each of `app_origins`.
    pub(crate) fn for_origins(&self, app_origins: &[String]) -> Cors {
        let rules = self
            .rules
            .iter()
            .map(|rule| CorsRule {
                allowed_origins: rule
                    .allowed_origins
                    .iter()
                    .flat_map(|origin| {
                        if origin == APP_ORIGIN {
                            app_origins.to_vec()
                        } else {
                            vec![origin.clone()]
                        }
                    })
                    .collect(),
                allowed_methods: rule
                    .allowed_methods
                    .iter()
                    .filter_map(|method| Method::from_bytes(method.as_bytes()).ok())
                    .collect(),
                allowed_headers: rule.allowed_headers.clone(),
                expose_headers: rule.expose_headers.clone(),
                max_age_seconds: rule.max_age_seconds,
            })
            .collect();
        Cors { rules }
    }
}

/// The bucket's CORS rules, in order: the first that allows a request answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cors {
    rules: Vec<CorsRule>,
}

impl CorsRule {
    fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| wildcard_match(allowed, origin))
    }

    fn allows_header(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.allowed_headers
            .iter()
            .any(|allowed| wildcard_match(&allowed.to_ascii_lowercase(), &name))
    }

    fn methods_value(&self) -> String {
        self.allowed_methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn insert_common(&self, origin: &str, out: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(origin) {
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        if let Ok(value) = HeaderValue::from_str(&self.methods_value()) {
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        if !self.expose_headers.is_empty()
            && let Ok(value) = HeaderValue::from_str(&self.expose_headers.join(", "))
        {
            out.insert(ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
        // S3 allows credentials for every origin a rule names explicitly (not for "*").
        out.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        out.insert(VARY, HeaderValue::from_static(VARY_VALUE));
    }
}

impl Cors {
    /// The answer to an `OPTIONS` request for `raw_path` of `bucket`.
    pub(crate) fn preflight(&self, bucket: &str, raw_path: &str, headers: &HeaderMap) -> Response {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
            return XmlError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
            )
            .into_response();
        };
        let requested_method = headers
            .get(ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok());
        let Some(method) = requested_method
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .filter(|m| CORS_METHODS.contains(m))
        else {
            return XmlError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "Invalid Access-Control-Request-Method: {}",
                    requested_method.unwrap_or("null")
                ),
            )
            .into_response();
        };
        let requested_headers: Vec<&str> = headers
            .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();

        let (path_bucket, has_key) = bucket_of(raw_path);
        if path_bucket != bucket {
            return XmlError::new(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                "CORSResponse: CORS is not enabled for this bucket.",
            )
            .into_response();
        }
        let allowing = self.rules.iter().find(|rule| {
            rule.allows_origin(origin)
                && rule.allowed_methods.contains(&method)
                && requested_headers
                    .iter()
                    .all(|name| rule.allows_header(name))
        });
        let Some(rule) = allowing else {
            tracing::debug!(origin, %method, ?requested_headers, "S3 stand-in refused a CORS preflight");
            return XmlError::new(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of \
                 Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers \
                 are not whitelisted by the resource's CORS spec.",
            )
            .with("Method", method.as_str())
            .with("ResourceType", if has_key { "OBJECT" } else { "BUCKET" })
            .into_response();
        };

        let mut response = StatusCode::OK.into_response();
        let out = response.headers_mut();
        rule.insert_common(origin, out);
        if !requested_headers.is_empty()
            && let Ok(value) = HeaderValue::from_str(&requested_headers.join(", "))
        {
            out.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        if let Some(max_age) = rule.max_age_seconds {
            out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
        response
    }

    /// Adds the CORS headers to the answer of a non-preflight request from an allowed origin.
    pub(crate) fn decorate(
        &self,
        origin: Option<&HeaderValue>,
        method: &Method,
        response_headers: &mut HeaderMap,
    ) {
        let Some(origin) = origin.and_then(|v| v.to_str().ok()) else {
            return;
        };
        if let Some(rule) = self
            .rules
            .iter()
            .find(|rule| rule.allows_origin(origin) && rule.allowed_methods.contains(method))
        {
            rule.insert_common(origin, response_headers);
        }
    }
}

/// The bucket a raw path names, and whether it names a key in it.
pub(crate) fn bucket_of(raw_path: &str) -> (String, bool) {
    let decoded = percent_decode_str(raw_path).decode_utf8_lossy();
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    match path.split_once('/') {
        Some((bucket, key)) => (bucket.to_owned(), !key.is_empty()),
        None => (path.to_owned(), false),
    }
}

/// Matches `text` against `pattern`, in which one `*` stands for any run of characters.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, suffix)) => {
            text.len() >= prefix.len() + suffix.len()
                && text.starts_with(prefix)
                && text.ends_with(suffix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules of `infra/policies/bucket-cors.json` for the demo web client's origin.
    fn rule() -> Cors {
        let infra = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        BucketCors::load(&infra)
            .unwrap()
            .for_origins(&["http://localhost:3000".to_owned()])
    }

    #[test]
    fn the_rules_file_refuses_what_s3_would() {
        let parse = |json: &str| -> anyhow::Result<BucketCors> {
            let dir = tempfile::tempdir()?;
            std::fs::create_dir(dir.path().join("policies"))?;
            std::fs::write(dir.path().join("policies/bucket-cors.json"), json)?;
            BucketCors::load(dir.path())
        };
        let rule = |origins: &str, methods: &str| {
            format!(
                r#"{{"CORSRules": [{{"AllowedOrigins": {origins}, "AllowedMethods": {methods}}}]}}"#
            )
        };
        assert!(parse(&rule(r#"["@@APP_ORIGIN@@"]"#, r#"["PUT"]"#)).is_ok());
        assert!(parse(r#"{"CORSRules": []}"#).is_err());
        assert!(parse(&rule(r#"["@@APP_ORIGIN@@"]"#, r#"["PATCH"]"#)).is_err());
        assert!(parse(&rule(r#"["https://*.*.example"]"#, r#"["GET"]"#)).is_err());
        assert!(parse(&rule(r#"["@@OTHER@@"]"#, r#"["GET"]"#)).is_err());
        assert!(parse(&rule("[]", r#"["GET"]"#)).is_err());
        assert!(parse(r#"{"CORSRules": [{"AllowedOrigins": ["x"], "AllowedMethods": ["GET"], "Typo": 1}]}"#).is_err());
    }

    #[test]
    fn the_first_rule_that_allows_a_request_answers_it() {
        let cors = BucketCors {
            rules: vec![
                RuleFile {
                    _id: None,
                    allowed_origins: vec!["https://admin.example".into()],
                    allowed_methods: vec!["GET".into()],
                    allowed_headers: vec![],
                    expose_headers: vec![],
                    max_age_seconds: Some(10),
                },
                RuleFile {
                    _id: None,
                    allowed_origins: vec![APP_ORIGIN.into()],
                    allowed_methods: vec!["GET".into(), "PUT".into()],
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec!["ETag".into()],
                    max_age_seconds: Some(3000),
                },
            ],
        }
        .for_origins(&["http://localhost:3000".to_owned()]);
        let mut headers = HeaderMap::new();
        cors.decorate(
            Some(&HeaderValue::from_static("https://admin.example")),
            &Method::GET,
            &mut headers,
        );
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_METHODS], "GET");
        assert!(headers.get(ACCESS_CONTROL_EXPOSE_HEADERS).is_none());
        let mut headers = HeaderMap::new();
        cors.decorate(
            Some(&HeaderValue::from_static("http://localhost:3000")),
            &Method::PUT,
            &mut headers,
        );
        assert_eq!(headers[ACCESS_CONTROL_EXPOSE_HEADERS], "ETag");
    }

    fn preflight(origin: Option<&str>, method: Option<&str>, requested: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        if let Some(method) = method {
            headers.insert(
                ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_str(method).unwrap(),
            );
        }
        if let Some(requested) = requested {
            headers.insert(
                ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_str(requested).unwrap(),
            );
        }
        rule().preflight("uploads", "/uploads/acme/u1/uploads/x", &headers)
    }

    #[test]
    fn a_preflight_from_the_app_origin_is_allowed_with_the_requested_headers() {
        let response = preflight(
            Some("http://localhost:3000"),
            Some("PUT"),
            Some("authorization,content-type,x-amz-date"),
        );
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(
            headers[ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:3000"
        );
        assert_eq!(
            headers[ACCESS_CONTROL_ALLOW_METHODS],
            "PUT, GET, HEAD, POST, DELETE"
        );
        assert_eq!(
            headers[ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization, content-type, x-amz-date"
        );
        assert_eq!(
            headers[ACCESS_CONTROL_EXPOSE_HEADERS],
            "ETag, x-amz-request-id"
        );
        assert_eq!(headers[ACCESS_CONTROL_MAX_AGE], "3000");
        assert_eq!(headers[VARY], VARY_VALUE);
    }

    #[tokio::test]
    async fn preflights_s3_refuses_are_refused_the_same_way() {
        let cases = [
            (None, Some("PUT"), StatusCode::BAD_REQUEST, "BadRequest"),
            (
                Some("http://localhost:3000"),
                None,
                StatusCode::BAD_REQUEST,
                "BadRequest",
            ),
            (
                Some("http://localhost:3000"),
                Some("PATCH"),
                StatusCode::BAD_REQUEST,
                "BadRequest",
            ),
            (
                Some("http://evil.example"),
                Some("PUT"),
                StatusCode::FORBIDDEN,
                "AccessForbidden",
            ),
            (
                Some("http://localhost:3001"),
                Some("GET"),
                StatusCode::FORBIDDEN,
                "AccessForbidden",
            ),
        ];
        for (origin, method, status, code) in cases {
            let response = preflight(origin, method, None);
            assert_eq!(response.status(), status, "{origin:?} {method:?}");
            assert!(
                response
                    .headers()
                    .get(ACCESS_CONTROL_ALLOW_ORIGIN)
                    .is_none(),
                "{origin:?} {method:?}"
            );
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
        }
    }

    #[test]
    fn other_buckets_have_no_cors_configuration() {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_static("http://localhost:3000"));
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("GET"),
        );
        let response = rule().preflight("uploads", "/other/key", &headers);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn only_answers_to_the_app_origin_get_cors_headers() {
        let mut headers = HeaderMap::new();
        rule().decorate(
            Some(&HeaderValue::from_static("http://evil.example")),
            &Method::GET,
            &mut headers,
        );
        assert!(headers.is_empty());
        rule().decorate(None, &Method::GET, &mut headers);
        assert!(headers.is_empty());
        rule().decorate(
            Some(&HeaderValue::from_static("http://localhost:3000")),
            &Method::PUT,
            &mut headers,
        );
        assert_eq!(
            headers[ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:3000"
        );
        assert_eq!(
            headers[ACCESS_CONTROL_EXPOSE_HEADERS],
            "ETag, x-amz-request-id"
        );
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    }

    #[test]
    fn wildcards_match_one_run_of_characters() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match(
            "https://*.example.com",
            "https://app.example.com"
        ));
        assert!(!wildcard_match(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(wildcard_match("x-amz-*", "x-amz-date"));
        assert!(!wildcard_match(
            "http://localhost:3000",
            "http://localhost:30001"
        ));
    }
}
