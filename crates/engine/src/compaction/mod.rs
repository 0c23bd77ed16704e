//! Compaction: rewrite a partition's small sealed segments, and segments with deleted
//! rows, into one new segment holding only the rows visible at the compaction
//! timestamp. The old segments are marked `Dropped` in the same metadata transaction
//! that records the new one (through the data component's [`Data::replace`]); their
//! files are left for GC.
//!
//! Works on loaded and released collections alike (released segments' rows are read
//! back from their insert logs). Holds the collection's maintenance lock from choosing
//! its sources to replacing them, so no flush adds a delete log to a source meanwhile
//! (the replace commit's segment revision check would refuse it anyway), but never the
//! writer lock: writes go on.
//!
//! A rewrite applies exactly the deletes in its sources' delete logs, never deletes
//! still pending in memory: sealed data stays the collection as of its last flush, so a
//! snapshot never captures the delete half of an upsert without its insert. Pending
//! deletes hide the rewritten rows in memory as they hid the sources', and the next
//! flush routes them to the rewrite, which holds their pks.
//!
//! Segments captured by a snapshot with unexpired compaction protection are left alone.

use crate::catalog::model::Collection;
use crate::context::Context;
use crate::data::{Data, SealedSegment, Segment, SegmentMeta};
use crate::error::{Result, internal};
use crate::gc::Staging;
use crate::snapshots::Snapshots;
use arrow_array::RecordBatch;
use arrow_select::filter::filter_record_batch;
use quiver_base::{PartitionId, SegmentId, Timestamp};
use quiver_format::columns::arrow_schema;
use quiver_format::keys as object_keys;
use quiver_storage::Txn;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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

/// One merge to make.
struct Merge {
    partition: PartitionId,
    shard: u32,
    sources: Vec<Arc<Segment>>,
}

pub struct Compaction {
    ctx: Arc<Context>,
    data: Arc<Data>,
    snapshots: Arc<Snapshots>,
    staging: Staging,
    seal_bytes: usize,
    /// Finished manual compactions by id, for GetCompactionState (not persisted, as a
    /// compaction's state is only asked for right after it ran).
    finished: Mutex<HashMap<i64, Vec<CompactionPlan>>>,
}

impl Compaction {
    pub fn new(ctx: Arc<Context>, data: Arc<Data>, snapshots: Arc<Snapshots>, seal_bytes: usize) -> Compaction {
        let staging = Staging::new(Arc::clone(&ctx));
        Compaction { ctx, data, snapshots, staging, seal_bytes, finished: Mutex::new(HashMap::new()) }
    }

    /// Compact a collection now, as a client asked; the plans are kept for
    /// GetCompactionState under the returned id. Deletes still pending are flushed first,
    /// so those a client made before asking are among those purged (a rewrite applies
    /// logged deletes only, see the module doc).
    pub async fn compact_now(&self, collection: &Collection) -> Result<(i64, Vec<CompactionPlan>)> {
        if self.data.has_pending_deletes(collection) {
            self.data.flush(collection).await?;
        }
        let plans = self.compact(collection, CompactionTrigger::Manual).await?;
        let id = self.ctx.next_id().await?;
        self.finished.lock().expect("compactions poisoned").insert(id, plans.clone());
        Ok((id, plans))
    }

    /// The plans of a finished manual compaction.
    pub fn finished(&self, id: i64) -> Option<Vec<CompactionPlan>> {
        self.finished.lock().expect("compactions poisoned").get(&id).cloned()
    }

