//! `inspect` over a snapshot written by `quiver_format` alone (`fixture.rs`).

use super::fixture;
use super::verify::{self, Problem};
use super::{ExportFormat, InspectError, catalog, export};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType as ArrowType;
use bytes::Bytes;
use quiver_format::logs::read_parquet;
use serde_json::{Value, json};

/// `inspect` must read snapshots with the format and storage crates only: no engine, no
/// protobuf, nothing else of the server.
#[test]
fn inspect_uses_only_format_and_storage() {
    let sources = [
        ("mod.rs", include_str!("mod.rs")),
        ("catalog.rs", include_str!("catalog.rs")),
        ("export.rs", include_str!("export.rs")),
        ("files.rs", include_str!("files.rs")),
        ("progress.rs", include_str!("progress.rs")),
        ("render.rs", include_str!("render.rs")),
        ("root.rs", include_str!("root.rs")),
        ("rows.rs", include_str!("rows.rs")),
        ("show.rs", include_str!("show.rs")),
        ("snapshots.rs", include_str!("snapshots.rs")),
        ("verify.rs", include_str!("verify.rs")),
    ];
    let forbidden = ["quiver_engine", "quiver_proto", "quiver_index", "quiver_expr", "crate::"];
    for (file, text) in sources {
        // `crate::text` is the one shared module allowed: plain-text shapes over std only.
        for line in text.lines().map(|l| l.replace("crate::text::", "")) {
            for word in forbidden {
                assert!(!line.contains(word), "inspect/{file} uses {word}: {line}");
            }
        }
    }
}

#[tokio::test]
async fn snapshots_are_found_by_collection_name_or_id() {
    let f = fixture::write();
    let by_name = catalog::resolve(&f.root, "books", "nightly").await.unwrap();
    let by_id = catalog::resolve(&f.root, "7", "nightly").await.unwrap();
    assert_eq!(by_name.metadata, by_id.metadata);
    assert_eq!(by_name.manifests.len(), 2);
    assert_eq!(by_name.metadata_key, "snapshots/7/metadata/9.json");
}

#[tokio::test]
async fn unknown_names_list_what_exists() {
    let f = fixture::write();
    let error = catalog::resolve(&f.root, "books", "weekly").await.err().unwrap();
    assert!(matches!(error, InspectError::SnapshotNotFound { .. }), "{error}");
    assert!(error.to_string().contains("its snapshots: nightly"), "{error}");
    let error = catalog::resolve(&f.root, "films", "nightly").await.err().unwrap();
    assert!(error.to_string().contains("collections with snapshots: books (id 7)"), "{error}");
}

