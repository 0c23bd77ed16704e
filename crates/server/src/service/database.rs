//! Database RPCs.

use super::detached;
use crate::convert::key_values;
use crate::convert::properties;
use quiver_engine::{Engine, Result};
use quiver_proto::milvus::{
    AlterDatabaseRequest, CreateDatabaseRequest, DescribeDatabaseResponse, DropDatabaseRequest, ListDatabasesResponse,
};
use std::sync::Arc;

pub async fn create(engine: Arc<Engine>, request: CreateDatabaseRequest) -> Result<()> {
    let props = properties(&request.properties);
    detached(async move { engine.create_database(&request.db_name, props).await.map(|_| ()) }).await
}

pub async fn drop(engine: Arc<Engine>, request: DropDatabaseRequest) -> Result<()> {
    detached(async move { engine.drop_database(&request.db_name).await }).await
}

/// Every database, or those of `visible` (a caller's grants name them) when given.
pub fn list(engine: &Engine, visible: Option<&[String]>) -> ListDatabasesResponse {
    let mut databases = engine.list_databases();
    if let Some(visible) = visible {
        databases.retain(|d| visible.contains(&d.name));
    }
    ListDatabasesResponse {
        db_names: databases.iter().map(|d| d.name.clone()).collect(),
        created_timestamp: databases.iter().map(|d| d.created_ts.0).collect(),
        db_ids: databases.iter().map(|d| d.id.0).collect(),
        ..Default::default()
    }
}

pub fn describe(engine: &Engine, db_name: &str) -> Result<DescribeDatabaseResponse> {
    let db = engine.describe_database(db_name)?;
    Ok(DescribeDatabaseResponse {
        db_name: db.name,
        db_id: db.id.0,
        created_timestamp: db.created_ts.0,
        properties: key_values(&db.properties),
        ..Default::default()
    })
}

pub async fn alter(engine: Arc<Engine>, db_name: String, request: AlterDatabaseRequest) -> Result<()> {
    let props = properties(&request.properties);
    detached(async move { engine.alter_database(&db_name, props, &request.delete_keys).await.map(|_| ()) }).await
}
