//! The data path: durable writes, segments, flush, reads.
//!
//! Terms: a *write* is an insert, upsert or delete of one collection. Each write gets a
//! hybrid timestamp, is appended to the WAL and fsynced, and only then applied to the
//! collection's in-memory state and acknowledged. *Flush* seals every growing segment of
//! a collection into Parquet insert logs, writes the pending deletes as delete logs on
//! the segments they hit, and commits the segment metadata together with the
//! collection's WAL checkpoint in one metadata transaction; WAL files wholly behind every
//! collection's checkpoint are then deleted.
//!
//! Invariants:
//! - An acknowledged write is in the WAL (fsynced) or in a committed segment.
//! - A collection's writes are ordered by its `writer` lock: timestamp, WAL append and
//!   apply happen in one critical section, so apply order is timestamp order. Flush holds
//!   the same lock, so no write slips between "what was sealed" and the checkpoint.
//! - Readers take the state lock only to read in-memory batches; never across I/O.

mod capture;
mod compaction;
mod deletes;
mod drop;
mod flush;
mod gc;
mod indexing;
mod load;
mod query;
mod ranged;
mod routing;
pub mod rows;
mod scalar_index;
mod search;
mod segment;
mod wal_entry;

pub use capture::SegmentCapture;
pub use compaction::{CompactionPlan, CompactionTrigger};
pub use deletes::pk_column as pk_values;
pub use flush::FlushOutcome;
pub use gc::{Decision, GcReport, ReferenceSet, decide};
pub use indexing::{IndexProgress, kind_of};
pub use query::{QueryOutput, QueryRequest};
pub use rows::{InsertColumns, PkSource};
pub use search::{QueryVectors, SearchOutput, SearchRequest};
pub use segment::{IndexBuild, SegmentMeta, SegmentState};

use crate::catalog::model::Collection;
use crate::error::{EngineError, Result};
use crate::ids::IdAllocator;
use crate::tso::TimestampOracle;
use deletes::{Delete, DeleteIndex};
use object_store::ObjectStore;
use quiver_base::{CollectionId, PartitionId, SegmentId, Timestamp};
use quiver_expr::{Pks, Plan, TemplateValue};
use quiver_format::logs::PkColumn;
use quiver_storage::MetaStore;
use quiver_storage::wal::{Lsn, Wal, WalOptions};
use segment::Segment;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use wal_entry::WalEntry;

/// Tunables of the data path.
#[derive(Clone, Debug)]
pub struct DataConfig {
    /// Seal a collection's growing data once it holds this many bytes.
    pub seal_bytes: usize,
    /// Seal growing data that has not been written to for this long.
    pub seal_idle: Duration,
    /// fsync WAL appends before acknowledging (off only in throwaway tests).
    pub wal_sync: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig { seal_bytes: 64 * 1024 * 1024, seal_idle: Duration::from_secs(600), wal_sync: true }
    }
}

/// Metadata keys of the data path (see also `catalog::keys`).
pub mod keys {
    use quiver_base::{CollectionId, SegmentId};

    use quiver_base::IndexId;

    pub const SEGMENT_PREFIX: &str = "data/segment/";
    pub const CHECKPOINT_PREFIX: &str = "data/checkpoint/";
    pub const INDEX_BUILD_PREFIX: &str = "data/index_build/";

    /// `data/index_build/<collection>/<segment>/<index>` → [`IndexBuild`](super::segment::IndexBuild) JSON.
    pub fn index_build(collection: CollectionId, segment: SegmentId, index: IndexId) -> String {
        format!("{INDEX_BUILD_PREFIX}{:020}/{:020}/{:020}", collection.0, segment.0, index.0)
    }

    /// `data/segment/<collection>/<segment>` → [`SegmentMeta`](super::SegmentMeta) JSON.
    pub fn segment(collection: CollectionId, segment: SegmentId) -> String {
        format!("{SEGMENT_PREFIX}{:020}/{:020}", collection.0, segment.0)
    }

