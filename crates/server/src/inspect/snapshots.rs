//! `quiver inspect snapshots`: every snapshot under the root, one line each.
//!
//! Rows are the manifests' `num_of_rows` (deleted rows included), deletes the delete
//! logs' entries, bytes the sizes of every referenced insert log, delete log and index
//! file. A snapshot whose metadata or manifests cannot be read is reported on stderr
//! and the command exits 1 after listing the others.

use super::catalog::{self, MetadataFile};
use super::root::StorageRoot;
use super::{InspectError, print_json, render, say};
use quiver_format::snapshot::{ManifestEntry, SnapshotMetadata};
use serde_json::json;

/// One listed snapshot.
struct Summary {
    key: String,
    metadata: SnapshotMetadata,
    segments: usize,
    rows: u64,
    deletes: u64,
    bytes: u64,
}

fn summarize(key: String, metadata: SnapshotMetadata, manifests: &[(String, ManifestEntry)]) -> Summary {
    let entries = manifests.iter().map(|(_, m)| m);
    let deletes = entries.clone().flat_map(|m| &m.deltalog_files).flat_map(|g| &g.binlogs).map(|b| b.entries_num).sum();
    Summary {
        key,
        segments: manifests.len(),
        rows: entries.clone().map(|m| m.num_of_rows).sum(),
        deletes,
        bytes: entries.flat_map(ManifestEntry::files).map(|f| f.size).sum(),
        metadata,
    }
}

pub async fn run(root: &StorageRoot, json: bool) -> Result<(), InspectError> {
    let mut listed = Vec::new();
    let mut failed = Vec::new();
    for MetadataFile { key, metadata } in catalog::metadata_files(root).await? {
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(error) => {
                failed.push(error.to_string());
                continue;
            }
        };
        match catalog::read_manifests(root, &metadata).await {
            Ok(manifests) => listed.push(summarize(key, metadata, &manifests)),
            Err(error) => failed.push(format!("snapshot {:?} ({key}): {error}", metadata.snapshot_info.name)),
        }
    }
    if json {
        let values: Vec<_> = listed
            .iter()
            .map(|s| {
                let info = &s.metadata.snapshot_info;
                json!({
                    "collection": s.metadata.collection.collection_name,
                    "collection_id": info.collection_id.0,
                    "db_name": s.metadata.collection.db_name,
                    "snapshot": info.name,
                    "snapshot_id": info.id.0,
                    "description": info.description,
                    "create_ts": info.create_ts.0,
                    "created_at": render::rfc3339_ms(info.create_ts.physical_ms()),
                    "segments": s.segments,
                    "rows": s.rows,
                    "deletes": s.deletes,
                    "bytes": s.bytes,
                    "metadata_key": s.key,
                })
            })
            .collect();
        print_json(&serde_json::Value::Array(values));
    } else if listed.is_empty() && failed.is_empty() {
        say(format!("no snapshots under {}", root.display));
    } else if !listed.is_empty() {
        let rows: Vec<Vec<String>> = listed
            .iter()
            .map(|s| {
                let info = &s.metadata.snapshot_info;
                vec![
                    s.metadata.collection.collection_name.clone(),
                    info.collection_id.0.to_string(),
                    info.name.clone(),
                    render::utc(info.create_ts),
                    s.segments.to_string(),
                    s.rows.to_string(),
                    s.deletes.to_string(),
                    render::size(s.bytes),
                ]
            })
            .collect();
        let header = ["COLLECTION", "COLLECTION_ID", "SNAPSHOT", "CREATED", "SEGMENTS", "ROWS", "DELETES", "BYTES"];
        say(render::table(&header, &rows).trim_end());
    }
    for problem in &failed {
        eprintln!("quiver inspect: {problem}");
    }
    if failed.is_empty() { Ok(()) } else { Err(InspectError::SomeUnreadable(failed.len())) }
}
