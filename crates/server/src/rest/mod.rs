//! Milvus's RESTful API v2: `POST /v2/vectordb/<category>/<action>` with a JSON body, on
//! the gRPC port (HTTP/1.1 beside gRPC's HTTP/2; `serve.rs` serves both).
//!
//! Every handler turns its JSON body into the protobuf request the gRPC service takes,
//! calls the same [`MilvusApi`] method, and turns the reply into Milvus's JSON. So the
//! validation, the engine calls and the error map (`status.rs`) are the gRPC ones; this
//! module only translates.
//!
//! # Replies
//!
//! As Milvus answers: HTTP 200 with `{"code": 0, "data": ...}`, or with
//! `{"code": <Milvus code>, "message": "..."}` when the call failed (a missing
//! collection is code 100, as over gRPC). A body that is not JSON, or not the JSON the
//! endpoint reads, is code 1801; one without a required field 1802; rows that do not fit
//! the collection 1804 (Milvus's REST codes). A path under `/v2/vectordb/` that Quiver
//! does not serve is HTTP 404 with code 10 naming it.
//!
//! # Requests
//!
//! The database is the body's `dbName`, else the `DB-Name` header, else `default`. With
//! authorization on, the user is `Authorization: Bearer user:password` (Milvus's REST
//! token); a call without valid credentials is code 1800, one the user lacks the
//! privilege for 65535 with Milvus's "permission deny" words. The call's [`Caller`] is
//! built once, here, and every `MilvusApi` request the handler makes carries it.
//! Int64 values (primary keys, int64 fields, ids) are JSON numbers; a client that cannot
//! read 64-bit numbers sends `Accept-Type-Allow-Int64: false` and gets them as strings
//! (Milvus's `acceptTypeAllowInt64`, on by default).

mod alias;
mod collection;
mod database;
mod entity;
mod index;
mod partition;
mod rows;
mod schema;
mod snapshot;

use crate::access::{Access, Caller, Origin, peer_of};
use crate::service::{MilvusApi, WithStatus};
use crate::status;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use quiver_engine::EngineError;
use quiver_proto::common::Status;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;

/// The gRPC service the REST handlers call.
pub type Api = Arc<MilvusApi>;

/// Where the REST API lives.
const PREFIX: &str = "/v2/vectordb";

/// The header that names the database when the body does not.
const DATABASE_HEADER: &str = "DB-Name";

/// The header by which a client asks for int64 values as strings (`false`).
const INT64_HEADER: &str = "Accept-Type-Allow-Int64";

/// The routes of every served endpoint, under `/v2/vectordb`. Bodies up to
/// `max_body_bytes` are read (gRPC's message limit, so a REST insert may be as large).
pub fn router(api: Api, access: Arc<Access>, max_body_bytes: usize) -> Router {
    let v2 = Router::new()
        .route("/collections/create", endpoint(collection::create))
        .route("/collections/list", endpoint(collection::list))
        .route("/collections/describe", endpoint(collection::describe))
        .route("/collections/has", endpoint(collection::has))
        .route("/collections/drop", endpoint(collection::drop))
        .route("/collections/rename", endpoint(collection::rename))
        .route("/collections/get_stats", endpoint(collection::stats))
        .route("/collections/get_load_state", endpoint(collection::load_state))
        .route("/collections/load", endpoint(collection::load))
        .route("/collections/release", endpoint(collection::release))
        .route("/collections/refresh_load", endpoint(collection::refresh_load))
        .route("/collections/alter_properties", endpoint(collection::alter_properties))
        .route("/collections/drop_properties", endpoint(collection::drop_properties))
        .route("/collections/fields/add", endpoint(collection::add_field))
        .route("/collections/flush", endpoint(collection::flush))
        .route("/collections/compact", endpoint(collection::compact))
        .route("/collections/get_compaction_state", endpoint(collection::compaction_state))
        .route("/databases/create", endpoint(database::create))
        .route("/databases/list", endpoint(database::list))
        .route("/databases/describe", endpoint(database::describe))
        .route("/databases/drop", endpoint(database::drop))
        .route("/databases/alter", endpoint(database::alter))
        .route("/databases/alter_properties", endpoint(database::alter))
        .route("/databases/drop_properties", endpoint(database::drop_properties))
        .route("/partitions/create", endpoint(partition::create))
        .route("/partitions/list", endpoint(partition::list))
        .route("/partitions/has", endpoint(partition::has))
        .route("/partitions/drop", endpoint(partition::drop))
        .route("/partitions/load", endpoint(partition::load))
        .route("/partitions/release", endpoint(partition::release))
        .route("/partitions/get_stats", endpoint(partition::stats))
        .route("/aliases/create", endpoint(alias::create))
        .route("/aliases/list", endpoint(alias::list))
        .route("/aliases/describe", endpoint(alias::describe))
        .route("/aliases/alter", endpoint(alias::alter))
        .route("/aliases/drop", endpoint(alias::drop))
        .route("/indexes/create", endpoint(index::create))
        .route("/indexes/list", endpoint(index::list))
        .route("/indexes/describe", endpoint(index::describe))
        .route("/indexes/drop", endpoint(index::drop))
        .route("/entities/insert", endpoint(entity::insert))
        .route("/entities/upsert", endpoint(entity::upsert))
        .route("/entities/delete", endpoint(entity::delete))
        .route("/entities/get", endpoint(entity::get))
        .route("/entities/query", endpoint(entity::query))
        .route("/entities/search", endpoint(entity::search))
        .route("/entities/hybrid_search", endpoint(entity::hybrid_search))
        .route("/snapshots/create", endpoint(snapshot::create))
        .route("/snapshots/drop", endpoint(snapshot::drop))
        .route("/snapshots/list", endpoint(snapshot::list))
        .route("/snapshots/describe", endpoint(snapshot::describe))
        .route("/snapshots/restore", endpoint(snapshot::restore))
        .route("/snapshots/pin", endpoint(snapshot::pin))
        .route("/snapshots/unpin", endpoint(snapshot::unpin))
        .route("/jobs/snapshot/describe", endpoint(snapshot::describe_job))
        .route("/jobs/snapshot/list", endpoint(snapshot::list_jobs))
        .fallback(unserved)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(Served { api, access });
    Router::new().nest(PREFIX, v2)
}

