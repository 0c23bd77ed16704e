//! `quiver inspect files`: every file of a snapshot per segment, with the schema, for
//! scripts and Spark jobs (`--json`), or one line per file.
//!
//! The JSON (`docs/offline-processing.md` shows it in use):
//!
//! ```text
//! {root, collection: {name, id, db_name},
//!  snapshot: {name, id, create_ts, created_at, metadata_key},
//!  schema: {primary_key, primary_key_type, dynamic_field, columns, fields: [{id, name, data_type, element_type, dim, nullable, is_primary_key}]},
//!  segments: [{segment_id, partition_id, partition_name, rows, manifest_key,
//!              insert_logs: [{key, size, crc32c, rows}], delete_logs: [...],
//!              index_files: [{key, size, crc32c, rows, index_name, field_id, build_id}]}]}
//! ```
//!
//! Keys are relative to `root`; `columns` are the insert logs' columns in order
//! (`$meta` when the collection has dynamic fields, `$ts` always last).

use super::catalog::Snapshot;
use super::root::StorageRoot;
use super::{InspectError, print_json, render, say};
use quiver_format::FileRef;
use quiver_format::columns::arrow_schema;
use serde_json::{Value, json};

fn file_json(file: &FileRef) -> Value {
    json!({"key": file.key, "size": file.size, "crc32c": file.crc32c, "rows": file.rows})
}

/// The machine-readable description of a snapshot's files.
pub fn describe(root: &StorageRoot, snapshot: &Snapshot) -> Value {
    let metadata = &snapshot.metadata;
    let info = &metadata.snapshot_info;
    let schema = &metadata.collection.schema;
    let pk = schema.fields.iter().find(|f| f.is_primary_key);
    let partition_name = |id: i64| metadata.collection.partitions.iter().find(|(_, p)| p.0 == id).map(|(name, _)| name.clone());
    let fields: Vec<Value> = schema
        .fields
        .iter()
        .map(|f| {
            json!({
                "id": f.id.0,
                "name": f.name,
                "data_type": f.data_type.name(),
                "element_type": f.element_type.map(|e| e.name()),
                "dim": f.dim(),
                "nullable": f.nullable,
                "is_primary_key": f.is_primary_key,
            })
        })
        .collect();
    let columns: Vec<String> = arrow_schema(schema).fields().iter().map(|f| f.name().clone()).collect();
    let segments: Vec<Value> = snapshot
        .manifests
        .iter()
        .map(|(key, m)| {
            let logs = |groups: &[quiver_format::snapshot::FieldBinlog]| -> Vec<Value> {
                groups.iter().flat_map(|g| &g.binlogs).map(|b| file_json(&b.file())).collect()
            };
            let index_files: Vec<Value> = m
                .index_files
                .iter()
                .flat_map(|index| {
                    index.files().map(move |file| {
                        let mut value = file_json(&file);
                        value["index_name"] = json!(index.index_name);
                        value["field_id"] = json!(index.field_id.0);
                        value["build_id"] = json!(index.build_id.0);
                        value
                    })
                })
                .collect();
            json!({
                "segment_id": m.segment_id.0,
                "partition_id": m.partition_id.0,
                "partition_name": partition_name(m.partition_id.0),
                "rows": m.num_of_rows,
                "manifest_key": key,
                "insert_logs": logs(&m.binlog_files),
                "delete_logs": logs(&m.deltalog_files),
                "index_files": index_files,
            })
        })
        .collect();
    json!({
        "root": root.display,
        "collection": {
            "name": metadata.collection.collection_name,
            "id": info.collection_id.0,
            "db_name": metadata.collection.db_name,
        },
        "snapshot": {
            "name": info.name,
            "id": info.id.0,
            "create_ts": info.create_ts.0,
            "created_at": render::rfc3339_ms(info.create_ts.physical_ms()),
            "metadata_key": snapshot.metadata_key,
        },
        "schema": {
            "primary_key": pk.map(|f| f.name.clone()),
            "primary_key_type": pk.map(|f| f.data_type.name()),
            "dynamic_field": schema.enable_dynamic_field,
            "columns": columns,
            "fields": fields,
        },
        "segments": segments,
    })
}

pub fn run(root: &StorageRoot, snapshot: &Snapshot, json: bool) -> Result<(), InspectError> {
    if json {
        print_json(&describe(root, snapshot));
        return Ok(());
    }
    let mut rows = Vec::new();
    for (_, m) in &snapshot.manifests {
        let mut push = |kind: &str, file: FileRef| {
            rows.push(vec![
                m.segment_id.0.to_string(),
                m.partition_id.0.to_string(),
                kind.to_string(),
                file.size.to_string(),
                render::crc(file.crc32c),
                file.rows.to_string(),
                file.key,
            ]);
        };
        for binlog in m.binlog_files.iter().flat_map(|g| &g.binlogs) {
            push("insert", binlog.file());
        }
        for binlog in m.deltalog_files.iter().flat_map(|g| &g.binlogs) {
            push("delete", binlog.file());
        }
        for file in m.index_files.iter().flat_map(|i| i.files()) {
            push("index", file);
        }
    }
    say(render::table(&["SEGMENT", "PARTITION", "KIND", "SIZE", "CRC32C", "ROWS", "KEY"], &rows).trim_end());
    Ok(())
}
