//! DropSnapshot (`Deleting`, then the snapshot's own files, then the record), the
//! cascade on DropCollection, and the sweeper that finishes interrupted creates and
//! drops, reaps expired pins and drops what dropped collections left.

use super::model::{SnapshotState, keys};
use super::{CONFLICT_RETRIES, Snapshots, Stored};
use crate::catalog::model::Collection;
use crate::error::{EngineError, NameKind, Result, encode};
use crate::names;
use quiver_base::CollectionId;
use quiver_storage::{MetaError, Txn};

/// Pending records older than this belong to a create that died, whoever made them.
const PENDING_TIMEOUT_MS: u64 = 60 * 60 * 1000;

impl Snapshots {
    /// Drop a snapshot. Unknown names succeed (as in Milvus); pinned snapshots (explicit
    /// pins or a running restore) are refused.
    pub async fn drop_snapshot(&self, collection: &Collection, name: &str) -> Result<()> {
        names::validate(NameKind::Snapshot, name)?;
        for _ in 0..CONFLICT_RETRIES {
            let Some(stored) = self.get(collection.id, name).await? else { return Ok(()) };
            if stored.record.state != SnapshotState::Committed {
                return Ok(());
            }
            if stored.record.active_pins(self.ctx.now_ms()) > 0 {
                return Err(EngineError::SnapshotPinned { name: name.to_string(), held_by: None });
            }
            match self.mark_deleting(&stored).await {
                Err(EngineError::Meta(MetaError::ConditionFailed { .. })) => continue,
                Ok(()) => {
                    quiver_base::metrics::snapshot_dropped();
                    tracing::info!(collection = %collection.name, snapshot = %name, id = %stored.record.id, "snapshot dropped");
                    return Ok(());
                }
                Err(error) => return Err(error),
            }
        }
        Err(EngineError::Conflict { what: format!("snapshot {name}") })
    }

    /// `Deleting` (invisible at once; a compare-and-set, so a pin that landed after the
    /// record was read fails it), then the files and the record.
    async fn mark_deleting(&self, stored: &Stored) -> Result<()> {
        let mut deleting = stored.record.clone();
        deleting.state = SnapshotState::Deleting;
        let bytes = encode(&deleting);
        let key = stored.key();
        self.ctx.meta.commit(Txn::new().when_equals(&key, stored.bytes.clone()).put(&key, bytes.clone())).await?;
        self.ctx.failpoint("snapshot.drop.after_deleting")?;
        self.finish_drop(&Stored { record: deleting, bytes }).await
    }

    /// Delete a snapshot's manifests and metadata JSON, then its record and name claim.
    /// Never touches data or index files. Idempotent.
    pub(super) async fn finish_drop(&self, stored: &Stored) -> Result<()> {
        let record = &stored.record;
        // A create that died may have written files it had not recorded yet: the metadata
        // key is derived, the manifests are found by listing their directory.
        let metadata_key = quiver_format::keys::snapshot_metadata(record.collection_id, record.id);
        for key in record.manifests.iter().chain([&record.s3_location, &metadata_key]).filter(|k| !k.is_empty()) {
            self.ctx.delete_object(key).await?;
        }
        self.ctx.delete_prefix(&quiver_format::keys::snapshot_manifest_dir(record.collection_id, record.id)).await?;
        self.ctx.failpoint("snapshot.drop.after_files")?;
        let claim = keys::name(record.collection_id, &record.name);
        let claimed_by_this = self.ctx.meta.get(&claim).await?.is_some_and(|v| v == record.id.0.to_be_bytes());
        let mut txn = Txn::new().when_equals(stored.key(), stored.bytes.clone()).delete(stored.key());
        if claimed_by_this {
            txn = txn.delete(claim);
        }
        for pin in record.pins.keys() {
            txn = txn.delete(keys::pin(*pin));
        }
        self.ctx.meta.commit(txn).await?;
        Ok(())
    }

    /// Drop every unpinned snapshot of a dropped collection (pinned ones stay until
    /// unpinned; the sweeper drops them then).
    pub async fn drop_collection_snapshots(&self, collection: CollectionId) -> Result<()> {
        let now = self.ctx.now_ms();
        for stored in self.records(Some(collection)).await? {
            if stored.record.state == SnapshotState::Committed && stored.record.active_pins(now) == 0 {
                match self.mark_deleting(&stored).await {
                    Ok(()) | Err(EngineError::Meta(MetaError::ConditionFailed { .. })) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(())
    }

    /// Finish interrupted creates and drops, reap expired pins, and drop unpinned
    /// snapshots of collections that no longer exist. A record that changed meanwhile is
    /// left for the next sweep.
    pub async fn sweep(&self) -> Result<()> {
        let now = self.ctx.now_ms();
        for stored in self.records(None).await? {
            let outcome = self.sweep_one(stored, now).await;
            match outcome {
                Ok(()) | Err(EngineError::Meta(MetaError::ConditionFailed { .. })) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    async fn sweep_one(&self, mut stored: Stored, now: u64) -> Result<()> {
        let expired: Vec<i64> = stored.record.pins.iter().filter(|(_, e)| **e != 0 && **e <= now).map(|(id, _)| *id).collect();
        if !expired.is_empty() {
            let mut record = stored.record.clone();
            let key = stored.key();
            let mut txn = Txn::new().when_equals(&key, stored.bytes.clone());
            for id in &expired {
                record.pins.remove(id);
                txn = txn.delete(keys::pin(*id));
            }
            let bytes = encode(&record);
            self.ctx.meta.commit(txn.put(&key, bytes.clone())).await?;
            stored = Stored { record, bytes };
        }
        let record = &stored.record;
        match record.state {
            SnapshotState::Deleting => self.finish_drop(&stored).await,
            SnapshotState::Pending => {
                // A legacy record (no session) begun before this process started died
                // with its process; any pending record past the timeout is dead too.
                let dead_creator = if record.session == 0 {
                    record.pending_start_ms < self.started_ms
                } else {
                    !self.session_alive(record.session).await?
                };
                if dead_creator || now.saturating_sub(record.pending_start_ms) > PENDING_TIMEOUT_MS {
                    self.finish_drop(&stored).await
                } else {
                    Ok(())
                }
            }
            SnapshotState::Committed => {
                let orphan = self.catalog.collection(record.collection_id).is_none();
                if orphan && record.active_pins(now) == 0 { self.mark_deleting(&stored).await } else { Ok(()) }
            }
        }
    }
}
