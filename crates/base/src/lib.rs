//! The vocabulary every Quiver crate shares: typed identifiers, hybrid timestamps and
//! the clock. Depends on none of our crates.

mod clock;
mod ids;
mod timestamp;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{BuildId, CollectionId, DatabaseId, FieldId, IndexId, JobId, PartitionId, SegmentId, SnapshotId};
pub use timestamp::Timestamp;
