//! Data calls: writes, flush, truncation, reads (query, search, statistics) and
//! compaction. Names are resolved here, so the components work with ids; reads run on a
//! view of the collection off the async runtime.

use super::Engine;
use crate::catalog::model::{Collection, DEFAULT_PARTITION};
use crate::compaction::CompactionPlan;
use crate::data::{FlushOutcome, InsertColumns, MutationOutcome, SegmentInfo};
use crate::error::{EngineError, Result};
use crate::read::{self, HybridRequest, QueryOutput, QueryRequest, SearchOutput, SearchRequest};
use quiver_base::PartitionId;
use quiver_expr::TemplateValue;
use quiver_format::logs::PkColumn;
use std::collections::HashMap;

/// Largest `offset + limit` of a query, as in Milvus.
const MAX_QUERY_WINDOW: usize = 16_384;

impl Engine {
    /// The partition a write names (`""`: none, i.e. the default or the partition key's);
    /// a malformed name is refused as such.
    fn write_partition(collection: &Collection, name: &str) -> Result<Option<PartitionId>> {
        if name.is_empty() {
            return Ok(None);
        }
        if collection.has_partition_key() {
            return Err(EngineError::InvalidParameter(
                "not support manually specifying the partition names if partition key mode is used".to_string(),
            ));
        }
        collection.named_partition(name).map(|p| Some(p.id))
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
        let collection = self.catalog.resolve_checked(db, name)?;
        collection.check_writable("Insert")?;
        let partition = Self::write_partition(&collection, partition)?;
        self.data.insert(&collection, partition, columns).await
    }

    /// Replace rows by primary key; with `partial`, fields left out keep their stored
    /// values (Milvus's partial update).
    pub async fn upsert(&self, db: &str, name: &str, partition: &str, columns: InsertColumns, partial: bool) -> Result<MutationOutcome> {
        let collection = self.catalog.resolve_checked(db, name)?;
        collection.check_writable("Upsert")?;
        let partition = Self::write_partition(&collection, partition)?;
        self.data.upsert(&collection, partition, columns, partial).await
    }

    pub async fn delete(
        &self,
        db: &str,
        name: &str,
        partition: &str,
        filter: &str,
        templates: &HashMap<String, TemplateValue>,
    ) -> Result<MutationOutcome> {
        let collection = self.catalog.resolve_checked(db, name)?;
        collection.check_writable("Delete")?;
        let partition = if partition.is_empty() || partition == DEFAULT_PARTITION && collection.has_partition_key() {
            None
        } else {
            Self::write_partition(&collection, partition)?
        };
        self.data.delete(&collection, partition, filter, templates).await
    }

    /// Seal the collection's growing data; its index builds start at once.
    pub async fn flush(&self, db: &str, name: &str) -> Result<FlushOutcome> {
        let collection = self.catalog.resolve(db, name)?;
        let outcome = self.data.flush(&collection).await?;
        self.indexing.work().notify_one();
        Ok(outcome)
    }

    /// Empty a collection (by name or alias): its rows and deletes go; its schema,
    /// partitions, indexes, aliases, load state and snapshots stay.
    pub async fn truncate_collection(&self, db: &str, name: &str) -> Result<()> {
        let collection = self.catalog.resolve(db, name)?;
        collection.check_writable("TruncateCollection")?;
        self.data.truncate(&collection).await
    }

    /// The partitions a read covers: the named ones (each must exist, then be loaded),
    /// else every loaded partition. Errors when the collection is not loaded.
    fn loaded_partitions(collection: &Collection, names: &[String]) -> Result<Option<Vec<PartitionId>>> {
        // Milvus's reads name a missing partition before they look at the load state,
        // in their own words and without an error class.
        if let Some(missing) = names.iter().find(|name| collection.partition(name).is_none()) {
            return Err(EngineError::Unclassified(format!("partition name {missing} not found")));
        }
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
        let collection = self.catalog.resolve_checked(db, name)?;
        if let Some(limit) = request.limit
            && (limit + request.offset > MAX_QUERY_WINDOW || limit == 0)
        {
            return Err(EngineError::InvalidParameter(format!(
                "invalid max query result window, (offset+limit) should be in range [1, {MAX_QUERY_WINDOW}], but got {}",
                limit + request.offset
            )));
        }
        request.partitions = Self::loaded_partitions(&collection, partitions)?;
        self.run_query(collection, request).await
    }

