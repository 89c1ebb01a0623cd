//! The client's address: recorded in the audit log as "from where", and the key of the sign-in rate limit.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::state::AppState;

/// The client's IP address: the TCP peer, or with `TRUST_X_FORWARDED_FOR` the address the trusted proxy
/// appended to `X-Forwarded-For`. When that address lies in `TRUSTED_PROXY_CIDRS` (on AWS the VPC: the request
/// came through the API Gateway's VPC link, so the load balancer saw the link, not the client), the client is
/// the last `for=` of the last `Forwarded` header, which API Gateway appends. `None` when nothing is known
/// (for example in a router driven without a socket). Never fails: an address is information for the audit
/// log, not a reason to refuse a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        if state.config.trust_x_forwarded_for {
            return Ok(ClientIp(client_behind_proxies(
                &parts.headers,
                &state.config.trusted_proxy_networks,
                peer,
            )));
        }
        Ok(ClientIp(peer))
    }
}

/// The client's address behind the trusted load balancer (see [`ClientIp`]).
fn client_behind_proxies(
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    let appended = forwarded_for(headers).or(peer)?;
    if !trusted.iter().any(|network| network.contains(&appended)) {
        return Some(appended);
    }
    // A trusted proxy of ours (API Gateway's VPC link) spoke to the load balancer; the address it appended
    // to `Forwarded` is the client's. Without one, the proxy's own address is all there is.
    Some(forwarded_header_for(headers).unwrap_or(appended))
}

/// The last `for=` of the last `Forwarded` header (RFC 7239): the one the nearest proxy that writes that
/// header appended. Quoted and bracketed IPv6 forms and ports are understood; anything else is no address.
fn forwarded_header_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last_header = headers.get_all("forwarded").iter().next_back()?;
    let text = last_header.to_str().ok()?;
    let value = text
        .split([',', ';'])
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("for")
                .then(|| value.trim())
        })
        .next_back()?;
    let value = value.trim_matches('"');
    if let Some(bracketed) = value.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    value
        .parse()
        .ok()
        .or_else(|| value.rsplit_once(':')?.0.parse().ok())
}

/// The last address of the last `X-Forwarded-For` header: the one the nearest proxy appended. Earlier entries
/// were written by the client or by proxies we do not control and prove nothing.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last_header = headers.get_all("x-forwarded-for").iter().next_back()?;
    let last_entry = last_header.to_str().ok()?.rsplit(',').next()?;
    last_entry.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_the_last_forwarded_address_counts() {
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 10.0.0.1"),
        );
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 203.0.113.9"),
        );
        assert_eq!(forwarded_for(&headers), "203.0.113.9".parse().ok());
    }

    fn vpc() -> Vec<ipnet::IpNet> {
        vec!["10.40.0.0/16".parse().unwrap()]
    }

    #[test]
    fn behind_the_load_balancer_alone_the_appended_address_is_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        // A client's own Forwarded header proves nothing on this path.
        headers.insert("forwarded", HeaderValue::from_static("for=6.6.6.6"));
        assert_eq!(
            client_behind_proxies(&headers, &vpc(), None),
            "203.0.113.9".parse().ok()
        );
    }

    #[test]
    fn through_api_gateway_the_address_it_appended_to_forwarded_is_the_client() {
        let mut headers = HeaderMap::new();
        // The load balancer saw the VPC link.
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 10.40.3.7"),
        );
        headers.insert(
            "forwarded",
            HeaderValue::from_static(
                "for=6.6.6.6;proto=https, for=198.51.100.4;host=abc.execute-api.eu-west-1.amazonaws.com;proto=https",
            ),
        );
        assert_eq!(
            client_behind_proxies(&headers, &vpc(), None),
            "198.51.100.4".parse().ok()
        );
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=\"[2001:db8::1]:4711\";proto=https"),
        );
        assert_eq!(
            client_behind_proxies(&headers, &vpc(), None),
            "2001:db8::1".parse().ok()
        );
        // Without the header, the link's address is all there is; without trusted networks, likewise.
        headers.remove("forwarded");
        assert_eq!(
            client_behind_proxies(&headers, &vpc(), None),
            "10.40.3.7".parse().ok()
        );
    }

    #[test]
    fn an_unreadable_forwarded_address_is_no_address() {
        let mut headers = HeaderMap::new();
        assert_eq!(forwarded_for(&headers), None);
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, nonsense"),
        );
        assert_eq!(forwarded_for(&headers), None);
    }
}
