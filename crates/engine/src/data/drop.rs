//! Dropping a collection's or a partition's data, after the catalog commit that dropped
//! it (the commit point). Segments of a collection or partition that no longer exists
//! are dead whether or not their records say so (GC reads them that way), so this is
//! cleanup: marking records, forgetting rows, letting the WAL be truncated. Files stay
//! until GC proves nothing references them.

use super::segment::SegmentState;
use super::{Data, keys};
use crate::catalog::model::Collection;
use crate::error::{Result, encode};
use quiver_base::PartitionId;
use quiver_storage::Txn;

impl Data {
    /// Forget a dropped collection's rows and its checkpoint and revision.
    pub async fn drop_collection(&self, collection: &Collection) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        self.ctx.meta.commit(Txn::new().delete(keys::checkpoint(collection.id)).delete(keys::revision(collection.id))).await?;
        self.collections.lock().expect("collections poisoned").remove(&collection.id);
        self.truncate_wal().await
    }

    /// Forget a dropped partition's rows, then mark its sealed segments dropped.
    pub async fn drop_partition(&self, collection: &Collection, partition: PartitionId) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        let (metas, revision) = {
            let mut state = data.write();
            let metas: Vec<_> = state.segments.values().filter(|s| s.partition == partition).filter_map(|s| s.meta.clone()).collect();
            state.segments.retain(|_, s| s.partition != partition);
            (metas, state.revision)
        };
        if !metas.is_empty() {
            let at_ms = self.ctx.now_ms();
            let mut txn = Txn::new();
            for mut meta in metas {
                meta.state = SegmentState::Dropped { at_ms };
                txn = txn.put(keys::segment(collection.id, meta.id), encode(&meta));
            }
            self.commit_segments(collection.id, revision, keys::bump_revision(txn, collection.id, revision)).await?;
            data.write().revision = revision + 1;
        }
        Ok(())
    }
}
