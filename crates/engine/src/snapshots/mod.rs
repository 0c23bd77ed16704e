//! Collection snapshots: point-in-time, metadata-only captures of a collection's sealed
//! segments, restorable into new collections.
//!
//! Terms: a *snapshot* references the insert logs, delete logs and index files of every
//! sealed segment live when it was captured; its *manifests* (one Avro file per segment)
//! and *metadata JSON* describe them in object storage (`docs/FORMAT.md`). A *pin* keeps
//! a snapshot from being dropped (a restore holds one while it runs).
//!
//! Lifecycle: `Pending` (being written) → `Committed` (visible) → `Deleting` (invisible,
//! its own files being removed) → gone. Only `Committed` snapshots are visible.
//!
//! Invariants, each held by a conditional commit, never by a lock, so they hold with
//! several processes on one store:
//! - A name is claimed once: the `Pending` record and the name claim
//!   (`snapshot/name/<collection>/<name>`, create-if-absent) commit together.
//! - A snapshot's references are recorded atomically with its capture: the `Pending`
//!   record (which lists every captured file) commits only if the collection record and
//!   its segment revision are still what the capture read, so no captured segment, index
//!   or partition was dropped in between, and GC (which reads records in one view) sees
//!   each file referenced by the segment or by the snapshot.
//! - Every change of a record (commit, pin, unpin, drop) is a compare-and-set on its
//!   bytes: a drop that saw no pins cannot commit if a pin landed meanwhile.
//! - Dropping never deletes data or index files, only the snapshot's own files.
//!
//! Which operations may run together (none waits for another; a conflicting commit
//! fails and is retried on fresh state):
//!
//! | | create | drop | pin / restore | drop collection | compaction / flush | GC |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | create | name claim | invisible until committed | needs committed | capture condition | capture condition (revision) | refs in the pending record |
//! | drop | | record CAS | record CAS (pins refuse the drop) | record CAS | yes | refs until the record is gone |
//! | pin / restore | | | record CAS | pin outlives the collection | protection (read at plan) | refs of the pinned record |
//!
//! A truncation is a flush here: a capture that read the revision before it fails its
//! condition and is read again, and a snapshot keeps (through GC's refs) the files of the
//! segments a truncation drops.

mod capture;
mod create;
mod drop;
pub mod files;
pub mod model;
mod pins;

pub use model::{CapturedIndex, CapturedSegment, SnapshotRecord, SnapshotState, keys};

use crate::catalog::Catalog;
use crate::catalog::model::Collection;
use crate::context::Context;
use crate::error::{EngineError, NameKind, Result, decode};
use crate::names;
use quiver_base::{CollectionId, JobId, SegmentId, SnapshotId, Timestamp};
use std::collections::HashSet;
use std::sync::Arc;

/// Longest compaction protection a snapshot may ask for (7 days).
pub const MAX_COMPACTION_PROTECTION_SECONDS: i64 = 604_800;
/// Longest pin (30 days).
pub const MAX_PIN_TTL_SECONDS: i64 = 2_592_000;
/// How many times a change is tried again after a conflicting commit.
const CONFLICT_RETRIES: usize = 16;

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

/// What an operator sees of a committed snapshot: what it is and what it holds.
#[derive(Clone, Debug)]
pub struct SnapshotSummary {
    pub name: String,
    pub description: String,
    pub create_ts: Timestamp,
    pub segments: usize,
    /// Rows of the captured segments, deleted rows included.
    pub rows: u64,
    /// Bytes of the data, delete and index files it references (shared with the
    /// collection until compaction replaces its segments).
    pub data_bytes: u64,
    /// Pins in force now (a running restore holds one).
    pub active_pins: usize,
    /// The restore job copying from it, if one is running (set by the engine, which
    /// knows the jobs).
    pub restoring_job: Option<JobId>,
}

/// A record with the bytes it was read as (what a compare-and-set expects).
#[derive(Clone, Debug)]
pub struct Stored {
    pub record: SnapshotRecord,
    pub bytes: Vec<u8>,
}

impl Stored {
    pub fn key(&self) -> String {
        keys::record(self.record.collection_id, self.record.id)
    }
}

pub struct Snapshots {
    ctx: Arc<Context>,
    catalog: Arc<Catalog>,
    /// When this process opened the engine: a legacy `Pending` record (no session)
    /// older than this belongs to a create that died.
    started_ms: u64,
}

