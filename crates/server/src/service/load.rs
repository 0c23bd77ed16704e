//! Load state and replica RPCs (load and release are one-liners in `mod.rs`).

use super::collection::channel_names;
use quiver_engine::catalog::model::LoadState;
use quiver_engine::{Engine, Result};
use quiver_proto::common::LoadState as WireLoadState;
use quiver_proto::milvus::{
    GetLoadStateResponse, GetLoadingProgressResponse, GetReplicasRequest, GetReplicasResponse, ReplicaInfo, ShardReplica,
};

/// The one query node of a single-node deployment (what Milvus standalone reports).
const NODE_ID: i64 = 1;
/// The resource group every node belongs to when none are configured.
const DEFAULT_RESOURCE_GROUP: &str = "__default_resource_group";

pub fn state(engine: &Engine, db_name: &str, collection: &str, partitions: &[String]) -> Result<GetLoadStateResponse> {
    let state = match engine.load_state(db_name, collection, partitions)? {
        LoadState::Loaded => WireLoadState::Loaded,
        LoadState::NotLoad => WireLoadState::NotLoad,
    };
    Ok(GetLoadStateResponse { state: state as i32, ..Default::default() })
}

pub fn progress(engine: &Engine, db_name: &str, collection: &str, partitions: &[String]) -> Result<GetLoadingProgressResponse> {
    let progress = engine.loading_progress(db_name, collection, partitions)?;
    Ok(GetLoadingProgressResponse { progress, refresh_progress: progress, ..Default::default() })
}

/// The replicas of a collection (by name when given, else by id), as a single-node Milvus
/// reports them: one for a loaded collection, with its loaded partitions and one shard
/// per channel, all served by this node; none when it is not loaded, or no collection
/// has the id (Milvus's query coordinator knows no replica of it either).
pub fn replicas(engine: &Engine, db_name: &str, request: &GetReplicasRequest) -> Result<GetReplicasResponse> {
    let collection = if request.collection_name.is_empty() {
        engine.collection_by_id(request.collection_id).map(|(_, collection)| collection)
    } else {
        Some(engine.describe_collection(db_name, &request.collection_name)?.collection)
    };
    let replicas = collection
        .filter(|c| c.loaded)
        .map(|c| ReplicaInfo {
            // One replica per collection: the collection's id names it.
            replica_id: c.id.0,
            collection_id: c.id.0,
            partition_ids: c.partitions.iter().filter(|p| p.loaded).map(|p| p.id.0).collect(),
            shard_replicas: channel_names(&c)
                .into_iter()
                .map(|dm_channel_name| ShardReplica { leader_id: NODE_ID, dm_channel_name, node_ids: vec![NODE_ID], ..Default::default() })
                .collect(),
            node_ids: vec![NODE_ID],
            resource_group_name: DEFAULT_RESOURCE_GROUP.to_string(),
            ..Default::default()
        })
        .into_iter()
        .collect();
    Ok(GetReplicasResponse { replicas, ..Default::default() })
}