    /// `data/checkpoint/<collection>` → last WAL lsn whose effects are in segments (u64 BE).
    pub fn checkpoint(collection: CollectionId) -> String {
        format!("{CHECKPOINT_PREFIX}{:020}", collection.0)
    }
}

/// One collection's rows and deletes in memory.
#[derive(Default)]
pub(crate) struct DataState {
    /// Growing and sealed segments, by id.
    segments: BTreeMap<SegmentId, Segment>,
    /// Every delete not yet purged by compaction.
    deletes: DeleteIndex,
    /// Deletes applied since the last flush (not yet in a delete log).
    pending_deletes: Vec<(PkColumn, Delete)>,
    applied_lsn: u64,
    flushed_lsn: u64,
    /// When the last write was applied (for sealing idle data).
    last_write: Option<Instant>,
}

pub(crate) struct CollectionData {
    writer: tokio::sync::Mutex<()>,
    state: RwLock<DataState>,
}

/// What a mutation returns to the client.
#[derive(Clone, Debug)]
pub struct MutationOutcome {
    pub ids: PkColumn,
    pub count: usize,
    pub ts: Timestamp,
}

pub struct DataPath {
    meta: Arc<dyn MetaStore>,
    objects: Arc<dyn ObjectStore>,
    wal: Wal,
    tso: Arc<TimestampOracle>,
    ids: Arc<IdAllocator>,
    config: DataConfig,
    collections: Mutex<HashMap<CollectionId, Arc<CollectionData>>>,
}

impl DataPath {
    /// Load every live segment of `collections`, then replay the WAL past each
    /// collection's checkpoint. Entries of collections that no longer exist are skipped.
    pub async fn open(
        meta: Arc<dyn MetaStore>,
        objects: Arc<dyn ObjectStore>,
        wal_dir: &Path,
        tso: Arc<TimestampOracle>,
        ids: Arc<IdAllocator>,
        config: DataConfig,
        collections: &[Collection],
    ) -> Result<DataPath> {
        let by_id: HashMap<CollectionId, &Collection> = collections.iter().map(|c| (c.id, c)).collect();
        let mut checkpoints = HashMap::new();
        for (key, value) in meta.scan_prefix(keys::CHECKPOINT_PREFIX).await? {
            let id = key[keys::CHECKPOINT_PREFIX.len()..].parse().map(CollectionId).map_err(|_| corrupt(&key))?;
            checkpoints.insert(id, crate::tso::decode_u64(&value));
        }
        let replay_after = collections.iter().map(|c| checkpoints.get(&c.id).copied().unwrap_or(0)).min().unwrap_or(0);
        let options = WalOptions { sync: config.wal_sync, ..WalOptions::default() };
        let (wal, records) = Wal::open(wal_dir, options, Lsn(replay_after))?;
        let data = DataPath { meta, objects, wal, tso, ids, config, collections: Mutex::new(HashMap::new()) };
        for collection in collections {
            let state = data.load_sealed(collection).await?;
            let entry = data.collection_data(collection.id);
            let mut guard = entry.state.write().expect("data state poisoned");
            *guard = state;
            guard.flushed_lsn = checkpoints.get(&collection.id).copied().unwrap_or(0);
            guard.applied_lsn = guard.flushed_lsn;
        }
        let mut replay = Vec::new();
        for (lsn, payload) in records {
            let entry = WalEntry::decode(&payload)?;
            let Some(collection) = by_id.get(&entry.collection()) else { continue };
            if lsn.0 <= checkpoints.get(&collection.id).copied().unwrap_or(0) {
                continue;
            }
            // Entries of partitions dropped since they were written are gone with them.
            let partition_alive = |p: &PartitionId| collection.partitions.iter().any(|x| x.id == *p);
            match &entry {
                WalEntry::Insert { partition, .. } if !partition_alive(partition) => continue,
                WalEntry::Delete { partition: Some(partition), .. } if !partition_alive(partition) => continue,
                WalEntry::Insert { partition, .. } => data.ensure_growing(collection, &[*partition]).await?,
                WalEntry::Delete { .. } => {}
            }
            replay.push((*collection, entry, lsn));
        }
        let replayed = replay.len();
        for (collection, entry, lsn) in replay {
            let target = data.collection_data(collection.id);
            let mut state = target.state.write().expect("data state poisoned");
            data.apply(collection, &mut state, entry, lsn)?;
        }
        if replayed > 0 {
            tracing::info!(entries = replayed, "replayed the write-ahead log");
        }
        Ok(data)
    }