    async fn run_query(&self, collection: Collection, request: QueryRequest) -> Result<QueryOutput> {
        let read_ts = self.ctx.next_ts().await?.0;
        let view = self.data.view(&collection)?;
        read::off_runtime(move || read::query(&collection, &view, &request, read_ts)).await
    }

    /// Vector search over a loaded collection.
    pub async fn search(&self, db: &str, name: &str, partitions: &[String], request: SearchRequest) -> Result<SearchOutput> {
        self.run_search(db, name, partitions, None, request).await
    }

    /// Search with the stored vectors of the rows with these primary keys as the query
    /// vectors (Milvus's search by primary keys); `request.vectors` is ignored. The keys
    /// are looked up in the same view the search reads.
    pub async fn search_by_keys(
        &self,
        db: &str,
        name: &str,
        partitions: &[String],
        keys: PkColumn,
        request: SearchRequest,
    ) -> Result<SearchOutput> {
        self.run_search(db, name, partitions, Some(keys), request).await
    }

    /// Several searches read at one timestamp, fused by a ranker (HybridSearch).
    pub async fn hybrid_search(&self, db: &str, name: &str, partitions: &[String], mut request: HybridRequest) -> Result<SearchOutput> {
        let collection = self.catalog.resolve(db, name)?;
        let loaded = Self::loaded_partitions(&collection, partitions)?;
        request.searches.iter_mut().for_each(|s| s.partitions = loaded.clone());
        let read_ts = self.ctx.next_ts().await?.0;
        let view = self.data.view(&collection)?;
        read::off_runtime(move || read::hybrid_search(&collection, &view, &request, read_ts)).await
    }

    async fn run_search(
        &self,
        db: &str,
        name: &str,
        partitions: &[String],
        keys: Option<PkColumn>,
        mut request: SearchRequest,
    ) -> Result<SearchOutput> {
        let collection = self.catalog.resolve(db, name)?;
        request.partitions = Self::loaded_partitions(&collection, partitions)?;
        let read_ts = self.ctx.next_ts().await?.0;
        let view = self.data.view(&collection)?;
        read::off_runtime(move || {
            if let Some(keys) = keys {
                request.vectors =
                    read::vectors_of_keys(&collection, &view, request.anns_field.as_deref(), &keys, request.partitions.clone(), read_ts)?;
                request.nq = keys.len();
            }
            read::search(&collection, &view, &request, read_ts)
        })
        .await
    }

    /// Rows visible now (GetCollectionStatistics' `row_count`).
    pub async fn row_count(&self, db: &str, name: &str) -> Result<u64> {
        let collection = self.catalog.resolve(db, name)?;
        self.count(collection, None).await
    }

    /// Rows of one partition visible now.
    pub async fn partition_row_count(&self, db: &str, name: &str, partition: &str) -> Result<u64> {
        let collection = self.catalog.resolve(db, name)?;
        let partitions = Self::read_partitions(&collection, &[partition.to_string()])?;
        self.count(collection, partitions).await
    }

    async fn count(&self, collection: Collection, partitions: Option<Vec<PartitionId>>) -> Result<u64> {
        let request = QueryRequest { output_fields: vec![read::COUNT_STAR.to_string()], partitions, ..Default::default() };
        Ok(self.run_query(collection, request).await?.count.unwrap_or(0))
    }

    /// Segments held in memory, over every collection.
    pub fn memory(&self) -> crate::MemoryUsage {
        self.data.memory()
    }

    pub fn segments(&self, db: &str, name: &str) -> Result<Vec<SegmentInfo>> {
        let collection = self.catalog.resolve(db, name)?;
        Ok(self.data.segment_infos(&collection))
    }

    /// Compact a collection now; the plans are kept for GetCompactionState.
    pub async fn compact(&self, db: &str, name: &str) -> Result<(i64, Vec<CompactionPlan>)> {
        let collection = self.catalog.resolve(db, name)?;
        collection.check_writable("Compact")?;
        self.compaction.compact_now(&collection).await
    }

    /// Compact a collection by id (ManualCompaction names collections by id).
    pub async fn compact_by_id(&self, collection_id: i64) -> Result<(i64, Vec<CompactionPlan>)> {
        let (_, collection) = self
            .collection_by_id(collection_id)
            .ok_or_else(|| EngineError::CollectionNotFound { db: String::new(), name: format!("id {collection_id}") })?;
        collection.check_writable("ManualCompaction")?;
        self.compaction.compact_now(&collection).await
    }

    /// The plans of a finished manual compaction.
    pub fn compaction(&self, id: i64) -> Option<Vec<CompactionPlan>> {
        self.compaction.finished(id)
    }
}
