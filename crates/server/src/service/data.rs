//! Data RPCs: Insert, Upsert, Delete, Flush, GetFlushState, Query, statistics and
//! segment information.

use super::detached;
use crate::convert::{field_data, templates};
use quiver_engine::catalog::model::Collection;
use quiver_engine::data::rows::DYNAMIC_COLUMN;
use quiver_engine::{Engine, EngineError, InsertColumns, MutationOutcome, QueryRequest, Result};
use quiver_format::logs::PkColumn;
use quiver_proto::common::{KeyValuePair, SegmentLevel, SegmentState};
use quiver_proto::milvus::{
    DeleteRequest, FlushRequest, FlushResponse, GetCollectionStatisticsResponse, GetPartitionStatisticsResponse,
    GetPersistentSegmentInfoResponse, GetQuerySegmentInfoResponse, MutationResult, PersistentSegmentInfo, QueryRequest as WireQuery,
    QueryResults, QuerySegmentInfo,
};
use quiver_proto::schema::{FieldData, IDs as Ids, LongArray, StringArray, i_ds::IdField};
use std::sync::Arc;

/// Which write a request is.
#[derive(Clone, Copy)]
pub enum WriteKind {
    Insert,
    Upsert,
    /// Milvus's partial update: fields left out keep their stored values.
    PartialUpsert,
}

fn invalid(message: String) -> EngineError {
    EngineError::InvalidData(message)
}

/// Wire columns -> engine columns, checked against the collection's schema.
fn columns(collection: &Collection, fields: &[FieldData], num_rows: u32) -> Result<InsertColumns> {
    let n = num_rows as usize;
    let mut out = InsertColumns { num_rows: n, ..Default::default() };
    for data in fields {
        if data.is_dynamic || data.field_name == DYNAMIC_COLUMN {
            if !collection.schema.enable_dynamic_field {
                return Err(invalid(format!(
                    "collection {} has no dynamic field, so row keys outside the schema are not allowed",
                    collection.name
                )));
            }
            out.dynamic = Some(field_data::dynamic_to_arrow(data, n).map_err(invalid)?);
            continue;
        }
        let field = collection
            .schema
            .field(&data.field_name)
            .ok_or_else(|| invalid(format!("field {} does not exist in collection {}", data.field_name, collection.name)))?;
        out.fields.push((field.name.clone(), field_data::to_arrow(field, data, n).map_err(invalid)?));
    }
    Ok(out)
}

fn ids_to_wire(ids: PkColumn) -> Option<Ids> {
    Some(Ids {
        id_field: Some(match ids {
            PkColumn::Int(data) => IdField::IntId(LongArray { data }),
            PkColumn::Str(data) => IdField::StrId(StringArray { data }),
        }),
    })
}

pub async fn write(
    engine: Arc<Engine>,
    db: String,
    kind: WriteKind,
    collection_name: String,
    partition: String,
    fields: Vec<FieldData>,
    num_rows: u32,
) -> Result<MutationResult> {
    let collection = engine.resolve_checked(&db, &collection_name)?;
    let columns = columns(&collection, &fields, num_rows)?;
    let outcome: MutationOutcome = detached(async move {
        match kind {
            WriteKind::Insert => engine.insert(&db, &collection_name, &partition, columns).await,
            WriteKind::Upsert => engine.upsert(&db, &collection_name, &partition, columns, false).await,
            WriteKind::PartialUpsert => engine.upsert(&db, &collection_name, &partition, columns, true).await,
        }
    })
    .await?;
    let count = outcome.count as i64;
    let (insert_cnt, upsert_cnt) = match kind {
        WriteKind::Insert => (count, 0),
        WriteKind::Upsert | WriteKind::PartialUpsert => (count, count),
    };
    Ok(MutationResult {
        succ_index: (0..outcome.count as u32).collect(),
        i_ds: ids_to_wire(outcome.ids),
        insert_cnt,
        upsert_cnt,
        timestamp: outcome.ts.0,
        ..Default::default()
    })
}

pub async fn delete(engine: Arc<Engine>, db: String, request: DeleteRequest) -> Result<MutationResult> {
    let templates = templates::from_wire(&request.expr_template_values).map_err(EngineError::InvalidParameter)?;
    let outcome =
        detached(async move { engine.delete(&db, &request.collection_name, &request.partition_name, &request.expr, &templates).await })
            .await?;
    // Milvus leaves IDs empty on deletes, so pymilvus reports {'delete_count': n}.
    Ok(MutationResult { delete_cnt: outcome.count as i64, timestamp: outcome.ts.0, ..Default::default() })
}

pub async fn flush(engine: Arc<Engine>, db: String, request: FlushRequest) -> Result<FlushResponse> {
    let mut response = FlushResponse { db_name: db.clone(), ..Default::default() };
    for name in request.collection_names {
        let engine = Arc::clone(&engine);
        let (db, key) = (db.clone(), name.clone());
        let outcome = detached(async move { engine.flush(&db, &key).await }).await?;
        let ids: Vec<i64> = outcome.sealed.iter().map(|s| s.0).collect();
        response.coll_seg_i_ds.insert(name.clone(), LongArray { data: ids.clone() });
        response.flush_coll_seg_i_ds.insert(name.clone(), LongArray { data: ids });
        response.coll_seal_times.insert(name.clone(), outcome.flush_ts.physical_ms() as i64 / 1000);
        response.coll_flush_ts.insert(name, outcome.flush_ts.0);
    }
    Ok(response)
}

