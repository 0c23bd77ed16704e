//! `/v2/vectordb/aliases/*`.

use super::{Answer, Api, Call, done, replied, request};
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::*;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasName {
    alias_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasOfCollection {
    collection_name: String,
    alias_name: String,
}

/// `aliases/list`: the collection is optional (every alias of the database without it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaybeCollection {
    #[serde(default)]
    collection_name: String,
}

pub async fn create(api: Api, call: Call<AliasOfCollection>) -> Answer {
    let create = CreateAliasRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        alias: call.body.alias_name,
        ..Default::default()
    };
    replied(api.create_alias(request(create)).await)?;
    done()
}

pub async fn list(api: Api, call: Call<MaybeCollection>) -> Answer {
    let list = ListAliasesRequest { db_name: call.db, collection_name: call.body.collection_name, ..Default::default() };
    Ok(json!(replied(api.list_aliases(request(list)).await)?.aliases))
}

pub async fn describe(api: Api, call: Call<AliasName>) -> Answer {
    let reply = replied(
        api.describe_alias(request(DescribeAliasRequest { db_name: call.db, alias: call.body.alias_name, ..Default::default() })).await,
    )?;
    Ok(json!({ "dbName": reply.db_name, "collectionName": reply.collection, "aliasName": reply.alias }))
}

pub async fn alter(api: Api, call: Call<AliasOfCollection>) -> Answer {
    let alter = AlterAliasRequest {
        db_name: call.db,
        collection_name: call.body.collection_name,
        alias: call.body.alias_name,
        ..Default::default()
    };
    replied(api.alter_alias(request(alter)).await)?;
    done()
}

pub async fn drop(api: Api, call: Call<AliasName>) -> Answer {
    replied(api.drop_alias(request(DropAliasRequest { db_name: call.db, alias: call.body.alias_name, ..Default::default() })).await)?;
    done()
}
