//! `/v2/vectordb/indexes/*`.

use super::collection::{CollectionName, describe_indexes, param};
use super::schema::IndexSpec;
use super::{Answer, Api, Call, done, replied, request};
use quiver_proto::common::IndexState;
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::{CreateIndexRequest, DropIndexRequest};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    collection_name: String,
    index_params: Vec<IndexSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexName {
    collection_name: String,
    index_name: String,
}

/// One CreateIndex per entry, in order; the first failure stops and is the answer.
pub async fn create(api: Api, call: Call<CreateBody>) -> Answer {
    for spec in &call.body.index_params {
        let create = CreateIndexRequest {
            db_name: call.db.clone(),
            collection_name: call.body.collection_name.clone(),
            field_name: spec.field_name.clone(),
            index_name: spec.index_name.clone(),
            extra_params: spec.extra_params(),
            ..Default::default()
        };
        replied(api.create_index(request(create)).await)?;
    }
    done()
}

pub async fn list(api: Api, call: Call<CollectionName>) -> Answer {
    let indexes = describe_indexes(&api, &call.db, &call.body.collection_name, "").await?;
    Ok(json!(indexes.into_iter().map(|d| d.index_name).collect::<Vec<_>>()))
}

pub async fn describe(api: Api, call: Call<IndexName>) -> Answer {
    let indexes = describe_indexes(&api, &call.db, &call.body.collection_name, &call.body.index_name).await?;
    Ok(indexes
        .iter()
        .map(|d| {
            json!({
                "indexName": d.index_name,
                "fieldName": d.field_name,
                "indexType": param(&d.params, "index_type"),
                "metricType": param(&d.params, "metric_type"),
                "totalRows": d.total_rows,
                "pendingRows": d.pending_index_rows,
                "indexedRows": d.indexed_rows,
                "indexState": IndexState::try_from(d.state).unwrap_or(IndexState::None).as_str_name(),
                "failReason": d.index_state_fail_reason,
            })
        })
        .collect())
}

pub async fn drop(api: Api, call: Call<IndexName>) -> Answer {
    let drop = DropIndexRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        index_name: call.body.index_name,
        ..Default::default()
    };
    replied(api.drop_index(request(drop)).await)?;
    done()
}
