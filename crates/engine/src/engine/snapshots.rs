//! Snapshot and restore calls. Collections are resolved here (aliases included); the
//! snapshot and restore components do the rest.

use super::Engine;
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result};
use crate::restore::{JobInfo, JobState, RestoreKind, RestoreMode};
use crate::snapshots::{SnapshotDescription, SnapshotSummary, required};
use quiver_base::JobId;

impl Engine {
    /// The collection a snapshot call names (aliases resolved).
    fn snapshot_collection(&self, db: &str, collection: &str, operation: &str) -> Result<Collection> {
        required(collection, &format!("collection_name is required for {operation}"))?;
        self.catalog.resolve(db, collection)
    }

    pub async fn create_snapshot(&self, db: &str, collection: &str, name: &str, description: &str, protection_seconds: i64) -> Result<()> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let collection = self.snapshot_collection(db, collection, "create snapshot")?;
        self.wait_for_index_builds(&collection, name).await;
        self.snapshots.create(&collection, name, description, protection_seconds).await
    }

    /// Wait, at most `snapshot_index_wait`, until every sealed segment has its indexes, so
    /// a snapshot taken right after a flush does not capture segments whose restore would
    /// rebuild them. The snapshot is taken anyway when the time is up (said in the log).
    async fn wait_for_index_builds(&self, collection: &Collection, snapshot: &str) {
        const POLL: std::time::Duration = std::time::Duration::from_millis(20);
        let deadline = tokio::time::Instant::now() + self.snapshot_index_wait;
        loop {
            let pending: u64 = collection.indexes.iter().map(|d| self.indexing.progress(collection, d).pending_rows).sum();
            if pending == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                if !self.snapshot_index_wait.is_zero() {
                    tracing::info!(
                        collection = %collection.name, snapshot, pending_rows = pending,
                        "snapshot captures rows whose index is still building; a restore builds it again"
                    );
                }
                return;
            }
            self.indexing.work().notify_one();
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn drop_snapshot(&self, db: &str, collection: &str, name: &str) -> Result<()> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let collection = self.snapshot_collection(db, collection, "drop snapshot")?;
        match self.snapshots.drop_snapshot(&collection, name).await {
            Err(EngineError::SnapshotPinned { name, held_by: None }) => {
                let held_by = self
                    .restore
                    .restoring(collection.id, &name)
                    .await?
                    .map(|job| format!("restore job {} into {}", job.id, job.target_name));
                Err(EngineError::SnapshotPinned { name, held_by })
            }
            other => other,
        }
    }

    /// Committed snapshot names of a collection, in creation order.
    pub async fn list_snapshots(&self, db: &str, collection: &str) -> Result<Vec<String>> {
        let collection = self.snapshot_collection(db, collection, "ListSnapshots")?;
        self.snapshots.list(&collection).await
    }

    /// Summaries of a collection's committed snapshots (sizes, pins, the restore holding
    /// each), in creation order.
    pub async fn snapshot_summaries(&self, db: &str, collection: &str) -> Result<Vec<SnapshotSummary>> {
        let collection = self.snapshot_collection(db, collection, "snapshot summaries")?;
        let mut summaries = self.snapshots.summaries(&collection).await?;
        for summary in &mut summaries {
            summary.restoring_job = self.restore.restoring(collection.id, &summary.name).await?.map(|job| job.id);
        }
        Ok(summaries)
    }

    pub async fn describe_snapshot(&self, db: &str, collection: &str, name: &str) -> Result<SnapshotDescription> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let collection = self.snapshot_collection(db, collection, "describe snapshot")?;
        self.snapshots.describe(&collection, name).await
    }

    /// Pin a committed snapshot; `ttl_seconds` 0 means until unpinned.
    pub async fn pin_snapshot(&self, db: &str, collection: &str, name: &str, ttl_seconds: i64) -> Result<i64> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let collection = self.snapshot_collection(db, collection, "pin snapshot")?;
        self.snapshots.pin(&collection, name, ttl_seconds).await
    }

    pub async fn unpin_snapshot(&self, pin_id: i64) -> Result<()> {
        self.snapshots.unpin(pin_id).await
    }

    /// Start restoring snapshot `name` of `collection` into a new collection, by `mode`
    /// (`None`: the configured one); returns the job id. The new collection exists
    /// (empty, not loaded) when this returns.
    pub async fn restore_snapshot(
        &self,
        db: &str,
        collection: &str,
        name: &str,
        target_db: &str,
        target: &str,
        mode: Option<RestoreMode>,
    ) -> Result<JobId> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let source = self.snapshot_collection(db, collection, "restore snapshot")?;
        self.restore.restore(&source, name, target_db, target, RestoreKind::Restore(mode.unwrap_or(self.restore_mode))).await
    }

    /// Mount snapshot `name` of `collection` as the read-only collection `mount` of `db`:
    /// a clone whose collection refuses writes and schema changes. Returns once the
    /// mount is loadable (or its job failed).
    pub async fn mount_snapshot(&self, db: &str, collection: &str, name: &str, mount: &str) -> Result<()> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let source = self.snapshot_collection(db, collection, "mount snapshot")?;
        let job = self.restore.restore(&source, name, db, mount, RestoreKind::Mount).await?;
        let info = self.restore.wait(job).await?;
        match info.state {
            JobState::Completed => Ok(()),
            _ => Err(EngineError::Internal(format!("mounting snapshot {name} of {collection} failed: {}", info.reason))),
        }
    }

    /// Remove the mounted snapshot `mount` (refused for a collection that is no mount).
    pub async fn unmount_snapshot(&self, db: &str, mount: &str) -> Result<()> {
        let collection = self.catalog.resolve_checked(db, mount)?;
        if collection.mounted.is_none() {
            return Err(EngineError::NotMounted { name: collection.name });
        }
        self.drop_collection(db, &collection.name).await
    }

    pub async fn restore_state(&self, id: i64) -> Result<JobInfo> {
        self.restore.state(id).await
    }

    /// Jobs restoring into `collection` (name or alias) of `db`, or into any collection
    /// of `db`.
    pub async fn list_restore_jobs(&self, db: &str, collection: &str) -> Result<Vec<JobInfo>> {
        self.restore.list(db, collection).await
    }

    /// The state of every restore job still listed, in any database.
    pub async fn restore_job_states(&self) -> Result<Vec<JobState>> {
        self.restore.states().await
    }
}
