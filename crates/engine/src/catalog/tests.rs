//! Catalog behaviour over a real redb store: rules, idempotence and restart.

use super::model::{ConsistencyLevel, LoadState};
use super::{Catalog, NewCollection};
use crate::context::Context;
use crate::error::EngineError;
use crate::schema::{CollectionSchema, DataType, FieldSchema};
use object_store::memory::InMemory;
use quiver_base::SystemClock;
use quiver_storage::{MetaStore, RedbMetaStore};
use std::path::Path;
use std::sync::Arc;

fn field(name: &str, data_type: DataType) -> FieldSchema {
    FieldSchema::new(name, data_type)
}

fn simple_schema(name: &str) -> CollectionSchema {
    let mut pk = field("pk", DataType::Int64);
    pk.is_primary_key = true;
    let vector = field("vector", DataType::FloatVector).with_param("dim", 8);
    CollectionSchema {
        name: name.into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: true,
        fields: vec![pk, vector],
        version: 0,
    }
}

async fn open(path: &Path) -> Catalog {
    let store: Arc<dyn MetaStore> = Arc::new(RedbMetaStore::open(&path.join("meta.redb")).unwrap());
    let ctx = Context::open(store, Arc::new(InMemory::new()), Arc::new(SystemClock)).await.unwrap();
    Catalog::open(Arc::new(ctx)).await.unwrap()
}

fn new_collection(name: &str) -> NewCollection {
    NewCollection {
        name: name.into(),
        schema: simple_schema(name),
        shards_num: 0,
        consistency_level: ConsistencyLevel::Bounded,
        properties: Default::default(),
        num_partitions: 0,
        partitions: Vec::new(),
        indexes: Vec::new(),
    }
}

#[tokio::test]
async fn default_database_and_partition_exist() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    assert_eq!(catalog.list_databases().iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["default"]);
    let info = catalog.create_collection("default", new_collection("c")).await.unwrap();
    assert_eq!(info.collection.shards_num, 1);
    let partitions = catalog.list_partitions("default", "c").unwrap();
    assert_eq!(partitions.len(), 1);
    assert_eq!(partitions[0].name, "_default");
}

#[tokio::test]
async fn create_is_idempotent_and_refuses_a_different_definition() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    let first = catalog.create_collection("default", new_collection("c")).await.unwrap();
    let again = catalog.create_collection("default", new_collection("c")).await.unwrap();
    assert_eq!(first.collection.id, again.collection.id);
    let mut different = new_collection("c");
    different.schema.fields.push(field("extra", DataType::Bool));
    assert!(matches!(catalog.create_collection("default", different).await, Err(EngineError::DuplicateCollection { .. })));
}

#[tokio::test]
async fn aliases_share_the_collection_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    catalog.create_collection("default", new_collection("c")).await.unwrap();
    catalog.create_collection("default", new_collection("d")).await.unwrap();
    catalog.create_alias("default", "c", "a").await.unwrap();
    assert_eq!(catalog.describe_collection("default", "a").unwrap().collection.name, "c");
    assert!(matches!(catalog.create_alias("default", "d", "c").await, Err(EngineError::AliasNameConflictsWithCollection { .. })));
    assert!(matches!(catalog.create_alias("default", "d", "a").await, Err(EngineError::AliasAlreadyExists { .. })));
    assert!(matches!(
        catalog.create_collection("default", new_collection("a")).await,
        Err(EngineError::CollectionNameConflictsWithAlias { .. })
    ));
    assert!(matches!(catalog.drop_collection("default", "c").await, Err(EngineError::CollectionHasAliases { .. })));
    catalog.alter_alias("default", "d", "a").await.unwrap();
    assert_eq!(catalog.describe_alias("default", "a").unwrap(), "d");
    catalog.drop_alias("default", "a").await.unwrap();
    catalog.drop_collection("default", "c").await.unwrap();
    assert!(matches!(catalog.describe_alias("default", "a"), Err(EngineError::AliasNotFound { .. })));
    catalog.drop_alias("default", "a").await.unwrap(); // gone already: still fine
}

#[tokio::test]
async fn renames_check_aliases_and_names_as_milvus_does() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    catalog.create_collection("default", new_collection("c")).await.unwrap();
    catalog.create_collection("default", new_collection("d")).await.unwrap();
    catalog.create_alias("default", "c", "a").await.unwrap();
    assert!(matches!(catalog.rename_collection("default", "d", "default", "a").await, Err(EngineError::RenameToAlias { .. })));
    assert!(matches!(catalog.rename_collection("default", "d", "default", "c").await, Err(EngineError::RenameTargetExists { .. })));
    // A collection with aliases may be renamed within its database; the alias follows it.
    catalog.rename_collection("default", "c", "default", "e").await.unwrap();
    assert_eq!(catalog.describe_alias("default", "a").unwrap(), "e");
}

