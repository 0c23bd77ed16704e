//! The catalog's records: what is stored, one JSON value per metadata key (`keys.rs`).

use super::json_index::JsonPathTarget;
use crate::error::{EngineError, NameKind, Result};
use crate::names;
use crate::schema::CollectionSchema;
use quiver_base::{CollectionId, DatabaseId, FieldId, IndexId, PartitionId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Name of the database every deployment has, which cannot be dropped.
pub const DEFAULT_DATABASE: &str = "default";
/// Name of the partition every collection has, which cannot be dropped.
pub const DEFAULT_PARTITION: &str = "_default";
/// Partitions a partition-key collection gets when the client does not say.
pub const DEFAULT_PARTITION_KEY_PARTITIONS: i64 = 16;
/// Most partitions one collection may have (Milvus `rootCoord.maxPartitionNum`).
pub const MAX_PARTITIONS: usize = 1_024;
/// Most shards one collection may have (Milvus `proxy.maxShardNum`).
pub const MAX_SHARDS: i32 = 16;

pub type Properties = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub id: DatabaseId,
    pub name: String,
    pub properties: Properties,
    pub created_ts: Timestamp,
    /// Bumped by every collection created in (or renamed into) the database, so a drop
    /// of the database prepared before such a change fails its conditional commit.
    #[serde(default)]
    pub revision: u64,
}

/// Who holds a name of a database's collection namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameClaim {
    Collection(CollectionId),
    Alias(CollectionId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsistencyLevel {
    Strong,
    Session,
    Bounded,
    Eventually,
    Customized,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    pub id: PartitionId,
    pub name: String,
    pub created_ts: Timestamp,
    pub loaded: bool,
}

/// One index definition on one field. Builds per segment come with the data path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexDefinition {
    pub id: IndexId,
    pub name: String,
    pub field_id: FieldId,
    pub index_type: String,
    /// Empty for scalar indexes.
    pub metric_type: String,
    /// Build parameters such as `M`, `efConstruction`, `nlist`; for a JSON path index
    /// `json_path` and `json_cast_type` as the client gave them.
    pub params: BTreeMap<String, String>,
    pub created_ts: Timestamp,
    /// For an index on a JSON field or on `$meta` (`field_id` is then
    /// [`DYNAMIC_FIELD_ID`](crate::schema::DYNAMIC_FIELD_ID)): the path and cast it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonPathTarget>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub id: CollectionId,
    pub db_id: DatabaseId,
    pub name: String,
    pub schema: CollectionSchema,
    pub shards_num: i32,
    pub consistency_level: ConsistencyLevel,
    pub properties: Properties,
    /// Partitions hashed over by the partition key (0 without one).
    pub num_partitions: i64,
    pub partitions: Vec<Partition>,
    pub indexes: Vec<IndexDefinition>,
    pub created_ts: Timestamp,
    pub updated_ts: Timestamp,
    /// Loaded for reads (at least one partition is loaded).
    pub loaded: bool,
    /// Set when this collection is a mounted snapshot: read-only for its whole life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounted: Option<MountSource>,
}

/// The snapshot a mounted collection shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MountSource {
    pub collection: String,
    pub snapshot: String,
}

impl Collection {
    /// Refuse `operation` (a write or a schema change) on a mounted snapshot.
    pub fn check_writable(&self, operation: &str) -> Result<()> {
        match &self.mounted {
            Some(source) => Err(EngineError::MountedReadOnly {
                name: self.name.clone(),
                snapshot: format!("{}/{}", source.collection, source.snapshot),
                operation: operation.to_string(),
            }),
            None => Ok(()),
        }
    }

    pub fn partition(&self, name: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.name == name)
    }

    /// A partition a caller names: the name checked first (Milvus refuses a malformed
    /// name as such, not as a missing partition), then looked up.
    pub fn named_partition(&self, name: &str) -> Result<&Partition> {
        names::validate(NameKind::Partition, name)?;
        self.partition(name).ok_or_else(|| EngineError::PartitionNotFound { collection: self.name.clone(), name: name.to_string() })
    }

    pub fn has_partition_key(&self) -> bool {
        self.schema.partition_key_field().is_some()
    }
}

/// An alias: another name for a collection within one database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub db_id: DatabaseId,
    pub name: String,
    pub collection_id: CollectionId,
    pub created_ts: Timestamp,
}

/// Load state as Milvus reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadState {
    NotLoad,
    Loaded,
}
