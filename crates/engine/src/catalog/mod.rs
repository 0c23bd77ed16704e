//! The catalog: databases, collections, partitions, aliases, index definitions and load
//! state, kept in the metadata store and mirrored in memory.
//!
//! Invariants:
//! - DDL is serialised by one async lock; each DDL builds the next state from a copy of
//!   the current one, commits every changed key in **one** metadata transaction, and only
//!   then publishes the new state. A failed commit publishes nothing, so a crash or an
//!   error never leaves a half-made object.
//! - Readers take the published state (an `Arc`) without waiting for DDL I/O.
//! - Names are unique per database across collections *and* aliases.

mod alias;
mod collection;
mod database;
mod index;
pub mod keys;
mod load;
pub mod model;
mod partition;

use crate::error::{EngineError, Result};
use crate::ids::IdAllocator;
use crate::tso::TimestampOracle;
use model::{Alias, Collection, DEFAULT_DATABASE, Database};
use quiver_base::{CollectionId, DatabaseId, Timestamp};
use quiver_storage::{MetaStore, Txn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;

pub use collection::NewCollection;
pub use index::IndexInfo;

/// The whole catalog as of one commit.
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    databases: BTreeMap<DatabaseId, Database>,
    collections: BTreeMap<CollectionId, Collection>,
    aliases: BTreeMap<(DatabaseId, String), Alias>,
}

impl State {
    fn database(&self, name: &str) -> Result<&Database> {
        self.databases.values().find(|db| db.name == name).ok_or_else(|| EngineError::DatabaseNotFound { name: name.to_string() })
    }

    /// A collection by its own name (not an alias).
    fn collection_named(&self, db: DatabaseId, name: &str) -> Option<&Collection> {
        self.collections.values().find(|c| c.db_id == db && c.name == name)
    }

    /// A collection by name or alias.
    fn resolve(&self, db: &Database, name: &str) -> Result<&Collection> {
        self.collection_named(db.id, name)
            .or_else(|| {
                let alias = self.aliases.get(&(db.id, name.to_string()))?;
                self.collections.get(&alias.collection_id)
            })
            .ok_or_else(|| EngineError::CollectionNotFound { db: db.name.clone(), name: name.to_string() })
    }

    fn aliases_of(&self, collection: CollectionId) -> Vec<String> {
        self.aliases.values().filter(|a| a.collection_id == collection).map(|a| a.name.clone()).collect()
    }

    fn is_alias(&self, db: DatabaseId, name: &str) -> bool {
        self.aliases.contains_key(&(db, name.to_string()))
    }
}

/// A collection as a reader sees it: the record plus names that live elsewhere.
#[derive(Clone, Debug)]
pub struct CollectionInfo {
    pub collection: Collection,
    pub db_name: String,
    pub aliases: Vec<String>,
}

pub struct Catalog {
    store: Arc<dyn MetaStore>,
    tso: Arc<TimestampOracle>,
    ids: Arc<IdAllocator>,
    ddl: Mutex<()>,
    published: RwLock<Arc<State>>,
}

impl Catalog {
    /// Load the catalog from `store`, creating the `default` database on first start.
    pub async fn open(store: Arc<dyn MetaStore>, tso: Arc<TimestampOracle>, ids: Arc<IdAllocator>) -> Result<Self> {
        let mut state = State::default();
        for db in load_all::<Database>(&*store, keys::DATABASE_PREFIX).await? {
            state.databases.insert(db.id, db);
        }
        for collection in load_all::<Collection>(&*store, keys::COLLECTION_PREFIX).await? {
            state.collections.insert(collection.id, collection);
        }
        for alias in load_all::<Alias>(&*store, keys::ALIAS_PREFIX).await? {
            state.aliases.insert((alias.db_id, alias.name.clone()), alias);
        }
        let catalog = Catalog { store, tso, ids, ddl: Mutex::new(()), published: RwLock::new(Arc::new(state)) };
        if catalog.state().database(DEFAULT_DATABASE).is_err() {
            catalog.create_database(DEFAULT_DATABASE, Default::default()).await?;
        }
        Ok(catalog)
    }

    /// The current published state.
    fn state(&self) -> Arc<State> {
        Arc::clone(&self.published.read().expect("catalog lock poisoned"))
    }

    /// Start a DDL: take the DDL lock and a private copy of the state to change.
    async fn begin(&self) -> (tokio::sync::MutexGuard<'_, ()>, State) {
        let guard = self.ddl.lock().await;
        let state = (*self.state()).clone();
        (guard, state)
    }

    /// Commit `txn` and publish `next`. Call with the DDL guard held.
    ///
    /// # Cancel safety
    /// Not cancel safe: the server runs DDL in a spawned task so a client disconnect
    /// cannot drop it between the commit and the publish.
    async fn publish(&self, txn: Txn, next: State) -> Result<()> {
        if !txn.ops.is_empty() {
            self.store.commit(txn).await?;
        }
        *self.published.write().expect("catalog lock poisoned") = Arc::new(next);
        Ok(())
    }

    async fn next_ts(&self) -> Result<Timestamp> {
        self.tso.next().await
    }

    async fn next_id(&self) -> Result<i64> {
        self.ids.next().await
    }

    fn info(state: &State, collection: &Collection) -> CollectionInfo {
        CollectionInfo {
            collection: collection.clone(),
            db_name: state.databases.get(&collection.db_id).map(|db| db.name.clone()).unwrap_or_default(),
            aliases: state.aliases_of(collection.id),
        }
    }
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("catalog records always serialize")
}

async fn load_all<T: DeserializeOwned>(store: &dyn MetaStore, prefix: &str) -> Result<Vec<T>> {
    store
        .scan_prefix(prefix)
        .await?
        .into_iter()
        .map(|(key, value)| serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key, reason: e.to_string() }))
        .collect()
}

#[cfg(test)]
mod tests;
