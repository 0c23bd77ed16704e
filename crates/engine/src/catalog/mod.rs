//! The catalog: databases, collections, partitions, aliases, index definitions and load
//! state, kept in the metadata store and cached in memory.
//!
//! Invariants, each held by the commit that makes the change:
//! - A name is claimed once: collections and aliases share one namespace per database,
//!   claimed by create-if-absent on `catalog/name/<db>/<name>`; database names on
//!   `catalog/dbname/<name>`. Two creators of one name, in this process or another
//!   sharing the store, cannot both succeed.
//! - Every change commits all the keys it touches in **one** transaction that expects
//!   each existing key to hold exactly the bytes this catalog last saw (compare-and-set),
//!   so a change made from a stale view fails instead of overwriting. On such a conflict
//!   the cache is reloaded from the store and the change is tried again on fresh state.
//! - A collection is created in its database by a commit that also bumps the database
//!   record, and a database is dropped by a commit that expects that record unchanged,
//!   so a database cannot be dropped while a collection is being created in it.
//! - The in-memory state is a cache of the store, published only after a commit
//!   succeeds; readers take it (an `Arc`) without waiting for DDL I/O. A local async lock
//!   only orders this process's DDL so it does not conflict with itself.

mod alias;
mod collection;
mod database;
mod index;
pub mod index_spec;
pub mod json_index;
pub mod keys;
mod load;
pub mod model;
mod partition;

use crate::context::Context;
use crate::error::{EngineError, Result, decode, encode};
use model::{Alias, Collection, DEFAULT_DATABASE, Database, NameClaim};
use quiver_base::{CollectionId, DatabaseId, Timestamp};
use quiver_storage::{MetaError, Txn};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;

pub use collection::{NewCollection, PreparedCollection};
pub use index::{IndexInfo, NewIndex};

/// How many times a change is retried on fresh state after a conflicting commit.
const CONFLICT_RETRIES: usize = 5;

/// The whole catalog as of one commit.
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    databases: BTreeMap<DatabaseId, Database>,
    collections: BTreeMap<CollectionId, Collection>,
    aliases: BTreeMap<(DatabaseId, String), Alias>,
    /// The stored bytes of every catalog key (records and name claims): what each
    /// conditional commit expects to find.
    stored: HashMap<String, Vec<u8>>,
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

/// A change being prepared: the next state and the one transaction that makes it so.
pub(crate) struct Draft {
    next: State,
    txn: Txn,
}

impl Draft {
    /// Write a key that must not exist yet (a new record or a name claim).
    fn create(&mut self, key: String, value: &impl Serialize) {
        let bytes = encode(value);
        self.txn = std::mem::take(&mut self.txn).when_absent(&key).put(&key, bytes.clone());
        self.next.stored.insert(key, bytes);
    }

    /// Replace a key expected to hold what this catalog last saw.
    fn update(&mut self, key: String, value: &impl Serialize) {
        let bytes = encode(value);
        let txn = std::mem::take(&mut self.txn);
        let txn = match self.next.stored.get(&key) {
            Some(old) => txn.when_equals(&key, old.clone()),
            None => txn.when_absent(&key),
        };
        self.txn = txn.put(&key, bytes.clone());
        self.next.stored.insert(key, bytes);
    }

    /// Delete a key expected to hold what this catalog last saw.
    fn remove(&mut self, key: String) {
        let txn = std::mem::take(&mut self.txn);
        self.txn = match self.next.stored.remove(&key) {
            Some(old) => txn.when_equals(&key, old).delete(&key),
            None => txn,
        };
    }

    fn put_collection(&mut self, collection: Collection, new: bool) {
        let key = keys::collection(collection.id);
        if new {
            self.create(key, &collection)
        } else {
            self.update(key, &collection)
        }
        self.next.collections.insert(collection.id, collection);
    }

    fn put_database(&mut self, db: Database, new: bool) {
        let key = keys::database(db.id);
        if new {
            self.create(key, &db)
        } else {
            self.update(key, &db)
        }
        self.next.databases.insert(db.id, db);
    }

    /// Bump a database's revision: a drop of the database prepared before this change
    /// then fails its commit.
    fn touch_database(&mut self, id: DatabaseId) {
        if let Some(mut db) = self.next.databases.get(&id).cloned() {
            db.revision += 1;
            self.put_database(db, false);
        }
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
    ctx: Arc<Context>,
    ddl: Mutex<()>,
    published: RwLock<Arc<State>>,
}

impl Catalog {
    /// Load the catalog, creating the `default` database on first start and claiming the
    /// names of records written before names were claimed.
    pub async fn open(ctx: Arc<Context>) -> Result<Self> {
        let state = load(&ctx).await?;
        let catalog = Catalog { ctx, ddl: Mutex::new(()), published: RwLock::new(Arc::new(state)) };
        catalog.claim_missing_names().await?;
        if catalog.state().database(DEFAULT_DATABASE).is_err() {
            catalog.create_database(DEFAULT_DATABASE, Default::default()).await?;
        }
        Ok(catalog)
    }

