//! Snapshot file formats: the metadata JSON (the entry point) and one Avro manifest per
//! captured segment. Pure: bytes in, values out; the lifecycle (create, drop, restore,
//! GC) lives in the engine.
//!
//! ```text
//! snapshots/<collection_id>/metadata/<snapshot_id>.json              SnapshotMetadata
//! snapshots/<collection_id>/manifests/<snapshot_id>/<segment_id>.avro ManifestEntry
//! ```
//!
//! (Keys are spelled by [`crate::keys::snapshot_metadata`] and
//! [`crate::keys::snapshot_manifest`].) A snapshot copies no data: manifests reference
//! the live segments' insert logs, delete logs and index files by full object key, each
//! with its size and CRC-32C, so a restore can verify every copy and GC can see every
//! reference ([`ManifestEntry::files`]).
//!
//! Both files carry a `format_version`. Writers always write the current version;
//! readers take absent or 0 as 1 and refuse a newer version with a typed error before
//! decoding anything else. Golden files in `crates/format/tests/golden/` hold each
//! version this crate has written and must stay readable. `docs/FORMAT.md` tables every
//! key and field.

mod error;
pub mod manifest;
pub mod metadata;

pub use error::{Result, SnapshotFormatError};
pub use manifest::{
    Binlog, FieldBinlog, IndexFiles, KeyValuePair, MANIFEST_FORMAT_VERSION, ManifestEntry, decode_manifest, encode_manifest,
};
pub use metadata::{CollectionDescription, IndexInfo, METADATA_FORMAT_VERSION, SnapshotInfo, SnapshotMetadata, SnapshotState};
