//! Seeded randomness for randomized and model-based tests.
//!
//! Every randomized test starts from an explicit seed, prints it, and can be replayed:
//!
//! ```
//! use quiver_testkit::{TestRng, seed};
//! let mut rng = TestRng::new(seed("engine_model", 7));
//! let steps = 10 + rng.below(90);
//! let op = *rng.pick(&["insert", "delete", "flush", "crash"]);
//! # let _ = (steps, op);
//! ```
//!
//! A failing run prints `engine_model: seed 123 (set QUIVER_TEST_SEED=123 to replay)`;
//! `QUIVER_TEST_SEED=123 cargo test -p quiver-engine engine_model` replays it.
//!
//! # Why this generator
//! [`TestRng`] is xoshiro256++ (rand's [`Xoshiro256PlusPlus`], pulled in with
//! `default-features = false`: no OS entropy, no ChaCha), seeded with `seed_from_u64`
//! (which rand tests as stable). It is named explicitly rather than taken as rand's
//! `SmallRng`, whose algorithm depends on the pointer width and may change between rand
//! versions: a seed must replay the same run on every machine. For the same reason the
//! helpers ([`below`](TestRng::below), [`chance`](TestRng::chance),
//! [`pick`](TestRng::pick)) are written here over `next_u64` rather than taken from rand's
//! distributions, whose sampling algorithms have changed between versions. `TestRng` also
//! implements rand's [`Rng`](rand::Rng), so rand's extras (`shuffle`, `random_range`, …)
//! work on it when a test wants them, at the price of that stability.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{SeedableRng, TryRng};
use std::convert::Infallible;

/// The environment variable that overrides every test's default seed.
pub const SEED_VAR: &str = "QUIVER_TEST_SEED";

/// The seed for the test `name`: `QUIVER_TEST_SEED` if set, else `default`. Prints
/// `"{name}: seed {seed} (set QUIVER_TEST_SEED={seed} to replay)"` to stderr (which the
/// test harness shows for a failing test).
///
/// # Panics
/// If `QUIVER_TEST_SEED` is set but is not a `u64` (decimal, or hexadecimal with `0x`):
/// a replay that silently used another seed would be worse than none.
pub fn seed(name: &str, default: u64) -> u64 {
    let seed = match std::env::var(SEED_VAR) {
        Ok(value) => parse_seed(&value).unwrap_or_else(|| panic!("{SEED_VAR}={value:?} is not a u64 seed")),
        Err(_) => default,
    };
    eprintln!("{name}: seed {seed} (set {SEED_VAR}={seed} to replay)");
    seed
}

fn parse_seed(value: &str) -> Option<u64> {
    let value = value.trim();
    match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// A small, fast, deterministic generator: the same seed gives the same sequence on every
/// platform and build. Not for anything but tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRng(Xoshiro256PlusPlus);

impl TestRng {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        TestRng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let Ok(value) = self.0.try_next_u64();
        value
    }

    /// A uniform value in `0..n`, without modulo bias (Lemire's multiply-and-reject).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "TestRng::below(0): the range 0..0 is empty");
        let mut wide = u128::from(self.next_u64()) * u128::from(n);
        if (wide as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (wide as u64) < threshold {
                wide = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (wide >> 64) as u64
    }

    /// A uniform index into a collection of `len` items.
    ///
    /// # Panics
    /// If `len` is 0.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `true` with probability `p` (0 never, 1 always).
    ///
    /// # Panics
    /// If `p` is not within `0.0..=1.0`.
    pub fn chance(&mut self, p: f64) -> bool {
        assert!((0.0..=1.0).contains(&p), "TestRng::chance({p}): not a probability");
        // 53 random bits: a uniform f64 in [0, 1).
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// A uniformly chosen element of `items`.
    ///
    /// # Panics
    /// If `items` is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        assert!(!items.is_empty(), "TestRng::pick from an empty slice");
        &items[self.index(items.len())]
    }

    /// An independent generator seeded from this one, e.g. one per simulated client, so
    /// that adding draws to one client does not change the others' sequences.
    pub fn fork(&mut self) -> TestRng {
        TestRng::new(self.next_u64())
    }
}

/// Makes `TestRng` a rand [`Rng`](rand::Rng), so rand's extension traits apply to it.
impl TryRng for TestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0.try_next_u32()
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0.try_next_u64()
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.try_fill_bytes(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_seed;

    #[test]
    fn seeds_parse_as_decimal_or_hex() {
        assert_eq!(parse_seed("123"), Some(123));
        assert_eq!(parse_seed(" 0x10\n"), Some(16));
        assert_eq!(parse_seed("0XfF"), Some(255));
        assert_eq!(parse_seed("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_seed("-1"), None);
        assert_eq!(parse_seed("seed"), None);
    }
}
