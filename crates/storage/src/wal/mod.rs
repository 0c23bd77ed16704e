//! The write-ahead log: a durable, append-only sequence of opaque byte payloads, each
//! numbered by a log sequence number ([`Lsn`]), kept in a directory of its own.
//!
//! A write is acknowledged only after its record is written **and** (with
//! [`WalOptions::sync`]) `fdatasync`ed, so an acknowledged write survives `kill -9` and
//! power loss. Replay after a restart returns every intact record in lsn order.
//!
//! # Files
//!
//! The directory holds segment files named `<first_lsn:020>.wal` (e.g.
//! `00000000000000000001.wal`), where `first_lsn` is the lsn of the file's first record (or,
//! for a file still empty, of the record it will receive first). Files are ordered by that
//! number, never by listing order. The last file is the *active* one; appends go only
//! there. When a record would grow the active file beyond [`WalOptions::segment_bytes`]
//! (and the file is not empty), the file is synced and a new one named after the next lsn
//! is created, then the directory is fsynced so the new name survives a crash.
//!
//! # Record format
//!
//! A file is a plain concatenation of records, with no file header:
//!
//! | offset | size | field   | meaning                                                   |
//! | ------ | ---- | ------- | --------------------------------------------------------- |
//! | 0      | 4    | `len`   | payload length in bytes, u32 little-endian, ≤ 256 MiB     |
//! | 4      | 4    | `crc`   | crc32c of the 8 `lsn` bytes followed by the payload, u32 LE |
//! | 8      | 8    | `lsn`   | the record's lsn, u64 little-endian                       |
//! | 16     | len  | payload | opaque bytes                                              |
//!
//! # Invariants
//!
//! - Lsns start at 1 and grow by exactly 1 from record to record within a file; the first
//!   record of a file has the lsn in its name; across files they strictly increase (a gap
//!   is possible only where [`Wal::open`] was given an `after` beyond every stored lsn).
//! - Lsns never go backwards across restarts, even when every record was truncated away:
//!   the active file's name keeps the next lsn.
//! - Only the tail of the last file can be torn (records are appended there only, and a
//!   file is synced before the next one is created). Recovery therefore truncates a
//!   partial or checksum-failing tail of the last file (it was never acknowledged) and
//!   treats the same damage in any earlier file as an error naming the file and offset.
//! - One writer thread owns the active file, assigns lsns and performs every write and
//!   sync (group commit, see `writer.rs`). After an I/O error it is *poisoned*: it fails
//!   that whole group and refuses every later append, so an unsynced write is never
//!   acknowledged.

mod error;
mod log;
mod record;
mod recovery;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

pub use error::{Corruption, WalError};
pub use log::{Wal, WalStats};
pub use record::MAX_PAYLOAD_BYTES;

/// A log sequence number. The first record of a log has lsn 1; `Lsn(0)` means "none".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    /// "No record": what an empty log reports as its last lsn, and the `after` that
    /// replays everything.
    pub const ZERO: Lsn = Lsn(0);
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How a [`Wal`] writes.
#[derive(Clone, Debug)]
pub struct WalOptions {
    /// Start a new file when a record would make the active one larger than this.
    /// A single record larger than this gets a file of its own.
    pub segment_bytes: u64,
    /// `fdatasync` before acknowledging an append. Turning this off keeps records in the
    /// OS page cache only: they survive a process crash but not a power loss.
    pub sync: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions { segment_bytes: 64 * 1024 * 1024, sync: true }
    }
}

/// What [`Wal::open`] hands back for replay: every intact record after the requested lsn,
/// in lsn order.
pub type Replay = Vec<(Lsn, Vec<u8>)>;

pub type Result<T, E = WalError> = std::result::Result<T, E>;
