//! The vocabulary every Quiver crate shares: typed identifiers, hybrid timestamps, the
//! clock and the metrics the process exports. Depends on none of our crates.

mod clock;
mod ids;
pub mod metrics;
mod timestamp;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{BuildId, CollectionId, DatabaseId, FieldId, IndexId, JobId, PartitionId, SegmentId, SnapshotId};
pub use timestamp::Timestamp;
