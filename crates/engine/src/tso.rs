//! The timestamp oracle: hands out strictly increasing hybrid timestamps.
//!
//! The oracle persists a *window end* (a physical millisecond) ahead of every timestamp
//! it gives out, so after a restart it starts past anything it could have issued before,
//! even if the wall clock went backwards. Persisting happens once per window, not per
//! timestamp.

use crate::error::Result;
use quiver_base::{Clock, Timestamp};
use quiver_storage::MetaStore;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Metadata key holding the persisted window end (big-endian u64 milliseconds).
pub const WINDOW_KEY: &str = "tso/window_end_ms";
/// How far ahead of the clock the window end is saved.
const WINDOW_MS: u64 = 3_000;

pub struct TimestampOracle {
    clock: Arc<dyn Clock>,
    store: Arc<dyn MetaStore>,
    state: Mutex<State>,
}

struct State {
    last: Timestamp,
    window_end_ms: u64,
}

impl TimestampOracle {
    pub async fn open(clock: Arc<dyn Clock>, store: Arc<dyn MetaStore>) -> Result<Self> {
        let saved = store.get(WINDOW_KEY).await?.map(|bytes| decode_u64(&bytes)).unwrap_or(0);
        Ok(TimestampOracle {
            clock,
            store,
            // Nothing issued before the restart reached the saved window end.
            state: Mutex::new(State { last: Timestamp::compose(saved, 0), window_end_ms: saved }),
        })
    }

    /// The next timestamp: greater than every one issued before, here or before a restart.
    ///
    /// # Cancel safety
    /// Dropping the future may leave a larger window end saved; that only skips time.
    pub async fn next(&self) -> Result<Timestamp> {
        let mut state = self.state.lock().await;
        let now = self.clock.now_ms();
        let last = state.last;
        let ts = if now > last.physical_ms() {
            Timestamp::compose(now, 0)
        } else if last.logical() < Timestamp::MAX_LOGICAL {
            Timestamp::compose(last.physical_ms(), last.logical() + 1)
        } else {
            Timestamp::compose(last.physical_ms() + 1, 0)
        };
        if ts.physical_ms() >= state.window_end_ms {
            let window_end = ts.physical_ms() + WINDOW_MS;
            self.store.put(WINDOW_KEY, window_end.to_be_bytes().to_vec()).await?;
            state.window_end_ms = window_end;
        }
        state.last = ts;
        Ok(ts)
    }
}

pub(crate) fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_base::ManualClock;
    use quiver_storage::MemMetaStore;

    #[tokio::test]
    async fn strictly_increasing_even_when_the_clock_stands_still() {
        let clock = Arc::new(ManualClock::new(1_000));
        let tso = TimestampOracle::open(clock.clone(), Arc::new(MemMetaStore::new())).await.unwrap();
        let a = tso.next().await.unwrap();
        let b = tso.next().await.unwrap();
        assert!(b > a);
        assert_eq!(a.physical_ms(), 1_000);
        clock.set(500); // clock goes backwards
        let c = tso.next().await.unwrap();
        assert!(c > b);
    }

    #[tokio::test]
    async fn never_goes_backwards_across_restart() {
        let store: Arc<dyn MetaStore> = Arc::new(MemMetaStore::new());
        let clock = Arc::new(ManualClock::new(10_000));
        let before = TimestampOracle::open(clock.clone(), store.clone()).await.unwrap().next().await.unwrap();
        clock.set(9_000); // restart with a clock that is behind
        let after = TimestampOracle::open(clock, store).await.unwrap().next().await.unwrap();
        assert!(after > before);
    }
}