#[tokio::test]
async fn a_newer_format_version_is_refused_with_its_message() {
    let f = fixture::write();
    let path = f.dir.path().join("snapshots/7/metadata/99.json");
    std::fs::write(&path, br#"{"format_version": 2, "anything": "new"}"#).unwrap();
    let error = catalog::resolve(&f.root, "7", "future").await.err().unwrap();
    let text = error.to_string();
    assert!(text.contains("snapshot format version 2 is too new, current supported version: 1 (please upgrade Quiver)"), "{text}");
    // The readable snapshot next to it still works.
    assert!(catalog::resolve(&f.root, "books", "nightly").await.is_ok());
}

fn read_jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn export_applies_each_segments_deletes_up_to_the_snapshot() {
    let f = fixture::write();
    let snapshot = catalog::resolve(&f.root, "books", "nightly").await.unwrap();
    let out = f.dir.path().join("out-jsonl");
    export::run(&f.root, &snapshot, ExportFormat::Jsonl, &out, false).await.unwrap();
    let rows = read_jsonl(&out.join("data.jsonl"));
    let pks: Vec<i64> = rows.iter().map(|r| r["pk"].as_i64().unwrap()).collect();
    assert_eq!(pks, [2, 4, 3, 5], "segment 1 keeps 2 and 4 (4's delete is after the snapshot); segment 2 keeps 3 and 5");
    assert_eq!(rows[0], json!({"pk": 2, "title": "book 2", "vec": [2.0, 0.5], "shelf": 2}));
    assert!(rows.iter().all(|r| r.get("$ts").is_none() && r.get("$meta").is_none()));
}

#[tokio::test]
async fn parquet_export_has_vectors_as_lists_per_segment_or_in_one_file() {
    let f = fixture::write();
    let snapshot = catalog::resolve(&f.root, "books", "nightly").await.unwrap();
    let per_segment = f.dir.path().join("out-segments");
    export::run(&f.root, &snapshot, ExportFormat::Parquet, &per_segment, false).await.unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(&per_segment).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["segment-1.parquet", "segment-2.parquet"]);
    let single = f.dir.path().join("out-single");
    export::run(&f.root, &snapshot, ExportFormat::Parquet, &single, true).await.unwrap();
    let batches = read_parquet(Bytes::from(std::fs::read(single.join("data.parquet")).unwrap()), None).unwrap();
    let schema = batches[0].schema();
    let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(columns, ["pk", "title", "vec", "$meta"]);
    assert!(matches!(schema.field(2).data_type(), ArrowType::List(_)));
    let pks: Vec<i64> =
        batches.iter().flat_map(|b| b.column(0).as_primitive::<arrow_array::types::Int64Type>().values().to_vec()).collect();
    assert_eq!(pks, [2, 4, 3, 5]);
    assert_eq!(batches[0].column(2).as_list::<i32>().value(0).len(), 2);
    // A non-empty output directory is refused rather than mixed into.
    let error = export::run(&f.root, &snapshot, ExportFormat::Parquet, &single, true).await.err().unwrap();
    assert!(matches!(error, InspectError::OutputNotEmpty(_)), "{error}");
}

#[tokio::test]
async fn verify_names_every_bad_or_missing_file() {
    let f = fixture::write();
    let clean = verify::check(&f.root, "books", "nightly", 2).await.unwrap();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!(clean.checked(), 1 + 2 + 3);

    // One flipped byte in an insert log, one missing delete log, one missing manifest.
    let insert = f.dir.path().join(&f.insert_log);
    let mut bytes = std::fs::read(&insert).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&insert, &bytes).unwrap();
    std::fs::remove_file(f.dir.path().join("delta_log/7/8/1/101.parquet")).unwrap();
    std::fs::remove_file(f.dir.path().join("snapshots/7/manifests/9/2.avro")).unwrap();
    let report = verify::check(&f.root, "books", "nightly", 2).await.unwrap();
    let keys: Vec<&str> = report.problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["delta_log/7/8/1/101.parquet", f.insert_log.as_str(), "snapshots/7/manifests/9/2.avro"]);
    assert!(matches!(report.problems[0].1, Problem::Missing));
    assert!(matches!(report.problems[1].1, Problem::Crc { .. }));
    assert!(matches!(report.problems[2].1, Problem::Missing));

    // Export refuses the corrupt file instead of reading garbage.
    let snapshot = catalog::resolve(&f.root, "books", "nightly").await;
    assert!(snapshot.is_err(), "the missing manifest fails the resolve");
}

#[tokio::test]
async fn export_refuses_a_file_that_does_not_match_its_manifest() {
    let f = fixture::write();
    let snapshot = catalog::resolve(&f.root, "books", "nightly").await.unwrap();
    let insert = f.dir.path().join(&f.insert_log);
    let mut bytes = std::fs::read(&insert).unwrap();
    bytes.push(0);
    std::fs::write(&insert, &bytes).unwrap();
    let error = export::run(&f.root, &snapshot, ExportFormat::Jsonl, &f.dir.path().join("o"), false).await.err().unwrap();
    assert!(matches!(error, InspectError::Mismatch { .. }), "{error}");
    assert!(error.to_string().contains(&f.insert_log), "{error}");
}
