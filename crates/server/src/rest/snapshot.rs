//! `/v2/vectordb/snapshots/*` and `/v2/vectordb/jobs/snapshot/*`.
//!
//! Request and reply fields are Milvus's (`snapshotName`, `sourceCollectionName`,
//! `targetCollectionName`, `targetDbName`, `ttlSeconds`, `pinId`; replies `jobId`,
//! `pinId`, and describe's `snapshotName`, `createTs`, `s3Location`, ...). The restore
//! job endpoints are not in the Milvus source Quiver was built against; their fields are
//! the gRPC `RestoreSnapshotInfo` in Milvus's camelCase, and `list` answers
//! `{"records": [...]}` as Milvus's import job list does.

use super::{Answer, Api, Call, done, int64, replied, request, text_of};
use crate::status;
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::*;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    collection_name: String,
    snapshot_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    compaction_protection_seconds: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotName {
    collection_name: String,
    snapshot_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaybeCollection {
    #[serde(default)]
    collection_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreBody {
    snapshot_name: String,
    source_collection_name: String,
    target_collection_name: String,
    #[serde(default)]
    target_db_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinBody {
    collection_name: String,
    snapshot_name: String,
    #[serde(default)]
    ttl_seconds: i64,
}

/// Ids are int64: a number, or its text for clients that cannot hold one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinId {
    pin_id: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobId {
    job_id: Value,
}

fn id_of(value: &Value, what: &str) -> Result<i64, super::Failure> {
    text_of(value)
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| status::invalid_request(format!("{what} must be a positive decimal int64, got {value}")).into())
}

pub async fn create(api: Api, call: Call<CreateBody>) -> Answer {
    let body = call.body;
    let create = CreateSnapshotRequest {
        db_name: call.db,
        collection_name: body.collection_name,
        name: body.snapshot_name,
        description: body.description,
        compaction_protection_seconds: body.compaction_protection_seconds,
        ..Default::default()
    };
    replied(api.create_snapshot(request(create)).await)?;
    done()
}

pub async fn drop(api: Api, call: Call<SnapshotName>) -> Answer {
    let drop = DropSnapshotRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        name: call.body.snapshot_name,
        ..Default::default()
    };
    replied(api.drop_snapshot(request(drop)).await)?;
    done()
}

pub async fn list(api: Api, call: Call<MaybeCollection>) -> Answer {
    let list = ListSnapshotsRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    Ok(json!(replied(api.list_snapshots(request(list)).await)?.snapshots))
}

pub async fn describe(api: Api, call: Call<SnapshotName>) -> Answer {
    let describe = DescribeSnapshotRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        name: call.body.snapshot_name,
        ..Default::default()
    };
    let reply = replied(api.describe_snapshot(request(describe)).await)?;
    Ok(json!({
        "snapshotName": reply.name,
        "description": reply.description,
        "collectionName": reply.collection_name,
        "partitionNames": reply.partition_names,
        "createTs": int64(reply.create_ts, call.int64_as_text),
        "s3Location": reply.s3_location,
    }))
}

/// The target database is `targetDbName`, else the request's database.
pub async fn restore(api: Api, call: Call<RestoreBody>) -> Answer {
    let body = call.body;
    let restore = RestoreSnapshotRequest {
        target_db_name: if body.target_db_name.is_empty() { call.db.clone() } else { body.target_db_name },
        db_name: call.db,
        name: body.snapshot_name,
        collection_name: body.source_collection_name,
        target_collection_name: body.target_collection_name,
        ..Default::default()
    };
    let reply = replied(api.restore_snapshot(request(restore)).await)?;
    Ok(json!({ "jobId": int64(reply.job_id, call.int64_as_text) }))
}

pub async fn pin(api: Api, call: Call<PinBody>) -> Answer {
    let body = call.body;
    let pin = PinSnapshotDataRequest {
        db_name: call.db,
        collection_name: body.collection_name,
        name: body.snapshot_name,
        ttl_seconds: body.ttl_seconds,
        ..Default::default()
    };
    let reply = replied(api.pin_snapshot_data(request(pin)).await)?;
    Ok(json!({ "pinId": int64(reply.pin_id, call.int64_as_text) }))
}

pub async fn unpin(api: Api, call: Call<PinId>) -> Answer {
    let unpin = UnpinSnapshotDataRequest { pin_id: id_of(&call.body.pin_id, "pinId")?, ..Default::default() };
    replied(api.unpin_snapshot_data(request(unpin)).await)?;
    done()
}

fn job_json(job: &RestoreSnapshotInfo, int64_as_text: bool) -> Value {
    let state = RestoreSnapshotState::try_from(job.state).map_or("", |s| s.as_str_name());
    json!({
        "jobId": int64(job.job_id, int64_as_text),
        "snapshotName": job.snapshot_name,
        "dbName": job.db_name,
        "collectionName": job.collection_name,
        "state": state,
        "progress": job.progress,
        "reason": job.reason,
        "startTime": job.start_time,
        "timeCost": job.time_cost,
    })
}

pub async fn describe_job(api: Api, call: Call<JobId>) -> Answer {
    let state = GetRestoreSnapshotStateRequest { job_id: id_of(&call.body.job_id, "jobId")?, ..Default::default() };
    let reply = replied(api.get_restore_snapshot_state(request(state)).await)?;
    Ok(reply.info.map_or(Value::Null, |job| job_json(&job, call.int64_as_text)))
}

pub async fn list_jobs(api: Api, call: Call<MaybeCollection>) -> Answer {
    let list = ListRestoreSnapshotJobsRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    let reply = replied(api.list_restore_snapshot_jobs(request(list)).await)?;
    Ok(json!({ "records": reply.jobs.iter().map(|job| job_json(job, call.int64_as_text)).collect::<Vec<_>>() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_int64s_as_numbers_or_text() {
        assert_eq!(id_of(&json!(42), "pinId").unwrap(), 42);
        assert_eq!(id_of(&json!("42"), "pinId").unwrap(), 42);
        for bad in [json!(0), json!("x"), json!(-1), json!(null)] {
            assert_eq!(id_of(&bad, "pinId").unwrap_err().0.code, status::code::PARAMETER_INVALID);
        }
    }
}