/// The most rows one query may page through (`offset + limit`), Milvus's
/// `quotaAndLimits.limits.maxQueryResultWindow`.
const MAX_QUERY_RESULT_WINDOW: i64 = 16_384;

/// A query's `limit` and `offset`, checked with Milvus's words. As in Milvus, an offset
/// counts only with a limit: without one the query returns every match.
fn query_params(params: &[KeyValuePair]) -> Result<(Option<usize>, usize)> {
    let value = |key: &str| params.iter().find(|kv| kv.key == key).map(|kv| kv.value.as_str());
    let Some(limit) = value("limit") else {
        return Ok((None, 0));
    };
    let integer =
        |key: &str, text: &str| text.trim().parse::<i64>().map_err(|_| EngineError::InvalidParameter(format!("{key} [{text}] is invalid")));
    let limit = integer("limit", limit)?;
    let offset = value("offset").map(|text| integer("offset", text)).transpose()?.unwrap_or(0);
    let window = |why: String| EngineError::InvalidParameter(format!("invalid max query result window, {why}"));
    if offset < 0 {
        return Err(window(format!("offset [{offset}] is invalid, should be gte than 0")));
    }
    if limit <= 0 {
        return Err(window(format!("limit [{limit}] is invalid, should be greater than 0")));
    }
    let depth = offset.saturating_add(limit);
    if depth > MAX_QUERY_RESULT_WINDOW {
        return Err(window(format!("(offset+limit) should be in range [1, {MAX_QUERY_RESULT_WINDOW}], but got {depth}")));
    }
    Ok((Some(limit as usize), offset as usize))
}

pub async fn query(engine: &Engine, db: &str, request: &WireQuery) -> Result<QueryResults> {
    let (limit, offset) = query_params(&request.query_params)?;
    let templates = templates::from_wire(&request.expr_template_values).map_err(EngineError::InvalidParameter)?;
    let collection = engine.resolve_checked(db, &request.collection_name)?;
    let query = QueryRequest {
        filter: request.expr.clone(),
        templates,
        output_fields: request.output_fields.clone(),
        partitions: None,
        limit,
        offset,
    };
    let output = engine.query(db, &request.collection_name, &request.partition_names, query).await?;
    let fields_data = match output.count {
        Some(count) => vec![field_data::count_field(count)],
        None => output
            .columns
            .iter()
            .map(|column| match &column.field {
                Some(field) => field_data::from_arrow(field, &column.array),
                None => field_data::dynamic_from_arrow(&column.array),
            })
            .collect(),
    };
    Ok(QueryResults {
        fields_data,
        collection_name: collection.name.clone(),
        output_fields: output.output_fields,
        primary_field_name: collection.schema.primary_field().name.clone(),
        session_ts: output.read_ts,
        ..Default::default()
    })
}

pub async fn statistics(engine: &Engine, db: &str, collection: &str) -> Result<GetCollectionStatisticsResponse> {
    let rows = engine.row_count(db, collection).await?;
    Ok(GetCollectionStatisticsResponse {
        stats: vec![KeyValuePair { key: "row_count".to_string(), value: rows.to_string() }],
        ..Default::default()
    })
}

pub async fn partition_statistics(engine: &Engine, db: &str, collection: &str, partition: &str) -> Result<GetPartitionStatisticsResponse> {
    let rows = engine.partition_row_count(db, collection, partition).await?;
    Ok(GetPartitionStatisticsResponse {
        stats: vec![KeyValuePair { key: "row_count".to_string(), value: rows.to_string() }],
        ..Default::default()
    })
}

pub fn persistent_segments(engine: &Engine, db: &str, collection: &str) -> Result<GetPersistentSegmentInfoResponse> {
    let collection_id = engine.resolve(db, collection)?.id.0;
    let infos = engine
        .segments(db, collection)?
        .into_iter()
        .filter(|s| s.sealed)
        .map(|s| PersistentSegmentInfo {
            segment_id: s.id.0,
            collection_id,
            partition_id: s.partition.0,
            num_rows: s.rows as i64,
            state: SegmentState::Flushed as i32,
            level: SegmentLevel::L1 as i32,
            ..Default::default()
        })
        .collect();
    Ok(GetPersistentSegmentInfoResponse { infos, ..Default::default() })
}

pub fn query_segments(engine: &Engine, db: &str, collection: &str) -> Result<GetQuerySegmentInfoResponse> {
    let info = engine.describe_collection(db, collection)?;
    if !info.collection.loaded {
        return Err(EngineError::CollectionNotLoaded { name: collection.to_string() });
    }
    let infos = engine
        .segments(db, collection)?
        .into_iter()
        .map(|s| QuerySegmentInfo {
            segment_id: s.id.0,
            collection_id: info.collection.id.0,
            partition_id: s.partition.0,
            num_rows: s.rows as i64,
            state: if s.sealed { SegmentState::Sealed as i32 } else { SegmentState::Growing as i32 },
            level: SegmentLevel::L1 as i32,
            ..Default::default()
        })
        .collect();
    Ok(GetQuerySegmentInfoResponse { infos, ..Default::default() })
}
