//! The embedded metadata store: one `redb` database file, one table of string keys.
//!
//! redb commits are durable (fsync) by default, so a committed catalog change survives a
//! crash. redb is synchronous; every call runs on tokio's blocking pool.

use super::{MetaError, MetaStore, Op, Result, Txn};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

#[derive(Clone)]
pub struct RedbMetaStore {
    db: Arc<Database>,
}

impl RedbMetaStore {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(|error| match error {
            redb::DatabaseError::DatabaseAlreadyOpen => MetaError::InUse,
            other => MetaError::Redb(other.into()),
        })?;
        // Create the table up front so readers never see "table does not exist".
        let txn = db.begin_write().map_err(redb::Error::from)?;
        txn.open_table(TABLE).map_err(redb::Error::from)?;
        txn.commit().map_err(redb::Error::from)?;
        Ok(RedbMetaStore { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce(&Database) -> Result<T> + Send + 'static) -> Result<T> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db)).await?
    }
}

fn read_value(table: &impl ReadableTable<&'static str, &'static [u8]>, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(table.get(key).map_err(redb::Error::from)?.map(|guard| guard.value().to_vec()))
}

fn scan(table: &impl ReadableTable<&'static str, &'static [u8]>, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in table.range(prefix..).map_err(redb::Error::from)? {
        let (key, value) = entry.map_err(redb::Error::from)?;
        if !key.value().starts_with(prefix) {
            break;
        }
        out.push((key.value().to_string(), value.value().to_vec()));
    }
    Ok(out)
}

#[async_trait]
impl MetaStore for RedbMetaStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(redb::Error::from)?;
            let table = txn.open_table(TABLE).map_err(redb::Error::from)?;
            read_value(&table, &key)
        })
        .await
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self.scan_prefixes(&[prefix]).await?.pop().unwrap_or_default())
    }

    async fn scan_prefixes(&self, prefixes: &[&str]) -> Result<Vec<Vec<(String, Vec<u8>)>>> {
        let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
        self.blocking(move |db| {
            // One read transaction: redb serves it from one committed version.
            let txn = db.begin_read().map_err(redb::Error::from)?;
            let table = txn.open_table(TABLE).map_err(redb::Error::from)?;
            prefixes.iter().map(|prefix| scan(&table, prefix)).collect()
        })
        .await
    }

    fn single_process(&self) -> bool {
        true
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        self.blocking(move |db| {
            let write = db.begin_write().map_err(redb::Error::from)?;
            {
                let mut table = write.open_table(TABLE).map_err(redb::Error::from)?;
                for condition in &txn.conditions {
                    let current = read_value(&table, condition.key())?;
                    if !condition.holds(current.as_deref()) {
                        // Dropping `write` without commit aborts the transaction.
                        return Err(MetaError::ConditionFailed { key: condition.key().to_string() });
                    }
                }
                for op in &txn.ops {
                    match op {
                        Op::Put(key, value) => {
                            table.insert(key.as_str(), value.as_slice()).map_err(redb::Error::from)?;
                        }
                        Op::Delete(key) => {
                            table.remove(key.as_str()).map_err(redb::Error::from)?;
                        }
                    }
                }
            }
            write.commit().map_err(redb::Error::from)?;
            Ok(())
        })
        .await
    }
}
