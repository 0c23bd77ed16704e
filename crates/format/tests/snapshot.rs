//! Snapshot formats: golden files from each format version decode forever, round trips,
//! version refusal, and the manifest being a self-describing Avro object container file.
//!
//! Golden files live in `tests/golden/`. They are written once per format version (run
//! `QUIVER_BLESS_GOLDEN=1 cargo test -p quiver-format --test snapshot -- --ignored
//! bless` when a new version is introduced, with new file names) and never rewritten.

use apache_avro::types::Value;
use apache_avro::{Reader, Schema, Writer};
use quiver_base::{BuildId, CollectionId, FieldId, IndexId, PartitionId, SegmentId, SnapshotId, Timestamp};
use quiver_format::FileRef;
use quiver_format::schema::{CollectionSchema, DataType, DefaultValue, FieldSchema};
use quiver_format::snapshot::manifest::{ALL_FIELDS, MANIFEST_SCHEMA_V1, SEGMENT_LEVEL_L1, STORAGE_VERSION_PARQUET};
use quiver_format::snapshot::{
    Binlog, CollectionDescription, FieldBinlog, IndexFiles, IndexInfo, KeyValuePair, ManifestEntry, SnapshotFormatError, SnapshotInfo,
    SnapshotMetadata, SnapshotState, decode_manifest, encode_manifest,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

const METADATA_V1: &str = "metadata_v1.json";
const MANIFEST_V1: &str = "manifest_v1.avro";

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(golden_path(name)).unwrap_or_else(|e| panic!("golden file {name}: {e}"))
}

fn field(id: i64, name: &str, data_type: DataType) -> FieldSchema {
    let mut field = FieldSchema::new(name, data_type);
    field.id = FieldId(id);
    field
}

/// The value `metadata_v1.json` holds. Never change it: it pins version 1.
fn golden_metadata() -> SnapshotMetadata {
    let mut pk = field(100, "id", DataType::Int64);
    pk.is_primary_key = true;
    let vector = field(101, "embedding", DataType::FloatVector).with_param("dim", 4);
    let mut title = field(102, "title", DataType::VarChar).with_param("max_length", 64);
    title.description = "book title".into();
    title.default_value = Some(DefaultValue::String("untitled".into()));
    let mut year = field(103, "year", DataType::Int32);
    year.nullable = true;
    let mut tags = field(104, "tags", DataType::Array).with_param("max_capacity", 8).with_param("max_length", 16);
    tags.element_type = Some(DataType::VarChar);
    let schema = CollectionSchema {
        name: "books".into(),
        description: "a shelf".into(),
        auto_id: false,
        enable_dynamic_field: true,
        fields: vec![pk, vector, title, year, tags],
        version: 0,
    };
    SnapshotMetadata {
        format_version: 1,
        snapshot_info: SnapshotInfo {
            name: "nightly".into(),
            id: SnapshotId(451),
            description: "before the reindex".into(),
            collection_id: CollectionId(443),
            partition_ids: vec![PartitionId(444), PartitionId(445)],
            create_ts: Timestamp::compose(1_767_225_600_000, 7),
            state: SnapshotState::Pending,
            pending_start_ms: 1_767_225_600_123,
            compaction_expire_s: 1_767_226_200,
        },
        collection: CollectionDescription {
            schema,
            db_name: "default".into(),
            collection_name: "books".into(),
            num_partitions: 0,
            num_shards: 1,
            consistency_level: "Bounded".into(),
            properties: BTreeMap::from([("collection.ttl.seconds".into(), "86400".into())]),
            description: "a shelf".into(),
            partitions: BTreeMap::from([("_default".into(), PartitionId(444)), ("archive".into(), PartitionId(445))]),
            aliases: vec!["library".into()],
        },
        indexes: vec![IndexInfo {
            index_id: IndexId(446),
            index_name: "embedding_idx".into(),
            field_id: FieldId(101),
            index_type: "HNSW".into(),
            metric_type: "COSINE".into(),
            params: BTreeMap::from([("M".into(), "16".into()), ("efConstruction".into(), "200".into())]),
        }],
        manifest_list: vec!["snapshots/443/manifests/451/447.avro".into(), "snapshots/443/manifests/451/448.avro".into()],
        segment_ids: vec![SegmentId(447), SegmentId(448)],
        build_ids: vec![BuildId(449)],
    }
}

