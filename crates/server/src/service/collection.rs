//! Collection RPCs.

use super::detached;
use crate::convert::{self, consistency_from_wire, consistency_to_wire, key_values, properties, utc_ms};
use crate::status::{invalid_request, status_of, success};
use prost::Message;
use quiver_engine::catalog::model::Collection;
use quiver_engine::{Engine, EngineError, NewCollection, Result};
use quiver_proto::common::Status;
use quiver_proto::milvus::{
    AddCollectionFieldRequest, AlterCollectionFieldRequest, AlterCollectionRequest, AlterCollectionSchemaRequest, BoolResponse,
    CreateCollectionRequest, DescribeCollectionResponse, RenameCollectionRequest, ShowCollectionsRequest, ShowCollectionsResponse,
    ShowType,
};
use quiver_proto::schema::{CollectionSchema as WireSchema, FieldSchema as WireField};
use std::sync::Arc;

pub async fn create(engine: Arc<Engine>, db_name: String, request: CreateCollectionRequest) -> Status {
    let wire = match WireSchema::decode(request.schema.as_slice()) {
        Ok(schema) => schema,
        Err(e) => return invalid_request(format!("collection schema is not a valid CollectionSchema message: {e}")),
    };
    let schema = match convert::schema::from_wire(&wire) {
        Ok(schema) => schema,
        Err(reason) => return invalid_request(reason),
    };
    let new = NewCollection {
        name: request.collection_name,
        schema,
        shards_num: request.shards_num,
        consistency_level: consistency_from_wire(request.consistency_level),
        properties: properties(&request.properties),
        num_partitions: request.num_partitions,
        partitions: Vec::new(),
        indexes: Vec::new(),
    };
    match detached(async move { engine.create_collection(&db_name, new).await }).await {
        Ok(_) => success(),
        Err(error) => status_of(&error),
    }
}

pub fn has(engine: &Engine, db_name: &str, name: &str) -> Result<BoolResponse> {
    let value = match engine.describe_collection(db_name, name) {
        Ok(_) => true,
        Err(EngineError::DescribedCollectionNotFound { .. }) => false,
        Err(other) => return Err(other),
    };
    Ok(BoolResponse { value, ..Default::default() })
}

/// Channel names Milvus clients expect to see; Quiver has one logical channel per shard.
pub(super) fn channel_names(collection: &Collection) -> Vec<String> {
    (0..collection.shards_num).map(|shard| format!("quiver-dml_{shard}_{}v{shard}", collection.id)).collect()
}

pub fn describe(engine: &Engine, db_name: &str, name: &str) -> Result<DescribeCollectionResponse> {
    if name.is_empty() {
        return Err(EngineError::InvalidParameter("collection name should be not empty".to_string()));
    }
    let info = engine.describe_collection(db_name, name)?;
    let c = &info.collection;
    let db = engine.describe_database(&info.db_name)?;
    Ok(DescribeCollectionResponse {
        schema: Some(convert::schema::to_wire(&c.schema, &info.db_name)),
        collection_id: c.id.0,
        virtual_channel_names: channel_names(c),
        physical_channel_names: channel_names(c),
        created_timestamp: c.created_ts.0,
        created_utc_timestamp: utc_ms(c.created_ts),
        shards_num: c.shards_num,
        aliases: info.aliases.clone(),
        consistency_level: consistency_to_wire(c.consistency_level),
        collection_name: c.name.clone(),
        properties: key_values(&c.properties),
        db_name: info.db_name.clone(),
        num_partitions: c.partitions.len() as i64,
        db_id: db.id.0,
        update_timestamp: c.updated_ts.0,
        update_timestamp_str: c.updated_ts.0.to_string(),
        ..Default::default()
    })
}

