//! The guard on outbound requests to URLs that customers supply (server-side request forgery).
//!
//! A customer's IT admin types an identity provider's address and the backend fetches it, so without a guard
//! anyone allowed to set up sign-in could make the backend read its cloud metadata service or any service on
//! its private network. Three layers keep requests on the public internet:
//!
//! - [`check_url`] refuses, before any request, URLs that are not `https` (plain `http` only in local
//!   development), that carry credentials, that name `localhost`, or whose host is an IP literal outside the
//!   public ranges (the HTTP client connects to IP literals without asking any resolver);
//! - the [`EgressClient`]'s resolver resolves each host name itself and hands the HTTP client only public
//!   addresses, so the address checked is the address connected to and DNS rebinding gains nothing;
//! - the client follows no redirect, uses no proxy from the environment, gives up after a few seconds and
//!   reads at most [`MAX_BODY_BYTES`] of a response, however long the sender claims it is.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, LOCATION};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use url::{Host, Url};

/// Time allowed to open a connection (TCP and TLS) to a customer's server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for a whole request, from connecting to the last byte of the body: the wizard answers while
/// the admin waits.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read, in bytes. Discovery documents and key sets are a few kilobytes; anything far
/// larger is a mistake or an attempt to exhaust the backend's memory.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The longest piece of a URL, host or message from elsewhere that is repeated in an error message.
const MAX_SHOWN_CHARS: usize = 200;

/// Which destinations outbound requests to customer-supplied URLs may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EgressPolicy {
    /// Whether loopback, private and other non-public addresses, `localhost` and plain `http` are allowed.
    /// False in production; true only in local development, where the identity provider stand-ins listen
    /// on 127.0.0.1. The caller decides from its configuration.
    pub allow_private: bool,
}

/// Why the guard refused a URL or an address, or could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// The scheme is not `https` (nor `http` where the policy allows private destinations).
    #[error("the URL must start with {allowed}, not {scheme}://", allowed = allowed_schemes(*.http_allowed), scheme = shown(.scheme))]
    InsecureScheme {
        /// The scheme found.
        scheme: String,
        /// Whether plain `http` would have been accepted.
        http_allowed: bool,
    },
    /// The URL carries a user name or password, which would be sent to the server.
    #[error("the URL must not contain a user name or password")]
    Credentials,
    /// The URL has no host to connect to.
    #[error("the URL has no host name")]
    MissingHost,
    /// The host is `localhost` or a name below it, which always means this machine.
    #[error("{host} names this server itself, which is not allowed", host = shown(.host))]
    ForbiddenHost {
        /// The host name.
        host: String,
    },
    /// The host is an IP address outside the public ranges.
    #[error(
        "{address} is a private, loopback, link-local or otherwise reserved address, which is not allowed"
    )]
    ForbiddenAddress {
        /// The address.
        address: IpAddr,
    },
    /// Every address the host name resolves to is outside the public ranges.
    #[error("{host} resolves only to private, loopback, link-local or otherwise reserved addresses (such as {address}), which are not allowed", host = shown(.host))]
    NoPublicAddress {
        /// The host name.
        host: String,
        /// One of the refused addresses.
        address: IpAddr,
    },
    /// The host name could not be resolved.
    #[error("the host name {host} could not be resolved (DNS lookup failed)", host = shown(.host))]
    Resolve {
        /// The host name.
        host: String,
    },
    /// The host name resolved to no address at all.
    #[error("the host name {host} has no addresses in DNS", host = shown(.host))]
    NoAddresses {
        /// The host name.
        host: String,
    },
    /// The HTTP client could not be built (a problem of this server, not of the URL).
    #[error("the HTTP client could not be set up: {0}")]
    ClientSetup(String),
}

