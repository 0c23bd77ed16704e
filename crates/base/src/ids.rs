//! Typed identifiers. Each kind of object gets its own type so a segment id can never be
//! passed where a collection id is expected. All of them come from one persisted
//! allocator (see `quiver-engine`'s `ids` module) and are plain `i64` on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(/// A database.
DatabaseId);
id_type!(/// A collection.
CollectionId);
id_type!(/// A partition of a collection.
PartitionId);
id_type!(/// A field of a collection schema. User fields start at 100, as in Milvus.
FieldId);
id_type!(/// A segment (a unit of rows stored together).
SegmentId);
id_type!(/// An index definition on a field.
IndexId);
id_type!(/// One build of an index over one segment.
BuildId);
id_type!(/// A collection snapshot.
SnapshotId);
id_type!(/// A background job such as a restore. Starts at 1: pymilvus rejects job id 0.
JobId);
