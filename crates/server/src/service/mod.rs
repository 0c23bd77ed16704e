//! The MilvusService implementation: thin handlers, one module per RPC family.
//!
//! Every handler resolves the database, calls the engine, and converts the answer; an
//! engine error becomes a `common.Status` inside a gRPC OK reply (via `status.rs`), never
//! a gRPC error, because pymilvus retries gRPC errors for minutes. RPCs not served here
//! are answered by `unserved` (a Status saying so, by name).

mod alias;
mod collection;
mod compaction;
mod data;
mod database;
mod index;
mod load;
mod partition;
mod resource_group;
mod search;
mod session;
mod snapshot;
mod unserved;

pub(crate) use search::INDEX_SEARCH_PARAMS;
pub use unserved::WithUnserved;

use crate::status::{status_of, success};
use quiver_engine::{Engine, EngineError};
use quiver_proto::common::Status;
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::*;
use std::future::Future;
use std::sync::Arc;
use tonic::{Request, Response};

pub struct MilvusApi {
    engine: Arc<Engine>,
    /// Returned by Connect; pymilvus sends it back as the `identifier` header.
    identifier: i64,
}

impl MilvusApi {
    pub fn new(engine: Arc<Engine>, identifier: i64) -> Self {
        MilvusApi { engine, identifier }
    }
}

/// Name of the database a request addresses: the request's `db_name`, else the `dbname`
/// header, else `default`.
fn database_of<T>(request: &Request<T>, request_db: &str) -> String {
    if !request_db.is_empty() {
        return request_db.to_string();
    }
    request
        .metadata()
        .get("dbname")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or(quiver_engine::catalog::model::DEFAULT_DATABASE)
        .to_string()
}

/// A reply message that carries a `status` field (or is the Status itself).
pub(crate) trait WithStatus: Default {
    fn set_status(&mut self, status: Status);
    fn status(&self) -> Option<&Status>;
}

impl WithStatus for Status {
    fn set_status(&mut self, status: Status) {
        *self = status;
    }

    fn status(&self) -> Option<&Status> {
        Some(self)
    }
}

macro_rules! with_status {
    ($($reply:ty),* $(,)?) => {$(
        impl WithStatus for $reply {
            fn set_status(&mut self, status: Status) {
                self.status = Some(status);
            }

            fn status(&self) -> Option<&Status> {
                self.status.as_ref()
            }
        }
    )*};
}

with_status!(
    ConnectResponse,
    ListResourceGroupsResponse,
    DescribeResourceGroupResponse,
    GetVersionResponse,
    CheckHealthResponse,
    AllocTimestampResponse,
    ListDatabasesResponse,
    DescribeDatabaseResponse,
    BoolResponse,
    DescribeCollectionResponse,
    ShowCollectionsResponse,
    TruncateCollectionResponse,
    ShowPartitionsResponse,
    DescribeAliasResponse,
    ListAliasesResponse,
    GetLoadStateResponse,
    GetLoadingProgressResponse,
    GetReplicasResponse,
    DescribeIndexResponse,
    MutationResult,
    FlushResponse,
    GetFlushStateResponse,
    QueryResults,
    GetCollectionStatisticsResponse,
    GetPartitionStatisticsResponse,
    GetPersistentSegmentInfoResponse,
    GetQuerySegmentInfoResponse,
    ManualCompactionResponse,
    GetCompactionStateResponse,
    GetCompactionPlansResponse,
    SearchResults,
    ListSnapshotsResponse,
    DescribeSnapshotResponse,
    RestoreSnapshotResponse,
    GetRestoreSnapshotStateResponse,
    ListRestoreSnapshotJobsResponse,
    PinSnapshotDataResponse,
);

type RpcResult<T> = Result<Response<T>, tonic::Status>;

/// Wrap an engine answer: a value gets a success Status, an error its mapped Status.
fn reply<R: WithStatus>(result: Result<R, EngineError>) -> RpcResult<R> {
    let (mut reply, status) = match result {
        Ok(value) => (value, success()),
        Err(error) => (R::default(), status_of(&error)),
    };
    reply.set_status(status);
    Ok(Response::new(reply))
}

fn reply_status(result: Result<(), EngineError>) -> RpcResult<Status> {
    Ok(Response::new(match result {
        Ok(()) => success(),
        Err(error) => status_of(&error),
    }))
}

