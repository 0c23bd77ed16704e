//! `/v2/vectordb/databases/*`. Here `dbName` names the database the call is about.

use super::collection::Empty;
use super::{Answer, Api, Call, done, key_values, pairs_of, replied, request};
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::{
    AlterDatabaseRequest, CreateDatabaseRequest, DescribeDatabaseRequest, DropDatabaseRequest, ListDatabasesRequest,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseName {
    db_name: String,
    #[serde(default)]
    properties: Map<String, Value>,
}

pub async fn create(api: Api, call: Call<DatabaseName>) -> Answer {
    let create = CreateDatabaseRequest { db_name: call.body.db_name, properties: pairs_of(&call.body.properties), ..Default::default() };
    replied(api.create_database(request(create)).await)?;
    done()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyKeys {
    db_name: String,
    property_keys: Vec<String>,
}

/// `alter` and `alter_properties` (Milvus serves both paths with one handler).
pub async fn alter(api: Api, call: Call<DatabaseName>) -> Answer {
    let alter = AlterDatabaseRequest { db_name: call.body.db_name, properties: pairs_of(&call.body.properties), ..Default::default() };
    replied(api.alter_database(request(alter)).await)?;
    done()
}

pub async fn drop_properties(api: Api, call: Call<PropertyKeys>) -> Answer {
    let alter = AlterDatabaseRequest { db_name: call.body.db_name, delete_keys: call.body.property_keys, ..Default::default() };
    replied(api.alter_database(request(alter)).await)?;
    done()
}

pub async fn list(api: Api, _: Call<Empty>) -> Answer {
    Ok(json!(replied(api.list_databases(request(ListDatabasesRequest::default())).await)?.db_names))
}

pub async fn describe(api: Api, call: Call<DatabaseName>) -> Answer {
    let reply =
        replied(api.describe_database(request(DescribeDatabaseRequest { db_name: call.body.db_name, ..Default::default() })).await)?;
    Ok(json!({ "dbName": reply.db_name, "dbID": reply.db_id, "properties": key_values(&reply.properties) }))
}

pub async fn drop(api: Api, call: Call<DatabaseName>) -> Answer {
    replied(api.drop_database(request(DropDatabaseRequest { db_name: call.body.db_name, ..Default::default() })).await)?;
    done()
}
