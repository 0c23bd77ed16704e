//! Compaction: rewrite a partition's small sealed segments, and segments with deleted
//! rows, into one new segment holding only the rows visible at the compaction
//! timestamp. The old segments are marked `Dropped` in the same metadata transaction
//! that records the new one; their files are left for GC.
//!
//! Works on loaded and released collections alike (released segments' rows are read
//! back from their insert logs). Runs under the collection's writer lock, so no write or flush interleaves: the
//! compaction timestamp is the newest, and every delete older than it is either in a
//! delete log of a source segment or pending in memory (and so applied to what is read).

use super::segment::{Segment, SegmentMeta, SegmentState};
use super::{DataPath, keys};
use crate::catalog::encode;
use crate::catalog::model::Collection;
use crate::error::Result;
use arrow_array::RecordBatch;
use arrow_select::filter::filter_record_batch;
use quiver_base::{PartitionId, SegmentId, Timestamp};
use quiver_format::columns::arrow_schema;
use quiver_storage::Txn;
use std::collections::{BTreeMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// Which segments a compaction considers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactionTrigger {
    /// Asked for by a client: merge every partition with more than one segment or with
    /// deleted rows.
    Manual,
    /// Background: merge only partitions with several small segments, or segments whose
    /// deleted fraction passed the threshold.
    Automatic,
}

/// A merge of source segments into one target (absent when every row was deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactionPlan {
    pub sources: Vec<SegmentId>,
    pub target: Option<SegmentId>,
}

/// Segments below this fraction of the seal size count as small.
const SMALL_FRACTION: usize = 4;
/// Automatic compaction merges a partition once it has this many small segments.
const AUTO_MIN_SMALL_SEGMENTS: usize = 4;
/// Automatic compaction rewrites a segment once this fraction (percent) is deleted.
const AUTO_DELETED_PERCENT: usize = 20;