/// The value `manifest_v1.avro` holds. Never change it: it pins version 1.
fn golden_manifest() -> ManifestEntry {
    ManifestEntry {
        format_version: 1,
        segment_id: SegmentId(447),
        partition_id: PartitionId(444),
        segment_level: SEGMENT_LEVEL_L1,
        channel_name: "quiver-dml_0_443v0".into(),
        num_of_rows: 3,
        storage_version: STORAGE_VERSION_PARQUET,
        is_sorted: false,
        binlog_files: vec![FieldBinlog {
            field_id: ALL_FIELDS,
            binlogs: vec![Binlog {
                entries_num: 3,
                timestamp_from: Timestamp::compose(1_767_225_500_000, 0),
                timestamp_to: Timestamp::compose(1_767_225_590_000, 2),
                log_path: "insert_log/443/444/447/450.parquet".into(),
                log_size: 2_718,
                log_id: 450,
                memory_size: 4_096,
                crc32c: 0xdead_beef,
            }],
        }],
        deltalog_files: vec![FieldBinlog {
            field_id: ALL_FIELDS,
            binlogs: vec![Binlog {
                entries_num: 1,
                timestamp_from: Timestamp::compose(1_767_225_595_000, 0),
                timestamp_to: Timestamp::compose(1_767_225_595_000, 0),
                log_path: "delta_log/443/444/447/452.parquet".into(),
                log_size: 612,
                log_id: 452,
                memory_size: 24,
                crc32c: 0x0123_4567,
            }],
        }],
        index_files: vec![IndexFiles {
            segment_id: SegmentId(447),
            field_id: FieldId(101),
            index_id: IndexId(446),
            build_id: BuildId(449),
            index_name: "embedding_idx".into(),
            index_params: vec![
                KeyValuePair { key: "index_type".into(), value: "HNSW".into() },
                KeyValuePair { key: "metric_type".into(), value: "COSINE".into() },
                KeyValuePair { key: "M".into(), value: "16".into() },
                KeyValuePair { key: "efConstruction".into(), value: "200".into() },
            ],
            index_file_paths: vec!["index_files/449/1/444/447/index".into()],
            serialized_size: 1_414,
            index_version: 1,
            num_rows: 3,
            file_sizes: vec![1_414],
            file_crc32c: vec![0xfeed_f00d],
        }],
    }
}

/// Writes the version-1 golden files. Only for introducing them: never re-bless an
/// existing version (that would hide a format change).
#[test]
#[ignore]
fn bless_golden_files() {
    if std::env::var("QUIVER_BLESS_GOLDEN").as_deref() != Ok("1") {
        eprintln!("set QUIVER_BLESS_GOLDEN=1 to write golden files");
        return;
    }
    std::fs::create_dir_all(golden_path("")).unwrap();
    std::fs::write(golden_path(METADATA_V1), golden_metadata().encode()).unwrap();
    std::fs::write(golden_path(MANIFEST_V1), encode_manifest(&golden_manifest()).unwrap()).unwrap();
}

#[test]
fn golden_metadata_v1_still_decodes() {
    let decoded = SnapshotMetadata::decode(&golden(METADATA_V1)).unwrap();
    assert_eq!(decoded, golden_metadata());
}

#[test]
fn golden_manifest_v1_still_decodes() {
    let decoded = decode_manifest(&golden(MANIFEST_V1)).unwrap();
    assert_eq!(decoded, golden_manifest());
}

