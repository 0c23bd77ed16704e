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
mod extension;
mod hybrid;
mod index;
mod load;
mod partition;
mod rbac;
mod resource_group;
mod search;
mod session;
mod snapshot;
mod unserved;

pub use extension::QuiverApi;
pub(crate) use search::INDEX_SEARCH_PARAMS;
pub use unserved::WithUnserved;

use crate::access::{Access, Caller, Refused};
use crate::audit::{Audited, Outcome};
use crate::status::{status_of, success};
use quiver_engine::{Engine, EngineError};
use quiver_proto::Guarded;
use quiver_proto::common::Status;
use quiver_proto::milvus::milvus_service_server::MilvusService;
use quiver_proto::milvus::*;
use std::future::Future;
use std::sync::Arc;
use tonic::{Request, Response};

pub struct MilvusApi {
    engine: Arc<Engine>,
    access: Arc<Access>,
    /// Returned by Connect; pymilvus sends it back as the `identifier` header.
    identifier: i64,
}

impl MilvusApi {
    pub fn new(engine: Arc<Engine>, access: Arc<Access>, identifier: i64) -> Self {
        MilvusApi { engine, access, identifier }
    }
}

impl MilvusApi {
    /// Let the request's caller (built once per call, see `access`) make it, or refuse;
    /// answers the database it addresses. Every handler starts here.
    fn admit<T: Guarded>(&self, request: &Request<T>) -> Result<String, tonic::Status> {
        self.access.authorize(request.extensions().get::<Caller>(), request.get_ref())
    }

    /// An audited call (see `audit`): admitted, handled, and recorded with how it ended,
    /// a refusal included. Without an audit log, just admitted and handled.
    async fn audited<T, R, F>(&self, request: Request<T>, handle: impl FnOnce(String, Request<T>) -> F) -> RpcResult<R>
    where
        T: Audited,
        R: WithStatus,
        F: Future<Output = RpcResult<R>>,
    {
        let Some(audit) = self.access.audit() else {
            let db = self.admit(&request)?;
            return handle(db, request).await;
        };
        let caller = request.extensions().get::<Caller>().cloned();
        let object = request.get_ref().object();
        let db = caller.as_ref().map_or_else(String::new, |c| c.database(request.get_ref().db_name()));
        let answer = match self.admit(&request) {
            Ok(db) => handle(db, request).await,
            Err(refusal) => Err(refusal),
        };
        let outcome = match &answer {
            Ok(reply) => reply.get_ref().status().map_or(Outcome { code: 0, reason: String::new() }, |status| Outcome {
                code: if status.code != 0 { status.code } else { status.error_code },
                reason: status.reason.clone(),
            }),
            Err(refusal) => {
                let refused = crate::status::of_refusal(refusal);
                Outcome { code: refused.code, reason: refused.reason }
            }
        };
        audit.record(caller.as_ref(), T::RPC, &db, object, outcome).await;
        answer
    }

