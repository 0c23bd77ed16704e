//! What every engine component shares: the metadata store, the object store, the clock,
//! timestamps and ids, the failpoints, and this process's session. Components hold an
//! `Arc<Context>` and nothing else of one another's, so each is built in a test from an
//! in-memory metadata store, an in-memory or fault-injecting object store and a manual
//! clock.
//!
//! Object I/O goes through the helpers here so every failure names the operation, the
//! object and its kind ([`StorageError`]).

use crate::error::{Result, StorageError};
use crate::failpoint::Failpoints;
use crate::ids::IdAllocator;
use crate::tso::TimestampOracle;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use quiver_base::{Clock, Timestamp};
use quiver_format::FileRef;
use quiver_storage::MetaStore;
use std::sync::Arc;

pub struct Context {
    pub meta: Arc<dyn MetaStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub clock: Arc<dyn Clock>,
    pub tso: TimestampOracle,
    pub ids: IdAllocator,
    pub failpoints: Failpoints,
    /// This process's session (see `gc::sessions`): what it stages is alive while the
    /// session is.
    pub session: i64,
}

impl Context {
    /// Open the timestamp oracle and id allocator over `meta` and take a session id.
    pub async fn open(meta: Arc<dyn MetaStore>, objects: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Result<Context> {
        let tso = TimestampOracle::open(Arc::clone(&clock), Arc::clone(&meta)).await?;
        let ids = IdAllocator::open(Arc::clone(&meta)).await?;
        let session = ids.next().await?;
        Ok(Context { meta, objects, clock, tso, ids, failpoints: Failpoints::default(), session })
    }

    /// Wall-clock milliseconds, from the clock (never `SystemTime` directly).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub async fn next_id(&self) -> Result<i64> {
        self.ids.next().await
    }

    pub async fn next_ts(&self) -> Result<Timestamp> {
        self.tso.next().await
    }

    /// Pass a failpoint (see `failpoint`).
    pub fn failpoint(&self, point: &'static str) -> Result<()> {
        self.failpoints.hit(point)
    }

    /// Write one object and describe it.
    pub async fn put_file(&self, key: &str, bytes: Vec<u8>, rows: u64) -> Result<FileRef> {
        let file = FileRef::of(key, &bytes, rows);
        self.put_object(key, bytes).await?;
        Ok(file)
    }

    pub async fn put_object(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.objects.put(&ObjectPath::from(key), bytes.into()).await.map_err(|e| StorageError::new("write", key, &e))?;
        Ok(())
    }

    pub async fn read(&self, key: &str) -> Result<Bytes> {
        let read = async { self.objects.get(&ObjectPath::from(key)).await?.bytes().await };
        Ok(read.await.map_err(|e| StorageError::new("read", key, &e))?)
    }

    /// Read an object and check it is exactly the file that was recorded.
    pub async fn read_verified(&self, file: &FileRef) -> Result<Bytes> {
        let bytes = self.read(&file.key).await?;
        if !file.matches(&bytes) {
            return Err(StorageError::corrupt(
                &file.key,
                format!("expected {} bytes with crc32c {:08x}, found {} bytes", file.size, file.crc32c, bytes.len()),
            )
            .into());
        }
        Ok(bytes)
    }

    /// Delete an object; one already gone counts as deleted.
    pub async fn delete_object(&self, key: &str) -> Result<()> {
        match self.objects.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::new("delete", key, &e).into()),
        }
    }

    /// Every object under `prefix` (in no particular order).
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        Ok(self.objects.list(Some(&ObjectPath::from(prefix))).try_collect().await.map_err(|e| StorageError::new("list", prefix, &e))?)
    }

    /// Delete every object under `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        for object in self.list(prefix).await? {
            self.delete_object(object.location.as_ref()).await?;
        }
        Ok(())
    }
}
