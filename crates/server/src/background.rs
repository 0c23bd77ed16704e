//! Background loops: sealing idle or large growing data, building index files, automatic
//! compaction, sweeping snapshots and restore jobs, garbage collection, and the session
//! heartbeat. Each loop runs its work in a spawned task (the work is not cancel safe)
//! and, on shutdown, finishes the run in progress before it stops.

use crate::config::DataSettings;
use quiver_engine::gc::sessions::HEARTBEAT_INTERVAL_MS;
use quiver_engine::{Engine, Result};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How often the sealer looks for due collections.
const SEAL_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How often interrupted snapshot creates/drops, expired pins and old jobs are swept.
const SNAPSHOT_SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// How often the index builder looks for sealed segments without their index files when
/// nothing wakes it (flush, sealing and CreateIndex do).
const INDEX_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The running loops.
pub struct Loops {
    stop: watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Loops {
    /// Stop every loop, letting each finish the run in progress, for at most `deadline`.
    pub async fn stop(self, deadline: Duration) {
        self.stop.send_replace(true);
        if tokio::time::timeout(deadline, futures::future::join_all(self.handles)).await.is_err() {
            tracing::warn!("background work did not finish within the shutdown deadline");
        }
    }
}

/// Start every loop.
pub fn start(engine: Arc<Engine>, settings: &DataSettings) -> Loops {
    let grace_ms = settings.gc_grace_seconds * 1000;
    let job_retention_ms = settings.restore_job_retention_seconds * 1000;
    let (stop, _) = watch::channel(false);
    let never = || Arc::new(Notify::new());
    let mut handles = Vec::new();
    let mut spawn = |interval, wake, what, work: Box<dyn Fn(Arc<Engine>) -> Work + Send + Sync>| {
        handles.push(tokio::spawn(every(interval, wake, stop.subscribe(), what, Arc::clone(&engine), work)));
    };
    spawn(SEAL_CHECK_INTERVAL, never(), "sealing growing data", Box::new(|e| Box::pin(async move { e.seal_due().await })));
    spawn(
        INDEX_CHECK_INTERVAL,
        engine.index_work(),
        "building indexes",
        Box::new(|e| {
            Box::pin(async move {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                e.build_indexes(threads).await.map(|_| ())
            })
        }),
    );
    spawn(
        Duration::from_secs(settings.compaction_interval_seconds.max(1)),
        never(),
        "automatic compaction",
        Box::new(|e| Box::pin(async move { e.compact_due().await })),
    );
    spawn(
        SNAPSHOT_SWEEP_INTERVAL,
        never(),
        "sweeping snapshots and restore jobs",
        Box::new(move |e| Box::pin(async move { e.sweep(job_retention_ms).await })),
    );
    spawn(
        Duration::from_secs(settings.gc_interval_seconds.max(1)),
        never(),
        "garbage collection",
        Box::new(move |e| {
            Box::pin(async move {
                let report = e.collect_garbage(grace_ms).await?;
                if report.deleted_files > 0 || report.forgotten_records > 0 {
                    tracing::info!(deleted = report.deleted_files, records = report.forgotten_records, "garbage collected");
                }
                Ok(())
            })
        }),
    );
    spawn(
        Duration::from_millis(HEARTBEAT_INTERVAL_MS),
        never(),
        "renewing the session",
        Box::new(|e| Box::pin(async move { e.heartbeat().await })),
    );
    Loops { stop, handles }
}

type Work = std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// Runs `work` every `interval`, and as soon as `wake` is notified, until `stop` is set;
/// a run in progress then finishes first.
async fn every(
    interval: Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    what: &'static str,
    engine: Arc<Engine>,
    work: Box<dyn Fn(Arc<Engine>) -> Work + Send + Sync>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match tokio::spawn(work(Arc::clone(&engine))).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "{what} failed"),
            Err(error) => tracing::warn!(%error, "{what} task failed"),
        }
    }
}