    /// The caller's user name, when authorization is on.
    fn user_of<T>(request: &Request<T>) -> Option<&str> {
        request.extensions().get::<Caller>().and_then(|c| c.user.as_deref())
    }
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
    ListCredUsersResponse,
    SelectRoleResponse,
    SelectUserResponse,
    SelectGrantResponse,
    ListPrivilegeGroupsResponse,
    quiver_proto::quiver::RestoreSnapshotResponse,
    quiver_proto::quiver::DescribeRestoreJobResponse,
    quiver_proto::quiver::MountSnapshotResponse,
    quiver_proto::quiver::RollbackCollectionResponse,
    quiver_proto::quiver::GetSnapshotUsageResponse,
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
        if let Some(Refused(refusal)) = request.extensions().get::<Refused>() {
            let status = crate::status::of_refusal(refusal);
            return Ok(Response::new(ConnectResponse { status: Some(status), ..Default::default() }));
        }
        self.admit(&request)?;
        reply(Ok(session::connect(self.identifier, request.into_inner())))
    }

    async fn get_version(&self, request: Request<GetVersionRequest>) -> RpcResult<GetVersionResponse> {
        self.admit(&request)?;
        reply(Ok(session::version()))
    }

    async fn list_resource_groups(&self, request: Request<ListResourceGroupsRequest>) -> RpcResult<ListResourceGroupsResponse> {
        self.admit(&request)?;
        reply(Ok(resource_group::list()))
    }

    async fn describe_resource_group(&self, request: Request<DescribeResourceGroupRequest>) -> RpcResult<DescribeResourceGroupResponse> {
        self.admit(&request)?;
        reply(resource_group::describe(&self.engine, &request.get_ref().resource_group))
    }

    async fn check_health(&self, request: Request<CheckHealthRequest>) -> RpcResult<CheckHealthResponse> {
        self.admit(&request)?;
        reply(Ok(session::health()))
    }

    async fn alloc_timestamp(&self, request: Request<AllocTimestampRequest>) -> RpcResult<AllocTimestampResponse> {
        self.admit(&request)?;
        reply(session::alloc_timestamp(&self.engine).await)
    }

    async fn create_database(&self, request: Request<CreateDatabaseRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(database::create(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn drop_database(&self, request: Request<DropDatabaseRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(database::drop(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn list_databases(&self, request: Request<ListDatabasesRequest>) -> RpcResult<ListDatabasesResponse> {
        self.admit(&request)?;
        let visible = Self::user_of(&request).and_then(|user| self.engine.security().visible_databases(user));
        reply(Ok(database::list(&self.engine, visible.as_deref())))
    }

    async fn describe_database(&self, request: Request<DescribeDatabaseRequest>) -> RpcResult<DescribeDatabaseResponse> {
        let db = self.admit(&request)?;
        reply(database::describe(&self.engine, &db))
    }

    async fn alter_database(&self, request: Request<AlterDatabaseRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        reply_status(database::alter(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn create_collection(&self, request: Request<CreateCollectionRequest>) -> RpcResult<Status> {
        self.audited(request, |db, r| async move { Ok(Response::new(collection::create(self.engine.clone(), db, r.into_inner()).await)) })
            .await
    }

    async fn drop_collection(&self, request: Request<DropCollectionRequest>) -> RpcResult<Status> {
        self.audited(request, |db, r| async move {
            let name = r.into_inner().collection_name;
            let engine = self.engine.clone();
            reply_status(detached(async move { engine.drop_collection(&db, &name).await }).await)
        })
        .await
    }

    async fn has_collection(&self, request: Request<HasCollectionRequest>) -> RpcResult<BoolResponse> {
        let db = self.admit(&request)?;
        reply(collection::has(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn describe_collection(&self, request: Request<DescribeCollectionRequest>) -> RpcResult<DescribeCollectionResponse> {
        let db = self.admit(&request)?;
        reply(collection::describe(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn show_collections(&self, request: Request<ShowCollectionsRequest>) -> RpcResult<ShowCollectionsResponse> {
        let db = self.admit(&request)?;
        reply(collection::show(&self.engine, &db, request.get_ref()))
    }

    async fn rename_collection(&self, request: Request<RenameCollectionRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        reply_status(collection::rename(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn alter_collection(&self, request: Request<AlterCollectionRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        reply_status(collection::alter(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn alter_collection_field(&self, request: Request<AlterCollectionFieldRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        reply_status(collection::alter_field(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn add_collection_field(&self, request: Request<AddCollectionFieldRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        Ok(Response::new(collection::add_field(self.engine.clone(), db, request.into_inner()).await))
    }

    async fn alter_collection_schema(&self, request: Request<AlterCollectionSchemaRequest>) -> RpcResult<AlterCollectionSchemaResponse> {
        let db = self.admit(&request)?;
        let status = collection::alter_schema(self.engine.clone(), db, request.into_inner()).await;
        Ok(Response::new(AlterCollectionSchemaResponse { alter_status: Some(status) }))
    }

    async fn truncate_collection(&self, request: Request<TruncateCollectionRequest>) -> RpcResult<TruncateCollectionResponse> {
        let db = self.admit(&request)?;
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply(detached(async move { engine.truncate_collection(&db, &name).await }).await.map(|()| TruncateCollectionResponse::default()))
    }

    async fn create_partition(&self, request: Request<CreatePartitionRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let CreatePartitionRequest { collection_name, partition_name, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.create_partition(&db, &collection_name, &partition_name).await }).await)
    }

    async fn drop_partition(&self, request: Request<DropPartitionRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let DropPartitionRequest { collection_name, partition_name, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_partition(&db, &collection_name, &partition_name).await }).await)
    }

    async fn has_partition(&self, request: Request<HasPartitionRequest>) -> RpcResult<BoolResponse> {
        let db = self.admit(&request)?;
        let r = request.get_ref();
        reply(
            self.engine.has_partition(&db, &r.collection_name, &r.partition_name).map(|value| BoolResponse { value, ..Default::default() }),
        )
    }

    async fn show_partitions(&self, request: Request<ShowPartitionsRequest>) -> RpcResult<ShowPartitionsResponse> {
        let db = self.admit(&request)?;
        reply(partition::show(&self.engine, &db, request.get_ref()))
    }

    async fn create_alias(&self, request: Request<CreateAliasRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let CreateAliasRequest { collection_name, alias, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.create_alias(&db, &collection_name, &alias).await }).await)
    }

    async fn drop_alias(&self, request: Request<DropAliasRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let alias = request.into_inner().alias;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_alias(&db, &alias).await }).await)
    }

    async fn alter_alias(&self, request: Request<AlterAliasRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let AlterAliasRequest { collection_name, alias, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.alter_alias(&db, &collection_name, &alias).await }).await)
    }

    async fn describe_alias(&self, request: Request<DescribeAliasRequest>) -> RpcResult<DescribeAliasResponse> {
        let db = self.admit(&request)?;
        reply(alias::describe(&self.engine, &db, &request.get_ref().alias))
    }

    async fn list_aliases(&self, request: Request<ListAliasesRequest>) -> RpcResult<ListAliasesResponse> {
        let db = self.admit(&request)?;
        reply(alias::list(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn load_collection(&self, request: Request<LoadCollectionRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.load_collection(&db, &name).await }).await)
    }

    async fn release_collection(&self, request: Request<ReleaseCollectionRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let name = request.into_inner().collection_name;
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.release_collection(&db, &name).await }).await)
    }

    async fn load_partitions(&self, request: Request<LoadPartitionsRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let LoadPartitionsRequest { collection_name, partition_names, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.load_partitions(&db, &collection_name, &partition_names).await }).await)
    }

    async fn release_partitions(&self, request: Request<ReleasePartitionsRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let ReleasePartitionsRequest { collection_name, partition_names, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.release_partitions(&db, &collection_name, &partition_names).await }).await)
    }

    async fn get_load_state(&self, request: Request<GetLoadStateRequest>) -> RpcResult<GetLoadStateResponse> {
        let db = self.admit(&request)?;
        let r = request.get_ref();
        reply(load::state(&self.engine, &db, &r.collection_name, &r.partition_names))
    }

    async fn get_loading_progress(&self, request: Request<GetLoadingProgressRequest>) -> RpcResult<GetLoadingProgressResponse> {
        let db = self.admit(&request)?;
        let r = request.get_ref();
        reply(load::progress(&self.engine, &db, &r.collection_name, &r.partition_names))
    }

    async fn get_replicas(&self, request: Request<GetReplicasRequest>) -> RpcResult<GetReplicasResponse> {
        let db = self.admit(&request)?;
        reply(load::replicas(&self.engine, &db, request.get_ref()))
    }

    async fn create_index(&self, request: Request<CreateIndexRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        reply_status(index::create(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn alter_index(&self, request: Request<AlterIndexRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        reply_status(index::alter(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn describe_index(&self, request: Request<DescribeIndexRequest>) -> RpcResult<DescribeIndexResponse> {
        let db = self.admit(&request)?;
        reply(index::describe(&self.engine, &db, request.get_ref()))
    }

    async fn drop_index(&self, request: Request<DropIndexRequest>) -> RpcResult<Status> {
        let db = self.admit(&request)?;
        let DropIndexRequest { collection_name, field_name, index_name, .. } = request.into_inner();
        let engine = self.engine.clone();
        reply_status(detached(async move { engine.drop_index(&db, &collection_name, &field_name, &index_name).await }).await)
    }

    async fn insert(&self, request: Request<InsertRequest>) -> RpcResult<MutationResult> {
        let db = self.admit(&request)?;
        let r = request.into_inner();
        reply(
            data::write(self.engine.clone(), db, data::WriteKind::Insert, r.collection_name, r.partition_name, r.fields_data, r.num_rows)
                .await,
        )
    }

    async fn upsert(&self, request: Request<UpsertRequest>) -> RpcResult<MutationResult> {
        let db = self.admit(&request)?;
        let r = request.into_inner();
        let kind = if r.partial_update { data::WriteKind::PartialUpsert } else { data::WriteKind::Upsert };
        reply(data::write(self.engine.clone(), db, kind, r.collection_name, r.partition_name, r.fields_data, r.num_rows).await)
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> RpcResult<MutationResult> {
        let db = self.admit(&request)?;
        reply(data::delete(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn flush(&self, request: Request<FlushRequest>) -> RpcResult<FlushResponse> {
        let db = self.admit(&request)?;
        reply(data::flush(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn get_flush_state(&self, request: Request<GetFlushStateRequest>) -> RpcResult<GetFlushStateResponse> {
        // Flush seals synchronously, so a flush the client saw acknowledged is complete.
        let db = self.admit(&request)?;
        let name = &request.get_ref().collection_name;
        let result = if name.is_empty() { Ok(()) } else { self.engine.resolve(&db, name).map(|_| ()) };
        reply(result.map(|()| GetFlushStateResponse { flushed: true, ..Default::default() }))
    }

    async fn query(&self, request: Request<QueryRequest>) -> RpcResult<QueryResults> {
        let db = self.admit(&request)?;
        reply(data::query(&self.engine, &db, request.get_ref()).await)
    }

    async fn get_collection_statistics(
        &self,
        request: Request<GetCollectionStatisticsRequest>,
    ) -> RpcResult<GetCollectionStatisticsResponse> {
        let db = self.admit(&request)?;
        reply(data::statistics(&self.engine, &db, &request.get_ref().collection_name).await)
    }

    async fn get_partition_statistics(&self, request: Request<GetPartitionStatisticsRequest>) -> RpcResult<GetPartitionStatisticsResponse> {
        let db = self.admit(&request)?;
        let r = request.get_ref();
        reply(data::partition_statistics(&self.engine, &db, &r.collection_name, &r.partition_name).await)
    }

    async fn get_persistent_segment_info(
        &self,
        request: Request<GetPersistentSegmentInfoRequest>,
    ) -> RpcResult<GetPersistentSegmentInfoResponse> {
        let db = self.admit(&request)?;
        reply(data::persistent_segments(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn get_query_segment_info(&self, request: Request<GetQuerySegmentInfoRequest>) -> RpcResult<GetQuerySegmentInfoResponse> {
        let db = self.admit(&request)?;
        reply(data::query_segments(&self.engine, &db, &request.get_ref().collection_name))
    }

    async fn manual_compaction(&self, request: Request<ManualCompactionRequest>) -> RpcResult<ManualCompactionResponse> {
        let db = self.admit(&request)?;
        reply(compaction::manual(self.engine.clone(), db, request.into_inner()).await)
    }

    async fn get_compaction_state(&self, request: Request<GetCompactionStateRequest>) -> RpcResult<GetCompactionStateResponse> {
        self.admit(&request)?;
        reply(compaction::state(&self.engine, request.get_ref().compaction_id))
    }

    async fn get_compaction_state_with_plans(&self, request: Request<GetCompactionPlansRequest>) -> RpcResult<GetCompactionPlansResponse> {
        self.admit(&request)?;
        reply(compaction::state_with_plans(&self.engine, request.get_ref().compaction_id))
    }

    async fn search(&self, request: Request<SearchRequest>) -> RpcResult<SearchResults> {
        let db = self.admit(&request)?;
        reply(search::search(&self.engine, &db, request.get_ref()).await)
    }

    async fn hybrid_search(&self, request: Request<HybridSearchRequest>) -> RpcResult<SearchResults> {
        let db = self.admit(&request)?;
        reply(hybrid::hybrid_search(&self.engine, &db, request.get_ref()).await)
    }

    async fn create_snapshot(&self, request: Request<CreateSnapshotRequest>) -> RpcResult<Status> {
        self.audited(request, |db, r| async move { reply_status(snapshot::create(self.engine.clone(), db, r.into_inner()).await) }).await
    }

    async fn drop_snapshot(&self, request: Request<DropSnapshotRequest>) -> RpcResult<Status> {
        self.audited(request, |db, r| async move {
            let r = r.into_inner();
            reply_status(snapshot::drop(self.engine.clone(), db, r.collection_name, r.name).await)
        })
        .await
    }

    async fn list_snapshots(&self, request: Request<ListSnapshotsRequest>) -> RpcResult<ListSnapshotsResponse> {
        let db = self.admit(&request)?;
        reply(snapshot::list(&self.engine, &db, &request.get_ref().collection_name).await)
    }

    async fn describe_snapshot(&self, request: Request<DescribeSnapshotRequest>) -> RpcResult<DescribeSnapshotResponse> {
        let db = self.admit(&request)?;
        let r = request.get_ref();
        reply(snapshot::describe(&self.engine, &db, &r.collection_name, &r.name).await)
    }

    async fn restore_snapshot(&self, request: Request<RestoreSnapshotRequest>) -> RpcResult<RestoreSnapshotResponse> {
        self.audited(request, |db, r| async move { reply(snapshot::restore(self.engine.clone(), db, r.into_inner()).await) }).await
    }

    async fn get_restore_snapshot_state(
        &self,
        request: Request<GetRestoreSnapshotStateRequest>,
    ) -> RpcResult<GetRestoreSnapshotStateResponse> {
        self.admit(&request)?;
        reply(snapshot::restore_state(&self.engine, request.get_ref().job_id).await)
    }

    async fn list_restore_snapshot_jobs(
        &self,
        request: Request<ListRestoreSnapshotJobsRequest>,
    ) -> RpcResult<ListRestoreSnapshotJobsResponse> {
        let db = self.admit(&request)?;
        reply(snapshot::list_jobs(&self.engine, &db, &request.get_ref().collection_name).await)
    }

    async fn pin_snapshot_data(&self, request: Request<PinSnapshotDataRequest>) -> RpcResult<PinSnapshotDataResponse> {
        self.audited(request, |db, r| async move { reply(snapshot::pin(self.engine.clone(), db, r.into_inner()).await) }).await
    }

    async fn unpin_snapshot_data(&self, request: Request<UnpinSnapshotDataRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(snapshot::unpin(self.engine.clone(), r.get_ref().pin_id).await) }).await
    }

    async fn create_credential(&self, request: Request<CreateCredentialRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::create_user(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn update_credential(&self, request: Request<UpdateCredentialRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::update_password(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn delete_credential(&self, request: Request<DeleteCredentialRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::delete_user(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn list_cred_users(&self, request: Request<ListCredUsersRequest>) -> RpcResult<ListCredUsersResponse> {
        self.admit(&request)?;
        reply(Ok(rbac::list_users(&self.engine)))
    }

    async fn create_role(&self, request: Request<CreateRoleRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::create_role(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn drop_role(&self, request: Request<DropRoleRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::drop_role(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn operate_user_role(&self, request: Request<OperateUserRoleRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::operate_user_role(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn select_role(&self, request: Request<SelectRoleRequest>) -> RpcResult<SelectRoleResponse> {
        self.admit(&request)?;
        reply(rbac::select_role(&self.engine, request.get_ref()))
    }

    async fn select_user(&self, request: Request<SelectUserRequest>) -> RpcResult<SelectUserResponse> {
        self.admit(&request)?;
        reply(rbac::select_user(&self.engine, request.get_ref()))
    }

    async fn operate_privilege(&self, request: Request<OperatePrivilegeRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move {
            let grantor = Self::user_of(&r).unwrap_or(quiver_engine::security::ROOT).to_string();
            reply_status(rbac::operate_privilege(self.engine.clone(), grantor, r.into_inner()).await)
        })
        .await
    }

    async fn operate_privilege_v2(&self, request: Request<OperatePrivilegeV2Request>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move {
            let grantor = Self::user_of(&r).unwrap_or(quiver_engine::security::ROOT).to_string();
            reply_status(rbac::operate_privilege_v2(self.engine.clone(), grantor, r.into_inner()).await)
        })
        .await
    }

    async fn select_grant(&self, request: Request<SelectGrantRequest>) -> RpcResult<SelectGrantResponse> {
        self.admit(&request)?;
        reply(rbac::select_grant(&self.engine, request.get_ref()))
    }

    async fn create_privilege_group(&self, request: Request<CreatePrivilegeGroupRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::create_group(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn drop_privilege_group(&self, request: Request<DropPrivilegeGroupRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::drop_group(self.engine.clone(), r.into_inner()).await) }).await
    }

    async fn list_privilege_groups(&self, request: Request<ListPrivilegeGroupsRequest>) -> RpcResult<ListPrivilegeGroupsResponse> {
        self.admit(&request)?;
        reply(Ok(rbac::list_groups(&self.engine)))
    }

    async fn operate_privilege_group(&self, request: Request<OperatePrivilegeGroupRequest>) -> RpcResult<Status> {
        self.audited(request, |_, r| async move { reply_status(rbac::operate_group(self.engine.clone(), r.into_inner()).await) }).await
    }
}
