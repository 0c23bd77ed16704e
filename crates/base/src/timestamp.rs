//! Hybrid timestamps as Milvus spells them: `physical_ms << 18 | logical`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Number of low bits that hold the logical counter.
const LOGICAL_BITS: u32 = 18;
const LOGICAL_MASK: u64 = (1 << LOGICAL_BITS) - 1;

/// A hybrid timestamp: wall-clock milliseconds in the high bits, a logical counter in
/// the low 18 bits, so one millisecond holds 262,144 distinct timestamps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Largest logical counter value in one millisecond.
    pub const MAX_LOGICAL: u64 = LOGICAL_MASK;

    pub fn compose(physical_ms: u64, logical: u64) -> Self {
        debug_assert!(logical <= LOGICAL_MASK, "logical part overflows 18 bits");
        Timestamp((physical_ms << LOGICAL_BITS) | (logical & LOGICAL_MASK))
    }

    /// Milliseconds since the Unix epoch.
    pub fn physical_ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    pub fn logical(self) -> u64 {
        self.0 & LOGICAL_MASK
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_and_split_round_trip() {
        let ts = Timestamp::compose(1_700_000_000_123, 42);
        assert_eq!(ts.physical_ms(), 1_700_000_000_123);
        assert_eq!(ts.logical(), 42);
        assert_eq!(ts.0, (1_700_000_000_123 << 18) | 42);
    }

    #[test]
    fn ordering_follows_physical_then_logical() {
        assert!(Timestamp::compose(10, Timestamp::MAX_LOGICAL) < Timestamp::compose(11, 0));
        assert!(Timestamp::compose(10, 1) < Timestamp::compose(10, 2));
    }
}
