//! The restore executor: copy each planned file (hard link on local disk, server-side
//! copy on S3), verify every copy's size and CRC-32C, register the target segments with
//! their index files (no rebuild), check row counts, and only then report Completed.
//!
//! Steps are idempotent per file and the job's progress is persisted as files are done
//! (at most every 100 ms, and when all are), so a job resumes after a restart without
//! redoing recorded copies (one copied but not yet recorded is found identical and
//! kept), and its progress (from the persisted counters) never goes backwards. Failure
//! reasons name the file or check.

use super::model::{CopyTask, JobState, RestoreJob};
use super::{JobInfo, now_ms};
use crate::Engine;
use crate::data::{IndexBuild, SegmentCapture, SegmentMeta, SegmentState};
use crate::error::{EngineError, Result};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use quiver_base::{FieldId, JobId};
use quiver_format::FileRef;
use quiver_storage::objects::checksum;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Copies (and verifications) in flight at once in one job: a restore's files are few
/// and large, so verifying them side by side uses every core and the disk's queue.
const COPIES_IN_FLIGHT: usize = 4;
/// Longest time between two saves of a job's progress while it copies.
const PROGRESS_SAVE_INTERVAL: Duration = Duration::from_millis(100);

impl Engine {
    /// Run a job in the background until it ends.
    pub fn start_job(self: Arc<Self>, id: JobId) {
        tokio::spawn(async move {
            if let Err(error) = self.execute(id).await {
                tracing::warn!(job = %id, %error, "restore job failed");
            }
        });
    }

    /// Resume every job that had not ended (start-up).
    pub fn resume_jobs(self: &Arc<Self>) {
        let open: Vec<JobId> = {
            let book = self.snapshots.lock().expect("snapshot book poisoned");
            book.jobs.values().filter(|j| !j.state.is_terminal()).map(|j| j.id).collect()
        };
        for id in open {
            Arc::clone(self).start_job(id);
        }
    }

    fn job(&self, id: JobId) -> Option<RestoreJob> {
        self.snapshots.lock().expect("snapshot book poisoned").jobs.get(&id).cloned()
    }

    async fn execute(&self, id: JobId) -> Result<()> {
        let Some(mut job) = self.job(id) else { return Ok(()) };
        let outcome = self.run_job(&mut job).await;
        job.end_ms = now_ms().max(job.start_ms + 1);
        match outcome {
            Ok(()) => {
                job.state = JobState::Completed;
                job.progress = 100;
            }
            Err(error) => {
                job.state = JobState::Failed;
                job.reason = error.to_string();
            }
        }
        // The terminal state is saved before the pin is released.
        self.save_job(&job).await?;
        self.unpin_snapshot(job.pin_id).await
    }

    async fn run_job(&self, job: &mut RestoreJob) -> Result<()> {
        job.state = JobState::Executing;
        self.save_job(job).await?;
        self.copy_all(job).await?;
        let target = self.target_of(job.target_collection).ok_or_else(|| {
            EngineError::InvalidParameter(format!("target collection {} was dropped during the restore", job.target_name))
        })?;
        let mut captures = Vec::new();
        let sealed_ts = self.allocate_timestamp().await?;
        for planned in &job.segments {
            let file = |i: usize| {
                let t = &job.tasks[i];
                FileRef { key: t.target_key.clone(), size: t.source.size, crc32c: t.source.crc32c, rows: t.source.rows }
            };
            let insert_logs: Vec<FileRef> = planned.insert_tasks.iter().map(|&i| file(i)).collect();
            let rows: u64 = insert_logs.iter().map(|f| f.rows).sum();
            if rows != planned.rows {
                return Err(EngineError::InvalidParameter(format!(
                    "row count check failed for segment {}: the manifest says {} rows, its insert logs hold {rows}",
                    planned.source, planned.rows
                )));
            }
            let mut builds = Vec::new();
            for (index_name, field_id, build_id, task, index_rows) in &planned.index_tasks {
                let index = target.indexes.iter().find(|d| &d.name == index_name).ok_or_else(|| {
                    EngineError::InvalidParameter(format!("index {index_name} of the snapshot is missing from the target collection"))
                })?;
                builds.push(IndexBuild {
                    build_id: *build_id,
                    index_id: index.id,
                    segment: planned.segment,
                    field_id: FieldId(*field_id),
                    file: file(*task),
                    rows: *index_rows,
                });
            }
            captures.push(SegmentCapture {
                meta: SegmentMeta {
                    id: planned.segment,
                    collection: target.id,
                    partition: planned.partition,
                    shard: 0,
                    rows,
                    insert_logs,
                    delta_logs: planned.delta_tasks.iter().map(|&i| file(i)).collect(),
                    state: SegmentState::Flushed,
                    min_ts: planned.min_ts,
                    max_ts: planned.max_ts,
                    sealed_ts,
                    compacted_from: Vec::new(),
                },
                builds,
            });
        }
        let expected: u64 = job.segments.iter().map(|s| s.rows).sum();
        let registered: u64 = captures.iter().map(|c| c.meta.rows).sum();
        if expected != registered {
            return Err(EngineError::InvalidParameter(format!("row count check failed: snapshot {expected} rows, restored {registered}")));
        }
        crate::failpoint::hit("restore.before_register");
        self.data.register_restored(&target, captures).await?;
        crate::failpoint::hit("restore.after_register");
        Ok(())
    }

