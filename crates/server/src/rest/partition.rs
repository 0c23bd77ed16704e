//! `/v2/vectordb/partitions/*`.

use super::collection::{CollectionName, row_count};
use super::{Answer, Api, Call, done, replied, request};
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::*;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionName {
    collection_name: String,
    partition_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionNames {
    collection_name: String,
    partition_names: Vec<String>,
}

pub async fn create(api: Api, call: Call<PartitionName>) -> Answer {
    let PartitionName { collection_name, partition_name } = call.body;
    let create = CreatePartitionRequest { db_name: call.db, collection_name, partition_name, ..Default::default() };
    replied(api.create_partition(request(create)).await)?;
    done()
}

pub async fn list(api: Api, call: Call<CollectionName>) -> Answer {
    let show = ShowPartitionsRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    Ok(json!(replied(api.show_partitions(request(show)).await)?.partition_names))
}

pub async fn has(api: Api, call: Call<PartitionName>) -> Answer {
    let PartitionName { collection_name, partition_name } = call.body;
    let has = HasPartitionRequest { db_name: call.db, collection_name, partition_name, ..Default::default() };
    Ok(json!({ "has": replied(api.has_partition(request(has)).await)?.value }))
}

pub async fn drop(api: Api, call: Call<PartitionName>) -> Answer {
    let PartitionName { collection_name, partition_name } = call.body;
    let drop = DropPartitionRequest { db_name: call.db, collection_name, partition_name, ..Default::default() };
    replied(api.drop_partition(request(drop)).await)?;
    done()
}

pub async fn load(api: Api, call: Call<PartitionNames>) -> Answer {
    let PartitionNames { collection_name, partition_names } = call.body;
    let load = LoadPartitionsRequest { db_name: call.db, collection_name, partition_names, ..Default::default() };
    replied(api.load_partitions(request(load)).await)?;
    done()
}

pub async fn release(api: Api, call: Call<PartitionNames>) -> Answer {
    let PartitionNames { collection_name, partition_names } = call.body;
    let release = ReleasePartitionsRequest { db_name: call.db, collection_name, partition_names, ..Default::default() };
    replied(api.release_partitions(request(release)).await)?;
    done()
}

pub async fn stats(api: Api, call: Call<PartitionName>) -> Answer {
    let PartitionName { collection_name, partition_name } = call.body;
    let stats = GetPartitionStatisticsRequest { db_name: call.db, collection_name, partition_name, ..Default::default() };
    row_count(&replied(api.get_partition_statistics(request(stats)).await)?.stats)
}
