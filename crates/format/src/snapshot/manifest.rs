//! Segment manifests, `snapshots/<collection_id>/manifests/<snapshot_id>/<segment_id>.avro`:
//! every file one captured segment references.
//!
//! Each manifest is an Avro **object container file** holding exactly one
//! `ManifestEntry` record, null codec, with the writer schema (`manifest_v1.avsc`)
//! embedded in the header, so Spark, fastavro or DuckDB read it with no schema on the
//! side. (Milvus writes a bare Avro datum instead; the field names follow its V1 record
//! where they apply.)
//!
//! Versioning: the record's `format_version` is [`MANIFEST_FORMAT_VERSION`] in every
//! file this code writes. A reader treats an absent or 0 version as 1, refuses a newer
//! one with [`SnapshotFormatError::ManifestVersionTooNew`] before decoding the rest, and
//! ignores fields it does not know (the embedded writer schema says where they are).
//!
//! Encoding is deterministic: the sync marker is derived from the record's bytes, so one
//! entry always encodes to the same file.

use super::error::{Result, SnapshotFormatError};
use crate::FileRef;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::{Codec, Reader, Schema, Writer};
use quiver_base::{BuildId, FieldId, IndexId, PartitionId, SegmentId, Timestamp};
use serde::{Deserialize, Serialize, Serializer};
use std::sync::OnceLock;

/// The manifest format version this code writes and the newest it reads.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;
/// The Avro schema of format version 1, as embedded in every manifest.
pub const MANIFEST_SCHEMA_V1: &str = include_str!("manifest_v1.avsc");
/// Full name of the top-level record.
pub const MANIFEST_RECORD_NAME: &str = "quiver.snapshot.ManifestEntry";

/// `segment_level` of a sealed segment (Milvus's L1).
pub const SEGMENT_LEVEL_L1: i64 = 2;
/// `storage_version` of Quiver segments: one Parquet file per insert log.
pub const STORAGE_VERSION_PARQUET: i64 = 2;
/// `field_id` of a binlog group whose files hold every field.
pub const ALL_FIELDS: FieldId = FieldId(-1);

/// One captured segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// [`encode_manifest`] always writes [`MANIFEST_FORMAT_VERSION`];
    /// [`decode_manifest`] returns the version the file carried (absent or 0 read as 1).
    #[serde(default)]
    pub format_version: u32,
    pub segment_id: SegmentId,
    pub partition_id: PartitionId,
    /// [`SEGMENT_LEVEL_L1`] for Quiver's sealed segments.
    pub segment_level: i64,
    /// The shard (virtual channel) the segment belongs to.
    pub channel_name: String,
    /// Rows in the insert logs, deleted rows included.
    #[serde(serialize_with = "long")]
    pub num_of_rows: u64,
    /// [`STORAGE_VERSION_PARQUET`] for Quiver's segments.
    pub storage_version: i64,
    pub is_sorted: bool,
    /// Insert logs, grouped by field ([`ALL_FIELDS`] for Quiver's).
    #[serde(default)]
    pub binlog_files: Vec<FieldBinlog>,
    /// Delete logs that apply to the segment.
    #[serde(default)]
    pub deltalog_files: Vec<FieldBinlog>,
    /// One entry per index build over the segment.
    #[serde(default)]
    pub index_files: Vec<IndexFiles>,
}

/// The log files of one field (or of every field: [`ALL_FIELDS`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldBinlog {
    pub field_id: FieldId,
    pub binlogs: Vec<Binlog>,
}

/// One insert or delete log file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binlog {
    /// Rows (insert log) or deletes (delete log) in the file.
    #[serde(serialize_with = "long")]
    pub entries_num: u64,
    #[serde(serialize_with = "long_ts")]
    pub timestamp_from: Timestamp,
    #[serde(serialize_with = "long_ts")]
    pub timestamp_to: Timestamp,
    /// Full object key.
    pub log_path: String,
    #[serde(serialize_with = "long")]
    pub log_size: u64,
    pub log_id: i64,
    #[serde(serialize_with = "long")]
    pub memory_size: u64,
    #[serde(serialize_with = "long32")]
    pub crc32c: u32,
}

