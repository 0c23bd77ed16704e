//! A snapshot's own files in object storage: one Avro manifest per captured segment and
//! the metadata JSON (`docs/FORMAT.md`, `quiver_format::snapshot`). Written by create,
//! read by restore (and by `quiver inspect`, Spark, DuckDB…).

use super::model::{CapturedSegment, SnapshotRecord};
use crate::catalog::CollectionInfo;
use crate::catalog::model::{Collection, ConsistencyLevel};
use crate::context::Context;
use crate::error::{EngineError, Result, StorageError};
use object_store::path::Path as ObjectPath;
use quiver_base::{FieldId, IndexId, Timestamp};
use quiver_format::FileRef;
use quiver_format::keys as object_keys;
use quiver_format::snapshot::manifest::{ALL_FIELDS, SEGMENT_LEVEL_L1, STORAGE_VERSION_PARQUET};
use quiver_format::snapshot::{
    Binlog, CollectionDescription, FieldBinlog, IndexFiles, IndexInfo, KeyValuePair, MANIFEST_FORMAT_VERSION, ManifestEntry, SnapshotInfo,
    SnapshotMetadata, decode_manifest, encode_manifest,
};
use quiver_storage::objects::put_all;

/// Manifest writes in flight at once during a create.
const MANIFEST_WRITES_IN_FLIGHT: usize = 32;

/// A snapshot as read back from object storage.
pub struct ReadSnapshot {
    pub metadata: SnapshotMetadata,
    pub manifests: Vec<ManifestEntry>,
}

fn format_error(e: quiver_format::snapshot::SnapshotFormatError) -> EngineError {
    EngineError::SnapshotFormat(e.to_string())
}

pub fn consistency_name(level: ConsistencyLevel) -> &'static str {
    match level {
        ConsistencyLevel::Strong => "Strong",
        ConsistencyLevel::Session => "Session",
        ConsistencyLevel::Bounded => "Bounded",
        ConsistencyLevel::Eventually => "Eventually",
        ConsistencyLevel::Customized => "Customized",
    }
}

pub fn consistency(name: &str) -> ConsistencyLevel {
    match name {
        "Strong" => ConsistencyLevel::Strong,
        "Session" => ConsistencyLevel::Session,
        "Eventually" => ConsistencyLevel::Eventually,
        "Customized" => ConsistencyLevel::Customized,
        _ => ConsistencyLevel::Bounded,
    }
}

/// The log id in a log's key (`.../<log_id>.parquet`).
fn log_id(key: &str) -> i64 {
    key.rsplit('/').next().and_then(|name| name.split('.').next()).and_then(|id| id.parse().ok()).unwrap_or(0)
}

fn manifest(collection: &Collection, segment: &CapturedSegment, create_ts: Timestamp) -> ManifestEntry {
    // Insert logs carry the segment's row timestamp bounds; delete logs the bounds every
    // delete in them lies within: after the segment's first row, before the snapshot.
    let binlogs = |files: &[FileRef], from: Timestamp, to: Timestamp| {
        vec![FieldBinlog { field_id: ALL_FIELDS, binlogs: files.iter().map(|f| Binlog::of(f, log_id(&f.key), from, to, f.size)).collect() }]
    };
    let index_files = segment
        .indexes
        .iter()
        .map(|captured| {
            let definition = collection.indexes.iter().find(|d| d.name == captured.index_name);
            let mut params: Vec<KeyValuePair> = definition
                .map(|d| d.params.iter().map(|(k, v)| KeyValuePair { key: k.clone(), value: v.clone() }).collect())
                .unwrap_or_default();
            if let Some(d) = definition {
                params.push(KeyValuePair { key: "index_type".into(), value: d.index_type.clone() });
                params.push(KeyValuePair { key: "metric_type".into(), value: d.metric_type.clone() });
            }
            let mut files = IndexFiles {
                segment_id: segment.segment,
                field_id: FieldId(captured.field_id),
                index_id: definition.map_or(IndexId(0), |d| d.id),
                build_id: captured.build_id,
                index_name: captured.index_name.clone(),
                index_params: params,
                index_file_paths: Vec::new(),
                serialized_size: 0,
                index_version: 1,
                num_rows: captured.rows,
                file_sizes: Vec::new(),
                file_crc32c: Vec::new(),
            };
            files.push_file(&captured.file);
            files
        })
        .collect();
    ManifestEntry {
        format_version: MANIFEST_FORMAT_VERSION,
        segment_id: segment.segment,
        partition_id: segment.partition,
        segment_level: SEGMENT_LEVEL_L1,
        channel_name: format!("quiver-dml_0_{}v0", collection.id),
        num_of_rows: segment.rows,
        storage_version: STORAGE_VERSION_PARQUET,
        is_sorted: false,
        binlog_files: if segment.insert_logs.is_empty() {
            Vec::new()
        } else {
            binlogs(&segment.insert_logs, segment.min_ts, segment.max_ts)
        },
        deltalog_files: if segment.delta_logs.is_empty() { Vec::new() } else { binlogs(&segment.delta_logs, segment.min_ts, create_ts) },
        index_files,
    }
}

