//! Collection DDL: create, drop, describe, list, rename, alter properties.

use super::index::NewIndex;
use super::model::NameClaim;
use super::model::{
    Collection, ConsistencyLevel, DEFAULT_PARTITION, DEFAULT_PARTITION_KEY_PARTITIONS, MAX_PARTITIONS, MAX_SHARDS, Partition, Properties,
};
use super::{Catalog, CollectionInfo, keys};
use crate::error::{EngineError, NameKind, Result, invalid};
use crate::names;
use crate::schema::CollectionSchema;
use quiver_base::{CollectionId, IndexId, PartitionId};
use quiver_storage::Txn;

/// The collection property that says whether its files are memory-mapped.
const MMAP_PROPERTY: &str = "mmap.enabled";
/// The collection property that switches the dynamic field on.
const DYNAMIC_FIELD_PROPERTY: &str = "dynamicfield.enabled";

/// Collection properties `warmup.*` (per kind of data) hold warm-up policies.
fn check_warmup_properties(properties: &Properties) -> Result<()> {
    properties.iter().filter(|(key, _)| key.starts_with("warmup")).try_for_each(|(_, policy)| Ok(crate::schema::check_warmup(policy)?))
}

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
    /// Partitions besides the default one (a restore recreates a snapshot's).
    pub partitions: Vec<String>,
    /// Index definitions to create with the collection (a restore recreates a
    /// snapshot's), checked like CreateIndex.
    pub indexes: Vec<NewIndex>,
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

/// A checked collection definition with its ids, not created yet.
#[derive(Clone, Debug)]
pub struct PreparedCollection {
    request: NewCollection,
    collection: Collection,
}

impl PreparedCollection {
    /// The collection as it will be created (its database id is set at creation).
    pub fn collection(&self) -> &Collection {
        &self.collection
    }

    /// Make the collection a read-only mount of `source`.
    pub fn mount(mut self, source: super::model::MountSource) -> Self {
        self.collection.mounted = Some(source);
        self
    }
}

impl Catalog {
    /// Create a collection with its partitions. Creating the same collection again with
    /// the same definition succeeds and changes nothing, as in Milvus.
    pub async fn create_collection(&self, db_name: &str, request: NewCollection) -> Result<CollectionInfo> {
        let prepared = self.prepare_collection(request).await?;
        self.create_prepared(db_name, prepared, false, Txn::new()).await
    }

    /// Check a new collection's definition and give it its ids (collection, partitions,
    /// indexes), so a caller can build records naming them before it exists.
    pub async fn prepare_collection(&self, request: NewCollection) -> Result<PreparedCollection> {
        let request = request.normalized()?;
        check_warmup_properties(&request.properties)?;
        let created_ts = self.next_ts().await?;
        let mut partition_names: Vec<String> = if request.num_partitions > 0 {
            (0..request.num_partitions).map(|i| format!("{DEFAULT_PARTITION}_{i}")).collect()
        } else {
            vec![DEFAULT_PARTITION.to_string()]
        };
        for name in &request.partitions {
            names::validate(NameKind::Partition, name)?;
            if !partition_names.contains(name) {
                partition_names.push(name.clone());
            }
        }
        if partition_names.len() > MAX_PARTITIONS {
            return Err(EngineError::TooManyPartitions { limit: MAX_PARTITIONS });
        }
        let count = 1 + partition_names.len() + request.indexes.len();
        let first_id = self.ctx.ids.next_block(count as u64).await?;
        let partitions = partition_names
            .into_iter()
            .enumerate()
            .map(|(i, name)| Partition { id: PartitionId(first_id + 1 + i as i64), name, created_ts, loaded: false })
            .collect::<Vec<_>>();
        let index_ids = first_id + 1 + partitions.len() as i64;
        let mut collection = Collection {
            id: CollectionId(first_id),
            db_id: quiver_base::DatabaseId(0),
            name: request.name.clone(),
            schema: request.schema.clone(),
            shards_num: request.shards_num,
            consistency_level: request.consistency_level,
            properties: request.properties.clone(),
            num_partitions: request.num_partitions,
            partitions,
            indexes: Vec::new(),
            created_ts,
            updated_ts: created_ts,
            loaded: false,
            mounted: None,
        };
        for (i, index) in request.indexes.iter().enumerate() {
            super::index::define(&mut collection, index, IndexId(index_ids + i as i64), created_ts)?;
        }
        Ok(PreparedCollection { request, collection })
    }

