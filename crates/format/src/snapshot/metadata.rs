//! The snapshot metadata file, `snapshots/<collection_id>/metadata/<snapshot_id>.json`:
//! the entry point of a snapshot.
//!
//! Pretty-printed JSON with snake_case keys. Ids, sizes and timestamps are JSON numbers
//! (unlike Milvus's protojson, which writes 64-bit integers as strings). Maps are
//! written in key order, so the same value always encodes to the same bytes.
//!
//! Versioning: `format_version` is [`METADATA_FORMAT_VERSION`] in every file this code
//! writes. A reader treats an absent or 0 version as 1, refuses a newer one with
//! [`SnapshotFormatError::MetadataVersionTooNew`] before looking at anything else, and
//! ignores keys it does not know.

use super::error::{Result, SnapshotFormatError};
use crate::schema::CollectionSchema;
use quiver_base::{BuildId, CollectionId, FieldId, IndexId, PartitionId, SegmentId, SnapshotId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metadata format version this code writes and the newest it reads.
pub const METADATA_FORMAT_VERSION: u32 = 1;

/// Everything a restore needs besides the segment manifests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMetadata {
    /// Version of this file's layout. [`SnapshotMetadata::encode`] always writes
    /// [`METADATA_FORMAT_VERSION`]; [`SnapshotMetadata::decode`] returns the version the
    /// file carried (absent or 0 read as 1).
    #[serde(default)]
    pub format_version: u32,
    pub snapshot_info: SnapshotInfo,
    pub collection: CollectionDescription,
    /// Index definitions at capture time (ids are the source collection's).
    #[serde(default)]
    pub indexes: Vec<IndexInfo>,
    /// Full object keys of every segment manifest (`.avro`), one per captured segment.
    #[serde(default)]
    pub manifest_list: Vec<String>,
    /// Every captured segment.
    #[serde(default)]
    pub segment_ids: Vec<SegmentId>,
    /// Every index build referenced by a manifest.
    #[serde(default)]
    pub build_ids: Vec<BuildId>,
}

/// What the snapshot is: Milvus's `SnapshotInfo` less the fields that only live in the
/// metadata store (metadata path, pins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub name: String,
    pub id: SnapshotId,
    #[serde(default)]
    pub description: String,
    pub collection_id: CollectionId,
    /// Every partition at capture time, `_default` included.
    #[serde(default)]
    pub partition_ids: Vec<PartitionId>,
    /// The snapshot timestamp (hybrid): the snapshot holds exactly the rows and deletes
    /// visible at this time.
    pub create_ts: Timestamp,
    /// The state when the file was written. The file is written before the snapshot
    /// commits, so it normally says `Pending`: trust the metadata store's record.
    pub state: SnapshotState,
    /// When creation started (Unix milliseconds).
    #[serde(default)]
    pub pending_start_ms: u64,
    /// Until when compaction of the captured segments is held off (Unix seconds; 0 = not).
    #[serde(default)]
    pub compaction_expire_s: u64,
}

/// A snapshot's lifecycle state as persisted. Transitions live with the lifecycle code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SnapshotState {
    /// Being created: files may be partly written; invisible to clients.
    Pending,
    /// Complete and visible.
    Committed,
    /// Being dropped: invisible; files are being removed.
    Deleting,
}

impl SnapshotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotState::Pending => "Pending",
            SnapshotState::Committed => "Committed",
            SnapshotState::Deleting => "Deleting",
        }
    }
}

/// The source collection as it was at capture time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionDescription {
    /// The full schema, field ids included (a restore keeps them).
    pub schema: CollectionSchema,
    pub db_name: String,
    pub collection_name: String,
    /// Partitions hashed over by the partition key (0 without one).
    #[serde(default)]
    pub num_partitions: i64,
    pub num_shards: i32,
    /// `Strong`, `Session`, `Bounded`, `Eventually` or `Customized`.
    pub consistency_level: String,
    /// Collection properties (TTL, mmap, …).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub description: String,
    /// Partition name → source partition id, every partition.
    #[serde(default)]
    pub partitions: BTreeMap<String, PartitionId>,
    /// Aliases of the collection at capture time (not restored; for reference).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// One index definition on one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexInfo {
    /// The source index id (a restore allocates new ones).
    pub index_id: IndexId,
    pub index_name: String,
    pub field_id: FieldId,
    pub index_type: String,
    /// Empty for scalar indexes.
    #[serde(default)]
    pub metric_type: String,
    /// Build parameters such as `M`, `efConstruction`, `nlist`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

impl SnapshotMetadata {
    /// The JSON bytes of this snapshot, stamped with [`METADATA_FORMAT_VERSION`].
    pub fn encode(&self) -> Vec<u8> {
        let stamped = SnapshotMetadata { format_version: METADATA_FORMAT_VERSION, ..self.clone() };
        let mut bytes = serde_json::to_vec_pretty(&stamped).expect("snapshot metadata always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Read a metadata file. Refuses a newer format version before parsing the rest;
    /// ignores unknown keys.
    pub fn decode(bytes: &[u8]) -> Result<SnapshotMetadata> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| SnapshotFormatError::InvalidMetadata(e.to_string()))?;
        let version = match value.get("format_version") {
            None => 0,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| SnapshotFormatError::InvalidMetadata(format!("format_version is not a non-negative integer: {v}")))?,
        };
        if version > u64::from(METADATA_FORMAT_VERSION) {
            return Err(SnapshotFormatError::MetadataVersionTooNew { found: version, supported: METADATA_FORMAT_VERSION });
        }
        let mut metadata: SnapshotMetadata =
            serde_json::from_value(value).map_err(|e| SnapshotFormatError::InvalidMetadata(e.to_string()))?;
        metadata.format_version = metadata.format_version.max(1);
        Ok(metadata)
    }
}
