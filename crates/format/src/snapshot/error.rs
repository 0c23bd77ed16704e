//! Errors of the snapshot codecs: a file this version cannot or will not read.

/// Why a snapshot metadata file or manifest could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotFormatError {
    /// The metadata JSON was written by a newer Quiver.
    #[error("snapshot format version {found} is too new, current supported version: {supported} (please upgrade Quiver)")]
    MetadataVersionTooNew { found: u64, supported: u32 },
    /// A segment manifest was written by a newer Quiver.
    #[error("snapshot manifest format version {found} is too new, current supported version: {supported} (please upgrade Quiver)")]
    ManifestVersionTooNew { found: i64, supported: u32 },
    /// The metadata JSON is not valid JSON or lacks a required key.
    #[error("invalid snapshot metadata: {0}")]
    InvalidMetadata(String),
    /// The manifest is not an Avro object container file holding one `ManifestEntry`.
    #[error("invalid snapshot manifest: {0}")]
    InvalidManifest(String),
    /// A manifest value cannot be written (a count past `i64::MAX`, index file lists of
    /// different lengths).
    #[error("cannot encode snapshot manifest: {0}")]
    ManifestEncode(String),
}

pub type Result<T, E = SnapshotFormatError> = std::result::Result<T, E>;
