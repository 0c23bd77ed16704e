//! Snapshot records, as kept in the metadata store.
//!
//! | key | value |
//! | --- | --- |
//! | `snapshot/record/<collection_id>/<snapshot_id>` | [`SnapshotRecord`] |
//! | `snapshot/name/<collection_id>/<name>` | the snapshot id, u64 BE (the uniqueness claim) |
//! | `snapshot/pin/<pin_id>` | the record key holding the pin (so an unpin finds it) |

use quiver_base::{BuildId, CollectionId, PartitionId, SegmentId, SnapshotId, Timestamp};
use quiver_format::FileRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod keys {
    use quiver_base::{CollectionId, SnapshotId};

    pub const RECORD_PREFIX: &str = "snapshot/record/";

    pub fn record(collection: CollectionId, id: SnapshotId) -> String {
        format!("{RECORD_PREFIX}{:020}/{:020}", collection.0, id.0)
    }

    /// The prefix of one collection's snapshot records.
    pub fn records_of(collection: CollectionId) -> String {
        format!("{RECORD_PREFIX}{:020}/", collection.0)
    }

    pub fn name(collection: CollectionId, name: &str) -> String {
        format!("snapshot/name/{:020}/{name}", collection.0)
    }

    pub fn pin(pin_id: i64) -> String {
        format!("snapshot/pin/{pin_id:020}")
    }
}

/// Lifecycle: `Pending` (being written) → `Committed` (visible) → `Deleting` (invisible,
/// files being removed) → gone. Only `Committed` snapshots are visible to clients.
pub use quiver_format::snapshot::SnapshotState;

/// One captured segment: its files as of the snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedSegment {
    pub segment: SegmentId,
    pub partition: PartitionId,
    pub rows: u64,
    pub insert_logs: Vec<FileRef>,
    pub delta_logs: Vec<FileRef>,
    pub indexes: Vec<CapturedIndex>,
    #[serde(default)]
    pub min_ts: Timestamp,
    pub max_ts: Timestamp,
}

/// One index build of a captured segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedIndex {
    pub index_name: String,
    pub field_id: i64,
    pub build_id: BuildId,
    pub file: FileRef,
    pub rows: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub id: SnapshotId,
    pub name: String,
    pub description: String,
    pub collection_id: CollectionId,
    pub partition_ids: Vec<PartitionId>,
    /// The snapshot's hybrid timestamp.
    pub create_ts: Timestamp,
    /// Object key of the metadata JSON.
    pub s3_location: String,
    pub state: SnapshotState,
    pub pending_start_ms: u64,
    /// The session that created the snapshot: a `Pending` record of a dead session
    /// belongs to a create that died (0 in records written before sessions existed).
    #[serde(default)]
    pub session: i64,
    /// Unix seconds until which compaction leaves the captured segments alone (0: none).
    pub compaction_expire_s: u64,
    /// Active pins: pin id → expiry in unix ms (0: never).
    pub pins: BTreeMap<i64, u64>,
    /// What the snapshot references (also in its manifests), so GC protection is loaded
    /// with the record, never later.
    pub segments: Vec<CapturedSegment>,
    /// Object keys of the manifests written so far.
    pub manifests: Vec<String>,
}

impl SnapshotRecord {
    /// Every object the snapshot needs: data, delete logs, index files, its own files.
    pub fn referenced_keys(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .flat_map(|s| {
                s.insert_logs.iter().chain(&s.delta_logs).map(|f| f.key.as_str()).chain(s.indexes.iter().map(|i| i.file.key.as_str()))
            })
            .chain(self.manifests.iter().map(String::as_str))
            .chain(std::iter::once(self.s3_location.as_str()).filter(|k| !k.is_empty()))
    }

    /// Its data files: insert logs, delete logs and index files (not its own files).
    pub fn data_files(&self) -> impl Iterator<Item = &FileRef> {
        self.segments.iter().flat_map(|s| s.insert_logs.iter().chain(&s.delta_logs).chain(s.indexes.iter().map(|i| &i.file)))
    }

    /// What an operator sees of this snapshot at `now_ms`.
    pub fn summary(&self, now_ms: u64) -> super::SnapshotSummary {
        let files = self.data_files();
        super::SnapshotSummary {
            name: self.name.clone(),
            description: self.description.clone(),
            create_ts: self.create_ts,
            segments: self.segments.len(),
            rows: self.segments.iter().map(|s| s.rows).sum(),
            data_bytes: files.map(|f| f.size).sum(),
            active_pins: self.active_pins(now_ms),
            restoring_job: None,
        }
    }

    /// Pins still in force at `now_ms`.
    pub fn active_pins(&self, now_ms: u64) -> usize {
        self.pins.values().filter(|&&expiry| expiry == 0 || expiry > now_ms).count()
    }
}
