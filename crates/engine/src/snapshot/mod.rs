//! Collection snapshots: point-in-time, metadata-only captures of a collection's sealed
//! segments, restorable into new collections by copying files.
//!
//! Terms: a *snapshot* references the insert logs, delete logs and index files of every
//! sealed segment live at its timestamp; its *manifests* (one Avro file per segment) and
//! *metadata JSON* describe them in object storage (`docs/FORMAT.md`). A *pin* keeps a
//! snapshot from being dropped; a *restore job* copies a snapshot's files into a new
//! collection.
//!
//! Invariants:
//! - Visibility is one conditional metadata write: a snapshot is visible only in state
//!   `Committed`; the name claim (`snapshot/name/<collection>/<name>`) is taken with
//!   create-if-absent, so of concurrent creates of one name exactly one wins.
//! - GC never deletes a file a snapshot record references, whatever its state: the
//!   references live in the record itself, loaded with the catalog at start-up (so GC
//!   is never ahead of them).
//! - Dropping never deletes data or index files, only the snapshot's own files.
//!
//! Which operations may run together:
//!
//! | | create | drop | restore | drop collection | compaction | GC | flush |
//! | --- | --- | --- | --- | --- | --- | --- | --- |
//! | create | snapshot lock | snapshot lock | snapshot lock | snapshot lock | writer lock (capture) | refs in record | writer lock (capture) |
//! | drop | | snapshot lock | pin refuses drop | snapshot lock | yes | refs until record gone | yes |
//! | restore | | | yes (own jobs) | pin survives cascade | protection | refs of pinned snapshot | yes |
//!
//! The *snapshot lock* is one async mutex serialising snapshot DDL; the *writer lock* is
//! the collection's data lock (see `data`).

mod create;
mod drop;
mod files;
mod jobs;
pub mod model;
mod restore;

pub use model::{JobState, RestoreJob, SnapshotRecord, SnapshotState};

use crate::Engine;
use crate::catalog::model::Collection;
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use quiver_base::{CollectionId, JobId, SegmentId, SnapshotId};
use quiver_storage::MetaStore;
use std::collections::{BTreeMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest compaction protection a snapshot may ask for (7 days).
pub const MAX_COMPACTION_PROTECTION_SECONDS: i64 = 604_800;
/// Longest pin (30 days).
pub const MAX_PIN_TTL_SECONDS: i64 = 2_592_000;
/// How long a restore's pin on its snapshot lasts if the job never ends (1 day).
const RESTORE_PIN_TTL_MS: u64 = 86_400_000;

/// Snapshot records and restore jobs in memory (mirrors of the metadata store).
#[derive(Debug, Default)]
pub struct SnapshotBook {
    pub records: BTreeMap<SnapshotId, SnapshotRecord>,
    pub jobs: BTreeMap<JobId, RestoreJob>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Load every record and job (start-up).
pub async fn load_book(store: &dyn MetaStore) -> Result<SnapshotBook> {
    let mut book = SnapshotBook::default();
    for (key, value) in store.scan_prefix(model::keys::RECORD_PREFIX).await? {
        let record: SnapshotRecord =
            serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key, reason: e.to_string() })?;
        book.records.insert(record.id, record);
    }
    for (key, value) in store.scan_prefix(model::keys::JOB_PREFIX).await? {
        let job: RestoreJob = serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key, reason: e.to_string() })?;
        book.jobs.insert(job.id, job);
    }
    Ok(book)
}

fn required(value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(EngineError::InvalidParameter(what.to_string()));
    }
    Ok(())
}

/// The public description of a snapshot.
#[derive(Clone, Debug)]
pub struct SnapshotDescription {
    pub name: String,
    pub description: String,
    pub collection_name: String,
    pub partition_names: Vec<String>,
    pub create_ts: i64,
    pub s3_location: String,
}

/// A restore job as clients see it.
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub id: JobId,
    pub snapshot_name: String,
    pub db_name: String,
    pub collection_name: String,
    pub state: JobState,
    pub progress: i32,
    pub reason: String,
    pub start_ms: u64,
    pub time_cost_ms: u64,
}

impl Engine {
    /// The collection a snapshot call names (aliases resolved).
    fn snapshot_collection(&self, db: &str, collection: &str, operation: &str) -> Result<Collection> {
        required(collection, &format!("collection_name is required for {operation}"))?;
        Ok(self.catalog.describe_collection(db, collection)?.collection)
    }

    fn committed(&self, collection: &Collection, name: &str) -> Result<SnapshotRecord> {
        let book = self.snapshots.lock().expect("snapshot book poisoned");
        book.records
            .values()
            .find(|r| r.collection_id == collection.id && r.name == name && r.state == SnapshotState::Committed)
            .cloned()
            .ok_or_else(|| EngineError::SnapshotNotFound { collection_id: collection.id.0, name: name.to_string() })
    }

