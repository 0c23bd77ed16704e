//! Snapshot RPCs: create, drop, list, describe, pin, unpin, restore and restore jobs.
//! Snapshot requests carry `db_name` in the message (empty: the `dbname` header).

use super::detached;
use quiver_engine::restore::{JobInfo, JobState};
use quiver_engine::{Engine, Result};
use quiver_proto::milvus::{
    CreateSnapshotRequest, DescribeSnapshotResponse, GetRestoreSnapshotStateResponse, ListRestoreSnapshotJobsResponse,
    ListSnapshotsResponse, PinSnapshotDataRequest, PinSnapshotDataResponse, RestoreSnapshotInfo, RestoreSnapshotRequest,
    RestoreSnapshotResponse, RestoreSnapshotState,
};
use std::sync::Arc;

pub async fn create(engine: Arc<Engine>, db: String, r: CreateSnapshotRequest) -> Result<()> {
    detached(async move { engine.create_snapshot(&db, &r.collection_name, &r.name, &r.description, r.compaction_protection_seconds).await })
        .await
}

pub async fn drop(engine: Arc<Engine>, db: String, collection: String, name: String) -> Result<()> {
    detached(async move { engine.drop_snapshot(&db, &collection, &name).await }).await
}

pub async fn list(engine: &Engine, db: &str, collection: &str) -> Result<ListSnapshotsResponse> {
    Ok(ListSnapshotsResponse { snapshots: engine.list_snapshots(db, collection).await?, ..Default::default() })
}

pub async fn describe(engine: &Engine, db: &str, collection: &str, name: &str) -> Result<DescribeSnapshotResponse> {
    let d = engine.describe_snapshot(db, collection, name).await?;
    Ok(DescribeSnapshotResponse {
        name: d.name,
        description: d.description,
        collection_name: d.collection_name,
        partition_names: d.partition_names,
        create_ts: d.create_ts,
        s3_location: d.s3_location,
        ..Default::default()
    })
}

pub async fn pin(engine: Arc<Engine>, db: String, r: PinSnapshotDataRequest) -> Result<PinSnapshotDataResponse> {
    let pin_id = detached(async move { engine.pin_snapshot(&db, &r.collection_name, &r.name, r.ttl_seconds).await }).await?;
    Ok(PinSnapshotDataResponse { pin_id, ..Default::default() })
}

pub async fn unpin(engine: Arc<Engine>, pin_id: i64) -> Result<()> {
    detached(async move { engine.unpin_snapshot(pin_id).await }).await
}

pub async fn restore(engine: Arc<Engine>, db: String, r: RestoreSnapshotRequest) -> Result<RestoreSnapshotResponse> {
    let job = detached(async move {
        engine.restore_snapshot(&db, &r.collection_name, &r.name, &r.target_db_name, &r.target_collection_name, None).await
    })
    .await?;
    Ok(RestoreSnapshotResponse { job_id: job.0, ..Default::default() })
}

fn info(job: JobInfo) -> RestoreSnapshotInfo {
    let state = match job.state {
        JobState::Pending => RestoreSnapshotState::RestoreSnapshotPending,
        JobState::Executing => RestoreSnapshotState::RestoreSnapshotExecuting,
        JobState::Completed => RestoreSnapshotState::RestoreSnapshotCompleted,
        JobState::Failed => RestoreSnapshotState::RestoreSnapshotFailed,
    };
    RestoreSnapshotInfo {
        job_id: job.id.0,
        snapshot_name: job.snapshot_name,
        db_name: job.db_name,
        collection_name: job.collection_name,
        state: state as i32,
        progress: job.progress,
        reason: job.reason,
        start_time: job.start_ms,
        time_cost: job.time_cost_ms,
    }
}

pub async fn restore_state(engine: &Engine, job_id: i64) -> Result<GetRestoreSnapshotStateResponse> {
    Ok(GetRestoreSnapshotStateResponse { info: Some(info(engine.restore_state(job_id).await?)), ..Default::default() })
}

pub async fn list_jobs(engine: &Engine, db: &str, collection: &str) -> Result<ListRestoreSnapshotJobsResponse> {
    let jobs = engine.list_restore_jobs(db, collection).await?.into_iter().map(info).collect();
    Ok(ListRestoreSnapshotJobsResponse { jobs, ..Default::default() })
}
