//! A bounded cache of verified access tokens, so that a client sending the same token on every request pays
//! for the RSA signature check once.
//!
//! An entry is found by the SHA-256 of the token's signed part (`header.payload`) and holds the token's
//! signature, which must be the presented one too, so a token that differs in any byte, a tampered one
//! included, never finds another token's entry. That digest is also what the RSA check verifies the
//! signature against, so a token seen for the first time is hashed once, not once for the cache and again for
//! the signature. The cache holds no bearer token: a digest and a signature cannot be presented. An entry is served only while the token's `exp` has not passed (without
//! the leeway: past `exp` the token goes through full verification again, which applies the leeway) and
//! only while its issuer's key set is the one it was verified against: each entry records the issuer's key
//! generation, and a JWKS that changes the keys moves the generation on, so a withdrawn key stops verifying
//! exactly as it does without the cache. The cache holds at most `capacity` entries and evicts the oldest
//! inserted first.
//!
//! Nothing else a verification decides can change while a token stays the same: its claims are fixed by its
//! signature, and `nbf` and `iat` only become more acceptable as time passes. Membership, role, status and
//! revocation of the token's sign-in are not the verifier's business; they are read from the database on every
//! request after verification, so a cached token of a revoked sign-in is refused like a fresh one.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use aws_lc_rs::digest::{Digest, SHA256, digest};

use super::VerifiedAccessToken;

/// Where a token's entry is: the SHA-256 of its signed part, and its signature as written.
#[derive(Debug)]
pub(super) struct TokenKey<'t> {
    signed_digest: Digest,
    signature: &'t str,
}

impl<'t> TokenKey<'t> {
    /// The key of a compact token, split at its last dot; `None` when it has none (it is no JWS then).
    pub(super) fn of(token: &'t str) -> Option<Self> {
        let (signed, signature) = token.rsplit_once('.')?;
        Some(Self {
            signed_digest: digest(&SHA256, signed.as_bytes()),
            signature,
        })
    }

    /// The SHA-256 of the signed part, as the RSA check takes it.
    pub(super) fn signed_digest(&self) -> &Digest {
        &self.signed_digest
    }

    fn digest(&self) -> TokenDigest {
        let mut bytes = [0; 32];
        bytes.copy_from_slice(self.signed_digest.as_ref());
        TokenDigest(bytes)
    }
}

/// The SHA-256 of a token's signed part, as the map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TokenDigest([u8; 32]);

impl Hash for TokenDigest {
    /// Eight bytes of the digest are already as good a hash as any: SHA-256 output is uniform, and nobody can
    /// choose tokens whose digests collide in them. Hashing them again with the standard library's SipHash
    /// (which resists chosen keys) would only add time to every request.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut prefix = [0; 8];
        prefix.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_ne_bytes(prefix));
    }
}

/// The hasher of the digest-keyed map: it keeps the `u64` a [`TokenDigest`] hashes to.
#[derive(Debug, Default)]
struct DigestPrefixHasher(u64);

