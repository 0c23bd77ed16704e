//! Load state of collections and partitions. Loading makes data readable; the data path
//! will attach segment loading to these transitions. The state is persisted, so a
//! loaded collection is loaded again after a restart, as in Milvus.

use super::Catalog;
use super::collection::Stamp;
use super::model::{Collection, LoadState};
use crate::error::{EngineError, NameKind, Result, invalid};
use crate::names;

impl Catalog {
    pub async fn load_collection(&self, db_name: &str, name: &str) -> Result<()> {
        self.update_collection(db_name, name, Stamp::Unchanged, |c| {
            c.loaded = true;
            c.partitions.iter_mut().for_each(|p| p.loaded = true);
            Ok(())
        })
        .await
    }

    /// Release a collection; a malformed name is refused as such, as in Milvus.
    pub async fn release_collection(&self, db_name: &str, name: &str) -> Result<()> {
        names::validate(NameKind::Collection, name)?;
        self.update_collection(db_name, name, Stamp::Unchanged, |c| {
            c.loaded = false;
            c.partitions.iter_mut().for_each(|p| p.loaded = false);
            Ok(())
        })
        .await
    }

    pub async fn load_partitions(&self, db_name: &str, name: &str, partitions: &[String]) -> Result<()> {
        self.update_collection(db_name, name, Stamp::Unchanged, |c| {
            check_partitions(c, partitions)?;
            for p in c.partitions.iter_mut().filter(|p| partitions.contains(&p.name)) {
                p.loaded = true;
            }
            c.loaded = true;
            Ok(())
        })
        .await
    }

    /// Release partitions, at least one. Unlike a load (which only finds a malformed name
    /// missing), Milvus refuses a malformed partition name here as such.
    pub async fn release_partitions(&self, db_name: &str, name: &str, partitions: &[String]) -> Result<()> {
        names::validate(NameKind::Collection, name)?;
        if partitions.is_empty() {
            return Err(invalid("invalid parameter[expected=any partition][actual=empty partition list]"));
        }
        self.update_collection(db_name, name, Stamp::Unchanged, |c| {
            partitions.iter().try_for_each(|p| c.named_partition(p).map(|_| ()))?;
            for p in c.partitions.iter_mut().filter(|p| partitions.contains(&p.name)) {
                p.loaded = false;
            }
            c.loaded = c.partitions.iter().any(|p| p.loaded);
            Ok(())
        })
        .await
    }

    /// Loaded when the collection (or every named partition) is loaded.
    pub fn load_state(&self, db_name: &str, name: &str, partitions: &[String]) -> Result<LoadState> {
        let collection = self.describe_collection(db_name, name)?.collection;
        check_partitions(&collection, partitions)?;
        let loaded = if partitions.is_empty() {
            collection.loaded
        } else {
            collection.partitions.iter().filter(|p| partitions.contains(&p.name)).all(|p| p.loaded)
        };
        Ok(if loaded { LoadState::Loaded } else { LoadState::NotLoad })
    }

    /// Loading progress in percent; an error when nothing asked for is loaded.
    pub fn loading_progress(&self, db_name: &str, name: &str, partitions: &[String]) -> Result<i64> {
        match self.load_state(db_name, name, partitions)? {
            LoadState::Loaded => Ok(100),
            LoadState::NotLoad => Err(EngineError::CollectionNotLoaded { name: name.to_string() }),
        }
    }
}

fn check_partitions(collection: &Collection, partitions: &[String]) -> Result<()> {
    match partitions.iter().find(|name| collection.partition(name).is_none()) {
        Some(missing) => Err(EngineError::PartitionNotFound { collection: collection.name.clone(), name: missing.clone() }),
        None => Ok(()),
    }
}
