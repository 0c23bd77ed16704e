//! Segments: units of rows of one (collection, partition, shard).
//!
//! A *growing* segment lives in memory (its rows are safe in the WAL). Sealing writes it
//! to object storage as one Parquet insert log and records a [`SegmentMeta`] in the
//! metadata store. Deletes that hit a sealed segment are attached to it as delete logs.
//! Compaction replaces segments by a new one and marks them `Dropped`; their files stay
//! until GC finds nothing references them.

use super::deletes::{DeleteIndex, pk_column};
use arrow_array::{BooleanArray, RecordBatch};
use quiver_base::{BuildId, CollectionId, FieldId, IndexId, PartitionId, SegmentId, Timestamp};
use quiver_format::FileRef;
use quiver_format::logs::PkColumn;
use quiver_index::VectorIndex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SegmentState {
    /// Sealed and readable.
    Flushed,
    /// Replaced by compaction or its collection/partition was dropped; files await GC.
    Dropped { at_ms: u64 },
}

/// What the metadata store records of a sealed segment (`data/segment/<collection>/<id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentMeta {
    pub id: SegmentId,
    pub collection: CollectionId,
    pub partition: PartitionId,
    pub shard: u32,
    pub rows: u64,
    pub insert_logs: Vec<FileRef>,
    pub delta_logs: Vec<FileRef>,
    pub state: SegmentState,
    /// Smallest row timestamp in the segment (0 in records written before it was kept).
    #[serde(default)]
    pub min_ts: Timestamp,
    /// Largest row timestamp in the segment.
    pub max_ts: Timestamp,
    pub sealed_ts: Timestamp,
    /// Segments this one was compacted from (empty when sealed from growing data).
    pub compacted_from: Vec<SegmentId>,
}

impl SegmentMeta {
    pub fn is_live(&self) -> bool {
        self.state == SegmentState::Flushed
    }

    /// Every object this segment references.
    pub fn files(&self) -> impl Iterator<Item = &FileRef> {
        self.insert_logs.iter().chain(&self.delta_logs)
    }
}

/// The primary key and `$ts` columns of a stored batch.
pub fn key_columns(batch: &RecordBatch, pk_name: &str) -> RecordBatch {
    let schema = batch.schema();
    let keep: Vec<usize> = [pk_name, quiver_format::columns::TS_COLUMN].iter().filter_map(|n| schema.index_of(n).ok()).collect();
    batch.project(&keep).expect("pk and $ts exist in stored batches")
}

/// Primary keys present in a segment, for routing deletes to the segments they hit.
#[derive(Clone, Debug, Default)]
pub struct PkSet {
    ints: HashSet<i64>,
    strs: HashSet<String>,
}

impl PkSet {
    pub fn extend(&mut self, pks: &PkColumn) {
        match pks {
            PkColumn::Int(v) => self.ints.extend(v.iter().copied()),
            PkColumn::Str(v) => self.strs.extend(v.iter().cloned()),
        }
    }

    pub fn contains_at(&self, pks: &PkColumn, i: usize) -> bool {
        match pks {
            PkColumn::Int(v) => self.ints.contains(&v[i]),
            PkColumn::Str(v) => self.strs.contains(&v[i]),
        }
    }
}

/// A vector index built over one sealed segment's field.
#[derive(Clone)]
pub struct SegmentIndex {
    pub build: IndexBuild,
    pub index: Arc<dyn VectorIndex>,
}

impl fmt::Debug for SegmentIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentIndex").field("build", &self.build).finish_non_exhaustive()
    }
}

/// What the metadata store records of one index build
/// (`data/index_build/<collection>/<segment>/<index_id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexBuild {
    pub build_id: BuildId,
    pub index_id: IndexId,
    pub segment: SegmentId,
    pub field_id: FieldId,
    pub file: FileRef,
    pub rows: u64,
}

/// A segment's rows in memory: growing segments always, sealed ones when loaded.
#[derive(Clone, Debug)]
pub struct Segment {
    pub id: SegmentId,
    pub partition: PartitionId,
    pub shard: u32,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub bytes: usize,
    pub pks: PkSet,
    pub max_ts: u64,
    /// `Some` once sealed.
    pub meta: Option<SegmentMeta>,
    /// Vector indexes by field (sealed segments only, while loaded).
    pub indexes: BTreeMap<FieldId, SegmentIndex>,
    /// Indexes with a recorded build (loaded or not).
    pub built: BTreeSet<IndexId>,
    /// Scalar indexes by field name (loaded sealed segments only).
    pub scalar: BTreeMap<String, Arc<super::scalar_index::ScalarIndex>>,
    /// Whether `batches` hold every column. A released sealed segment keeps only the
    /// primary key and `$ts` (enough for deletes, counts and flush-time routing).
    pub loaded: bool,
}

impl Segment {
    pub fn growing(id: SegmentId, partition: PartitionId, shard: u32) -> Segment {
        Segment {
            id,
            partition,
            shard,
            batches: Vec::new(),
            rows: 0,
            bytes: 0,
            pks: PkSet::default(),
            max_ts: 0,
            meta: None,
            indexes: BTreeMap::new(),
            built: BTreeSet::new(),
            scalar: BTreeMap::new(),
            loaded: true,
        }
    }

    pub fn append(&mut self, batch: RecordBatch, pk_name: &str, ts: u64) {
        self.rows += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        self.pks.extend(&pk_column(batch.column_by_name(pk_name).expect("pk column")));
        self.max_ts = self.max_ts.max(ts);
        self.batches.push(batch);
    }

    /// Drop every column but the primary key and `$ts`, and the indexes (release).
    pub fn release(&mut self, pk_name: &str) {
        if !self.is_sealed() || !self.loaded {
            return;
        }
        self.batches = self.batches.iter().map(|b| key_columns(b, pk_name)).collect();
        self.bytes = self.batches.iter().map(|b| b.get_array_memory_size()).sum();
        self.indexes.clear();
        self.scalar.clear();
        self.loaded = false;
    }

    pub fn is_sealed(&self) -> bool {
        self.meta.is_some()
    }

    /// Rows visible at `read_ts`, batch by batch.
    pub fn visibility(&self, deletes: &DeleteIndex, pk_name: &str, read_ts: u64) -> Vec<BooleanArray> {
        self.batches.iter().map(|b| deletes.visible(b, pk_name, self.partition, read_ts)).collect()
    }
}
