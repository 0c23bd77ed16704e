//! Index builds: one per (sealed segment, vector index definition). A build reads the
//! segment's vectors, builds the index off the async runtime, writes it to
//! `index_files/<build>/1/<partition>/<segment>/index` and records an [`IndexBuild`]
//! (with the file's size and CRC-32C) in the metadata store. After a restart, builds are
//! loaded from their files, never rebuilt.
//!
//! Builds do not take the collection's writer lock: the segment is sealed and immutable.
//! If compaction replaces the segment meanwhile, the finished build is simply not
//! attached; GC removes its file and record.

use super::search::segment_vectors;
use super::segment::{IndexBuild, SegmentIndex};
use super::{DataPath, keys};
use crate::catalog::encode;
use crate::catalog::model::{Collection, IndexDefinition};
use crate::error::{EngineError, Result};
use quiver_base::{BuildId, IndexId, SegmentId};
use quiver_format::keys as object_keys;
use quiver_format::schema::{DataType, FieldSchema};
use quiver_index::{IndexKind, Metric, Vectors};
use std::sync::Arc;

/// Version segment of index file keys (bumped if the file layout ever changes).
const INDEX_VERSION: i64 = 1;
/// HNSW parameters when the definition leaves them out (and for AUTOINDEX).
const DEFAULT_M: usize = 16;
const DEFAULT_EF_CONSTRUCTION: usize = 200;
const DEFAULT_NLIST: usize = 128;

