//! The index builder: one build per (sealed segment, vector index definition). A build
//! reads the segment's vectors, builds the index off the async runtime, writes it to
//! `index_files/<build>/1/<partition>/<segment>/index` under a staging intent, and
//! records an [`IndexBuild`] (with the file's size and CRC-32C) in the same commit that
//! releases the intent. After a restart, builds are loaded from their files, never
//! rebuilt; a build whose file cannot be read is built again.
//!
//! Owns the build records and index files; the segments they index are the data
//! component's, changed only through its entry points. Builds take no lock: a sealed
//! segment is immutable. If compaction replaces the segment meanwhile, the finished
//! build is simply not attached, and GC removes its file and record.
//!
//! A build that fails is reported and retried after [`RETRY_AFTER_MS`]; the other
//! segments and collections go on.

mod records;

pub use records::{IndexBuild, keys};

use crate::catalog::model::{Collection, IndexDefinition};
use crate::context::Context;
use crate::data::{Data, SegmentMeta};
use crate::error::{EngineError, Result, decode, encode, internal};
use crate::gc::Staging;
use crate::read::{QueryVectors, segment_vectors};
use quiver_base::{BuildId, IndexId, SegmentId};
use quiver_format::keys as object_keys;
use quiver_format::schema::{DataType, FieldSchema};
use quiver_index::{IndexKind, Metric, SparseAlgo};
use quiver_storage::Txn;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// How long a failed build waits before it is tried again.
pub const RETRY_AFTER_MS: u64 = 60_000;

/// Version segment of index file keys (bumped if the file layout ever changes).
const INDEX_VERSION: i64 = 1;
/// HNSW parameters when the definition leaves them out (and for AUTOINDEX).
const DEFAULT_M: usize = 16;
const DEFAULT_EF_CONSTRUCTION: usize = 200;
const DEFAULT_NLIST: usize = 128;
/// DISKANN's graph degree and build list when the definition leaves them out (Milvus's
/// defaults), given to the HNSW graph that serves it.
const DEFAULT_DISKANN_DEGREE: usize = 56;
const DEFAULT_DISKANN_BUILD_LIST: usize = 100;
const DEFAULT_PQ_NBITS: usize = 8;

fn param(definition: &IndexDefinition, key: &str, default: usize) -> usize {
    definition.params.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn flag(definition: &IndexDefinition, key: &str, default: bool) -> bool {
    definition.params.get(key).map_or(default, |v| v.trim().eq_ignore_ascii_case("true"))
}

/// IVF_PQ's sub-quantizer count when the definition leaves it out: sub-vectors of four
/// floats, or two, or one, whichever divides the dimension first.
pub fn default_pq_m(dim: usize) -> usize {
    [4, 2].into_iter().find(|w| dim.is_multiple_of(*w) && dim >= *w).map_or(dim.max(1), |w| dim / w)
}

/// The index kind a definition over `dim`-wide (or `sparse`) vectors asks for. Types
/// Quiver serves with another algorithm (`served_by` says which) map onto it here.
pub fn kind_of(definition: &IndexDefinition, dim: usize, sparse: bool) -> IndexKind {
    let nlist = || param(definition, "nlist", DEFAULT_NLIST);
    let drop_ratio_build = || definition.params.get("drop_ratio_build").and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
    match definition.index_type.as_str() {
        "FLAT" | "BIN_FLAT" => IndexKind::Flat,
        "SPARSE_WAND" => IndexKind::SparseWand { drop_ratio_build: drop_ratio_build() },
        "SPARSE_INVERTED_INDEX" => IndexKind::SparseInverted {
            algo: definition.params.get("inverted_index_algo").and_then(|a| SparseAlgo::parse(a)).unwrap_or(SparseAlgo::DaatMaxscore),
            drop_ratio_build: drop_ratio_build(),
        },
        crate::catalog::index_spec::AUTOINDEX if sparse => {
            IndexKind::SparseInverted { algo: SparseAlgo::DaatMaxscore, drop_ratio_build: drop_ratio_build() }
        }
        "IVF_FLAT" | "BIN_IVF_FLAT" => IndexKind::IvfFlat { nlist: nlist() },
        "IVF_SQ8" => IndexKind::IvfSq8 { nlist: nlist(), refine: false },
        "IVF_PQ" => IndexKind::IvfPq {
            nlist: nlist(),
            m: param(definition, "m", default_pq_m(dim)),
            nbits: param(definition, "nbits", DEFAULT_PQ_NBITS),
            refine: false,
        },
        // ScaNN's shape: 4-bit codes of two floats each, re-ranked on the raw rows.
        "SCANN" => IndexKind::IvfPq {
            nlist: nlist(),
            m: if dim.is_multiple_of(2) { dim / 2 } else { dim },
            nbits: 4,
            refine: flag(definition, "with_raw_data", true),
        },
        "IVF_RABITQ" => IndexKind::IvfSq8 { nlist: nlist(), refine: true },
        "DISKANN" => IndexKind::Hnsw {
            m: param(definition, "max_degree", DEFAULT_DISKANN_DEGREE).div_ceil(2),
            ef_construction: param(definition, "search_list_size", DEFAULT_DISKANN_BUILD_LIST),
        },
        _ => IndexKind::Hnsw {
            m: param(definition, "M", DEFAULT_M),
            ef_construction: param(definition, "efConstruction", DEFAULT_EF_CONSTRUCTION),
        },
    }
}

/// For index types Quiver serves with another algorithm, what serves them, as
/// DescribeIndex reports it; `None` when the type is served as named.
pub fn served_by(index_type: &str, field_type: DataType) -> Option<&'static str> {
    Some(match index_type {
        crate::catalog::index_spec::AUTOINDEX if field_type == DataType::SparseFloatVector => "SPARSE_INVERTED_INDEX",
        crate::catalog::index_spec::AUTOINDEX => "HNSW",
        "SCANN" => "IVF_PQ with 4-bit codes and exact reorder (not Google ScaNN's anisotropic quantization)",
        "IVF_RABITQ" => "IVF_SQ8 with exact refine (not RaBitQ 1-bit codes)",
        "DISKANN" => "HNSW in memory (not the Vamana on-disk graph)",
        "BITMAP" => "INVERTED",
        // Spatial filters read every row's WKT and skip the costly relate wherever the
        // row's bounding box misses the literal's (see quiver_expr's spatial evaluation).
        crate::catalog::index_spec::RTREE => "filter evaluation with a per-row bounding-box check (no R-tree is built)",
        _ => return None,
    })
}