/// While version 1 is the current version, the writers reproduce the golden files byte
/// for byte (both encodings are deterministic). When a version 2 arrives, this test moves
/// to the version-2 files and the version-1 files keep only the decode tests above.
#[test]
fn current_writers_reproduce_the_v1_golden_files() {
    assert_eq!(String::from_utf8(golden_metadata().encode()).unwrap(), String::from_utf8(golden(METADATA_V1)).unwrap());
    assert_eq!(encode_manifest(&golden_manifest()).unwrap(), golden(MANIFEST_V1));
}

#[test]
fn golden_metadata_uses_documented_keys() {
    let json: serde_json::Value = serde_json::from_slice(&golden(METADATA_V1)).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut keys = v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        keys.sort();
        keys
    };
    assert_eq!(keys(&json), ["build_ids", "collection", "format_version", "indexes", "manifest_list", "segment_ids", "snapshot_info"]);
    assert_eq!(
        keys(&json["snapshot_info"]),
        ["collection_id", "compaction_expire_s", "create_ts", "description", "id", "name", "partition_ids", "pending_start_ms", "state"]
    );
    assert_eq!(
        keys(&json["collection"]),
        [
            "aliases",
            "collection_name",
            "consistency_level",
            "db_name",
            "description",
            "num_partitions",
            "num_shards",
            "partitions",
            "properties",
            "schema"
        ]
    );
    assert_eq!(keys(&json["indexes"][0]), ["field_id", "index_id", "index_name", "index_type", "metric_type", "params"]);
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["snapshot_info"]["state"], "Pending");
    assert_eq!(json["snapshot_info"]["id"], 451);
    assert_eq!(json["collection"]["partitions"]["archive"], 445);
    assert_eq!(json["collection"]["schema"]["fields"][1]["id"], 101);
}