fn param(definition: &IndexDefinition, key: &str, default: usize) -> usize {
    definition.params.get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// The index kind a definition asks for. AUTOINDEX is served by HNSW.
pub fn kind_of(definition: &IndexDefinition) -> IndexKind {
    match definition.index_type.as_str() {
        "FLAT" | "BIN_FLAT" => IndexKind::Flat,
        "IVF_FLAT" | "BIN_IVF_FLAT" => IndexKind::IvfFlat { nlist: param(definition, "nlist", DEFAULT_NLIST) },
        _ => IndexKind::Hnsw {
            m: param(definition, "M", DEFAULT_M),
            ef_construction: param(definition, "efConstruction", DEFAULT_EF_CONSTRUCTION),
        },
    }
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

impl DataPath {
    /// Build every missing vector index of a collection's sealed segments; returns the
    /// number of builds made.
    ///
    /// # Cancel safety
    /// Cancelling leaves at most an unreferenced file or an unattached record, which GC
    /// removes.
    pub async fn build_indexes(&self, collection: &Collection, threads: usize) -> Result<usize> {
        let data = self.collection_data(collection.id);
        let mut built = self.build_scalar_indexes(collection);
        for (definition, field) in vector_indexes(collection) {
            let todo: Vec<(SegmentId, quiver_base::PartitionId)> = {
                let state = data.state.read().expect("data state poisoned");
                state
                    .segments
                    .values()
                    .filter(|s| s.is_sealed() && s.rows > 0 && !s.built.contains(&definition.id))
                    .map(|s| (s.id, s.partition))
                    .collect()
            };
            for (segment_id, partition) in todo {
                let (loaded, meta) = {
                    let state = data.state.read().expect("data state poisoned");
                    match state.segments.get(&segment_id) {
                        Some(segment) => (segment.loaded.then(|| segment_vectors(segment, field)).transpose()?, segment.meta.clone()),
                        None => continue,
                    }
                };
                // A released segment's vectors are read back from its insert log.
                let vectors = match (loaded, meta) {
                    (Some(vectors), _) => vectors,
                    (None, Some(meta)) => self.stored_vectors(&meta, field).await?,
                    (None, None) => continue,
                };
                let metric = Metric::parse(&definition.metric_type).map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
                let kind = kind_of(definition);
                let dim = field.dim().unwrap_or(0) as usize;
                let binary = field.data_type == DataType::BinaryVector;
                let started = std::time::Instant::now();
                let index = tokio::task::spawn_blocking(move || {
                    let (bits, floats) = vectors;
                    let input = if binary { Vectors::Binary { dim_bits: dim, data: &bits } } else { Vectors::Float { dim, data: &floats } };
                    let index = quiver_index::build(&kind, metric, &input, threads)?;
                    let bytes = index.to_bytes()?;
                    Ok::<_, quiver_index::IndexError>((index, bytes))
                })
                .await
                .map_err(|e| EngineError::InvalidParameter(format!("index build task failed: {e}")))?;
                let (index, bytes) = index.map_err(|e| EngineError::IndexBuild(e.to_string()))?;
                let rows = index.len() as u64;
                let build_id = BuildId(self.ids.next().await?);
                let key = object_keys::index_file(build_id, INDEX_VERSION, partition, segment_id, "index");
                let file = self.put(&key, bytes, rows).await?;
                let build = IndexBuild { build_id, index_id: definition.id, segment: segment_id, field_id: field.id, file, rows };
                self.meta.put(&keys::index_build(collection.id, segment_id, definition.id), encode(&build)).await?;
                let mut state = data.state.write().expect("data state poisoned");
                if let Some(segment) = state.segments.get_mut(&segment_id) {
                    segment.built.insert(definition.id);
                    if segment.loaded {
                        segment.indexes.insert(field.id, SegmentIndex { build, index: Arc::from(index) });
                    }
                    built += 1;
                }
                tracing::info!(
                    collection = %collection.name, segment = %segment_id, index = %definition.name,
                    rows, elapsed_ms = started.elapsed().as_millis() as u64, "index built"
                );
            }
        }
        Ok(built)
    }

    /// Scalar indexes of loaded sealed segments (in memory; cheap next to loading).
    fn build_scalar_indexes(&self, collection: &Collection) -> usize {
        let scalar: Vec<&str> = collection
            .indexes
            .iter()
            .filter_map(|d| collection.schema.fields.iter().find(|f| f.id == d.field_id))
            .filter(|f| !f.data_type.is_vector())
            .map(|f| f.name.as_str())
            .collect();
        let data = self.collection_data(collection.id);
        let mut state = data.state.write().expect("data state poisoned");
        let mut built = 0;
        for segment in state.segments.values_mut().filter(|s| s.is_sealed() && s.loaded) {
            segment.scalar.retain(|field, _| scalar.contains(&field.as_str()));
            for field in &scalar {
                if !segment.scalar.contains_key(*field)
                    && let Some(index) = super::scalar_index::ScalarIndex::build(segment, field)
                {
                    segment.scalar.insert(field.to_string(), Arc::new(index));
                    built += 1;
                }
            }
        }
        built
    }

    /// The vectors of `field` from a sealed segment's insert logs.
    async fn stored_vectors(&self, meta: &super::SegmentMeta, field: &FieldSchema) -> Result<(Vec<u8>, Vec<f32>)> {
        let mut segment = super::segment::Segment::growing(meta.id, meta.partition, meta.shard);
        for file in &meta.insert_logs {
            let bytes = self.read_verified(file).await?;
            segment.batches.extend(quiver_format::logs::read_parquet(bytes, Some(&[field.name.as_str()]))?);
        }
        segment_vectors(&segment, field)
    }

    /// Note the recorded builds of a collection's segments, and attach their indexes
    /// (read from their files) when `attach` (the collection is loaded).
    pub(crate) async fn load_index_builds(&self, collection: &Collection, state: &mut super::DataState, attach: bool) -> Result<()> {
        let prefix = format!("{}{:020}/", keys::INDEX_BUILD_PREFIX, collection.id.0);
        for (key, value) in self.meta.scan_prefix(&prefix).await? {
            let build: IndexBuild =
                serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key: key.clone(), reason: e.to_string() })?;
            let current = collection.indexes.iter().any(|d| d.id == build.index_id && d.field_id == build.field_id);
            let Some(segment) = state.segments.get_mut(&build.segment) else { continue };
            if !current {
                continue;
            }
            segment.built.insert(build.index_id);
            if !attach {
                continue;
            }
            let bytes = self.read_verified(&build.file).await?;
            let index = quiver_index::load(&bytes).map_err(|e| EngineError::IndexBuild(format!("{}: {e}", build.file.key)))?;
            segment.indexes.insert(build.field_id, SegmentIndex { build, index: Arc::from(index) });
        }
        Ok(())
    }

    /// Forget the in-memory builds of a dropped index definition (their records and
    /// files are left to GC, which no longer counts them as referenced).
    pub fn drop_index_builds(&self, collection: &Collection, index: IndexId) {
        let data = self.collection_data(collection.id);
        let mut state = data.state.write().expect("data state poisoned");
        for segment in state.segments.values_mut() {
            segment.indexes.retain(|_, built| built.build.index_id != index);
            segment.built.remove(&index);
        }
    }

    pub fn index_progress(&self, collection: &Collection, definition: &IndexDefinition) -> IndexProgress {
        let data = self.collection_data(collection.id);
        let state = data.state.read().expect("data state poisoned");
        let mut progress = IndexProgress::default();
        for segment in state.segments.values().filter(|s| s.rows > 0) {
            let rows = segment.rows as u64;
            progress.total_rows += rows;
            let indexed = segment.built.contains(&definition.id);
            let scalar = collection.schema.fields.iter().any(|f| f.id == definition.field_id && !f.data_type.is_vector());
            if indexed || scalar {
                progress.indexed_rows += rows;
            } else if segment.is_sealed() {
                progress.pending_rows += rows;
            }
        }
        progress
    }
}
