//! Segments: units of rows of one (collection, partition, shard).
//!
//! A *growing* segment lives in memory (its rows are safe in the WAL). Sealing writes it
//! to object storage as one Parquet insert log and records a [`SegmentMeta`] in the
//! metadata store. Deletes that hit a sealed segment are attached to it as delete logs.
//! Compaction replaces segments by a new one and marks them `Dropped`; their files stay
//! until GC finds nothing references them.

use super::deletes::{DeleteIndex, pk_column};
use crate::catalog::model::{Collection, IndexDefinition};
use crate::read::scalar_index::{ScalarIndex, ScalarTarget};
use arrow_array::{BooleanArray, RecordBatch};
use quiver_base::{CollectionId, FieldId, IndexId, PartitionId, SegmentId, Timestamp};
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

    /// Whether this segment's files are still needed by its collection: it is not
    /// dropped, and its partition is still in `collection` (a dropped partition's
    /// segments die with it, whether or not their records were marked yet).
    pub fn serves(&self, collection: &crate::catalog::model::Collection) -> bool {
        self.is_live() && self.collection == collection.id && collection.partitions.iter().any(|p| p.id == self.partition)
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

    /// The keys of stored batches (pk column `pk_name`).
    pub fn of(batches: &[RecordBatch], pk_name: &str) -> PkSet {
        let mut set = PkSet::default();
        for batch in batches {
            set.extend(&pk_column(batch.column_by_name(pk_name).expect("pk column")));
        }
        set
    }

    pub fn contains_at(&self, pks: &PkColumn, i: usize) -> bool {
        match pks {
            PkColumn::Int(v) => self.ints.contains(&v[i]),
            PkColumn::Str(v) => self.strs.contains(&v[i]),
        }
    }
}

/// A vector index built over one sealed segment's field, held while it is loaded.
#[derive(Clone)]
pub struct SegmentIndex {
    pub index_id: IndexId,
    pub index: Arc<dyn VectorIndex>,
}

impl fmt::Debug for SegmentIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentIndex").field("index_id", &self.index_id).finish_non_exhaustive()
    }
}

/// A segment's rows in memory: growing segments always, sealed ones when loaded.
///
/// Held as `Arc<Segment>` in the collection's state, so a read takes its segments
/// without copying rows; a writer changing one copies only the handles it holds.
#[derive(Clone, Debug)]
pub struct Segment {
    pub id: SegmentId,
    pub partition: PartitionId,
    pub shard: u32,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub bytes: usize,
    /// The primary keys, for routing deletes at flush (sealed segments only: a growing
    /// segment's are collected when it is sealed).
    pub pks: Arc<PkSet>,
    pub max_ts: u64,
    /// `Some` once sealed.
    pub meta: Option<SegmentMeta>,
    /// A flush is writing this growing segment out: it takes no more rows.
    pub sealing: bool,
    /// Vector indexes by field (sealed segments only, while loaded).
    pub indexes: BTreeMap<FieldId, SegmentIndex>,
    /// Indexes with a recorded build (loaded or not).
    pub built: BTreeSet<IndexId>,
    /// Scalar indexes by what they cover: fields and JSON paths (loaded sealed segments
    /// only).
    pub scalar: BTreeMap<ScalarTarget, Arc<ScalarIndex>>,
    /// Whether `batches` hold every column. A released sealed segment keeps only the
    /// primary key and `$ts` (enough for deletes, counts and flush-time routing).
    pub loaded: bool,
}

impl Segment {
    /// A released sealed segment from key columns (pk and `$ts`) and their key set that
    /// another segment with the same files already holds.
    pub fn sealed_with_keys(meta: SegmentMeta, batches: Vec<RecordBatch>, pks: Arc<PkSet>) -> Segment {
        let mut segment = Segment::growing(meta.id, meta.partition, meta.shard);
        segment.pks = pks;
        for batch in batches {
            segment.append(batch, meta.max_ts.0);
        }
        segment.loaded = false;
        segment.meta = Some(meta);
        segment
    }

    /// Whether `definition` serves this segment's rows: a scalar index is built in memory
    /// whenever the segment is read, a vector index once its build is recorded.
    pub fn indexed_by(&self, collection: &Collection, definition: &IndexDefinition) -> bool {
        let scalar = collection.schema.index_field(definition.field_id).is_some_and(|f| !f.data_type.is_vector());
        scalar || self.built.contains(&definition.id)
    }

    pub fn growing(id: SegmentId, partition: PartitionId, shard: u32) -> Segment {
        Segment {
            id,
            partition,
            shard,
            batches: Vec::new(),
            rows: 0,
            bytes: 0,
            pks: Arc::default(),
            max_ts: 0,
            meta: None,
            sealing: false,
            indexes: BTreeMap::new(),
            built: BTreeSet::new(),
            scalar: BTreeMap::new(),
            loaded: true,
        }
    }

    pub fn append(&mut self, batch: RecordBatch, ts: u64) {
        self.rows += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        self.max_ts = self.max_ts.max(ts);
        self.batches.push(batch);
    }

    /// A sealed segment from stored rows (all columns, or only the pk and `$ts`).
    pub fn sealed(meta: SegmentMeta, batches: Vec<RecordBatch>, pk_name: &str, loaded: bool) -> Segment {
        let pks = Arc::new(PkSet::of(&batches, pk_name));
        let mut segment = Segment::sealed_with_keys(meta, batches, pks);
        segment.loaded = loaded;
        segment
    }

    /// This segment with its rows in the layout of `schema` (see `rows::conform`), or
    /// `None` when they already are (or it holds key columns only). `columns` is the
    /// number of columns of that layout, which callers compute once for all segments.
    pub fn conformed(&self, schema: &quiver_format::schema::CollectionSchema, columns: usize) -> crate::error::Result<Option<Segment>> {
        if !self.loaded || self.batches.iter().all(|b| b.num_columns() == columns) {
            return Ok(None);
        }
        let mut conformed = self.clone();
        conformed.batches = self.batches.iter().map(|b| quiver_format::columns::conform(schema, b)).collect::<Result<_, _>>()?;
        Ok(Some(conformed))
    }

    /// Whether writes may go here: growing and not being sealed.
    pub fn is_growing(&self) -> bool {
        self.meta.is_none() && !self.sealing
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
