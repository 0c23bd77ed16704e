//! Partition DDL. Partition-key collections manage their partitions themselves.

use super::Catalog;
use super::collection::Stamp;
use super::model::{DEFAULT_PARTITION, MAX_PARTITIONS, Partition};
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use quiver_base::PartitionId;

impl Catalog {
    /// Create a partition; creating one that exists succeeds, as in Milvus. A partition
    /// created in a loaded collection is loaded too.
    pub async fn create_partition(&self, db_name: &str, collection: &str, name: &str) -> Result<()> {
        validate_names(collection, name)?;
        let id = PartitionId(self.next_id().await?);
        let created_ts = self.next_ts().await?;
        self.update_collection(db_name, collection, Stamp::Unchanged, |c| {
            if c.has_partition_key() {
                return Err(EngineError::PartitionKeyManaged { collection: c.name.clone(), operation: "create" });
            }
            if c.partition(name).is_some() {
                return Ok(());
            }
            if c.partitions.len() >= MAX_PARTITIONS {
                return Err(EngineError::TooManyPartitions { limit: MAX_PARTITIONS });
            }
            c.partitions.push(Partition { id, name: name.to_string(), created_ts, loaded: c.loaded });
            Ok(())
        })
        .await
    }

    /// Drop a partition; dropping one that does not exist succeeds, as in Milvus.
    pub async fn drop_partition(&self, db_name: &str, collection: &str, name: &str) -> Result<()> {
        validate_names(collection, name)?;
        if name == DEFAULT_PARTITION {
            return Err(EngineError::DefaultPartitionUndroppable);
        }
        self.update_collection(db_name, collection, Stamp::Unchanged, |c| {
            if c.has_partition_key() {
                return Err(EngineError::PartitionKeyManaged { collection: c.name.clone(), operation: "drop" });
            }
            match c.partition(name) {
                None => Ok(()),
                Some(p) if p.loaded => Err(EngineError::PartitionLoaded { name: name.to_string() }),
                Some(_) => {
                    c.partitions.retain(|p| p.name != name);
                    Ok(())
                }
            }
        })
        .await
    }

    pub fn has_partition(&self, db_name: &str, collection: &str, name: &str) -> Result<bool> {
        validate_names(collection, name)?;
        Ok(self.describe_collection(db_name, collection)?.collection.partition(name).is_some())
    }

    pub fn list_partitions(&self, db_name: &str, collection: &str) -> Result<Vec<Partition>> {
        Ok(self.describe_collection(db_name, collection)?.collection.partitions)
    }
}

/// Milvus checks both names of a partition call before it looks anything up.
fn validate_names(collection: &str, partition: &str) -> Result<()> {
    names::validate(NameKind::Collection, collection)?;
    names::validate(NameKind::Partition, partition)?;
    Ok(())
}
