//! RestoreSnapshot, the synchronous part: validate, read the snapshot's metadata and
//! manifests, prepare the target collection (same schema and field ids, properties,
//! consistency level, description, partitions, indexes with new ids), plan every file
//! copy, and commit the target, the job and the snapshot's pin together.

use super::model::{CopyTask, JobState, RestoreJob, RestoreMode, TargetSegment, Verification, keys};
use super::{EngineError, Restore, RestoreKind};
use crate::catalog::json_index;
use crate::catalog::model::{Collection, DEFAULT_DATABASE, DEFAULT_PARTITION, MountSource};
use crate::catalog::{NewCollection, NewIndex};
use crate::error::{NameKind, Result, encode};
use crate::names;
use crate::snapshots::{Snapshots, files, required};
use quiver_base::{BuildId, JobId, PartitionId, SegmentId};
use quiver_format::keys as object_keys;
use quiver_storage::MetaError;
use std::collections::BTreeMap;

/// How long a restore's pin on its snapshot lasts if the job never ends (1 day).
const RESTORE_PIN_TTL_MS: u64 = 86_400_000;
/// How many times a restore is planned again when its snapshot changed meanwhile (a pin
/// of another restore landed first).
const PLAN_RETRIES: usize = 16;

impl Restore {
    /// Start restoring snapshot `name` of `source` into a new collection, by copies or
    /// by reference, or mounting it read-only (`kind`); returns the job id. The new
    /// collection exists (empty, not loaded) when this returns, with its job.
    pub async fn restore(&self, source: &Collection, name: &str, target_db: &str, target: &str, kind: RestoreKind) -> Result<JobId> {
        let mode = match kind {
            RestoreKind::Restore(mode) => mode,
            RestoreKind::Mount => RestoreMode::Clone,
        };
        names::validate(NameKind::Snapshot, name)?;
        required(target, "target_collection_name is required for restore snapshot")?;
        names::validate(NameKind::Collection, target)?;
        let target_db = if target_db.is_empty() { DEFAULT_DATABASE } else { target_db };
        self.catalog.describe_database(target_db)?;
        for _ in 0..PLAN_RETRIES {
            let stored = self.snapshots.committed(source, name).await?;
            let snapshot = files::read(&self.ctx, &stored.record).await?;
            let mut prepared = self.catalog.prepare_collection(target_request(&snapshot, target)).await?;
            if kind == RestoreKind::Mount {
                prepared = prepared.mount(MountSource { collection: source.name.clone(), snapshot: name.to_string() });
            }
            let created_ids: Vec<i64> = prepared.collection().schema.fields.iter().map(|f| f.id.0).collect();
            let snapshot_ids: Vec<i64> = snapshot.metadata.collection.schema.fields.iter().map(|f| f.id.0).collect();
            if created_ids != snapshot_ids {
                return Err(EngineError::Internal(format!(
                    "cannot preserve field ids of the snapshot: snapshot has {snapshot_ids:?}, new collection got {created_ids:?}"
                )));
            }
            let pin_id = self.ctx.next_id().await?;
            let job = self.plan(source, name, stored.record.id, prepared.collection(), &snapshot, pin_id, mode).await?;
            let extra = Snapshots::pin_txn(&stored, pin_id, self.ctx.now_ms() + RESTORE_PIN_TTL_MS).put(keys::job(job.id), encode(&job));
            match self.catalog.create_prepared(target_db, prepared, true, extra).await {
                Ok(_) => {
                    tracing::info!(
                        job = %job.id, source = %source.name, snapshot = %name, target = %target, mode = mode.name(),
                        files = job.tasks.len(), bytes = job.tasks.iter().map(|t| t.source.size).sum::<u64>(), "restore job started"
                    );
                    self.ctx.failpoint("restore.after_job_saved")?;
                    self.queue.send(job.id).ok();
                    return Ok(job.id);
                }
                Err(EngineError::Meta(MetaError::ConditionFailed { key })) if key == stored.key() => continue,
                Err(EngineError::DuplicateCollection { name }) => return Err(EngineError::RestoreTargetExists { name }),
                Err(error) => return Err(error),
            }
        }
        Err(EngineError::Conflict { what: format!("snapshot {name}") })
    }