    /// Compact one collection; returns the merges made.
    ///
    /// # Cancel safety
    /// Not cancel safe between the metadata commit and the in-memory swap; run it in a
    /// spawned task.
    pub async fn compact(&self, collection: &Collection, trigger: CompactionTrigger) -> Result<Vec<CompactionPlan>> {
        let held = self.data.maintenance(collection).await?;
        let started = std::time::Instant::now();
        let protected = self.snapshots.protected_segments(collection.id).await?;
        let ts = self.ctx.next_ts().await?;
        let view = self.data.view(collection)?;
        let pk_name = collection.schema.primary_field().name.clone();
        let small = self.seal_bytes / SMALL_FRACTION;

        // Choose sources and decide which of their rows survive (pk and `$ts` are enough,
        // so released segments qualify too).
        let mut groups: BTreeMap<(PartitionId, u32), Vec<&Arc<Segment>>> = BTreeMap::new();
        for segment in view.segments.iter().filter(|s| s.meta.is_some() && !protected.contains(&s.id)) {
            groups.entry((segment.partition, segment.shard)).or_default().push(segment);
        }
        let mut merges = Vec::new();
        for ((partition, shard), segments) in groups {
            let keep: Vec<Vec<bool>> = segments
                .iter()
                .map(|s| s.visibility(&view.deletes, &pk_name, ts.0).iter().flat_map(|m| m.values().iter().collect::<Vec<_>>()).collect())
                .collect();
            let visible = |i: usize| keep[i].iter().filter(|&&b| b).count();
            let has_deletes = |i: usize| visible(i) < segments[i].rows;
            let has_delete_logs = |i: usize| segments[i].meta.as_ref().is_some_and(|m| !m.delta_logs.is_empty());
            let chosen: Vec<usize> = match trigger {
                CompactionTrigger::Manual => {
                    if segments.len() > 1 || has_delete_logs(0) {
                        (0..segments.len()).collect()
                    } else {
                        Vec::new()
                    }
                }
                CompactionTrigger::Automatic => {
                    let size = |i: usize| segments[i].meta.as_ref().map_or(0, |m| m.insert_logs.iter().map(|f| f.size as usize).sum());
                    let smalls: Vec<usize> = (0..segments.len()).filter(|&i| size(i) < small).collect();
                    let heavy: Vec<usize> = (0..segments.len())
                        .filter(|&i| {
                            (segments[i].rows - visible(i)) * 100 >= segments[i].rows * AUTO_DELETED_PERCENT
                                && has_deletes(i)
                                && has_delete_logs(i)
                        })
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
            let sources = chosen.iter().map(|&i| Arc::clone(segments[i])).collect();
            merges.push(Merge { partition, shard, sources });
        }

        let mut plans = Vec::new();
        for merge in merges {
            plans.push(self.rewrite(&held, collection, merge, ts).await?);
        }
        if !plans.is_empty() {
            quiver_base::metrics::compacted(started.elapsed());
            tracing::info!(collection = %collection.name, merges = plans.len(), "compacted");
        }
        Ok(plans)
    }

    /// Write one merge's surviving rows as a new segment and replace its sources.
    async fn rewrite(
        &self,
        held: &crate::data::Maintenance,
        collection: &Collection,
        merge: Merge,
        ts: Timestamp,
    ) -> Result<CompactionPlan> {
        let pk_name = collection.schema.primary_field().name.clone();
        let mut full = Vec::with_capacity(merge.sources.len());
        for segment in &merge.sources {
            let meta = segment.meta.clone().ok_or_else(|| internal("compaction source is not sealed"))?;
            // Released segments' rows come back from their insert logs (same row order).
            let batches = if segment.loaded {
                segment.batches.clone()
            } else {
                self.data.read_segment(meta.clone(), &collection.schema, true).await?.batches
            };
            let deletes = self.data.logged_deletes(&meta).await?;
            let keep: Vec<bool> = batches
                .iter()
                .flat_map(|b| deletes.visible(b, &pk_name, meta.partition, u64::MAX).values().iter().collect::<Vec<_>>())
                .collect();
            full.push((meta, batches, keep));
        }
        let rows: usize = full.iter().map(|(_, _, keep)| keep.iter().filter(|&&b| b).count()).sum();
        let metas: Vec<SegmentMeta> = full.iter().map(|(meta, _, _)| meta.clone()).collect();
        let sources: Vec<SegmentId> = metas.iter().map(|m| m.id).collect();
        if rows == 0 {
            self.data.replace(held, collection, &metas, None, Txn::new()).await?;
            return Ok(CompactionPlan { sources, target: None });
        }
        let kept: Vec<RecordBatch> = tokio::task::spawn_blocking(move || {
            let mut kept = Vec::new();
            for (_, batches, keep) in full {
                let mut offset = 0;
                for batch in batches {
                    let n = batch.num_rows();
                    let mask = arrow_array::BooleanArray::from(keep[offset..offset + n].to_vec());
                    offset += n;
                    let survivors = filter_record_batch(&batch, &mask)?;
                    if survivors.num_rows() > 0 {
                        kept.push(survivors);
                    }
                }
            }
            Ok::<_, arrow_schema::ArrowError>(kept)
        })
        .await
        .map_err(|e| internal(format!("compaction task failed: {e}")))??;

        let id = SegmentId(self.ctx.next_id().await?);
        let key = object_keys::insert_log(collection.id, merge.partition, id, self.ctx.next_id().await?);
        let intent = self.staging.stage(vec![key.clone()]).await?;
        let placement = crate::data::Placement {
            collection: collection.id,
            partition: merge.partition,
            shard: merge.shard,
            schema: arrow_schema(&collection.schema),
        };
        let replaced = async {
            let file = self.data.write_insert_log(&key, &placement, kept.clone(), rows).await?;
            self.ctx.failpoint("compaction.after_objects")?;
            let max_ts = Timestamp(metas.iter().map(|m| m.max_ts.0).max().unwrap_or(0));
            let meta = crate::data::sealed_meta(&placement, id, file, &kept, max_ts, ts, sources.clone());
            let target = SealedSegment {
                id,
                partition: merge.partition,
                shard: merge.shard,
                rows: meta.rows,
                insert_logs: meta.insert_logs,
                delta_logs: Vec::new(),
                min_ts: meta.min_ts,
                max_ts,
                compacted_from: sources.clone(),
            };
            self.data.replace(held, collection, &metas, Some((target, kept)), intent.release(Txn::new())).await
        }
        .await;
        if let Err(error) = replaced {
            self.staging.abandon(intent).await;
            return Err(error);
        }
        Ok(CompactionPlan { sources, target: Some(id) })
    }
}
