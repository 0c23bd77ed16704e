//! The read path: query and search over a [`CollectionView`](crate::data::CollectionView),
//! a moment's segments and deletes of one collection. Reads hold no lock while they run
//! and run off the async runtime (they are CPU work); scalar indexes answer filters that
//! are one test on an indexed field.

mod hybrid;
mod latest;
mod query;
pub mod scalar_index;
mod search;

pub use hybrid::{GroupScorer, HybridRequest, Ranker, hybrid_search};
pub use query::{COUNT_STAR, OutputColumn, QueryOutput, QueryRequest, matching_pks, query};
pub use search::{QueryVectors, SearchOutput, SearchRequest, search, segment_vectors, vectors_of_keys};

use crate::error::{Result, internal};

/// Run a read on tokio's blocking pool.
pub async fn off_runtime<T: Send + 'static>(read: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(read).await.map_err(|e| internal(format!("read task failed: {e}")))?
}