/// The vector index definitions of a collection, with their fields.
fn vector_indexes(collection: &Collection) -> Vec<(&IndexDefinition, &FieldSchema)> {
    collection
        .indexes
        .iter()
        .filter_map(|d| {
            let field = collection.schema.fields.iter().find(|f| f.id == d.field_id)?;
            field.data_type.is_vector().then_some((d, field))
        })
        .collect()
}

/// Index progress as DescribeIndex reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexProgress {
    pub total_rows: u64,
    pub indexed_rows: u64,
    pub pending_rows: u64,
}

impl IndexProgress {
    /// Every sealed row is indexed (growing rows never are, as in Milvus).
    pub fn is_finished(&self) -> bool {
        self.pending_rows == 0
    }
}

pub struct Indexing {
    ctx: Arc<Context>,
    data: Arc<Data>,
    staging: Staging,
    /// Woken when there may be builds to run (new sealed segments, a new index), so the
    /// builder starts at once instead of at its next poll.
    work: Arc<Notify>,
    /// Builds that failed, with when they may be tried again.
    failed: Mutex<HashMap<(SegmentId, IndexId), u64>>,
}

impl Indexing {
    pub fn new(ctx: Arc<Context>, data: Arc<Data>) -> Indexing {
        let staging = Staging::new(Arc::clone(&ctx));
        Indexing { ctx, data, staging, work: Arc::new(Notify::new()), failed: Mutex::new(HashMap::new()) }
    }

    /// Notified when builds may be due; the background builder waits on it.
    pub fn work(&self) -> Arc<Notify> {
        Arc::clone(&self.work)
    }

    /// Build every missing index of a collection's sealed segments; returns the number of
    /// builds made. A failing build is logged and skipped, never stops the others.
    ///
    /// # Cancel safety
    /// Cancelling leaves at most a staged file or an unattached record, which GC removes.
    pub async fn build(&self, collection: &Collection, threads: usize) -> Result<usize> {
        let mut built = self.data.build_scalar_indexes(collection).await?;
        let view = self.data.view(collection)?;
        let now = self.ctx.now_ms();
        for (definition, field) in vector_indexes(collection) {
            let todo: Vec<_> = view
                .segments
                .iter()
                .filter(|s| s.meta.is_some() && s.rows > 0 && !s.built.contains(&definition.id))
                .filter(|s| self.failed.lock().expect("failed builds poisoned").get(&(s.id, definition.id)).is_none_or(|&at| at <= now))
                .cloned()
                .collect();
            for segment in todo {
                match self.build_one(collection, definition, field, &segment, threads).await {
                    Ok(()) => {
                        self.failed.lock().expect("failed builds poisoned").remove(&(segment.id, definition.id));
                        built += 1;
                    }
                    Err(error @ EngineError::Crashed { .. }) => return Err(error),
                    Err(error) => {
                        tracing::error!(collection = %collection.name, segment = %segment.id, index = %definition.name, %error, "index build failed; retrying later");
                        self.failed.lock().expect("failed builds poisoned").insert((segment.id, definition.id), now + RETRY_AFTER_MS);
                    }
                }
            }
        }
        Ok(built)
    }

