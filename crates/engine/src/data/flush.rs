//! Sealing: growing segments become Parquet insert logs, pending deletes become delete
//! logs on the segments they hit, and the segment metadata and WAL checkpoint are
//! committed in one metadata transaction.
//!
//! A crash before the commit leaves only unreferenced objects (GC removes them after
//! its grace period) and the WAL still holds every row; a crash after it leaves a
//! checkpoint that replay honours. Either way nothing acknowledged is lost or doubled.

use super::segment::{PkSet, SegmentMeta, SegmentState};
use super::{CollectionData, DataPath, keys};
use crate::catalog::encode;
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result};
use arrow_array::RecordBatch;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use quiver_base::{PartitionId, SegmentId, Timestamp};
use quiver_format::columns::arrow_schema;
use quiver_format::logs::{PkColumn, write_delete_log, write_parquet};
use quiver_format::{FileRef, keys as object_keys};
use quiver_storage::Txn;
use quiver_storage::wal::Lsn;
use std::collections::BTreeMap;
use std::time::Instant;

/// Where a segment's files go.
pub(crate) struct Placement<'a> {
    pub collection: quiver_base::CollectionId,
    pub partition: PartitionId,
    pub shard: u32,
    pub schema: &'a arrow_schema::SchemaRef,
}

/// The result of a flush: the collection's sealed segments and the flush timestamp.
#[derive(Clone, Debug)]
pub struct FlushOutcome {
    pub sealed: Vec<SegmentId>,
    pub flush_ts: Timestamp,
}

/// The pending deletes one flush routes to one sealed segment: entry `j` is row
/// `rows[j]` of pending group `groups[j]`, deleted at `timestamps[j]`.
struct SegmentDeletes {
    partition: PartitionId,
    rows: Vec<usize>,
    timestamps: Vec<u64>,
    groups: Vec<usize>,
}

impl SegmentDeletes {
    fn new(partition: PartitionId) -> SegmentDeletes {
        SegmentDeletes { partition, rows: Vec::new(), timestamps: Vec::new(), groups: Vec::new() }
    }
}

