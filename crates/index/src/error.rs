//! The crate's one error type.

use crate::Metric;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Query (or base) vectors whose dimension differs from the index's.
    #[error("vector dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch { expected: usize, got: usize },

    /// A row-major buffer whose length is not a whole number of rows.
    #[error("vector data of {len} elements is not a whole number of {dim}-element rows")]
    RaggedVectors { len: usize, dim: usize },

    /// Float queries against a binary index or the other way round.
    #[error("{got} vectors given to an index over {expected} vectors")]
    VectorTypeMismatch { expected: &'static str, got: &'static str },

    /// HAMMING/JACCARD on float vectors, or L2/IP/COSINE on binary vectors.
    #[error("metric {metric:?} is not supported for {vector_type} vectors")]
    UnsupportedMetric { metric: Metric, vector_type: &'static str },

    /// A build or search parameter outside its valid range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam { name: &'static str, reason: String },

    /// An allow bitmap that does not have one entry per indexed row.
    #[error("allow bitmap has {got} entries but the index has {expected} rows")]
    AllowLength { expected: usize, got: usize },

    /// Bytes that are not a (complete, intact) serialized index.
    #[error("corrupt index bytes: {reason}")]
    Corrupt { reason: String },

    /// Bytes written by a newer Quiver whose index format this build does not know.
    #[error("index format version {found} is newer than the newest supported ({supported})")]
    NewerVersion { found: u16, supported: u16 },

    /// An error reported by the usearch HNSW library.
    #[error("usearch: {0}")]
    Usearch(String),
}

impl IndexError {
    pub(crate) fn corrupt(reason: impl Into<String>) -> IndexError {
        IndexError::Corrupt { reason: reason.into() }
    }

    /// Wraps a usearch (`cxx::Exception`) error.
    pub(crate) fn usearch(e: impl std::fmt::Display) -> IndexError {
        IndexError::Usearch(e.to_string())
    }

    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> IndexError {
        IndexError::InvalidParam { name, reason: reason.into() }
    }
}
