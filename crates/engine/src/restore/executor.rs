//! The restore executor: copy each planned file (hard link on local disk, server-side
//! copy on S3) and verify every copy's size and CRC-32C, or, for a clone, check that
//! each shared file is there with its recorded size; then register the target segments
//! with their index files (no rebuild) in the same commit that records the job
//! `Completed` and removes its pin. Completed therefore means registered: every file a
//! completed job's collection needs was verified, and is referenced from that commit on.
//!
//! Steps are idempotent per file and the job's progress is persisted as files are done
//! (at most every 100 ms, and when all are), so a job resumes after a restart without
//! redoing recorded copies (one copied but not yet recorded is found identical and
//! kept), and its progress (from the persisted counters) never goes backwards. Failure
//! reasons name the file or check.
//!
//! A clone's full check (every shared file read back against its CRC-32C) runs after
//! Completed: a clone is usable at once, and a file that fails the check is reported
//! loudly (an error in the log, the job's verification state, a metric). It resumes
//! after a restart like any open job.

use super::model::{CopyTask, JobState, RestoreJob, Verification, keys};
use super::{CONFLICT_RETRIES, Restore};
use crate::data::SealedSegment;
use crate::error::{EngineError, Result, StorageError, encode, internal};
use crate::indexing::{IndexBuild, keys as build_keys};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use quiver_base::{FieldId, JobId};
use quiver_format::FileRef;
use quiver_storage::objects::checksum;
use quiver_storage::{MetaError, Txn};

/// Copies (and verifications) in flight at once in one job: a restore's files are few
/// and large, so verifying them side by side uses every core and the disk's queue.
const COPIES_IN_FLIGHT: usize = 4;
/// Longest time between two saves of a job's progress while it copies (ms).
const PROGRESS_SAVE_INTERVAL_MS: u64 = 100;

/// Why a job's copying stopped before the end.
enum Interrupted {
    /// The server is shutting down: progress is saved, the job resumes at the next start.
    Shutdown,
    Failed(EngineError),
}

impl From<EngineError> for Interrupted {
    fn from(error: EngineError) -> Self {
        Interrupted::Failed(error)
    }
}

impl Restore {
    /// Run a job until it ends (or the server stops). An error means its end could not be
    /// recorded: it is still open and runs again.
    pub(super) async fn execute(&self, id: JobId) -> Result<()> {
        let Some(mut job) = self.job(id).await? else { return Ok(()) };
        if !job.state.is_terminal() {
            self.execute_open(&mut job).await?;
        }
        if job.is_open() && !self.stopping() {
            self.verify_clone(job.id).await?;
        }
        Ok(())
    }

    async fn execute_open(&self, job: &mut RestoreJob) -> Result<()> {
        match self.run(job).await {
            Ok(()) => Ok(()),
            Err(Interrupted::Shutdown) => Ok(()),
            Err(Interrupted::Failed(error @ EngineError::Crashed { .. })) => Err(error),
            Err(Interrupted::Failed(error)) => {
                job.state = JobState::Failed;
                job.reason = error.to_string();
                job.end_ms = self.ctx.now_ms().max(job.start_ms + 1);
                // The terminal state and the pin's release, in one commit.
                self.finish(job, |txn| async move { Ok(txn) }).await?;
                quiver_base::metrics::restore_finished("Failed");
                tracing::warn!(job = %job.id, target = %job.target_name, reason = %error, "restore job failed");
                Ok(())
            }
        }
    }