#[test]
fn metadata_round_trips_and_is_stamped_with_the_current_version() {
    let mut metadata = golden_metadata();
    metadata.format_version = 0;
    metadata.snapshot_info.state = SnapshotState::Committed;
    metadata.indexes.clear();
    let decoded = SnapshotMetadata::decode(&metadata.encode()).unwrap();
    assert_eq!(decoded.format_version, 1);
    metadata.format_version = 1;
    assert_eq!(decoded, metadata);
    for state in [SnapshotState::Pending, SnapshotState::Committed, SnapshotState::Deleting] {
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
}

#[test]
fn metadata_refuses_a_newer_version_before_parsing_the_rest() {
    let err = SnapshotMetadata::decode(br#"{"format_version": 2, "something": "else entirely"}"#).unwrap_err();
    assert_eq!(err, SnapshotFormatError::MetadataVersionTooNew { found: 2, supported: 1 });
    assert_eq!(err.to_string(), "snapshot format version 2 is too new, current supported version: 1 (please upgrade Quiver)");

    let mut json: serde_json::Value = serde_json::from_slice(&golden(METADATA_V1)).unwrap();
    json["format_version"] = 7.into();
    let err = SnapshotMetadata::decode(&serde_json::to_vec(&json).unwrap()).unwrap_err();
    assert!(matches!(err, SnapshotFormatError::MetadataVersionTooNew { found: 7, .. }));
}

#[test]
fn metadata_reads_absent_or_zero_version_as_one_and_ignores_unknown_keys() {
    let mut json: serde_json::Value = serde_json::from_slice(&golden(METADATA_V1)).unwrap();
    json.as_object_mut().unwrap().remove("format_version");
    json["storagev2_manifest_list"] = serde_json::json!([{"segment_id": 1, "manifest": "x"}]);
    json["snapshot_info"]["s3_location"] = "somewhere".into();
    json["collection"]["virtual_channel_names"] = serde_json::json!(["quiver-dml_0_443v0"]);
    let decoded = SnapshotMetadata::decode(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(decoded, golden_metadata());

    json["format_version"] = 0.into();
    assert_eq!(SnapshotMetadata::decode(&serde_json::to_vec(&json).unwrap()).unwrap().format_version, 1);
}

#[test]
fn metadata_rejects_garbage_with_a_typed_error() {
    assert!(matches!(SnapshotMetadata::decode(b"not json"), Err(SnapshotFormatError::InvalidMetadata(_))));
    assert!(matches!(SnapshotMetadata::decode(br#"{"format_version": 1}"#), Err(SnapshotFormatError::InvalidMetadata(_))));
    assert!(matches!(SnapshotMetadata::decode(br#"{"format_version": "1"}"#), Err(SnapshotFormatError::InvalidMetadata(_))));
}

#[test]
fn manifest_round_trips_and_is_stamped_with_the_current_version() {
    let mut entry = golden_manifest();
    entry.format_version = 0;
    entry.is_sorted = true;
    entry.num_of_rows = i64::MAX as u64;
    entry.binlog_files[0].binlogs[0].crc32c = u32::MAX;
    entry.index_files[0].file_crc32c = vec![u32::MAX];
    let decoded = decode_manifest(&encode_manifest(&entry).unwrap()).unwrap();
    entry.format_version = 1;
    assert_eq!(decoded, entry);

    let empty = ManifestEntry { binlog_files: vec![], deltalog_files: vec![], index_files: vec![], ..golden_manifest() };
    assert_eq!(decode_manifest(&encode_manifest(&empty).unwrap()).unwrap(), empty);
}

#[test]
fn manifest_encoding_is_deterministic() {
    let entry = golden_manifest();
    assert_eq!(encode_manifest(&entry).unwrap(), encode_manifest(&entry).unwrap());
}

#[test]
fn manifest_is_a_self_describing_object_container_file() {
    let bytes = golden(MANIFEST_V1);
    assert!(bytes.starts_with(b"Obj\x01"), "missing the OCF magic");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("avro.schema"));
    assert!(text.contains(r#"{"type":"record","namespace":"quiver.snapshot","name":"ManifestEntry","#), "schema JSON not embedded: {text}");

    // A generic reader with no schema of its own finds one record with every field.
    let mut reader = Reader::new(&bytes[..]).unwrap();
    assert_eq!(reader.writer_schema(), &Schema::parse_str(MANIFEST_SCHEMA_V1).unwrap());
    let Value::Record(fields) = reader.next().unwrap().unwrap() else { panic!("not a record") };
    assert!(reader.next().is_none());
    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "format_version",
            "segment_id",
            "partition_id",
            "segment_level",
            "channel_name",
            "num_of_rows",
            "storage_version",
            "is_sorted",
            "binlog_files",
            "deltalog_files",
            "index_files"
        ]
    );
    assert_eq!(fields[0].1, Value::Int(1));
    assert_eq!(fields[1].1, Value::Long(447));
}

/// A hand-written manifest of another shape: the v1 schema with `format_version` set
/// and one extra top-level field.
fn manifest_with(version: i32, extra_field: bool) -> Vec<u8> {
    let mut schema: serde_json::Value = serde_json::from_str(MANIFEST_SCHEMA_V1).unwrap();
    if extra_field {
        schema["fields"].as_array_mut().unwrap().push(serde_json::json!({"name": "commit_timestamp", "type": "long"}));
    }
    let schema = Schema::parse_str(&schema.to_string()).unwrap();
    let Value::Record(mut fields) = apache_avro::to_value(golden_manifest()).unwrap() else { unreachable!() };
    fields.iter_mut().find(|(name, _)| name == "format_version").unwrap().1 = Value::Int(version);
    if extra_field {
        fields.push(("commit_timestamp".into(), Value::Long(42)));
    }
    let mut writer = Writer::new(&schema, Vec::new()).unwrap();
    writer.append_value(Value::Record(fields)).unwrap();
    writer.into_inner().unwrap()
}

#[test]
fn manifest_refuses_a_newer_version() {
    let err = decode_manifest(&manifest_with(2, true)).unwrap_err();
    assert_eq!(err, SnapshotFormatError::ManifestVersionTooNew { found: 2, supported: 1 });
    assert_eq!(err.to_string(), "snapshot manifest format version 2 is too new, current supported version: 1 (please upgrade Quiver)");
}

#[test]
fn manifest_ignores_unknown_fields_and_reads_version_zero_as_one() {
    assert_eq!(decode_manifest(&manifest_with(1, true)).unwrap(), golden_manifest());
    assert_eq!(decode_manifest(&manifest_with(0, false)).unwrap(), golden_manifest());
}

#[test]
fn manifest_rejects_other_files_with_a_typed_error() {
    let invalid = |bytes: &[u8]| matches!(decode_manifest(bytes), Err(SnapshotFormatError::InvalidManifest(_)));
    assert!(invalid(b"not avro"));
    assert!(invalid(&golden(METADATA_V1)));
    let bytes = golden(MANIFEST_V1);
    assert!(invalid(&bytes[..bytes.len() - 20]), "a truncated file must not decode");

    let other = Schema::parse_str(r#"{"type":"record","name":"Other","fields":[{"name":"a","type":"long"}]}"#).unwrap();
    let mut writer = Writer::new(&other, Vec::new()).unwrap();
    writer.append_value(Value::Record(vec![("a".into(), Value::Long(1))])).unwrap();
    assert!(invalid(&writer.into_inner().unwrap()));

    let schema = Schema::parse_str(MANIFEST_SCHEMA_V1).unwrap();
    let record = Reader::new(&bytes[..]).unwrap().next().unwrap().unwrap();
    let mut writer = Writer::new(&schema, Vec::new()).unwrap();
    writer.append_value(record.clone()).unwrap();
    writer.append_value(record).unwrap();
    assert!(invalid(&writer.into_inner().unwrap()), "two records in one manifest");
    let writer = Writer::new(&schema, Vec::new()).unwrap();
    assert!(invalid(&writer.into_inner().unwrap()), "no record");
}

#[test]
fn index_file_lists_must_line_up() {
    let mut entry = golden_manifest();
    entry.index_files[0].file_sizes.push(1);
    assert!(matches!(encode_manifest(&entry), Err(SnapshotFormatError::ManifestEncode(_))));
    let mut entry = golden_manifest();
    entry.num_of_rows = u64::MAX;
    assert!(matches!(encode_manifest(&entry), Err(SnapshotFormatError::ManifestEncode(_))));
}

#[test]
fn files_lists_every_referenced_object() {
    let files: Vec<FileRef> = golden_manifest().files().collect();
    assert_eq!(
        files,
        [
            FileRef { key: "insert_log/443/444/447/450.parquet".into(), size: 2_718, crc32c: 0xdead_beef, rows: 3 },
            FileRef { key: "delta_log/443/444/447/452.parquet".into(), size: 612, crc32c: 0x0123_4567, rows: 1 },
            FileRef { key: "index_files/449/1/444/447/index".into(), size: 1_414, crc32c: 0xfeed_f00d, rows: 3 },
        ]
    );
}

#[test]
fn binlogs_and_index_files_are_built_from_file_refs() {
    let file = FileRef::of("insert_log/1/2/3/4.parquet", b"parquet bytes", 10);
    let binlog = Binlog::of(&file, 4, Timestamp(5), Timestamp(6), 100);
    assert_eq!(binlog.file(), file);
    assert_eq!((binlog.log_id, binlog.timestamp_from, binlog.timestamp_to, binlog.memory_size), (4, Timestamp(5), Timestamp(6), 100));

    let mut index = IndexFiles {
        index_file_paths: vec![],
        file_sizes: vec![],
        file_crc32c: vec![],
        serialized_size: 0,
        num_rows: 10,
        ..golden_manifest().index_files[0].clone()
    };
    let a = FileRef::of("index_files/9/1/2/3/a", b"aaaa", 10);
    let b = FileRef::of("index_files/9/1/2/3/b", b"bb", 10);
    index.push_file(&a);
    index.push_file(&b);
    assert_eq!(index.serialized_size, 6);
    assert_eq!(index.files().collect::<Vec<_>>(), [a, b]);
}
