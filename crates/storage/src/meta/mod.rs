//! The metadata store: a small transactional key-value interface that holds the catalog,
//! the timestamp oracle's high-water mark and the id allocator.
//!
//! Keys are UTF-8 strings (so prefix scans are readable and ordered), values are bytes.
//! Every change goes through [`MetaStore::commit`], which applies a batch of puts and
//! deletes atomically, and only if every condition in it holds: this is the one
//! conditional write that makes a catalog change (and later a snapshot) visible.
//!
//! Backends: [`RedbMetaStore`] (embedded, the default), [`MemMetaStore`] (tests), and
//! later etcd. All of them pass the same conformance suite (`conformance.rs`).

mod memory;
mod redb_store;
mod txn;

#[cfg(test)]
mod conformance;

pub use memory::MemMetaStore;
pub use redb_store::RedbMetaStore;
pub use txn::{Condition, Op, Txn};

use async_trait::async_trait;

/// Errors of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A condition of a transaction did not hold; nothing was written.
    #[error("metadata transaction condition failed on key {key}")]
    ConditionFailed { key: String },
    /// The embedded store failed (I/O, corruption).
    #[error("embedded metadata store: {0}")]
    Redb(#[from] redb::Error),
    /// The blocking task running the store operation panicked or was cancelled.
    #[error("metadata store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The store could not be reached or refused the operation (a remote backend that is
    /// down, or a fault injected by a test).
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    /// Another process holds the embedded store open.
    #[error("it is in use by another process (is another quiver server running on this data directory?)")]
    InUse,
}

pub type Result<T, E = MetaError> = std::result::Result<T, E>;

/// A transactional key-value store for metadata.
///
/// # Cancel safety
/// `commit` either applies the whole batch or none of it. If the future is dropped after
/// the backend started the commit, the commit may still complete: callers must treat a
/// cancelled commit as "unknown" and re-read, never as "not applied".
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// The value at `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Every `(key, value)` whose key starts with `prefix`, in key order.
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;

    /// [`scan_prefix`](Self::scan_prefix) of each of `prefixes`, all read as of one
    /// instant: no commit lands between the reads of two prefixes. A reader that must
    /// see a reference that moves from one prefix to another (GC's reference set) reads
    /// them in one view, so it sees the reference in one place or the other, never in
    /// neither.
    async fn scan_prefixes(&self, prefixes: &[&str]) -> Result<Vec<Vec<(String, Vec<u8>)>>>;

    /// Apply `txn` atomically and durably if all its conditions hold.
    async fn commit(&self, txn: Txn) -> Result<()>;

    /// Whether only one process can use the store at a time (an embedded file the
    /// process locks, or memory): then every session another process recorded in it
    /// belongs to a process that is gone.
    fn single_process(&self) -> bool;

    /// Put one key (an unconditional one-op transaction).
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.commit(Txn::new().put(key, value)).await
    }

    /// Delete one key; deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<()> {
        self.commit(Txn::new().delete(key)).await
    }
}
