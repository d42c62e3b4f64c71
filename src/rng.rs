//! Random streams: one root seed, one named ChaCha8 stream per component.
//!
//! Every component that draws random numbers asks for a stream by a stable name
//! (`"arrivals"`, `"service/catalog/list"`, `"link/zone-a|zone-b"`). The stream shares
//! the ChaCha key derived from the root seed and uses a 64-bit stream number hashed from
//! the name, so the draws of one component never depend on which other components exist
//! or in what order they draw. Adding a service does not shift the arrivals.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator every component uses.
pub type Stream = ChaCha8Rng;

/// The run's root seed, from which every named stream is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootSeed(pub u64);

impl RootSeed {
    /// The stream for the component called `name`.
    pub fn stream(self, name: &str) -> Stream {
        let mut rng = ChaCha8Rng::seed_from_u64(self.0);
        rng.set_stream(stable_hash(name.as_bytes()));
        rng
    }

    /// A seed derived from this one and a label, for runs that spawn runs (replications).
    pub fn derive(self, label: &str) -> RootSeed {
        RootSeed(stable_hash(label.as_bytes()) ^ self.0.rotate_left(17))
    }
}

/// FNV-1a over the bytes, then a SplitMix64 finaliser to spread nearby names apart.
/// Stable across platforms and releases, unlike `std`'s `DefaultHasher`.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// The SplitMix64 finaliser: a cheap bijection with good avalanche.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_name_same_draws() {
        let a: Vec<u64> = (0..4).map(|_| 0).scan(RootSeed(7).stream("x"), |r, _: u64| Some(r.random())).collect();
        let b: Vec<u64> = (0..4).map(|_| 0).scan(RootSeed(7).stream("x"), |r, _: u64| Some(r.random())).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn names_and_seeds_give_independent_streams() {
        let x: u64 = RootSeed(7).stream("x").random();
        let y: u64 = RootSeed(7).stream("y").random();
        let x8: u64 = RootSeed(8).stream("x").random();
        assert_ne!(x, y);
        assert_ne!(x, x8);
    }

    #[test]
    fn hash_is_pinned() {
        // Changing the hash would change every stream, so every golden output: pin it.
        assert_eq!(stable_hash(b""), mix64(0xcbf2_9ce4_8422_2325));
        assert_ne!(stable_hash(b"a"), stable_hash(b"b"));
    }
}