/// Run a state-changing call in its own task, so a client that disconnects cannot cancel
/// it half-way (catalog DDL is not cancel safe between commit and publish).
async fn detached<T: Send + 'static>(work: impl Future<Output = Result<T, EngineError>> + Send + 'static) -> Result<T, EngineError> {
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(join) => Err(EngineError::Internal(format!("request task failed: {join}"))),
    }
}

#[tonic::async_trait]
impl MilvusService for MilvusApi {
    async fn connect(&self, request: Request<ConnectRequest>) -> RpcResult<ConnectResponse> {
        reply(Ok(session::connect(self.identifier, request.into_inner())))
    }

    async fn get_version(&self, _: Request<GetVersionRequest>) -> RpcResult<GetVersionResponse> {
        reply(Ok(session::version()))
    }

    async fn list_resource_groups(&self, _: Request<ListResourceGroupsRequest>) -> RpcResult<ListResourceGroupsResponse> {
        reply(Ok(resource_group::list()))
    }

    async fn describe_resource_group(&self, request: Request<DescribeResourceGroupRequest>) -> RpcResult<DescribeResourceGroupResponse> {
        reply(resource_group::describe(&self.engine, &request.get_ref().resource_group))
    }

    async fn check_health(&self, _: Request<CheckHealthRequest>) -> RpcResult<CheckHealthResponse> {
        reply(Ok(session::health()))
    }

    async fn alloc_timestamp(&self, _: Request<AllocTimestampRequest>) -> RpcResult<AllocTimestampResponse> {
        reply(session::alloc_timestamp(&self.engine).await)
    }

    async fn create_database(&self, request: Request<CreateDatabaseRequest>) -> RpcResult<Status> {
        reply_status(database::create(self.engine.clone(), request.into_inner()).await)
    }

    async fn drop_database(&self, request: Request<DropDatabaseRequest>) -> RpcResult<Status> {
        reply_status(database::drop(self.engine.clone(), request.into_inner()).await)
    }

    async fn list_databases(&self, _: Request<ListDatabasesRequest>) -> RpcResult<ListDatabasesResponse> {
        reply(Ok(database::list(&self.engine)))
    }

