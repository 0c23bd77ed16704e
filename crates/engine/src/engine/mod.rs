//! The engine's front: a thin layer over the components that resolves names once (the
//! catalog's [`Catalog::resolve`] is the one way) and routes each call to the component
//! that owns it, orchestrating the few calls that touch several (dropping a collection,
//! loading one). It holds no state of its own.
//!
//! The calls are grouped as the components are: `catalog.rs` (databases, collections,
//! partitions, aliases, indexes, load state), `data.rs` (writes, flush, reads,
//! compaction), `snapshots.rs` (snapshots and restore jobs). This file opens the engine
//! and runs its background work.

mod catalog;
mod data;
mod snapshots;

pub use snapshots::RollbackOutcome;

use crate::catalog::Catalog;
use crate::compaction::{Compaction, CompactionTrigger};
use crate::context::Context;
use crate::data::{Data, DataConfig};
use crate::error::Result;
use crate::failpoint::Failpoints;
use crate::gc::{Gc, GcReport, sessions};
use crate::indexing::Indexing;
use crate::restore::{JobQueue, Restore, RestoreMode};
use crate::security::Security;
use crate::snapshots::Snapshots;
use object_store::ObjectStore;
use quiver_base::{Clock, Timestamp};
use quiver_storage::MetaStore;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Tunables of the engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub data: DataConfig,
    /// Restore jobs running at once.
    pub restore_workers: usize,
    /// How long CreateSnapshot waits for index builds of the segments it captures (a
    /// segment captured unindexed has its index rebuilt by every restore). Zero: no wait.
    pub snapshot_index_wait: std::time::Duration,
    /// How RestoreSnapshot makes the target's files when the caller does not say.
    pub restore_mode: RestoreMode,
    /// Whether a clone's files get their full CRC-32C check after it completes.
    pub verify_clones: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            data: DataConfig::default(),
            restore_workers: 2,
            snapshot_index_wait: std::time::Duration::ZERO,
            restore_mode: RestoreMode::Clone,
            verify_clones: true,
        }
    }
}

pub struct Engine {
    ctx: Arc<Context>,
    catalog: Arc<Catalog>,
    data: Arc<Data>,
    indexing: Indexing,
    compaction: Compaction,
    gc: Gc,
    snapshots: Arc<Snapshots>,
    restore: Arc<Restore>,
    security: Security,
    /// The restore queue until [`Engine::start`] hands it to the workers.
    restore_queue: Mutex<Option<JobQueue>>,
    restore_workers: usize,
    restore_mode: RestoreMode,
    snapshot_index_wait: std::time::Duration,
    started_ms: u64,
}

