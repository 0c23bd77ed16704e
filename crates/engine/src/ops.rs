//! The operations the server calls that involve both the catalog and the data path.
//! Names are resolved here (database, collection or alias, partitions), so the data path
//! works with ids only.

use crate::Engine;
use crate::catalog::IndexInfo;
use crate::catalog::model::{Collection, DEFAULT_PARTITION};
use crate::data::{
    CompactionPlan, CompactionTrigger, FlushOutcome, GcReport, IndexProgress, InsertColumns, MutationOutcome, QueryOutput, QueryRequest,
    SearchOutput, SearchRequest,
};
use crate::error::{EngineError, Result};
use quiver_base::{CollectionId, IndexId, PartitionId, SegmentId};
use quiver_expr::TemplateValue;
use std::collections::{HashMap, HashSet};

/// Largest `offset + limit` of a query, as in Milvus.
const MAX_QUERY_WINDOW: usize = 16_384;

/// A segment as GetPersistentSegmentInfo / GetQuerySegmentInfo report it.
#[derive(Clone, Debug)]
pub struct SegmentInfo {
    pub id: SegmentId,
    pub partition: PartitionId,
    pub rows: u64,
    pub sealed: bool,
}

impl Engine {
    fn collection(&self, db: &str, name: &str) -> Result<Collection> {
        Ok(self.catalog.describe_collection(db, name)?.collection)
    }

    /// The partition a write names (`""`: none, i.e. the default or the partition key's).
    fn write_partition(collection: &Collection, name: &str) -> Result<Option<PartitionId>> {
        if name.is_empty() {
            return Ok(None);
        }
        if collection.has_partition_key() {
            return Err(EngineError::InvalidParameter(
                "not support manually specifying the partition names if partition key mode is used".to_string(),
            ));
        }
        collection
            .partition(name)
            .map(|p| Some(p.id))
            .ok_or_else(|| EngineError::PartitionNotFound { collection: collection.name.clone(), name: name.to_string() })
    }