    async fn describe_database(&self, request: Request<DescribeDatabaseRequest>) -> RpcResult<DescribeDatabaseResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(database::describe(&self.engine, &db))
    }

    async fn alter_database(&self, request: Request<AlterDatabaseRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(database::alter(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn create_collection(&self, request: Request<CreateCollectionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        Ok(Response::new(collection::create(self.engine.clone(), db, request.into_inner()).await))
    }

    async fn drop_collection(&self, request: Request<DropCollectionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_collection(&db, &name).await }).await)
    }

    async fn has_collection(&self, request: Request<HasCollectionRequest>) -> RpcResult<BoolResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(collection::has(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn describe_collection(&self, request: Request<DescribeCollectionRequest>) -> RpcResult<DescribeCollectionResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(collection::describe(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn show_collections(&self, request: Request<ShowCollectionsRequest>) -> RpcResult<ShowCollectionsResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(collection::show(&self.engine, &db, request.get_ref()))
    }

    async fn rename_collection(&self, request: Request<RenameCollectionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(collection::rename(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn alter_collection(&self, request: Request<AlterCollectionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(collection::alter(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn alter_collection_field(&self, request: Request<AlterCollectionFieldRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(collection::alter_field(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn add_collection_field(&self, request: Request<AddCollectionFieldRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        Ok(Response::new(collection::add_field(self.engine.clone(), db, request.into_inner()).await))
    }

    async fn alter_collection_schema(&self, request: Request<AlterCollectionSchemaRequest>) -> RpcResult<AlterCollectionSchemaResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let status = collection::alter_schema(self.engine.clone(), db, request.into_inner()).await;
        Ok(Response::new(AlterCollectionSchemaResponse { alter_status: Some(status) }))
    }

    async fn truncate_collection(&self, request: Request<TruncateCollectionRequest>) -> RpcResult<TruncateCollectionResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply(detached(async move { engine.truncate_collection(&db, &name).await }).await.map(|()| TruncateCollectionResponse::default()))
    }

    async fn create_partition(&self, request: Request<CreatePartitionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let CreatePartitionRequest { collection_name, partition_name, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.create_partition(&db, &collection_name, &partition_name).await }).await)
    }

    async fn drop_partition(&self, request: Request<DropPartitionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let DropPartitionRequest { collection_name, partition_name, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_partition(&db, &collection_name, &partition_name).await }).await)
    }

    async fn has_partition(&self, request: Request<HasPartitionRequest>) -> RpcResult<BoolResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.get_ref();
        reply(
            self.engine.has_partition(&db, &r.collection_name, &r.partition_name).map(|value| BoolResponse { value, ..Default::default() }),
        )
    }

    async fn show_partitions(&self, request: Request<ShowPartitionsRequest>) -> RpcResult<ShowPartitionsResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(partition::show(&self.engine, &db, request.get_ref()))
    }

    async fn create_alias(&self, request: Request<CreateAliasRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let CreateAliasRequest { collection_name, alias, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.create_alias(&db, &collection_name, &alias).await }).await)
    }

    async fn drop_alias(&self, request: Request<DropAliasRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let alias = request.into_inner().alias;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_alias(&db, &alias).await }).await)
    }

    async fn alter_alias(&self, request: Request<AlterAliasRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let AlterAliasRequest { collection_name, alias, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.alter_alias(&db, &collection_name, &alias).await }).await)
    }

    async fn describe_alias(&self, request: Request<DescribeAliasRequest>) -> RpcResult<DescribeAliasResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(alias::describe(&self.engine, &db, &request.get_ref().alias))
    }

    async fn list_aliases(&self, request: Request<ListAliasesRequest>) -> RpcResult<ListAliasesResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(alias::list(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn load_collection(&self, request: Request<LoadCollectionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.load_collection(&db, &name).await }).await)
    }

    async fn release_collection(&self, request: Request<ReleaseCollectionRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.release_collection(&db, &name).await }).await)
    }

    async fn load_partitions(&self, request: Request<LoadPartitionsRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let LoadPartitionsRequest { collection_name, partition_names, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.load_partitions(&db, &collection_name, &partition_names).await }).await)
    }

    async fn release_partitions(&self, request: Request<ReleasePartitionsRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let ReleasePartitionsRequest { collection_name, partition_names, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.release_partitions(&db, &collection_name, &partition_names).await }).await)
    }

    async fn get_load_state(&self, request: Request<GetLoadStateRequest>) -> RpcResult<GetLoadStateResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.get_ref();
        reply(load::state(&self.engine, &db, &r.collection_name, &r.partition_names))
    }

    async fn get_loading_progress(&self, request: Request<GetLoadingProgressRequest>) -> RpcResult<GetLoadingProgressResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.get_ref();
        reply(load::progress(&self.engine, &db, &r.collection_name, &r.partition_names))
    }

    async fn get_replicas(&self, request: Request<GetReplicasRequest>) -> RpcResult<GetReplicasResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(load::replicas(&self.engine, &db, request.get_ref()))
    }

    async fn create_index(&self, request: Request<CreateIndexRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(index::create(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn alter_index(&self, request: Request<AlterIndexRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(index::alter(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn describe_index(&self, request: Request<DescribeIndexRequest>) -> RpcResult<DescribeIndexResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(index::describe(&self.engine, &db, request.get_ref()))
    }

    async fn drop_index(&self, request: Request<DropIndexRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let DropIndexRequest { collection_name, field_name, index_name, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_index(&db, &collection_name, &field_name, &index_name).await }).await)
    }

    async fn insert(&self, request: Request<InsertRequest>) -> RpcResult<MutationResult> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.into_inner();
        reply(
            data::write(self.engine.clone(), db, data::WriteKind::Insert, r.collection_name, r.partition_name, r.fields_data, r.num_rows)
                .await,
        )
    }

    async fn upsert(&self, request: Request<UpsertRequest>) -> RpcResult<MutationResult> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.into_inner();
        if r.partial_update {
            return reply(Err(EngineError::InvalidParameter("partial update is not supported by Quiver".to_string())));
        }
        reply(
            data::write(self.engine.clone(), db, data::WriteKind::Upsert, r.collection_name, r.partition_name, r.fields_data, r.num_rows)
                .await,
        )
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> RpcResult<MutationResult> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(data::delete(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn flush(&self, request: Request<FlushRequest>) -> RpcResult<FlushResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(data::flush(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn get_flush_state(&self, request: Request<GetFlushStateRequest>) -> RpcResult<GetFlushStateResponse> {
        // Flush seals synchronously, so a flush the client saw acknowledged is complete.
        let db = database_of(&request, &request.get_ref().db_name);
        let name = &request.get_ref().collection_name;
        let result = if name.is_empty() { Ok(()) } else { self.engine.resolve(&db, name).map(|_| ()) };
        reply(result.map(|()| GetFlushStateResponse { flushed: true, ..Default::default() }))
    }

    async fn query(&self, request: Request<QueryRequest>) -> RpcResult<QueryResults> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(data::query(&self.engine, &db, request.get_ref()).await)
    }

    async fn get_collection_statistics(
        &self,
        request: Request<GetCollectionStatisticsRequest>,
    ) -> RpcResult<GetCollectionStatisticsResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(data::statistics(&self.engine, &db, &request.get_ref().collection_name).await)
    }

    async fn get_partition_statistics(&self, request: Request<GetPartitionStatisticsRequest>) -> RpcResult<GetPartitionStatisticsResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.get_ref();
        reply(data::partition_statistics(&self.engine, &db, &r.collection_name, &r.partition_name).await)
    }

    async fn get_persistent_segment_info(
        &self,
        request: Request<GetPersistentSegmentInfoRequest>,
    ) -> RpcResult<GetPersistentSegmentInfoResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(data::persistent_segments(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn get_query_segment_info(&self, request: Request<GetQuerySegmentInfoRequest>) -> RpcResult<GetQuerySegmentInfoResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(data::query_segments(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn manual_compaction(&self, request: Request<ManualCompactionRequest>) -> RpcResult<ManualCompactionResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(compaction::manual(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn get_compaction_state(&self, request: Request<GetCompactionStateRequest>) -> RpcResult<GetCompactionStateResponse> {
        reply(compaction::state(&self.engine, request.get_ref().compaction_id))
    }

    async fn get_compaction_state_with_plans(&self, request: Request<GetCompactionPlansRequest>) -> RpcResult<GetCompactionPlansResponse> {
        reply(compaction::state_with_plans(&self.engine, request.get_ref().compaction_id))
    }

    async fn search(&self, request: Request<SearchRequest>) -> RpcResult<SearchResults> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(search::search(&self.engine, &db, request.get_ref()).await)
    }

    async fn create_snapshot(&self, request: Request<CreateSnapshotRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply_status(snapshot::create(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn drop_snapshot(&self, request: Request<DropSnapshotRequest>) -> RpcResult<Status> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.into_inner();
        reply_status(snapshot::drop(self.engine.clone(), db, r.collection_name, r.name).await)
    }

    async fn list_snapshots(&self, request: Request<ListSnapshotsRequest>) -> RpcResult<ListSnapshotsResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(snapshot::list(&self.engine, &db, &request.get_ref().collection_name).await)
    }

    async fn describe_snapshot(&self, request: Request<DescribeSnapshotRequest>) -> RpcResult<DescribeSnapshotResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        let r = request.get_ref();
        reply(snapshot::describe(&self.engine, &db, &r.collection_name, &r.name).await)
    }

    async fn restore_snapshot(&self, request: Request<RestoreSnapshotRequest>) -> RpcResult<RestoreSnapshotResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(snapshot::restore(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn get_restore_snapshot_state(
        &self,
        request: Request<GetRestoreSnapshotStateRequest>,
    ) -> RpcResult<GetRestoreSnapshotStateResponse> {
        reply(snapshot::restore_state(&self.engine, request.get_ref().job_id).await)
    }

    async fn list_restore_snapshot_jobs(
        &self,
        request: Request<ListRestoreSnapshotJobsRequest>,
    ) -> RpcResult<ListRestoreSnapshotJobsResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(snapshot::list_jobs(&self.engine, &db, &request.get_ref().collection_name).await)
    }

    async fn pin_snapshot_data(&self, request: Request<PinSnapshotDataRequest>) -> RpcResult<PinSnapshotDataResponse> {
        let db = database_of(&request, &request.get_ref().db_name);
        reply(snapshot::pin(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn unpin_snapshot_data(&self, request: Request<UnpinSnapshotDataRequest>) -> RpcResult<Status> {
        reply_status(snapshot::unpin(self.engine.clone(), request.get_ref().pin_id).await)
    }
}
