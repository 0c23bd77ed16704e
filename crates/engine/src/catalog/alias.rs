//! Aliases: other names for a collection, sharing the collection namespace of their
//! database (one name claim per name, whoever holds it).

use super::model::{Alias, NameClaim};
use super::{Catalog, keys};
use crate::error::{EngineError, NameKind, Result};
use crate::names;

impl Catalog {
    /// Point a new alias at a collection. Re-creating the same alias for the same
    /// collection succeeds.
    pub async fn create_alias(&self, db_name: &str, collection: &str, alias: &str) -> Result<()> {
        names::validate(NameKind::Alias, alias)?;
        names::validate(NameKind::Collection, collection)?;
        let created_ts = self.next_ts().await?;
        self.change(|draft| {
            let db = draft.next.database(db_name)?.clone();
            if draft.next.collection_named(db.id, alias).is_some() {
                return Err(EngineError::AliasNameConflictsWithCollection { db: db.name.clone(), alias: alias.to_string() });
            }
            let target = draft
                .next
                .collection_named(db.id, collection)
                .cloned()
                .ok_or_else(|| EngineError::CollectionNotFound { db: db.name.clone(), name: collection.to_string() })?;
            if let Some(existing) = draft.next.aliases.get(&(db.id, alias.to_string())) {
                if existing.collection_id == target.id {
                    return Ok(());
                }
                let other = draft.next.collections.get(&existing.collection_id).map(|c| c.name.clone()).unwrap_or_default();
                return Err(EngineError::AliasAlreadyExists { alias: alias.to_string(), collection: other });
            }
            let record = Alias { db_id: db.id, name: alias.to_string(), collection_id: target.id, created_ts };
            draft.create(keys::name(db.id, alias), &NameClaim::Alias(target.id));
            draft.create(keys::alias(db.id, alias), &record);
            draft.next.aliases.insert((db.id, alias.to_string()), record);
            Ok(())
        })
        .await
    }

    /// Drop an alias. Dropping one that does not exist succeeds, as in Milvus, whatever
    /// the name (Milvus no longer checks the names of what a drop removes).
    pub async fn drop_alias(&self, db_name: &str, alias: &str) -> Result<()> {
        self.change(|draft| {
            let db = draft.next.database(db_name)?.clone();
            if draft.next.aliases.remove(&(db.id, alias.to_string())).is_none() {
                return Ok(());
            }
            draft.remove(keys::alias(db.id, alias));
            draft.remove(keys::name(db.id, alias));
            Ok(())
        })
        .await
    }

    /// Move an existing alias to another collection.
    pub async fn alter_alias(&self, db_name: &str, collection: &str, alias: &str) -> Result<()> {
        names::validate(NameKind::Alias, alias)?;
        names::validate(NameKind::Collection, collection)?;
        self.change(|draft| {
            let db = draft.next.database(db_name)?.clone();
            if draft.next.collection_named(db.id, alias).is_some() {
                return Err(EngineError::AliasNameConflictsWithCollection { db: db.name.clone(), alias: alias.to_string() });
            }
            let target = draft
                .next
                .collection_named(db.id, collection)
                .cloned()
                .ok_or_else(|| EngineError::CollectionNotFound { db: String::new(), name: collection.to_string() })?;
            let mut record = draft
                .next
                .aliases
                .get(&(db.id, alias.to_string()))
                .cloned()
                .ok_or_else(|| EngineError::AliasNotFound { db: db.name.clone(), alias: alias.to_string() })?;
            record.collection_id = target.id;
            draft.update(keys::alias(db.id, alias), &record);
            draft.update(keys::name(db.id, alias), &NameClaim::Alias(target.id));
            draft.next.aliases.insert((db.id, alias.to_string()), record);
            Ok(())
        })
        .await
    }

    /// The collection an alias points to.
    pub fn describe_alias(&self, db_name: &str, alias: &str) -> Result<String> {
        names::validate(NameKind::Alias, alias)?;
        let state = self.state();
        let db = state.database(db_name)?;
        let record = state
            .aliases
            .get(&(db.id, alias.to_string()))
            .ok_or_else(|| EngineError::AliasNotFound { db: db.name.clone(), alias: alias.to_string() })?;
        Ok(state.collections.get(&record.collection_id).map(|c| c.name.clone()).unwrap_or_default())
    }

    /// Aliases of one collection, by id.
    pub fn list_aliases_of(&self, collection: quiver_base::CollectionId) -> Vec<String> {
        self.state().aliases_of(collection)
    }

    /// Aliases of a database, or of one collection when `collection` is given.
    pub fn list_aliases(&self, db_name: &str, collection: Option<&str>) -> Result<Vec<String>> {
        let state = self.state();
        let db = state.database(db_name)?;
        match collection {
            Some(name) => {
                names::validate(NameKind::Collection, name)?;
                Ok(state.aliases_of(state.resolve(db, name)?.id))
            }
            None => Ok(state.aliases.values().filter(|a| a.db_id == db.id).map(|a| a.name.clone()).collect()),
        }
    }
}
