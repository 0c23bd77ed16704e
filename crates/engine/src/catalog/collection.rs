//! Collection DDL: create, drop, describe, list, rename, alter properties.

use super::model::{
    Collection, ConsistencyLevel, DEFAULT_PARTITION, DEFAULT_PARTITION_KEY_PARTITIONS, MAX_PARTITIONS, MAX_SHARDS, Partition, Properties,
};
use super::{Catalog, CollectionInfo, encode, keys};
use crate::error::{EngineError, NameKind, Result, invalid};
use crate::names;
use crate::schema::CollectionSchema;
use quiver_base::{CollectionId, PartitionId};
use quiver_storage::Txn;

/// What a client asks for when it creates a collection.
#[derive(Clone, Debug)]
pub struct NewCollection {
    pub name: String,
    pub schema: CollectionSchema,
    /// 0 means the default (1).
    pub shards_num: i32,
    pub consistency_level: ConsistencyLevel,
    pub properties: Properties,
    /// 0 means the default (16) for partition-key collections.
    pub num_partitions: i64,
}

impl NewCollection {
    /// Validate and fill defaults; the result is what a matching collection must equal.
    fn normalized(mut self) -> Result<NewCollection> {
        names::validate(NameKind::Collection, &self.name)?;
        if !self.schema.name.is_empty() && self.schema.name != self.name {
            return Err(invalid(format!("collection name [{}] does not match the schema name [{}]", self.name, self.schema.name)));
        }
        self.schema.name = self.name.clone();
        self.schema = self.schema.validated()?;
        if self.shards_num < 0 || self.shards_num > MAX_SHARDS {
            return Err(invalid(format!("maximum shards's number should be limited to {MAX_SHARDS}, got {}", self.shards_num)));
        }
        if self.shards_num == 0 {
            self.shards_num = 1;
        }
        if self.schema.partition_key_field().is_some() {
            if self.num_partitions < 0 || self.num_partitions as usize > MAX_PARTITIONS {
                return Err(invalid(format!("partition number ({}) exceeds max configuration ({MAX_PARTITIONS})", self.num_partitions)));
            }
            if self.num_partitions == 0 {
                self.num_partitions = DEFAULT_PARTITION_KEY_PARTITIONS;
            }
        } else if self.num_partitions != 0 {
            return Err(invalid("num_partitions should only be specified with partition key field enabled"));
        }
        Ok(self)
    }

    fn matches(&self, existing: &Collection) -> bool {
        self.schema.same_definition(&existing.schema)
            && self.shards_num == existing.shards_num
            && self.num_partitions == existing.num_partitions
            && self.properties == existing.properties
    }
}

impl Catalog {
    /// Create a collection with its partitions. Creating the same collection again with
    /// the same definition succeeds and changes nothing, as in Milvus.
    pub async fn create_collection(&self, db_name: &str, request: NewCollection) -> Result<CollectionInfo> {
        self.create(db_name, request, false).await
    }

    /// Create a collection that must not exist yet, even with the same definition (the
    /// target of a restore): of concurrent creates of one name exactly one succeeds.
    pub async fn create_new_collection(&self, db_name: &str, request: NewCollection) -> Result<CollectionInfo> {
        self.create(db_name, request, true).await
    }

    async fn create(&self, db_name: &str, request: NewCollection, exclusive: bool) -> Result<CollectionInfo> {
        let request = request.normalized()?;
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        if next.is_alias(db.id, &request.name) {
            return Err(EngineError::CollectionNameConflictsWithAlias { name: request.name });
        }
        if let Some(existing) = next.collection_named(db.id, &request.name) {
            return if request.matches(existing) && !exclusive {
                Ok(Self::info(&next, existing))
            } else {
                Err(EngineError::DuplicateCollection { name: request.name })
            };
        }
        let created_ts = self.next_ts().await?;
        let partition_names: Vec<String> = if request.num_partitions > 0 {
            (0..request.num_partitions).map(|i| format!("{DEFAULT_PARTITION}_{i}")).collect()
        } else {
            vec![DEFAULT_PARTITION.to_string()]
        };
        let mut partitions = Vec::with_capacity(partition_names.len());
        for name in partition_names {
            partitions.push(Partition { id: PartitionId(self.next_id().await?), name, created_ts, loaded: false });
        }
        let collection = Collection {
            id: CollectionId(self.next_id().await?),
            db_id: db.id,
            name: request.name,
            schema: request.schema,
            shards_num: request.shards_num,
            consistency_level: request.consistency_level,
            properties: request.properties,
            num_partitions: request.num_partitions,
            partitions,
            indexes: Vec::new(),
            created_ts,
            updated_ts: created_ts,
            loaded: false,
        };
        let key = keys::collection(collection.id);
        let txn = Txn::new().when_absent(&key).put(key, encode(&collection));
        next.collections.insert(collection.id, collection.clone());
        let info = Self::info(&next, &collection);
        self.publish(txn, next).await?;
        Ok(info)
    }