impl DataPath {
    /// Compact one collection; returns the merges made.
    ///
    /// # Cancel safety
    /// Not cancel safe between the metadata commit and the in-memory update; run it in a
    /// spawned task.
    /// `protected` segments (held by a snapshot's compaction protection) are left alone.
    pub async fn compact(
        &self,
        collection: &Collection,
        trigger: CompactionTrigger,
        protected: &HashSet<SegmentId>,
    ) -> Result<Vec<CompactionPlan>> {
        let data = self.collection_data(collection.id);
        let _writer = data.writer.lock().await;
        let ts = self.tso.next().await?;
        let pk_name = collection.schema.primary_field().name.clone();
        let small = self.config.seal_bytes / SMALL_FRACTION;

        // Choose sources and decide which of their rows survive (under the read lock;
        // pk and `$ts` are enough, so released segments qualify too).
        type Source = (SegmentMeta, Vec<bool>, Option<Vec<RecordBatch>>);
        let mut work: Vec<(PartitionId, u32, Vec<Source>, usize)> = Vec::new();
        {
            let state = data.state.read().expect("data state poisoned");
            let mut groups: BTreeMap<(PartitionId, u32), Vec<&Segment>> = BTreeMap::new();
            for segment in state.segments.values().filter(|s| s.is_sealed() && !protected.contains(&s.id)) {
                groups.entry((segment.partition, segment.shard)).or_default().push(segment);
            }
            for ((partition, shard), segments) in groups {
                let keep: Vec<Vec<bool>> = segments
                    .iter()
                    .map(|s| {
                        s.visibility(&state.deletes, &pk_name, ts.0).iter().flat_map(|m| m.values().iter().collect::<Vec<_>>()).collect()
                    })
                    .collect();
                let visible = |i: usize| keep[i].iter().filter(|&&b| b).count();
                let has_deletes = |i: usize| visible(i) < segments[i].rows;
                let chosen: Vec<usize> = match trigger {
                    CompactionTrigger::Manual => {
                        if segments.len() > 1 || has_deletes(0) {
                            (0..segments.len()).collect()
                        } else {
                            Vec::new()
                        }
                    }
                    CompactionTrigger::Automatic => {
                        let size = |i: usize| segments[i].meta.as_ref().map_or(0, |m| m.insert_logs.iter().map(|f| f.size as usize).sum());
                        let smalls: Vec<usize> = (0..segments.len()).filter(|&i| size(i) < small).collect();
                        let heavy: Vec<usize> = (0..segments.len())
                            .filter(|&i| (segments[i].rows - visible(i)) * 100 >= segments[i].rows * AUTO_DELETED_PERCENT && has_deletes(i))
                            .collect();
                        let mut chosen = if smalls.len() >= AUTO_MIN_SMALL_SEGMENTS { smalls } else { Vec::new() };
                        for i in heavy {
                            if !chosen.contains(&i) {
                                chosen.push(i);
                            }
                        }
                        chosen
                    }
                };
                if chosen.is_empty() {
                    continue;
                }
                let rows = chosen.iter().map(|&i| visible(i)).sum();
                let sources = chosen
                    .iter()
                    .filter_map(|&i| {
                        let segment = segments[i];
                        let batches = segment.loaded.then(|| segment.batches.clone());
                        segment.meta.clone().map(|m| (m, keep[i].clone(), batches))
                    })
                    .collect();
                work.push((partition, shard, sources, rows));
            }
        }
        // Released segments' rows come back from their insert logs (same row order).
        let mut resolved = Vec::with_capacity(work.len());
        for (partition, shard, sources, rows) in work {
            let mut batches = Vec::new();
            let mut metas = Vec::new();
            for (meta, keep, loaded) in sources {
                let full = match loaded {
                    Some(batches) => batches,
                    None => self.read_segment(&meta, &pk_name, true).await?.batches,
                };
                let mut offset = 0;
                for batch in full {
                    let n = batch.num_rows();
                    let mask = arrow_array::BooleanArray::from(keep[offset..offset + n].to_vec());
                    offset += n;
                    let kept = filter_record_batch(&batch, &mask)?;
                    if kept.num_rows() > 0 {
                        batches.push(kept);
                    }
                }
                metas.push(meta);
            }
            resolved.push((partition, shard, metas, batches, rows));
        }
        let work = resolved;

        let schema = arrow_schema(&collection.schema);
        let at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let mut plans = Vec::new();
        let mut txn = Txn::new();
        let mut new_segments = Vec::new();
        for (partition, shard, sources, batches, rows) in work {
            let target = if rows > 0 {
                let id = SegmentId(self.ids.next().await?);
                let placement = super::flush::Placement { collection: collection.id, partition, shard, schema: &schema };
                let max_ts = Timestamp(sources.iter().map(|m| m.max_ts.0).max().unwrap_or(0));
                let compacted_from = sources.iter().map(|m| m.id).collect();
                let meta = self.write_segment(placement, id, &batches, rows, max_ts, ts, compacted_from).await?;
                txn = txn.put(keys::segment(collection.id, id), encode(&meta));
                let mut segment = Segment::growing(id, partition, shard);
                for batch in batches {
                    segment.append(batch, &pk_name, meta.max_ts.0);
                }
                segment.meta = Some(meta);
                if !collection.loaded {
                    segment.release(&pk_name);
                }
                new_segments.push(segment);
                Some(id)
            } else {
                None
            };
            for mut source in sources.iter().cloned() {
                source.state = SegmentState::Dropped { at_ms };
                txn = txn.put(keys::segment(collection.id, source.id), encode(&source));
            }
            plans.push(CompactionPlan { sources: sources.iter().map(|m| m.id).collect(), target });
        }
        if plans.is_empty() {
            return Ok(plans);
        }
        crate::failpoint::hit("compaction.after_objects");
        self.meta.commit(txn).await?;
        let mut state = data.state.write().expect("data state poisoned");
        for plan in &plans {
            for source in &plan.sources {
                state.segments.remove(source);
            }
        }
        for segment in new_segments {
            state.segments.insert(segment.id, segment);
        }
        tracing::info!(collection = %collection.name, merges = plans.len(), "compacted");
        Ok(plans)
    }
}
