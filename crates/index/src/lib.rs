//! Vector indexes for Quiver: FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ and HNSW over float vectors
//! (L2, IP, COSINE), FLAT/IVF_FLAT (Milvus's BIN_FLAT/BIN_IVF_FLAT) and HNSW over bit-packed
//! binary vectors (HAMMING, JACCARD) and an inverted index over sparse vectors (IP), plus
//! exact [`brute_force`] search for segments without an index.
//!
//! Terms:
//! - *row*: a vector's position in the batch the index was built from (the segment
//!   offset). Hits name rows; the caller maps them to primary keys.
//! - *allow*: an optional bitmap, one entry per row; only rows whose entry is `true` may
//!   be returned. The caller folds filters, deletes and visibility into it.
//! - *score*: Milvus's convention. L2 is the squared distance, HAMMING and JACCARD are
//!   distances (ascending); IP and COSINE are similarities (descending). COSINE vectors are
//!   normalised at build and queries at search, and the score is the cosine itself.
//!
//! Invariants:
//! - No I/O: an index serializes to bytes ([`VectorIndex::to_bytes`]) and loads from bytes
//!   ([`load`]). The format is described in the `codec` module; readers refuse newer
//!   format versions and bytes whose checksum does not match.
//! - Every search returns at most `k` hits per query, best first, ties broken by lower row.
//! - Range search (`radius`, `range_filter`) follows Milvus: for L2/HAMMING/JACCARD
//!   `range_filter <= score < radius`, for IP/COSINE `radius < score <= range_filter`.

mod codec;
mod error;
mod flat;
mod hnsw;
mod ivf;
mod kmeans;
pub mod metric;
mod quant;
mod search;
mod sparse;
mod vectors;

pub use codec::FORMAT_VERSION;
pub use error::IndexError;
pub use flat::brute_force;
pub use hnsw::{MIN_DEFAULT_EF, brute_force_limit};
pub use ivf::DEFAULT_NPROBE;
pub use metric::Metric;
pub use search::{Hit, SearchParams, parallel_map};
pub use sparse::{SparseAlgo, SparseRows};
pub use vectors::Vectors;

/// Which index to build. Over binary vectors `Flat` and `IvfFlat` are Milvus's BIN_FLAT
/// and BIN_IVF_FLAT.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexKind {
    /// Exact search over the stored rows.
    Flat,
    /// `nlist` k-means lists (fewer if there are fewer rows).
    IvfFlat { nlist: usize },
    /// HNSW graph: `m` links per node (usearch connectivity), `ef_construction` candidates
    /// while inserting (usearch expansion_add).
    Hnsw { m: usize, ef_construction: usize },
    /// IVF lists of 8-bit scalar-quantized rows (float vectors only). With `refine` the
    /// exact rows are kept too and the best candidates are re-scored exactly.
    IvfSq8 { nlist: usize, refine: bool },
    /// IVF lists of product-quantized residuals: `m` sub-vectors (must divide the
    /// dimension) of `nbits` (1..=8) each (float vectors only). `refine` as for `IvfSq8`.
    IvfPq { nlist: usize, m: usize, nbits: usize, refine: bool },
    /// Inverted index over sparse vectors (Milvus's SPARSE_INVERTED_INDEX): the smallest
    /// `drop_ratio_build` of all values are left out.
    SparseInverted { algo: SparseAlgo, drop_ratio_build: f32 },
    /// Milvus's SPARSE_WAND: the inverted index searched with `DAAT_WAND`.
    SparseWand { drop_ratio_build: f32 },
}

