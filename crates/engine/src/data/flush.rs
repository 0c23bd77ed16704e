//! Sealing: growing segments become Parquet insert logs, pending deletes become delete
//! logs on the segments they hit, and the segment records and WAL checkpoint are
//! committed in one metadata transaction.
//!
//! Three steps, so writers wait only for the first and the last:
//! 1. *Freeze* (writer lock, no I/O): the growing segments with rows stop taking rows
//!    (new writes open new growing segments), and the pending deletes and the applied
//!    lsn are noted.
//! 2. *Write* (no lock but the collection's maintenance lock): pk sets and delete
//!    routing off the runtime, the files staged under an intent and written.
//! 3. *Commit and install*: one conditional commit (checkpoint, records, segment
//!    revision, intent release), then the frozen segments become sealed in memory.
//!
//! A crash before the commit leaves only staged files (garbage once the session is
//! gone) and the WAL still holds every row; a crash after it leaves a checkpoint that
//! replay honours. Either way nothing acknowledged is lost or doubled.

use super::deletes::Delete;
use super::segment::{PkSet, Segment, SegmentMeta, SegmentState};
use super::{CollectionData, Data, keys};
use crate::catalog::model::Collection;
use crate::error::{Result, encode, internal};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use quiver_base::{CollectionId, PartitionId, SegmentId, Timestamp};
use quiver_format::columns::arrow_schema;
use quiver_format::logs::{PkColumn, write_delete_log, write_parquet};
use quiver_format::{FileRef, keys as object_keys};
use quiver_storage::{MetaError, Txn};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Where a segment's files go.
#[derive(Clone)]
pub struct Placement {
    pub collection: CollectionId,
    pub partition: PartitionId,
    pub shard: u32,
    pub schema: SchemaRef,
}

/// The result of a flush: the collection's sealed segments and the flush timestamp.
#[derive(Clone, Debug)]
pub struct FlushOutcome {
    pub sealed: Vec<SegmentId>,
    pub flush_ts: Timestamp,
}

/// The pending deletes one flush routes to one segment: entry `j` is row `rows[j]` of
/// pending group `groups[j]`, deleted at `timestamps[j]`.
struct SegmentDeletes {
    partition: PartitionId,
    rows: Vec<usize>,
    timestamps: Vec<u64>,
    groups: Vec<usize>,
}

/// What a flush took from memory when it froze the collection.
struct Frozen {
    flush_ts: Timestamp,
    growing: Vec<Arc<Segment>>,
    sealed: Vec<Arc<Segment>>,
    pending: Vec<(PkColumn, Delete)>,
    applied_lsn: u64,
    revision: u64,
}

