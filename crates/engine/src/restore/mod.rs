//! Restore jobs: a snapshot restored into a new collection, asynchronously, with progress.
//!
//! RestoreSnapshot (see `plan`) validates, reads the snapshot, and in **one** commit
//! creates the target collection (schema with the snapshot's field ids, properties,
//! partitions, indexes), records the job (`Pending`, every planned copy named) and pins
//! the snapshot: a crash leaves all three or none, never a target without its job or a
//! pin without its job. The executor (`executor`) copies and verifies every file,
//! registers the target segments, and in one commit with the registration records the
//! job `Completed` and removes the pin; a failure records `Failed` and removes the pin
//! in one commit too.
//!
//! A clone (`RestoreMode::Clone`) plans no copies: the target's segments reference the
//! snapshot's files, each checked present with its recorded size before Completed, and
//! their full CRC-32C check runs after Completed (`Verification`). Copy mode makes and
//! verifies independent files, as before.
//!
//! Jobs run from a queue with a fixed number of workers; on shutdown the workers stop at
//! the next file boundary with their progress saved, and jobs resume at the next start.

mod executor;
pub mod model;
mod plan;

pub use model::{JobState, RestoreJob, RestoreMode, Verification, keys};

/// How many times a commit is tried again after the snapshot record it changes moved.
const CONFLICT_RETRIES: usize = 16;
/// How long a job interrupted by a store failure waits before it runs again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

use crate::catalog::Catalog;
use crate::context::Context;
use crate::data::Data;
use crate::error::{EngineError, Result, decode};
use crate::snapshots::Snapshots;
use quiver_base::{CollectionId, JobId};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// What a restore job makes of its snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreKind {
    /// A new, writable collection, by copies or by reference.
    Restore(RestoreMode),
    /// A read-only collection referencing the snapshot's files (a mounted snapshot).
    Mount,
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
    /// Bytes of the files copied and verified so far, of `total_bytes` to copy.
    pub copied_bytes: u64,
    pub total_bytes: u64,
    pub mode: RestoreMode,
    pub verification: Verification,
}

pub struct Restore {
    ctx: Arc<Context>,
    catalog: Arc<Catalog>,
    snapshots: Arc<Snapshots>,
    data: Arc<Data>,
    queue: mpsc::UnboundedSender<JobId>,
    /// Set on shutdown: workers stop at the next file boundary.
    stop: watch::Sender<bool>,
    workers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Whether a clone's files get their full CRC-32C check after Completed.
    verify_clones: bool,
    /// Jobs whose Completed state is committed (or being committed) while their segments
    /// are not yet in this process's memory: reported as still executing, so Completed
    /// always means the rows are there to read.
    installing: Mutex<HashSet<JobId>>,
}

impl Restore {
    /// The restore component; `verify_clones` runs the full check of a clone's files
    /// after it completes. Call [`Restore::start`] to run jobs.
    pub fn new(
        ctx: Arc<Context>,
        catalog: Arc<Catalog>,
        snapshots: Arc<Snapshots>,
        data: Arc<Data>,
        verify_clones: bool,
    ) -> (Arc<Restore>, JobQueue) {
        let (queue, jobs) = mpsc::unbounded_channel();
        let (stop, _) = watch::channel(false);
        let restore = Arc::new(Restore {
            ctx,
            catalog,
            snapshots,
            data,
            queue,
            stop,
            workers: Mutex::new(Vec::new()),
            verify_clones,
            installing: Mutex::new(HashSet::new()),
        });
        (restore, JobQueue(jobs))
    }