/// What every endpoint is handed: the gRPC service and who may call it.
#[derive(Clone)]
struct Served {
    api: Api,
    access: Arc<Access>,
}

tokio::task_local! {
    /// The caller of the REST call being answered; [`request`] hands it to the service.
    static CALLER: Caller;
}

/// One decoded REST request: its body, its database and how it wants int64 values.
pub struct Call<T> {
    pub body: T,
    pub db: String,
    pub int64_as_text: bool,
}

/// What a handler answers: the reply's `data`, or the failure's Status.
pub type Answer = Result<Value, Failure>;

/// A failed call: a Milvus Status with a non-zero code (built by `status.rs`, never here).
#[derive(Debug)]
pub struct Failure(Status);

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure(status)
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        Failure(status::status_of(&error))
    }
}

/// The JSON envelope Milvus answers with, always HTTP 200 (the console answers with it
/// too).
pub(crate) struct Reply(pub(crate) Answer);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let body = match self.0 {
            Ok(data) => json!({ "code": 0, "data": data }),
            Err(Failure(status)) => json!({ "code": status.code, "message": status.reason }),
        };
        (StatusCode::OK, axum::Json(body)).into_response()
    }
}

/// A POST route whose handler reads a `T` from the body.
fn endpoint<T, F, Fut>(handler: F) -> MethodRouter<Served>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Api, Call<T>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    post(move |State(served): State<Served>, request: Parts, body: Bytes| {
        let handler = handler.clone();
        async move {
            let headers = &request.headers;
            let peer = peer_of(&request.extensions);
            let user = match served.access.rest_user(headers, Origin { peer, rpc: request.uri.path() }).await {
                Ok(user) => user,
                Err(refusal) => return Reply(Err(Failure(status::of_refusal(&refusal)))),
            };
            Reply(match decode::<T>(headers, &body) {
                Ok(call) => {
                    let caller = Caller { user, db: call.db.clone(), peer };
                    CALLER.scope(caller, handler(served.api, call)).await
                }
                Err(failure) => Err(failure),
            })
        }
    })
}

fn decode<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<Call<T>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(status::rest_body_invalid("the request body is empty; send {} for no parameters").into());
    }
    let value: Value = serde_json::from_slice(body).map_err(status::rest_body_invalid)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let db = value
        .get("dbName")
        .and_then(Value::as_str)
        .filter(|db| !db.is_empty())
        .or_else(|| header(DATABASE_HEADER))
        .unwrap_or(quiver_engine::catalog::model::DEFAULT_DATABASE)
        .to_string();
    let int64_as_text = header(INT64_HEADER).is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let body = serde_json::from_value(value).map_err(|e| {
        // serde names the field it missed; everything else is a value of the wrong shape.
        if e.to_string().starts_with("missing field") { status::rest_parameter_missing(e) } else { status::rest_body_invalid(e) }
    })?;
    Ok(Call { body, db, int64_as_text })
}

