//! Garbage collection of object files.
//!
//! The rule (ARCHITECTURE.md §5): a file is deleted only if nothing references it and it
//! is older than the grace period. [`ReferenceSet`] is the one place that answers "is this
//! file referenced?": today live segments of existing collections and their index builds
//! for indexes that still exist, and everything a snapshot (pending, committed or being
//! deleted, pinned or not) or a running restore references. The sweeper only lists, decides, deletes and logs.
//!
//! Fail-closed: if the reference set cannot be built completely, nothing is deleted.
//! The grace period also covers files written by a flush or compaction that has not yet
//! committed its metadata.

use super::segment::{IndexBuild, SegmentMeta, SegmentState};
use super::{DataPath, keys};
use crate::error::{EngineError, Result};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use quiver_base::{CollectionId, IndexId, SegmentId};
use std::collections::{HashMap, HashSet};

/// Object prefixes the collector sweeps.
const SWEPT_PREFIXES: &[&str] = &["insert_log", "delta_log", "index_files"];

/// Every object key something still needs.
#[derive(Debug, Default)]
pub struct ReferenceSet {
    keys: HashSet<String>,
}

impl ReferenceSet {
    pub fn insert(&mut self, key: &str) {
        self.keys.insert(key.to_string());
    }

    pub fn is_referenced(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

/// What the collector does with one file, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Keep(&'static str),
    Delete(&'static str),
}

/// The whole GC rule for one file.
pub fn decide(key: &str, age_ms: u64, refs: &ReferenceSet, grace_ms: u64) -> Decision {
    if refs.is_referenced(key) {
        Decision::Keep("referenced")
    } else if age_ms < grace_ms {
        Decision::Keep("younger than the grace period")
    } else {
        Decision::Delete("unreferenced and older than the grace period")
    }
}

/// What one collection pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub deleted_files: usize,
    pub kept_files: usize,
    pub forgotten_segments: usize,
}

impl DataPath {
    /// One collection pass. `live_collections` are the collections the catalog holds.
    pub async fn collect_garbage(
        &self,
        live_collections: &HashSet<CollectionId>,
        live_indexes: &HashSet<IndexId>,
        snapshot_refs: &HashSet<String>,
        grace_ms: u64,
        now_ms: u64,
    ) -> Result<GcReport> {
        // 1. References. Any failure aborts the pass before anything is deleted.
        let mut refs = ReferenceSet::default();
        snapshot_refs.iter().for_each(|key| refs.insert(key));
        let mut dropped: Vec<(String, SegmentMeta)> = Vec::new();
        let mut live_segments: HashSet<SegmentId> = HashSet::new();
        for (key, value) in self.meta.scan_prefix(keys::SEGMENT_PREFIX).await? {
            let meta: SegmentMeta =
                serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key: key.clone(), reason: e.to_string() })?;
            if meta.is_live() && live_collections.contains(&meta.collection) {
                meta.files().for_each(|f| refs.insert(&f.key));
                live_segments.insert(meta.id);
            } else {
                dropped.push((key, meta));
            }
        }
        let mut stale_builds: Vec<String> = Vec::new();
        for (key, value) in self.meta.scan_prefix(keys::INDEX_BUILD_PREFIX).await? {
            let build: IndexBuild =
                serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key: key.clone(), reason: e.to_string() })?;
            if live_segments.contains(&build.segment) && live_indexes.contains(&build.index_id) {
                refs.insert(&build.file.key);
            } else {
                stale_builds.push(key);
            }
        }
        // 2. Sweep.
        let mut report = GcReport::default();
        let mut present: HashSet<String> = HashSet::new();
        for prefix in SWEPT_PREFIXES {
            let listing: Vec<_> = self
                .objects
                .list(Some(&ObjectPath::from(*prefix)))
                .try_collect()
                .await
                .map_err(|e| EngineError::Storage(format!("cannot list {prefix}: {e}")))?;
            for object in listing {
                let key = object.location.to_string();
                let age_ms = now_ms.saturating_sub(object.last_modified.timestamp_millis().max(0) as u64);
                match decide(&key, age_ms, &refs, grace_ms) {
                    Decision::Keep(_) => {
                        report.kept_files += 1;
                        present.insert(key);
                    }
                    Decision::Delete(reason) => match self.objects.delete(&object.location).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                            tracing::info!(file = %key, reason, "gc deleted file");
                            report.deleted_files += 1;
                        }
                        Err(e) => {
                            tracing::warn!(file = %key, error = %e, "gc could not delete file");
                            present.insert(key);
                        }
                    },
                }
            }
        }
        // 3. Forget dropped segments once none of their files is left.
        let mut by_key: HashMap<String, SegmentMeta> = HashMap::new();
        for (key, meta) in dropped {
            let expired = match meta.state {
                SegmentState::Dropped { at_ms } => now_ms.saturating_sub(at_ms) >= grace_ms,
                SegmentState::Flushed => true, // its collection is gone
            };
            if expired && meta.files().all(|f| !present.contains(&f.key) && !refs.is_referenced(&f.key)) {
                by_key.insert(key, meta);
            }
        }
        for key in by_key.keys() {
            self.meta.delete(key).await?;
            report.forgotten_segments += 1;
        }
        for key in stale_builds {
            self.meta.delete(&key).await?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_unreferenced_files_are_deleted() {
        let mut refs = ReferenceSet::default();
        refs.insert("insert_log/1/2/3/4.parquet");
        assert_eq!(decide("insert_log/1/2/3/4.parquet", 10_000_000, &refs, 1_000), Decision::Keep("referenced"));
        assert_eq!(decide("insert_log/1/2/3/5.parquet", 10, &refs, 1_000), Decision::Keep("younger than the grace period"));
        assert!(matches!(decide("insert_log/1/2/3/5.parquet", 5_000, &refs, 1_000), Decision::Delete(_)));
    }
}
