//! `/v2/vectordb/collections/*`.
//!
//! `create` has Milvus's two forms. The quick form (`dimension`, no `schema.fields`)
//! builds a primary key (`idType`, `primaryFieldName`, `autoID`) and a float vector
//! (`vectorFieldName`), indexes the vector with `metricType` (COSINE when absent) and
//! loads the collection. The full form takes `schema` and `indexParams`; it indexes and
//! loads only when `indexParams` are given.

use super::schema::{FieldSpec, IndexSpec, SchemaSpec, field_json, is_vector};
use super::{Answer, Api, Call, done, int64, key_values, pairs_of, replied, request, text_of};
use crate::status;
use prost::Message;
use quiver_proto::common::{ConsistencyLevel, KeyValuePair, LoadState};
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::*;
use quiver_proto::schema::{CollectionSchema, DataType, FieldSchema};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The quick form's defaults, as Milvus's.
const DEFAULT_PRIMARY_FIELD: &str = "id";
const DEFAULT_VECTOR_FIELD: &str = "vector";
const DEFAULT_METRIC: &str = "COSINE";
/// The collection property that holds a `ttlSeconds` parameter.
const TTL_PROPERTY: &str = "collection.ttl.seconds";
/// Partitions of a partition-key collection when `partitionsNum` is absent (Milvus's).
const DEFAULT_KEY_PARTITIONS: i64 = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    collection_name: String,
    #[serde(default)]
    dimension: i64,
    #[serde(default)]
    id_type: String,
    #[serde(default, rename = "autoID", alias = "autoId")]
    auto_id: bool,
    #[serde(default)]
    metric_type: String,
    #[serde(default)]
    primary_field_name: String,
    #[serde(default)]
    vector_field_name: String,
    #[serde(default)]
    schema: SchemaSpec,
    #[serde(default)]
    index_params: Vec<IndexSpec>,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionName {
    pub collection_name: String,
    #[serde(default)]
    partition_names: Vec<String>,
}