impl Hasher for DigestPrefixHasher {
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    /// Only [`TokenDigest`]s are hashed with this hasher, through `write_u64`; anything else is folded in
    /// byte by byte, correct if slow.
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A verified token and the key generation of its issuer at the time it was verified.
#[derive(Debug)]
struct Entry {
    /// The third part of the token, as it was presented.
    signature: Box<str>,
    token: Arc<VerifiedAccessToken>,
    key_generation: u64,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<TokenDigest, Entry, BuildHasherDefault<DigestPrefixHasher>>,
    /// Every key of `entries` exactly once, oldest insertion first.
    order: VecDeque<TokenDigest>,
}

/// Verified tokens by digest; see the module documentation for what makes an entry usable.
#[derive(Debug)]
pub(super) struct TokenCache {
    capacity: usize,
    state: RwLock<State>,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; 0 caches nothing.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: RwLock::new(State::default()),
        }
    }

    /// The verified token cached under `key`, if its `exp` is still after `now` (seconds since the epoch)
    /// and `current_generation` gives the key generation its issuer is at now.
    pub(super) fn get(
        &self,
        key: &TokenKey<'_>,
        now: i64,
        current_generation: impl FnOnce(&str) -> Option<u64>,
    ) -> Option<Arc<VerifiedAccessToken>> {
        if self.capacity == 0 {
            return None;
        }
        let state = self.read();
        let entry = state.entries.get(&key.digest())?;
        let usable = *entry.signature == *key.signature
            && now < entry.token.expires_at
            && current_generation(&entry.token.issuer) == Some(entry.key_generation);
        usable.then(|| Arc::clone(&entry.token))
    }

    /// Caches `token`, verified while its issuer's keys were at `key_generation`. When the cache is full,
    /// the oldest entries make room. A token already cached gets the new generation and keeps its place.
    pub(super) fn insert(
        &self,
        key: &TokenKey<'_>,
        token: Arc<VerifiedAccessToken>,
        key_generation: u64,
    ) {
        if self.capacity == 0 {
            return;
        }
        let digest = key.digest();
        let mut state = self.write();
        let entry = Entry {
            signature: key.signature.into(),
            token,
            key_generation,
        };
        if let Some(existing) = state.entries.get_mut(&digest) {
            *existing = entry;
            return;
        }
        while state.entries.len() >= self.capacity {
            let Some(oldest) = state.order.pop_front() else {
                break;
            };
            state.entries.remove(&oldest);
        }
        state.entries.insert(digest, entry);
        state.order.push_back(digest);
    }

    /// Drops the entry of the token under `key`, if there is one: the token's sign-in ended, so it will not be
    /// asked for again (and were it asked, the revocation check after verification would refuse it anyway).
    pub(super) fn remove(&self, key: &TokenKey<'_>) {
        let digest = key.digest();
        let mut state = self.write();
        let same_token = state
            .entries
            .get(&digest)
            .is_some_and(|entry| *entry.signature == *key.signature);
        if same_token {
            state.entries.remove(&digest);
            // A linear pass over at most `capacity` digests, on a sign-out: rare next to lookups.
            state.order.retain(|kept| *kept != digest);
        }
    }

    /// How many entries the cache holds (expired and stale ones included, until evicted).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.read().entries.len()
    }

    // Every change to the state completes before the guard is released and no code inside the lock can
    // panic halfway through one, so a poisoned lock still guards a consistent state.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";

    fn verified(sub: &str, expires_at: i64) -> Arc<VerifiedAccessToken> {
        Arc::new(VerifiedAccessToken {
            issuer: ISSUER.to_owned(),
            sub: sub.to_owned(),
            client_id: "client".to_owned(),
            username: None,
            scopes: Vec::new(),
            expires_at,
            issued_at: expires_at - 3600,
            jti: None,
            origin_jti: None,
            auth_time: None,
            tenant_id: None,
            member_id: None,
        })
    }

    fn digest(token: &str) -> TokenKey<'_> {
        TokenKey::of(token).unwrap()
    }

    fn generation(value: u64) -> impl FnOnce(&str) -> Option<u64> {
        move |issuer| (issuer == ISSUER).then_some(value)
    }

    #[test]
    fn a_cached_token_is_served_until_its_exp_and_not_a_second_longer() {
        let cache = TokenCache::new(10);
        let key = digest("a.b.c");
        cache.insert(&key, verified("alice", 1_000), 0);

        assert_eq!(
            cache.get(&key, 999, generation(0)).map(|t| t.sub.clone()),
            Some("alice".to_owned())
        );
        assert!(cache.get(&key, 1_000, generation(0)).is_none());
        assert!(cache.get(&key, 5_000, generation(0)).is_none());
    }

    #[test]
    fn an_entry_verified_under_other_keys_is_not_served() {
        let cache = TokenCache::new(10);
        let key = digest("a.b.c");
        cache.insert(&key, verified("alice", 1_000), 3);

        assert!(cache.get(&key, 10, generation(3)).is_some());
        assert!(cache.get(&key, 10, generation(4)).is_none());
        assert!(cache.get(&key, 10, |_| None).is_none());
    }

    #[test]
    fn tokens_differing_in_any_byte_have_different_entries() {
        let cache = TokenCache::new(10);
        cache.insert(
            &digest("header.payload.signature"),
            verified("alice", 1_000),
            0,
        );

        for other in [
            "header.payload.signaturf",
            "header.payloae.signature",
            "header.payload.signature.",
            "header.payload.signatur",
            "Header.payload.signature",
        ] {
            assert!(
                cache.get(&digest(other), 10, generation(0)).is_none(),
                "{other}"
            );
        }
        assert!(
            cache
                .get(&digest("header.payload.signature"), 10, generation(0))
                .is_some()
        );
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity_and_evicts_the_oldest_first() {
        let cache = TokenCache::new(3);
        for n in 0..5 {
            cache.insert(
                &digest(&format!("header.payload-{n}.signature")),
                verified(&format!("user-{n}"), 1_000),
                0,
            );
            assert!(cache.len() <= 3);
        }

        assert_eq!(cache.len(), 3);
        for n in 0..2 {
            assert!(
                cache
                    .get(
                        &digest(&format!("header.payload-{n}.signature")),
                        10,
                        generation(0)
                    )
                    .is_none()
            );
        }
        for n in 2..5 {
            assert!(
                cache
                    .get(
                        &digest(&format!("header.payload-{n}.signature")),
                        10,
                        generation(0)
                    )
                    .is_some()
            );
        }
    }

    #[test]
    fn caching_a_token_again_updates_its_generation_without_growing_the_cache() {
        let cache = TokenCache::new(2);
        let key = digest("a.b.c");
        cache.insert(&key, verified("alice", 1_000), 1);
        cache.insert(&key, verified("alice", 1_000), 2);

        assert_eq!(cache.len(), 1);
        assert!(cache.get(&key, 10, generation(1)).is_none());
        assert!(cache.get(&key, 10, generation(2)).is_some());

        // The one entry occupies one place in the eviction order, so two more tokens evict it alone.
        cache.insert(&digest("d.e.f"), verified("bob", 1_000), 2);
        cache.insert(&digest("g.h.i"), verified("carol", 1_000), 2);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key, 10, generation(2)).is_none());
    }

    #[test]
    fn a_removed_token_is_gone_and_leaves_nothing_behind() {
        let cache = TokenCache::new(3);
        let (a, b) = (digest("a.b.c"), digest("d.e.f"));
        cache.insert(&a, verified("a", 2_000), 1);
        cache.insert(&b, verified("b", 2_000), 1);
        // The same signed part with another signature is another token: its removal leaves `a` alone.
        cache.remove(&digest("a.b.x"));
        assert!(cache.get(&a, 1_000, generation(1)).is_some());
        cache.remove(&a);
        cache.remove(&a);
        assert!(cache.get(&a, 1_000, generation(1)).is_none());
        assert!(cache.get(&b, 1_000, generation(1)).is_some());
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.read().order.len(),
            1,
            "no digest of a removed entry stays queued"
        );
    }

    #[test]
    fn a_cache_of_capacity_zero_caches_nothing() {
        let cache = TokenCache::new(0);
        let key = digest("a.b.c");
        cache.insert(&key, verified("alice", 1_000), 0);

        assert_eq!(cache.len(), 0);
        assert!(cache.get(&key, 10, generation(0)).is_none());
    }
}
