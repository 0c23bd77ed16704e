//! Database DDL: create, drop, list, describe, alter properties.

use super::model::{DEFAULT_DATABASE, Database, Properties};
use super::{Catalog, keys};
use crate::error::{EngineError, NameKind, Result, invalid};
use crate::names;
use quiver_base::DatabaseId;

impl Catalog {
    pub async fn create_database(&self, name: &str, properties: Properties) -> Result<Database> {
        names::validate(NameKind::Database, name)?;
        let id = DatabaseId(self.next_id().await?);
        let created_ts = self.next_ts().await?;
        self.change(|draft| {
            if draft.next.database(name).is_ok() {
                return Err(EngineError::DatabaseAlreadyExists { name: name.to_string() });
            }
            let db = Database { id, name: name.to_string(), properties: properties.clone(), created_ts, revision: 0 };
            draft.create(keys::database_name(name), &id);
            draft.put_database(db.clone(), true);
            Ok(db)
        })
        .await
    }

    /// Drop a database. Dropping one that does not exist succeeds, as in Milvus, but a
    /// malformed name is refused as such (describe and alter only say "not found").
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        names::validate(NameKind::Database, name)?;
        if name == DEFAULT_DATABASE {
            return Err(EngineError::DefaultDatabaseUndroppable);
        }
        self.change(|draft| {
            let Ok(db) = draft.next.database(name).cloned() else {
                return Ok(());
            };
            if draft.next.collections.values().any(|c| c.db_id == db.id) {
                return Err(EngineError::DatabaseNotEmpty { name: name.to_string() });
            }
            draft.next.databases.remove(&db.id);
            draft.remove(keys::database(db.id));
            draft.remove(keys::database_name(name));
            Ok(())
        })
        .await
    }

    pub fn list_databases(&self) -> Vec<Database> {
        self.state().databases.values().cloned().collect()
    }

    /// The name of a database by id.
    pub fn database_name(&self, id: DatabaseId) -> Option<String> {
        self.state().databases.get(&id).map(|db| db.name.clone())
    }

    pub fn describe_database(&self, name: &str) -> Result<Database> {
        self.state().database(name).cloned()
    }

    /// Set `properties` (overwriting keys) and remove `delete_keys`.
    pub async fn alter_database(&self, name: &str, properties: Properties, delete_keys: &[String]) -> Result<Database> {
        if properties.is_empty() && delete_keys.is_empty() {
            return Err(invalid("alter database with empty properties and delete keys, expected to set either properties or delete keys"));
        }
        self.change(|draft| {
            let mut db = draft.next.database(name)?.clone();
            db.properties.extend(properties.clone());
            for key in delete_keys {
                db.properties.remove(key);
            }
            draft.put_database(db.clone(), false);
            Ok(db)
        })
        .await
    }
}
