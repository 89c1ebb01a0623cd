//! Email domains a tenant claims, and their proof by DNS: which names may be claimed, the TXT record that
//! proves one, and the lookup ([`DomainProver`], through `hickory-resolver`).
//!
//! The proof is a TXT record `_saas-verification.<domain>` holding `saas-verification=<token>`, the token being
//! random per claim (per tenant and domain). A record holding another claim's token proves nothing here, so a
//! tenant cannot borrow the record another tenant published.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use rand::RngCore as _;

/// The label the proof's TXT record is published under.
pub const RECORD_LABEL: &str = "_saas-verification";
/// What the record's value starts with, before the token.
pub const RECORD_PREFIX: &str = "saas-verification=";
/// The most TXT values a failed verification reports back.
pub const MAX_FOUND_REPORTED: usize = 10;
/// The longest TXT value reported back, in characters.
const MAX_FOUND_CHARS: usize = 300;

/// Public email providers' domains, which no organisation can claim: anyone can hold an address there, so a
/// claim would hand their users to one tenant. No crate in the registry offers this list without downloading
/// it at build time (which this project's builds never do), so the best-known providers are listed here; a
/// public suffix (`co.uk`, `github.io`) is refused separately, from the Public Suffix List.
const PUBLIC_EMAIL_DOMAINS: &[&str] = &[
    "aol.com",
    "fastmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.fr",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "outlook.de",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "tutanota.com",
    "web.de",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.de",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// Why a domain cannot be claimed, in a sentence for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Not a domain name.
    #[error("{0}")]
    Invalid(String),
    /// A domain no organisation may claim.
    #[error("{0}")]
    NotAllowed(String),
}

/// The domain `input` names, normalised (trimmed, one trailing dot dropped, lower-case, internationalised
/// names in their `xn--` form), or why it is not one: at least two labels of letters, digits and hyphens, at
/// most 253 characters.
pub fn normalise(input: &str) -> Result<String, DomainError> {
    let trimmed = input.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(DomainError::Invalid(
            "Enter a domain, such as example.com.".into(),
        ));
    }
    if trimmed.contains('@') {
        return Err(DomainError::Invalid(
            "Enter the domain only (example.com), not an email address.".into(),
        ));
    }
    let domain = match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(domain)) => domain,
        Ok(_) => {
            return Err(DomainError::Invalid(
                "Enter a domain name, not an IP address.".into(),
            ));
        }
        Err(_) => {
            return Err(DomainError::Invalid(format!(
                "{trimmed:?} is not a domain name."
            )));
        }
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(DomainError::Invalid(format!(
            "{trimmed:?} is not a domain name: use labels of letters, digits and hyphens separated by dots, \
             such as example.com."
        )));
    }
    Ok(domain)
}

/// Refuses a normalised domain no organisation may claim: a public email provider's, or a public suffix
/// (`co.uk`, `github.io`), which many unrelated organisations sit under.
pub fn check_claimable(domain: &str) -> Result<(), DomainError> {
    if PUBLIC_EMAIL_DOMAINS.contains(&domain) {
        return Err(DomainError::NotAllowed(format!(
            "{domain} is a public email provider's domain: anyone can have an address there, so it cannot \
             route to your organisation's sign-in."
        )));
    }
    if psl::domain(domain.as_bytes()).is_none() {
        return Err(DomainError::NotAllowed(format!(
            "{domain} is a public suffix, under which unrelated organisations register their domains; claim \
             your own domain under it instead."
        )));
    }
    Ok(())
}

/// The name of the TXT record that proves `domain`.
pub fn record_name(domain: &str) -> String {
    format!("{RECORD_LABEL}.{domain}")
}

/// The value of the TXT record that proves a claim with `token`.
pub fn record_value(token: &str) -> String {
    format!("{RECORD_PREFIX}{token}")
}

/// A fresh claim token: 32 random bytes, base64url (43 characters).
pub fn new_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a lookup of a proof record found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The expected value is there.
    Found,
    /// It is not; these are the values that are (none when the name has no TXT record).
    Missing(Vec<String>),
}

