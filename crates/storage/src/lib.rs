//! All of Quiver's durable I/O. Today: the metadata store (`meta`). Object storage and
//! the write-ahead log join it here, so that nothing above this crate touches a file.

pub mod meta;

pub use meta::{MemMetaStore, MetaError, MetaStore, RedbMetaStore, Txn};
