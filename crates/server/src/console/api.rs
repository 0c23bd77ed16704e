//! The console's JSON API (routes and envelope in the module doc of `console`).
//!
//! Ids are int64 and go out as text: JavaScript numbers hold 53 bits. Sizes and row
//! counts stay numbers.

use super::Console;
use crate::rest::{Answer, Failure, Reply, replied, request};
use crate::status;
use axum::body::Bytes;
use axum::extract::{Query, State};
use quiver_engine::catalog::model::{Collection, DEFAULT_DATABASE, LoadState};
use quiver_engine::restore::JobInfo;
use quiver_engine::schema::FieldSchema;
use quiver_engine::{Engine, EngineError, SegmentInfo};
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::{CreateSnapshotRequest, DropSnapshotRequest, GetVersionRequest, RestoreSnapshotRequest};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The server version and every database's collections.
pub async fn overview(State(console): State<Console>) -> Reply {
    Reply(overview_of(&console).await)
}

async fn overview_of(console: &Console) -> Answer {
    let version = replied(console.api.get_version(request(GetVersionRequest::default())).await)?.version;
    let mut databases = Vec::new();
    for db in console.engine.list_databases() {
        let mut collections = Vec::new();
        for collection in console.engine.list_collections(&db.name)? {
            collections.push(collection_summary(&console.engine, &db.name, &collection).await);
        }
        databases.push(json!({ "name": db.name, "collections": collections }));
    }
    Ok(json!({ "version": version, "databases": databases }))
}

/// One collection's line in the overview. A collection that cannot be counted (its files
/// are unreadable, or it was dropped meanwhile) is listed with the reason.
async fn collection_summary(engine: &Engine, db: &str, collection: &Collection) -> Value {
    let rows = engine.row_count(db, &collection.name).await;
    let load_state = engine.load_state(db, &collection.name, &[]).map(|state| match state {
        LoadState::Loaded => "Loaded",
        LoadState::NotLoad => "NotLoad",
    });
    json!({
        "name": collection.name,
        "id": collection.id.0.to_string(),
        "rows": rows.as_ref().ok(),
        "problem": rows.as_ref().err().map(|e| status::status_of(e).reason),
        "loadState": load_state.unwrap_or("Unknown"),
        "fields": collection.schema.fields.iter().map(field_json).collect::<Vec<_>>(),
        "dynamicField": collection.schema.enable_dynamic_field,
        "partitions": collection.partitions.len(),
        "indexes": collection.indexes.len(),
        "segments": engine.segments(db, &collection.name).map_or(0, |s| s.len()),
    })
}

fn field_json(field: &FieldSchema) -> Value {
    json!({
        "name": field.name,
        "type": field.data_type.name(),
        "elementType": field.element_type.map(|t| t.name()),
        "params": field.type_params,
        "primaryKey": field.is_primary_key,
        "autoId": field.auto_id,
        "partitionKey": field.is_partition_key,
        "nullable": field.nullable,
    })
}

/// `db` absent or empty: `default`, as in the gRPC API.
#[derive(Deserialize)]
pub struct CollectionName {
    #[serde(default)]
    db: String,
    #[serde(default)]
    name: String,
}

/// One collection's segments, indexes and snapshots.
pub async fn collection(State(console): State<Console>, Query(named): Query<CollectionName>) -> Reply {
    let db = if named.db.is_empty() { DEFAULT_DATABASE } else { &named.db };
    Reply(collection_of(&console.engine, db, &named.name).await)
}

async fn collection_of(engine: &Engine, db: &str, name: &str) -> Answer {
    let collection = engine.resolve(db, name)?;
    let segments: Vec<Value> = engine.segments(db, name)?.iter().map(|segment| segment_json(&collection, segment)).collect();
    let indexes: Vec<Value> = engine
        .describe_indexes(db, name, "", "")?
        .into_iter()
        .map(|(info, progress)| {
            let d = info.definition;
            json!({
                "name": d.name,
                "field": info.field_name,
                "type": d.index_type,
                "metric": d.metric_type,
                "params": d.params,
                "state": if progress.is_finished() { "Finished" } else { "InProgress" },
                "indexedRows": progress.indexed_rows,
                "pendingRows": progress.pending_rows,
                "totalRows": progress.total_rows,
            })
        })
        .collect();
    let snapshots: Vec<Value> = engine
        .snapshot_summaries(db, name)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "name": s.name,
                "description": s.description,
                "createTime": s.create_ts.physical_ms(),
                "segments": s.segments,
                "rows": s.rows,
                "bytes": s.data_bytes,
                "pins": s.active_pins,
                "restoringJob": s.restoring_job.map(|job| job.0.to_string()),
            })
        })
        .collect();
    Ok(json!({ "name": collection.name, "segments": segments, "indexes": indexes, "snapshots": snapshots }))
}

