//! The entry points through which other components change a collection's segments:
//! compaction replaces segments by their rewrite, a restore registers copied segments.
//! Data builds the records; the caller adds its own records to the same commit.

use super::segment::{Segment, SegmentMeta, SegmentState};
use super::{CollectionData, Data, DataState, keys};
use crate::catalog::model::Collection;
use crate::error::{Result, encode};
use arrow_array::RecordBatch;
use quiver_base::{IndexId, PartitionId, SegmentId, Timestamp};
use quiver_format::FileRef;
use quiver_storage::Txn;
use std::sync::Arc;

/// A sealed segment another component made (a compaction's rewrite, a restore's copy).
#[derive(Clone, Debug)]
pub struct SealedSegment {
    pub id: SegmentId,
    pub partition: PartitionId,
    pub shard: u32,
    pub rows: u64,
    pub insert_logs: Vec<FileRef>,
    pub delta_logs: Vec<FileRef>,
    pub min_ts: Timestamp,
    pub max_ts: Timestamp,
    pub compacted_from: Vec<SegmentId>,
}

impl SealedSegment {
    pub(super) fn record(self, collection: &Collection, sealed_ts: Timestamp) -> SegmentMeta {
        SegmentMeta {
            id: self.id,
            collection: collection.id,
            partition: self.partition,
            shard: self.shard,
            rows: self.rows,
            insert_logs: self.insert_logs,
            delta_logs: self.delta_logs,
            state: SegmentState::Flushed,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            sealed_ts,
            compacted_from: self.compacted_from,
        }
    }
}

impl Data {
    /// The primary key and `$ts` columns (and key set) of a sealed segment in memory
    /// whose insert logs are exactly `insert_logs`, in any collection: files are
    /// immutable, so a clone's segment holds the same Arrow buffers instead of reading
    /// and hashing its keys again.
    fn key_columns_in_memory(
        &self,
        insert_logs: &[FileRef],
        schema: &quiver_format::schema::CollectionSchema,
    ) -> Option<(Vec<RecordBatch>, Arc<super::segment::PkSet>)> {
        if insert_logs.is_empty() {
            return None;
        }
        let pk_name = &schema.primary_field().name;
        let collections: Vec<Arc<CollectionData>> = self.collections.lock().expect("collections map poisoned").values().cloned().collect();
        collections.iter().find_map(|data| {
            let state = data.read();
            let segment = state.segments.values().find(|s| s.meta.as_ref().is_some_and(|m| m.insert_logs == insert_logs))?;
            let batches = segment.batches.iter().map(|b| super::segment::key_columns(b, pk_name)).collect();
            Some((batches, Arc::clone(&segment.pks)))
        })
    }
}

/// One collection's segment changes held off for a while (see `Data` on locks): a
/// compaction holds it from choosing its sources until it has replaced them.
pub struct Maintenance {
    data: Arc<CollectionData>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Data {
    /// Hold `collection`'s segment changes for this process until the guard is dropped.
    pub async fn maintenance(&self, collection: &Collection) -> Result<Maintenance> {
        let data = self.collection_data(collection.id);
        let guard = Arc::clone(&data.maintenance).lock_owned().await;
        data.check_available(collection)?;
        Ok(Maintenance { data, _guard: guard })
    }

    /// Replace `sources` by `target` (none when every row was deleted) in one commit with
    /// `extra`; `rows` are the target's rows, held in memory if the collection is loaded.
    ///
    /// # Cancel safety
    /// Not cancel safe between the commit and the in-memory swap; run it in a spawned task.
    pub async fn replace(
        &self,
        held: &Maintenance,
        collection: &Collection,
        sources: &[SegmentMeta],
        target: Option<(SealedSegment, Vec<RecordBatch>)>,
        extra: Txn,
    ) -> Result<()> {
        let revision = held.data.read().revision;
        let at_ms = self.ctx.now_ms();
        let sealed_ts = self.ctx.next_ts().await?;
        let mut txn = extra;
        for source in sources {
            let mut dropped = source.clone();
            dropped.state = SegmentState::Dropped { at_ms };
            txn = txn.put(keys::segment(collection.id, source.id), encode(&dropped));
        }
        let target = target.map(|(segment, rows)| (segment.record(collection, sealed_ts), rows));
        if let Some((meta, _)) = &target {
            let key = keys::segment(collection.id, meta.id);
            txn = txn.when_absent(&key).put(key, encode(meta));
        }
        self.commit_segments(collection.id, revision, keys::bump_revision(txn, collection.id, revision)).await?;
        self.ctx.failpoint("compaction.after_commit")?;
        let pk_name = collection.schema.primary_field().name.clone();
        let mut state = held.data.write();
        for source in sources {
            state.segments.remove(&source.id);
        }
        if let Some((meta, rows)) = target {
            let mut segment = Segment::sealed(meta, rows, &pk_name, true);
            if !collection.loaded {
                segment.release(&pk_name);
            }
            state.segments.insert(segment.id, Arc::new(segment));
        }
        state.revision = revision + 1;
        Ok(())
    }

    /// Record restored segments (files already copied and verified, or shared with a
    /// snapshot) in one commit with `extra` (the caller's records: index builds, the
    /// job's end), then hold them like any sealed segment of an unloaded collection,
    /// noting the index builds `built` recorded for them. Their keys and delete logs are
    /// read before the commit, so a registered segment is one that was readable; a clone
    /// shares the key columns of a segment in memory with the same insert logs instead of
    /// reading them again.
    ///
    /// # Cancel safety
    /// Not cancel safe between the commit and the in-memory update; run it in a spawned
    /// task.
    pub async fn register(
        &self,
        collection: &Collection,
        segments: Vec<SealedSegment>,
        built: &[(SegmentId, IndexId)],
        extra: Txn,
    ) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        let sealed_ts = self.ctx.next_ts().await?;
        let mut fresh = DataState::default();
        let mut txn = extra;
        for segment in segments {
            let meta = segment.record(collection, sealed_ts);
            txn = txn.put(keys::segment(collection.id, meta.id), encode(&meta));
            fresh.deletes.merge(self.logged_deletes(&meta).await?);
            let mut segment = match self.key_columns_in_memory(&meta.insert_logs, &collection.schema) {
                Some((batches, pks)) => Segment::sealed_with_keys(meta, batches, pks),
                None => self.read_segment(meta, &collection.schema, false).await?,
            };
            segment.built.extend(built.iter().filter(|(s, _)| *s == segment.id).map(|(_, index)| *index));
            fresh.segments.insert(segment.id, Arc::new(segment));
        }
        let revision = data.read().revision;
        self.commit_segments(collection.id, revision, keys::bump_revision(txn, collection.id, revision)).await?;
        let mut state = data.write();
        state.segments.extend(fresh.segments);
        state.deletes.merge(fresh.deletes);
        state.revision = revision + 1;
        Ok(())
    }
}