    pub(crate) fn collection_data(&self, id: CollectionId) -> Arc<CollectionData> {
        let mut map = self.collections.lock().expect("collections map poisoned");
        Arc::clone(
            map.entry(id).or_insert_with(|| {
                Arc::new(CollectionData { writer: tokio::sync::Mutex::new(()), state: RwLock::new(DataState::default()) })
            }),
        )
    }

    /// Insert rows into `partition` (or, for partition-key collections, the partitions
    /// their keys hash to). Acknowledged only once durable in the WAL.
    pub async fn insert(&self, collection: &Collection, partition: Option<PartitionId>, columns: InsertColumns) -> Result<MutationOutcome> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let pk = if collection.schema.primary_field().auto_id {
            PkSource::Generated(self.ids.next_block(columns.num_rows as u64).await?)
        } else {
            PkSource::Client
        };
        let ts = self.tso.next().await?;
        let batch = rows::assemble(&collection.schema, columns, pk, ts.0)?;
        let ids = deletes::pk_column(batch.column_by_name(&collection.schema.primary_field().name).expect("pk column"));
        let count = batch.num_rows();
        let entries = routing::by_partition(collection, partition, batch)?
            .into_iter()
            .map(|(partition, batch)| WalEntry::Insert { collection: collection.id, partition, batch })
            .collect();
        self.write(collection, &data, entries).await?;
        Ok(MutationOutcome { ids, count, ts })
    }

    /// Replace rows by primary key: a delete of the pks everywhere in the collection and
    /// an insert, at one timestamp.
    pub async fn upsert(&self, collection: &Collection, partition: Option<PartitionId>, columns: InsertColumns) -> Result<MutationOutcome> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let ts = self.tso.next().await?;
        let batch = rows::assemble(&collection.schema, columns, PkSource::Client, ts.0)?;
        let pks = deletes::pk_column(batch.column_by_name(&collection.schema.primary_field().name).expect("pk column"));
        let count = batch.num_rows();
        let mut entries = vec![WalEntry::Delete { collection: collection.id, partition: None, pks: pks.clone(), ts: ts.0 }];
        entries.extend(routing::by_partition(collection, partition, batch)?.into_iter().map(|(partition, batch)| WalEntry::Insert {
            collection: collection.id,
            partition,
            batch,
        }));
        self.write(collection, &data, entries).await?;
        Ok(MutationOutcome { ids: pks, count, ts })
    }

    /// Delete the rows matching `filter` (in `partition` only, when given). `pk in [...]`
    /// filters delete exactly the listed keys without a scan, as Milvus does.
    pub async fn delete(
        &self,
        collection: &Collection,
        partition: Option<PartitionId>,
        filter: &str,
        templates: &HashMap<String, TemplateValue>,
    ) -> Result<MutationOutcome> {
        if filter.trim().is_empty() {
            return Err(EngineError::InvalidParameter("delete requires a filter expression".to_string()));
        }
        let plan = Plan::compile(filter, &collection.schema, templates)?;
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let ts = self.tso.next().await?;
        let pks = match plan.primary_keys() {
            Some(Pks::Int(keys)) => PkColumn::Int(keys),
            Some(Pks::Str(keys)) => PkColumn::Str(keys),
            None => {
                let state = data.state.read().expect("data state poisoned");
                query::matching_pks(collection, &state, &plan, partition, ts.0)?
            }
        };
        let count = pks.len();
        if count > 0 {
            let entry = WalEntry::Delete { collection: collection.id, partition, pks, ts: ts.0 };
            self.write(collection, &data, vec![entry]).await?;
        }
        Ok(MutationOutcome { ids: PkColumn::Int(Vec::new()), count, ts })
    }

    /// Append `entries` durably, then apply them. Call with the collection's writer lock.
    ///
    /// # Cancel safety
    /// Not cancel safe: a write cancelled after the WAL append would be durable but not
    /// applied until restart. The server runs writes in spawned tasks.
    async fn write(&self, collection: &Collection, data: &CollectionData, entries: Vec<WalEntry>) -> Result<()> {
        let partitions: Vec<PartitionId> = entries
            .iter()
            .filter_map(|e| match e {
                WalEntry::Insert { partition, .. } => Some(*partition),
                WalEntry::Delete { .. } => None,
            })
            .collect();
        self.ensure_growing(collection, &partitions).await?;
        let payloads = entries.iter().map(WalEntry::encode).collect::<Result<Vec<_>>>()?;
        let lsns = self.wal.append_all(payloads).await?;
        let mut state = data.state.write().expect("data state poisoned");
        for (entry, lsn) in entries.into_iter().zip(lsns) {
            self.apply(collection, &mut state, entry, lsn)?;
        }
        Ok(())
    }

    /// Apply one durable entry to memory. Growing segments for the entry's partition
    /// must exist (see `ensure_growing`).
    fn apply(&self, collection: &Collection, state: &mut DataState, entry: WalEntry, lsn: Lsn) -> Result<()> {
        let pk_name = collection.schema.primary_field().name.clone();
        match entry {
            WalEntry::Insert { partition, batch, .. } => {
                let ts = batch_ts(&batch);
                for (shard, part) in routing::by_shard(collection, &pk_name, batch)? {
                    let segment =
                        state.segments.values_mut().find(|s| !s.is_sealed() && s.partition == partition && s.shard == shard).ok_or_else(
                            || EngineError::InvalidParameter(format!("no growing segment for partition {partition} shard {shard}")),
                        )?;
                    segment.append(part, &pk_name, ts);
                }
            }
            WalEntry::Delete { partition, pks, ts, .. } => {
                let delete = Delete { ts, partition };
                state.deletes.add(&pks, delete);
                state.pending_deletes.push((pks, delete));
            }
        }
        state.applied_lsn = state.applied_lsn.max(lsn.0);
        state.last_write = Some(Instant::now());
        Ok(())
    }

    /// Make sure every partition in `partitions` has growing segments (one per shard).
    pub(crate) async fn ensure_growing(&self, collection: &Collection, partitions: &[PartitionId]) -> Result<()> {
        let data = self.collection_data(collection.id);
        let shards = collection.shards_num.max(1) as u32;
        let missing: Vec<(PartitionId, u32)> = {
            let state = data.state.read().expect("data state poisoned");
            partitions
                .iter()
                .flat_map(|p| (0..shards).map(move |s| (*p, s)))
                .filter(|(p, s)| !state.segments.values().any(|seg| !seg.is_sealed() && seg.partition == *p && seg.shard == *s))
                .collect()
        };
        for (partition, shard) in missing {
            let id = SegmentId(self.ids.next().await?);
            let mut state = data.state.write().expect("data state poisoned");
            state.segments.insert(id, Segment::growing(id, partition, shard));
        }
        Ok(())
    }
}

fn batch_ts(batch: &arrow_array::RecordBatch) -> u64 {
    use arrow_array::cast::AsArray;
    batch
        .column_by_name(quiver_format::columns::TS_COLUMN)
        .map(|c| c.as_primitive::<arrow_array::types::UInt64Type>().values().iter().copied().max().unwrap_or(0))
        .unwrap_or(0)
}

fn corrupt(key: &str) -> EngineError {
    EngineError::CorruptMetadata { key: key.to_string(), reason: "unparsable key".to_string() }
}
