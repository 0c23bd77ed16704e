//! Restore-job records, as kept in the metadata store.
//!
//! | key | value |
//! | --- | --- |
//! | `snapshot/job/<job_id>` | [`RestoreJob`] |

use quiver_base::{BuildId, CollectionId, JobId, PartitionId, SegmentId, SnapshotId, Timestamp};
use quiver_format::FileRef;
use serde::{Deserialize, Serialize};

pub mod keys {
    use quiver_base::JobId;

    pub const JOB_PREFIX: &str = "snapshot/job/";

    pub fn job(id: JobId) -> String {
        format!("{JOB_PREFIX}{:020}", id.0)
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
    pub const ALL: [JobState; 4] = [JobState::Pending, JobState::Executing, JobState::Completed, JobState::Failed];

    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed)
    }

    /// The state's name as operators read it (metrics labels, the console).
    pub fn name(self) -> &'static str {
        match self {
            JobState::Pending => "Pending",
            JobState::Executing => "Executing",
            JobState::Completed => "Completed",
            JobState::Failed => "Failed",
        }
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

impl RestoreJob {
    /// Bytes of the files copied and verified so far.
    pub fn copied_bytes(&self) -> u64 {
        self.tasks.iter().filter(|t| t.done).map(|t| t.source.size).sum()
    }

    /// Bytes of every file the job copies.
    pub fn total_bytes(&self) -> u64 {
        self.tasks.iter().map(|t| t.source.size).sum()
    }

    /// Every object a running job needs: the files it copies from and the copies.
    pub fn referenced_keys(&self) -> impl Iterator<Item = &str> {
        self.tasks.iter().flat_map(|t| [t.source.key.as_str(), t.target_key.as_str()])
    }
}
