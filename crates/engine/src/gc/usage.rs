//! What snapshots cost: from the one view of every reference GC reads, the bytes of each
//! snapshot's data files (insert logs, delete logs, index files), how many of them other
//! holders share (live collections, other snapshots, running restore jobs), and how many
//! it holds alone: exactly what dropping it would let GC free. A snapshot's own
//! manifests and metadata file (a few KB) are not counted.

use super::references;
use crate::context::Context;
use crate::error::Result;
use crate::snapshots::SnapshotState;
use quiver_base::{CollectionId, JobId, SnapshotId};
use std::collections::{BTreeSet, HashMap};

/// One snapshot's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotUsage {
    pub name: String,
    pub total_bytes: u64,
    /// Also held by a live collection, another snapshot or a running job.
    pub shared_bytes: u64,
    /// Held by this snapshot alone: freed by dropping it.
    pub exclusive_bytes: u64,
}

/// A collection's bytes and its snapshots'.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectionUsage {
    /// Data files its live segments and index builds reference.
    pub live_bytes: u64,
    /// Data files only its snapshots hold (no live collection references them).
    pub snapshot_only_bytes: u64,
    /// Its committed snapshots, oldest first.
    pub snapshots: Vec<SnapshotUsage>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Live(CollectionId),
    Snapshot(SnapshotId),
    Job(JobId),
}

/// The usage of `collection` and of its committed snapshots, from one consistent view.
pub async fn of(ctx: &Context, collection: CollectionId) -> Result<CollectionUsage> {
    let view = references::read(ctx).await?;
    // Every data file anything holds: its size and its holders.
    let mut files: HashMap<&str, (u64, BTreeSet<Holder>)> = HashMap::new();
    let mut hold = |key, size, holder| {
        files.entry(key).or_insert((size, BTreeSet::new())).1.insert(holder);
    };
    for (owner, file) in view.live_files() {
        hold(file.key.as_str(), file.size, Holder::Live(owner));
    }
    for record in view.snapshots() {
        for file in record.data_files() {
            hold(file.key.as_str(), file.size, Holder::Snapshot(record.id));
        }
    }
    for (job, file) in view.running_job_files() {
        hold(file.key.as_str(), file.size, Holder::Job(job));
    }
    let mut usage = CollectionUsage::default();
    for (size, holders) in files.values() {
        if holders.contains(&Holder::Live(collection)) {
            usage.live_bytes += size;
        }
        let live = holders.iter().any(|h| matches!(h, Holder::Live(_)));
        let ours = view.snapshots().iter().any(|r| r.collection_id == collection && holders.contains(&Holder::Snapshot(r.id)));
        if ours && !live {
            usage.snapshot_only_bytes += size;
        }
    }
    let mut records: Vec<_> =
        view.snapshots().iter().filter(|r| r.collection_id == collection && r.state == SnapshotState::Committed).collect();
    records.sort_by_key(|r| r.create_ts);
    for record in records {
        let mut seen = BTreeSet::new();
        let (mut total, mut exclusive) = (0, 0);
        for file in record.data_files().filter(|f| seen.insert(f.key.as_str())) {
            total += file.size;
            if files.get(file.key.as_str()).is_some_and(|(_, holders)| holders.len() == 1) {
                exclusive += file.size;
            }
        }
        usage.snapshots.push(SnapshotUsage {
            name: record.name.clone(),
            total_bytes: total,
            shared_bytes: total - exclusive,
            exclusive_bytes: exclusive,
        });
    }
    Ok(usage)
}
