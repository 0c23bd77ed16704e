//! Compaction RPCs. Manual compaction runs to completion before the reply, so its state
//! is always Completed when a client polls.

use super::detached;
use quiver_engine::{CompactionPlan, Engine, EngineError, Result};
use quiver_proto::common::CompactionState;
use quiver_proto::milvus::{
    CompactionMergeInfo, GetCompactionPlansResponse, GetCompactionStateResponse, ManualCompactionRequest, ManualCompactionResponse,
};
use std::sync::Arc;

pub async fn manual(engine: Arc<Engine>, db: String, request: ManualCompactionRequest) -> Result<ManualCompactionResponse> {
    let (id, plans) = detached(async move {
        if request.collection_name.is_empty() {
            engine.compact_by_id(request.collection_id).await
        } else {
            engine.compact(&db, &request.collection_name).await
        }
    })
    .await?;
    Ok(ManualCompactionResponse { compaction_id: id, compaction_plan_count: plans.len() as i32, ..Default::default() })
}

fn plans_of(engine: &Engine, id: i64) -> Result<Vec<CompactionPlan>> {
    engine.compaction(id).ok_or_else(|| EngineError::InvalidParameter(format!("compaction {id} not found")))
}

pub fn state(engine: &Engine, id: i64) -> Result<GetCompactionStateResponse> {
    let plans = plans_of(engine, id)?;
    Ok(GetCompactionStateResponse { state: CompactionState::Completed as i32, completed_plan_no: plans.len() as i64, ..Default::default() })
}

pub fn state_with_plans(engine: &Engine, id: i64) -> Result<GetCompactionPlansResponse> {
    let plans = plans_of(engine, id)?;
    Ok(GetCompactionPlansResponse {
        state: CompactionState::Completed as i32,
        merge_infos: plans
            .into_iter()
            .map(|plan| CompactionMergeInfo {
                sources: plan.sources.iter().map(|s| s.0).collect(),
                target: plan.target.map_or(0, |t| t.0),
                targets: plan.target.map(|t| t.0).into_iter().collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
}