impl EgressError {
    /// A stable, machine-readable code: `insecure_url`, `forbidden_address`, `unreachable` or
    /// `client_setup`.
    pub fn code(&self) -> &'static str {
        match self {
            EgressError::InsecureScheme { .. }
            | EgressError::Credentials
            | EgressError::MissingHost => "insecure_url",
            EgressError::ForbiddenHost { .. }
            | EgressError::ForbiddenAddress { .. }
            | EgressError::NoPublicAddress { .. } => "forbidden_address",
            EgressError::Resolve { .. } | EgressError::NoAddresses { .. } => "unreachable",
            EgressError::ClientSetup(_) => "client_setup",
        }
    }
}

fn allowed_schemes(http_allowed: bool) -> &'static str {
    if http_allowed {
        "https:// or http://"
    } else {
        "https://"
    }
}

/// Why a guarded request failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The guard refused the URL or every address of its host; no connection was made.
    #[error(transparent)]
    Refused(EgressError),
    /// The server could not be reached, or stopped answering.
    #[error("{0}")]
    Unreachable(NetworkFailure),
    /// The server answered with a status other than 200 (and not a redirect).
    #[error("the server answered HTTP {status} instead of 200", status = .status.as_u16())]
    Status {
        /// The status received.
        status: StatusCode,
    },
    /// The server answered with a redirect, which is never followed.
    #[error("the server answered with a redirect (HTTP {status}){to}, which is not followed: the document must be served at this exact address", status = .status.as_u16(), to = redirect_target(.location.as_deref()))]
    Redirected {
        /// The status received.
        status: StatusCode,
        /// Where the redirect pointed, when it was a readable URL (shortened).
        location: Option<String>,
    },
    /// The body is larger than the limit.
    #[error("the response is larger than {} KiB", .max / 1024)]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
}

impl FetchError {
    /// A stable, machine-readable code: the guard's code for refusals, else `unreachable`, `http_status`,
    /// `redirected` or `response_too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Refused(error) => error.code(),
            FetchError::Unreachable(_) => "unreachable",
            FetchError::Status { .. } => "http_status",
            FetchError::Redirected { .. } => "redirected",
            FetchError::TooLarge { .. } => "response_too_large",
        }
    }
}

fn redirect_target(location: Option<&str>) -> String {
    location.map(|to| format!(" to {to}")).unwrap_or_default()
}

/// How a request failed on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkFailure {
    /// The host name could not be resolved, or has no address.
    Dns {
        /// The host name.
        host: String,
    },
    /// The server refused the connection (nothing listens on that port).
    ConnectionRefused,
    /// No complete answer arrived in time.
    TimedOut {
        /// The time allowed.
        after: Duration,
    },
    /// The connection could not be made, for another reason (a TLS certificate problem, for instance).
    Connect {
        /// The innermost cause, shortened.
        detail: String,
    },
    /// The connection broke while the request was sent or the answer read.
    Transfer {
        /// The innermost cause, shortened.
        detail: String,
    },
}

impl fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkFailure::Dns { host } => write!(
                f,
                "the host name {} could not be resolved (DNS)",
                shown(host)
            ),
            NetworkFailure::ConnectionRefused => f.write_str("the server refused the connection"),
            NetworkFailure::TimedOut { after } => write!(
                f,
                "the server did not answer within {} seconds",
                after.as_secs_f64()
            ),
            NetworkFailure::Connect { detail } => {
                write!(f, "the connection to the server failed ({detail})")
            }
            NetworkFailure::Transfer { detail } => {
                write!(
                    f,
                    "the connection broke while reading the answer ({detail})"
                )
            }
        }
    }
}

