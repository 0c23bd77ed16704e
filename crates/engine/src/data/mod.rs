//! The data component: a collection's rows, from acknowledged write to sealed segment.
//!
//! Owns the write-ahead log, the growing and sealed segments of every collection in
//! memory (with their delete index), flush, the segment records in the metadata store,
//! loading and releasing segment columns, and the entry points through which other
//! components change segments: compaction ([`Data::replace`]), restore
//! ([`Data::register`]) and index builds ([`Data::attach_index`]); truncation
//! ([`Data::truncate`]), which empties a collection, and rollback ([`Data::rollback`]),
//! which puts a snapshot's segments in place of the current ones. No other component builds a segment
//! record.
//!
//! Terms: a *write* is an insert, upsert or delete of one collection. Each write gets a
//! hybrid timestamp, is appended to the WAL and fsynced, and only then applied to the
//! collection's in-memory state and acknowledged. *Flush* seals every growing segment of
//! a collection into Parquet insert logs, writes the pending deletes as delete logs on
//! the segments they hit, and commits the segment records together with the
//! collection's WAL checkpoint in one metadata transaction; WAL files wholly behind every
//! collection's checkpoint are then deleted.
//!
//! Invariants:
//! - An acknowledged write is in the WAL (fsynced) or in a committed segment.
//! - Every commit that changes a collection's segments (flush, compaction, restore
//!   registration, dropping a partition, truncation) also compare-and-sets the collection's segment
//!   revision (`data/revision/<collection>`). Two such changes prepared from the same
//!   revision cannot both commit, in this process or another sharing the store; and a
//!   snapshot capture that read one revision commits only if it still holds.
//! - Files are written before the commit that references them, under a staging intent
//!   (`gc::staging`) that the same commit releases, so GC never takes a file being
//!   written for garbage, however long the write takes.
//!
//! Locks (in this order; each only orders work inside this process):
//! - `maintenance` (async, per collection): one flush, compaction, registration,
//!   partition drop or truncation of a collection at a time. Held across their object
//!   I/O, but neither writers nor readers take it.
//! - `writer` (async, per collection): timestamp, WAL append and apply happen in one
//!   critical section, so apply order is timestamp order. Flush and compaction take it
//!   only to swap segments, never across object I/O; truncation holds it across its one
//!   metadata commit (it does no object I/O), so no write falls between its cut and its
//!   commit.
//! - `state` (std, per collection): held only to read or swap in-memory handles; never
//!   across an await or a scan. Reads take a [`CollectionView`] (segment handles and an
//!   O(1) clone of the delete index) and run without it.

mod attach;
mod deletes;
mod drop;
mod flush;
pub mod keys;
mod load;
mod ranged;
mod register;
mod rollback;
mod routing;
pub mod rows;
mod segment;
mod truncate;
pub mod wal_entry;
mod write;

pub use deletes::{DeleteIndex, pk_column as pk_values};
pub use flush::{FlushOutcome, Placement, sealed_meta};
pub use register::{Maintenance, SealedSegment};
pub use rollback::{SegmentFiles, segment_files};
pub use rows::{InsertColumns, PkSource};
pub use segment::{PkSet, Segment, SegmentIndex, SegmentMeta, SegmentState};
pub use write::MutationOutcome;

use crate::catalog::model::Collection;
use crate::context::Context;
use crate::error::{EngineError, Result, decode};
use crate::gc::Staging;
use deletes::Delete;
use quiver_base::{CollectionId, IndexId, PartitionId, SegmentId};
use quiver_format::logs::PkColumn;
use quiver_storage::Txn;
use quiver_storage::wal::{Lsn, Wal, WalOptions};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
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

/// One collection's rows and deletes in memory.
#[derive(Default)]
pub(crate) struct DataState {
    /// Growing and sealed segments, by id.
    segments: BTreeMap<SegmentId, Arc<Segment>>,
    /// Every delete applied so far.
    deletes: DeleteIndex,
    /// Deletes applied since the last flush (not yet in a delete log).
    pending_deletes: Vec<(PkColumn, Delete)>,
    applied_lsn: u64,
    flushed_lsn: u64,
    /// The segment revision last committed (see the module invariants).
    revision: u64,
    /// When the last write was applied (clock ms; for sealing idle data).
    last_write_ms: Option<u64>,
    /// Why the collection's stored data could not be read, if it could not: reads and
    /// flushes are refused (a flush could not route deletes to unread segments), the
    /// rest of the server goes on.
    unavailable: Option<String>,
}

pub(crate) struct CollectionData {
    maintenance: Arc<tokio::sync::Mutex<()>>,
    writer: tokio::sync::Mutex<()>,
    state: RwLock<DataState>,
}

