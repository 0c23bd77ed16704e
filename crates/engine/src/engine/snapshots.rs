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

    /// What `collection`'s snapshots cost: each one's total, shared and exclusive bytes,
    /// and the bytes only its snapshots hold.
    pub async fn snapshot_usage(&self, db: &str, collection: &str) -> Result<crate::gc::usage::CollectionUsage> {
        let collection = self.snapshot_collection(db, collection, "snapshot usage")?;
        crate::gc::usage::of(&self.ctx, collection.id).await
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

/// What a rollback did: the snapshot the collection went back to, and where the state
/// it replaced was saved (roll back to that one to undo it).
#[derive(Clone, Debug)]
pub struct RollbackOutcome {
    /// The automatic snapshot holding the collection as it was just before.
    pub saved_as: String,
    /// Every write acknowledged after this timestamp (the snapshot's) was undone.
    pub undone_after_ts: u64,
    pub rows_before: u64,
    pub rows_after: u64,
}

/// How many times a rollback saves the collection again when it was written meanwhile.
const ROLLBACK_ATTEMPTS: usize = 5;

impl Engine {
    /// Roll `collection` back to its snapshot `name`, in place, in one commit: the
    /// current state is saved first as the snapshot `before_rollback_<ms>` (the rollback
    /// can itself be rolled back), then the snapshot's segments replace the current ones
    /// if nothing was written since that save; a write that lands between the two makes
    /// the save run again. Indexes whose definition is unchanged since the snapshot keep
    /// their files; others are built again.
    pub async fn rollback_collection(&self, db: &str, collection: &str, name: &str) -> Result<RollbackOutcome> {
        crate::names::validate(crate::error::NameKind::Snapshot, name)?;
        let current = self.snapshot_collection(db, collection, "rollback")?;
        current.check_writable("Rollback")?;
        let target = self.snapshots.committed(&current, name).await?;
        for captured in &target.record.segments {
            if !current.partitions.iter().any(|p| p.id == captured.partition) {
                return Err(EngineError::InvalidParameter(format!(
                    "a partition of snapshot {name} was dropped since it was taken; restore the snapshot into a new collection instead"
                )));
            }
        }
        let rows_before = self.row_count(db, &current.name).await?;
        for _ in 0..ROLLBACK_ATTEMPTS {
            self.data.flush(&current).await?;
            // A fresh timestamp: unique even when two rollbacks fall in one millisecond.
            let saved_as = format!("before_rollback_{}", self.ctx.next_ts().await?.0);
            let description = format!("automatic: {} before its rollback to {name}", current.name);
            self.snapshots.create(&current, &saved_as, &description, 0).await?;
            let saved = self.snapshots.committed(&current, &saved_as).await?;
            let expected = crate::data::segment_files(saved.record.segments.iter().map(|s| (s.segment, s.delta_logs.as_slice())));
            let (segments, builds) = self.rollback_plan(&current, &target.record).await?;
            let built: Vec<_> = builds.iter().map(|b| (b.segment, b.index_id)).collect();
            let mut extra = quiver_storage::Txn::new().when_equals(target.key(), target.bytes.clone());
            for build in &builds {
                extra = extra.put(crate::indexing::keys::build(current.id, build.segment, build.index_id), crate::error::encode(build));
            }
            match self.data.rollback(&current, &expected, segments, &built, extra).await {
                Ok(()) => {
                    if current.loaded {
                        self.indexing.attach(&current).await?;
                    }
                    self.indexing.work().notify_one();
                    let rows_after = self.row_count(db, &current.name).await?;
                    tracing::info!(collection = %current.name, snapshot = %name, saved_as = %saved_as, rows_before, rows_after, "collection rolled back");
                    return Ok(RollbackOutcome { saved_as, undone_after_ts: target.record.create_ts.0, rows_before, rows_after });
                }
                Err(EngineError::Conflict { .. }) => {
                    // Written meanwhile: this save is not the state being replaced.
                    self.snapshots.drop_snapshot(&current, &saved_as).await?;
                }
                Err(error) => return Err(error),
            }
        }
        Err(EngineError::Conflict { what: format!("collection {} (written during every rollback attempt)", current.name) })
    }

    /// The snapshot's segments as new segments of `collection` (new ids, the snapshot's
    /// files), and builds for the indexes whose definition still matches the captured one.
    async fn rollback_plan(
        &self,
        collection: &Collection,
        record: &crate::snapshots::SnapshotRecord,
    ) -> Result<(Vec<crate::data::SealedSegment>, Vec<crate::indexing::IndexBuild>)> {
        let mut segments = Vec::new();
        let mut builds = Vec::new();
        for captured in &record.segments {
            let id = quiver_base::SegmentId(self.ctx.next_id().await?);
            for index in &captured.indexes {
                let Some(definition) = collection.indexes.iter().find(|d| d.name == index.index_name && d.field_id.0 == index.field_id)
                else {
                    continue;
                };
                builds.push(crate::indexing::IndexBuild {
                    build_id: quiver_base::BuildId(self.ctx.next_id().await?),
                    index_id: definition.id,
                    segment: id,
                    field_id: definition.field_id,
                    file: index.file.clone(),
                    rows: index.rows,
                });
            }
            segments.push(crate::data::SealedSegment {
                id,
                partition: captured.partition,
                shard: 0,
                rows: captured.rows,
                insert_logs: captured.insert_logs.clone(),
                delta_logs: captured.delta_logs.clone(),
                min_ts: captured.min_ts,
                max_ts: captured.max_ts,
                compacted_from: Vec::new(),
            });
        }
        Ok((segments, builds))
    }
}