    /// Start `workers` workers on the queue, and queue every job with work left.
    pub async fn start(self: &Arc<Self>, queue: JobQueue, workers: usize) -> Result<()> {
        let jobs = Arc::new(tokio::sync::Mutex::new(queue.0));
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                let (restore, jobs) = (Arc::clone(self), Arc::clone(&jobs));
                tokio::spawn(async move { restore.work(jobs).await })
            })
            .collect();
        self.workers.lock().expect("workers poisoned").extend(handles);
        for job in self.jobs().await? {
            if job.is_open() {
                self.queue.send(job.id).ok();
            }
        }
        Ok(())
    }

    /// Stop taking jobs; running ones save their progress at the next file and stop.
    /// Returns once every worker has stopped, or after `deadline`.
    pub async fn shutdown(&self, deadline: std::time::Duration) {
        self.stop.send_replace(true);
        let handles: Vec<_> = std::mem::take(&mut *self.workers.lock().expect("workers poisoned"));
        let all = futures::future::join_all(handles);
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!("restore workers did not stop within the shutdown deadline; their jobs resume at the next start");
        }
    }

    async fn work(&self, jobs: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<JobId>>>) {
        let mut stop = self.stop.subscribe();
        loop {
            let next = {
                let mut jobs = jobs.lock().await;
                tokio::select! {
                    id = jobs.recv() => id,
                    _ = stop.wait_for(|stopped| *stopped) => None,
                }
            };
            let Some(id) = next else { return };
            match self.execute(id).await {
                Ok(()) => {}
                Err(error @ crate::error::EngineError::Crashed { .. }) => tracing::warn!(job = %id, %error, "restore job stopped"),
                // Its state could not be saved (the store failed): the job is durable and
                // every step idempotent, so it runs again shortly rather than waiting for a
                // restart.
                Err(error) => {
                    tracing::warn!(job = %id, %error, "restore job interrupted; retrying");
                    let queue = self.queue.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(RETRY_AFTER).await;
                        queue.send(id).ok();
                    });
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    async fn job(&self, id: JobId) -> Result<Option<RestoreJob>> {
        let key = keys::job(id);
        Ok(match self.ctx.meta.get(&key).await? {
            Some(bytes) => Some(decode(&key, &bytes)?),
            None => None,
        })
    }

    async fn jobs(&self) -> Result<Vec<RestoreJob>> {
        self.ctx.meta.scan_prefix(keys::JOB_PREFIX).await?.into_iter().map(|(key, value)| decode(&key, &value)).collect()
    }

    fn info(&self, job: &RestoreJob) -> JobInfo {
        let target = self.catalog.collection(job.target_collection);
        let installing = self.installing.lock().expect("installing poisoned").contains(&job.id);
        let (state, progress) = if installing { (JobState::Executing, job.progress().min(99)) } else { (job.state, job.progress()) };
        JobInfo {
            id: job.id,
            snapshot_name: job.snapshot_name.clone(),
            db_name: target.as_ref().and_then(|c| self.catalog.database_name(c.db_id)).unwrap_or_default(),
            collection_name: target.map(|c| c.name).unwrap_or_default(),
            state,
            progress,
            reason: job.reason.clone(),
            start_ms: job.start_ms,
            time_cost_ms: if job.end_ms > 0 { job.end_ms.saturating_sub(job.start_ms).max(1) } else { 0 },
            copied_bytes: job.copied_bytes(),
            total_bytes: job.total_bytes(),
            mode: job.mode,
            verification: job.verification.clone(),
        }
    }

    /// Wait until job `id` ends (Completed means loadable, see `installing`).
    pub async fn wait(&self, id: JobId) -> Result<JobInfo> {
        const POLL: std::time::Duration = std::time::Duration::from_millis(1);
        loop {
            let info = self.state(id.0).await?;
            if info.state.is_terminal() {
                return Ok(info);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn state(&self, id: i64) -> Result<JobInfo> {
        let job = self.job(JobId(id)).await?.ok_or(EngineError::RestoreJobNotFound { id })?;
        Ok(self.info(&job))
    }

    /// Jobs restoring into `collection` (name or alias) of `db`, or into any collection
    /// of `db`.
    pub async fn list(&self, db: &str, collection: &str) -> Result<Vec<JobInfo>> {
        let jobs = self.jobs().await?;
        if collection.is_empty() {
            let db_id = self.catalog.describe_database(db)?.id;
            return Ok(jobs
                .iter()
                .filter(|j| self.catalog.collection(j.target_collection).is_some_and(|c| c.db_id == db_id))
                .map(|j| self.info(j))
                .collect());
        }
        let target = self.catalog.resolve(db, collection)?;
        Ok(jobs.iter().filter(|j| j.target_collection == target.id).map(|j| self.info(j)).collect())
    }

    /// A job still restoring `snapshot` of `collection` (it holds a pin on it).
    pub async fn restoring(&self, collection: CollectionId, snapshot: &str) -> Result<Option<RestoreJob>> {
        Ok(self
            .jobs()
            .await?
            .into_iter()
            .find(|j| j.source_collection == collection && j.snapshot_name == snapshot && !j.state.is_terminal()))
    }

    /// The state of every job still listed.
    pub async fn states(&self) -> Result<Vec<JobState>> {
        Ok(self.jobs().await?.iter().map(|j| j.state).collect())
    }

    /// Forget jobs that ended more than `retention_ms` ago.
    pub async fn sweep(&self, retention_ms: u64) -> Result<()> {
        let now = self.ctx.now_ms();
        for job in self.jobs().await? {
            if !job.is_open() && now.saturating_sub(job.end_ms) > retention_ms {
                self.ctx.meta.delete(&keys::job(job.id)).await?;
            }
        }
        Ok(())
    }
}

/// The receiving end of the job queue, handed to [`Restore::start`].
pub struct JobQueue(mpsc::UnboundedReceiver<JobId>);
