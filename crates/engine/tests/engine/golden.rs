//! Golden files of the WAL entry codec (`quiver_engine::data::wal_entry`): a WAL written
//! by an older Quiver must replay after an upgrade, so entries written by version 1 are
//! kept in `tests/golden/` and must decode to exactly what they hold, forever.
//!
//! They are written once, when a version is introduced, by the ignored test below:
//! `QUIVER_BLESS_GOLDEN=1 cargo test -p quiver-engine --test engine -- --ignored bless`
//! (with new file names for a new version), and never rewritten.

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use quiver_base::{CollectionId, PartitionId};
use quiver_engine::data::wal_entry::WalEntry;
use quiver_format::logs::PkColumn;
use std::sync::Arc;

fn golden(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

/// The entries of the version-1 golden files, by file name.
fn entries() -> Vec<(&'static str, WalEntry)> {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("pk", Arc::new(Int64Array::from(vec![7, -3, 1 << 40]))),
        ("title", Arc::new(StringArray::from(vec![Some("a"), None, Some("ü")]))),
        ("$ts", Arc::new(UInt64Array::from(vec![449_000_000_000_000_001u64; 3]))),
    ];
    let batch = RecordBatch::try_from_iter_with_nullable(columns.into_iter().map(|(n, a)| (n, a, n == "title"))).unwrap();
    vec![
        ("wal_insert_v1.bin", WalEntry::Insert { collection: CollectionId(11), partition: PartitionId(12), batch }),
        (
            "wal_delete_int_v1.bin",
            WalEntry::Delete {
                collection: CollectionId(11),
                partition: None,
                pks: PkColumn::Int(vec![7, -3]),
                ts: 449_000_000_000_000_002,
            },
        ),
        (
            "wal_delete_str_v1.bin",
            WalEntry::Delete {
                collection: CollectionId(13),
                partition: Some(PartitionId(14)),
                pks: PkColumn::Str(vec!["x".into(), "üñî".into(), String::new()]),
                ts: 449_000_000_000_000_003,
            },
        ),
    ]
}

#[test]
fn version_1_wal_entries_decode_to_what_they_hold() {
    for (file, expected) in entries() {
        let bytes = std::fs::read(golden(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        // The delete encoding is Quiver's own and must not drift; an insert carries an
        // Arrow IPC stream, whose bytes may differ between Arrow releases but whose
        // reading may not.
        if let WalEntry::Delete { .. } = expected {
            assert_eq!(expected.encode().unwrap(), bytes, "{file}: the encoder still writes version 1");
        }
        let decoded = WalEntry::decode(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        match (decoded, expected) {
            (WalEntry::Insert { collection, partition, batch }, WalEntry::Insert { collection: c, partition: p, batch: b }) => {
                assert_eq!((collection, partition, batch), (c, p, b), "{file}");
            }
            (WalEntry::Delete { collection, partition, pks, ts }, WalEntry::Delete { collection: c, partition: p, pks: k, ts: t }) => {
                assert_eq!((collection, partition, pks, ts), (c, p, k, t), "{file}");
            }
            (decoded, _) => panic!("{file} decoded to the wrong kind: {decoded:?}"),
        }
    }
}

#[test]
#[ignore = "writes the golden files; run once when a version is introduced"]
fn bless() {
    if std::env::var("QUIVER_BLESS_GOLDEN").as_deref() != Ok("1") {
        return;
    }
    for (file, entry) in entries() {
        let path = golden(file);
        assert!(!path.exists(), "{file} exists: golden files are never rewritten");
        std::fs::write(path, entry.encode().unwrap()).unwrap();
    }
}
