//! Partition RPCs (create, drop and has are one-liners in `mod.rs`).

use crate::convert::utc_ms;
use quiver_engine::{Engine, EngineError, Result};
use quiver_proto::milvus::{ShowPartitionsRequest, ShowPartitionsResponse, ShowType};

pub fn show(engine: &Engine, db_name: &str, request: &ShowPartitionsRequest) -> Result<ShowPartitionsResponse> {
    let mut partitions = engine.list_partitions(db_name, &request.collection_name)?;
    if let Some(missing) = request.partition_names.iter().find(|n| !partitions.iter().any(|p| &&p.name == n)) {
        return Err(EngineError::PartitionNotFound { collection: request.collection_name.clone(), name: missing.clone() });
    }
    if !request.partition_names.is_empty() {
        partitions.retain(|p| request.partition_names.contains(&p.name));
    }
    if request.r#type == ShowType::InMemory as i32 {
        partitions.retain(|p| p.loaded);
    }
    Ok(ShowPartitionsResponse {
        partition_names: partitions.iter().map(|p| p.name.clone()).collect(),
        partition_i_ds: partitions.iter().map(|p| p.id.0).collect(),
        created_timestamps: partitions.iter().map(|p| p.created_ts.0).collect(),
        created_utc_timestamps: partitions.iter().map(|p| utc_ms(p.created_ts)).collect(),
        in_memory_percentages: partitions.iter().map(|p| if p.loaded { 100 } else { 0 }).collect(),
        ..Default::default()
    })
}