    async fn run(&self, job: &mut RestoreJob) -> std::result::Result<(), Interrupted> {
        job.state = JobState::Executing;
        if job.saves_progress() {
            self.save(job).await?;
        }
        self.copy_all(job).await?;
        let target = self.catalog.collection(job.target_collection).ok_or_else(|| {
            EngineError::InvalidParameter(format!("target collection {} was dropped during the restore", job.target_name))
        })?;
        let mut segments = Vec::new();
        let mut builds = Vec::new();
        for planned in &job.segments {
            let file = |i: usize| {
                let t = &job.tasks[i];
                FileRef { key: t.target_key.clone(), size: t.source.size, crc32c: t.source.crc32c, rows: t.source.rows }
            };
            let insert_logs: Vec<FileRef> = planned.insert_tasks.iter().map(|&i| file(i)).collect();
            let rows: u64 = insert_logs.iter().map(|f| f.rows).sum();
            if rows != planned.rows {
                return Err(internal(format!(
                    "row count check failed for segment {}: the manifest says {} rows, its insert logs hold {rows}",
                    planned.source, planned.rows
                ))
                .into());
            }
            for (index_name, field_id, build_id, task, index_rows) in &planned.index_tasks {
                let index = target
                    .indexes
                    .iter()
                    .find(|d| &d.name == index_name)
                    .ok_or_else(|| internal(format!("index {index_name} of the snapshot is missing from the target collection")))?;
                builds.push(IndexBuild {
                    build_id: *build_id,
                    index_id: index.id,
                    segment: planned.segment,
                    field_id: FieldId(*field_id),
                    file: file(*task),
                    rows: *index_rows,
                });
            }
            segments.push(SealedSegment {
                id: planned.segment,
                partition: planned.partition,
                shard: 0,
                rows,
                insert_logs,
                delta_logs: planned.delta_tasks.iter().map(|&i| file(i)).collect(),
                min_ts: planned.min_ts,
                max_ts: planned.max_ts,
                compacted_from: Vec::new(),
            });
        }
        let expected: u64 = job.segments.iter().map(|s| s.rows).sum();
        let registered: u64 = segments.iter().map(|s| s.rows).sum();
        if expected != registered {
            return Err(internal(format!("row count check failed: snapshot {expected} rows, restored {registered}")).into());
        }
        self.ctx.failpoint("restore.before_register")?;
        job.state = JobState::Completed;
        job.progress = 100;
        job.end_ms = self.ctx.now_ms().max(job.start_ms + 1);
        let mut build_records = Txn::new();
        for build in &builds {
            build_records = build_records.put(build_keys::build(target.id, build.segment, build.index_id), encode(build));
        }
        let built: Vec<_> = builds.iter().map(|b| (b.segment, b.index_id)).collect();
        let (data, target, built) = (&self.data, &target, &built);
        // From the commit on the store says Completed; until the segments are in memory
        // too, this process reports the job as still executing.
        self.installing.lock().expect("installing poisoned").insert(job.id);
        let finished = self
            .finish(job, |txn| {
                let segments = segments.clone();
                let txn = txn.merge(build_records.clone());
                async move { data.register(target, segments, built, txn).await.map(|()| Txn::new()) }
            })
            .await;
        self.installing.lock().expect("installing poisoned").remove(&job.id);
        finished?;
        quiver_base::metrics::restore_finished("Completed");
        tracing::info!(
            job = %job.id, target = %job.target_name, segments = segments.len(), rows = registered,
            elapsed_ms = job.end_ms - job.start_ms, "restore job completed"
        );
        self.ctx.failpoint("restore.after_register")?;
        Ok(())
    }

    /// Record a job's terminal state together with its pin's release: `commit` gets the
    /// transaction (job record and unpin) and commits it, alone or with its own records,
    /// returning what is left to commit here. Retried when the snapshot's record changed
    /// meanwhile (another pin came or went).
    async fn finish<F, Fut>(&self, job: &RestoreJob, commit: F) -> Result<()>
    where
        F: Fn(Txn) -> Fut,
        Fut: std::future::Future<Output = Result<Txn>>,
    {
        for _ in 0..CONFLICT_RETRIES {
            let unpin = self.snapshots.unpin_txn(job.pin_id).await?.unwrap_or_default();
            let txn = unpin.put(keys::job(job.id), encode(job));
            let outcome = async {
                let rest = commit(txn).await?;
                if !rest.is_empty() {
                    self.ctx.meta.commit(rest).await?;
                }
                Ok::<_, EngineError>(())
            }
            .await;
            match outcome {
                Err(EngineError::Meta(MetaError::ConditionFailed { .. }) | EngineError::Conflict { .. }) => continue,
                other => return other,
            }
        }
        Err(EngineError::Conflict { what: format!("restore job {}", job.id) })
    }

    async fn save(&self, job: &RestoreJob) -> Result<()> {
        self.ctx.meta.put(&keys::job(job.id), encode(job)).await?;
        Ok(())
    }

    /// Copy and verify every file not done yet, several at once. Progress is saved at most
    /// every [`PROGRESS_SAVE_INTERVAL_MS`] and once all are done: a file copied but not yet
    /// recorded is found identical and kept when a resumed job comes to it again.
    async fn copy_all(&self, job: &mut RestoreJob) -> std::result::Result<(), Interrupted> {
        let pending: Vec<(usize, CopyTask)> = job.tasks.iter().cloned().enumerate().filter(|(_, t)| !t.done).collect();
        let mut copies = futures::stream::iter(pending.into_iter().map(|(i, task)| async move {
            if task.is_shared() { self.check_present(&task.source).await } else { self.copy_verified(&task.source, &task.target_key).await }
                .map(|()| i)
        }))
        .buffer_unordered(COPIES_IN_FLIGHT);
        let mut saved = self.ctx.now_ms();
        while let Some(copied) = copies.next().await {
            let task = &mut job.tasks[copied?];
            task.done = true;
            quiver_base::metrics::restore_copied(task.source.size);
            self.ctx.failpoint("restore.after_first_copy")?;
            if self.stopping() {
                drop(copies);
                job.progress = job.progress();
                self.save(job).await?;
                return Err(Interrupted::Shutdown);
            }
            if self.ctx.now_ms().saturating_sub(saved) >= PROGRESS_SAVE_INTERVAL_MS {
                job.progress = job.progress();
                self.save(job).await?;
                saved = self.ctx.now_ms();
            }
        }
        job.progress = job.progress();
        if job.saves_progress() {
            self.save(job).await?;
        }
        Ok(())
    }

