//! Truncation (Milvus's TruncateCollection): every row and delete of a collection goes,
//! the collection stays (its schema, partitions, indexes, aliases and load state are the
//! catalog's and untouched; snapshots keep what they captured).
//!
//! One commit does it, guarded by the segment revision like every change of segments:
//! each sealed segment's record marked dropped, and the WAL checkpoint moved to the last
//! write applied, so no WAL entry of the collection from before the truncation is
//! replayed after a restart. Growing rows and pending deletes live only in memory and
//! the WAL, so the checkpoint is what discards them durably. The files stay where they
//! are: GC deletes them once nothing references them (a snapshot may).

use super::segment::SegmentState;
use super::{Data, DeleteIndex, keys};
use crate::catalog::model::Collection;
use crate::error::{Result, encode};
use quiver_storage::Txn;

impl Data {
    /// Drop every row and delete `collection` holds: writes acknowledged before this call
    /// are gone once it returns, writes that follow it are kept.
    ///
    /// Holds the collection's writer lock across its one metadata commit (no object I/O),
    /// so the cut between discarded and kept writes is exact.
    ///
    /// # Cancel safety
    /// Not cancel safe between the commit and the in-memory update; run it in a spawned
    /// task.
    pub async fn truncate(&self, collection: &Collection) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        data.check_available(collection)?;
        let writer = data.writer.lock().await;
        let (sealed, applied_lsn, revision) = {
            let state = data.read();
            (state.segments.values().filter_map(|s| s.meta.clone()).collect::<Vec<_>>(), state.applied_lsn, state.revision)
        };
        let at_ms = self.ctx.now_ms();
        let mut txn = Txn::new().put(keys::checkpoint(collection.id), applied_lsn.to_be_bytes().to_vec());
        for mut meta in sealed {
            meta.state = SegmentState::Dropped { at_ms };
            txn = txn.put(keys::segment(collection.id, meta.id), encode(&meta));
        }
        self.commit_segments(collection.id, revision, keys::bump_revision(txn, collection.id, revision)).await?;
        self.ctx.failpoint("truncate.after_commit")?;
        {
            let mut state = data.write();
            state.segments.clear();
            state.deletes = DeleteIndex::default();
            state.pending_deletes.clear();
            state.flushed_lsn = applied_lsn;
            state.revision = revision + 1;
        }
        drop(writer);
        self.truncate_wal().await
    }
}