impl DataPath {
    /// Seal all of a collection's growing data and pending deletes.
    ///
    /// # Cancel safety
    /// Not cancel safe between the metadata commit and the in-memory update; callers run
    /// it in a spawned task.
    pub async fn flush(&self, collection: &Collection) -> Result<FlushOutcome> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        self.flush_locked(collection, &data).await
    }

    async fn flush_locked(&self, collection: &Collection, data: &CollectionData) -> Result<FlushOutcome> {
        let started = Instant::now();
        let flush_ts = self.tso.next().await?;
        // What to seal, read under the state lock (cheap: batches are reference counted).
        let (growing, pending, applied_lsn, sealed_keys) = {
            let state = data.state.read().expect("data state poisoned");
            let growing: Vec<(SegmentId, PartitionId, u32, Vec<RecordBatch>, usize, u64)> = state
                .segments
                .values()
                .filter(|s| !s.is_sealed() && s.rows > 0)
                .map(|s| (s.id, s.partition, s.shard, s.batches.clone(), s.rows, s.max_ts))
                .collect();
            let sealed_keys: Vec<(SegmentId, PartitionId, PkSet)> =
                state.segments.values().filter(|s| s.rows > 0).map(|s| (s.id, s.partition, s.pks.clone())).collect();
            (growing, state.pending_deletes.clone(), state.applied_lsn, sealed_keys)
        };
        if growing.is_empty() && pending.is_empty() && applied_lsn == data.state.read().expect("poisoned").flushed_lsn {
            return Ok(FlushOutcome { sealed: self.sealed_ids(data), flush_ts });
        }

        let schema = arrow_schema(&collection.schema);
        let mut new_metas: BTreeMap<SegmentId, SegmentMeta> = BTreeMap::new();
        for (id, partition, shard, batches, rows, max_ts) in growing {
            let placement = Placement { collection: collection.id, partition, shard, schema: &schema };
            let meta = self.write_segment(placement, id, &batches, rows, Timestamp(max_ts), flush_ts, Vec::new()).await?;
            new_metas.insert(id, meta);
        }

        // Route each pending delete to every segment (in its partition scope) holding the pk.
        let mut delta: BTreeMap<SegmentId, SegmentDeletes> = BTreeMap::new();
        for (group, (pks, delete)) in pending.iter().enumerate() {
            for (segment, partition, set) in &sealed_keys {
                if delete.partition.is_some_and(|p| p != *partition) {
                    continue;
                }
                for i in 0..pks.len() {
                    if set.contains_at(pks, i) {
                        let entry = delta.entry(*segment).or_insert_with(|| SegmentDeletes::new(*partition));
                        entry.rows.push(i);
                        entry.timestamps.push(delete.ts);
                        entry.groups.push(group);
                    }
                }
            }
        }
        let mut updated: Vec<SegmentMeta> = Vec::new();
        for (segment, SegmentDeletes { partition, rows, timestamps, groups }) in delta {
            let pks = gather_pks(&pending, &rows, &groups);
            let key = object_keys::delta_log(collection.id, partition, segment, self.ids.next().await?);
            let file = self.put(&key, write_delete_log(&pks, &timestamps)?, pks.len() as u64).await?;
            match new_metas.get_mut(&segment) {
                Some(meta) => meta.delta_logs.push(file),
                None => {
                    let mut meta = self
                        .sealed_meta(data, segment)
                        .ok_or_else(|| EngineError::InvalidParameter(format!("segment {segment} vanished during flush")))?;
                    meta.delta_logs.push(file);
                    updated.push(meta);
                }
            }
        }

        crate::failpoint::hit("flush.after_objects");
        let mut txn = Txn::new().put(keys::checkpoint(collection.id), applied_lsn.to_be_bytes().to_vec());
        for meta in new_metas.values().chain(&updated) {
            txn = txn.put(keys::segment(collection.id, meta.id), encode(meta));
        }
        self.meta.commit(txn).await?;

        {
            let mut state = data.state.write().expect("data state poisoned");
            let pk_name = collection.schema.primary_field().name.clone();
            for meta in new_metas.into_values().chain(updated) {
                if let Some(segment) = state.segments.get_mut(&meta.id) {
                    segment.meta = Some(meta);
                    if !collection.loaded {
                        segment.release(&pk_name);
                    }
                }
            }
            let flushed = pending.len();
            state.pending_deletes.drain(..flushed);
            state.flushed_lsn = applied_lsn;
        }
        self.truncate_wal()?;
        tracing::debug!(collection = %collection.name, elapsed_ms = started.elapsed().as_millis() as u64, "flushed");
        Ok(FlushOutcome { sealed: self.sealed_ids(data), flush_ts })
    }

    /// Write a sealed segment's rows as one Parquet insert log and describe the segment.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn write_segment(
        &self,
        at: Placement<'_>,
        id: SegmentId,
        batches: &[RecordBatch],
        rows: usize,
        max_ts: Timestamp,
        sealed_ts: Timestamp,
        compacted_from: Vec<SegmentId>,
    ) -> Result<SegmentMeta> {
        let key = object_keys::insert_log(at.collection, at.partition, id, self.ids.next().await?);
        let file = self.put(&key, write_parquet(at.schema, batches)?, rows as u64).await?;
        let min_ts = batches.iter().filter_map(|b| b.column_by_name(quiver_format::columns::TS_COLUMN)).filter_map(|c| {
            use arrow_array::cast::AsArray;
            c.as_primitive::<arrow_array::types::UInt64Type>().values().iter().copied().min()
        });
        Ok(SegmentMeta {
            id,
            min_ts: Timestamp(min_ts.min().unwrap_or(0)),
            collection: at.collection,
            partition: at.partition,
            shard: at.shard,
            rows: rows as u64,
            insert_logs: vec![file],
            delta_logs: Vec::new(),
            state: SegmentState::Flushed,
            max_ts,
            sealed_ts,
            compacted_from,
        })
    }

    /// Write one object and describe it.
    pub(crate) async fn put(&self, key: &str, bytes: Vec<u8>, rows: u64) -> Result<FileRef> {
        let file = FileRef::of(key, &bytes, rows);
        self.objects
            .put(&ObjectPath::from(key), bytes.into())
            .await
            .map_err(|e| EngineError::Storage(format!("cannot write {key}: {e}")))?;
        Ok(file)
    }

    fn sealed_ids(&self, data: &CollectionData) -> Vec<SegmentId> {
        let state = data.state.read().expect("data state poisoned");
        state.segments.values().filter(|s| s.is_sealed()).map(|s| s.id).collect()
    }

    fn sealed_meta(&self, data: &CollectionData, id: SegmentId) -> Option<SegmentMeta> {
        data.state.read().expect("data state poisoned").segments.get(&id).and_then(|s| s.meta.clone())
    }

    /// Delete WAL files that every collection has checkpointed past.
    pub(crate) fn truncate_wal(&self) -> Result<()> {
        let collections: Vec<_> = self.collections.lock().expect("collections poisoned").values().cloned().collect();
        let mut upto = self.wal.last_lsn().0;
        for data in collections {
            let state = data.state.read().expect("data state poisoned");
            if state.applied_lsn > state.flushed_lsn {
                upto = upto.min(state.flushed_lsn);
            }
        }
        self.wal.truncate_through(Lsn(upto))?;
        Ok(())
    }

    /// Seal collections whose growing data is large or idle (called by the background
    /// flusher).
    pub async fn seal_due(&self, collection: &Collection) -> Result<bool> {
        let data = self.collection_data(collection.id);
        let due = {
            let state = data.state.read().expect("data state poisoned");
            let bytes: usize = state.segments.values().filter(|s| !s.is_sealed()).map(|s| s.bytes).sum();
            let unflushed = state.applied_lsn > state.flushed_lsn;
            let idle = state.last_write.is_some_and(|t| t.elapsed() >= self.config.seal_idle);
            unflushed && (bytes >= self.config.seal_bytes || idle)
        };
        if due {
            self.flush(collection).await?;
        }
        Ok(due)
    }
}

fn gather_pks(pending: &[(PkColumn, super::deletes::Delete)], rows: &[usize], groups: &[usize]) -> PkColumn {
    match pending.first().map(|(p, _)| p) {
        Some(PkColumn::Str(_)) => PkColumn::Str(
            rows.iter()
                .zip(groups)
                .map(|(&i, &g)| match &pending[g].0 {
                    PkColumn::Str(v) => v[i].clone(),
                    PkColumn::Int(v) => v[i].to_string(),
                })
                .collect(),
        ),
        _ => PkColumn::Int(
            rows.iter()
                .zip(groups)
                .map(|(&i, &g)| match &pending[g].0 {
                    PkColumn::Int(v) => v[i],
                    PkColumn::Str(_) => 0,
                })
                .collect(),
        ),
    }
}
