//! What a handler needs to know about the request besides the caller: the client's address, recorded in the
//! audit log as "from where".

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::auth::Principal;
use crate::db::audit::Actor;

/// The client's IP address: the TCP peer, or with `TRUST_X_FORWARDED_FOR` the address the trusted proxy
/// appended to `X-Forwarded-For`. `None` when neither is known (for example in a router driven without a
/// socket). Never fails: an address is information for the audit log, not a reason to refuse a request.
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
            return Ok(ClientIp(forwarded_for(&parts.headers).or(peer)));
        }
        Ok(ClientIp(peer))
    }
}

/// The last address of the last `X-Forwarded-For` header: the one the nearest proxy appended. Earlier entries
/// were written by the client or by proxies we do not control and prove nothing.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last_header = headers.get_all("x-forwarded-for").iter().next_back()?;
    let last_entry = last_header.to_str().ok()?.rsplit(',').next()?;
    last_entry.trim().parse().ok()
}

/// The caller as the audit log records them.
pub fn actor(principal: &Principal) -> Actor {
    Actor {
        id: principal.member_id,
        name: principal.name.clone(),
        email: principal.email.clone(),
    }
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
