//! Quiver's engine: everything stateful, behind plain Rust types (no protobuf).
//!
//! Today it holds the catalog (databases, collections, partitions, aliases, index
//! definitions, load state), the timestamp oracle and the id allocator, all persisted in
//! the metadata store.

pub mod catalog;
pub mod error;
pub mod ids;
pub mod index_spec;
pub mod tso;

pub use quiver_format::{names, schema};

pub use catalog::{Catalog, CollectionInfo, IndexInfo, NewCollection};
pub use error::{EngineError, NameKind, Result};

use ids::IdAllocator;
use quiver_base::{Clock, Timestamp};
use quiver_storage::MetaStore;
use std::sync::Arc;
use tso::TimestampOracle;

/// The engine as the server uses it.
pub struct Engine {
    pub catalog: Catalog,
    tso: Arc<TimestampOracle>,
}

impl Engine {
    pub async fn open(store: Arc<dyn MetaStore>, clock: Arc<dyn Clock>) -> Result<Engine> {
        let tso = Arc::new(TimestampOracle::open(clock, Arc::clone(&store)).await?);
        let ids = Arc::new(IdAllocator::open(Arc::clone(&store)).await?);
        let catalog = Catalog::open(store, Arc::clone(&tso), ids).await?;
        Ok(Engine { catalog, tso })
    }

    /// A fresh timestamp from the oracle.
    pub async fn allocate_timestamp(&self) -> Result<Timestamp> {
        self.tso.next().await
    }
}