    /// Copy and verify every file not done yet, several at once. Progress is saved at most
    /// every [`PROGRESS_SAVE_INTERVAL`] and once all are done: a file copied but not yet
    /// recorded is found identical and kept when a resumed job comes to it again.
    async fn copy_all(&self, job: &mut RestoreJob) -> Result<()> {
        let pending: Vec<(usize, CopyTask)> = job.tasks.iter().cloned().enumerate().filter(|(_, t)| !t.done).collect();
        let mut copies = futures::stream::iter(
            pending.into_iter().map(|(i, task)| async move { self.copy_verified(&task.source, &task.target_key).await.map(|()| i) }),
        )
        .buffer_unordered(COPIES_IN_FLIGHT);
        let mut saved = Instant::now();
        while let Some(copied) = copies.next().await {
            job.tasks[copied?].done = true;
            crate::failpoint::hit("restore.after_first_copy");
            if saved.elapsed() >= PROGRESS_SAVE_INTERVAL {
                job.progress = job.progress();
                self.save_job(job).await?;
                saved = Instant::now();
            }
        }
        job.progress = job.progress();
        self.save_job(job).await
    }

    /// Copy `source` to `target` unless an identical copy is there, then verify it.
    async fn copy_verified(&self, source: &FileRef, target: &str) -> Result<()> {
        let to = ObjectPath::from(target);
        let existing = checksum(&*self.objects, &to).await.ok();
        if existing == Some((source.size, source.crc32c)) {
            return Ok(());
        }
        if existing.is_some() {
            self.objects.delete(&to).await.map_err(|e| EngineError::Storage(format!("cannot replace {target}: {e}")))?;
        }
        self.objects
            .copy(&ObjectPath::from(source.key.as_str()), &to)
            .await
            .map_err(|e| EngineError::Storage(format!("cannot copy {} to {target}: {e}", source.key)))?;
        let (size, crc32c) = checksum(&*self.objects, &to).await.map_err(|e| EngineError::Storage(format!("cannot read {target}: {e}")))?;
        if (size, crc32c) != (source.size, source.crc32c) {
            return Err(EngineError::Storage(format!(
                "copy of {} is corrupt: expected {} bytes with crc32c {:08x}, found {size} bytes with crc32c {crc32c:08x}",
                source.key, source.size, source.crc32c
            )));
        }
        Ok(())
    }

    pub(super) async fn read_object(&self, key: &str) -> Result<bytes::Bytes> {
        let read = async { self.objects.get(&ObjectPath::from(key)).await?.bytes().await };
        read.await.map_err(|e| EngineError::Storage(format!("cannot read {key}: {e}")))
    }

    fn info(&self, job: &RestoreJob) -> JobInfo {
        let target = self.target_of(job.target_collection);
        JobInfo {
            id: job.id,
            snapshot_name: job.snapshot_name.clone(),
            db_name: target.as_ref().and_then(|c| self.catalog.database_name(c.db_id)).unwrap_or_default(),
            collection_name: target.map(|c| c.name).unwrap_or_default(),
            state: job.state,
            progress: job.progress(),
            reason: job.reason.clone(),
            start_ms: job.start_ms,
            time_cost_ms: if job.end_ms > 0 { job.end_ms.saturating_sub(job.start_ms).max(1) } else { 0 },
        }
    }

    pub fn restore_state(&self, id: i64) -> Result<JobInfo> {
        let job = self.job(JobId(id)).ok_or(EngineError::RestoreJobNotFound { id })?;
        Ok(self.info(&job))
    }

    /// Jobs restoring into `collection` (name or alias) of `db`, or into any collection
    /// of `db`.
    pub fn list_restore_jobs(&self, db: &str, collection: &str) -> Result<Vec<JobInfo>> {
        let jobs: Vec<RestoreJob> = self.snapshots.lock().expect("snapshot book poisoned").jobs.values().cloned().collect();
        if collection.is_empty() {
            let db_id = self.catalog.describe_database(db)?.id;
            return Ok(jobs
                .iter()
                .filter(|j| self.target_of(j.target_collection).is_some_and(|c| c.db_id == db_id))
                .map(|j| self.info(j))
                .collect());
        }
        let target = self.catalog.describe_collection(db, collection)?.collection;
        Ok(jobs.iter().filter(|j| j.target_collection == target.id).map(|j| self.info(j)).collect())
    }

    /// Forget jobs that ended more than the retention period ago.
    pub async fn sweep_jobs(&self, retention_ms: u64) -> Result<()> {
        let now = now_ms();
        let expired: Vec<JobId> = {
            let book = self.snapshots.lock().expect("snapshot book poisoned");
            book.jobs.values().filter(|j| j.state.is_terminal() && now.saturating_sub(j.end_ms) > retention_ms).map(|j| j.id).collect()
        };
        for id in expired {
            self.meta.delete(&super::model::keys::job(id)).await?;
            self.snapshots.lock().expect("snapshot book poisoned").jobs.remove(&id);
        }
        Ok(())
    }
}