/// The files of one index build over one segment. `index_file_paths`, `file_sizes` and
/// `file_crc32c` are parallel lists (Avro has no tuples); [`encode_manifest`] and
/// [`decode_manifest`] refuse lists of different lengths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFiles {
    pub segment_id: SegmentId,
    pub field_id: FieldId,
    pub index_id: IndexId,
    pub build_id: BuildId,
    pub index_name: String,
    /// Index type, metric type and build parameters.
    #[serde(default)]
    pub index_params: Vec<KeyValuePair>,
    /// Full object keys.
    pub index_file_paths: Vec<String>,
    /// Total bytes of the index files.
    #[serde(serialize_with = "long")]
    pub serialized_size: u64,
    pub index_version: i64,
    /// Rows the index covers.
    #[serde(serialize_with = "long")]
    pub num_rows: u64,
    #[serde(serialize_with = "longs")]
    pub file_sizes: Vec<u64>,
    #[serde(serialize_with = "longs32")]
    pub file_crc32c: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    pub key: String,
    pub value: String,
}

impl Binlog {
    /// The log described by `file` (its key, size, CRC and rows).
    pub fn of(file: &FileRef, log_id: i64, timestamp_from: Timestamp, timestamp_to: Timestamp, memory_size: u64) -> Binlog {
        Binlog {
            entries_num: file.rows,
            timestamp_from,
            timestamp_to,
            log_path: file.key.clone(),
            log_size: file.size,
            log_id,
            memory_size,
            crc32c: file.crc32c,
        }
    }

    pub fn file(&self) -> FileRef {
        FileRef { key: self.log_path.clone(), size: self.log_size, crc32c: self.crc32c, rows: self.entries_num }
    }
}

impl IndexFiles {
    /// Every index file, with the index's row count as its rows.
    pub fn files(&self) -> impl Iterator<Item = FileRef> + '_ {
        self.index_file_paths.iter().zip(&self.file_sizes).zip(&self.file_crc32c).map(|((key, &size), &crc32c)| FileRef {
            key: key.clone(),
            size,
            crc32c,
            rows: self.num_rows,
        })
    }

    /// Add one index file (its key, size and CRC; `serialized_size` grows by its size).
    pub fn push_file(&mut self, file: &FileRef) {
        self.index_file_paths.push(file.key.clone());
        self.file_sizes.push(file.size);
        self.file_crc32c.push(file.crc32c);
        self.serialized_size += file.size;
    }

    fn check_lengths(&self) -> std::result::Result<(), String> {
        let paths = self.index_file_paths.len();
        if self.file_sizes.len() != paths || self.file_crc32c.len() != paths {
            return Err(format!(
                "index build {} lists {paths} files, {} sizes and {} checksums",
                self.build_id,
                self.file_sizes.len(),
                self.file_crc32c.len()
            ));
        }
        Ok(())
    }
}

impl ManifestEntry {
    /// Every object the segment references: insert logs, delete logs, index files.
    pub fn files(&self) -> impl Iterator<Item = FileRef> + '_ {
        let logs = self.binlog_files.iter().chain(&self.deltalog_files).flat_map(|group| &group.binlogs).map(Binlog::file);
        logs.chain(self.index_files.iter().flat_map(IndexFiles::files))
    }
}

/// The parsed schema of format version 1.
pub fn manifest_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::parse_str(MANIFEST_SCHEMA_V1).expect("manifest_v1.avsc is a valid Avro schema"))
}

