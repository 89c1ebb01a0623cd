//! The one seeded random number generator of the tests and benchmarks: test data that looks random but is
//! the same on every run and machine, so that a failure can be replayed.

use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};

/// A generator whose stream is fixed by `seed` (for this version of `rand`, which the lock file pins).
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `len` bytes from [`seeded`]`(seed)`: they neither compress nor repeat, so no compression or lucky
/// alignment could pass one file off as another. The bytes of a shorter length are a prefix of a longer one's.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    seeded(seed).fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        assert_eq!(bytes(7, 4096), bytes(7, 4096));
        assert_ne!(bytes(7, 4096), bytes(8, 4096));
        assert_eq!(bytes(7, 1000)[..], bytes(7, 4096)[..1000]);
    }
}
