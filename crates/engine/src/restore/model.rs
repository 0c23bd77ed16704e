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

/// How a restore makes the target's files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoreMode {
    /// Copy every file under the target's own keys and verify each copy's size and
    /// CRC-32C before Completed: the target shares nothing with the snapshot. (The
    /// default of records written before clones existed.)
    #[default]
    Copy,
    /// Reference the snapshot's files: nothing is copied, so a restore costs the same at
    /// any size. Completed checks that each file is there with its recorded size; GC
    /// keeps a file while anything references it.
    Clone,
}

impl RestoreMode {
    pub fn name(self) -> &'static str {
        match self {
            RestoreMode::Copy => "copy",
            RestoreMode::Clone => "clone",
        }
    }
}

/// The full CRC-32C check of a clone's files, which runs after Completed (a copy is
/// verified before it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verification {
    /// Copies are verified as they are made, before Completed.
    #[default]
    BeforeCompleted,
    /// Not run yet (it runs after Completed, also after a restart).
    Pending,
    /// Every file read back and matched its recorded size and CRC-32C.
    Verified { at_ms: u64 },
    /// A file did not match: the reason names it.
    Failed { reason: String },
    /// Turned off by configuration (`[data] verify_clones = false`).
    Skipped,
}

impl Verification {
    /// The state as operators read it (CLI, console, extension API).
    pub fn name(&self) -> &'static str {
        match self {
            Verification::BeforeCompleted => "verified before completed",
            Verification::Pending => "pending",
            Verification::Verified { .. } => "verified",
            Verification::Failed { .. } => "failed",
            Verification::Skipped => "skipped",
        }
    }
}

/// One file to copy: from the snapshot's key to the target's (the same key when the
/// job clones).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CopyTask {
    pub source: FileRef,
    pub target_key: String,
    pub done: bool,
}

impl CopyTask {
    /// Whether the target references the source file itself (a clone) instead of a copy.
    pub fn is_shared(&self) -> bool {
        self.source.key == self.target_key
    }
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
    #[serde(default)]
    pub mode: RestoreMode,
    #[serde(default)]
    pub verification: Verification,
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

    /// Whether the job records its progress as it goes: a copy does (it may take
    /// minutes, and resumes where it stopped); a clone's checks take milliseconds and are
    /// simply run again after a crash, so it saves no state but its end.
    pub fn saves_progress(&self) -> bool {
        self.mode == RestoreMode::Copy
    }

    /// Whether the job still has work: it has not ended, or its clone is not verified yet.
    pub fn is_open(&self) -> bool {
        !self.state.is_terminal() || (self.state == JobState::Completed && self.verification == Verification::Pending)
    }

    /// Every object a running job needs: the files it copies from and the copies.
    pub fn referenced_keys(&self) -> impl Iterator<Item = &str> {
        self.tasks.iter().flat_map(|t| [t.source.key.as_str(), t.target_key.as_str()])
    }
}