impl CollectionData {
    fn read(&self) -> RwLockReadGuard<'_, DataState> {
        self.state.read().expect("data state poisoned")
    }

    fn write(&self) -> RwLockWriteGuard<'_, DataState> {
        self.state.write().expect("data state poisoned")
    }

    fn check_available(&self, collection: &Collection) -> Result<()> {
        match &self.read().unavailable {
            Some(reason) => Err(EngineError::CollectionUnavailable { name: collection.name.clone(), reason: reason.clone() }),
            None => Ok(()),
        }
    }
}

/// What a read sees of a collection: its segments and deletes at one moment. Taking one
/// copies handles only; rows, indexes and the delete index are shared.
#[derive(Clone, Default)]
pub struct CollectionView {
    pub segments: Vec<Arc<Segment>>,
    pub deletes: DeleteIndex,
}

/// Segments held in memory (the metrics' loaded-segment gauges).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    pub growing_segments: usize,
    pub loaded_sealed_segments: usize,
    /// Row data of every segment held (a released segment keeps its keys only).
    pub segment_bytes: usize,
}

/// A segment as GetPersistentSegmentInfo / GetQuerySegmentInfo and the console report it.
#[derive(Clone, Debug)]
pub struct SegmentInfo {
    pub id: SegmentId,
    pub partition: PartitionId,
    pub rows: u64,
    pub sealed: bool,
    /// Bytes of its insert and delete logs in object storage (0 while growing).
    pub stored_bytes: u64,
    /// The collection's indexes this sealed segment still waits for a build of (a growing
    /// segment is never indexed, so none are listed for it).
    pub pending_indexes: Vec<IndexId>,
}

pub struct Data {
    ctx: Arc<Context>,
    wal: Arc<Wal>,
    config: DataConfig,
    staging: Staging,
    collections: Mutex<HashMap<CollectionId, Arc<CollectionData>>>,
}

