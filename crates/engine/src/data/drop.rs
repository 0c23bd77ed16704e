//! Dropping a collection's or a partition's data: sealed segments are marked `Dropped`
//! (their files stay until GC proves nothing references them), growing rows are
//! discarded, and the collection stops holding back WAL truncation.

use super::segment::SegmentState;
use super::{DataPath, keys};
use crate::catalog::encode;
use crate::catalog::model::Collection;
use crate::error::Result;
use crate::ops::SegmentInfo;
use quiver_base::PartitionId;
use quiver_storage::Txn;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl DataPath {
    pub async fn drop_collection(&self, collection: &Collection) -> Result<()> {
        self.drop_segments(collection, None).await?;
        self.meta.delete(&keys::checkpoint(collection.id)).await?;
        self.collections.lock().expect("collections poisoned").remove(&collection.id);
        self.truncate_wal()
    }

    pub async fn drop_partition(&self, collection: &Collection, partition: PartitionId) -> Result<()> {
        self.drop_segments(collection, Some(partition)).await
    }

    /// Mark the sealed segments in scope dropped and forget every segment in scope.
    async fn drop_segments(&self, collection: &Collection, partition: Option<PartitionId>) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let in_scope = |p: PartitionId| partition.is_none_or(|x| x == p);
        let metas: Vec<_> = {
            let state = data.state.read().expect("data state poisoned");
            state.segments.values().filter(|s| in_scope(s.partition)).filter_map(|s| s.meta.clone()).collect()
        };
        let at_ms = now_ms();
        let mut txn = Txn::new();
        for mut meta in metas {
            meta.state = SegmentState::Dropped { at_ms };
            txn = txn.put(keys::segment(collection.id, meta.id), encode(&meta));
        }
        if !txn.is_empty() {
            self.meta.commit(txn).await?;
        }
        let mut state = data.state.write().expect("data state poisoned");
        state.segments.retain(|_, s| !in_scope(s.partition));
        Ok(())
    }

    /// Segments of a collection with their row counts.
    pub fn segment_infos(&self, collection: &Collection) -> Vec<SegmentInfo> {
        let data = self.collection_data(collection.id);
        let state = data.state.read().expect("data state poisoned");
        state
            .segments
            .values()
            .filter(|s| s.rows > 0)
            .map(|s| SegmentInfo { id: s.id, partition: s.partition, rows: s.rows as u64, sealed: s.is_sealed() })
            .collect()
    }
}
