//! `/v2/vectordb/entities/*`: writes, reads and searches of rows.
//!
//! The rows of a write are read by the collection's schema (from DescribeCollection,
//! as Milvus's REST does) into the `FieldData` of Insert or Upsert. `get` and a `delete`
//! without `filter` select by primary key (`id`: one key or a list). Search and query
//! results are lists of row objects; a search row also holds `id` (its primary key) and
//! `distance` (its score), and the rows of several query vectors follow each other.

use super::collection::{schema_of, vector_field};
use super::rows::{self, Write};
use super::{Answer, Api, Call, Failure, int64, replied, request, text_of};
use crate::status;
use prost::Message;
use quiver_proto::common::{DslType, KeyValuePair, PlaceholderGroup, PlaceholderType, PlaceholderValue};
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::search_request::SearchInput;
use quiver_proto::milvus::{DeleteRequest, HybridSearchRequest, InsertRequest, MutationResult, QueryRequest, SearchRequest, UpsertRequest};
use quiver_proto::schema::i_ds::IdField;
use quiver_proto::schema::template_array_value::Data as ArrayData;
use quiver_proto::schema::template_value::Val;
use quiver_proto::schema::{
    BoolArray, CollectionSchema, DataType, DoubleArray, LongArray, SearchResultData, StringArray, TemplateArrayValue,
    TemplateArrayValueArray, TemplateValue,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// `limit` of a query or search that does not give one (Milvus's).
const DEFAULT_LIMIT: i64 = 100;

fn default_limit() -> i64 {
    DEFAULT_LIMIT
}

fn all_fields() -> Vec<String> {
    vec!["*".to_string()]
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteBody {
    collection_name: String,
    #[serde(default)]
    partition_name: String,
    /// A list of row objects (or one row object).
    data: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBody {
    collection_name: String,
    #[serde(default)]
    partition_name: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    expr_params: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBody {
    collection_name: String,
    id: Value,
    #[serde(default = "all_fields")]
    output_fields: Vec<String>,
    #[serde(default)]
    partition_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryBody {
    collection_name: String,
    #[serde(default)]
    filter: String,
    #[serde(default = "all_fields")]
    output_fields: Vec<String>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
    #[serde(default)]
    partition_names: Vec<String>,
    #[serde(default)]
    expr_params: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchBody {
    collection_name: String,
    data: Vec<Value>,
    #[serde(default)]
    anns_field: String,
    #[serde(default)]
    filter: String,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
    #[serde(default)]
    output_fields: Vec<String>,
    #[serde(default)]
    search_params: Map<String, Value>,
    #[serde(default)]
    partition_names: Vec<String>,
    #[serde(default)]
    grouping_field: String,
    #[serde(default)]
    group_size: i64,
    #[serde(default)]
    expr_params: Map<String, Value>,
}

fn row_objects(data: Value) -> Result<Vec<Map<String, Value>>, Failure> {
    let rows = match data {
        Value::Array(rows) => rows,
        row @ Value::Object(_) => vec![row],
        other => return Err(status::rest_insert_data_invalid(format!("data must be a list of row objects, got {other}")).into()),
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| match row {
            Value::Object(row) => Ok(row),
            other => Err(status::rest_insert_data_invalid(format!("row {i} is {other}, not an object")).into()),
        })
        .collect()
}

fn ids_json(reply: &MutationResult, int64_as_text: bool) -> Value {
    match reply.i_ds.as_ref().and_then(|ids| ids.id_field.as_ref()) {
        Some(IdField::IntId(ids)) => ids.data.iter().map(|id| int64(*id, int64_as_text)).collect(),
        Some(IdField::StrId(ids)) => json!(ids.data),
        None => json!([]),
    }
}

async fn write(api: &Api, call: Call<WriteBody>, kind: Write) -> Result<MutationResult, Failure> {
    let body = call.body;
    let schema = schema_of(api, &call.db, &body.collection_name).await?;
    let rows = row_objects(body.data)?;
    let fields_data = rows::columns(&schema, &rows, kind).map_err(status::rest_insert_data_invalid)?;
    let num_rows = rows.len() as u32;
    let (db_name, collection_name, partition_name) = (call.db, body.collection_name, body.partition_name);
    match kind {
        Write::Insert => {
            let insert = InsertRequest { db_name, collection_name, partition_name, fields_data, num_rows, ..Default::default() };
            replied(api.insert(request(insert)).await)
        }
        Write::Upsert => {
            let upsert = UpsertRequest { db_name, collection_name, partition_name, fields_data, num_rows, ..Default::default() };
            replied(api.upsert(request(upsert)).await)
        }
    }
}

pub async fn insert(api: Api, call: Call<WriteBody>) -> Answer {
    let as_text = call.int64_as_text;
    let reply = write(&api, call, Write::Insert).await?;
    Ok(json!({ "insertCount": reply.insert_cnt, "insertIds": ids_json(&reply, as_text) }))
}

pub async fn upsert(api: Api, call: Call<WriteBody>) -> Answer {
    let as_text = call.int64_as_text;
    let reply = write(&api, call, Write::Upsert).await?;
    Ok(json!({ "upsertCount": reply.upsert_cnt, "upsertIds": ids_json(&reply, as_text) }))
}

/// `pk in [...]` for the keys a request gives (`id`: one key or a list of them).
fn primary_key_filter(schema: &CollectionSchema, id: &Value) -> Result<String, Failure> {
    let pk = schema.fields.iter().find(|f| f.is_primary_key).ok_or_else(|| status::invalid_request("the collection has no primary key"))?;
    let keys = match id {
        Value::Array(keys) => keys.clone(),
        one => vec![one.clone()],
    };
    let is_int = pk.data_type == DataType::Int64 as i32;
    let literals = keys
        .iter()
        .map(|key| match key {
            Value::Number(n) if is_int && n.is_i64() => Ok(n.to_string()),
            Value::String(s) if is_int && s.trim().parse::<i64>().is_ok() => Ok(s.trim().to_string()),
            Value::String(s) if !is_int => Ok(Value::from(s.as_str()).to_string()),
            other => Err(status::invalid_request(format!("id {other} is not a primary key of field {}", pk.name))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if literals.is_empty() {
        return Err(status::rest_parameter_missing("id holds no primary key").into());
    }
    Ok(format!("{} in [{}]", pk.name, literals.join(", ")))
}

pub async fn delete(api: Api, call: Call<DeleteBody>) -> Answer {
    let body = call.body;
    let expr = match (body.filter.is_empty(), &body.id) {
        (false, _) => body.filter,
        (true, Some(id)) => primary_key_filter(&schema_of(&api, &call.db, &body.collection_name).await?, id)?,
        (true, None) => return Err(status::rest_parameter_missing("delete needs a filter or an id").into()),
    };
    let delete = DeleteRequest {
        db_name: call.db,
        collection_name: body.collection_name,
        partition_name: body.partition_name,
        expr,
        expr_template_values: template_values(&body.expr_params)?,
        ..Default::default()
    };
    let reply = replied(api.delete(request(delete)).await)?;
    Ok(json!({ "deleteCount": reply.delete_cnt }))
}

async fn run_query(api: &Api, query: QueryRequest, int64_as_text: bool) -> Answer {
    let reply = replied(api.query(request(query)).await)?;
    Ok(Value::Array(rows::rows(&reply.fields_data, &reply.output_fields, int64_as_text).into_iter().map(Value::Object).collect()))
}

pub async fn get(api: Api, call: Call<GetBody>) -> Answer {
    let body = call.body;
    let expr = primary_key_filter(&schema_of(&api, &call.db, &body.collection_name).await?, &body.id)?;
    let query = QueryRequest {
        db_name: call.db,
        collection_name: body.collection_name,
        expr,
        output_fields: body.output_fields,
        partition_names: body.partition_names,
        ..Default::default()
    };
    run_query(&api, query, call.int64_as_text).await
}

pub async fn query(api: Api, call: Call<QueryBody>) -> Answer {
    let body = call.body;
    let counting = body.output_fields.len() == 1 && body.output_fields[0].trim().eq_ignore_ascii_case("count(*)");
    let mut query_params = Vec::new();
    if body.offset > 0 {
        query_params.push(KeyValuePair { key: "offset".into(), value: body.offset.to_string() });
    }
    // A count has no limit: it counts every match.
    if body.limit > 0 && !counting {
        query_params.push(KeyValuePair { key: "limit".into(), value: body.limit.to_string() });
    }
    let query = QueryRequest {
        db_name: call.db,
        collection_name: body.collection_name,
        expr: body.filter,
        output_fields: body.output_fields,
        partition_names: body.partition_names,
        query_params,
        expr_template_values: template_values(&body.expr_params)?,
        ..Default::default()
    };
    run_query(&api, query, call.int64_as_text).await
}

/// The query vectors of a search as a placeholder group: float lists for float vector
/// fields (the server reads them for float16 and bfloat16 fields too), byte lists for
/// binary ones.
fn placeholder_group(data: &[Value], field_type: i32) -> Result<Vec<u8>, Failure> {
    let kind = match DataType::try_from(field_type) {
        Ok(DataType::BinaryVector) => PlaceholderType::BinaryVector,
        Ok(DataType::SparseFloatVector) => PlaceholderType::SparseFloatVector,
        Ok(DataType::Int8Vector) => PlaceholderType::Int8Vector,
        _ => PlaceholderType::FloatVector,
    };
    let invalid = |i: usize, v: &Value| {
        Failure::from(status::rest_body_invalid(format!("query vector {i} is {v}, not a {} vector", kind.as_str_name())))
    };
    let mut values = Vec::with_capacity(data.len());
    for (i, vector) in data.iter().enumerate() {
        let bytes = if kind == PlaceholderType::SparseFloatVector {
            // {"index": value, ...}, sent as (u32 index, f32 value) pairs by index.
            let object = vector.as_object().ok_or_else(|| invalid(i, vector))?;
            let mut pairs = Vec::with_capacity(object.len());
            for (index, value) in object {
                let index: u32 = index.trim().parse().map_err(|_| invalid(i, vector))?;
                pairs.push((index, value.as_f64().ok_or_else(|| invalid(i, vector))? as f32));
            }
            pairs.sort_by_key(|p| p.0);
            pairs.iter().flat_map(|(index, value)| index.to_le_bytes().into_iter().chain(value.to_le_bytes())).collect()
        } else {
            let numbers = vector.as_array().ok_or_else(|| invalid(i, vector))?;
            let mut bytes = Vec::with_capacity(numbers.len() * 4);
            for n in numbers {
                match kind {
                    PlaceholderType::BinaryVector => {
                        bytes.push(n.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or_else(|| invalid(i, vector))?)
                    }
                    PlaceholderType::Int8Vector => {
                        bytes.push(n.as_i64().and_then(|b| i8::try_from(b).ok()).ok_or_else(|| invalid(i, vector))? as u8)
                    }
                    _ => bytes.extend_from_slice(&(n.as_f64().ok_or_else(|| invalid(i, vector))? as f32).to_le_bytes()),
                }
            }
            bytes
        };
        values.push(bytes);
    }
    let group =
        PlaceholderGroup { placeholders: vec![PlaceholderValue { tag: "$0".into(), r#type: kind as i32, values, ..Default::default() }] };
    Ok(group.encode_to_vec())
}

/// The `params` JSON of a search from `searchParams`: its `params` object, with the
/// index parameters Milvus also reads at the top level folded in.
fn search_params(body: &SearchBody, anns_field: &str) -> Vec<KeyValuePair> {
    let kv = |key: &str, value: String| KeyValuePair { key: key.to_string(), value };
    let given = &body.search_params;
    let mut params = given.get("params").and_then(Value::as_object).cloned().unwrap_or_default();
    for &key in crate::service::INDEX_SEARCH_PARAMS {
        if let Some(value) = given.get(key) {
            params.insert(key.to_string(), value.clone());
        }
    }
    let mut pairs = vec![
        kv("topk", body.limit.to_string()),
        kv("offset", body.offset.to_string()),
        kv("anns_field", anns_field.to_string()),
        kv("round_decimal", "-1".into()),
        kv("params", Value::Object(params).to_string()),
    ];
    if let Some(metric) = given.get("metricType").or_else(|| given.get("metric_type")) {
        pairs.push(kv("metric_type", text_of(metric)));
    }
    if !body.grouping_field.is_empty() {
        pairs.push(kv("group_by_field", body.grouping_field.clone()));
        if body.group_size > 0 {
            pairs.push(kv("group_size", body.group_size.to_string()));
        }
    }
    pairs
}

/// The gRPC request of one search body.
fn search_request(schema: &CollectionSchema, db: &str, body: &SearchBody) -> Result<SearchRequest, Failure> {
    let field = vector_field(schema, &body.anns_field)?;
    let placeholders = placeholder_group(&body.data, field.data_type)?;
    Ok(SearchRequest {
        db_name: db.to_string(),
        collection_name: body.collection_name.clone(),
        partition_names: body.partition_names.clone(),
        dsl: body.filter.clone(),
        dsl_type: DslType::BoolExprV1 as i32,
        output_fields: body.output_fields.clone(),
        search_params: search_params(body, &field.name),
        nq: body.data.len() as i64,
        expr_template_values: template_values(&body.expr_params)?,
        search_input: Some(SearchInput::PlaceholderGroup(placeholders)),
        ..Default::default()
    })
}

/// Search results as the REST API's rows: output fields, `id` and `distance`.
fn hit_rows(results: Option<SearchResultData>, int64_as_text: bool) -> Value {
    let Some(results) = results else { return json!([]) };
    let mut found = rows::rows(&results.fields_data, &results.output_fields, int64_as_text);
    let ids: Vec<Value> = match results.ids.and_then(|ids| ids.id_field) {
        Some(IdField::IntId(ids)) => ids.data.into_iter().map(|id| int64(id, int64_as_text)).collect(),
        Some(IdField::StrId(ids)) => ids.data.into_iter().map(Value::from).collect(),
        None => Vec::new(),
    };
    found.resize_with(ids.len(), Map::new);
    Value::Array(
        found
            .into_iter()
            .zip(ids)
            .zip(results.scores)
            .map(|((mut row, id), score)| {
                row.insert("id".into(), id);
                row.insert("distance".into(), rows::float32(score));
                Value::Object(row)
            })
            .collect(),
    )
}

pub async fn search(api: Api, call: Call<SearchBody>) -> Answer {
    let schema = schema_of(&api, &call.db, &call.body.collection_name).await?;
    let search = search_request(&schema, &call.db, &call.body)?;
    let reply = replied(api.search(request(search)).await)?;
    Ok(hit_rows(reply.results, call.int64_as_text))
}

/// One sub-search of a hybrid search body: Milvus names its search parameters `params`
/// and its metric `metricType`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubSearchBody {
    data: Vec<Value>,
    #[serde(default)]
    anns_field: String,
    #[serde(default)]
    filter: String,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
    #[serde(default)]
    metric_type: Option<String>,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    expr_params: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HybridSearchBody {
    collection_name: String,
    search: Vec<SubSearchBody>,
    #[serde(default)]
    rerank: Map<String, Value>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
    #[serde(default)]
    output_fields: Vec<String>,
    #[serde(default)]
    partition_names: Vec<String>,
    #[serde(default)]
    grouping_field: String,
    #[serde(default)]
    group_size: i64,
}

pub async fn hybrid_search(api: Api, call: Call<HybridSearchBody>) -> Answer {
    let body = &call.body;
    let schema = schema_of(&api, &call.db, &body.collection_name).await?;
    let mut requests = Vec::with_capacity(body.search.len());
    for sub in &body.search {
        let mut search_params = Map::new();
        search_params.insert("params".into(), Value::Object(sub.params.clone()));
        if let Some(metric) = sub.metric_type.clone().or_else(|| sub.params.get("metric_type").map(text_of)) {
            search_params.insert("metricType".into(), Value::String(metric));
        }
        let one = SearchBody {
            collection_name: body.collection_name.clone(),
            data: sub.data.clone(),
            anns_field: sub.anns_field.clone(),
            filter: sub.filter.clone(),
            limit: sub.limit,
            offset: sub.offset,
            output_fields: body.output_fields.clone(),
            search_params,
            partition_names: body.partition_names.clone(),
            grouping_field: String::new(),
            group_size: 0,
            expr_params: sub.expr_params.clone(),
        };
        requests.push(search_request(&schema, &call.db, &one)?);
    }
    let kv = |key: &str, value: String| KeyValuePair { key: key.to_string(), value };
    let mut rank_params =
        vec![kv("limit", body.limit.to_string()), kv("offset", body.offset.to_string()), kv("round_decimal", "-1".into())];
    if let Some(strategy) = body.rerank.get("strategy") {
        rank_params.push(kv("strategy", text_of(strategy)));
    }
    if let Some(params) = body.rerank.get("params") {
        rank_params.push(kv("params", params.to_string()));
    }
    if !body.grouping_field.is_empty() {
        rank_params.push(kv("group_by_field", body.grouping_field.clone()));
        if body.group_size > 0 {
            rank_params.push(kv("group_size", body.group_size.to_string()));
        }
    }
    let hybrid = HybridSearchRequest {
        db_name: call.db.clone(),
        collection_name: body.collection_name.clone(),
        partition_names: body.partition_names.clone(),
        requests,
        rank_params,
        output_fields: body.output_fields.clone(),
        ..Default::default()
    };
    let reply = replied(api.hybrid_search(request(hybrid)).await)?;
    Ok(hit_rows(reply.results, call.int64_as_text))
}

/// `exprParams` (the values of a filter's `{name}` placeholders) as template values.
fn template_values(params: &Map<String, Value>) -> Result<HashMap<String, TemplateValue>, Failure> {
    params.iter().map(|(name, value)| Ok((name.clone(), TemplateValue { val: Some(template_value(name, value)?) }))).collect()
}

fn template_value(name: &str, value: &Value) -> Result<Val, Failure> {
    Ok(match value {
        Value::Bool(b) => Val::BoolVal(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Val::Int64Val(i),
            None => Val::FloatVal(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Val::StringVal(s.clone()),
        Value::Array(items) => Val::ArrayVal(template_array(name, items)?),
        Value::Object(_) => Val::BytesVal(value.to_string().into_bytes()),
        Value::Null => return Err(status::invalid_request(format!("exprParams {name} is null, not a value a filter can hold")).into()),
    })
}

/// A list of one kind of value: booleans, integers, numbers, strings or lists.
fn template_array(name: &str, items: &[Value]) -> Result<TemplateArrayValue, Failure> {
    let mixed = || Failure::from(status::invalid_request(format!("exprParams {name} mixes kinds of values in one list")));
    let data = if items.iter().all(Value::is_boolean) {
        ArrayData::BoolData(BoolArray { data: items.iter().filter_map(Value::as_bool).collect() })
    } else if items.iter().all(Value::is_i64) {
        ArrayData::LongData(LongArray { data: items.iter().filter_map(Value::as_i64).collect() })
    } else if items.iter().all(Value::is_number) {
        ArrayData::DoubleData(DoubleArray { data: items.iter().filter_map(Value::as_f64).collect() })
    } else if items.iter().all(Value::is_string) {
        ArrayData::StringData(StringArray { data: items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect() })
    } else if items.iter().all(Value::is_array) {
        let lists = items.iter().map(|v| template_array(name, v.as_array().map_or(&[][..], Vec::as_slice))).collect::<Result<_, _>>()?;
        ArrayData::ArrayData(TemplateArrayValueArray { data: lists })
    } else {
        return Err(mixed());
    };
    Ok(TemplateArrayValue { data: Some(data) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_proto::schema::FieldSchema;

    fn schema(pk_type: DataType) -> CollectionSchema {
        let pk = FieldSchema { name: "pk".into(), data_type: pk_type as i32, is_primary_key: true, ..Default::default() };
        CollectionSchema { fields: vec![pk], ..Default::default() }
    }

    #[test]
    fn ids_select_by_primary_key() {
        assert_eq!(primary_key_filter(&schema(DataType::Int64), &json!([1, "2"])).unwrap(), "pk in [1, 2]");
        assert_eq!(primary_key_filter(&schema(DataType::Int64), &json!(7)).unwrap(), "pk in [7]");
        assert_eq!(primary_key_filter(&schema(DataType::VarChar), &json!(["a\"b"])).unwrap(), r#"pk in ["a\"b"]"#);
        assert!(primary_key_filter(&schema(DataType::Int64), &json!(["x"])).is_err());
        assert!(primary_key_filter(&schema(DataType::Int64), &json!([])).is_err());
    }

    #[test]
    fn expression_parameters_keep_their_kinds() {
        let params = json!({"a": 1, "b": [1.5, 2], "c": ["x"], "d": [[1], [2]]});
        let values = template_values(params.as_object().unwrap()).unwrap();
        assert_eq!(values["a"].val, Some(Val::Int64Val(1)));
        assert!(matches!(&values["b"].val, Some(Val::ArrayVal(TemplateArrayValue { data: Some(ArrayData::DoubleData(_)) }))));
        assert!(matches!(&values["c"].val, Some(Val::ArrayVal(TemplateArrayValue { data: Some(ArrayData::StringData(_)) }))));
        assert!(matches!(&values["d"].val, Some(Val::ArrayVal(TemplateArrayValue { data: Some(ArrayData::ArrayData(_)) }))));
        assert!(template_values(json!({"e": [1, "x"]}).as_object().unwrap()).is_err());
    }
}