impl Data {
    /// Load every live segment of `collections`, then replay the WAL past each
    /// collection's checkpoint. Entries of collections that no longer exist are skipped.
    /// A collection whose files cannot be read is marked unavailable (with the reason)
    /// instead of stopping the server.
    pub async fn open(ctx: Arc<Context>, wal_dir: &Path, config: DataConfig, collections: &[Collection]) -> Result<Data> {
        let by_id: HashMap<CollectionId, &Collection> = collections.iter().map(|c| (c.id, c)).collect();
        let mut checkpoints = HashMap::new();
        let mut stale = Txn::new();
        for (key, value) in ctx.meta.scan_prefix(keys::CHECKPOINT_PREFIX).await? {
            let id = keys::collection_of(&key, keys::CHECKPOINT_PREFIX)?;
            if by_id.contains_key(&id) {
                checkpoints.insert(id, keys::decode_u64(&value));
            } else {
                stale = stale.delete(key);
            }
        }
        if !stale.is_empty() {
            ctx.meta.commit(stale).await?;
        }
        let replay_after = collections.iter().map(|c| checkpoints.get(&c.id).copied().unwrap_or(0)).min().unwrap_or(0);
        let options = WalOptions { sync: config.wal_sync, ..WalOptions::default() };
        let (wal, records) = Wal::open(wal_dir, options, Lsn(replay_after))?;
        let staging = Staging::new(Arc::clone(&ctx));
        let data = Data { ctx, wal: Arc::new(wal), config, staging, collections: Mutex::new(HashMap::new()) };
        for collection in collections {
            let mut state = match data.load_sealed(collection).await {
                Ok(state) => state,
                Err(error) => {
                    tracing::error!(collection = %collection.name, %error, "collection cannot be served until its files are readable");
                    DataState { unavailable: Some(error.to_string()), ..Default::default() }
                }
            };
            state.flushed_lsn = checkpoints.get(&collection.id).copied().unwrap_or(0);
            state.applied_lsn = state.flushed_lsn;
            *data.collection_data(collection.id).write() = state;
        }
        let mut replayed = 0;
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
            let target = data.collection_data(collection.id);
            data.apply(collection, &mut target.write(), entry, lsn)?;
            replayed += 1;
        }
        if replayed > 0 {
            tracing::info!(entries = replayed, "replayed the write-ahead log");
        }
        Ok(data)
    }

    /// What the process holds in memory, over every collection.
    pub fn memory(&self) -> MemoryUsage {
        let collections: Vec<Arc<CollectionData>> = self.collections.lock().expect("collections map poisoned").values().cloned().collect();
        let mut usage = MemoryUsage::default();
        for data in collections {
            for segment in data.read().segments.values() {
                if segment.is_growing() {
                    usage.growing_segments += 1;
                } else if segment.loaded {
                    usage.loaded_sealed_segments += 1;
                }
                usage.segment_bytes += segment.bytes;
            }
        }
        usage
    }

    pub(crate) fn collection_data(&self, id: CollectionId) -> Arc<CollectionData> {
        let mut map = self.collections.lock().expect("collections map poisoned");
        Arc::clone(map.entry(id).or_insert_with(|| {
            Arc::new(CollectionData {
                maintenance: Arc::new(tokio::sync::Mutex::new(())),
                writer: tokio::sync::Mutex::new(()),
                state: RwLock::new(DataState::default()),
            })
        }))
    }

    /// The collection's segments and deletes as of now, for a read. Only segments of
    /// partitions `collection` still has: a dropped partition's rows are gone from the
    /// catalog's commit on, whether or not its cleanup here has run.
    pub fn view(&self, collection: &Collection) -> Result<CollectionView> {
        let data = self.collection_data(collection.id);
        data.check_available(collection)?;
        let columns = quiver_format::columns::arrow_schema(&collection.schema).fields().len();
        let state = data.read();
        let live = |s: &&Arc<Segment>| collection.partitions.iter().any(|p| p.id == s.partition);
        let segments = state
            .segments
            .values()
            .filter(live)
            .map(|s| Ok(s.conformed(&collection.schema, columns)?.map(Arc::new).unwrap_or_else(|| Arc::clone(s))))
            .collect::<Result<_>>()?;
        Ok(CollectionView { segments, deletes: state.deletes.clone() })
    }

    /// Put every in-memory row of `collection` in the layout of its schema as it is now
    /// (after a field was added). Reads conform what they take anyway; this saves them
    /// the work.
    pub fn conform_to(&self, collection: &Collection) -> Result<()> {
        let data = self.collection_data(collection.id);
        let columns = quiver_format::columns::arrow_schema(&collection.schema).fields().len();
        let mut state = data.write();
        for segment in state.segments.values_mut() {
            if let Some(conformed) = segment.conformed(&collection.schema, columns)? {
                *segment = Arc::new(conformed);
            }
        }
        Ok(())
    }

    /// Segments of a collection with their row counts.
    pub fn segment_infos(&self, collection: &Collection) -> Vec<SegmentInfo> {
        let data = self.collection_data(collection.id);
        let state = data.read();
        state
            .segments
            .values()
            .filter(|s| s.rows > 0 && collection.partitions.iter().any(|p| p.id == s.partition))
            .map(|s| SegmentInfo {
                id: s.id,
                partition: s.partition,
                rows: s.rows as u64,
                sealed: s.meta.is_some(),
                stored_bytes: s.meta.as_ref().map_or(0, |m| m.files().map(|f| f.size).sum()),
                pending_indexes: match s.meta {
                    Some(_) => collection.indexes.iter().filter(|d| !s.indexed_by(collection, d)).map(|d| d.id).collect(),
                    None => Vec::new(),
                },
            })
            .collect()
    }

    /// Whether deletes were applied since the last flush.
    pub fn has_pending_deletes(&self, collection: &Collection) -> bool {
        !self.collection_data(collection.id).read().pending_deletes.is_empty()
    }

    /// Why a collection cannot be served, if it cannot.
    pub fn unavailable(&self, collection: &Collection) -> Option<String> {
        self.collection_data(collection.id).read().unavailable.clone()
    }

    /// Try again to read an unavailable collection's stored data (its files may be back).
    /// Rows and deletes replayed from the WAL meanwhile are kept.
    pub async fn recover(&self, collection: &Collection) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _maintenance = data.maintenance.lock().await;
        if data.read().unavailable.is_none() {
            return Ok(());
        }
        let loaded = self.load_sealed(collection).await?;
        let mut state = data.write();
        state.segments.extend(loaded.segments);
        state.deletes.merge(loaded.deletes);
        state.revision = loaded.revision;
        state.unavailable = None;
        tracing::info!(collection = %collection.name, "collection is served again");
        Ok(())
    }

    /// Delete WAL files that every collection has checkpointed past (off the runtime:
    /// unlinking a large file and syncing the directory block).
    pub(crate) async fn truncate_wal(&self) -> Result<()> {
        let collections: Vec<_> = self.collections.lock().expect("collections poisoned").values().cloned().collect();
        let mut upto = self.wal.last_lsn().0;
        for data in collections {
            let state = data.read();
            if state.applied_lsn > state.flushed_lsn {
                upto = upto.min(state.flushed_lsn);
            }
        }
        let wal = Arc::clone(&self.wal);
        tokio::task::spawn_blocking(move || wal.truncate_through(Lsn(upto)))
            .await
            .map_err(|e| crate::error::internal(format!("WAL truncation task failed: {e}")))??;
        Ok(())
    }

    /// The segment record as stored, from its key and value.
    pub fn decode_segment(key: &str, value: &[u8]) -> Result<SegmentMeta> {
        decode(key, value)
    }
}
