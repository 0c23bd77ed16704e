//! A reference to one stored file, with what a reader needs to trust it.

use serde::{Deserialize, Serialize};

/// Every file a segment, index build or snapshot references is recorded with its full
/// key (never re-derived, so a segment may point into another collection's prefix), its
/// size, its CRC-32C and, for data files, its row count.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileRef {
    pub key: String,
    pub size: u64,
    pub crc32c: u32,
    pub rows: u64,
}

impl FileRef {
    /// Describe `bytes` stored under `key`.
    pub fn of(key: impl Into<String>, bytes: &[u8], rows: u64) -> FileRef {
        FileRef { key: key.into(), size: bytes.len() as u64, crc32c: crc32c::crc32c(bytes), rows }
    }

    /// Whether `bytes` are exactly the file this reference describes.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        bytes.len() as u64 == self.size && crc32c::crc32c(bytes) == self.crc32c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_changed_bytes() {
        let file = FileRef::of("insert_log/1/2/3/4.parquet", b"hello", 1);
        assert_eq!(file.size, 5);
        assert_eq!(file.crc32c, 0x9a71_bb4c);
        assert!(file.matches(b"hello"));
        assert!(!file.matches(b"hellp"));
        assert!(!file.matches(b"hello!"));
    }
}