    /// Committed snapshot names of a collection, in creation order.
    pub fn list_snapshots(&self, db: &str, collection: &str) -> Result<Vec<String>> {
        let collection = self.snapshot_collection(db, collection, "ListSnapshots")?;
        let book = self.snapshots.lock().expect("snapshot book poisoned");
        Ok(book
            .records
            .values()
            .filter(|r| r.collection_id == collection.id && r.state == SnapshotState::Committed)
            .map(|r| r.name.clone())
            .collect())
    }

    pub fn describe_snapshot(&self, db: &str, collection: &str, name: &str) -> Result<SnapshotDescription> {
        names::validate(NameKind::Snapshot, name)?;
        let collection = self.snapshot_collection(db, collection, "describe snapshot")?;
        let record = self.committed(&collection, name)?;
        let partition_names = record
            .partition_ids
            .iter()
            .map(|id| collection.partitions.iter().find(|p| p.id == *id).map(|p| p.name.clone()).unwrap_or_default())
            .collect();
        Ok(SnapshotDescription {
            name: record.name,
            description: record.description,
            collection_name: collection.name,
            partition_names,
            create_ts: record.create_ts.0 as i64,
            s3_location: record.s3_location,
        })
    }

    /// Every object any snapshot or running restore references (GC protection).
    pub(crate) fn snapshot_references(&self) -> HashSet<String> {
        let book = self.snapshots.lock().expect("snapshot book poisoned");
        let mut keys: HashSet<String> = book.records.values().flat_map(|r| r.referenced_keys().map(str::to_string)).collect();
        for job in book.jobs.values().filter(|j| !j.state.is_terminal()) {
            keys.extend(job.tasks.iter().flat_map(|t| [t.source.key.clone(), t.target_key.clone()]));
        }
        keys
    }

    /// Segments compaction must leave alone: captured by a snapshot whose compaction
    /// protection has not expired.
    pub(crate) fn compaction_protected(&self, collection: CollectionId) -> HashSet<SegmentId> {
        let now_s = now_ms() / 1000;
        let book = self.snapshots.lock().expect("snapshot book poisoned");
        book.records
            .values()
            .filter(|r| r.collection_id == collection && r.compaction_expire_s > now_s)
            .flat_map(|r| r.segments.iter().map(|s| s.segment))
            .collect()
    }

    /// Persist a record and mirror it in memory.
    async fn save_record(&self, record: &SnapshotRecord) -> Result<()> {
        self.meta.put(&model::keys::record(record.collection_id, record.id), crate::catalog::encode(record)).await?;
        self.snapshots.lock().expect("snapshot book poisoned").records.insert(record.id, record.clone());
        Ok(())
    }

    /// Pin a committed snapshot; `ttl_seconds` 0 means until unpinned.
    pub async fn pin_snapshot(&self, db: &str, collection: &str, name: &str, ttl_seconds: i64) -> Result<i64> {
        names::validate(NameKind::Snapshot, name)?;
        if ttl_seconds < 0 {
            return Err(EngineError::InvalidParameter("ttl_seconds must be non-negative".to_string()));
        }
        if ttl_seconds > MAX_PIN_TTL_SECONDS {
            return Err(EngineError::InvalidParameter(format!("ttl_seconds exceeds maximum of {MAX_PIN_TTL_SECONDS} (30 days)")));
        }
        let collection = self.snapshot_collection(db, collection, "pin snapshot")?;
        let expiry = if ttl_seconds == 0 { 0 } else { now_ms() + ttl_seconds as u64 * 1000 };
        self.pin(&collection, name, expiry).await
    }

    async fn pin(&self, collection: &Collection, name: &str, expiry_ms: u64) -> Result<i64> {
        let _ddl = self.snapshot_ddl.lock().await;
        let mut record = self.committed(collection, name)?;
        let pin_id = self.allocate_id().await?;
        record.pins.insert(pin_id, expiry_ms);
        self.save_record(&record).await?;
        Ok(pin_id)
    }

    /// Remove a pin; an unknown pin id is not an error (as in Milvus).
    pub async fn unpin_snapshot(&self, pin_id: i64) -> Result<()> {
        if pin_id <= 0 {
            return Err(EngineError::InvalidParameter("pin_id is required for unpin snapshot data".to_string()));
        }
        let _ddl = self.snapshot_ddl.lock().await;
        let record = {
            let book = self.snapshots.lock().expect("snapshot book poisoned");
            book.records.values().find(|r| r.pins.contains_key(&pin_id)).cloned()
        };
        if let Some(mut record) = record {
            record.pins.remove(&pin_id);
            self.save_record(&record).await?;
        }
        Ok(())
    }
}