    /// A clone's shared file is there with its recorded size (its full check comes after
    /// Completed, see [`Restore::verify_clone`]).
    async fn check_present(&self, file: &FileRef) -> Result<()> {
        let meta =
            self.ctx.objects.head(&ObjectPath::from(file.key.as_str())).await.map_err(|e| StorageError::new("check", &file.key, &e))?;
        if meta.size != file.size {
            return Err(StorageError::corrupt(
                &file.key,
                format!("shared file {} has {} bytes, the snapshot recorded {}", file.key, meta.size, file.size),
            )
            .into());
        }
        Ok(())
    }

    /// Read back every file a completed clone references against its recorded size and
    /// CRC-32C, and record the result in the job (a compare-and-set: a job swept or
    /// changed meanwhile is left alone). A mismatch is an error in the log and the job's
    /// `Failed` verification naming the file; the clone stays as it is (its reads verify
    /// each file they load and refuse a corrupt one).
    async fn verify_clone(&self, id: JobId) -> Result<()> {
        let key = keys::job(id);
        let Some(bytes) = self.ctx.meta.get(&key).await? else { return Ok(()) };
        let mut job: RestoreJob = crate::error::decode(&key, &bytes)?;
        if !job.is_open() {
            return Ok(());
        }
        let mut seen = std::collections::HashSet::new();
        let files: Vec<FileRef> = job.tasks.iter().filter(|t| seen.insert(t.target_key.clone())).map(|t| t.source.clone()).collect();
        let mut checks = futures::stream::iter(files.into_iter().map(|file| async move {
            let found = checksum(&*self.ctx.objects, &ObjectPath::from(file.key.as_str())).await;
            (file, found)
        }))
        .buffer_unordered(COPIES_IN_FLIGHT);
        let mut failure = None;
        while let Some((file, found)) = checks.next().await {
            if self.stopping() {
                return Ok(());
            }
            match found {
                Ok((size, crc32c)) if (size, crc32c) == (file.size, file.crc32c) => {}
                Ok((size, crc32c)) => {
                    failure = Some(format!(
                        "{} is corrupt: expected {} bytes with crc32c {:08x}, found {size} bytes with crc32c {crc32c:08x}",
                        file.key, file.size, file.crc32c
                    ));
                    break;
                }
                Err(object_store::Error::NotFound { .. }) => {
                    failure = Some(format!("{} is missing", file.key));
                    break;
                }
                Err(error) => return Err(StorageError::new("verify", &file.key, &error).into()),
            }
        }
        drop(checks);
        job.verification = match failure {
            None => Verification::Verified { at_ms: self.ctx.now_ms() },
            Some(reason) => Verification::Failed { reason },
        };
        match &job.verification {
            Verification::Failed { reason } => {
                quiver_base::metrics::clone_verified("failed");
                tracing::error!(job = %job.id, target = %job.target_name, %reason, "a cloned collection's file failed its check");
            }
            _ => {
                quiver_base::metrics::clone_verified("verified");
                tracing::info!(job = %job.id, target = %job.target_name, files = seen.len(), "cloned collection's files verified");
            }
        }
        let txn = Txn::new().when_equals(&key, bytes).put(&key, encode(&job));
        match self.ctx.meta.commit(txn).await {
            Ok(()) | Err(MetaError::ConditionFailed { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Copy `source` to `target` unless an identical copy is there, then verify it.
    async fn copy_verified(&self, source: &FileRef, target: &str) -> Result<()> {
        let objects = &self.ctx.objects;
        let to = ObjectPath::from(target);
        let existing = checksum(&**objects, &to).await.ok();
        if existing == Some((source.size, source.crc32c)) {
            return Ok(());
        }
        if existing.is_some() {
            self.ctx.delete_object(target).await?;
        }
        objects.copy(&ObjectPath::from(source.key.as_str()), &to).await.map_err(|e| StorageError::new("copy", &source.key, &e))?;
        let (size, crc32c) = checksum(&**objects, &to).await.map_err(|e| StorageError::new("read", target, &e))?;
        if (size, crc32c) != (source.size, source.crc32c) {
            return Err(StorageError::corrupt(
                target,
                format!(
                    "copy of {} is corrupt: expected {} bytes with crc32c {:08x}, found {size} bytes with crc32c {crc32c:08x}",
                    source.key, source.size, source.crc32c
                ),
            )
            .into());
        }
        Ok(())
    }
}