impl Snapshots {
    pub fn new(ctx: Arc<Context>, catalog: Arc<Catalog>) -> Snapshots {
        let started_ms = ctx.now_ms();
        Snapshots { ctx, catalog, started_ms }
    }

    /// A snapshot's record by name, in whatever state.
    pub(crate) async fn get(&self, collection: CollectionId, name: &str) -> Result<Option<Stored>> {
        let Some(id) = self.ctx.meta.get(&keys::name(collection, name)).await? else { return Ok(None) };
        let id = SnapshotId(crate::data::keys::decode_u64(&id) as i64);
        self.get_by_id(collection, id).await
    }

    async fn get_by_id(&self, collection: CollectionId, id: SnapshotId) -> Result<Option<Stored>> {
        let key = keys::record(collection, id);
        match self.ctx.meta.get(&key).await? {
            Some(bytes) => Ok(Some(Stored { record: decode(&key, &bytes)?, bytes })),
            None => Ok(None),
        }
    }

    /// A committed snapshot of `collection` by name.
    pub async fn committed(&self, collection: &Collection, name: &str) -> Result<Stored> {
        match self.get(collection.id, name).await? {
            Some(stored) if stored.record.state == SnapshotState::Committed => Ok(stored),
            _ => Err(EngineError::SnapshotNotFound { collection: collection.name.clone(), name: name.to_string() }),
        }
    }

    /// Every record of one collection (or of all, with `None`), with its bytes.
    async fn records(&self, collection: Option<CollectionId>) -> Result<Vec<Stored>> {
        let prefix = collection.map_or(keys::RECORD_PREFIX.to_string(), keys::records_of);
        self.ctx
            .meta
            .scan_prefix(&prefix)
            .await?
            .into_iter()
            .map(|(key, bytes)| Ok(Stored { record: decode(&key, &bytes)?, bytes }))
            .collect()
    }

    /// Committed snapshot names of a collection, in creation order.
    pub async fn list(&self, collection: &Collection) -> Result<Vec<String>> {
        Ok(self
            .records(Some(collection.id))
            .await?
            .into_iter()
            .filter(|s| s.record.state == SnapshotState::Committed)
            .map(|s| s.record.name)
            .collect())
    }

    /// Summaries of a collection's committed snapshots, in creation order.
    pub async fn summaries(&self, collection: &Collection) -> Result<Vec<SnapshotSummary>> {
        let now_ms = self.ctx.now_ms();
        Ok(self
            .records(Some(collection.id))
            .await?
            .into_iter()
            .filter(|s| s.record.state == SnapshotState::Committed)
            .map(|s| s.record.summary(now_ms))
            .collect())
    }

    pub async fn describe(&self, collection: &Collection, name: &str) -> Result<SnapshotDescription> {
        names::validate(NameKind::Snapshot, name)?;
        let record = self.committed(collection, name).await?.record;
        let partition_names = record
            .partition_ids
            .iter()
            .map(|id| collection.partitions.iter().find(|p| p.id == *id).map(|p| p.name.clone()).unwrap_or_default())
            .collect();
        Ok(SnapshotDescription {
            name: record.name,
            description: record.description,
            collection_name: collection.name.clone(),
            partition_names,
            create_ts: record.create_ts.0 as i64,
            s3_location: record.s3_location,
        })
    }

    /// Segments compaction must leave alone: captured by a snapshot whose compaction
    /// protection has not expired.
    pub async fn protected_segments(&self, collection: CollectionId) -> Result<HashSet<SegmentId>> {
        let now_s = self.ctx.now_ms() / 1000;
        Ok(self
            .records(Some(collection))
            .await?
            .into_iter()
            .filter(|s| s.record.compaction_expire_s > now_s)
            .flat_map(|s| s.record.segments.into_iter().map(|c| c.segment))
            .collect())
    }

    /// Whether `session` (a record's creator) may still be working.
    async fn session_alive(&self, session: i64) -> Result<bool> {
        if session == self.ctx.session {
            return Ok(true);
        }
        let record = self.ctx.meta.get(&crate::gc::sessions::key(session)).await?;
        Ok(match record {
            Some(bytes) => {
                decode::<crate::gc::sessions::SessionRecord>(&crate::gc::sessions::key(session), &bytes)?.alive(self.ctx.now_ms())
            }
            None => false,
        })
    }
}

pub(crate) fn required(value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(EngineError::InvalidParameter(what.to_string()));
    }
    Ok(())
}