/// A segment with its partition's name and its index state: `Finished` once every index
/// of the collection serves it, `InProgress` while a build is missing, `Growing` (never
/// indexed, as in Milvus), or `None` when the collection has no index.
fn segment_json(collection: &Collection, segment: &SegmentInfo) -> Value {
    let partition = collection.partitions.iter().find(|p| p.id == segment.partition).map_or("", |p| p.name.as_str());
    let pending: Vec<&str> =
        collection.indexes.iter().filter(|d| segment.pending_indexes.contains(&d.id)).map(|d| d.name.as_str()).collect();
    let index_state = match () {
        _ if !segment.sealed => "Growing",
        _ if collection.indexes.is_empty() => "None",
        _ if pending.is_empty() => "Finished",
        _ => "InProgress",
    };
    json!({
        "id": segment.id.0.to_string(),
        "partition": partition,
        "state": if segment.sealed { "Flushed" } else { "Growing" },
        "rows": segment.rows,
        "bytes": segment.stored_bytes,
        "indexState": index_state,
        "pendingIndexes": pending,
    })
}

/// Restore jobs of every database, newest first.
pub async fn jobs(State(console): State<Console>) -> Reply {
    Reply(jobs_of(&console.engine).await)
}

async fn jobs_of(engine: &Engine) -> Answer {
    let mut jobs = Vec::new();
    for db in engine.list_databases() {
        match engine.list_restore_jobs(&db.name, "").await {
            Ok(found) => jobs.extend(found),
            // Dropped since it was listed: it has no jobs left to show.
            Err(EngineError::DatabaseNotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    jobs.sort_by_key(|job| std::cmp::Reverse(job.id.0));
    Ok(jobs.iter().map(job_json).collect())
}

fn job_json(job: &JobInfo) -> Value {
    json!({
        "id": job.id.0.to_string(),
        "snapshot": job.snapshot_name,
        "db": job.db_name,
        "collection": job.collection_name,
        "state": job.state.name(),
        "terminal": job.state.is_terminal(),
        "progress": job.progress,
        "copiedBytes": job.copied_bytes,
        "totalBytes": job.total_bytes,
        "reason": job.reason,
        "startTime": job.start_ms,
        "timeCostMs": job.time_cost_ms,
    })
}

/// A snapshot the console acts on; `db` empty is `default`, as in the gRPC API.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotName {
    #[serde(default)]
    db: String,
    collection: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    #[serde(flatten)]
    snapshot: SnapshotName,
    #[serde(default)]
    description: String,
}

/// `targetDb` empty: the snapshot's database.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreBody {
    #[serde(flatten)]
    snapshot: SnapshotName,
    #[serde(default)]
    target_db: String,
    target_collection: String,
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|e| status::invalid_request(format!("unreadable console request: {e}")).into())
}

pub async fn create_snapshot(State(console): State<Console>, bytes: Bytes) -> Reply {
    Reply(create(&console, &bytes).await)
}

async fn create(console: &Console, bytes: &[u8]) -> Answer {
    let CreateBody { snapshot, description } = body(bytes)?;
    let create = CreateSnapshotRequest {
        db_name: snapshot.db,
        collection_name: snapshot.collection,
        name: snapshot.name,
        description,
        ..Default::default()
    };
    replied(console.api.create_snapshot(request(create)).await)?;
    Ok(json!({}))
}

pub async fn restore_snapshot(State(console): State<Console>, bytes: Bytes) -> Reply {
    Reply(restore(&console, &bytes).await)
}

async fn restore(console: &Console, bytes: &[u8]) -> Answer {
    let RestoreBody { snapshot, target_db, target_collection } = body(bytes)?;
    let restore = RestoreSnapshotRequest {
        target_db_name: if target_db.is_empty() { snapshot.db.clone() } else { target_db },
        db_name: snapshot.db,
        collection_name: snapshot.collection,
        name: snapshot.name,
        target_collection_name: target_collection,
        ..Default::default()
    };
    let reply = replied(console.api.restore_snapshot(request(restore)).await)?;
    Ok(json!({ "jobId": reply.job_id.to_string() }))
}

pub async fn drop_snapshot(State(console): State<Console>, bytes: Bytes) -> Reply {
    Reply(drop(&console, &bytes).await)
}

async fn drop(console: &Console, bytes: &[u8]) -> Answer {
    let snapshot: SnapshotName = body(bytes)?;
    let drop =
        DropSnapshotRequest { db_name: snapshot.db, collection_name: snapshot.collection, name: snapshot.name, ..Default::default() };
    replied(console.api.drop_snapshot(request(drop)).await)?;
    Ok(json!({}))
}
