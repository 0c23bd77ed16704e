//! DropSnapshot (DELETING, then the snapshot's own files, then the record), the
//! cascade on DropCollection, and the sweeper that finishes interrupted creates and
//! drops and reaps expired pins.

use super::model::{SnapshotRecord, SnapshotState, keys};
use super::now_ms;
use crate::Engine;
use crate::catalog::model::Collection;
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use quiver_base::CollectionId;
use quiver_storage::Txn;

/// PENDING records older than this belong to a create that died.
const PENDING_TIMEOUT_MS: u64 = 60 * 60 * 1000;

impl Engine {
    /// Drop a snapshot. Unknown names succeed (as in Milvus); pinned snapshots (explicit
    /// pins or a running restore) are refused.
    pub async fn drop_snapshot(&self, db: &str, collection: &str, name: &str) -> Result<()> {
        names::validate(NameKind::Snapshot, name)?;
        let collection = self.snapshot_collection(db, collection, "drop snapshot")?;
        let _ddl = self.snapshot_ddl.lock().await;
        let Ok(record) = self.committed(&collection, name) else {
            return Ok(());
        };
        if record.active_pins(now_ms()) > 0 {
            return Err(EngineError::SnapshotPinned { name: name.to_string() });
        }
        self.drop_record(record).await
    }

    /// DELETING (invisible at once), then the files and the record.
    async fn drop_record(&self, mut record: SnapshotRecord) -> Result<()> {
        record.state = SnapshotState::Deleting;
        self.save_record(&record).await?;
        crate::failpoint::hit("snapshot.drop.after_deleting");
        self.finish_drop(&record).await
    }

    /// Delete a snapshot's manifests and metadata JSON, then its record and name claim.
    /// Never touches data or index files. Idempotent.
    pub(super) async fn finish_drop(&self, record: &SnapshotRecord) -> Result<()> {
        // A create that died may have written files it had not recorded yet: the metadata
        // key is derived, the manifests are found by listing their directory.
        let metadata_key = quiver_format::keys::snapshot_metadata(record.collection_id, record.id);
        let own_files = record.manifests.iter().chain([&record.s3_location, &metadata_key]).filter(|k| !k.is_empty());
        for key in own_files {
            match self.objects.delete(&ObjectPath::from(key.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(EngineError::Storage(format!("cannot delete {key}: {e}"))),
            }
        }
        self.delete_prefix(&quiver_format::keys::snapshot_manifest_dir(record.collection_id, record.id)).await?;
        crate::failpoint::hit("snapshot.drop.after_files");
        let claim = keys::name(record.collection_id, &record.name);
        let claimed_by_this = self.meta.get(&claim).await?.is_some_and(|v| v == record.id.0.to_be_bytes());
        let mut txn = Txn::new().delete(keys::record(record.collection_id, record.id));
        if claimed_by_this {
            txn = txn.delete(claim);
        }
        self.meta.commit(txn).await?;
        self.snapshots.lock().expect("snapshot book poisoned").records.remove(&record.id);
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        use futures::TryStreamExt;
        let listed: Vec<_> = self
            .objects
            .list(Some(&ObjectPath::from(prefix)))
            .try_collect()
            .await
            .map_err(|e| EngineError::Storage(format!("cannot list {prefix}: {e}")))?;
        for object in listed {
            match self.objects.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(EngineError::Storage(format!("cannot delete {}: {e}", object.location))),
            }
        }
        Ok(())
    }

    /// Drop every unpinned snapshot of a dropped collection (pinned ones stay until
    /// unpinned; the sweeper drops them then).
    pub(crate) async fn drop_collection_snapshots(&self, collection: CollectionId) -> Result<()> {
        let _ddl = self.snapshot_ddl.lock().await;
        let now = now_ms();
        let doomed: Vec<SnapshotRecord> = {
            let book = self.snapshots.lock().expect("snapshot book poisoned");
            book.records.values().filter(|r| r.collection_id == collection && r.active_pins(now) == 0).cloned().collect()
        };
        for record in doomed {
            self.drop_record(record).await?;
        }
        Ok(())
    }

    /// Finish interrupted creates and drops, reap expired pins, and drop unpinned
    /// snapshots of collections that no longer exist.
    pub async fn sweep_snapshots(&self, collections: &[Collection]) -> Result<()> {
        let _ddl = self.snapshot_ddl.lock().await;
        let now = now_ms();
        let records: Vec<SnapshotRecord> = self.snapshots.lock().expect("snapshot book poisoned").records.values().cloned().collect();
        for mut record in records {
            let expired = record.pins.iter().filter(|(_, e)| **e != 0 && **e <= now).map(|(id, _)| *id).collect::<Vec<_>>();
            if !expired.is_empty() {
                expired.iter().for_each(|id| {
                    record.pins.remove(id);
                });
                self.save_record(&record).await?;
            }
            let orphan = !collections.iter().any(|c| c.id == record.collection_id);
            // A create that began before this process started died with its process.
            let stale_pending = record.state == SnapshotState::Pending
                && (record.pending_start_ms < self.started_ms || now.saturating_sub(record.pending_start_ms) > PENDING_TIMEOUT_MS);
            if record.state == SnapshotState::Deleting || stale_pending {
                self.finish_drop(&record).await?;
            } else if orphan && record.active_pins(now) == 0 {
                self.drop_record(record).await?;
            }
        }
        Ok(())
    }
}