impl Data {
    /// Seal all of a collection's growing data and pending deletes.
    ///
    /// # Cancel safety
    /// Not cancel safe between the metadata commit and the in-memory update; callers run
    /// it in a spawned task.
    pub async fn flush(&self, collection: &Collection) -> Result<FlushOutcome> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        data.check_available(collection)?;
        let started = Instant::now();
        let frozen = {
            let _writer = data.writer.lock().await;
            let flush_ts = self.ctx.next_ts().await?;
            let mut state = data.write();
            if state.applied_lsn == state.flushed_lsn && state.pending_deletes.is_empty() {
                drop(state);
                return Ok(FlushOutcome { sealed: sealed_ids(&data), flush_ts });
            }
            let mut growing = Vec::new();
            for segment in state.segments.values_mut().filter(|s| s.is_growing() && s.rows > 0) {
                Arc::make_mut(segment).sealing = true;
                growing.push(Arc::clone(segment));
            }
            let sealed = state.segments.values().filter(|s| s.meta.is_some()).cloned().collect();
            Frozen {
                flush_ts,
                growing,
                sealed,
                pending: state.pending_deletes.clone(),
                applied_lsn: state.applied_lsn,
                revision: state.revision,
            }
        };
        let frozen_ids: Vec<SegmentId> = frozen.growing.iter().map(|s| s.id).collect();
        match self.seal(collection, &data, frozen).await {
            Ok(outcome) => {
                quiver_base::metrics::flushed(started.elapsed());
                tracing::debug!(collection = %collection.name, elapsed_ms = started.elapsed().as_millis() as u64, "flushed");
                Ok(outcome)
            }
            Err(error) => {
                // The rows stay in memory and in the WAL; the next flush takes them again.
                let mut state = data.write();
                for id in frozen_ids {
                    if let Some(segment) = state.segments.get_mut(&id).filter(|s| s.meta.is_none()) {
                        Arc::make_mut(segment).sealing = false;
                    }
                }
                Err(error)
            }
        }
    }

    async fn seal(&self, collection: &Collection, data: &CollectionData, frozen: Frozen) -> Result<FlushOutcome> {
        let pk_name = collection.schema.primary_field().name.clone();
        let Frozen { flush_ts, growing, sealed, pending, applied_lsn, revision } = frozen;
        let (growing_pks, routed) = {
            let (growing, sealed, pending) = (growing.clone(), sealed, pending.clone());
            tokio::task::spawn_blocking(move || {
                let growing_pks: Vec<Arc<PkSet>> = growing.iter().map(|s| Arc::new(PkSet::of(&s.batches, &pk_name))).collect();
                let holders: Vec<(SegmentId, PartitionId, &PkSet)> = growing
                    .iter()
                    .zip(&growing_pks)
                    .map(|(s, pks)| (s.id, s.partition, pks.as_ref()))
                    .chain(sealed.iter().map(|s| (s.id, s.partition, s.pks.as_ref())))
                    .collect();
                let routed = route_deletes(&pending, &holders);
                let metas: BTreeMap<SegmentId, SegmentMeta> = sealed.iter().filter_map(|s| s.meta.clone().map(|m| (s.id, m))).collect();
                (growing_pks, (routed, metas))
            })
            .await
            .map_err(|e| internal(format!("flush task failed: {e}")))?
        };
        let (routed, sealed_metas) = routed;

        // Name every file before writing any, so they are staged together.
        let schema = arrow_schema(&collection.schema);
        let mut insert_keys = Vec::with_capacity(growing.len());
        for segment in &growing {
            insert_keys.push(object_keys::insert_log(collection.id, segment.partition, segment.id, self.ctx.next_id().await?));
        }
        let mut delta_keys = Vec::with_capacity(routed.len());
        for (segment, deletes) in &routed {
            delta_keys.push(object_keys::delta_log(collection.id, deletes.partition, *segment, self.ctx.next_id().await?));
        }
        let intent = self.staging.stage(insert_keys.iter().chain(&delta_keys).cloned().collect()).await?;
        let written = async {
            let mut new_metas: BTreeMap<SegmentId, SegmentMeta> = BTreeMap::new();
            for (segment, key) in growing.iter().zip(&insert_keys) {
                let placement =
                    Placement { collection: collection.id, partition: segment.partition, shard: segment.shard, schema: schema.clone() };
                // Rows written before a field was added get its column (null or default).
                let batches = segment
                    .batches
                    .iter()
                    .map(|b| quiver_format::columns::conform(&collection.schema, b))
                    .collect::<Result<Vec<_>, _>>()?;
                let file = self.write_insert_log(key, &placement, batches.clone(), segment.rows).await?;
                let meta = sealed_meta(&placement, segment.id, file, &batches, Timestamp(segment.max_ts), flush_ts, Vec::new());
                new_metas.insert(segment.id, meta);
            }
            let mut updated: Vec<SegmentMeta> = Vec::new();
            for ((segment, SegmentDeletes { rows, timestamps, groups, .. }), key) in routed.into_iter().zip(&delta_keys) {
                let pks = gather_pks(&pending, &rows, &groups);
                let rows = pks.len() as u64;
                let file = self.ctx.put_file(key, write_delete_log(&pks, &timestamps)?, rows).await?;
                match new_metas.get_mut(&segment) {
                    Some(meta) => meta.delta_logs.push(file),
                    None => {
                        let mut meta = sealed_metas
                            .get(&segment)
                            .cloned()
                            .ok_or_else(|| internal(format!("segment {segment} vanished during flush")))?;
                        meta.delta_logs.push(file);
                        updated.push(meta);
                    }
                }
            }
            self.ctx.failpoint("flush.after_objects")?;
            let mut txn = Txn::new().put(keys::checkpoint(collection.id), applied_lsn.to_be_bytes().to_vec());
            for meta in new_metas.values().chain(&updated) {
                txn = txn.put(keys::segment(collection.id, meta.id), encode(meta));
            }
            txn = keys::bump_revision(intent.release(txn), collection.id, revision);
            self.commit_segments(collection.id, revision, txn).await?;
            Ok::<_, crate::error::EngineError>((new_metas, updated))
        }
        .await;
        let (new_metas, updated) = match written {
            Ok(done) => done,
            Err(error) => {
                self.staging.abandon(intent).await;
                return Err(error);
            }
        };
        self.ctx.failpoint("flush.after_commit")?;

        {
            let mut state = data.write();
            for (segment, pks) in growing.iter().zip(growing_pks) {
                let Some(meta) = new_metas.get(&segment.id) else { continue };
                let mut sealed = Segment::clone(segment);
                sealed.sealing = false;
                sealed.meta = Some(meta.clone());
                sealed.pks = pks;
                if !collection.loaded {
                    sealed.release(&collection.schema.primary_field().name);
                }
                state.segments.insert(sealed.id, Arc::new(sealed));
            }
            for meta in updated {
                if let Some(segment) = state.segments.get_mut(&meta.id) {
                    Arc::make_mut(segment).meta = Some(meta);
                }
            }
            state.pending_deletes.drain(..pending.len());
            state.flushed_lsn = applied_lsn;
            state.revision = revision + 1;
        }
        self.truncate_wal().await?;
        Ok(FlushOutcome { sealed: sealed_ids(data), flush_ts })
    }

    /// Commit a change of a collection's segments prepared at revision `seen`. If the
    /// store reports an error that leaves the outcome unknown (not a failed condition),
    /// the revision is read back: the change landed if it moved to `seen + 1`.
    pub(super) async fn commit_segments(&self, collection: CollectionId, seen: u64, txn: Txn) -> Result<()> {
        match self.ctx.meta.commit(txn).await {
            Ok(()) => Ok(()),
            Err(MetaError::ConditionFailed { key }) => {
                Err(crate::error::EngineError::Conflict { what: format!("the segments of collection {collection} ({key})") })
            }
            Err(error) => {
                let now = self.ctx.meta.get(&keys::revision(collection)).await.ok().flatten().map(|v| keys::decode_u64(&v));
                if now == Some(seen + 1) { Ok(()) } else { Err(error.into()) }
            }
        }
    }

    /// Write a sealed segment's rows as one Parquet insert log (encoded off the runtime).
    pub(crate) async fn write_insert_log(&self, key: &str, at: &Placement, batches: Vec<RecordBatch>, rows: usize) -> Result<FileRef> {
        let schema = at.schema.clone();
        let bytes = tokio::task::spawn_blocking(move || write_parquet(&schema, &batches))
            .await
            .map_err(|e| internal(format!("parquet encoding task failed: {e}")))??;
        self.ctx.put_file(key, bytes, rows as u64).await
    }
}

