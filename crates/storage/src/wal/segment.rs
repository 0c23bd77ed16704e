//! Segment files on disk: their names, listing them in lsn order, creating one durably.
//!
//! A segment is named `<first_lsn:020>.wal`. Zero padding keeps names sortable by eye, but
//! the code never relies on listing order: it parses and sorts the numbers.

use super::{Result, WalError};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".wal";

/// The path of the segment whose first lsn is `first_lsn`.
pub(crate) fn path(dir: &Path, first_lsn: u64) -> PathBuf {
    dir.join(format!("{first_lsn:020}{SUFFIX}"))
}

/// The first lsns of every segment in `dir`, ascending. Files not ending in `.wal` are
/// ignored (they are not ours); a `.wal` file with any other name is an error, since it
/// may hold records we would otherwise silently skip.
pub(crate) fn list(dir: &Path) -> Result<Vec<u64>> {
    let entries = fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    let mut firsts = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SUFFIX) else { continue };
        match stem.parse::<u64>() {
            // Lsn 0 is "no record": no segment can start there.
            Ok(first) if first > 0 && stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) => firsts.push(first),
            _ => return Err(WalError::UnexpectedFile { path: entry.path() }),
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

/// Create the empty segment `first_lsn` (it must not exist) and make its name durable.
pub(crate) fn create(dir: &Path, first_lsn: u64) -> Result<File> {
    let path = path(dir, first_lsn);
    let file = OpenOptions::new().append(true).create_new(true).open(&path).map_err(|e| WalError::io("create", &path, e))?;
    // Without this a crash can lose the directory entry, and with it every record
    // acknowledged into the new file.
    sync_dir(dir)?;
    Ok(file)
}

/// Open an existing segment for appending.
pub(crate) fn open_append(dir: &Path, first_lsn: u64) -> Result<File> {
    let path = path(dir, first_lsn);
    OpenOptions::new().append(true).open(&path).map_err(|e| WalError::io("open", &path, e))
}

/// fsync a directory, so that entries created or removed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| WalError::io("fsync directory", dir, e))?;
    }
    // Other platforms cannot open a directory as a file; their filesystems journal
    // metadata, which is the best available there.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
