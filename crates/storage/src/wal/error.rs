//! The one error type of the write-ahead log.
//!
//! `WalError` is `Clone` (I/O errors are shared through `Arc`) because one failed write
//! fails every append of its group, and each of them gets the same error.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Errors of the write-ahead log.
#[derive(Clone, Debug, thiserror::Error)]
pub enum WalError {
    /// An I/O operation on a log file or on the log directory failed.
    #[error("write-ahead log: {op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "fdatasync".
        op: &'static str,
        path: PathBuf,
        #[source]
        source: Arc<io::Error>,
    },
    /// A file other than the last one is damaged, or lsns are out of order. Damage at the
    /// end of the last file is a torn write and is repaired on open instead.
    #[error("write-ahead log file {} is corrupt at offset {offset}: {damage}", path.display())]
    Corrupt { path: PathBuf, offset: u64, damage: Corruption },
    /// A `.wal` file whose name is not `<20 digits>.wal`.
    #[error("unexpected file in the write-ahead log directory: {}", path.display())]
    UnexpectedFile { path: PathBuf },
    /// Another open log (in this process or another) holds the directory's lock.
    #[error("write-ahead log directory is in use: {} is locked", path.display())]
    Locked { path: PathBuf },
    /// A payload above [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES); nothing was written.
    #[error("write-ahead log payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge { len: usize, max: usize },
    /// An earlier write or sync failed, so the log no longer knows what is on disk and
    /// refuses appends until it is reopened (which recovers from the files).
    #[error("write-ahead log refuses appends after an earlier failure: {cause}")]
    Poisoned {
        #[source]
        cause: Arc<WalError>,
    },
    /// The log was closed (or its writer thread stopped) before the append was taken.
    #[error("write-ahead log is closed")]
    Closed,
}

impl WalError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io { op, path: path.into(), source: Arc::new(source) }
    }
}

/// What is wrong at a corrupt offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The file ends inside a record header or payload.
    #[error("the file ends inside a record")]
    Incomplete,
    /// The header claims a payload larger than any writer produces.
    #[error("record length {0} exceeds the payload limit")]
    LengthTooLarge(u32),
    /// The crc32c over lsn and payload does not match.
    #[error("record checksum mismatch")]
    ChecksumMismatch,
    /// An intact record carries an lsn other than the next one in sequence.
    #[error("record has lsn {found}, expected {expected}")]
    UnexpectedLsn { expected: u64, found: u64 },
    /// The file's first lsn is not above the last lsn of the file before it.
    #[error("file starts at lsn {first}, not after lsn {previous_last} of the previous file")]
    Overlap { first: u64, previous_last: u64 },
}

impl Corruption {
    /// Whether this damage is what a write cut short by a crash leaves behind, and so may
    /// be truncated away at the end of the last file. A well-formed record with the wrong
    /// lsn is not: it is a bug or a foreign file, and dropping it would hide that.
    pub(crate) fn is_torn_write(self) -> bool {
        matches!(self, Corruption::Incomplete | Corruption::LengthTooLarge(_) | Corruption::ChecksumMismatch)
    }
}