#[derive(Deserialize)]
pub struct Empty {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertiesBody {
    collection_name: String,
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyKeysBody {
    collection_name: String,
    property_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddFieldBody {
    collection_name: String,
    schema: FieldSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionJob {
    #[serde(rename = "jobID", alias = "jobId", alias = "compactionID")]
    job_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenameBody {
    collection_name: String,
    new_collection_name: String,
    #[serde(default)]
    new_db_name: String,
}

fn or_default<'a>(given: &'a str, default: &'a str) -> &'a str {
    if given.is_empty() { default } else { given }
}

/// The quick form's schema: a primary key and one float vector.
fn quick_schema(body: &CreateBody) -> Result<CollectionSchema, super::Failure> {
    if body.dimension <= 0 {
        return Err(status::invalid_request("dimension is required for quickly create collection (default metric type: COSINE)").into());
    }
    let (pk_type, pk_params) = match body.id_type.as_str() {
        "" | "Int64" | "int64" => (DataType::Int64, Vec::new()),
        "VarChar" | "Varchar" => {
            let max_length = body
                .params
                .get("max_length")
                .map(text_of)
                .ok_or_else(|| status::invalid_request("idType VarChar needs params.max_length for quickly create collection"))?;
            (DataType::VarChar, vec![KeyValuePair { key: "max_length".into(), value: max_length }])
        }
        other => return Err(status::invalid_request(format!("idType can only be [Int64, VarChar], default: Int64, got {other}")).into()),
    };
    let enable_dynamic_field = match body.params.get("enableDynamicField") {
        None => true,
        Some(value) => {
            text_of(value).parse::<bool>().map_err(|_| status::invalid_request(format!("enableDynamicField {value} is not a boolean")))?
        }
    };
    Ok(CollectionSchema {
        name: body.collection_name.clone(),
        description: body.description.clone(),
        enable_dynamic_field,
        fields: vec![
            FieldSchema {
                name: or_default(&body.primary_field_name, DEFAULT_PRIMARY_FIELD).to_string(),
                is_primary_key: true,
                data_type: pk_type as i32,
                auto_id: body.auto_id,
                type_params: pk_params,
                ..Default::default()
            },
            FieldSchema {
                name: or_default(&body.vector_field_name, DEFAULT_VECTOR_FIELD).to_string(),
                data_type: DataType::FloatVector as i32,
                type_params: vec![KeyValuePair { key: "dim".into(), value: body.dimension.to_string() }],
                ..Default::default()
            },
        ],
        ..Default::default()
    })
}

fn consistency(params: &Map<String, Value>) -> Result<i32, super::Failure> {
    match params.get("consistencyLevel") {
        None => Ok(ConsistencyLevel::Bounded as i32),
        Some(value) => ConsistencyLevel::from_str_name(&text_of(value)).map(|level| level as i32).ok_or_else(|| {
            status::invalid_request(format!("consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], got {value}"))
                .into()
        }),
    }
}

fn number_param(params: &Map<String, Value>, key: &str) -> Option<i64> {
    params.get(key).and_then(|v| text_of(v).trim().parse().ok())
}

pub async fn create(api: Api, call: Call<CreateBody>) -> Answer {
    let body = &call.body;
    let quick = body.schema.fields.is_empty();
    let schema = if quick { quick_schema(body)? } else { body.schema.to_wire(&body.collection_name, &body.description)? };
    if !quick && let Some(spec) = body.index_params.iter().find(|spec| !body.schema.has_field(&spec.field_name)) {
        return Err(status::rest_parameter_missing(format!("`{}` hasn't defined in schema", spec.field_name)).into());
    }
    let has_partition_key = schema.fields.iter().any(|f| f.is_partition_key);
    let mut properties = Vec::new();
    if let Some(ttl) = body.params.get("ttlSeconds") {
        properties.push(KeyValuePair { key: TTL_PROPERTY.into(), value: text_of(ttl) });
    }
    let create = CreateCollectionRequest {
        db_name: call.db.clone(),
        collection_name: body.collection_name.clone(),
        schema: schema.encode_to_vec(),
        shards_num: number_param(&body.params, "shardsNum").unwrap_or(1) as i32,
        consistency_level: consistency(&body.params)?,
        properties,
        num_partitions: if has_partition_key { number_param(&body.params, "partitionsNum").unwrap_or(DEFAULT_KEY_PARTITIONS) } else { 0 },
        ..Default::default()
    };
    replied(api.create_collection(request(create)).await)?;
    let indexes: Vec<CreateIndexRequest> = if quick {
        let vector = &schema.fields[1].name;
        vec![CreateIndexRequest {
            field_name: vector.clone(),
            index_name: vector.clone(),
            extra_params: vec![KeyValuePair {
                key: "metric_type".into(),
                value: or_default(&body.metric_type, DEFAULT_METRIC).to_string(),
            }],
            ..Default::default()
        }]
    } else {
        body.index_params
            .iter()
            .map(|spec| CreateIndexRequest {
                field_name: spec.field_name.clone(),
                index_name: spec.index_name.clone(),
                extra_params: spec.extra_params(),
                ..Default::default()
            })
            .collect()
    };
    if indexes.is_empty() {
        return done();
    }
    for index in indexes {
        let index = CreateIndexRequest { db_name: call.db.clone(), collection_name: body.collection_name.clone(), ..index };
        replied(api.create_index(request(index)).await)?;
    }
    let load = LoadCollectionRequest { db_name: call.db, collection_name: body.collection_name.clone(), ..Default::default() };
    replied(api.load_collection(request(load)).await)?;
    done()
}

pub async fn list(api: Api, call: Call<Empty>) -> Answer {
    let reply = replied(api.show_collections(request(ShowCollectionsRequest { db_name: call.db, ..Default::default() })).await)?;
    Ok(json!(reply.collection_names))
}

pub async fn has(api: Api, call: Call<CollectionName>) -> Answer {
    let has = HasCollectionRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    Ok(json!({ "has": replied(api.has_collection(request(has)).await)?.value }))
}

/// The load state as Milvus's REST names it (`LoadStateLoaded`, `LoadStateNotLoad`), with
/// the loading progress of a loaded collection.
async fn current_load_state(
    api: &Api,
    db: &str,
    collection: &str,
    partitions: &[String],
) -> Result<(LoadState, Option<i64>), super::Failure> {
    let state = GetLoadStateRequest {
        db_name: db.to_string(),
        collection_name: collection.to_string(),
        partition_names: partitions.to_vec(),
        ..Default::default()
    };
    let state = LoadState::try_from(replied(api.get_load_state(request(state)).await)?.state).unwrap_or(LoadState::NotExist);
    if state == LoadState::NotLoad || state == LoadState::NotExist {
        return Ok((state, None));
    }
    let progress = GetLoadingProgressRequest {
        db_name: db.to_string(),
        collection_name: collection.to_string(),
        partition_names: partitions.to_vec(),
        ..Default::default()
    };
    let progress = replied(api.get_loading_progress(request(progress)).await)?.progress;
    Ok((if progress >= 100 { LoadState::Loaded } else { LoadState::Loading }, Some(progress)))
}

pub async fn describe(api: Api, call: Call<CollectionName>) -> Answer {
    let name = call.body.collection_name;
    let describe = DescribeCollectionRequest { db_name: call.db.clone(), collection_name: name.clone(), ..Default::default() };
    let collection = replied(api.describe_collection(request(describe)).await)?;
    let schema = collection.schema.unwrap_or_default();
    let (state, _) = current_load_state(&api, &call.db, &name, &[]).await?;
    let indexes = describe_indexes(&api, &call.db, &name, "").await?;
    let consistency = ConsistencyLevel::try_from(collection.consistency_level).unwrap_or(ConsistencyLevel::Bounded);
    Ok(json!({
        "collectionName": collection.collection_name,
        "collectionID": collection.collection_id,
        "description": schema.description,
        "autoId": schema.fields.iter().any(|f| f.is_primary_key && f.auto_id),
        "fields": schema.fields.iter().map(field_json).collect::<Vec<_>>(),
        "functions": [],
        "aliases": collection.aliases,
        "indexes": indexes.iter().map(|d| json!({
            "fieldName": d.field_name,
            "indexName": d.index_name,
            "metricType": param(&d.params, "metric_type"),
        })).collect::<Vec<_>>(),
        "load": state.as_str_name(),
        "shardsNum": collection.shards_num,
        "partitionsNum": collection.num_partitions,
        "consistencyLevel": consistency.as_str_name(),
        "enableDynamicField": schema.enable_dynamic_field,
        "properties": key_values(&collection.properties),
    }))
}

/// The index descriptions of a collection (all of them when `index_name` is empty); none
/// when it has no index, where DescribeIndex itself fails with code 700.
pub async fn describe_indexes(api: &Api, db: &str, collection: &str, index_name: &str) -> Result<Vec<IndexDescription>, super::Failure> {
    let describe = DescribeIndexRequest {
        db_name: db.to_string(),
        collection_name: collection.to_string(),
        index_name: index_name.to_string(),
        ..Default::default()
    };
    match replied(api.describe_index(request(describe)).await) {
        Ok(reply) => Ok(reply.index_descriptions),
        Err(failure) if failure.0.code == status::code::INDEX_NOT_FOUND && index_name.is_empty() => Ok(Vec::new()),
        Err(failure) => Err(failure),
    }
}

pub fn param<'a>(pairs: &'a [KeyValuePair], key: &str) -> &'a str {
    pairs.iter().find(|kv| kv.key == key).map_or("", |kv| kv.value.as_str())
}

pub async fn drop(api: Api, call: Call<CollectionName>) -> Answer {
    let drop = DropCollectionRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    replied(api.drop_collection(request(drop)).await)?;
    done()
}

pub async fn rename(api: Api, call: Call<RenameBody>) -> Answer {
    let body = call.body;
    let rename = RenameCollectionRequest {
        new_db_name: if body.new_db_name.is_empty() { call.db.clone() } else { body.new_db_name },
        db_name: call.db,
        old_name: body.collection_name,
        new_name: body.new_collection_name,
        ..Default::default()
    };
    replied(api.rename_collection(request(rename)).await)?;
    done()
}

/// `{"rowCount": n}` from a statistics reply.
pub fn row_count(stats: &[KeyValuePair]) -> Answer {
    let rows = param(stats, "row_count");
    Ok(json!({ "rowCount": rows.parse::<i64>().map_or_else(|_| json!(rows), Value::from) }))
}

pub async fn stats(api: Api, call: Call<CollectionName>) -> Answer {
    let stats = GetCollectionStatisticsRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    row_count(&replied(api.get_collection_statistics(request(stats)).await)?.stats)
}

pub async fn load_state(api: Api, call: Call<CollectionName>) -> Answer {
    let (state, progress) = current_load_state(&api, &call.db, &call.body.collection_name, &call.body.partition_names).await?;
    Ok(match progress {
        Some(progress) => json!({ "loadState": state.as_str_name(), "loadProgress": progress }),
        None => json!({ "loadState": state.as_str_name() }),
    })
}

pub async fn load(api: Api, call: Call<CollectionName>) -> Answer {
    let load = LoadCollectionRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    replied(api.load_collection(request(load)).await)?;
    done()
}

pub async fn release(api: Api, call: Call<CollectionName>) -> Answer {
    let release = ReleaseCollectionRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    replied(api.release_collection(request(release)).await)?;
    done()
}

pub async fn refresh_load(api: Api, call: Call<CollectionName>) -> Answer {
    let load = LoadCollectionRequest { db_name: call.db, collection_name: call.body.collection_name, refresh: true, ..Default::default() };
    replied(api.load_collection(request(load)).await)?;
    done()
}

pub async fn alter_properties(api: Api, call: Call<PropertiesBody>) -> Answer {
    let alter = AlterCollectionRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        properties: pairs_of(&call.body.properties),
        ..Default::default()
    };
    replied(api.alter_collection(request(alter)).await)?;
    done()
}

pub async fn drop_properties(api: Api, call: Call<PropertyKeysBody>) -> Answer {
    let alter = AlterCollectionRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        delete_keys: call.body.property_keys,
        ..Default::default()
    };
    replied(api.alter_collection(request(alter)).await)?;
    done()
}

/// `/collections/fields/add`: a nullable or defaulted field on an existing collection.
pub async fn add_field(api: Api, call: Call<AddFieldBody>) -> Answer {
    let add = AddCollectionFieldRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        schema: call.body.schema.to_wire(false)?.encode_to_vec(),
        ..Default::default()
    };
    replied(api.add_collection_field(request(add)).await)?;
    done()
}