/// Why a lookup could not say either way.
#[derive(Debug, thiserror::Error)]
#[error("the DNS lookup of {name} failed: {message}")]
pub struct LookupFailed {
    /// The name looked up.
    pub name: String,
    /// The resolver's error.
    pub message: String,
}

/// Looks domain proofs up in DNS, through the configured name server or the system's.
#[derive(Clone)]
pub struct DomainProver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for DomainProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainProver").finish_non_exhaustive()
    }
}

impl DomainProver {
    /// A prover asking `name_server` (UDP, then TCP for truncated answers), or the system's resolvers when
    /// `None`. Answers are never cached: "Verify" right after publishing a record must see it, and a
    /// re-check must see a removed one.
    pub fn new(name_server: Option<SocketAddr>) -> Result<DomainProver, LookupFailed> {
        let failed = |error: &dyn std::fmt::Display| LookupFailed {
            name: "(resolver configuration)".into(),
            message: error.to_string(),
        };
        let mut builder = match name_server {
            Some(address) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = address.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = address.port();
                let server = NameServerConfig::new(address.ip(), true, vec![udp, tcp]);
                Resolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
            None => TokioResolver::builder_tokio().map_err(|e| failed(&e))?,
        };
        let options = builder.options_mut();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        let resolver = builder.build().map_err(|e| failed(&e))?;
        Ok(DomainProver { resolver })
    }

    /// Looks up `domain`'s proof record and compares it with `token`'s value. A TXT record split into several
    /// character-strings is read as their concatenation, as DNS providers split long values.
    pub async fn lookup(&self, domain: &str, token: &str) -> Result<Lookup, LookupFailed> {
        // Fully qualified: no search domain of the machine is ever appended.
        let name = format!("{}.", record_name(domain));
        let expected = record_value(token);
        let values: Vec<String> = match self.resolver.txt_lookup(name.as_str()).await {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect(),
            Err(error) if error.is_no_records_found() => Vec::new(),
            Err(error) => {
                return Err(LookupFailed {
                    name: record_name(domain),
                    message: error.to_string(),
                });
            }
        };
        if values.iter().any(|value| value.trim() == expected) {
            return Ok(Lookup::Found);
        }
        Ok(Lookup::Missing(
            values
                .into_iter()
                .take(MAX_FOUND_REPORTED)
                .map(|value| value.chars().take(MAX_FOUND_CHARS).collect())
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        assert_eq!(
            normalise(" Initech.Example. ").as_deref(),
            Ok("initech.example")
        );
        assert_eq!(
            normalise("sub.initech.example").as_deref(),
            Ok("sub.initech.example")
        );
        assert_eq!(
            normalise("bücher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
    }

    #[test]
    fn what_is_not_a_domain_is_refused_with_a_reason() {
        for bad in [
            "",
            "  ",
            "initech",
            "peter@initech.example",
            "127.0.0.1",
            "[::1]",
            "-initech.example",
            "initech-.example",
            "ini_tech.example",
            "initech..example",
            "https://initech.example",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}example", "a.".repeat(127)),
        ] {
            assert!(
                matches!(normalise(bad), Err(DomainError::Invalid(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn public_email_providers_and_public_suffixes_cannot_be_claimed() {
        for refused in [
            "gmail.com",
            "outlook.com",
            "proton.me",
            "co.uk",
            "github.io",
            "com",
        ] {
            assert!(
                matches!(check_claimable(refused), Err(DomainError::NotAllowed(_))),
                "{refused} should be refused"
            );
        }
        for allowed in [
            "initech.example",
            "acme.co.uk",
            "eng.initech.example",
            "initech.com",
        ] {
            assert_eq!(check_claimable(allowed), Ok(()), "{allowed}");
        }
    }

    #[test]
    fn the_record_names_the_domain_and_holds_the_token() {
        assert_eq!(
            record_name("initech.example"),
            "_saas-verification.initech.example"
        );
        assert_eq!(record_value("abc"), "saas-verification=abc");
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert_ne!(token, new_token());
    }
}
