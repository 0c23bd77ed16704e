//! All of Quiver's durable I/O: the metadata store (`meta`), object storage (`objects`)
//! and the write-ahead log (`wal`). Nothing above this crate touches a file.

pub mod meta;
pub mod objects;
pub mod wal;

pub use meta::{MemMetaStore, MetaError, MetaStore, RedbMetaStore, Txn};
pub use objects::{ObjectStoreConfig, S3Config};
pub use wal::{Lsn, Wal, WalError, WalOptions};