pub async fn flush(api: Api, call: Call<CollectionName>) -> Answer {
    let flush = FlushRequest { db_name: call.db, collection_names: vec![call.body.collection_name], ..Default::default() };
    replied(api.flush(request(flush)).await)?;
    done()
}

pub async fn compact(api: Api, call: Call<CollectionName>) -> Answer {
    let compact = ManualCompactionRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    let reply = replied(api.manual_compaction(request(compact)).await)?;
    Ok(json!({ "compactionID": int64(reply.compaction_id, call.int64_as_text) }))
}

pub async fn compaction_state(api: Api, call: Call<CompactionJob>) -> Answer {
    let state = GetCompactionStateRequest { compaction_id: call.body.job_id };
    let reply = replied(api.get_compaction_state(request(state)).await)?;
    let state = quiver_proto::common::CompactionState::try_from(reply.state).unwrap_or_default();
    Ok(json!({
        "state": state.as_str_name(),
        "compactionID": int64(call.body.job_id, call.int64_as_text),
        "executingPlanNo": reply.executing_plan_no,
        "timeoutPlanNo": reply.timeout_plan_no,
        "completedPlanNo": reply.completed_plan_no,
        "failedPlanNo": reply.failed_plan_no,
    }))
}

/// The schema of a collection, for the entity endpoints (which read rows by it).
pub async fn schema_of(api: &Api, db: &str, collection: &str) -> Result<CollectionSchema, super::Failure> {
    let describe = DescribeCollectionRequest { db_name: db.to_string(), collection_name: collection.to_string(), ..Default::default() };
    Ok(replied(api.describe_collection(request(describe)).await)?.schema.unwrap_or_default())
}

/// The one vector field a request names, or the collection's only vector field.
pub fn vector_field<'a>(schema: &'a CollectionSchema, name: &str) -> Result<&'a FieldSchema, super::Failure> {
    let mut vectors = schema.fields.iter().filter(|f| is_vector(f.data_type));
    if !name.is_empty() {
        return vectors
            .find(|f| f.name == name)
            .ok_or_else(|| status::invalid_request(format!("cannot find a vector field named {name}")).into());
    }
    match (vectors.next(), vectors.next()) {
        (Some(field), None) => Ok(field),
        (None, _) => Err(status::invalid_request(format!("collection {} has no vector field", schema.name)).into()),
        (Some(_), Some(_)) => Err(status::invalid_request("the collection has several vector fields: name one in annsField").into()),
    }
}
