//! Aliases: other names for a collection, unique per database across collection names.

use super::model::Alias;
use super::{Catalog, encode, keys};
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use quiver_storage::Txn;

impl Catalog {
    /// Point a new alias at a collection. Re-creating the same alias for the same
    /// collection succeeds.
    pub async fn create_alias(&self, db_name: &str, collection: &str, alias: &str) -> Result<()> {
        names::validate(NameKind::Alias, alias)?;
        names::validate(NameKind::Collection, collection)?;
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        if next.collection_named(db.id, alias).is_some() {
            return Err(EngineError::AliasNameConflictsWithCollection { alias: alias.to_string() });
        }
        let target = next
            .collection_named(db.id, collection)
            .cloned()
            .ok_or_else(|| EngineError::CollectionNotFound { db: db.name.clone(), name: collection.to_string() })?;
        if let Some(existing) = next.aliases.get(&(db.id, alias.to_string())) {
            if existing.collection_id == target.id {
                return Ok(());
            }
            let other = next.collections.get(&existing.collection_id).map(|c| c.name.clone()).unwrap_or_default();
            return Err(EngineError::AliasAlreadyExists { alias: alias.to_string(), collection: other });
        }
        let record = Alias { db_id: db.id, name: alias.to_string(), collection_id: target.id, created_ts: self.next_ts().await? };
        let key = keys::alias(db.id, alias);
        let txn = Txn::new().when_absent(&key).put(key, encode(&record));
        next.aliases.insert((db.id, alias.to_string()), record);
        self.publish(txn, next).await
    }

    pub async fn drop_alias(&self, db_name: &str, alias: &str) -> Result<()> {
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        if next.aliases.remove(&(db.id, alias.to_string())).is_none() {
            return Err(EngineError::AliasNotFound { db: db.name, alias: alias.to_string() });
        }
        self.publish(Txn::new().delete(keys::alias(db.id, alias)), next).await
    }

    /// Move an existing alias to another collection.
    pub async fn alter_alias(&self, db_name: &str, collection: &str, alias: &str) -> Result<()> {
        let (_ddl, mut next) = self.begin().await;
        let db = next.database(db_name)?.clone();
        let target = next
            .collection_named(db.id, collection)
            .cloned()
            .ok_or_else(|| EngineError::CollectionNotFound { db: db.name.clone(), name: collection.to_string() })?;
        let record = next
            .aliases
            .get_mut(&(db.id, alias.to_string()))
            .ok_or_else(|| EngineError::AliasNotFound { db: db.name.clone(), alias: alias.to_string() })?;
        record.collection_id = target.id;
        let txn = Txn::new().put(keys::alias(db.id, alias), encode(record));
        self.publish(txn, next).await
    }

    /// The collection an alias points to.
    pub fn describe_alias(&self, db_name: &str, alias: &str) -> Result<String> {
        let state = self.state();
        let db = state.database(db_name)?;
        let record = state
            .aliases
            .get(&(db.id, alias.to_string()))
            .ok_or_else(|| EngineError::AliasNotFound { db: db.name.clone(), alias: alias.to_string() })?;
        Ok(state.collections.get(&record.collection_id).map(|c| c.name.clone()).unwrap_or_default())
    }

    /// Aliases of a database, or of one collection when `collection` is given.
    pub fn list_aliases(&self, db_name: &str, collection: Option<&str>) -> Result<Vec<String>> {
        let state = self.state();
        let db = state.database(db_name)?;
        match collection {
            Some(name) => Ok(state.aliases_of(state.resolve(db, name)?.id)),
            None => Ok(state.aliases.values().filter(|a| a.db_id == db.id).map(|a| a.name.clone()).collect()),
        }
    }
}
