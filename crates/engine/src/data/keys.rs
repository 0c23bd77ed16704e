//! Metadata keys of the data component (see also `catalog::keys`).
//!
//! | key | value |
//! | --- | --- |
//! | `data/segment/<collection>/<segment>` | [`SegmentMeta`](super::SegmentMeta) JSON |
//! | `data/checkpoint/<collection>` | last WAL lsn whose effects are in segments (u64 BE) |
//! | `data/revision/<collection>` | the segment revision (u64 BE; absent = 0): compare-and-set by every commit that changes the collection's segments |

use crate::error::{EngineError, Result};
use quiver_base::{CollectionId, SegmentId};
use quiver_storage::Txn;

pub const SEGMENT_PREFIX: &str = "data/segment/";
pub const CHECKPOINT_PREFIX: &str = "data/checkpoint/";
pub const REVISION_PREFIX: &str = "data/revision/";

pub fn segment(collection: CollectionId, segment: SegmentId) -> String {
    format!("{SEGMENT_PREFIX}{:020}/{:020}", collection.0, segment.0)
}

/// The prefix of one collection's segment records.
pub fn segments_of(collection: CollectionId) -> String {
    format!("{SEGMENT_PREFIX}{:020}/", collection.0)
}

pub fn checkpoint(collection: CollectionId) -> String {
    format!("{CHECKPOINT_PREFIX}{:020}", collection.0)
}

pub fn revision(collection: CollectionId) -> String {
    format!("{REVISION_PREFIX}{:020}", collection.0)
}

/// The collection id in a key `<prefix><collection>[/...]`.
pub fn collection_of(key: &str, prefix: &str) -> Result<CollectionId> {
    key.strip_prefix(prefix)
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .map(CollectionId)
        .ok_or_else(|| EngineError::CorruptMetadata { key: key.to_string(), reason: "unparsable key".to_string() })
}

pub fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// Add to `txn` the condition that `collection`'s segment revision is still `seen`, and
/// its bump to `seen + 1`.
pub fn bump_revision(txn: Txn, collection: CollectionId, seen: u64) -> Txn {
    let key = revision(collection);
    let txn = if seen == 0 { txn.when_absent(&key) } else { txn.when_equals(&key, seen.to_be_bytes().to_vec()) };
    txn.put(key, (seen + 1).to_be_bytes().to_vec())
}

/// A condition that `collection`'s segment revision is still `seen` (a capture that must
/// not commit if the segments changed after it read them).
pub fn revision_unchanged(txn: Txn, collection: CollectionId, seen: u64) -> Txn {
    let key = revision(collection);
    if seen == 0 { txn.when_absent(key) } else { txn.when_equals(key, seen.to_be_bytes().to_vec()) }
}
