//! Rollback: a collection's segments replaced by a snapshot's in one commit, in place
//! (its name, aliases, properties, indexes and load state are the catalog's and stay).
//!
//! The commit is truncation and registration at once: every current segment record
//! marked dropped, the snapshot's segments recorded as new segments referencing its
//! files, their index builds, and the WAL checkpoint moved to the last write applied (so
//! no earlier write is replayed after a restart), guarded by the segment revision and
//! by the snapshot's record (its files are still referenced when the commit lands). The
//! caller first saves the current state as a snapshot; the commit happens only if the
//! collection still is exactly that state (no write, flush or compaction since), so
//! nothing acknowledged is undone without being in that snapshot.

use super::register::SealedSegment;
use super::segment::SegmentState;
use super::{Data, DataState, keys};
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result, encode};
use quiver_base::{IndexId, SegmentId};
use quiver_format::FileRef;
use quiver_storage::Txn;
use std::sync::Arc;

/// What the collection must still be for a rollback to commit: its sealed segments, by
/// id with their delete logs, as the saved snapshot captured them.
pub type SegmentFiles = Vec<(SegmentId, Vec<String>)>;

impl Data {
    /// Replace `collection`'s segments by `segments` (the snapshot's, with `built` index
    /// builds recorded in `extra`), if its sealed segments are still `expected` and it
    /// holds no growing row or pending delete; otherwise `Conflict` (save and try again).
    ///
    /// The new segments are read before any lock (all columns when the collection is
    /// loaded, so reads never meet a half-loaded collection); the writer lock is held
    /// across the one metadata commit, so concurrent writers see the switch atomically.
    ///
    /// # Cancel safety
    /// Not cancel safe between the commit and the in-memory swap; run it in a spawned task.
    pub async fn rollback(
        &self,
        collection: &Collection,
        expected: &SegmentFiles,
        segments: Vec<SealedSegment>,
        built: &[(SegmentId, IndexId)],
        extra: Txn,
    ) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        data.check_available(collection)?;
        let sealed_ts = self.ctx.next_ts().await?;
        let mut fresh = DataState::default();
        let mut records = Vec::new();
        for segment in segments {
            let meta = segment.record(collection, sealed_ts);
            fresh.deletes.merge(self.logged_deletes(&meta).await?);
            let mut segment = self.read_segment(meta.clone(), &collection.schema, collection.loaded).await?;
            segment.built.extend(built.iter().filter(|(s, _)| *s == segment.id).map(|(_, index)| *index));
            fresh.segments.insert(segment.id, Arc::new(segment));
            records.push(meta);
        }
        let writer = data.writer.lock().await;
        let (current, applied_lsn, revision) = {
            let state = data.read();
            let unchanged = state.pending_deletes.is_empty()
                && state.segments.values().all(|s| s.is_sealed() || s.rows == 0)
                && segment_files(state.segments.values().filter_map(|s| s.meta.as_ref()).map(|m| (m.id, m.delta_logs.as_slice())))
                    == *expected;
            if !unchanged {
                return Err(EngineError::Conflict { what: format!("collection {} was written while it was saved", collection.name) });
            }
            (state.segments.values().filter_map(|s| s.meta.clone()).collect::<Vec<_>>(), state.applied_lsn, state.revision)
        };
        let at_ms = self.ctx.now_ms();
        let mut txn = extra.put(keys::checkpoint(collection.id), applied_lsn.to_be_bytes().to_vec());
        for mut meta in current {
            meta.state = SegmentState::Dropped { at_ms };
            txn = txn.put(keys::segment(collection.id, meta.id), encode(&meta));
        }
        for meta in &records {
            let key = keys::segment(collection.id, meta.id);
            txn = txn.when_absent(&key).put(key, encode(meta));
        }
        self.commit_segments(collection.id, revision, keys::bump_revision(txn, collection.id, revision)).await?;
        self.ctx.failpoint("rollback.after_commit")?;
        {
            let mut state = data.write();
            state.segments = fresh.segments;
            state.deletes = fresh.deletes;
            state.pending_deletes.clear();
            state.flushed_lsn = applied_lsn;
            state.revision = revision + 1;
        }
        drop(writer);
        self.truncate_wal().await
    }
}

/// Sealed segments by id with their delete log keys, sorted: what a rollback compares
/// (a snapshot's captured segments, or the ones in memory).
pub fn segment_files<'a>(segments: impl Iterator<Item = (SegmentId, &'a [FileRef])>) -> SegmentFiles {
    let mut files: SegmentFiles = segments.map(|(id, deltas)| (id, deltas.iter().map(|f| f.key.clone()).collect())).collect();
    files.sort();
    files
}