    /// Drop a collection by its own name (not an alias). Dropping one that does not exist
    /// succeeds, as in Milvus; one that still has aliases is refused.
    pub async fn drop_collection(&self, db_name: &str, name: &str) -> Result<()> {
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        let Some(collection) = next.collection_named(db.id, name).cloned() else {
            if next.is_alias(db.id, name) {
                return Err(invalid(format!("cannot drop the collection via alias = {name}")));
            }
            return Ok(());
        };
        let aliases = next.aliases_of(collection.id);
        if !aliases.is_empty() {
            return Err(EngineError::CollectionHasAliases { name: name.to_string(), aliases });
        }
        next.collections.remove(&collection.id);
        self.publish(Txn::new().delete(keys::collection(collection.id)), next).await
    }

    /// A collection by name or alias.
    pub fn describe_collection(&self, db_name: &str, name: &str) -> Result<CollectionInfo> {
        let state = self.state();
        let db = state.database(db_name)?;
        let collection = state.resolve(db, name)?;
        Ok(Self::info(&state, collection))
    }

    /// Every collection of every database.
    pub fn all_collections(&self) -> Vec<Collection> {
        self.state().collections.values().cloned().collect()
    }

    /// Every collection of a database, in creation (id) order.
    pub fn list_collections(&self, db_name: &str) -> Result<Vec<Collection>> {
        let state = self.state();
        let db = state.database(db_name)?;
        Ok(state.collections.values().filter(|c| c.db_id == db.id).cloned().collect())
    }

    /// Rename a collection, possibly into another database. Its id and data stay.
    pub async fn rename_collection(&self, db_name: &str, old: &str, new_db_name: &str, new: &str) -> Result<()> {
        names::validate(NameKind::Collection, new)?;
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        let target_db = next.database(new_db_name)?.clone();
        let mut collection = next
            .collection_named(db.id, old)
            .cloned()
            .ok_or_else(|| EngineError::CollectionNotFound { db: db.name.clone(), name: old.to_string() })?;
        if next.collection_named(target_db.id, new).is_some() || next.is_alias(target_db.id, new) {
            return Err(EngineError::RenameTargetExists { db: target_db.name, name: new.to_string() });
        }
        let aliases = next.aliases_of(collection.id);
        if !aliases.is_empty() {
            return Err(invalid(format!(
                "fail to rename collection, collection {old} has aliases [{}], please drop them first",
                aliases.join(", ")
            )));
        }
        collection.name = new.to_string();
        collection.schema.name = new.to_string();
        collection.db_id = target_db.id;
        collection.updated_ts = self.next_ts().await?;
        let txn = Txn::new().put(keys::collection(collection.id), encode(&collection));
        next.collections.insert(collection.id, collection);
        self.publish(txn, next).await
    }

    /// Set `properties` (overwriting keys) and remove `delete_keys`.
    pub async fn alter_collection(&self, db_name: &str, name: &str, properties: Properties, delete_keys: &[String]) -> Result<()> {
        self.update_collection(db_name, name, Stamp::Updated, |collection| {
            collection.properties.extend(properties);
            for key in delete_keys {
                collection.properties.remove(key);
            }
            Ok(())
        })
        .await
    }

    /// Apply `change` to one collection (by name or alias) and commit it, if it changed.
    pub(crate) async fn update_collection(
        &self,
        db_name: &str,
        name: &str,
        stamp: Stamp,
        change: impl FnOnce(&mut Collection) -> Result<()>,
    ) -> Result<()> {
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        let mut collection = next.resolve(&db, name)?.clone();
        let before = collection.clone();
        change(&mut collection)?;
        if collection == before {
            return Ok(());
        }
        if stamp == Stamp::Updated {
            collection.updated_ts = self.next_ts().await?;
        }
        let txn = Txn::new().put(keys::collection(collection.id), encode(&collection));
        next.collections.insert(collection.id, collection);
        self.publish(txn, next).await
    }
}

/// Whether a change moves the collection's `updated_ts` (definition changes do; load
/// state changes do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stamp {
    Updated,
    Unchanged,
}