impl Engine {
    /// Open every component over the stores: the catalog, then the data (loading sealed
    /// segments and replaying the WAL in `wal_dir`), then the index files of loaded
    /// collections. A collection whose files cannot be read is reported and marked
    /// unavailable; the others are served. Background work starts with [`Engine::start`].
    pub async fn open(
        meta: Arc<dyn MetaStore>,
        objects: Arc<dyn ObjectStore>,
        wal_dir: &Path,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Engine> {
        let ctx = Arc::new(Context::open(meta, objects, clock).await?);
        let started_ms = ctx.now_ms();
        sessions::start(&ctx, started_ms).await?;
        let catalog = Arc::new(Catalog::open(Arc::clone(&ctx)).await?);
        let collections = catalog.all_collections();
        let seal_bytes = config.data.seal_bytes;
        let data = Arc::new(Data::open(Arc::clone(&ctx), wal_dir, config.data, &collections).await?);
        let indexing = Indexing::new(Arc::clone(&ctx), Arc::clone(&data));
        for collection in collections.iter().filter(|c| data.unavailable(c).is_none()) {
            if let Err(error) = indexing.attach(collection).await {
                tracing::error!(collection = %collection.name, %error, "cannot read the index records of a collection");
            }
        }
        let snapshots = Arc::new(Snapshots::new(Arc::clone(&ctx), Arc::clone(&catalog)));
        let compaction = Compaction::new(Arc::clone(&ctx), Arc::clone(&data), Arc::clone(&snapshots), seal_bytes);
        let (restore, queue) =
            Restore::new(Arc::clone(&ctx), Arc::clone(&catalog), Arc::clone(&snapshots), Arc::clone(&data), config.verify_clones);
        let security = Security::open(Arc::clone(&ctx)).await?;
        Ok(Engine {
            security,
            gc: Gc::new(Arc::clone(&ctx)),
            ctx,
            catalog,
            data,
            indexing,
            compaction,
            snapshots,
            restore,
            restore_queue: Mutex::new(Some(queue)),
            restore_workers: config.restore_workers,
            restore_mode: config.restore_mode,
            snapshot_index_wait: config.snapshot_index_wait,
            started_ms,
        })
    }

    /// Finish what a crash interrupted (dead creates, half-done drops) so no half-made
    /// snapshot holds a name, and start the restore workers (resuming open jobs).
    pub async fn start(&self) -> Result<()> {
        self.snapshots.sweep().await?;
        let queue = self.restore_queue.lock().expect("restore queue poisoned").take();
        if let Some(queue) = queue {
            self.restore.start(queue, self.restore_workers).await?;
        }
        Ok(())
    }

    /// Stop the restore workers (their progress saved) within `deadline`, and end this
    /// process's session. Writes already acknowledged are in the WAL.
    pub async fn shutdown(&self, deadline: Duration) {
        self.restore.shutdown(deadline).await;
        if let Err(error) = sessions::end(&self.ctx).await {
            tracing::warn!(%error, "cannot end the session; it expires on its own");
        }
    }

    /// Users, roles and grants (the server authenticates and authorizes with it).
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// This instance's failpoints (tests arm them).
    pub fn failpoints(&self) -> &Failpoints {
        &self.ctx.failpoints
    }

    /// A fresh timestamp from the oracle.
    pub async fn allocate_timestamp(&self) -> Result<Timestamp> {
        self.ctx.next_ts().await
    }

    /// Renew this process's session (see `gc::sessions`); the server calls it every
    /// [`sessions::HEARTBEAT_INTERVAL_MS`].
    pub async fn heartbeat(&self) -> Result<()> {
        sessions::heartbeat(&self.ctx, self.started_ms).await
    }

    /// Notified when index builds may be due; the background builder waits on it.
    pub fn index_work(&self) -> Arc<tokio::sync::Notify> {
        self.indexing.work()
    }

    /// Seal collections whose growing data is due (size or idle time), and try again to
    /// serve collections whose files could not be read. One collection's failure is
    /// reported and does not stop the others.
    pub async fn seal_due(&self) -> Result<()> {
        for collection in self.catalog.all_collections() {
            let outcome = match self.data.unavailable(&collection) {
                Some(_) => self.data.recover(&collection).await.map(|()| false),
                None => self.data.seal_due(&collection).await,
            };
            match outcome {
                Ok(true) => self.indexing.work().notify_one(),
                Ok(false) => {}
                Err(error) => tracing::warn!(collection = %collection.name, %error, "sealing failed"),
            }
        }
        Ok(())
    }

    /// Build missing index files for every collection (background); one collection's
    /// failure does not stop the others.
    pub async fn build_indexes(&self, threads: usize) -> Result<usize> {
        let mut built = 0;
        for collection in self.catalog.all_collections().iter().filter(|c| self.data.unavailable(c).is_none()) {
            match self.indexing.build(collection, threads).await {
                Ok(n) => built += n,
                Err(error @ crate::error::EngineError::Crashed { .. }) => return Err(error),
                Err(error) => tracing::warn!(collection = %collection.name, %error, "index builds failed"),
            }
        }
        Ok(built)
    }

    /// Background compaction of every collection; one collection's failure does not stop
    /// the others.
    pub async fn compact_due(&self) -> Result<()> {
        // A mounted snapshot keeps the snapshot's segments as they are.
        let compactable = |c: &&crate::catalog::model::Collection| self.data.unavailable(c).is_none() && c.mounted.is_none();
        for collection in self.catalog.all_collections().iter().filter(compactable) {
            if let Err(error) = self.compaction.compact(collection, CompactionTrigger::Automatic).await {
                tracing::warn!(collection = %collection.name, %error, "automatic compaction failed");
            }
        }
        Ok(())
    }

    /// One GC pass over every data file.
    pub async fn collect_garbage(&self, grace_ms: u64) -> Result<GcReport> {
        self.gc.collect(grace_ms).await
    }

    /// Finish interrupted snapshot creates and drops, reap expired pins, drop what dropped
    /// collections left, and forget restore jobs that ended `job_retention_ms` ago.
    pub async fn sweep(&self, job_retention_ms: u64) -> Result<()> {
        self.snapshots.sweep().await?;
        self.restore.sweep(job_retention_ms).await
    }
}