#[tokio::test]
async fn malformed_names_are_refused_or_simply_not_found_by_call() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    assert!(matches!(catalog.resolve_checked("default", "1c"), Err(EngineError::InvalidName { .. })));
    assert!(matches!(catalog.resolve("default", "1c"), Err(EngineError::CollectionNotFound { .. })));
    catalog.create_collection("default", new_collection("c")).await.unwrap();
    assert!(matches!(catalog.has_partition("default", "c", "p q"), Err(EngineError::InvalidName { .. })));
    assert!(matches!(catalog.release_partitions("default", "c", &["p q".into()]).await, Err(EngineError::InvalidName { .. })));
    assert!(matches!(catalog.load_partitions("default", "c", &["p q".into()]).await, Err(EngineError::PartitionNotFound { .. })));
    assert!(matches!(catalog.drop_database("1db").await, Err(EngineError::InvalidName { .. })));
}

#[tokio::test]
async fn partition_key_collections_own_their_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    let mut request = new_collection("pk");
    let mut key = field("tenant", DataType::Int64);
    key.is_partition_key = true;
    request.schema.fields.push(key);
    request.num_partitions = 4;
    catalog.create_collection("default", request).await.unwrap();
    let names: Vec<_> = catalog.list_partitions("default", "pk").unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["_default_0", "_default_1", "_default_2", "_default_3"]);
    assert!(matches!(catalog.create_partition("default", "pk", "p").await, Err(EngineError::PartitionKeyManaged { .. })));
}

#[tokio::test]
async fn everything_survives_a_restart_with_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (id, created, partition_ids) = {
        let catalog = open(dir.path()).await;
        catalog.create_database("db1", [("k".to_string(), "v".to_string())].into()).await.unwrap();
        let info = catalog.create_collection("db1", new_collection("c")).await.unwrap();
        catalog.create_partition("db1", "c", "p1").await.unwrap();
        catalog.create_alias("db1", "c", "a").await.unwrap();
        catalog.load_collection("db1", "c").await.unwrap();
        let parts: Vec<_> = catalog.list_partitions("db1", "c").unwrap().into_iter().map(|p| p.id).collect();
        (info.collection.id, info.collection.created_ts, parts)
    };
    let catalog = open(dir.path()).await;
    let db = catalog.describe_database("db1").unwrap();
    assert_eq!(db.properties.get("k").map(String::as_str), Some("v"));
    let info = catalog.describe_collection("db1", "a").unwrap();
    assert_eq!(info.collection.id, id);
    assert_eq!(info.aliases, ["a"]);
    let parts: Vec<_> = catalog.list_partitions("db1", "c").unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(parts, partition_ids);
    assert_eq!(catalog.load_state("db1", "c", &[]).unwrap(), LoadState::Loaded);
    let later = catalog.create_collection("db1", new_collection("d")).await.unwrap();
    assert!(later.collection.created_ts > created);
    assert!(later.collection.id.0 > id.0);
}

#[tokio::test]
async fn loaded_partitions_cannot_be_dropped_and_databases_must_be_empty() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = open(dir.path()).await;
    catalog.create_database("db1", Default::default()).await.unwrap();
    catalog.create_collection("db1", new_collection("c")).await.unwrap();
    catalog.create_partition("db1", "c", "p").await.unwrap();
    catalog.load_partitions("db1", "c", &["p".to_string()]).await.unwrap();
    assert!(matches!(catalog.drop_partition("db1", "c", "p").await, Err(EngineError::PartitionLoaded { .. })));
    assert!(matches!(catalog.drop_partition("db1", "c", "_default").await, Err(EngineError::DefaultPartitionUndroppable)));
    assert!(matches!(catalog.drop_database("db1").await, Err(EngineError::DatabaseNotEmpty { .. })));
    catalog.release_partitions("db1", "c", &["p".to_string()]).await.unwrap();
    assert_eq!(catalog.load_state("db1", "c", &[]).unwrap(), LoadState::NotLoad);
    catalog.drop_partition("db1", "c", "p").await.unwrap();
    catalog.drop_collection("db1", "c").await.unwrap();
    catalog.drop_database("db1").await.unwrap();
    assert!(matches!(catalog.describe_database("db1"), Err(EngineError::DatabaseNotFound { .. })));
}