/// The manifest file of `entry`, stamped with [`MANIFEST_FORMAT_VERSION`].
pub fn encode_manifest(entry: &ManifestEntry) -> Result<Vec<u8>> {
    let encode_error = |e: apache_avro::Error| SnapshotFormatError::ManifestEncode(e.to_string());
    for index in &entry.index_files {
        index.check_lengths().map_err(SnapshotFormatError::ManifestEncode)?;
    }
    let stamped = ManifestEntry { format_version: MANIFEST_FORMAT_VERSION, ..entry.clone() };
    let value = apache_avro::to_value(&stamped).map_err(encode_error)?;
    let schema = manifest_schema();
    let datum = GenericDatumWriter::builder(schema).build().and_then(|w| w.write_value_to_vec(value.clone())).map_err(encode_error)?;
    let mut writer =
        Writer::builder().schema(schema).writer(Vec::new()).codec(Codec::Null).marker(sync_marker(&datum)).build().map_err(encode_error)?;
    writer.append_value(value).map_err(encode_error)?;
    writer.into_inner().map_err(encode_error)
}

/// Read a manifest file. Refuses a newer format version before decoding the record, and
/// a file that does not hold exactly one `ManifestEntry`.
pub fn decode_manifest(bytes: &[u8]) -> Result<ManifestEntry> {
    let invalid = |message: String| SnapshotFormatError::InvalidManifest(message);
    let mut reader = Reader::new(bytes).map_err(|e| invalid(e.to_string()))?;
    match reader.writer_schema() {
        Schema::Record(record) if record.name.fullname(None) == MANIFEST_RECORD_NAME => {}
        other => {
            let name = other.name().map(|n| n.fullname(None)).unwrap_or_else(|| "a non-record schema".into());
            return Err(invalid(format!("expected a {MANIFEST_RECORD_NAME} record, found {name}")));
        }
    }
    let value = match reader.next() {
        Some(value) => value.map_err(|e| invalid(e.to_string()))?,
        None => return Err(invalid("the file holds no record".into())),
    };
    if reader.next().is_some() {
        return Err(invalid("the file holds more than one record".into()));
    }
    let Value::Record(fields) = &value else {
        return Err(invalid("the record is not a record".into()));
    };
    let version = match fields.iter().find(|(name, _)| name == "format_version") {
        None => 0,
        Some((_, Value::Int(v))) => i64::from(*v),
        Some((_, Value::Long(v))) => *v,
        Some((_, other)) => return Err(invalid(format!("format_version is not an integer: {other:?}"))),
    };
    if version > i64::from(MANIFEST_FORMAT_VERSION) {
        return Err(SnapshotFormatError::ManifestVersionTooNew { found: version, supported: MANIFEST_FORMAT_VERSION });
    }
    if version < 0 {
        return Err(invalid(format!("format_version is negative: {version}")));
    }
    let mut entry: ManifestEntry = apache_avro::from_value(&value).map_err(|e| invalid(e.to_string()))?;
    entry.format_version = entry.format_version.max(1);
    for index in &entry.index_files {
        index.check_lengths().map_err(invalid)?;
    }
    Ok(entry)
}

/// A sync marker derived from the record's bytes (any 16 bytes are valid; deriving them
/// makes encoding deterministic).
fn sync_marker(datum: &[u8]) -> [u8; 16] {
    let mut marker = [0u8; 16];
    for (seed, chunk) in marker.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&crc32c::crc32c_append(0x5155_4956 ^ seed as u32, datum).to_le_bytes());
    }
    marker
}

fn long<S: Serializer>(value: &u64, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    let value = i64::try_from(*value).map_err(|_| serde::ser::Error::custom(format!("{value} does not fit an Avro long")))?;
    serializer.serialize_i64(value)
}

fn long_ts<S: Serializer>(value: &Timestamp, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    long(&value.0, serializer)
}

fn long32<S: Serializer>(value: &u32, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_i64(i64::from(*value))
}

fn longs<S: Serializer>(values: &[u64], serializer: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        let value = i64::try_from(*value).map_err(|_| serde::ser::Error::custom(format!("{value} does not fit an Avro long")))?;
        seq.serialize_element(&value)?;
    }
    seq.end()
}

fn longs32<S: Serializer>(values: &[u32], serializer: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        seq.serialize_element(&i64::from(*value))?;
    }
    seq.end()
}