/// The reply of a `MilvusApi` call, or its failure Status.
pub(crate) fn replied<R: WithStatus>(result: Result<tonic::Response<R>, tonic::Status>) -> Result<R, Failure> {
    // The service answers every failure inside an OK reply, but for a refused caller.
    let reply = result
        .map_err(|e| match e.code() {
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => Failure(status::of_refusal(&e)),
            _ => Failure(status::status_of(&EngineError::Internal(format!("the gRPC service failed: {}", e.message())))),
        })?
        .into_inner();
    match reply.status() {
        Some(status) if status.code != 0 => Err(Failure(status.clone())),
        _ => Ok(reply),
    }
}

/// A `MilvusApi` request carrying what the handler put in it, and the REST call's caller.
/// Run `work` as `caller`: the `MilvusApi` requests it builds with [`request`] carry it
/// (the console's API uses this too).
pub(crate) async fn as_caller<F: Future>(caller: Caller, work: F) -> F::Output {
    CALLER.scope(caller, work).await
}

pub(crate) fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(caller) = CALLER.try_with(Caller::clone) {
        request.extensions_mut().insert(caller);
    }
    request
}

/// `{}`: what Milvus answers when a call has nothing to return.
fn done() -> Answer {
    Ok(json!({}))
}

/// An int64 as the client asked for it (see the module doc).
fn int64(value: i64, as_text: bool) -> Value {
    if as_text { Value::String(value.to_string()) } else { Value::from(value) }
}

/// `KeyValuePair`s as Milvus's REST shows them: `[{"key": .., "value": ..}]`.
fn key_values(pairs: &[quiver_proto::common::KeyValuePair]) -> Value {
    pairs.iter().map(|kv| json!({ "key": kv.key, "value": kv.value })).collect()
}

/// A JSON object of parameters as `KeyValuePair`s: strings as they are, anything else
/// as its JSON text (`{"ttlSeconds": 60}` becomes `ttlSeconds` = `60`).
fn pairs_of(params: &serde_json::Map<String, Value>) -> Vec<quiver_proto::common::KeyValuePair> {
    params.iter().map(|(key, value)| quiver_proto::common::KeyValuePair { key: key.clone(), value: text_of(value) }).collect()
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Paths under `/v2/vectordb/` that are not served: 404, code 10 naming the endpoint.
async fn unserved(uri: Uri) -> Response {
    // Whether a nested router sees its prefix is axum's detail; name the full path.
    let path = uri.path();
    let endpoint = if path.starts_with(PREFIX) { path.to_string() } else { format!("{PREFIX}{path}") };
    let status = status::unserved(&endpoint);
    (StatusCode::NOT_FOUND, axum::Json(json!({ "code": status.code, "message": status.reason }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Named {
        collection_name: String,
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_database_is_the_body_s_then_the_header_s_then_default() {
        let call = decode::<Named>(&headers(&[("DB-Name", "h")]), br#"{"collectionName": "c", "dbName": "b"}"#).unwrap();
        assert_eq!((call.body.collection_name.as_str(), call.db.as_str()), ("c", "b"));
        let call = decode::<Named>(&headers(&[("DB-Name", "h")]), br#"{"collectionName": "c"}"#).unwrap();
        assert_eq!(call.db, "h");
        let call = decode::<Named>(&HeaderMap::new(), br#"{"collectionName": "c", "dbName": ""}"#).unwrap();
        assert_eq!(call.db, "default");
        assert!(!call.int64_as_text);
        assert!(decode::<Named>(&headers(&[("Accept-Type-Allow-Int64", "false")]), br#"{"collectionName": "c"}"#).unwrap().int64_as_text);
    }

    #[test]
    fn bad_bodies_get_milvus_rest_codes() {
        let code = |body: &[u8]| decode::<Named>(&HeaderMap::new(), body).err().unwrap().0.code;
        assert_eq!(code(b""), status::code::REST_BODY_INVALID);
        assert_eq!(code(b"{not json"), status::code::REST_BODY_INVALID);
        assert_eq!(code(br#"{"collectionName": 7}"#), status::code::REST_BODY_INVALID);
        assert_eq!(code(b"{}"), status::code::REST_PARAMETER_MISSING);
        let missing = decode::<Named>(&HeaderMap::new(), b"{}").err().unwrap().0;
        assert!(missing.reason.contains("collectionName"), "{}", missing.reason);
    }

    #[test]
    fn int64_values_are_numbers_unless_asked_as_text() {
        assert_eq!(int64(i64::MAX, false), json!(i64::MAX));
        assert_eq!(int64(-3, true), json!("-3"));
    }
}