/// Whether `ip` is a public unicast address, one that requests to customer-supplied URLs may reach.
///
/// Refused: unspecified, "this network" (0/8), loopback, private (10/8, 172.16/12, 192.168/16), shared
/// (100.64/10), link-local (169.254/16 with the cloud metadata address, fe80::/10), IETF protocol
/// assignments (192.0.0/24, 2001::/23 with Teredo), documentation, benchmarking (198.18/15), the former
/// 6to4 relay anycast (192.88.99/24), reserved (240/4 with broadcast), multicast, unique local (fc00::/7),
/// site-local (fec0::/10), every IPv6 address outside global unicast (2000::/3), IPv4-compatible IPv6
/// (deprecated), and IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses
/// whose IPv4 address is refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    if ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
    {
        return false;
    }
    // The other ranges are listed by hand: std's `is_shared`, `is_benchmarking`, `is_reserved` and
    // `is_global` are unstable, and the crates that copy them (ip_rfc, for one) are unmaintained snapshots
    // that also treat 192.0.0.9 and 192.0.0.10 as global, which this guard has no reason to allow.
    !REFUSED_V4
        .iter()
        .any(|&(network, prefix)| in_v4_network(ip, network, prefix))
}

/// IPv4 networks refused beyond those std's stable predicates recognise, as (network, prefix length).
const REFUSED_V4: [([u8; 4], u32); 6] = [
    // "This network" (RFC 791): only 0.0.0.0 is `is_unspecified`, yet Linux connects 0.x.y.z locally.
    ([0, 0, 0, 0], 8),
    // Shared address space for carrier-grade NAT (RFC 6598).
    ([100, 64, 0, 0], 10),
    // IETF protocol assignments (RFC 6890).
    ([192, 0, 0, 0], 24),
    // The former 6to4 relay anycast prefix (RFC 7526).
    ([192, 88, 99, 0], 24),
    // Benchmarking (RFC 2544).
    ([198, 18, 0, 0], 15),
    // Reserved for future use (RFC 1112), which includes the broadcast address.
    ([240, 0, 0, 0], 4),
];

fn in_v4_network(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from_be_bytes(network) & mask
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
    {
        return false;
    }
    // Addresses that carry an IPv4 address reach it (through the kernel, a NAT64 gateway or a 6to4 relay),
    // so they are judged by it.
    if let Some(embedded) = ip.to_ipv4_mapped() {
        return is_public_v4(embedded);
    }
    let segments = ip.segments();
    let octets = ip.octets();
    let embedded_at = |first: usize| {
        Ipv4Addr::new(
            octets[first],
            octets[first + 1],
            octets[first + 2],
            octets[first + 3],
        )
    };
    // NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): the IPv4 address is the last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_at(12));
    }
    // 6to4, 2002::/16 (RFC 3056): the IPv4 address follows the prefix.
    if segments[0] == 0x2002 {
        return is_public_v4(embedded_at(2));
    }
    // Only global unicast (2000::/3) is public. This also refuses IPv4-compatible addresses (::/96,
    // deprecated and never published legitimately), the local-use NAT64 prefix 64:ff9b:1::/48, the discard
    // prefix 100::/64 and site-local fec0::/10, none of which std recognises on stable.
    if segments[0] & 0xe000 != 0x2000 {
        return false;
    }
    !REFUSED_V6
        .iter()
        .any(|&(network, prefix)| in_v6_network(ip, network, prefix))
}

/// Networks inside 2000::/3 that are not public, as (network, prefix length).
const REFUSED_V6: [([u16; 8], u32); 3] = [
    // IETF protocol assignments (RFC 2928): Teredo (2001::/32, which embeds an IPv4 address),
    // benchmarking (2001:2::/48) and ORCHID.
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
    // Documentation (RFC 3849).
    ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32),
    // Documentation (RFC 9637).
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
];

fn in_v6_network(ip: Ipv6Addr, network: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(network)) & mask
}