    /// Create a prepared collection in `db_name`, in one transaction with `extra` (the
    /// caller's own records): the collection appears only together with them. With
    /// `exclusive`, the name must be free even for the same definition (the target of a
    /// restore): of concurrent creates of one name exactly one succeeds.
    pub async fn create_prepared(
        &self,
        db_name: &str,
        prepared: PreparedCollection,
        exclusive: bool,
        extra: Txn,
    ) -> Result<CollectionInfo> {
        let PreparedCollection { request, collection } = prepared;
        self.change_with(extra, |draft| {
            let db = draft.next.database(db_name)?.clone();
            if draft.next.is_alias(db.id, &request.name) {
                return Err(EngineError::CollectionNameConflictsWithAlias { name: request.name.clone() });
            }
            if let Some(existing) = draft.next.collection_named(db.id, &request.name) {
                return if request.matches(existing) && !exclusive {
                    Ok(Self::info(&draft.next, existing))
                } else {
                    Err(EngineError::DuplicateCollection { name: request.name.clone() })
                };
            }
            let mut collection = collection.clone();
            collection.db_id = db.id;
            draft.create(keys::name(db.id, &collection.name), &NameClaim::Collection(collection.id));
            draft.put_collection(collection.clone(), true);
            draft.touch_database(db.id);
            Ok(Self::info(&draft.next, &collection))
        })
        .await
    }

    /// Drop a collection by its own name (not an alias). Dropping one that does not exist
    /// succeeds, as in Milvus; one that still has aliases is refused. Returns the dropped
    /// collection.
    pub async fn drop_collection(&self, db_name: &str, name: &str) -> Result<Option<Collection>> {
        self.change(|draft| {
            let db = draft.next.database(db_name)?.clone();
            let Some(collection) = draft.next.collection_named(db.id, name).cloned() else {
                if draft.next.is_alias(db.id, name) {
                    return Err(invalid(format!("cannot drop the collection via alias = {name}")));
                }
                return Ok(None);
            };
            let aliases = draft.next.aliases_of(collection.id);
            if !aliases.is_empty() {
                return Err(EngineError::CollectionHasAliases { name: name.to_string(), aliases });
            }
            draft.next.collections.remove(&collection.id);
            draft.remove(keys::collection(collection.id));
            draft.remove(keys::name(db.id, name));
            Ok(Some(collection))
        })
        .await
    }

    /// A collection by name or alias: the one way names are resolved. A malformed name is
    /// simply not found, as in Milvus's search, index and property calls.
    pub fn resolve(&self, db_name: &str, name: &str) -> Result<Collection> {
        let state = self.state();
        let db = state.database(db_name)?;
        Ok(state.resolve(db, name)?.clone())
    }

    /// A collection by name or alias, its name checked first: Milvus refuses a malformed
    /// name as such in describe, load, release, write and query calls.
    pub fn resolve_checked(&self, db_name: &str, name: &str) -> Result<Collection> {
        names::validate(NameKind::Collection, name)?;
        self.resolve(db_name, name)
    }

    /// A collection by name or alias, with its database name and aliases; a malformed
    /// name is refused as such.
    pub fn describe_collection(&self, db_name: &str, name: &str) -> Result<CollectionInfo> {
        names::validate(NameKind::Collection, name)?;
        let state = self.state();
        let db = state.database(db_name)?;
        let collection = state.resolve(db, name)?;
        Ok(Self::info(&state, collection))
    }