pub fn show(engine: &Engine, db_name: &str, request: &ShowCollectionsRequest) -> Result<ShowCollectionsResponse> {
    let mut collections = engine.list_collections(db_name)?;
    if !request.collection_names.is_empty() {
        for name in &request.collection_names {
            if !collections.iter().any(|c| &c.name == name) {
                return Err(EngineError::CollectionNotFound { db: db_name.to_string(), name: name.clone() });
            }
        }
        collections.retain(|c| request.collection_names.contains(&c.name));
    }
    if request.r#type == ShowType::InMemory as i32 {
        collections.retain(|c| c.loaded);
    }
    Ok(ShowCollectionsResponse {
        collection_names: collections.iter().map(|c| c.name.clone()).collect(),
        collection_ids: collections.iter().map(|c| c.id.0).collect(),
        created_timestamps: collections.iter().map(|c| c.created_ts.0).collect(),
        created_utc_timestamps: collections.iter().map(|c| utc_ms(c.created_ts)).collect(),
        in_memory_percentages: collections.iter().map(|c| if c.loaded { 100 } else { 0 }).collect(),
        query_service_available: collections.iter().map(|c| c.loaded).collect(),
        shards_num: collections.iter().map(|c| c.shards_num).collect(),
        ..Default::default()
    })
}

pub async fn rename(engine: Arc<Engine>, db_name: String, request: RenameCollectionRequest) -> Result<()> {
    let target_db = if request.new_db_name.is_empty() { db_name.clone() } else { request.new_db_name };
    detached(async move { engine.rename_collection(&db_name, &request.old_name, &target_db, &request.new_name).await }).await
}

pub async fn alter(engine: Arc<Engine>, db_name: String, request: AlterCollectionRequest) -> Result<()> {
    let props = properties(&request.properties);
    detached(async move { engine.alter_collection(&db_name, &request.collection_name, props, &request.delete_keys).await }).await
}

pub async fn alter_field(engine: Arc<Engine>, db_name: String, request: AlterCollectionFieldRequest) -> Result<()> {
    let props = properties(&request.properties);
    detached(async move {
        engine.alter_collection_field(&db_name, &request.collection_name, &request.field_name, props, &request.delete_keys).await
    })
    .await
}

/// AddCollectionField: the request carries the new field as an encoded FieldSchema.
pub async fn add_field(engine: Arc<Engine>, db_name: String, request: AddCollectionFieldRequest) -> Status {
    match WireField::decode(request.schema.as_slice()) {
        Ok(field) => add_fields(engine, db_name, request.collection_name, vec![field]).await,
        Err(e) => invalid_request(format!("field schema is not a valid FieldSchema message: {e}")),
    }
}

/// AlterCollectionSchema: adds fields (pymilvus's `add_collection_field` sends it first).
/// Dropping fields and adding functions are refused by name.
pub async fn alter_schema(engine: Arc<Engine>, db_name: String, request: AlterCollectionSchemaRequest) -> Status {
    use quiver_proto::milvus::alter_collection_schema_request::action::Op;
    match request.action.and_then(|a| a.op) {
        Some(Op::AddRequest(add)) if add.func_schema.is_empty() => {
            let fields = add.field_infos.into_iter().filter_map(|info| info.field_schema).collect();
            add_fields(engine, db_name, request.collection_name, fields).await
        }
        Some(Op::AddRequest(_)) => invalid_request("adding functions to a collection is not supported by Quiver"),
        Some(Op::DropRequest(_)) => invalid_request("dropping fields or functions of a collection is not supported by Quiver"),
        None => invalid_request("AlterCollectionSchema needs an action"),
    }
}

async fn add_fields(engine: Arc<Engine>, db_name: String, collection: String, fields: Vec<WireField>) -> Status {
    if fields.is_empty() {
        return invalid_request("AlterCollectionSchema adds no field");
    }
    let mut decoded = Vec::with_capacity(fields.len());
    for field in &fields {
        match convert::schema::field_from_wire(field) {
            Ok(field) => decoded.push(field),
            Err(reason) => return invalid_request(reason),
        }
    }
    let outcome = detached(async move {
        for field in decoded {
            engine.add_collection_field(&db_name, &collection, field).await?;
        }
        Ok(())
    })
    .await;
    match outcome {
        Ok(()) => success(),
        Err(error) => status_of(&error),
    }
}
