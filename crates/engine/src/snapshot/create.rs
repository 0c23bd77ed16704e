//! CreateSnapshot: claim the name and record PENDING (one conditional metadata write),
//! write the manifests and the metadata JSON, then record COMMITTED. No data file is
//! copied: the cost grows with the number of segments, not with bytes.

use super::model::{CapturedIndex, CapturedSegment, SnapshotRecord, SnapshotState, keys};
use super::{MAX_COMPACTION_PROTECTION_SECONDS, files, now_ms};
use crate::Engine;
use crate::catalog::encode;
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use quiver_base::SnapshotId;
use quiver_storage::{MetaError, Txn};

impl Engine {
    /// Create a snapshot of a collection's sealed data (flush first to include
    /// everything written).
    ///
    /// # Cancel safety
    /// Cancelling after the PENDING record leaves an invisible snapshot that the sweeper
    /// removes; the server runs this in a spawned task.
    pub async fn create_snapshot(
        &self,
        db: &str,
        collection: &str,
        name: &str,
        description: &str,
        compaction_protection_seconds: i64,
    ) -> Result<()> {
        names::validate(NameKind::Snapshot, name)?;
        if compaction_protection_seconds < 0 {
            return Err(EngineError::InvalidParameter("compaction_protection_seconds must be non-negative: invalid parameter".to_string()));
        }
        if compaction_protection_seconds > MAX_COMPACTION_PROTECTION_SECONDS {
            return Err(EngineError::InvalidParameter(format!(
                "compaction_protection_seconds must not exceed {MAX_COMPACTION_PROTECTION_SECONDS}: invalid parameter"
            )));
        }
        let collection = self.snapshot_collection(db, collection, "create snapshot")?;
        let _ddl = self.snapshot_ddl.lock().await;
        let taken = {
            let book = self.snapshots.lock().expect("snapshot book poisoned");
            book.records.values().any(|r| r.collection_id == collection.id && r.name == name)
        };
        if taken {
            return Err(EngineError::SnapshotExists { collection_id: collection.id.0, name: name.to_string() });
        }
        let (create_ts, captures) = self.data.capture(&collection).await?;
        let id = SnapshotId(self.allocate_id().await?);
        let now = now_ms();
        let index_name = |index_id| collection.indexes.iter().find(|d| d.id == index_id).map(|d| d.name.clone()).unwrap_or_default();
        let mut record = SnapshotRecord {
            id,
            name: name.to_string(),
            description: description.to_string(),
            collection_id: collection.id,
            partition_ids: collection.partitions.iter().map(|p| p.id).collect(),
            create_ts,
            s3_location: String::new(),
            state: SnapshotState::Pending,
            pending_start_ms: now,
            compaction_expire_s: if compaction_protection_seconds > 0 { now / 1000 + compaction_protection_seconds as u64 } else { 0 },
            pins: Default::default(),
            segments: captures
                .iter()
                .map(|c| CapturedSegment {
                    segment: c.meta.id,
                    partition: c.meta.partition,
                    rows: c.meta.rows,
                    insert_logs: c.meta.insert_logs.clone(),
                    delta_logs: c.meta.delta_logs.clone(),
                    indexes: c
                        .builds
                        .iter()
                        .map(|b| CapturedIndex {
                            index_name: index_name(b.index_id),
                            field_id: b.field_id.0,
                            build_id: b.build_id,
                            file: b.file.clone(),
                            rows: b.rows,
                        })
                        .collect(),
                    min_ts: c.meta.min_ts,
                    max_ts: c.meta.max_ts,
                })
                .collect(),
            manifests: Vec::new(),
        };
        // Phase 1: the name claim and the PENDING record, in one conditional write.
        let name_key = keys::name(collection.id, name);
        let txn = Txn::new()
            .when_absent(&name_key)
            .put(&name_key, id.0.to_be_bytes().to_vec())
            .put(keys::record(collection.id, id), encode(&record));
        match self.meta.commit(txn).await {
            Err(MetaError::ConditionFailed { .. }) => {
                return Err(EngineError::SnapshotExists { collection_id: collection.id.0, name: name.to_string() });
            }
            other => other?,
        }
        self.snapshots.lock().expect("snapshot book poisoned").records.insert(id, record.clone());
        crate::failpoint::hit("snapshot.create.after_pending");
        // Phase 2: the files, then COMMITTED.
        match files::write(self, &collection, &record).await {
            Ok((manifests, metadata_key)) => {
                record.manifests = manifests;
                record.s3_location = metadata_key;
                record.state = SnapshotState::Committed;
                crate::failpoint::hit("snapshot.create.before_commit");
                self.save_record(&record).await
            }
            Err(error) => {
                // Best effort now; the sweeper finishes it if this fails too.
                if let Err(cleanup) = self.finish_drop(&record).await {
                    tracing::warn!(snapshot = %name, error = %cleanup, "cleanup of a failed snapshot create is left to the sweeper");
                }
                Err(error)
            }
        }
    }
}
