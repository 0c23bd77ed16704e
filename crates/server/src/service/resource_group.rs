//! ListResourceGroups, DescribeResourceGroup: a single node is one resource group,
//! Milvus's default one, holding one replica of every loaded collection.

use quiver_engine::{Engine, EngineError, Result};
use quiver_proto::milvus::{DescribeResourceGroupResponse, ListResourceGroupsResponse, ResourceGroup};
use std::collections::HashMap;

/// Milvus's name for the group every node starts in.
pub const DEFAULT_RESOURCE_GROUP: &str = "__default_resource_group";
/// Milvus's capacity of the default group.
const DEFAULT_CAPACITY: i32 = 1_000_000;

pub fn list() -> ListResourceGroupsResponse {
    ListResourceGroupsResponse { resource_groups: vec![DEFAULT_RESOURCE_GROUP.to_string()], ..Default::default() }
}

pub fn describe(engine: &Engine, name: &str) -> Result<DescribeResourceGroupResponse> {
    if name != DEFAULT_RESOURCE_GROUP {
        return Err(EngineError::InvalidParameter(format!("resource group not found[rg={name}]")));
    }
    // One replica of each loaded collection, keyed by name as Milvus reports it.
    let mut loaded = HashMap::new();
    for database in engine.list_databases() {
        for collection in engine.list_collections(&database.name).unwrap_or_default() {
            if collection.loaded {
                loaded.insert(collection.name, 1);
            }
        }
    }
    let group = ResourceGroup {
        name: DEFAULT_RESOURCE_GROUP.to_string(),
        capacity: DEFAULT_CAPACITY,
        num_available_node: 1,
        num_loaded_replica: loaded,
        ..Default::default()
    };
    Ok(DescribeResourceGroupResponse { resource_group: Some(group), ..Default::default() })
}