    /// Read the whole catalog from the store again (after a conflicting commit, or when
    /// another process may have changed it).
    pub async fn reload(&self) -> Result<()> {
        let _ddl = self.ddl.lock().await;
        let state = load(&self.ctx).await?;
        *self.published.write().expect("catalog lock poisoned") = Arc::new(state);
        Ok(())
    }

    async fn claim_missing_names(&self) -> Result<()> {
        self.change(|draft| {
            let claims: Vec<(String, NameClaim)> = draft
                .next
                .collections
                .values()
                .map(|c| (keys::name(c.db_id, &c.name), NameClaim::Collection(c.id)))
                .chain(draft.next.aliases.values().map(|a| (keys::name(a.db_id, &a.name), NameClaim::Alias(a.collection_id))))
                .collect();
            for (key, claim) in claims {
                if !draft.next.stored.contains_key(&key) {
                    draft.create(key, &claim);
                }
            }
            let databases: Vec<Database> = draft.next.databases.values().cloned().collect();
            for db in databases {
                let key = keys::database_name(&db.name);
                if !draft.next.stored.contains_key(&key) {
                    draft.create(key, &db.id);
                }
            }
            Ok(())
        })
        .await
    }

    /// The current published state.
    fn state(&self) -> Arc<State> {
        Arc::clone(&self.published.read().expect("catalog lock poisoned"))
    }

    /// Make one change: `prepare` builds it on a copy of the current state, one conditional
    /// commit applies it, and only then is the new state published. A conflict (the store
    /// changed under the cache) reloads the cache and prepares the change again, so it
    /// gets the outcome it would have had on fresh state (often a clear refusal).
    ///
    /// # Cancel safety
    /// Not cancel safe between the commit and the publish (the cache would lag the store
    /// until the next reload); the server runs DDL in spawned tasks.
    pub(crate) async fn change<T>(&self, prepare: impl FnMut(&mut Draft) -> Result<T>) -> Result<T> {
        self.change_with(Txn::new(), prepare).await
    }

    /// [`change`](Self::change), committing `extra` (another component's records, built
    /// by that component) in the same transaction.
    pub(crate) async fn change_with<T>(&self, extra: Txn, mut prepare: impl FnMut(&mut Draft) -> Result<T>) -> Result<T> {
        for _ in 0..CONFLICT_RETRIES {
            let _ddl = self.ddl.lock().await;
            let mut draft = Draft { next: (*self.state()).clone(), txn: Txn::new() };
            let out = prepare(&mut draft)?;
            let txn = draft.txn.merge(extra.clone());
            if txn.is_empty() {
                return Ok(out);
            }
            match self.ctx.meta.commit(txn).await {
                Ok(()) => {
                    *self.published.write().expect("catalog lock poisoned") = Arc::new(draft.next);
                    return Ok(out);
                }
                Err(MetaError::ConditionFailed { key }) if !extra.conditions.iter().any(|c| c.key() == key) => {
                    let state = load(&self.ctx).await?;
                    *self.published.write().expect("catalog lock poisoned") = Arc::new(state);
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(EngineError::Conflict { what: "the catalog".to_string() })
    }

    async fn next_ts(&self) -> Result<Timestamp> {
        self.ctx.next_ts().await
    }

    async fn next_id(&self) -> Result<i64> {
        self.ctx.next_id().await
    }

    fn info(state: &State, collection: &Collection) -> CollectionInfo {
        CollectionInfo {
            collection: collection.clone(),
            db_name: state.databases.get(&collection.db_id).map(|db| db.name.clone()).unwrap_or_default(),
            aliases: state.aliases_of(collection.id),
        }
    }
}

/// Every catalog record and name claim, read in one view.
async fn load(ctx: &Context) -> Result<State> {
    let prefixes = [keys::DATABASE_PREFIX, keys::COLLECTION_PREFIX, keys::ALIAS_PREFIX, keys::NAME_PREFIX, keys::DATABASE_NAME_PREFIX];
    let mut view = ctx.meta.scan_prefixes(&prefixes).await?.into_iter();
    let mut state = State::default();
    for (key, value) in view.next().unwrap_or_default() {
        let db: Database = decode(&key, &value)?;
        state.databases.insert(db.id, db);
        state.stored.insert(key, value);
    }
    for (key, value) in view.next().unwrap_or_default() {
        let collection: Collection = decode(&key, &value)?;
        state.collections.insert(collection.id, collection);
        state.stored.insert(key, value);
    }
    for (key, value) in view.next().unwrap_or_default() {
        let alias: Alias = decode(&key, &value)?;
        state.aliases.insert((alias.db_id, alias.name.clone()), alias);
        state.stored.insert(key, value);
    }
    for (key, value) in view.flatten() {
        state.stored.insert(key, value);
    }
    Ok(state)
}

#[cfg(test)]
mod tests;