/// Refuses a URL the policy does not allow to be fetched: a scheme other than `https` (or `http` when
/// private destinations are allowed), a user name or password, and, unless private destinations are
/// allowed, the host `localhost` (or a name below it) and IP-literal hosts outside the public ranges.
///
/// Host names are checked again when they are resolved, by the [`EgressClient`]'s resolver; this check is
/// what covers IP literals, which the HTTP client connects to without resolving.
pub fn check_url(url: &Url, policy: &EgressPolicy) -> Result<(), EgressError> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        scheme => {
            return Err(EgressError::InsecureScheme {
                scheme: scheme.to_owned(),
                http_allowed: policy.allow_private,
            });
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EgressError::Credentials);
    }
    let host = url.host().ok_or(EgressError::MissingHost)?;
    if policy.allow_private {
        return Ok(());
    }
    let address = match host {
        Host::Domain(domain) => {
            let name = domain.strip_suffix('.').unwrap_or(domain);
            let local = name.eq_ignore_ascii_case("localhost")
                || name
                    .len()
                    .checked_sub(".localhost".len())
                    .and_then(|start| name.get(start..))
                    .is_some_and(|suffix| suffix.eq_ignore_ascii_case(".localhost"));
            if local {
                return Err(EgressError::ForbiddenHost {
                    host: domain.to_owned(),
                });
            }
            return Ok(());
        }
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
    };
    if is_public(address) {
        Ok(())
    } else {
        Err(EgressError::ForbiddenAddress { address })
    }
}

/// The addresses among `resolved` that the policy allows, or why none is left: the filter of the
/// [`EgressClient`]'s resolver.
pub fn allowed_addresses(
    host: &str,
    resolved: impl IntoIterator<Item = SocketAddr>,
    policy: &EgressPolicy,
) -> Result<Vec<SocketAddr>, EgressError> {
    let mut allowed = Vec::new();
    let mut refused = None;
    for address in resolved {
        if policy.allow_private || is_public(address.ip()) {
            allowed.push(address);
        } else {
            refused.get_or_insert(address.ip());
        }
    }
    match refused {
        _ if !allowed.is_empty() => Ok(allowed),
        Some(address) => Err(EgressError::NoPublicAddress {
            host: host.to_owned(),
            address,
        }),
        None => Err(EgressError::NoAddresses {
            host: host.to_owned(),
        }),
    }
}