    /// A collection by id, if it exists.
    pub fn collection(&self, id: CollectionId) -> Option<Collection> {
        self.state().collections.get(&id).cloned()
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

    /// Rename a collection, possibly into another database. Its id, data and aliases
    /// stay (aliases name the collection by id); moving a collection with aliases to
    /// another database is refused. Checked in Milvus's order: the new name, the target
    /// database, the old name being an alias, the new name being taken, the old name.
    pub async fn rename_collection(&self, db_name: &str, old: &str, new_db_name: &str, new: &str) -> Result<()> {
        if db_name == new_db_name && old == new {
            return Err(invalid("collection name or database name should be different: invalid parameter"));
        }
        names::validate(NameKind::Collection, new)?;
        let updated_ts = self.next_ts().await?;
        self.change(|draft| {
            let target_db = draft.next.database(new_db_name)?.clone();
            let db = draft.next.database(db_name)?.clone();
            if draft.next.is_alias(db.id, old) {
                return Err(invalid(format!("unsupported use an alias to rename collection, alias:{old}: invalid parameter")));
            }
            if draft.next.is_alias(target_db.id, new) {
                return Err(EngineError::RenameToAlias { alias: new.to_string() });
            }
            if draft.next.collection_named(target_db.id, new).is_some() {
                return Err(EngineError::RenameTargetExists { db: target_db.name, name: new.to_string() });
            }
            let mut collection = draft
                .next
                .collection_named(db.id, old)
                .cloned()
                .ok_or_else(|| EngineError::CollectionNotFound { db: db.name.clone(), name: old.to_string() })?;
            if target_db.id != db.id && !draft.next.aliases_of(collection.id).is_empty() {
                return Err(invalid(format!(
                    "fail to rename collection to different database, must drop all aliases of collection {old} before rename"
                )));
            }
            draft.remove(keys::name(db.id, old));
            draft.create(keys::name(target_db.id, new), &NameClaim::Collection(collection.id));
            collection.name = new.to_string();
            collection.schema.name = new.to_string();
            collection.db_id = target_db.id;
            collection.updated_ts = updated_ts;
            draft.put_collection(collection, false);
            draft.touch_database(target_db.id);
            Ok(())
        })
        .await
    }

    /// Add a field to an existing collection (AddCollectionField / AlterCollectionSchema),
    /// by Milvus's rules (`CollectionSchema::with_added_field`); returns the collection
    /// as it is now.
    pub async fn add_field(&self, db_name: &str, name: &str, field: crate::schema::FieldSchema) -> Result<Collection> {
        self.update_collection(db_name, name, Stamp::Updated, |collection| {
            collection.schema = collection.schema.with_added_field(field.clone())?;
            Ok(())
        })
        .await?;
        self.resolve(db_name, name)
    }

    /// Change one field's type parameters (AlterCollectionField); the rules, including
    /// the load state, are checked inside the commit.
    pub async fn alter_field(&self, db_name: &str, name: &str, field: &str, params: Properties, delete_keys: &[String]) -> Result<()> {
        if params.is_empty() && delete_keys.is_empty() {
            return Err(invalid("no properties or delete keys provided"));
        }
        self.update_collection(db_name, name, Stamp::Updated, |collection| {
            collection.schema = collection.schema.with_altered_field(field, &params, delete_keys, collection.loaded)?;
            Ok(())
        })
        .await
    }

    /// Set `properties` (overwriting keys) and remove `delete_keys`. `dynamicfield.enabled`
    /// is not kept as a property: it switches the schema's dynamic field on (Milvus never
    /// switches it off), and the schema version moves on.
    pub async fn alter_collection(&self, db_name: &str, name: &str, mut properties: Properties, delete_keys: &[String]) -> Result<()> {
        if properties.is_empty() && delete_keys.is_empty() {
            return Err(invalid("no properties or delete keys provided"));
        }
        if delete_keys.iter().any(|key| key == DYNAMIC_FIELD_PROPERTY) {
            return Err(invalid(format!("cannot delete key {DYNAMIC_FIELD_PROPERTY}")));
        }
        let dynamic = match properties.remove(DYNAMIC_FIELD_PROPERTY) {
            // Python clients send "True"/"False".
            Some(value) => Some(
                value
                    .trim()
                    .to_ascii_lowercase()
                    .parse::<bool>()
                    .map_err(|_| invalid(format!("invalid {DYNAMIC_FIELD_PROPERTY} value: {value}, expected: true, false")))?,
            ),
            None => None,
        };
        check_warmup_properties(&properties)?;
        let sets_mmap = properties.contains_key(MMAP_PROPERTY);
        let deletes_mmap = delete_keys.iter().any(|key| key == MMAP_PROPERTY);
        self.update_collection(db_name, name, Stamp::Updated, |collection| {
            // Milvus maps a loaded collection's files by this setting: it changes only
            // while the collection is released.
            if collection.loaded && (sets_mmap || deletes_mmap) {
                let verb = if sets_mmap { "alter" } else { "delete" };
                return Err(invalid(format!("can not {verb} mmap properties if collection loaded")));
            }
            match dynamic {
                Some(true) if !collection.schema.enable_dynamic_field => {
                    collection.schema.enable_dynamic_field = true;
                    collection.schema.version += 1;
                }
                Some(false) if collection.schema.enable_dynamic_field => {
                    return Err(invalid("dynamic schema cannot supported to be disabled: invalid parameter"));
                }
                _ => {}
            }
            collection.properties.extend(properties.clone());
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
        mut change: impl FnMut(&mut Collection) -> Result<()>,
    ) -> Result<()> {
        let updated_ts = self.next_ts().await?;
        self.change(|draft| {
            let db = draft.next.database(db_name)?.clone();
            let mut collection = draft.next.resolve(&db, name)?.clone();
            let before = collection.clone();
            change(&mut collection)?;
            if collection == before {
                return Ok(());
            }
            if stamp == Stamp::Updated {
                collection.updated_ts = updated_ts;
            }
            draft.put_collection(collection, false);
            Ok(())
        })
        .await
    }
}

/// Whether a change moves the collection's `updated_ts` (definition changes do; load
/// state changes do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stamp {
    Updated,
    Unchanged,
}
