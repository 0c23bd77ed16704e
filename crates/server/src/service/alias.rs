//! Alias RPCs (create, drop and alter are one-liners in `mod.rs`).

use quiver_engine::{Engine, Result};
use quiver_proto::milvus::{DescribeAliasResponse, ListAliasesResponse};

pub fn describe(engine: &Engine, db_name: &str, alias: &str) -> Result<DescribeAliasResponse> {
    let collection = engine.describe_alias(db_name, alias)?;
    Ok(DescribeAliasResponse { db_name: db_name.to_string(), alias: alias.to_string(), collection, ..Default::default() })
}

pub fn list(engine: &Engine, db_name: &str, collection: &str) -> Result<ListAliasesResponse> {
    let filter = (!collection.is_empty()).then_some(collection);
    let aliases = engine.list_aliases(db_name, filter)?;
    Ok(ListAliasesResponse { db_name: db_name.to_string(), collection_name: collection.to_string(), aliases, ..Default::default() })
}