/// Resolves host names with the system resolver and returns only the addresses the policy allows, so the
/// HTTP client can only connect to an address that was checked.
#[derive(Debug)]
struct GuardedResolver {
    policy: EgressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy;
        Box::pin(async move {
            // Port 0 is replaced by the URL's port (or the scheme's default) by the HTTP client.
            let resolved = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| EgressError::Resolve { host: host.clone() })?;
            let allowed = allowed_addresses(&host, resolved, &policy)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client for customer-supplied URLs, with the guard built in.
#[derive(Debug, Clone)]
pub struct EgressClient {
    http: reqwest::Client,
    policy: EgressPolicy,
    timeout: Duration,
}

impl EgressClient {
    /// A client that enforces `policy`, with [`CONNECT_TIMEOUT`] and [`REQUEST_TIMEOUT`].
    pub fn new(policy: EgressPolicy) -> Result<EgressClient, EgressError> {
        EgressClient::with_timeouts(policy, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    fn with_timeouts(
        policy: EgressPolicy,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<EgressClient, EgressError> {
        let http = reqwest::Client::builder()
            // A redirect could lead anywhere, including past the guard of `check_url`: never follow one.
            .redirect(Policy::none())
            // A proxy from the environment would resolve and connect on the backend's behalf, bypassing
            // the resolver below.
            .no_proxy()
            .https_only(!policy.allow_private)
            // The resolver is used even when private addresses are allowed, so that DNS failures are
            // recognised the same way in development as in production.
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .build()
            .map_err(|error| EgressError::ClientSetup(error.to_string()))?;
        Ok(EgressClient {
            http,
            policy,
            timeout,
        })
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// GETs `url` asking for JSON, and returns the body of a 200 answer, at most [`MAX_BODY_BYTES`] long.
    /// The URL is checked with [`check_url`] first; redirects are reported, never followed.
    pub async fn get_json(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        check_url(url, &self.policy).map_err(FetchError::Refused)?;
        let response = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| self.failure(&error, false))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| url.join(value).ok())
                .map(|target| shown(target.as_str()));
            return Err(FetchError::Redirected { status, location });
        }
        if status != StatusCode::OK {
            return Err(FetchError::Status { status });
        }
        self.read_capped(response, MAX_BODY_BYTES).await
    }

    /// Reads the body in chunks and stops as soon as it exceeds `max` bytes: a `Content-Length` over the
    /// limit is refused at once, but a smaller one (or none) is not trusted.
    async fn read_capped(&self, mut response: Response, max: usize) -> Result<Vec<u8>, FetchError> {
        if response
            .content_length()
            .is_some_and(|length| length > max as u64)
        {
            return Err(FetchError::TooLarge { max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.failure(&error, true))?
        {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// What a failed request means. The guard's own refusals and DNS failures come back from the resolver
    /// inside the client's error, and are found in its chain of causes.
    fn failure(&self, error: &reqwest::Error, reading: bool) -> FetchError {
        let mut causes = Vec::new();
        let mut cause = error.source();
        while let Some(current) = cause {
            causes.push(current);
            cause = current.source();
        }
        if let Some(egress) = causes
            .iter()
            .find_map(|cause| cause.downcast_ref::<EgressError>())
        {
            return match egress {
                EgressError::Resolve { host } | EgressError::NoAddresses { host } => {
                    FetchError::Unreachable(NetworkFailure::Dns { host: host.clone() })
                }
                refused => FetchError::Refused(refused.clone()),
            };
        }
        if error.is_timeout() {
            return FetchError::Unreachable(NetworkFailure::TimedOut {
                after: self.timeout,
            });
        }
        let refused = causes.iter().any(|cause| {
            cause
                .downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::ConnectionRefused)
        });
        if refused {
            return FetchError::Unreachable(NetworkFailure::ConnectionRefused);
        }
        let innermost: &dyn StdError = causes.last().copied().unwrap_or(error);
        let detail = shown(&innermost.to_string());
        FetchError::Unreachable(if reading || !error.is_connect() {
            NetworkFailure::Transfer { detail }
        } else {
            NetworkFailure::Connect { detail }
        })
    }
}

/// `text` as it may appear in an error message: at most [`MAX_SHOWN_CHARS`] characters, control characters
/// replaced, so a long or hostile value cannot flood or garble a message.
pub(crate) fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_SHOWN_CHARS)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().nth(MAX_SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpListener;

    use super::*;

    const PRODUCTION: EgressPolicy = EgressPolicy {
        allow_private: false,
    };
    const DEVELOPMENT: EgressPolicy = EgressPolicy {
        allow_private: true,
    };

    fn ip(text: &str) -> IpAddr {
        IpAddr::from_str(text).unwrap()
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "20.190.128.1",
            "52.94.1.1",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.255.255",
            "169.255.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.88.98.1",
            "192.167.255.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2603:1006:2000::1",
            "2001:200::1",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(address)), "{address} should be public");
        }
    }

    #[test]
    fn non_public_addresses_are_refused() {
        for address in [
            // IPv4: unspecified and "this network".
            "0.0.0.0",
            "0.1.2.3",
            // Loopback.
            "127.0.0.1",
            "127.255.255.254",
            // Private.
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            // Link-local, with the cloud metadata service.
            "169.254.0.1",
            "169.254.169.254",
            "169.254.170.2",
            // Shared address space (carrier-grade NAT).
            "100.64.0.1",
            "100.127.255.255",
            // IETF protocol assignments.
            "192.0.0.1",
            "192.0.0.9",
            "192.0.0.170",
            // Documentation.
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            // Former 6to4 relay anycast.
            "192.88.99.1",
            // Benchmarking.
            "198.18.0.1",
            "198.19.255.255",
            // Multicast, reserved and broadcast.
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "254.1.2.3",
            "255.255.255.255",
            // IPv6: unspecified, loopback.
            "::",
            "::1",
            // IPv4-mapped addresses of refused IPv4 addresses.
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::ffff:100.64.0.1",
            // IPv4-compatible addresses (deprecated), whatever they embed.
            "::127.0.0.1",
            "::169.254.169.254",
            "::8.8.8.8",
            // NAT64 of refused IPv4 addresses, and the local-use NAT64 prefix.
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::c0a8:101",
            "64:ff9b:1::808:808",
            // 6to4 embedding refused IPv4 addresses.
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2002:a00:1::",
            // Unique local, with the AWS instance metadata service's IPv6 address.
            "fc00::1",
            "fd00:ec2::254",
            "fdff:ffff::1",
            // Link-local and site-local.
            "fe80::1",
            "febf::1",
            "fec0::1",
            "feff::1",
            // Multicast.
            "ff02::1",
            "ff0e::1",
            // Discard, documentation, IETF protocol assignments (Teredo, benchmarking, ORCHID).
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:20::1",
            // Outside global unicast.
            "4000::1",
            "e000::1",
        ] {
            assert!(!is_public(ip(address)), "{address} should be refused");
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn code_of(result: Result<(), EgressError>) -> &'static str {
        result.err().map_or("ok", |error| error.code())
    }

    #[test]
    fn check_url_refuses_what_the_policy_does_not_allow() {
        for (text, production, development) in [
            ("https://login.microsoftonline.com/x/v2.0", "ok", "ok"),
            ("https://example.okta.com", "ok", "ok"),
            ("https://8.8.8.8/", "ok", "ok"),
            ("https://[2606:4700:4700::1111]/", "ok", "ok"),
            ("http://login.example.com/", "insecure_url", "ok"),
            ("http://127.0.0.1:9230/t/v2.0", "insecure_url", "ok"),
            ("ftp://example.com/", "insecure_url", "insecure_url"),
            ("file:///etc/passwd", "insecure_url", "insecure_url"),
            ("javascript:alert(1)", "insecure_url", "insecure_url"),
            ("https://user@example.com/", "insecure_url", "insecure_url"),
            (
                "https://user:pw@example.com/",
                "insecure_url",
                "insecure_url",
            ),
            ("https://:pw@example.com/", "insecure_url", "insecure_url"),
            ("https://localhost/", "forbidden_address", "ok"),
            ("https://LOCALHOST./", "forbidden_address", "ok"),
            ("https://idp.localhost/", "forbidden_address", "ok"),
            ("https://127.0.0.1/", "forbidden_address", "ok"),
            ("https://2130706433/", "forbidden_address", "ok"),
            ("https://0x7f.1/", "forbidden_address", "ok"),
            (
                "https://169.254.169.254/latest/meta-data/",
                "forbidden_address",
                "ok",
            ),
            ("https://10.1.2.3/", "forbidden_address", "ok"),
            ("https://[::1]/", "forbidden_address", "ok"),
            (
                "https://[::ffff:169.254.169.254]/",
                "forbidden_address",
                "ok",
            ),
            ("https://[fd00:ec2::254]/", "forbidden_address", "ok"),
            ("https://[fe80::1]/", "forbidden_address", "ok"),
            ("https://[64:ff9b::a9fe:a9fe]/", "forbidden_address", "ok"),
            ("https://notlocalhost.example/", "ok", "ok"),
            ("https://localhost.example.com/", "ok", "ok"),
        ] {
            let parsed = url(text);
            assert_eq!(
                code_of(check_url(&parsed, &PRODUCTION)),
                production,
                "{text} in production"
            );
            assert_eq!(
                code_of(check_url(&parsed, &DEVELOPMENT)),
                development,
                "{text} in development"
            );
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let message = |text: &str| {
            check_url(&url(text), &PRODUCTION)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            message("http://example.com/"),
            "the URL must start with https://, not http://"
        );
        assert_eq!(
            message("https://169.254.169.254/"),
            "169.254.169.254 is a private, loopback, link-local or otherwise reserved address, which \
             is not allowed"
        );
        assert_eq!(
            message("https://a:b@example.com/"),
            "the URL must not contain a user name or password"
        );
    }

    fn socket(text: &str) -> SocketAddr {
        SocketAddr::new(ip(text), 0)
    }

    #[test]
    fn the_resolver_keeps_only_public_addresses() {
        let resolved = [
            socket("127.0.0.1"),
            socket("93.184.215.14"),
            socket("::1"),
            socket("10.0.0.8"),
            socket("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
        ];
        assert_eq!(
            allowed_addresses("mixed.example", resolved, &PRODUCTION).unwrap(),
            vec![
                socket("93.184.215.14"),
                socket("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
            ]
        );
        assert_eq!(
            allowed_addresses("mixed.example", resolved, &DEVELOPMENT)
                .unwrap()
                .len(),
            5
        );

        let rebinding = [
            socket("169.254.169.254"),
            socket("::ffff:127.0.0.1"),
            socket("fd00::1"),
        ];
        let error = allowed_addresses("rebind.example", rebinding, &PRODUCTION).unwrap_err();
        assert_eq!(
            error,
            EgressError::NoPublicAddress {
                host: "rebind.example".into(),
                address: ip("169.254.169.254"),
            }
        );
        assert_eq!(error.code(), "forbidden_address");

        let error = allowed_addresses("empty.example", [], &PRODUCTION).unwrap_err();
        assert_eq!(error.code(), "unreachable");
    }

    /// A listener on 127.0.0.1 and the port it has.
    async fn listener() -> (TcpListener, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }

    /// Asserts that nobody connected to `listener`.
    async fn assert_not_contacted(listener: &TcpListener) {
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the guard let a connection through");
    }

    #[tokio::test]
    async fn a_host_name_resolving_to_loopback_is_refused_before_connecting() {
        let (listener, port) = listener().await;
        let client = EgressClient::new(PRODUCTION).unwrap();
        // `check_url` refuses `localhost` by name already; the raw client shows that the resolver refuses
        // it by address too, as it would any name resolving to a private address.
        let error = client
            .http
            .get(format!("https://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        match client.failure(&error, false) {
            FetchError::Refused(refused @ EgressError::NoPublicAddress { .. }) => {
                assert_eq!(refused.code(), "forbidden_address");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_not_contacted(&listener).await;
    }

    #[tokio::test]
    async fn ip_literals_and_localhost_are_refused_before_connecting() {
        let (listener, port) = listener().await;
        let client = EgressClient::new(PRODUCTION).unwrap();
        for text in [
            format!("https://127.0.0.1:{port}/"),
            format!("https://localhost:{port}/"),
            format!("https://[::ffff:127.0.0.1]:{port}/"),
        ] {
            let error = client.get_json(&url(&text)).await.unwrap_err();
            assert_eq!(error.code(), "forbidden_address", "{text}");
        }
        let error = client
            .get_json(&url(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "insecure_url");
        assert_not_contacted(&listener).await;
    }

    #[tokio::test]
    async fn a_closed_port_is_reported_as_refused() {
        let (listener, port) = listener().await;
        drop(listener);
        let client = EgressClient::new(DEVELOPMENT).unwrap();
        let error = client
            .get_json(&url(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                FetchError::Unreachable(NetworkFailure::ConnectionRefused)
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let (listener, port) = listener().await;
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 1024];
            // Read the request and never answer.
            let _ = stream.read(&mut buffer).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let client = EgressClient::with_timeouts(
            DEVELOPMENT,
            Duration::from_millis(300),
            Duration::from_millis(300),
        )
        .unwrap();
        let error = client
            .get_json(&url(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                FetchError::Unreachable(NetworkFailure::TimedOut { .. })
            ),
            "{error:?}"
        );
        assert_eq!(error.code(), "unreachable");
        server.abort();
    }

    #[test]
    fn shown_text_is_short_and_free_of_control_characters() {
        assert_eq!(shown("a\nb"), "a\u{fffd}b");
        let long = "x".repeat(MAX_SHOWN_CHARS + 50);
        assert_eq!(shown(&long).chars().count(), MAX_SHOWN_CHARS + 1);
        assert_eq!(shown("short"), "short");
    }
}