    fn read_partitions(collection: &Collection, names: &[String]) -> Result<Option<Vec<PartitionId>>> {
        if names.is_empty() {
            return Ok(None);
        }
        names
            .iter()
            .map(|name| {
                collection
                    .partition(name)
                    .map(|p| p.id)
                    .ok_or_else(|| EngineError::PartitionNotFound { collection: collection.name.clone(), name: name.clone() })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    pub async fn insert(&self, db: &str, name: &str, partition: &str, columns: InsertColumns) -> Result<MutationOutcome> {
        let collection = self.collection(db, name)?;
        let partition = Self::write_partition(&collection, partition)?;
        self.data.insert(&collection, partition, columns).await
    }

    pub async fn upsert(&self, db: &str, name: &str, partition: &str, columns: InsertColumns) -> Result<MutationOutcome> {
        let collection = self.collection(db, name)?;
        let partition = Self::write_partition(&collection, partition)?;
        self.data.upsert(&collection, partition, columns).await
    }

    pub async fn delete(
        &self,
        db: &str,
        name: &str,
        partition: &str,
        filter: &str,
        templates: &HashMap<String, TemplateValue>,
    ) -> Result<MutationOutcome> {
        let collection = self.collection(db, name)?;
        let partition = if partition.is_empty() || partition == DEFAULT_PARTITION && collection.has_partition_key() {
            None
        } else {
            Self::write_partition(&collection, partition)?
        };
        self.data.delete(&collection, partition, filter, templates).await
    }

    pub async fn flush(&self, db: &str, name: &str) -> Result<FlushOutcome> {
        let collection = self.collection(db, name)?;
        let outcome = self.data.flush(&collection).await?;
        self.index_work.notify_one();
        Ok(outcome)
    }

    /// The partitions a read covers: the named ones (each must be loaded), else every
    /// loaded partition. Errors when the collection is not loaded.
    fn loaded_partitions(collection: &Collection, names: &[String]) -> Result<Option<Vec<PartitionId>>> {
        if !collection.loaded {
            return Err(EngineError::CollectionNotLoaded { name: collection.name.clone() });
        }
        if let Some(ids) = Self::read_partitions(collection, names)? {
            if let Some(p) = collection.partitions.iter().find(|p| ids.contains(&p.id) && !p.loaded) {
                return Err(EngineError::PartitionNotLoaded { name: p.name.clone() });
            }
            return Ok(Some(ids));
        }
        if collection.partitions.iter().all(|p| p.loaded) {
            return Ok(None);
        }
        Ok(Some(collection.partitions.iter().filter(|p| p.loaded).map(|p| p.id).collect()))
    }

    /// Query a loaded collection.
    pub async fn query(&self, db: &str, name: &str, partitions: &[String], mut request: QueryRequest) -> Result<QueryOutput> {
        let collection = self.collection(db, name)?;
        if let Some(limit) = request.limit
            && (limit + request.offset > MAX_QUERY_WINDOW || limit == 0)
        {
            return Err(EngineError::InvalidParameter(format!(
                "invalid max query result window, (offset+limit) should be in range [1, {MAX_QUERY_WINDOW}], but got {}",
                limit + request.offset
            )));
        }
        request.partitions = Self::loaded_partitions(&collection, partitions)?;
        self.data.query(&collection, &request).await
    }

    /// Rows visible now (GetCollectionStatistics' `row_count`).
    pub async fn row_count(&self, db: &str, name: &str) -> Result<u64> {
        let collection = self.collection(db, name)?;
        self.count(&collection, None).await
    }

    /// Rows of one partition visible now.
    pub async fn partition_row_count(&self, db: &str, name: &str, partition: &str) -> Result<u64> {
        let collection = self.collection(db, name)?;
        let partitions = Self::read_partitions(&collection, &[partition.to_string()])?;
        self.count(&collection, partitions).await
    }

    async fn count(&self, collection: &Collection, partitions: Option<Vec<PartitionId>>) -> Result<u64> {
        let request = QueryRequest { output_fields: vec!["count(*)".to_string()], partitions, ..Default::default() };
        Ok(self.data.query(collection, &request).await?.count.unwrap_or(0))
    }

    pub fn segments(&self, db: &str, name: &str) -> Result<Vec<SegmentInfo>> {
        let collection = self.collection(db, name)?;
        Ok(self.data.segment_infos(&collection))
    }

    /// Drop a collection: the catalog entry first (the commit point), then its data,
    /// whose files GC collects.
    pub async fn drop_collection(&self, db: &str, name: &str) -> Result<()> {
        let Ok(collection) = self.catalog.describe_collection(db, name).map(|i| i.collection) else {
            return self.catalog.drop_collection(db, name).await;
        };
        self.catalog.drop_collection(db, name).await?;
        if collection.name == name {
            self.data.drop_collection(&collection).await?;
            // Best effort, as in Milvus: the sweeper drops what is left.
            if let Err(error) = self.drop_collection_snapshots(collection.id).await {
                tracing::warn!(collection = %name, %error, "dropping the collection's snapshots is left to the sweeper");
            }
        }
        Ok(())
    }

    pub async fn drop_partition(&self, db: &str, name: &str, partition: &str) -> Result<()> {
        let collection = self.collection(db, name)?;
        self.catalog.drop_partition(db, name, partition).await?;
        if let Some(p) = collection.partition(partition) {
            self.data.drop_partition(&collection, p.id).await?;
        }
        Ok(())
    }

    /// Compact a collection now; the plans are kept for GetCompactionState.
    pub async fn compact(&self, db: &str, name: &str) -> Result<(i64, Vec<CompactionPlan>)> {
        let collection = self.collection(db, name)?;
        let plans = self.data.compact(&collection, CompactionTrigger::Manual, &self.compaction_protected(collection.id)).await?;
        let id = self.allocate_id().await?;
        self.compactions.lock().expect("compactions poisoned").insert(id, (collection.id, plans.clone()));
        Ok((id, plans))
    }

    /// Compact a collection by id (ManualCompaction names collections by id).
    pub async fn compact_by_id(&self, collection_id: i64) -> Result<(i64, Vec<CompactionPlan>)> {
        let collection = self
            .catalog
            .all_collections()
            .into_iter()
            .find(|c| c.id.0 == collection_id)
            .ok_or_else(|| EngineError::CollectionNotFound { db: String::new(), name: format!("id {collection_id}") })?;
        let db = self.catalog.database_name(collection.db_id).unwrap_or_default();
        self.compact(&db, &collection.name).await
    }

    /// The plans of a finished manual compaction.
    pub fn compaction(&self, id: i64) -> Option<Vec<CompactionPlan>> {
        self.compactions.lock().expect("compactions poisoned").get(&id).map(|(_, plans)| plans.clone())
    }

    /// Background compaction of every collection.
    pub async fn compact_due(&self) -> Result<()> {
        for collection in self.catalog.all_collections() {
            self.data.compact(&collection, CompactionTrigger::Automatic, &self.compaction_protected(collection.id)).await?;
        }
        Ok(())
    }

    /// One GC pass over every collection's files.
    pub async fn collect_garbage(&self, grace_ms: u64, now_ms: u64) -> Result<GcReport> {
        let collections = self.catalog.all_collections();
        let live: HashSet<CollectionId> = collections.iter().map(|c| c.id).collect();
        let indexes: HashSet<IndexId> = collections.iter().flat_map(|c| c.indexes.iter().map(|d| d.id)).collect();
        let snapshot_refs = self.snapshot_references();
        self.data.collect_garbage(&live, &indexes, &snapshot_refs, grace_ms, now_ms).await
    }

    /// Vector search over a loaded collection.
    pub async fn search(&self, db: &str, name: &str, partitions: &[String], mut request: SearchRequest) -> Result<SearchOutput> {
        let collection = self.collection(db, name)?;
        request.partitions = Self::loaded_partitions(&collection, partitions)?;
        self.data.search(&collection, &request).await
    }

    /// Build missing index files for every collection (background).
    pub async fn build_indexes(&self, threads: usize) -> Result<usize> {
        let mut built = 0;
        for collection in self.catalog.all_collections() {
            built += self.data.build_indexes(&collection, threads).await?;
        }
        Ok(built)
    }

    /// Index definitions with their build progress.
    pub fn describe_indexes(&self, db: &str, name: &str, field: &str, index: &str) -> Result<Vec<(IndexInfo, IndexProgress)>> {
        let collection = self.collection(db, name)?;
        let infos = self.catalog.describe_indexes(db, name, field, index)?;
        Ok(infos
            .into_iter()
            .map(|info| {
                let progress = self.data.index_progress(&collection, &info.definition);
                (info, progress)
            })
            .collect())
    }

    /// Drop an index definition and forget its builds (their files go to GC).
    pub async fn drop_index(&self, db: &str, name: &str, field: &str, index: &str) -> Result<()> {
        let before = self.collection(db, name)?;
        self.catalog.drop_index(db, name, field, index).await?;
        let after = self.collection(db, name)?;
        for gone in before.indexes.iter().filter(|d| !after.indexes.iter().any(|a| a.id == d.id)) {
            self.data.drop_index_builds(&after, gone.id);
        }
        Ok(())
    }

    /// Load a collection: its data and indexes into memory, then the catalog flag.
    pub async fn load_collection(&self, db: &str, name: &str) -> Result<()> {
        let mut collection = self.collection(db, name)?;
        collection.loaded = true;
        self.data.load(&collection).await?;
        self.catalog.load_collection(db, name).await
    }

    pub async fn load_partitions(&self, db: &str, name: &str, partitions: &[String]) -> Result<()> {
        let mut collection = self.collection(db, name)?;
        Self::read_partitions(&collection, partitions)?;
        collection.loaded = true;
        self.data.load(&collection).await?;
        self.catalog.load_partitions(db, name, partitions).await
    }

    /// Release a collection: the catalog flag first (reads stop), then the memory.
    pub async fn release_collection(&self, db: &str, name: &str) -> Result<()> {
        self.catalog.release_collection(db, name).await?;
        self.data.release(&self.collection(db, name)?);
        Ok(())
    }

    pub async fn release_partitions(&self, db: &str, name: &str, partitions: &[String]) -> Result<()> {
        self.catalog.release_partitions(db, name, partitions).await?;
        let collection = self.collection(db, name)?;
        if !collection.loaded {
            self.data.release(&collection);
        }
        Ok(())
    }

    /// Seal collections whose growing data is due (size or idle time).
    pub async fn seal_due(&self) -> Result<()> {
        for collection in self.catalog.all_collections() {
            self.data.seal_due(&collection).await?;
        }
        self.index_work.notify_one();
        Ok(())
    }
}