    /// Plan the copies into `target`: new segment and build ids, and target keys (the
    /// snapshot's own keys when cloning).
    #[allow(clippy::too_many_arguments)]
    async fn plan(
        &self,
        source: &Collection,
        name: &str,
        snapshot_id: quiver_base::SnapshotId,
        target: &Collection,
        snapshot: &files::ReadSnapshot,
        pin_id: i64,
        mode: RestoreMode,
    ) -> Result<RestoreJob> {
        let described = &snapshot.metadata.collection;
        let partition_by_source: BTreeMap<PartitionId, PartitionId> =
            described.partitions.iter().filter_map(|(name, id)| target.partition(name).map(|p| (*id, p.id))).collect();
        let mut tasks = Vec::new();
        let mut segments = Vec::new();
        for entry in &snapshot.manifests {
            let source_partition = entry.partition_id;
            let partition = *partition_by_source.get(&source_partition).ok_or_else(|| {
                EngineError::Internal(format!("partition {source_partition} from snapshot not found in target collection"))
            })?;
            let segment = SegmentId(self.ctx.next_id().await?);
            let mut planned = TargetSegment {
                source: entry.segment_id,
                segment,
                partition,
                rows: entry.num_of_rows,
                min_ts: files::min_ts(entry),
                max_ts: files::max_ts(entry),
                insert_tasks: Vec::new(),
                delta_tasks: Vec::new(),
                index_tasks: Vec::new(),
            };
            for file in files::logs(&entry.binlog_files) {
                let key = match mode {
                    RestoreMode::Copy => object_keys::insert_log(target.id, partition, segment, self.ctx.next_id().await?),
                    RestoreMode::Clone => file.key.clone(),
                };
                planned.insert_tasks.push(tasks.len());
                tasks.push(CopyTask { source: file, target_key: key, done: false });
            }
            for file in files::logs(&entry.deltalog_files) {
                let key = match mode {
                    RestoreMode::Copy => object_keys::delta_log(target.id, partition, segment, self.ctx.next_id().await?),
                    RestoreMode::Clone => file.key.clone(),
                };
                planned.delta_tasks.push(tasks.len());
                tasks.push(CopyTask { source: file, target_key: key, done: false });
            }
            for (index_name, field_id, file) in files::index_files(entry) {
                let build = BuildId(self.ctx.next_id().await?);
                let key = match mode {
                    RestoreMode::Copy => object_keys::index_file(build, 1, partition, segment, "index"),
                    RestoreMode::Clone => file.key.clone(),
                };
                let rows = file.rows;
                planned.index_tasks.push((index_name, field_id, build, tasks.len(), rows));
                tasks.push(CopyTask { source: file, target_key: key, done: false });
            }
            segments.push(planned);
        }
        Ok(RestoreJob {
            id: JobId(self.ctx.next_id().await?),
            snapshot_name: name.to_string(),
            snapshot_id,
            source_collection: source.id,
            target_collection: target.id,
            target_db: String::new(),
            target_name: target.name.clone(),
            state: JobState::Pending,
            reason: String::new(),
            pin_id,
            start_ms: self.ctx.now_ms(),
            end_ms: 0,
            tasks,
            segments,
            progress: 0,
            mode,
            verification: match mode {
                RestoreMode::Copy => Verification::BeforeCompleted,
                RestoreMode::Clone if self.verify_clones => Verification::Pending,
                RestoreMode::Clone => Verification::Skipped,
            },
        })
    }
}

/// The target collection as the snapshot describes its source: schema (field ids kept),
/// properties, consistency level, shards, partitions and index definitions.
fn target_request(snapshot: &files::ReadSnapshot, target: &str) -> NewCollection {
    let described = &snapshot.metadata.collection;
    let mut schema = described.schema.clone();
    schema.name = target.to_string();
    let mut properties = described.properties.clone();
    properties.insert("preserve_field_ids".to_string(), "true".to_string());
    let partitions = if described.num_partitions > 0 {
        Vec::new()
    } else {
        described.partitions.keys().filter(|n| n.as_str() != DEFAULT_PARTITION).cloned().collect()
    };
    let indexes = snapshot
        .metadata
        .indexes
        .iter()
        .map(|index| {
            let field_name = json_index::field_name(&schema, index.field_id, &index.params);
            let mut params = index.params.clone();
            params.insert("index_type".to_string(), index.index_type.clone());
            if !index.metric_type.is_empty() {
                params.insert("metric_type".to_string(), index.metric_type.clone());
            }
            NewIndex { field_name, index_name: index.index_name.clone(), params }
        })
        .collect();
    NewCollection {
        name: target.to_string(),
        schema,
        shards_num: described.num_shards,
        consistency_level: files::consistency(&described.consistency_level),
        properties,
        num_partitions: described.num_partitions,
        partitions,
        indexes,
    }
}
