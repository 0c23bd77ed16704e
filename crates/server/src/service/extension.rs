//! Quiver's own service (`quiver.v1.QuiverService`, `crates/proto/extension/quiver.proto`):
//! the snapshot capabilities Milvus has no call for. Same conventions as MilvusService:
//! every handler is admitted first (the rules in `quiver_proto::extension`), engine
//! errors are Milvus Statuses inside OK replies, state changes run detached.

use super::{RpcResult, detached, reply, reply_status};
use crate::access::{Access, Caller};
use quiver_engine::restore::{JobInfo, RestoreMode as EngineMode, Verification};
use quiver_engine::{Engine, EngineError};
use quiver_proto::Guarded;
use quiver_proto::common::Status;
use quiver_proto::quiver::quiver_service_server::QuiverService;
use quiver_proto::quiver::*;
use std::sync::Arc;
use tonic::Request;

pub struct QuiverApi {
    engine: Arc<Engine>,
    access: Arc<Access>,
}

impl QuiverApi {
    pub fn new(engine: Arc<Engine>, access: Arc<Access>) -> Self {
        QuiverApi { engine, access }
    }

    fn admit<T: Guarded>(&self, request: &Request<T>) -> Result<String, tonic::Status> {
        self.access.authorize(request.extensions().get::<Caller>(), request.get_ref())
    }
}

/// The restore mode a request names (`None`: the server's configured one).
fn mode_of(mode: i32) -> Result<Option<EngineMode>, EngineError> {
    match RestoreMode::try_from(mode) {
        Ok(RestoreMode::Default) => Ok(None),
        Ok(RestoreMode::Clone) => Ok(Some(EngineMode::Clone)),
        Ok(RestoreMode::Copy) => Ok(Some(EngineMode::Copy)),
        Err(_) => Err(EngineError::InvalidParameter(format!("unknown restore mode {mode}: invalid parameter"))),
    }
}

fn job(info: JobInfo) -> RestoreJob {
    let verification_reason = match &info.verification {
        Verification::Failed { reason } => reason.clone(),
        _ => String::new(),
    };
    RestoreJob {
        job_id: info.id.0,
        snapshot_name: info.snapshot_name,
        db_name: info.db_name,
        collection_name: info.collection_name,
        state: info.state.name().to_string(),
        progress: info.progress,
        reason: info.reason,
        start_time_ms: info.start_ms,
        time_cost_ms: info.time_cost_ms,
        mode: info.mode.name().to_string(),
        copied_bytes: info.copied_bytes,
        total_bytes: info.total_bytes,
        verification: info.verification.name().to_string(),
        verification_reason,
    }
}

#[tonic::async_trait]
impl QuiverService for QuiverApi {
    async fn restore_snapshot(&self, request: Request<RestoreSnapshotRequest>) -> RpcResult<RestoreSnapshotResponse> {
        let db = self.admit(&request)?;
        let r = request.into_inner();
        let engine = Arc::clone(&self.engine);
        reply(
            async move {
                let mode = mode_of(r.mode)?;
                let job = detached(async move {
                    engine
                        .restore_snapshot(&db, &r.collection_name, &r.snapshot_name, &r.target_db_name, &r.target_collection_name, mode)
                        .await
                })
                .await?;
                Ok(RestoreSnapshotResponse { job_id: job.0, ..Default::default() })
            }
            .await,
        )
    }

    async fn describe_restore_job(&self, request: Request<DescribeRestoreJobRequest>) -> RpcResult<DescribeRestoreJobResponse> {
        self.admit(&request)?;
        let info = self.engine.restore_state(request.get_ref().job_id).await;
        reply(info.map(|info| DescribeRestoreJobResponse { job: Some(job(info)), ..Default::default() }))
    }

    async fn mount_snapshot(&self, request: Request<MountSnapshotRequest>) -> RpcResult<MountSnapshotResponse> {
        let db = self.admit(&request)?;
        let r = request.into_inner();
        let engine = Arc::clone(&self.engine);
        let started = std::time::Instant::now();
        let mounted = detached(async move { engine.mount_snapshot(&db, &r.collection_name, &r.snapshot_name, &r.mount_name).await }).await;
        reply(mounted.map(|()| MountSnapshotResponse { time_cost_ms: started.elapsed().as_millis() as u64, ..Default::default() }))
    }

    async fn rollback_collection(&self, request: Request<RollbackCollectionRequest>) -> RpcResult<RollbackCollectionResponse> {
        let db = self.admit(&request)?;
        let r = request.into_inner();
        let engine = Arc::clone(&self.engine);
        let outcome = detached(async move { engine.rollback_collection(&db, &r.collection_name, &r.snapshot_name).await }).await;
        reply(outcome.map(|o| RollbackCollectionResponse {
            saved_as: o.saved_as,
            undone_after_ts: o.undone_after_ts,
            rows_before: o.rows_before,
            rows_after: o.rows_after,
            ..Default::default()
        }))
    }

    async fn get_snapshot_usage(&self, request: Request<GetSnapshotUsageRequest>) -> RpcResult<GetSnapshotUsageResponse> {
        let db = self.admit(&request)?;
        let usage = self.engine.snapshot_usage(&db, &request.get_ref().collection_name).await;
        reply(usage.map(|u| {
            GetSnapshotUsageResponse {
                live_bytes: u.live_bytes,
                snapshot_only_bytes: u.snapshot_only_bytes,
                snapshots: u
                    .snapshots
                    .into_iter()
                    .map(|s| SnapshotUsage {
                        snapshot_name: s.name,
                        total_bytes: s.total_bytes,
                        shared_bytes: s.shared_bytes,
                        exclusive_bytes: s.exclusive_bytes,
                    })
                    .collect(),
                ..Default::default()
            }
        }))
    }

    async fn unmount_snapshot(&self, request: Request<UnmountSnapshotRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let r = request.into_inner();
        let engine = Arc::clone(&self.engine);
        reply_status(detached(async move { engine.unmount_snapshot(&db, &r.mount_name).await }).await)
    }
}
