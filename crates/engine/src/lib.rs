//! Quiver's engine: everything stateful, behind plain Rust types (no protobuf).
//!
//! - `catalog`: databases, collections, partitions, aliases, index definitions, load
//!   state, persisted in the metadata store;
//! - `data`: durable writes (WAL), growing and sealed segments, flush, reads;
//! - `tso` and `ids`: timestamps and ids that never repeat across restarts;
//! - `ops`: the operations the server calls, which tie the catalog and data together.

pub mod catalog;
pub mod data;
pub mod error;
pub mod failpoint;
pub mod ids;
pub mod index_spec;
mod ops;
pub mod snapshot;
pub mod tso;

pub use quiver_format::{names, schema};

pub use catalog::{Catalog, CollectionInfo, IndexInfo, NewCollection};
pub use data::{
    CompactionPlan, DataConfig, FlushOutcome, GcReport, IndexProgress, InsertColumns, MutationOutcome, QueryOutput, QueryRequest,
    QueryVectors, SearchOutput, SearchRequest,
};
pub use error::{EngineError, NameKind, Result};
pub use ops::SegmentInfo;

use data::DataPath;
use ids::IdAllocator;
use object_store::ObjectStore;
use quiver_base::{Clock, CollectionId, Timestamp};
use quiver_storage::MetaStore;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use tso::TimestampOracle;

/// The engine as the server uses it.
pub struct Engine {
    pub catalog: Catalog,
    data: DataPath,
    tso: Arc<TimestampOracle>,
    ids: Arc<IdAllocator>,
    meta: Arc<dyn MetaStore>,
    objects: Arc<dyn ObjectStore>,
    /// Snapshot records and restore jobs (mirrors of the metadata store).
    snapshots: Mutex<snapshot::SnapshotBook>,
    /// Serialises snapshot DDL (create, drop, pin, cascade, sweep).
    snapshot_ddl: tokio::sync::Mutex<()>,
    /// When this process opened the engine (unix ms).
    started_ms: u64,
    /// Finished manual compactions by id, for GetCompactionState (not persisted).
    compactions: Mutex<HashMap<i64, (CollectionId, Vec<CompactionPlan>)>>,
    /// Woken when there may be index builds to run (new sealed segments, a new index), so
    /// the builder starts at once instead of at its next poll.
    index_work: Arc<tokio::sync::Notify>,
}

impl Engine {
    /// Open the catalog, then the data path (loading sealed segments and replaying the WAL
    /// in `wal_dir`).
    pub async fn open(
        store: Arc<dyn MetaStore>,
        objects: Arc<dyn ObjectStore>,
        wal_dir: &Path,
        clock: Arc<dyn Clock>,
        config: DataConfig,
    ) -> Result<Engine> {
        let tso = Arc::new(TimestampOracle::open(clock, Arc::clone(&store)).await?);
        let ids = Arc::new(IdAllocator::open(Arc::clone(&store)).await?);
        let catalog = Catalog::open(Arc::clone(&store), Arc::clone(&tso), Arc::clone(&ids)).await?;
        let collections = catalog.all_collections();
        let data =
            DataPath::open(Arc::clone(&store), Arc::clone(&objects), wal_dir, Arc::clone(&tso), Arc::clone(&ids), config, &collections)
                .await?;
        // Snapshot records carry their references, so GC protection is complete before any
        // background loop starts.
        let book = snapshot::load_book(&*store).await?;
        Ok(Engine {
            catalog,
            data,
            tso,
            ids,
            meta: store,
            objects,
            snapshots: Mutex::new(book),
            snapshot_ddl: tokio::sync::Mutex::new(()),
            started_ms: snapshot::now_ms(),
            compactions: Mutex::new(HashMap::new()),
            index_work: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Notified when index builds may be due; the background builder waits on it.
    pub fn index_work(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.index_work)
    }

    async fn allocate_id(&self) -> Result<i64> {
        self.ids.next().await
    }

    /// A fresh timestamp from the oracle.
    pub async fn allocate_timestamp(&self) -> Result<Timestamp> {
        self.tso.next().await
    }
}
