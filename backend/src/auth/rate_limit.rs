//! The rate limit of sign-in starts (`GET /auth/login`) per client address, in this backend instance's memory
//! (GCRA through `governor`): each start costs the user pool and the identity provider a round of work, so one
//! address may start only so many per minute (`SIGN_IN_STARTS_PER_MINUTE`, with as many at once).
//!
//! The client address is [`crate::client_ip::ClientIp`]'s (the TCP peer, or what the trusted proxies
//! appended). IPv6 clients are counted per /64, the block one subscriber usually holds, so rotating through
//! addresses of one network gains nothing. Every instance counts on its own: behind a load balancer with `n`
//! instances an address may start up to `n` times the limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Above this many tracked addresses, those whose allowance is full again are forgotten.
const TRACKED_ADDRESSES_BEFORE_CLEANUP: usize = 10_000;
/// The clean-up scans every tracked address, so it runs at most once per this many checks.
const CHECKS_BETWEEN_CLEANUPS: u64 = 1_000;

/// Sign-in starts per client address.
#[derive(Debug)]
pub struct SignInLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl SignInLimiter {
    /// A limiter allowing `per_minute` starts per minute and address, as many of them at once.
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        SignInLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one sign-in start from `client`; 429 with the seconds to wait when the address has none left.
    /// A request without a known address counts against one shared allowance.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let checks = self.checks.fetch_add(1, Ordering::Relaxed);
        if checks.is_multiple_of(CHECKS_BETWEEN_CLEANUPS)
            && self.limiter.len() > TRACKED_ADDRESSES_BEFORE_CLEANUP
        {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&rate_key(client)) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                // Whole seconds, rounded up: a client that waits as told is let through.
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::TooManyRequests {
                    retry_after_secs: retry_after_secs.max(1),
                })
            }
        }
    }
}

/// The key an address is counted under: IPv4 addresses as they are, IPv6 addresses by their /64 (an
/// IPv4-mapped IPv6 address as the IPv4 address it is).
fn rate_key(client: Option<IpAddr>) -> IpAddr {
    match client {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V4(v4)) => IpAddr::V4(v4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(value: &str) -> Option<IpAddr> {
        Some(value.parse().unwrap())
    }

    #[test]
    fn an_address_gets_its_allowance_and_then_a_429_with_retry_after() {
        let limiter = SignInLimiter::new(3);
        for _ in 0..3 {
            limiter.check(ip("192.0.2.1")).unwrap();
        }
        let refused = limiter.check(ip("192.0.2.1")).unwrap_err();
        let ApiError::TooManyRequests { retry_after_secs } = refused else {
            panic!("{refused:?}");
        };
        // One start comes back every 20 seconds.
        assert!((1..=20).contains(&retry_after_secs), "{retry_after_secs}");
        limiter
            .check(ip("192.0.2.2"))
            .expect("another address has its own allowance");
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_an_allowance() {
        let limiter = SignInLimiter::new(1);
        limiter.check(ip("2001:db8:1:2::1")).unwrap();
        assert!(limiter.check(ip("2001:db8:1:2:ffff::7")).is_err());
        limiter
            .check(ip("2001:db8:1:3::1"))
            .expect("the next /64 is someone else");
        assert_eq!(
            rate_key(ip("::ffff:192.0.2.9")),
            "192.0.2.9".parse::<IpAddr>().unwrap()
        );
    }
}
