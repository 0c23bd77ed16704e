//! The index builder's records in the metadata store.
//!
//! | key | value |
//! | --- | --- |
//! | `data/index_build/<collection>/<segment>/<index_id>` | [`IndexBuild`] JSON |

use quiver_base::{BuildId, FieldId, IndexId, SegmentId};
use quiver_format::FileRef;
use serde::{Deserialize, Serialize};

pub mod keys {
    use quiver_base::{CollectionId, IndexId, SegmentId};

    pub const BUILD_PREFIX: &str = "data/index_build/";

    pub fn build(collection: CollectionId, segment: SegmentId, index: IndexId) -> String {
        format!("{BUILD_PREFIX}{:020}/{:020}/{:020}", collection.0, segment.0, index.0)
    }

    /// The prefix of one collection's build records.
    pub fn builds_of(collection: CollectionId) -> String {
        format!("{BUILD_PREFIX}{:020}/", collection.0)
    }
}

/// One index build: the index file of one segment for one index definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexBuild {
    pub build_id: BuildId,
    pub index_id: IndexId,
    pub segment: SegmentId,
    pub field_id: FieldId,
    pub file: FileRef,
    pub rows: u64,
}
