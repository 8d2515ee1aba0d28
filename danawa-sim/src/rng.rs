//! Deterministic randomness: every generated value is a pure function of the seed and a key,
//! so the same seed gives the same catalogue and the same bytes on every run and machine.

use rand::rngs::StdRng;
use rand::SeedableRng;

/// Mixes 64-bit words into one (SplitMix64 finaliser), so nearby keys give unrelated streams.
pub(crate) fn mix(words: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &w in words {
        h ^= w.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6).wrapping_add(h >> 2);
        h = splitmix(h);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random stream for one purpose (`salt`) of one thing (`key`) under `seed`.
pub(crate) fn stream(seed: u64, salt: u64, key: u64) -> StdRng {
    StdRng::seed_from_u64(mix(&[seed, salt, key]))
}

/// A uniform number in [0, 1) from a key, without building a generator (hot paths).
pub(crate) fn unit(seed: u64, salt: u64, key: u64) -> f64 {
    (mix(&[seed, salt, key]) >> 11) as f64 / (1u64 << 53) as f64
}

/// Salts: one per purpose, so adding a purpose never shifts another's values.
pub(crate) mod salt {
    pub(crate) const CATALOGUE: u64 = 1;
    pub(crate) const SPEC: u64 = 2;
    pub(crate) const SHOPS: u64 = 3;
    pub(crate) const CONNECTION: u64 = 4;
    pub(crate) const FAULTS: u64 = 5;
    pub(crate) const CATEGORY: u64 = 6;
    /// Markup shapes (DANAWA.md "Newer evidence"), one salt per decision.
    pub(crate) const SHAPE_BARE_TAG: u64 = 7;
    pub(crate) const SHAPE_SINGLE_TOP5: u64 = 8;
    pub(crate) const SHAPE_CLASSLESS_SPEC: u64 = 9;
    pub(crate) const SHAPE_MALL_LIST: u64 = 10;
    pub(crate) const SHAPE_EXTRA_GROUPS: u64 = 11;
    /// Which shop rows have conditional shipping (`유/무료`).
    pub(crate) const CONDITIONAL_SHIPPING: u64 = 12;
    /// Rows of the shop-list groups the crawler does not know.
    pub(crate) const EXTRA_SHOPS: u64 = 13;
}
