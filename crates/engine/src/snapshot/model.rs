//! Snapshot and restore-job records, as kept in the metadata store.
//!
//! | key | value |
//! | --- | --- |
//! | `snapshot/record/<collection_id>/<snapshot_id>` | [`SnapshotRecord`] |
//! | `snapshot/name/<collection_id>/<name>` | the snapshot id (the uniqueness claim) |
//! | `snapshot/job/<job_id>` | [`RestoreJob`] |

use quiver_base::{BuildId, CollectionId, JobId, PartitionId, SegmentId, SnapshotId, Timestamp};
use quiver_format::FileRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod keys {
    use quiver_base::{CollectionId, JobId, SnapshotId};

    pub const RECORD_PREFIX: &str = "snapshot/record/";
    pub const JOB_PREFIX: &str = "snapshot/job/";

    pub fn record(collection: CollectionId, id: SnapshotId) -> String {
        format!("{RECORD_PREFIX}{:020}/{:020}", collection.0, id.0)
    }

    pub fn name(collection: CollectionId, name: &str) -> String {
        format!("snapshot/name/{:020}/{name}", collection.0)
    }

    pub fn job(id: JobId) -> String {
        format!("{JOB_PREFIX}{:020}", id.0)
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

    /// Pins still in force at `now_ms`.
    pub fn active_pins(&self, now_ms: u64) -> usize {
        self.pins.values().filter(|&&expiry| expiry == 0 || expiry > now_ms).count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    Pending,
    Executing,
    Completed,
    Failed,
}

impl JobState {
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed)
    }
}

/// One file to copy: from the snapshot's key to the target's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CopyTask {
    pub source: FileRef,
    pub target_key: String,
    pub done: bool,
}

/// A restored segment: where its copies go and how to register it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetSegment {
    pub source: SegmentId,
    pub segment: SegmentId,
    pub partition: PartitionId,
    pub rows: u64,
    #[serde(default)]
    pub min_ts: Timestamp,
    pub max_ts: Timestamp,
    /// Indices into the job's tasks.
    pub insert_tasks: Vec<usize>,
    pub delta_tasks: Vec<usize>,
    /// (index name, field id, new build id, task index, rows).
    pub index_tasks: Vec<(String, i64, BuildId, usize, u64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreJob {
    pub id: JobId,
    pub snapshot_name: String,
    pub snapshot_id: SnapshotId,
    pub source_collection: CollectionId,
    pub target_collection: CollectionId,
    pub target_db: String,
    pub target_name: String,
    pub state: JobState,
    pub reason: String,
    pub pin_id: i64,
    pub start_ms: u64,
    pub end_ms: u64,
    pub tasks: Vec<CopyTask>,
    pub segments: Vec<TargetSegment>,
    /// Highest progress reported so far (never goes back).
    pub progress: i32,
}

impl RestoreJob {
    /// Percent of files copied and verified; 100 once completed.
    pub fn progress(&self) -> i32 {
        if self.state == JobState::Completed {
            return 100;
        }
        if self.tasks.is_empty() {
            return if self.state.is_terminal() { 100 } else { 0 };
        }
        let done = self.tasks.iter().filter(|t| t.done).count();
        // 99 at most until the job is registered and completed.
        ((done * 100 / self.tasks.len()) as i32).min(99).max(self.progress)
    }
}
