//! `quiver inspect show`: one snapshot in full: metadata, schema, indexes, and each
//! segment's manifest with its files (key, size, CRC-32C, rows). `--json` prints the
//! decoded metadata and manifests as they are in the files.

use super::catalog::Snapshot;
use super::root::StorageRoot;
use super::{InspectError, print_json, render, say};
use quiver_format::snapshot::ManifestEntry;
use serde_json::json;
use std::fmt::Write;

pub fn run(root: &StorageRoot, snapshot: &Snapshot, json: bool) -> Result<(), InspectError> {
    if json {
        let manifests: Vec<_> = snapshot
            .manifests
            .iter()
            .map(|(key, manifest)| json!({"key": key, "manifest": serde_json::to_value(manifest).expect("manifests serialize")}))
            .collect();
        print_json(&json!({
            "root": root.display,
            "metadata_key": snapshot.metadata_key,
            "metadata": serde_json::to_value(&snapshot.metadata).expect("metadata serializes"),
            "manifests": manifests,
        }));
    } else {
        say(text(snapshot).trim_end());
    }
    Ok(())
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".to_string() } else { text }
}

fn text(snapshot: &Snapshot) -> String {
    let metadata = &snapshot.metadata;
    let info = &metadata.snapshot_info;
    let collection = &metadata.collection;
    let entries = || snapshot.manifests.iter().map(|(_, m)| m);
    let rows: u64 = entries().map(|m| m.num_of_rows).sum();
    let deletes: u64 = entries().flat_map(|m| &m.deltalog_files).flat_map(|g| &g.binlogs).map(|b| b.entries_num).sum();
    let bytes: u64 = entries().flat_map(ManifestEntry::files).map(|f| f.size).sum();
    let partition_name =
        |id: i64| collection.partitions.iter().find(|(_, p)| p.0 == id).map(|(name, _)| name.clone()).unwrap_or_else(|| "?".into());
    let mut partitions: Vec<(String, i64)> = collection.partitions.iter().map(|(n, p)| (n.clone(), p.0)).collect();
    partitions.sort_by_key(|(_, id)| *id);

    let header = [
        ("Snapshot", format!("{} (id {})", info.name, info.id)),
        ("Description", or_dash(info.description.clone())),
        ("Collection", format!("{} (id {}) in database {}", collection.collection_name, info.collection_id, collection.db_name)),
        ("Created", format!("{} (create_ts {})", render::utc(info.create_ts), info.create_ts)),
        ("State in file", format!("{} (written before commit; the server's record is authoritative)", info.state.as_str())),
        ("Format version", metadata.format_version.to_string()),
        ("Metadata", snapshot.metadata_key.clone()),
        ("Partitions", partitions.iter().map(|(n, id)| format!("{n} ({id})")).collect::<Vec<_>>().join(", ")),
        ("Shards", collection.num_shards.to_string()),
        ("Consistency", collection.consistency_level.clone()),
        ("Properties", or_dash(collection.properties.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))),
        ("Aliases", or_dash(collection.aliases.join(", "))),
        (
            "Contents",
            format!(
                "{}, {}, {}, {}",
                crate::text::count(snapshot.manifests.len(), "segment"),
                crate::text::count(rows as usize, "row"),
                crate::text::count(deletes as usize, "delete"),
                render::size(bytes)
            ),
        ),
    ];
    let width = header.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in header {
        let _ = writeln!(out, "{key:<width$}  {value}");
    }

    let schema = &collection.schema;
    let _ = writeln!(
        out,
        "\nSchema {} (dynamic field: {}, auto id: {})",
        schema.name,
        if schema.enable_dynamic_field { "yes, column $meta" } else { "no" },
        if schema.auto_id { "yes" } else { "no" }
    );
    let fields: Vec<Vec<String>> =
        schema.fields.iter().map(|f| vec![f.id.0.to_string(), f.name.clone(), render::field_type(f), render::field_flags(f)]).collect();
    out.push_str(&render::table(&["ID", "NAME", "TYPE", "FLAGS"], &fields));
    out.push('\n');

    out.push_str("\nIndexes\n");
    if metadata.indexes.is_empty() {
        out.push_str("none\n");
    } else {
        let field_name = |id: i64| schema.fields.iter().find(|f| f.id.0 == id).map(|f| f.name.clone()).unwrap_or_else(|| "?".into());
        let indexes: Vec<Vec<String>> = metadata
            .indexes
            .iter()
            .map(|i| {
                vec![
                    i.index_name.clone(),
                    i.index_id.0.to_string(),
                    format!("{} ({})", field_name(i.field_id.0), i.field_id.0),
                    i.index_type.clone(),
                    or_dash(i.metric_type.clone()),
                    or_dash(i.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")),
                ]
            })
            .collect();
        out.push_str(&render::table(&["NAME", "ID", "FIELD", "TYPE", "METRIC", "PARAMS"], &indexes));
        out.push('\n');
    }

    out.push_str("\nSegments\n");
    if snapshot.manifests.is_empty() {
        out.push_str("none (the collection had no sealed data when the snapshot was taken)\n");
    }
    for (key, manifest) in &snapshot.manifests {
        let _ = writeln!(
            out,
            "segment {} in partition {} ({}): {} rows, level {}, channel {}, manifest {key}",
            manifest.segment_id,
            partition_name(manifest.partition_id.0),
            manifest.partition_id,
            manifest.num_of_rows,
            manifest.segment_level,
            manifest.channel_name,
        );
        let mut files: Vec<Vec<String>> = Vec::new();
        let mut push = |kind: String, file: quiver_format::FileRef| {
            files.push(vec![format!("  {kind}"), file.key, file.size.to_string(), render::crc(file.crc32c), file.rows.to_string()]);
        };
        for binlog in manifest.binlog_files.iter().flat_map(|g| &g.binlogs) {
            push("insert".into(), binlog.file());
        }
        for binlog in manifest.deltalog_files.iter().flat_map(|g| &g.binlogs) {
            push("delete".into(), binlog.file());
        }
        for index in &manifest.index_files {
            for file in index.files() {
                push(format!("index {}", index.index_name), file);
            }
        }
        out.push_str(&render::table(&["  KIND", "KEY", "SIZE", "CRC32C", "ROWS"], &files));
        out.push('\n');
    }
    out
}
