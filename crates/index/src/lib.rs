//! Vector similarity: metrics now, indexes (FLAT, IVF_FLAT, HNSW) as the data path lands.
//! No I/O: indexes serialize to and load from bytes.

pub mod metric;

pub use metric::Metric;
