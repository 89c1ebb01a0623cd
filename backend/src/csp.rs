//! The `Content-Security-Policy` every response carries.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use crate::config::Config;

/// The `Content-Security-Policy` of every response. The web app is a wasm module loaded by a script from
/// this origin, so scripts, styles, images and connections stay on it, except: `'wasm-unsafe-eval'`
/// (compiling WebAssembly) and the hashes of `index.html`'s inline bootstrap scripts. Nothing may frame the
/// app, and `<base>` is refused.
///
/// There is deliberately no `form-action`: browsers apply it to every redirect that follows a form
/// submission, and the sign-in form (`GET /auth/login`) is redirected to the user pool and from there to
/// the tenant's own identity provider, whose origin is tenant data, not configuration. A `form-action`
/// naming only this origin and the user pool's domain stops every sign-in at that last hop.
pub fn content_security_policy(config: &Config) -> String {
    let mut script_src = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script_src.extend(inline_script_hashes(
        &config.web_dist_dir.join("index.html"),
    ));
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src 'self'; connect-src 'self' {}; \
         frame-ancestors 'none'; base-uri 'none'",
        script_src.join(" "),
        s3_origins(&config.storage).join(" ")
    )
}

/// The origins the browser uploads to: the configured S3 endpoint's, or AWS's regional S3 endpoints (path-
/// style and virtual-hosted) for the bucket.
fn s3_origins(storage: &crate::config::StorageConfig) -> Vec<String> {
    match &storage.s3_endpoint {
        Some(endpoint) => vec![endpoint.origin().ascii_serialization()],
        None => vec![
            format!("https://s3.{}.amazonaws.com", storage.region),
            format!(
                "https://{}.s3.{}.amazonaws.com",
                storage.bucket, storage.region
            ),
        ],
    }
}

/// `'sha256-…'` sources for the inline scripts of the built web app's `index.html` (its module bootstrap),
/// so that exactly those scripts run and no injected one does. No file (the app is not built): none.
fn inline_script_hashes(index_html: &std::path::Path) -> Vec<String> {
    let Ok(html) = std::fs::read_to_string(index_html) else {
        return Vec::new();
    };
    let mut hashes = Vec::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<script") {
        rest = &rest[start + "<script".len()..];
        let Some(tag_end) = rest.find('>') else { break };
        let attributes = &rest[..tag_end];
        rest = &rest[tag_end + 1..];
        let Some(close) = rest.find("</script>") else {
            break;
        };
        let content = &rest[..close];
        rest = &rest[close + "</script>".len()..];
        if !attributes.contains("src=") && !content.is_empty() {
            let digest = Sha256::digest(content.as_bytes());
            hashes.push(format!("'sha256-{}'", BASE64.encode(digest)));
        }
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inline_bootstrap_scripts_of_the_web_app_are_allowed_by_hash_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("csp-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.html"),
            "<html><head><script type=\"module\">\n  import init from '/pkg/app.js';\n  init();\n</script>\
             <script src=\"/pkg/other.js\"></script></head><body></body></html>",
        )
        .unwrap();
        let mut config = Config::local_defaults();
        config.web_dist_dir = dir.clone();
        let policy = content_security_policy(&config);
        let expected = BASE64.encode(Sha256::digest(
            "\n  import init from '/pkg/app.js';\n  init();\n".as_bytes(),
        ));
        assert!(
            policy.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{expected}';"
            )),
            "{policy}"
        );
        assert!(
            policy.ends_with("frame-ancestors 'none'; base-uri 'none'"),
            "{policy}"
        );
        std::fs::remove_dir_all(&dir).unwrap();

        config.web_dist_dir = std::env::temp_dir().join("no-such-web-app-dir");
        assert!(
            content_security_policy(&config)
                .contains("script-src 'self' 'wasm-unsafe-eval'; style-src")
        );
    }
}
