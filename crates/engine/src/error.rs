//! The engine's one error type. Each variant names one situation precisely; the server
//! maps every variant to a Milvus `common.Status` in one function (`server::status`).

pub use quiver_format::NameKind;
use quiver_format::SchemaError;
use quiver_storage::MetaError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{reason}")]
    InvalidName { kind: NameKind, name: String, reason: String },

    #[error("{0}")]
    InvalidParameter(String),

    #[error("database not found[database={name}]")]
    DatabaseNotFound { name: String },

    #[error("database already exist: {name}")]
    DatabaseAlreadyExists { name: String },

    #[error("can not drop default database")]
    DefaultDatabaseUndroppable,

    #[error("database:{name} not empty, must drop all collections before drop database")]
    DatabaseNotEmpty { name: String },

    /// `db` is empty where Milvus does not name the database (alter alias, lookups by id).
    #[error("collection not found{}[collection={name}]", database_tag(db))]
    CollectionNotFound { db: String, name: String },

    /// DescribeCollection's own wording for a missing collection (pymilvus also reads it
    /// in `has_collection`, and before a first insert).
    #[error("can't find collection[database={db}][collection={name}]")]
    DescribedCollectionNotFound { db: String, name: String },

    #[error("create duplicate collection with different parameters, collection: {name}")]
    DuplicateCollection { name: String },

    #[error("collection name [{name}] conflicts with an existing alias, please choose a unique name")]
    CollectionNameConflictsWithAlias { name: String },

    #[error(
        "unable to drop the collection [{name}] because it has associated aliases [{}], please remove all aliases before dropping the collection",
        aliases.join(", ")
    )]
    CollectionHasAliases { name: String, aliases: Vec<String> },

    #[error("duplicated new collection name {db}:{name} with other collection name or alias")]
    RenameTargetExists { db: String, name: String },

    #[error("cannot rename collection to an existing alias: {alias}")]
    RenameToAlias { alias: String },

    #[error("partition not found[partition={name}]")]
    PartitionNotFound { collection: String, name: String },

    #[error("default partition cannot be deleted")]
    DefaultPartitionUndroppable,

    #[error("partition {name} cannot be dropped, partition is loaded, please release it first")]
    PartitionLoaded { name: String },

    #[error("{operation} partition is not allowed when partition key mode is enabled, collection: {collection}")]
    PartitionKeyManaged { collection: String, operation: &'static str },

    #[error("exceeded the limit number of partitions, limit: {limit}")]
    TooManyPartitions { limit: usize },

    #[error("alias not found[database={db}][alias={alias}]")]
    AliasNotFound { db: String, alias: String },

    #[error("alias and collection name conflict[database={db}][alias={alias}]")]
    AliasNameConflictsWithCollection { db: String, alias: String },

    #[error("{alias} is alias to another collection: {collection}")]
    AliasAlreadyExists { alias: String, collection: String },

    #[error("field not found[field={field}]")]
    FieldNotFound { collection: String, field: String },

    /// An index on a field the schema lacks (without a dynamic field to take it as a key).
    #[error("cannot create index on non-exist field: {field}")]
    IndexFieldNotFound { field: String },

    /// An index name already taken by a different definition.
    #[error("CreateIndex failed: at most one distinct index is allowed per field")]
    IndexNameTaken { name: String },

    /// A second index on a field (or on one path of a JSON field) under another name.
    #[error("CreateIndex failed: creating multiple indexes on same field is not supported")]
    FieldAlreadyIndexed { field: String },

    /// A `json_path` that names no path of a JSON field or dynamic key.
    #[error("cannot parse identifier: {path}{}", detail.as_ref().map(|d| format!(", error: {d}")).unwrap_or_default())]
    JsonPathUnparsable { path: String, detail: Option<String> },

    #[error("index not found[collection={collection}]")]
    IndexNotFound { collection: String },

    #[error("partition not loaded[partition={name}]")]
    PartitionNotLoaded { name: String },

    #[error("collection not loaded[collection={name}]")]
    CollectionNotLoaded { name: String },

    #[error("{0}")]
    InvalidData(String),

    #[error("{0}")]
    Expr(#[from] quiver_expr::ExprError),

    /// The filter of a query or search, refused in Milvus's words (which name the
    /// expression).
    #[error("failed to create query plan: cannot parse expression: {filter}, error: {source}")]
    QueryPlan { filter: String, source: quiver_expr::ExprError },

    /// A query filter calling a function no one knows: Milvus's proxy accepts any call
    /// and its query node refuses it while building the retrieve plan, in these words.
    #[error("Create retrieve plan by expr failed: {source}")]
    RetrievePlan { source: quiver_expr::ExprError },

    #[error("{0}")]
    Index(#[from] quiver_index::IndexError),

    #[error("index build failed: {0}")]
    IndexBuild(String),

    #[error("object storage: {0}")]
    Storage(#[from] StorageError),

    /// A collection whose stored data cannot be read (a missing or corrupt file): its
    /// reads and maintenance are refused until the file is back; others are served.
    #[error("collection {name} cannot be served: {reason}")]
    CollectionUnavailable { name: String, reason: String },

    /// A fault of Quiver itself, not of the request: reported as Milvus's unexpected error.
    #[error("unexpected error: {0}")]
    Internal(String),

    /// An armed failpoint stopped the operation (tests only; see `failpoint`).
    #[error("crashed at failpoint {point}")]
    Crashed { point: &'static str },

    /// Another writer changed what this operation read, more often than it retries.
    #[error("{what} changed concurrently, please retry")]
    Conflict { what: String },

    #[error("write-ahead log: {0}")]
    Wal(#[from] quiver_storage::wal::WalError),

    #[error("data encoding: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),

    #[error("data file: {0}")]
    Log(#[from] quiver_format::logs::LogError),

    /// Milvus names the collection by id; its name tells the user more.
    #[error("collection {collection}: snapshot not found[snapshot={name}]")]
    SnapshotNotFound { collection: String, name: String },

    #[error("snapshot name {name} already exists in collection {collection}: invalid parameter")]
    SnapshotExists { collection: String, name: String },

    /// `held_by` names the restore job holding the pin, when one does.
    #[error("active pins exist, unpin before dropping: snapshot is pinned[snapshot={name}]{}", held_by.as_ref().map(|h| format!(" ({h} holds it until it ends)")).unwrap_or_default())]
    SnapshotPinned { name: String, held_by: Option<String> },

    /// Milvus appends ": importing data failed" (the job kind's error) though nothing
    /// failed: the job is unknown, or finished longer ago than jobs are kept.
    #[error("restore job not found: jobID={id} (unknown, or finished longer ago than restore_job_retention_seconds)")]
    RestoreJobNotFound { id: i64 },

    /// Milvus's words for any existing collection, and what they mean for a restore.
    #[error(
        "create duplicate collection with different parameters, collection: {name} (the restore target already exists; restore into a new name)"
    )]
    RestoreTargetExists { name: String },

    #[error("snapshot file: {0}")]
    SnapshotFormat(String),

    #[error("metadata store: {0}")]
    Meta(#[from] MetaError),

    #[error("user already exists: {name}")]
    UserAlreadyExists { name: String },

    #[error("not found the user, maybe the user isn't existed or internal system error")]
    UserNotFound { name: String },

    /// Also for an unknown user: the answer does not tell which users exist.
    #[error("old password not correct for {name}: not authenticated")]
    OldPasswordIncorrect { name: String },

    #[error("role [name:\"{name}\"] already exists")]
    RoleAlreadyExists { name: String },

    #[error("not found the role, maybe the role isn't existed or internal system error")]
    RoleNotFound { name: String },

    #[error("the role[{name}] is a default role, which can't be dropped")]
    BuiltinRole { name: String },

    #[error("not found the privilege name[{name}]")]
    PrivilegeNotFound { name: String },

    #[error("privilege group [{name}] already exists: invalid parameter")]
    PrivilegeGroupExists { name: String },

    #[error("there is no privilege group name [{name}] defined in system to operate: invalid parameter")]
    PrivilegeGroupNotFound { name: String },

    #[error("corrupt metadata record {key}: {reason}")]
    CorruptMetadata { key: String, reason: String },

    #[error("can't alter index on loaded collection, please release the collection first: collection already loaded[collection={name}]")]
    CollectionLoaded { name: String },

    #[error(
        "collection {name} is the mounted snapshot {snapshot} and is read-only: {operation} is refused (restore the snapshot for a writable copy)"
    )]
    MountedReadOnly { name: String, snapshot: String, operation: String },

    #[error("collection {name} is not a mounted snapshot")]
    NotMounted { name: String },

    /// A refusal Milvus reports without an error class (code 65535).
    #[error("{0}")]
    Unclassified(String),
}

impl From<SchemaError> for EngineError {
    fn from(error: SchemaError) -> Self {
        match error {
            SchemaError::InvalidName { kind, name, reason } => EngineError::InvalidName { kind, name, reason },
            SchemaError::Invalid(message) => EngineError::InvalidParameter(message),
            SchemaError::Unclassified(message) => EngineError::Unclassified(message),
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// `[database=<db>]`, or nothing when the database is not named.
fn database_tag(db: &str) -> String {
    if db.is_empty() { String::new() } else { format!("[database={db}]") }
}

/// What went wrong with an object, by kind: a missing object is not an I/O failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageErrorKind {
    NotFound,
    AlreadyExists,
    Other,
}

/// An object storage operation that failed, naming the operation and the object.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {key}: {message}")]
pub struct StorageError {
    pub op: &'static str,
    pub key: String,
    pub kind: StorageErrorKind,
    pub message: String,
}

impl StorageError {
    pub fn new(op: &'static str, key: impl Into<String>, error: &object_store::Error) -> StorageError {
        let kind = match error {
            object_store::Error::NotFound { .. } => StorageErrorKind::NotFound,
            object_store::Error::AlreadyExists { .. } => StorageErrorKind::AlreadyExists,
            _ => StorageErrorKind::Other,
        };
        StorageError { op, key: key.into(), kind, message: error.to_string() }
    }

    /// An object that was read but is not the file that was recorded.
    pub fn corrupt(key: impl Into<String>, message: String) -> StorageError {
        StorageError { op: "verify", key: key.into(), kind: StorageErrorKind::Other, message }
    }
}

/// Shorthand for an [`EngineError::InvalidParameter`].
pub fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(message.into())
}

/// Shorthand for an [`EngineError::Internal`].
pub fn internal(message: impl Into<String>) -> EngineError {
    EngineError::Internal(message.into())
}

/// Decode a JSON record read at `key`, or say which record is corrupt.
pub fn decode<T: serde::de::DeserializeOwned>(key: &str, value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|e| EngineError::CorruptMetadata { key: key.to_string(), reason: e.to_string() })
}

/// Encode a record for the metadata store.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records always serialize")
}