/// Write every manifest, then the metadata JSON; returns their keys.
pub async fn write(ctx: &Context, info: &CollectionInfo, record: &SnapshotRecord) -> Result<(Vec<String>, String)> {
    let collection = &info.collection;
    let mut files = Vec::with_capacity(record.segments.len());
    for segment in &record.segments {
        let key = object_keys::snapshot_manifest(collection.id, record.id, segment.segment);
        files.push((key, encode_manifest(&manifest(collection, segment, record.create_ts)).map_err(format_error)?));
    }
    let manifests: Vec<String> = files.iter().map(|(key, _)| key.clone()).collect();
    // Manifests are independent small objects: write several at once, so create time is
    // bound by the storage round trip (an fsync locally), not by segments × round trips;
    // as one batch, so their shared directory is synced once, not once per manifest.
    let objects = files.into_iter().map(|(key, bytes)| (ObjectPath::from(key), bytes.into())).collect();
    put_all(&*ctx.objects, objects, MANIFEST_WRITES_IN_FLIGHT)
        .await
        .map_err(|e| StorageError::new("write", quiver_format::keys::snapshot_manifest_dir(collection.id, record.id), &e))?;
    ctx.failpoint("snapshot.create.after_manifests")?;
    let db_name = info.db_name.clone();
    let aliases = info.aliases.clone();
    let metadata = SnapshotMetadata {
        format_version: 1,
        snapshot_info: SnapshotInfo {
            name: record.name.clone(),
            id: record.id,
            description: record.description.clone(),
            collection_id: collection.id,
            partition_ids: record.partition_ids.clone(),
            create_ts: record.create_ts,
            state: record.state,
            pending_start_ms: record.pending_start_ms,
            compaction_expire_s: record.compaction_expire_s,
        },
        collection: CollectionDescription {
            schema: collection.schema.clone(),
            db_name,
            collection_name: collection.name.clone(),
            num_partitions: collection.num_partitions,
            num_shards: collection.shards_num,
            consistency_level: consistency_name(collection.consistency_level).to_string(),
            properties: collection.properties.clone(),
            description: collection.schema.description.clone(),
            partitions: collection.partitions.iter().map(|p| (p.name.clone(), p.id)).collect(),
            aliases,
        },
        indexes: collection
            .indexes
            .iter()
            .map(|d| IndexInfo {
                index_id: d.id,
                index_name: d.name.clone(),
                field_id: d.field_id,
                index_type: d.index_type.clone(),
                metric_type: d.metric_type.clone(),
                params: d.params.clone(),
            })
            .collect(),
        manifest_list: manifests.clone(),
        segment_ids: record.segments.iter().map(|s| s.segment).collect(),
        build_ids: record.segments.iter().flat_map(|s| s.indexes.iter().map(|i| i.build_id)).collect(),
    };
    let key = object_keys::snapshot_metadata(collection.id, record.id);
    ctx.put_object(&key, metadata.encode()).await?;
    Ok((manifests, key))
}

/// Read a snapshot's metadata JSON and every manifest it lists.
pub async fn read(ctx: &Context, record: &SnapshotRecord) -> Result<ReadSnapshot> {
    let metadata = SnapshotMetadata::decode(&ctx.read(&record.s3_location).await?).map_err(format_error)?;
    let mut manifests = Vec::with_capacity(metadata.manifest_list.len());
    for key in &metadata.manifest_list {
        manifests.push(decode_manifest(&ctx.read(key).await?).map_err(|e| EngineError::SnapshotFormat(format!("{key}: {e}")))?);
    }
    Ok(ReadSnapshot { metadata, manifests })
}

/// Every log file of a manifest's insert or delete log groups.
pub fn logs(groups: &[FieldBinlog]) -> Vec<FileRef> {
    groups.iter().flat_map(|g| g.binlogs.iter().map(Binlog::file)).collect()
}

/// Smallest row timestamp of a manifest's segment.
pub fn min_ts(entry: &ManifestEntry) -> Timestamp {
    entry.binlog_files.iter().flat_map(|g| &g.binlogs).map(|b| b.timestamp_from).min().unwrap_or_default()
}

/// Largest row timestamp of a manifest's segment.
pub fn max_ts(entry: &ManifestEntry) -> Timestamp {
    entry.binlog_files.iter().flat_map(|g| &g.binlogs).map(|b| b.timestamp_to).max().unwrap_or_default()
}

/// (index name, field id, file) of every index file of a manifest.
pub fn index_files(entry: &ManifestEntry) -> Vec<(String, i64, FileRef)> {
    entry.index_files.iter().flat_map(|i| i.files().map(move |f| (i.index_name.clone(), i.field_id.0, f))).collect()
}