impl IndexKind {
    /// Milvus's index type name for this kind over float or binary vectors.
    pub fn milvus_name(&self, binary: bool) -> &'static str {
        match (self, binary) {
            (IndexKind::Flat, false) => "FLAT",
            (IndexKind::Flat, true) => "BIN_FLAT",
            (IndexKind::IvfFlat { .. }, false) => "IVF_FLAT",
            (IndexKind::IvfFlat { .. }, true) => "BIN_IVF_FLAT",
            (IndexKind::Hnsw { .. }, _) => "HNSW",
            (IndexKind::IvfSq8 { .. }, _) => "IVF_SQ8",
            (IndexKind::IvfPq { .. }, _) => "IVF_PQ",
            (IndexKind::SparseInverted { .. }, _) => "SPARSE_INVERTED_INDEX",
            (IndexKind::SparseWand { .. }, _) => "SPARSE_WAND",
        }
    }

    /// Whether the kind indexes sparse vectors.
    pub fn is_sparse(&self) -> bool {
        matches!(self, IndexKind::SparseInverted { .. } | IndexKind::SparseWand { .. })
    }
}

/// A built (or loaded) index over one segment's vectors. Immutable; safe to search from
/// many threads at once.
pub trait VectorIndex: Send + Sync {
    fn kind(&self) -> &IndexKind;

    fn metric(&self) -> Metric;

    /// Floats per vector, or bits per vector for binary indexes.
    fn dim(&self) -> usize;

    fn is_binary(&self) -> bool;

    /// Number of indexed rows.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Top-`k` hits for each query (row-major, the index's type and dimension), best
    /// first. `allow`, when given, has one entry per row and only rows marked `true` are
    /// returned. With `params.radius` this is a range search: the hits within range, best
    /// first, at most `k`.
    fn search(&self, queries: &Vectors, params: &SearchParams, allow: Option<&[bool]>) -> Result<Vec<Vec<Hit>>, IndexError>;

    /// The self-describing serialized index; [`load`] reads it back.
    fn to_bytes(&self) -> Result<Vec<u8>, IndexError>;
}

/// Builds an index over `vectors` (rows numbered from 0), using up to `threads` threads.
pub fn build(kind: &IndexKind, metric: Metric, vectors: &Vectors, threads: usize) -> Result<Box<dyn VectorIndex>, IndexError> {
    if kind.is_sparse() {
        return Ok(Box::new(sparse::SparseIndex::build(kind, metric, vectors)?));
    }
    if let Vectors::Sparse(_) = vectors {
        return Err(IndexError::VectorTypeMismatch { expected: "dense", got: "sparse" });
    }
    let n = vectors.rows()?;
    vectors::check_metric(metric, vectors.is_binary())?;
    if n > u32::MAX as usize {
        return Err(IndexError::param("rows", format!("{n} rows exceed the {} an index holds", u32::MAX)));
    }
    if vectors.dim() > u32::MAX as usize {
        return Err(IndexError::param("dim", "dimension too large"));
    }
    Ok(match *kind {
        IndexKind::Flat => Box::new(flat::FlatIndex::build(metric, vectors)),
        IndexKind::IvfFlat { .. } | IndexKind::IvfSq8 { .. } | IndexKind::IvfPq { .. } => {
            Box::new(ivf::IvfIndex::build(kind, metric, vectors, threads)?)
        }
        IndexKind::Hnsw { m, ef_construction } => Box::new(hnsw::HnswIndex::build(m, ef_construction, metric, vectors, threads)?),
        IndexKind::SparseInverted { .. } | IndexKind::SparseWand { .. } => unreachable!("sparse kinds are built above"),
    })
}

/// Loads an index from [`VectorIndex::to_bytes`] output. Refuses bytes that are not an
/// index, are truncated or damaged ([`IndexError::Corrupt`]), or come from a newer format
/// ([`IndexError::NewerVersion`]).
pub fn load(bytes: &[u8]) -> Result<Box<dyn VectorIndex>, IndexError> {
    let (header, version, body) = codec::decode(bytes)?;
    Ok(match header.kind {
        IndexKind::Flat => Box::new(flat::FlatIndex::load(header, body)?),
        IndexKind::IvfFlat { .. } | IndexKind::IvfSq8 { .. } | IndexKind::IvfPq { .. } => Box::new(ivf::IvfIndex::load(header, body)?),
        IndexKind::Hnsw { .. } => Box::new(hnsw::HnswIndex::load(header, version, body)?),
        IndexKind::SparseInverted { .. } | IndexKind::SparseWand { .. } => Box::new(sparse::SparseIndex::load(header, body)?),
    })
}
