//! Opening a log directory: read every segment that may hold records after `after`,
//! check the lsn sequence, repair a torn tail of the last segment, and decide where the
//! writer continues.
//!
//! Damage is repaired only at the end of the last segment, where a crash mid-write leaves
//! it and where nothing was ever acknowledged (acknowledgement follows the sync). Anywhere
//! else it means lost acknowledged data, so it is an error for a human to look at.

use super::record;
use super::{Corruption, Lsn, Replay, Result, WalError, segment};
use std::fs::{self, File, OpenOptions};
use std::path::Path;

/// What the writer needs to continue the log, plus the records to replay.
pub(crate) struct Recovered {
    /// First lsns of all segments, ascending; the last one is `active`.
    pub segments: Vec<u64>,
    pub active: File,
    /// Length of `active` in bytes (after any tail repair).
    pub active_len: u64,
    /// The lsn the next record gets.
    pub next_lsn: u64,
    /// Intact records with lsn > `after`, in lsn order.
    pub records: Replay,
}

/// The result of reading one segment.
struct Scan {
    /// One past the last intact record's lsn (the file's first lsn when it has none).
    next_lsn: u64,
    /// Where the first damaged record starts, and what is wrong with it.
    damage: Option<(u64, Corruption)>,
}

/// Recover the log in `dir`, which exists and is locked by the caller.
pub(crate) fn recover(dir: &Path, after: Lsn) -> Result<Recovered> {
    let mut segments = segment::list(dir)?;
    let mut records = Vec::new();
    // The active segment as found on disk: (first lsn, next lsn, valid length).
    let mut tail = None;
    let mut previous_last: Option<u64> = None;

    for (i, &first) in segments.iter().enumerate() {
        let path = segment::path(dir, first);
        let is_last = i + 1 == segments.len();
        // Every record of this file is below the next file's first lsn; if that is at
        // most `after + 1`, they are all durable elsewhere and not worth reading.
        if !is_last && segments[i + 1] <= after.0.saturating_add(1) {
            previous_last = None;
            continue;
        }
        if let Some(previous_last) = previous_last.filter(|&last| first <= last) {
            let damage = Corruption::Overlap { first, previous_last };
            return Err(WalError::Corrupt { path, offset: 0, damage });
        }
        let bytes = fs::read(&path).map_err(|e| WalError::io("read", &path, e))?;
        let scan = scan(&bytes, first, after, &mut records);
        let mut valid_len = bytes.len() as u64;
        match scan.damage {
            None => {}
            Some((offset, damage)) if is_last && damage.is_torn_write() => {
                tracing::warn!(
                    path = %path.display(),
                    offset,
                    dropped_bytes = valid_len - offset,
                    %damage,
                    "truncating the torn tail of the write-ahead log"
                );
                truncate(&path, offset)?;
                valid_len = offset;
            }
            Some((offset, damage)) => return Err(WalError::Corrupt { path, offset, damage }),
        }
        previous_last = Some(scan.next_lsn - 1);
        if is_last {
            tail = Some((first, scan.next_lsn, valid_len));
        }
    }

    // Continue after the last stored lsn, or after `after` if the caller has seen more
    // (everything was checkpointed and truncated, say): lsns never go backwards.
    let stored_next = tail.map_or(1, |(_, next, _)| next);
    let next_lsn = stored_next.max(after.0.saturating_add(1));
    let (active, active_len) = match tail {
        Some((first, next, len)) if next == next_lsn => (segment::open_append(dir, first)?, len),
        _ => {
            // A record with `next_lsn` must open a file named after it, so start one.
            let file = segment::create(dir, next_lsn)?;
            segments.push(next_lsn);
            // An old active segment that never got a record is now only a stale lsn floor;
            // remove it (after the new file exists, so a crash in between keeps a floor).
            if let Some((first, _, _)) = tail.filter(|&(first, next, _)| first == next) {
                let path = segment::path(dir, first);
                fs::remove_file(&path).map_err(|e| WalError::io("remove", &path, e))?;
                segment::sync_dir(dir)?;
                segments.retain(|&f| f != first);
            }
            (file, 0)
        }
    };
    Ok(Recovered { segments, active, active_len, next_lsn, records })
}

/// Read the records of one segment whose first lsn is `first`, pushing those after
/// `after` onto `out`, until the end of the bytes or the first damaged record.
fn scan(bytes: &[u8], first: u64, after: Lsn, out: &mut Replay) -> Scan {
    let mut offset = 0;
    let mut expected = first;
    while offset < bytes.len() {
        let decoded = match record::decode(&bytes[offset..]) {
            Ok(decoded) => decoded,
            Err(damage) => return Scan { next_lsn: expected, damage: Some((offset as u64, damage)) },
        };
        if decoded.lsn != expected {
            let damage = Corruption::UnexpectedLsn { expected, found: decoded.lsn };
            return Scan { next_lsn: expected, damage: Some((offset as u64, damage)) };
        }
        if decoded.lsn > after.0 {
            out.push((Lsn(decoded.lsn), decoded.payload.to_vec()));
        }
        expected += 1;
        offset += decoded.size;
    }
    Scan { next_lsn: expected, damage: None }
}

/// Cut `path` to `len` bytes, durably: the writer appends right after, and a crash must
/// not bring the garbage back between old and new records.
fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| WalError::io("open", path, e))?;
    file.set_len(len).map_err(|e| WalError::io("truncate", path, e))?;
    file.sync_all().map_err(|e| WalError::io("fsync", path, e))
}

/// Create the log directory if missing, durably (its entry lives in the parent).
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| WalError::io("create directory", dir, e))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => segment::sync_dir(parent),
        _ => Ok(()),
    }
}
