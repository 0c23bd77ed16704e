//! A small snapshot written with `quiver_format` alone into a temporary directory, for
//! the `inspect` tests: two segments, delete logs, an upsert across segments and a row
//! past the snapshot's timestamp.
//!
//! | segment | rows (pk @ ts) | delete log (pk @ ts) |
//! | --- | --- | --- |
//! | 1 | 1@10, 2@10, 3@10, 4@10 | 1@20, 3@25, 4@45 (after the snapshot) |
//! | 2 | 3@30 (re-insert), 5@10, 6@50 (after the snapshot) | none |
//!
//! The snapshot is at 40, so pks 2, 4 (segment 1) and 3, 5 (segment 2) are visible.

use super::root::StorageRoot;
use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType as ArrowType, Field};
use quiver_base::{CollectionId, PartitionId, SegmentId, SnapshotId, Timestamp};
use quiver_format::FileRef;
use quiver_format::columns::arrow_schema;
use quiver_format::keys;
use quiver_format::logs::{PkColumn, write_delete_log, write_parquet};
use quiver_format::schema::{CollectionSchema, DataType, FieldSchema};
use quiver_format::snapshot::manifest::{ALL_FIELDS, SEGMENT_LEVEL_L1, STORAGE_VERSION_PARQUET};
use quiver_format::snapshot::{
    Binlog, CollectionDescription, FieldBinlog, ManifestEntry, SnapshotInfo, SnapshotMetadata, SnapshotState, encode_manifest,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub const COLLECTION: CollectionId = CollectionId(7);
pub const PARTITION: PartitionId = PartitionId(8);
pub const CREATE_TS: u64 = 40;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: StorageRoot,
    /// Key of segment 1's insert log.
    pub insert_log: String,
}

fn schema() -> CollectionSchema {
    let mut pk = FieldSchema::new("pk", DataType::Int64);
    pk.is_primary_key = true;
    CollectionSchema {
        name: "books".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: true,
        fields: vec![
            pk,
            FieldSchema::new("title", DataType::VarChar).with_param("max_length", 16),
            FieldSchema::new("vec", DataType::FloatVector).with_param("dim", 2),
        ],
        version: 0,
    }
    .validated()
    .expect("valid schema")
}

fn put(dir: &Path, key: &str, bytes: &[u8], rows: u64) -> FileRef {
    let path = dir.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    FileRef::of(key, bytes, rows)
}

fn insert_log(dir: &Path, schema: &CollectionSchema, segment: i64, rows: &[(i64, u64)]) -> FileRef {
    let arrow = arrow_schema(schema);
    let pks: Vec<i64> = rows.iter().map(|(pk, _)| *pk).collect();
    let item = Arc::new(Field::new("item", ArrowType::Float32, false));
    let values: Vec<f32> = pks.iter().flat_map(|&pk| [pk as f32, 0.5]).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(pks.clone())),
        Arc::new(StringArray::from(pks.iter().map(|pk| format!("book {pk}")).collect::<Vec<_>>())),
        Arc::new(FixedSizeListArray::try_new(item, 2, Arc::new(Float32Array::from(values)), None).unwrap()),
        Arc::new(StringArray::from(pks.iter().map(|pk| format!("{{\"shelf\":{pk}}}")).collect::<Vec<_>>())),
        Arc::new(UInt64Array::from(rows.iter().map(|(_, ts)| *ts).collect::<Vec<_>>())),
    ];
    let batch = RecordBatch::try_new(arrow.clone(), columns).unwrap();
    let key = keys::insert_log(COLLECTION, PARTITION, SegmentId(segment), segment * 100);
    put(dir, &key, &write_parquet(&arrow, &[batch]).unwrap(), rows.len() as u64)
}

fn group(files: Vec<FileRef>) -> Vec<FieldBinlog> {
    if files.is_empty() {
        return Vec::new();
    }
    let binlogs = files.iter().enumerate().map(|(i, f)| Binlog::of(f, i as i64, Timestamp(0), Timestamp(CREATE_TS), f.size)).collect();
    vec![FieldBinlog { field_id: ALL_FIELDS, binlogs }]
}

fn manifest(segment: i64, rows: u64, inserts: Vec<FileRef>, deletes: Vec<FileRef>) -> ManifestEntry {
    ManifestEntry {
        format_version: 1,
        segment_id: SegmentId(segment),
        partition_id: PARTITION,
        segment_level: SEGMENT_LEVEL_L1,
        channel_name: "ch".into(),
        num_of_rows: rows,
        storage_version: STORAGE_VERSION_PARQUET,
        is_sorted: false,
        binlog_files: group(inserts),
        deltalog_files: group(deletes),
        index_files: Vec::new(),
    }
}

/// Write the snapshot `nightly` of collection `books` (id 7).
pub fn write() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root_dir = dir.path();
    let schema = schema();
    let log1 = insert_log(root_dir, &schema, 1, &[(1, 10), (2, 10), (3, 10), (4, 10)]);
    let del1 = write_delete_log(&PkColumn::Int(vec![1, 3, 4]), &[20, 25, 45]).unwrap();
    let del1 = put(root_dir, &keys::delta_log(COLLECTION, PARTITION, SegmentId(1), 101), &del1, 3);
    let log2 = insert_log(root_dir, &schema, 2, &[(3, 30), (5, 10), (6, 50)]);
    let snapshot = SnapshotId(9);
    let mut manifest_list = Vec::new();
    for entry in [manifest(1, 4, vec![log1.clone()], vec![del1]), manifest(2, 3, vec![log2], Vec::new())] {
        let key = keys::snapshot_manifest(COLLECTION, snapshot, entry.segment_id);
        put(root_dir, &key, &encode_manifest(&entry).unwrap(), 0);
        manifest_list.push(key);
    }
    let metadata = SnapshotMetadata {
        format_version: 1,
        snapshot_info: SnapshotInfo {
            name: "nightly".into(),
            id: snapshot,
            description: String::new(),
            collection_id: COLLECTION,
            partition_ids: vec![PARTITION],
            create_ts: Timestamp(CREATE_TS),
            state: SnapshotState::Pending,
            pending_start_ms: 0,
            compaction_expire_s: 0,
        },
        collection: CollectionDescription {
            schema,
            db_name: "default".into(),
            collection_name: "books".into(),
            num_partitions: 0,
            num_shards: 1,
            consistency_level: "Bounded".into(),
            properties: BTreeMap::new(),
            description: String::new(),
            partitions: BTreeMap::from([("_default".to_string(), PARTITION)]),
            aliases: Vec::new(),
        },
        indexes: Vec::new(),
        manifest_list,
        segment_ids: vec![SegmentId(1), SegmentId(2)],
        build_ids: Vec::new(),
    };
    put(root_dir, &keys::snapshot_metadata(COLLECTION, snapshot), &metadata.encode(), 0);
    let root = StorageRoot::local(root_dir);
    Fixture { dir, root, insert_log: log1.key }
}
