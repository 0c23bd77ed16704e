//! Index definition RPCs.

use super::detached;
use crate::convert::properties;
use quiver_engine::schema::DataType;
use quiver_engine::{Engine, NewIndex, Result};
use quiver_proto::common::{IndexState, KeyValuePair};
use quiver_proto::milvus::{AlterIndexRequest, CreateIndexRequest, DescribeIndexRequest, DescribeIndexResponse, IndexDescription};
use std::sync::Arc;

pub async fn create(engine: Arc<Engine>, db_name: String, request: CreateIndexRequest) -> Result<()> {
    let index = NewIndex { field_name: request.field_name, index_name: request.index_name, params: properties(&request.extra_params) };
    detached(async move { engine.create_index(&db_name, &request.collection_name, &index).await }).await
}

pub async fn alter(engine: Arc<Engine>, db_name: String, request: AlterIndexRequest) -> Result<()> {
    let props = properties(&request.extra_params);
    detached(async move { engine.alter_index(&db_name, &request.collection_name, &request.index_name, &props, &request.delete_keys).await })
        .await
}

pub fn describe(engine: &Engine, db_name: &str, request: &DescribeIndexRequest) -> Result<DescribeIndexResponse> {
    let indexes = engine.describe_indexes(db_name, &request.collection_name, &request.field_name, &request.index_name)?;
    let schema = engine.resolve(db_name, &request.collection_name)?.schema;
    let descriptions = indexes
        .into_iter()
        .map(|(info, progress)| {
            let d = info.definition;
            let mut params = vec![KeyValuePair { key: "index_type".into(), value: d.index_type.clone() }];
            if !d.metric_type.is_empty() {
                params.push(KeyValuePair { key: "metric_type".into(), value: d.metric_type.clone() });
            }
            params.extend(d.params.iter().map(|(k, v)| KeyValuePair { key: k.clone(), value: v.clone() }));
            // Honest about what serves a type Quiver implements with another algorithm:
            // Milvus's own key for AUTOINDEX on vectors, `served_by` for the others.
            let field_type = schema.field(&info.field_name).map_or(DataType::Json, |f| f.data_type);
            match quiver_engine::indexing::served_by(&d.index_type, field_type) {
                Some(by) if d.index_type == quiver_engine::index_spec::AUTOINDEX && !d.metric_type.is_empty() => {
                    params.push(KeyValuePair { key: "auto_index_type".into(), value: by.into() });
                }
                Some(_) if d.index_type == quiver_engine::index_spec::AUTOINDEX => {}
                Some(by) => params.push(KeyValuePair { key: "served_by".into(), value: by.into() }),
                None => {}
            }
            IndexDescription {
                index_name: d.name,
                index_id: d.id.0,
                params,
                field_name: info.field_name,
                indexed_rows: progress.indexed_rows as i64,
                total_rows: progress.total_rows as i64,
                pending_index_rows: progress.pending_rows as i64,
                state: if progress.is_finished() { IndexState::Finished } else { IndexState::InProgress } as i32,
                ..Default::default()
            }
        })
        .collect();
    Ok(DescribeIndexResponse { index_descriptions: descriptions, ..Default::default() })
}
