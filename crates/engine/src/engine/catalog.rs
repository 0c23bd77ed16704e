//! Catalog calls: databases, collections, partitions, aliases, index definitions and
//! load state. Most are the catalog's alone; dropping and loading also reach the data,
//! the index builder and the snapshots, after the catalog commit that is their commit
//! point.

use super::Engine;
use crate::catalog::model::{Collection, Database, LoadState, Partition, Properties};
use crate::catalog::{CollectionInfo, IndexInfo, NewCollection, NewIndex};
use crate::error::{EngineError, Result};
use crate::indexing::IndexProgress;

impl Engine {
    pub async fn create_database(&self, name: &str, properties: Properties) -> Result<Database> {
        self.catalog.create_database(name, properties).await
    }

    pub async fn drop_database(&self, name: &str) -> Result<()> {
        self.catalog.drop_database(name).await
    }

    pub fn list_databases(&self) -> Vec<Database> {
        self.catalog.list_databases()
    }

    pub fn describe_database(&self, name: &str) -> Result<Database> {
        self.catalog.describe_database(name)
    }

    pub async fn alter_database(&self, name: &str, properties: Properties, delete_keys: &[String]) -> Result<Database> {
        self.catalog.alter_database(name, properties, delete_keys).await
    }

    pub async fn create_collection(&self, db: &str, request: NewCollection) -> Result<CollectionInfo> {
        self.catalog.create_collection(db, request).await
    }

    /// A collection by name or alias; a malformed name is simply not found.
    pub fn resolve(&self, db: &str, name: &str) -> Result<Collection> {
        self.catalog.resolve(db, name)
    }

    /// A collection by name or alias; a malformed name is refused as such.
    pub fn resolve_checked(&self, db: &str, name: &str) -> Result<Collection> {
        self.catalog.resolve_checked(db, name)
    }

    /// DescribeCollection (and HasCollection): a missing collection in their own words.
    pub fn describe_collection(&self, db: &str, name: &str) -> Result<CollectionInfo> {
        self.catalog.describe_collection(db, name).map_err(|error| match error {
            EngineError::CollectionNotFound { db, name } => EngineError::DescribedCollectionNotFound { db, name },
            other => other,
        })
    }

    pub fn list_collections(&self, db: &str) -> Result<Vec<Collection>> {
        self.catalog.list_collections(db)
    }

    /// A collection by id, in whichever database.
    /// Refuse `operation` on `name` when it is a mounted snapshot (the mark is set at
    /// creation and never changes, so checking before the call cannot race). A name that
    /// does not resolve is left to the call, which reports it in its own words.
    fn refuse_on_mount(&self, db: &str, name: &str, operation: &str) -> Result<()> {
        match self.catalog.resolve(db, name) {
            Ok(collection) => collection.check_writable(operation),
            Err(_) => Ok(()),
        }
    }

    pub fn collection_by_id(&self, id: i64) -> Option<(String, Collection)> {
        let collection = self.catalog.collection(quiver_base::CollectionId(id))?;
        Some((self.catalog.database_name(collection.db_id).unwrap_or_default(), collection))
    }

    pub async fn rename_collection(&self, db: &str, old: &str, new_db: &str, new: &str) -> Result<()> {
        self.refuse_on_mount(db, old, "RenameCollection")?;
        self.catalog.rename_collection(db, old, new_db, new).await
    }

    pub async fn alter_collection(&self, db: &str, name: &str, properties: Properties, delete_keys: &[String]) -> Result<()> {
        self.refuse_on_mount(db, name, "AlterCollection")?;
        self.catalog.alter_collection(db, name, properties, delete_keys).await?;
        // Switching the dynamic field on gives the rows in memory their `$meta` column.
        self.data.conform_to(&self.catalog.resolve(db, name)?)
    }

    /// Set or remove an index's `mmap.enabled` / `warmup` (AlterIndex).
    pub async fn alter_index(&self, db: &str, name: &str, index_name: &str, properties: &Properties, delete_keys: &[String]) -> Result<()> {
        self.refuse_on_mount(db, name, "AlterIndex")?;
        self.catalog.alter_index(db, name, index_name, properties, delete_keys).await
    }

    /// Change a field's type parameters (`max_length`, `max_capacity`, `mmap.enabled`,
    /// `warmup`), as Milvus's AlterCollectionField does.
    pub async fn alter_collection_field(
        &self,
        db: &str,
        name: &str,
        field: &str,
        params: Properties,
        delete_keys: &[String],
    ) -> Result<()> {
        self.refuse_on_mount(db, name, "AlterCollectionField")?;
        self.catalog.alter_field(db, name, field, params, delete_keys).await
    }

    /// Add a nullable (or defaulted) field to an existing collection. Rows already stored
    /// read it as null or its default; the in-memory rows take its column at once.
    pub async fn add_collection_field(&self, db: &str, name: &str, field: crate::schema::FieldSchema) -> Result<()> {
        self.refuse_on_mount(db, name, "AddCollectionField")?;
        let collection = self.catalog.add_field(db, name, field).await?;
        self.data.conform_to(&collection)
    }

    /// Drop a collection: the catalog entry first (the commit point; its segments, files
    /// and builds are dead from then on), then its data, and its unpinned snapshots.
    pub async fn drop_collection(&self, db: &str, name: &str) -> Result<()> {
        let Some(collection) = self.catalog.drop_collection(db, name).await? else { return Ok(()) };
        self.data.drop_collection(&collection).await?;
        // Best effort, as in Milvus: the sweeper drops what is left.
        if let Err(error) = self.snapshots.drop_collection_snapshots(collection.id).await {
            tracing::warn!(collection = %name, %error, "dropping the collection's snapshots is left to the sweeper");
        }
        Ok(())
    }

