//! Database DDL: create, drop, list, describe, alter properties.

use super::model::{DEFAULT_DATABASE, Database, Properties};
use super::{Catalog, encode, keys};
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use quiver_base::DatabaseId;
use quiver_storage::Txn;

impl Catalog {
    pub async fn create_database(&self, name: &str, properties: Properties) -> Result<Database> {
        names::validate(NameKind::Database, name)?;
        let (_ddl, mut next) = self.begin().await;
        if next.database(name).is_ok() {
            return Err(EngineError::DatabaseAlreadyExists { name: name.to_string() });
        }
        let db = Database { id: DatabaseId(self.next_id().await?), name: name.to_string(), properties, created_ts: self.next_ts().await? };
        let key = keys::database(db.id);
        let txn = Txn::new().when_absent(&key).put(key, encode(&db));
        next.databases.insert(db.id, db.clone());
        self.publish(txn, next).await?;
        Ok(db)
    }

    /// Drop a database. Dropping one that does not exist succeeds, as in Milvus.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        if name == DEFAULT_DATABASE {
            return Err(EngineError::DefaultDatabaseUndroppable);
        }
        let (_ddl, mut next) = self.begin().await;
        let Ok(db) = next.database(name).cloned() else {
            return Ok(());
        };
        if next.collections.values().any(|c| c.db_id == db.id) {
            return Err(EngineError::DatabaseNotEmpty { name: name.to_string() });
        }
        next.databases.remove(&db.id);
        self.publish(Txn::new().delete(keys::database(db.id)), next).await
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
        let (_ddl, mut next) = self.begin().await;
        let mut db = next.database(name)?.clone();
        db.properties.extend(properties);
        for key in delete_keys {
            db.properties.remove(key);
        }
        let txn = Txn::new().put(keys::database(db.id), encode(&db));
        next.databases.insert(db.id, db.clone());
        self.publish(txn, next).await?;
        Ok(db)
    }
}
