//! The id allocator: one sequence of positive ids for every kind of object.
//!
//! Ids are reserved from the metadata store in blocks: the store holds the end of the
//! last reserved block, so a restart continues after it and an id is never reused.

use crate::error::Result;
use crate::tso::decode_u64;
use quiver_storage::MetaStore;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Metadata key holding the end (exclusive) of the last reserved block.
pub const RESERVED_END_KEY: &str = "ids/reserved_end";
const BLOCK: u64 = 1_000;

pub struct IdAllocator {
    store: Arc<dyn MetaStore>,
    state: Mutex<State>,
}

struct State {
    next: u64,
    reserved_end: u64,
}

impl IdAllocator {
    pub async fn open(store: Arc<dyn MetaStore>) -> Result<Self> {
        // Ids start at 1: pymilvus treats 0 as "not set" (e.g. job ids).
        let end = store.get(RESERVED_END_KEY).await?.map(|b| decode_u64(&b)).unwrap_or(1).max(1);
        Ok(IdAllocator { store, state: Mutex::new(State { next: end, reserved_end: end }) })
    }

    /// The next unused id.
    pub async fn next(&self) -> Result<i64> {
        self.next_block(1).await
    }

    /// `count` consecutive unused ids; returns the first.
    pub async fn next_block(&self, count: u64) -> Result<i64> {
        let mut state = self.state.lock().await;
        if state.next + count > state.reserved_end {
            let end = state.next + count + BLOCK;
            self.store.put(RESERVED_END_KEY, end.to_be_bytes().to_vec()).await?;
            state.reserved_end = end;
        }
        let first = state.next;
        state.next += count;
        Ok(first as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_storage::MemMetaStore;

    #[tokio::test]
    async fn ids_start_at_one_and_never_repeat_across_restart() {
        let store: Arc<dyn MetaStore> = Arc::new(MemMetaStore::new());
        let ids = IdAllocator::open(store.clone()).await.unwrap();
        assert_eq!(ids.next().await.unwrap(), 1);
        assert_eq!(ids.next().await.unwrap(), 2);
        let block = ids.next_block(5_000).await.unwrap();
        assert_eq!(block, 3);
        assert_eq!(ids.next().await.unwrap(), 5_003);
        let reopened = IdAllocator::open(store).await.unwrap();
        assert!(reopened.next().await.unwrap() > 5_003);
    }
}