/// The record of a sealed segment whose rows `batches` are in `file`.
pub fn sealed_meta(
    at: &Placement,
    id: SegmentId,
    file: FileRef,
    batches: &[RecordBatch],
    max_ts: Timestamp,
    sealed_ts: Timestamp,
    compacted_from: Vec<SegmentId>,
) -> SegmentMeta {
    let min_ts = batches.iter().filter_map(|b| b.column_by_name(quiver_format::columns::TS_COLUMN)).filter_map(|c| {
        use arrow_array::cast::AsArray;
        c.as_primitive::<arrow_array::types::UInt64Type>().values().iter().copied().min()
    });
    SegmentMeta {
        id,
        min_ts: Timestamp(min_ts.min().unwrap_or(0)),
        collection: at.collection,
        partition: at.partition,
        shard: at.shard,
        rows: file.rows,
        insert_logs: vec![file],
        delta_logs: Vec::new(),
        state: SegmentState::Flushed,
        max_ts,
        sealed_ts,
        compacted_from,
    }
}

fn sealed_ids(data: &CollectionData) -> Vec<SegmentId> {
    data.read().segments.values().filter(|s| s.meta.is_some()).map(|s| s.id).collect()
}

/// Each pending delete, routed to every segment (in its partition scope) holding its key.
fn route_deletes(pending: &[(PkColumn, Delete)], holders: &[(SegmentId, PartitionId, &PkSet)]) -> BTreeMap<SegmentId, SegmentDeletes> {
    let mut routed: BTreeMap<SegmentId, SegmentDeletes> = BTreeMap::new();
    for (group, (pks, delete)) in pending.iter().enumerate() {
        for (segment, partition, set) in holders {
            if delete.partition.is_some_and(|p| p != *partition) {
                continue;
            }
            for i in 0..pks.len() {
                if set.contains_at(pks, i) {
                    let entry = routed.entry(*segment).or_insert_with(|| SegmentDeletes {
                        partition: *partition,
                        rows: Vec::new(),
                        timestamps: Vec::new(),
                        groups: Vec::new(),
                    });
                    entry.rows.push(i);
                    entry.timestamps.push(delete.ts);
                    entry.groups.push(group);
                }
            }
        }
    }
    routed
}

fn gather_pks(pending: &[(PkColumn, Delete)], rows: &[usize], groups: &[usize]) -> PkColumn {
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
