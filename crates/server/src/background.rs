//! Background loops: sealing idle or large growing data, building index files for
//! sealed segments, automatic compaction and garbage collection. Each loop runs its work in a spawned task (the work is not
//! cancel safe, shutdown only stops the loop between runs), logs failures and goes on.

use crate::config::DataSettings;
use quiver_engine::{Engine, Result};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// How often the sealer looks for due collections.
const SEAL_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How often interrupted snapshot creates/drops, expired pins and old jobs are swept.
const SNAPSHOT_SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// How often the index builder looks for sealed segments without their index files when
/// nothing wakes it (flush, sealing and CreateIndex do).
const INDEX_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Start every loop; the returned handles stop them when aborted.
pub fn start(engine: Arc<Engine>, settings: &DataSettings) -> Vec<tokio::task::JoinHandle<()>> {
    let grace_ms = settings.gc_grace_seconds * 1000;
    let job_retention_ms = settings.restore_job_retention_seconds * 1000;
    vec![
        tokio::spawn(every(SEAL_CHECK_INTERVAL, "sealing growing data", Arc::clone(&engine), |e| async move { e.seal_due().await })),
        tokio::spawn(every_or_woken(INDEX_CHECK_INTERVAL, engine.index_work(), "building indexes", Arc::clone(&engine), |e| async move {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            e.build_indexes(threads).await.map(|_| ())
        })),
        tokio::spawn(every(
            Duration::from_secs(settings.compaction_interval_seconds.max(1)),
            "automatic compaction",
            Arc::clone(&engine),
            |e| async move { e.compact_due().await },
        )),
        tokio::spawn(every(SNAPSHOT_SWEEP_INTERVAL, "sweeping snapshots and restore jobs", Arc::clone(&engine), move |e| async move {
            e.sweep_snapshots(&e.catalog.all_collections()).await?;
            e.sweep_jobs(job_retention_ms).await
        })),
        tokio::spawn(every(Duration::from_secs(settings.gc_interval_seconds.max(1)), "garbage collection", engine, move |e| async move {
            let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            let report = e.collect_garbage(grace_ms, now_ms).await?;
            if report.deleted_files > 0 || report.forgotten_segments > 0 {
                tracing::info!(deleted = report.deleted_files, segments = report.forgotten_segments, "garbage collected");
            }
            Ok(())
        })),
    ]
}

async fn every<F, Fut>(interval: Duration, what: &'static str, engine: Arc<Engine>, work: F)
where
    F: Fn(Arc<Engine>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    // Never notified: the loop runs on its interval alone.
    every_or_woken(interval, Arc::new(Notify::new()), what, engine, work).await
}

/// Runs `work` every `interval`, and also as soon as `wake` is notified.
async fn every_or_woken<F, Fut>(interval: Duration, wake: Arc<Notify>, what: &'static str, engine: Arc<Engine>, work: F)
where
    F: Fn(Arc<Engine>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
        match tokio::spawn(work(Arc::clone(&engine))).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "{what} failed"),
            Err(error) => tracing::warn!(%error, "{what} task failed"),
        }
    }
}
