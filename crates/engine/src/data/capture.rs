//! What snapshots need from the data path: a consistent capture of a collection's sealed
//! segments (with their delete logs and index builds), and registration of restored
//! segments whose files were copied from a snapshot.

use super::segment::{IndexBuild, SegmentMeta};
use super::{DataPath, keys};
use crate::catalog::encode;
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result};
use quiver_base::{SegmentId, Timestamp};
use quiver_storage::Txn;
use std::collections::HashMap;

/// A sealed segment with the index builds recorded for it.
#[derive(Clone, Debug)]
pub struct SegmentCapture {
    pub meta: SegmentMeta,
    pub builds: Vec<IndexBuild>,
}

impl DataPath {
    /// The live sealed segments of a collection and their builds, as of a timestamp taken
    /// under the collection's writer lock (so no flush or compaction is half-way).
    /// Growing rows are not captured.
    pub async fn capture(&self, collection: &Collection) -> Result<(Timestamp, Vec<SegmentCapture>)> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let ts = self.tso.next().await?;
        let metas: Vec<SegmentMeta> = {
            let state = data.state.read().expect("data state poisoned");
            state.segments.values().filter_map(|s| s.meta.clone()).filter(|m| m.is_live()).collect()
        };
        let prefix = format!("{}{:020}/", keys::INDEX_BUILD_PREFIX, collection.id.0);
        let current = |b: &IndexBuild| collection.indexes.iter().any(|d| d.id == b.index_id && d.field_id == b.field_id);
        // Grouped by segment, so capturing n segments with their builds is not n × builds.
        let mut builds: HashMap<SegmentId, Vec<IndexBuild>> = HashMap::new();
        for (key, value) in self.meta.scan_prefix(&prefix).await? {
            let build: IndexBuild =
                serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key, reason: e.to_string() })?;
            if current(&build) {
                builds.entry(build.segment).or_default().push(build);
            }
        }
        let captures = metas.into_iter().map(|meta| SegmentCapture { builds: builds.remove(&meta.id).unwrap_or_default(), meta }).collect();
        Ok((ts, captures))
    }

    /// Record restored segments (files already copied and verified) and their index
    /// builds in one metadata transaction, then hold them in memory like any sealed
    /// segment of an unloaded collection.
    ///
    /// # Cancel safety
    /// Idempotent: re-running after a cancel rewrites the same records.
    pub async fn register_restored(&self, collection: &Collection, segments: Vec<SegmentCapture>) -> Result<()> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let mut txn = Txn::new();
        for capture in &segments {
            txn = txn.put(keys::segment(collection.id, capture.meta.id), encode(&capture.meta));
            for build in &capture.builds {
                txn = txn.put(keys::index_build(collection.id, capture.meta.id, build.index_id), encode(build));
            }
        }
        if !txn.is_empty() {
            self.meta.commit(txn).await?;
        }
        let mut fresh = self.load_sealed(collection).await?;
        let mut state = data.state.write().expect("data state poisoned");
        for capture in segments {
            if let Some(segment) = fresh.segments.remove(&capture.meta.id) {
                state.segments.insert(segment.id, segment);
            }
        }
        state.deletes.merge(std::mem::take(&mut fresh.deletes));
        Ok(())
    }
}
