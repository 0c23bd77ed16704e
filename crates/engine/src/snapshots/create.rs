//! CreateSnapshot: capture and claim (one conditional metadata write: the name claim and
//! the `Pending` record listing every captured file, valid only if the capture still
//! holds), write the manifests and the metadata JSON, then record `Committed` (a
//! compare-and-set on the pending record). No data file is copied: the cost grows with
//! the number of segments, not with bytes.

use super::capture::Capture;
use super::model::{CapturedIndex, CapturedSegment, SnapshotRecord, SnapshotState, keys};
use super::{CONFLICT_RETRIES, MAX_COMPACTION_PROTECTION_SECONDS, Snapshots, Stored, files};
use crate::catalog::model::Collection;
use crate::error::{EngineError, NameKind, Result, encode};
use crate::names;
use quiver_base::SnapshotId;
use quiver_storage::{MetaError, Txn};

impl Snapshots {
    /// Create a snapshot of a collection's sealed data (flush first to include
    /// everything written).
    ///
    /// # Cancel safety
    /// Cancelling after the pending record leaves an invisible snapshot that the sweeper
    /// removes once this session is gone; the server runs this in a spawned task.
    pub async fn create(&self, collection: &Collection, name: &str, description: &str, compaction_protection_seconds: i64) -> Result<()> {
        names::validate(NameKind::Snapshot, name)?;
        if compaction_protection_seconds < 0 {
            return Err(EngineError::InvalidParameter("compaction_protection_seconds must be non-negative: invalid parameter".to_string()));
        }
        if compaction_protection_seconds > MAX_COMPACTION_PROTECTION_SECONDS {
            return Err(EngineError::InvalidParameter(format!(
                "compaction_protection_seconds must not exceed {MAX_COMPACTION_PROTECTION_SECONDS}: invalid parameter"
            )));
        }
        let exists = || EngineError::SnapshotExists { collection: collection.name.clone(), name: name.to_string() };
        if self.ctx.meta.get(&keys::name(collection.id, name)).await?.is_some() {
            return Err(exists());
        }
        let id = SnapshotId(self.ctx.next_id().await?);
        let name_key = keys::name(collection.id, name);
        let mut pending = None;
        for _ in 0..CONFLICT_RETRIES {
            let capture = Capture::read(&self.ctx, collection.id, &collection.name).await?;
            let record = self.pending_record(id, name, description, compaction_protection_seconds, &capture).await?;
            let bytes = encode(&record);
            let txn = Txn::new()
                .when_absent(&name_key)
                .put(&name_key, id.0.to_be_bytes().to_vec())
                .put(keys::record(collection.id, id), bytes.clone());
            match self.ctx.meta.commit(capture.still_true(txn)).await {
                Ok(()) => {
                    pending = Some((Stored { record, bytes }, capture.collection));
                    break;
                }
                Err(MetaError::ConditionFailed { key }) if key == name_key => return Err(exists()),
                Err(MetaError::ConditionFailed { key }) if capture.is_stale(&key) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        let Some((pending, captured)) = pending else {
            return Err(EngineError::Conflict { what: format!("collection {} while its snapshot was captured", collection.name) });
        };
        self.ctx.failpoint("snapshot.create.after_pending")?;
        let info = crate::catalog::CollectionInfo {
            db_name: self.catalog.database_name(captured.db_id).unwrap_or_default(),
            aliases: self.catalog.list_aliases_of(captured.id),
            collection: captured,
        };
        let written = async {
            let (manifests, metadata_key) = files::write(&self.ctx, &info, &pending.record).await?;
            let mut committed = pending.record.clone();
            committed.manifests = manifests;
            committed.s3_location = metadata_key;
            committed.state = SnapshotState::Committed;
            self.ctx.failpoint("snapshot.create.before_commit")?;
            let key = pending.key();
            let txn = Txn::new().when_equals(&key, pending.bytes.clone()).put(&key, encode(&committed));
            self.ctx.meta.commit(txn).await.map_err(|error| match error {
                MetaError::ConditionFailed { .. } => {
                    EngineError::Conflict { what: format!("snapshot {name} (its pending record was swept)") }
                }
                other => other.into(),
            })
        }
        .await;
        if let Err(error) = written {
            if !matches!(error, EngineError::Crashed { .. }) {
                // Best effort now; the sweeper finishes it if this fails too.
                if let Err(cleanup) = self.finish_drop(&pending).await {
                    tracing::warn!(snapshot = %name, error = %cleanup, "cleanup of a failed snapshot create is left to the sweeper");
                }
            }
            return Err(error);
        }
        quiver_base::metrics::snapshot_created();
        tracing::info!(
            collection = %collection.name, snapshot = %name, id = %id,
            segments = pending.record.segments.len(), "snapshot created"
        );
        Ok(())
    }

    async fn pending_record(
        &self,
        id: SnapshotId,
        name: &str,
        description: &str,
        compaction_protection_seconds: i64,
        capture: &Capture,
    ) -> Result<SnapshotRecord> {
        // After the capture's read: every captured row was sealed before this timestamp.
        let create_ts = self.ctx.next_ts().await?;
        let now = self.ctx.now_ms();
        let collection = &capture.collection;
        let index_name = |index_id| collection.indexes.iter().find(|d| d.id == index_id).map(|d| d.name.clone()).unwrap_or_default();
        Ok(SnapshotRecord {
            id,
            name: name.to_string(),
            description: description.to_string(),
            collection_id: collection.id,
            partition_ids: collection.partitions.iter().map(|p| p.id).collect(),
            create_ts,
            s3_location: String::new(),
            state: SnapshotState::Pending,
            pending_start_ms: now,
            session: self.ctx.session,
            compaction_expire_s: if compaction_protection_seconds > 0 { now / 1000 + compaction_protection_seconds as u64 } else { 0 },
            pins: Default::default(),
            segments: capture
                .segments
                .iter()
                .map(|(meta, builds)| CapturedSegment {
                    segment: meta.id,
                    partition: meta.partition,
                    rows: meta.rows,
                    insert_logs: meta.insert_logs.clone(),
                    delta_logs: meta.delta_logs.clone(),
                    indexes: builds
                        .iter()
                        .map(|b| CapturedIndex {
                            index_name: index_name(b.index_id),
                            field_id: b.field_id.0,
                            build_id: b.build_id,
                            file: b.file.clone(),
                            rows: b.rows,
                        })
                        .collect(),
                    min_ts: meta.min_ts,
                    max_ts: meta.max_ts,
                })
                .collect(),
            manifests: Vec::new(),
        })
    }
}
