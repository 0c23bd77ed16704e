//! RestoreSnapshot, the synchronous part: validate, pin the snapshot, read its metadata
//! and manifests, create the target collection (same schema and field ids, properties,
//! consistency level, description, partitions, indexes with new ids), plan every file
//! copy, and record the job durably. The copying is `jobs.rs`.

use super::model::{CopyTask, JobState, RestoreJob, TargetSegment, keys};
use super::{RESTORE_PIN_TTL_MS, files, now_ms, required};
use crate::Engine;
use crate::catalog::NewCollection;
use crate::catalog::encode;
use crate::catalog::model::{Collection, DEFAULT_DATABASE, DEFAULT_PARTITION};
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use quiver_base::{BuildId, CollectionId, JobId, PartitionId, SegmentId};
use quiver_format::keys as object_keys;
use std::collections::BTreeMap;
use std::sync::Arc;

impl Engine {
    /// Start restoring snapshot `name` of `collection` into a new collection; returns the
    /// job id. The new collection exists (empty, not loaded) when this returns.
    pub async fn restore_snapshot(
        self: &Arc<Self>,
        db: &str,
        collection: &str,
        name: &str,
        target_db: &str,
        target: &str,
    ) -> Result<JobId> {
        names::validate(NameKind::Snapshot, name)?;
        let source = self.snapshot_collection(db, collection, "restore snapshot")?;
        required(target, "target_collection_name is required for restore snapshot")?;
        names::validate(NameKind::Collection, target)?;
        let target_db = if target_db.is_empty() { DEFAULT_DATABASE } else { target_db };
        self.catalog.describe_database(target_db)?;
        let pin_id = self.pin(&source, name, now_ms() + RESTORE_PIN_TTL_MS).await?;
        match self.plan_restore(&source, name, target_db, target, pin_id).await {
            Ok(job) => {
                let id = job.id;
                Arc::clone(self).start_job(id);
                Ok(id)
            }
            Err(error) => {
                self.unpin_snapshot(pin_id).await.ok();
                Err(error)
            }
        }
    }

    async fn plan_restore(&self, source: &Collection, name: &str, target_db: &str, target: &str, pin_id: i64) -> Result<RestoreJob> {
        let record = self.committed(source, name)?;
        let snapshot = files::read(self, &record).await?;
        let described = &snapshot.metadata.collection;

        let mut schema = described.schema.clone();
        schema.name = target.to_string();
        let mut properties = described.properties.clone();
        properties.insert("preserve_field_ids".to_string(), "true".to_string());
        // The target must not exist: the exclusive create refuses it atomically (and an
        // alias of that name), so concurrent restores into one name cannot share it.
        let created = self
            .catalog
            .create_new_collection(
                target_db,
                NewCollection {
                    name: target.to_string(),
                    schema: schema.clone(),
                    shards_num: described.num_shards as i32,
                    consistency_level: files::consistency(&described.consistency_level),
                    properties,
                    num_partitions: described.num_partitions,
                },
            )
            .await?;
        let result = self.fill_target(&created.collection, &snapshot, target_db, &schema).await;
        let target_collection = match result {
            Ok(collection) => collection,
            Err(error) => {
                // Nothing was copied yet: roll back the new collection.
                self.catalog.drop_collection(target_db, target).await.ok();
                return Err(error);
            }
        };

        // Plan the copies: new segment and build ids, target keys.
        let partition_by_source: BTreeMap<PartitionId, PartitionId> =
            described.partitions.iter().filter_map(|(name, id)| target_collection.partition(name).map(|p| (*id, p.id))).collect();
        let mut tasks = Vec::new();
        let mut segments = Vec::new();
        for entry in &snapshot.manifests {
            let source_partition = entry.partition_id;
            let partition = *partition_by_source.get(&source_partition).ok_or_else(|| {
                EngineError::InvalidParameter(format!("partition {source_partition} from snapshot not found in target collection"))
            })?;
            let segment = SegmentId(self.allocate_id().await?);
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
                let key = object_keys::insert_log(target_collection.id, partition, segment, self.allocate_id().await?);
                planned.insert_tasks.push(tasks.len());
                tasks.push(CopyTask { source: file, target_key: key, done: false });
            }
            for file in files::logs(&entry.deltalog_files) {
                let key = object_keys::delta_log(target_collection.id, partition, segment, self.allocate_id().await?);
                planned.delta_tasks.push(tasks.len());
                tasks.push(CopyTask { source: file, target_key: key, done: false });
            }
            for (index_name, field_id, file) in files::index_files(entry) {
                let build = BuildId(self.allocate_id().await?);
                let key = object_keys::index_file(build, 1, partition, segment, "index");
                let rows = file.rows;
                planned.index_tasks.push((index_name, field_id, build, tasks.len(), rows));
                tasks.push(CopyTask { source: file, target_key: key, done: false });
            }
            segments.push(planned);
        }
        let job = RestoreJob {
            id: JobId(self.allocate_id().await?),
            snapshot_name: name.to_string(),
            snapshot_id: record.id,
            source_collection: source.id,
            target_collection: target_collection.id,
            target_db: target_db.to_string(),
            target_name: target.to_string(),
            state: JobState::Pending,
            reason: String::new(),
            pin_id,
            start_ms: now_ms(),
            end_ms: 0,
            tasks,
            segments,
            progress: 0,
        };
        self.save_job(&job).await?;
        crate::failpoint::hit("restore.after_job_saved");
        Ok(job)
    }

    /// User partitions and indexes of the restored collection; returns it as created.
    async fn fill_target(
        &self,
        target: &Collection,
        snapshot: &files::ReadSnapshot,
        target_db: &str,
        schema: &quiver_format::schema::CollectionSchema,
    ) -> Result<Collection> {
        let created_ids: Vec<i64> = target.schema.fields.iter().map(|f| f.id.0).collect();
        let snapshot_ids: Vec<i64> = schema.fields.iter().map(|f| f.id.0).collect();
        if created_ids != snapshot_ids {
            return Err(EngineError::InvalidParameter(format!(
                "cannot preserve field ids of the snapshot: snapshot has {snapshot_ids:?}, new collection got {created_ids:?}"
            )));
        }
        if !target.has_partition_key() {
            for name in snapshot.metadata.collection.partitions.keys().filter(|n| n.as_str() != DEFAULT_PARTITION) {
                self.catalog.create_partition(target_db, &target.name, name).await?;
            }
        }
        for index in &snapshot.metadata.indexes {
            let field = schema.fields.iter().find(|f| f.id == index.field_id).ok_or_else(|| {
                EngineError::InvalidParameter(format!(
                    "index {} refers to field id {} missing from the snapshot schema",
                    index.index_name, index.field_id
                ))
            })?;
            let mut params = index.params.clone();
            params.insert("index_type".to_string(), index.index_type.clone());
            if !index.metric_type.is_empty() {
                params.insert("metric_type".to_string(), index.metric_type.clone());
            }
            self.catalog.create_index(target_db, &target.name, &field.name, &index.index_name, &params).await?;
        }
        Ok(self.catalog.describe_collection(target_db, &target.name)?.collection)
    }

    pub(super) async fn save_job(&self, job: &RestoreJob) -> Result<()> {
        self.meta.put(&keys::job(job.id), encode(job)).await?;
        self.snapshots.lock().expect("snapshot book poisoned").jobs.insert(job.id, job.clone());
        Ok(())
    }

    /// The collection a job restores into, if it still exists.
    pub(super) fn target_of(&self, id: CollectionId) -> Option<Collection> {
        self.catalog.all_collections().into_iter().find(|c| c.id == id)
    }
}