    async fn build_one(
        &self,
        collection: &Collection,
        definition: &IndexDefinition,
        field: &FieldSchema,
        segment: &crate::data::Segment,
        threads: usize,
    ) -> Result<()> {
        let meta = segment.meta.clone().ok_or_else(|| internal("index build of a growing segment"))?;
        // A released segment's vectors are read back from its insert log.
        let vectors = if segment.loaded { segment_vectors(segment, field)? } else { self.stored_vectors(&meta, field).await? };
        let metric = Metric::parse(&definition.metric_type).map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let dim = field.dim().unwrap_or(0) as usize;
        let kind = kind_of(definition, dim, field.data_type == DataType::SparseFloatVector);
        let started = std::time::Instant::now();
        let index = tokio::task::spawn_blocking(move || {
            let index = quiver_index::build(&kind, metric, &vectors.as_vectors(), threads)?;
            let bytes = index.to_bytes()?;
            Ok::<_, quiver_index::IndexError>((index, bytes))
        })
        .await
        .map_err(|e| internal(format!("index build task failed: {e}")))?;
        let (index, bytes) = index.map_err(|e| EngineError::IndexBuild(e.to_string()))?;
        let rows = index.len() as u64;
        let build_id = BuildId(self.ctx.next_id().await?);
        let key = object_keys::index_file(build_id, INDEX_VERSION, meta.partition, meta.id, "index");
        let intent = self.staging.stage(vec![key.clone()]).await?;
        let recorded = async {
            let file = self.ctx.put_file(&key, bytes, rows).await?;
            self.ctx.failpoint("index.after_file")?;
            let build = IndexBuild { build_id, index_id: definition.id, segment: meta.id, field_id: field.id, file, rows };
            // A record left by a build whose file is gone is replaced (see `attach`).
            let txn = intent.release(Txn::new().put(keys::build(collection.id, meta.id, definition.id), encode(&build)));
            self.ctx.meta.commit(txn).await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(error) = recorded {
            self.staging.abandon(intent).await;
            return Err(error);
        }
        self.data.attach_index(collection, meta.id, field.id, definition.id, Some(Arc::from(index)));
        quiver_base::metrics::index_built(started.elapsed());
        tracing::info!(
            collection = %collection.name, segment = %meta.id, index = %definition.name,
            rows, elapsed_ms = started.elapsed().as_millis() as u64, "index built"
        );
        Ok(())
    }

    /// The vectors of `field` from a sealed segment's insert logs.
    async fn stored_vectors(&self, meta: &SegmentMeta, field: &FieldSchema) -> Result<QueryVectors> {
        let batches = self.data.read_segment_columns(meta, &[field.name.as_str()]).await?;
        let mut segment = crate::data::Segment::growing(meta.id, meta.partition, meta.shard);
        batches.into_iter().for_each(|b| segment.append(b, 0));
        segment_vectors(&segment, field)
    }

    /// Note the recorded builds of a collection's segments, and attach their indexes
    /// (read from their files) to the loaded ones. A build whose file cannot be read is
    /// reported and left unattached, so the builder makes it again.
    pub async fn attach(&self, collection: &Collection) -> Result<()> {
        let view = self.data.view(collection)?;
        for (key, value) in self.ctx.meta.scan_prefix(&keys::builds_of(collection.id)).await? {
            let build: IndexBuild = decode(&key, &value)?;
            let current = collection.indexes.iter().any(|d| d.id == build.index_id && d.field_id == build.field_id);
            let Some(segment) = view.segments.iter().find(|s| s.id == build.segment) else { continue };
            if !current || segment.indexes.get(&build.field_id).is_some_and(|i| i.index_id == build.index_id) {
                continue;
            }
            if !segment.loaded {
                self.data.attach_index(collection, build.segment, build.field_id, build.index_id, None);
                continue;
            }
            match self.read_index(&build).await {
                Ok(index) => self.data.attach_index(collection, build.segment, build.field_id, build.index_id, Some(index)),
                Err(error) => {
                    tracing::error!(collection = %collection.name, file = %build.file.key, %error, "index file unreadable; building it again");
                }
            }
        }
        Ok(())
    }

    async fn read_index(&self, build: &IndexBuild) -> Result<Arc<dyn quiver_index::VectorIndex>> {
        let bytes = self.ctx.read_verified(&build.file).await?;
        let key = build.file.key.clone();
        tokio::task::spawn_blocking(move || {
            quiver_index::load(&bytes).map(Arc::from).map_err(|e| EngineError::IndexBuild(format!("{key}: {e}")))
        })
        .await
        .map_err(|e| internal(format!("index load task failed: {e}")))?
    }

    pub fn progress(&self, collection: &Collection, definition: &IndexDefinition) -> IndexProgress {
        let view = self.data.view(collection).unwrap_or_default();
        let mut progress = IndexProgress::default();
        for segment in view.segments.iter().filter(|s| s.rows > 0) {
            let rows = segment.rows as u64;
            progress.total_rows += rows;
            if segment.indexed_by(collection, definition) {
                progress.indexed_rows += rows;
            } else if segment.meta.is_some() {
                progress.pending_rows += rows;
            }
        }
        progress
    }
}