    pub async fn create_partition(&self, db: &str, collection: &str, partition: &str) -> Result<()> {
        self.refuse_on_mount(db, collection, "CreatePartition")?;
        self.catalog.create_partition(db, collection, partition).await
    }

    pub async fn drop_partition(&self, db: &str, name: &str, partition: &str) -> Result<()> {
        self.refuse_on_mount(db, name, "DropPartition")?;
        let collection = self.catalog.resolve_checked(db, name)?;
        self.catalog.drop_partition(db, name, partition).await?;
        if let Some(p) = collection.partition(partition) {
            self.data.drop_partition(&collection, p.id).await?;
        }
        Ok(())
    }

    pub fn has_partition(&self, db: &str, collection: &str, partition: &str) -> Result<bool> {
        self.catalog.has_partition(db, collection, partition)
    }

    pub fn list_partitions(&self, db: &str, collection: &str) -> Result<Vec<Partition>> {
        self.catalog.list_partitions(db, collection)
    }

    pub async fn create_alias(&self, db: &str, collection: &str, alias: &str) -> Result<()> {
        self.catalog.create_alias(db, collection, alias).await
    }

    pub async fn drop_alias(&self, db: &str, alias: &str) -> Result<()> {
        self.catalog.drop_alias(db, alias).await
    }

    pub async fn alter_alias(&self, db: &str, collection: &str, alias: &str) -> Result<()> {
        self.catalog.alter_alias(db, collection, alias).await
    }

    pub fn describe_alias(&self, db: &str, alias: &str) -> Result<String> {
        self.catalog.describe_alias(db, alias)
    }

    pub fn list_aliases(&self, db: &str, collection: Option<&str>) -> Result<Vec<String>> {
        self.catalog.list_aliases(db, collection)
    }

    /// Define an index; the builder starts on it at once.
    pub async fn create_index(&self, db: &str, collection: &str, index: &NewIndex) -> Result<()> {
        self.refuse_on_mount(db, collection, "CreateIndex")?;
        self.catalog.create_index(db, collection, index).await?;
        self.indexing.work().notify_one();
        Ok(())
    }

    /// Index definitions with their build progress.
    pub fn describe_indexes(&self, db: &str, name: &str, field: &str, index: &str) -> Result<Vec<(IndexInfo, IndexProgress)>> {
        let collection = self.catalog.resolve(db, name)?;
        let infos = self.catalog.describe_indexes(db, name, field, index)?;
        Ok(infos
            .into_iter()
            .map(|info| {
                let progress = self.indexing.progress(&collection, &info.definition);
                (info, progress)
            })
            .collect())
    }

    /// Drop an index definition (the commit point) and forget its builds in memory; their
    /// records and files are GC's once no snapshot needs them.
    pub async fn drop_index(&self, db: &str, name: &str, field: &str, index: &str) -> Result<()> {
        self.refuse_on_mount(db, name, "DropIndex")?;
        let before = self.catalog.resolve(db, name)?;
        self.catalog.drop_index(db, name, field, index).await?;
        let after = self.catalog.resolve(db, name)?;
        for gone in before.indexes.iter().filter(|d| !after.indexes.iter().any(|a| a.id == d.id)) {
            self.data.forget_index(&after, gone.id);
        }
        Ok(())
    }

    /// Load a collection: its columns and index files into memory, then the catalog flag.
    pub async fn load_collection(&self, db: &str, name: &str) -> Result<()> {
        let mut collection = self.catalog.resolve_checked(db, name)?;
        collection.loaded = true;
        self.load(&collection).await?;
        self.catalog.load_collection(db, name).await
    }

    pub async fn load_partitions(&self, db: &str, name: &str, partitions: &[String]) -> Result<()> {
        let mut collection = self.catalog.resolve_checked(db, name)?;
        if partitions.is_empty() {
            return Err(crate::error::invalid("failed to load partitions due to no partition specified"));
        }
        if let Some(missing) = partitions.iter().find(|p| collection.partition(p).is_none()) {
            return Err(crate::error::EngineError::PartitionNotFound { collection: collection.name.clone(), name: missing.clone() });
        }
        collection.loaded = true;
        self.load(&collection).await?;
        self.catalog.load_partitions(db, name, partitions).await
    }

    async fn load(&self, collection: &Collection) -> Result<()> {
        self.data.load(collection).await?;
        self.indexing.attach(collection).await?;
        self.indexing.work().notify_one();
        Ok(())
    }

    /// Release a collection: the catalog flag first (reads stop), then the memory.
    pub async fn release_collection(&self, db: &str, name: &str) -> Result<()> {
        self.catalog.release_collection(db, name).await?;
        self.data.release(&self.catalog.resolve(db, name)?);
        Ok(())
    }

    pub async fn release_partitions(&self, db: &str, name: &str, partitions: &[String]) -> Result<()> {
        self.catalog.release_partitions(db, name, partitions).await?;
        let collection = self.catalog.resolve(db, name)?;
        if !collection.loaded {
            self.data.release(&collection);
        }
        Ok(())
    }

    pub fn load_state(&self, db: &str, name: &str, partitions: &[String]) -> Result<LoadState> {
        self.catalog.load_state(db, name, partitions)
    }

    pub fn loading_progress(&self, db: &str, name: &str, partitions: &[String]) -> Result<i64> {
        self.catalog.loading_progress(db, name, partitions)
    }
}
