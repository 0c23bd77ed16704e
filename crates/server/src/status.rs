//! The one mapping from engine errors to Milvus `common.Status`: the modern `code`, the
//! legacy `error_code` pymilvus also checks, and the reason text. Handlers never build a
//! failure Status by hand.

use quiver_engine::error::StorageErrorKind;
use quiver_engine::{EngineError, NameKind};
use quiver_proto::common::{ErrorCode, Status};

/// Milvus `merr` codes used by Quiver.
pub mod code {
    pub const SERVICE_UNIMPLEMENTED: i32 = 10;
    pub const COLLECTION_NOT_FOUND: i32 = 100;
    pub const COLLECTION_NOT_LOADED: i32 = 101;
    pub const COLLECTION_LOADED: i32 = 104;
    pub const PARTITION_NOT_FOUND: i32 = 200;
    pub const PARTITION_NOT_LOADED: i32 = 201;
    pub const SEGMENT_LOAD_FAILED: i32 = 604;
    pub const INDEX_NOT_FOUND: i32 = 700;
    pub const DATABASE_NOT_FOUND: i32 = 800;
    pub const DATABASE_INVALID_NAME: i32 = 802;
    pub const IO_KEY_NOT_FOUND: i32 = 1000;
    pub const IO_FAILED: i32 = 1001;
    pub const PARAMETER_INVALID: i32 = 1100;
    pub const ALIAS_NOT_FOUND: i32 = 1600;
    pub const ALIAS_COLLECTION_NAME_CONFLICT: i32 = 1601;
    pub const ALIAS_ALREADY_EXISTS: i32 = 1602;
    pub const FIELD_NOT_FOUND: i32 = 1700;
    pub const FIELD_INVALID_NAME: i32 = 1701;
    /// The RESTful API's own codes: a body that is not the JSON an endpoint reads, a body
    /// without a required field, rows that do not fit the collection's schema.
    pub const REST_BODY_INVALID: i32 = 1801;
    pub const REST_PARAMETER_MISSING: i32 = 1802;
    pub const REST_INSERT_DATA_INVALID: i32 = 1804;
    /// An update of a password whose old one does not match (Milvus's `ErrPrivilegeNotAuthenticated`).
    pub const PRIVILEGE_NOT_AUTHENTICATED: i32 = 1400;
    /// A REST call without valid credentials (Milvus's `ErrNeedAuthenticate`).
    pub const NEED_AUTHENTICATE: i32 = 1800;
    pub const IMPORT_FAILED: i32 = 2100;
    pub const SNAPSHOT_NOT_FOUND: i32 = 2600;
    pub const SNAPSHOT_PINNED: i32 = 2601;
    /// A plain error with no specific code (Milvus's default).
    pub const UNEXPECTED: i32 = 65535;
}

pub fn success() -> Status {
    Status::default()
}

/// The Status for an engine error.
pub fn status_of(error: &EngineError) -> Status {
    use EngineError::*;
    let (code, legacy) = match error {
        InvalidName { kind: NameKind::Database, .. } => (code::DATABASE_INVALID_NAME, ErrorCode::UnexpectedError),
        InvalidName { kind: NameKind::Field, .. } => (code::FIELD_INVALID_NAME, ErrorCode::UnexpectedError),
        InvalidName { .. } | InvalidParameter(_) | PartitionKeyManaged { .. } | InvalidData(_) | Expr(_) | QueryPlan { .. } | Index(_) => {
            (code::PARAMETER_INVALID, ErrorCode::IllegalArgument)
        }
        DatabaseNotFound { .. } => (code::DATABASE_NOT_FOUND, ErrorCode::UnexpectedError),
        CollectionNotFound { .. } | DescribedCollectionNotFound { .. } => (code::COLLECTION_NOT_FOUND, ErrorCode::CollectionNotExists),
        CollectionNotLoaded { .. } => (code::COLLECTION_NOT_LOADED, ErrorCode::UnexpectedError),
        CollectionLoaded { .. } => (code::COLLECTION_LOADED, ErrorCode::UnexpectedError),
        PartitionNotFound { .. } => (code::PARTITION_NOT_FOUND, ErrorCode::UnexpectedError),
        PartitionNotLoaded { .. } => (code::PARTITION_NOT_LOADED, ErrorCode::UnexpectedError),
        FieldNotFound { .. } => (code::FIELD_NOT_FOUND, ErrorCode::UnexpectedError),
        IndexNotFound { .. } => (code::INDEX_NOT_FOUND, ErrorCode::IndexNotExist),
        AliasNotFound { .. } => (code::ALIAS_NOT_FOUND, ErrorCode::UnexpectedError),
        AliasNameConflictsWithCollection { .. } => (code::ALIAS_COLLECTION_NAME_CONFLICT, ErrorCode::UnexpectedError),
        AliasAlreadyExists { .. } => (code::ALIAS_ALREADY_EXISTS, ErrorCode::UnexpectedError),
        TooManyPartitions { .. } | SnapshotExists { .. } => (code::PARAMETER_INVALID, ErrorCode::IllegalArgument),
        SnapshotNotFound { .. } => (code::SNAPSHOT_NOT_FOUND, ErrorCode::UnexpectedError),
        SnapshotPinned { .. } => (code::SNAPSHOT_PINNED, ErrorCode::UnexpectedError),
        RestoreJobNotFound { .. } => (code::IMPORT_FAILED, ErrorCode::UnexpectedError),
        RestoreTargetExists { .. } => (code::UNEXPECTED, ErrorCode::UnexpectedError),
        OldPasswordIncorrect { .. } => (code::PRIVILEGE_NOT_AUTHENTICATED, ErrorCode::UnexpectedError),
        PrivilegeGroupExists { .. } | PrivilegeGroupNotFound { .. } => (code::PARAMETER_INVALID, ErrorCode::IllegalArgument),
        UserAlreadyExists { .. }
        | UserNotFound { .. }
        | RoleAlreadyExists { .. }
        | RoleNotFound { .. }
        | BuiltinRole { .. }
        | PrivilegeNotFound { .. } => (code::UNEXPECTED, ErrorCode::UnexpectedError),
        Storage(e) if e.kind == StorageErrorKind::NotFound => (code::IO_KEY_NOT_FOUND, ErrorCode::UnexpectedError),
        Storage(_) => (code::IO_FAILED, ErrorCode::UnexpectedError),
        CollectionUnavailable { .. } => (code::SEGMENT_LOAD_FAILED, ErrorCode::UnexpectedError),
        DatabaseAlreadyExists { .. }
        | DefaultDatabaseUndroppable
        | DatabaseNotEmpty { .. }
        | DuplicateCollection { .. }
        | CollectionNameConflictsWithAlias { .. }
        | CollectionHasAliases { .. }
        | RenameTargetExists { .. }
        | RenameToAlias { .. }
        | DefaultPartitionUndroppable
        | PartitionLoaded { .. }
        | Meta(_)
        | Internal(_)
        | Crashed { .. }
        | Conflict { .. }
        | IndexBuild(_)
        | SnapshotFormat(_)
        | Wal(_)
        | Arrow(_)
        | Log(_)
        | CorruptMetadata { .. }
        | IndexFieldNotFound { .. }
        | IndexNameTaken { .. }
        | FieldAlreadyIndexed { .. }
        | JsonPathUnparsable { .. }
        | RetrievePlan { .. }
        | MountedReadOnly { .. }
        | NotMounted { .. }
        | Unclassified(_) => (code::UNEXPECTED, ErrorCode::UnexpectedError),
    };
    failure(code, legacy, error.to_string())
}

/// A failure Status for errors that arise in the server itself (bad wire input).
pub fn invalid_request(reason: impl Into<String>) -> Status {
    failure(code::PARAMETER_INVALID, ErrorCode::IllegalArgument, reason.into())
}

/// A REST body that is not JSON, or not the JSON its endpoint reads (Milvus's
/// `ErrIncorrectParameterFormat`).
pub fn rest_body_invalid(reason: impl std::fmt::Display) -> Status {
    failure(code::REST_BODY_INVALID, ErrorCode::IllegalArgument, format!("can only accept json format request, error: {reason}"))
}

/// A REST body without a field its endpoint requires (Milvus's `ErrMissingRequiredParameters`).
pub fn rest_parameter_missing(reason: impl std::fmt::Display) -> Status {
    failure(code::REST_PARAMETER_MISSING, ErrorCode::IllegalArgument, format!("missing required parameters, error: {reason}"))
}

/// REST rows that cannot become the collection's columns (Milvus's `ErrInvalidInsertData`).
pub fn rest_insert_data_invalid(reason: impl std::fmt::Display) -> Status {
    failure(code::REST_INSERT_DATA_INVALID, ErrorCode::IllegalArgument, format!("fail to deal the insert data, error: {reason}"))
}

/// The Status of an RPC Quiver does not serve (Milvus's `ErrServiceUnimplemented`),
/// naming it.
pub fn unserved(rpc: &str) -> Status {
    failure(code::SERVICE_UNIMPLEMENTED, ErrorCode::UnexpectedError, format!("{rpc} is not served by Quiver: service unimplemented"))
}

/// A call without valid credentials: a gRPC UNAUTHENTICATED error, as Milvus answers
/// (a Status inside an OK reply would make pymilvus retry).
pub fn unauthenticated(reason: &str) -> tonic::Status {
    crate::observe::note_failure(code::NEED_AUTHENTICATE);
    tonic::Status::unauthenticated(reason)
}

/// A call the caller lacks the privilege for: a gRPC PERMISSION_DENIED error with
/// Milvus's words (`PrivilegeLoad: permission deny to alice in the `default` database`).
pub fn permission_denied(privilege: &str, user: &str, db: &str) -> tonic::Status {
    crate::observe::note_failure(code::UNEXPECTED);
    tonic::Status::permission_denied(format!("{privilege}: permission deny to {user} in the `{db}` database"))
}

/// The REST answer for a call refused before it ran (see [`unauthenticated`] and
/// [`permission_denied`]): Milvus's RESTful code 1800, or 65535 with the denial's words.
pub fn of_refusal(refusal: &tonic::Status) -> Status {
    let code = if refusal.code() == tonic::Code::Unauthenticated { code::NEED_AUTHENTICATE } else { code::UNEXPECTED };
    Status { error_code: ErrorCode::UnexpectedError as i32, reason: refusal.message().to_string(), code, ..Default::default() }
}

fn failure(code: i32, legacy: ErrorCode, reason: String) -> Status {
    crate::observe::note_failure(code);
    Status { error_code: legacy as i32, reason, code, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_both_codes_set() {
        let samples = [
            EngineError::CollectionNotFound { db: "default".into(), name: "c".into() },
            EngineError::DatabaseNotFound { name: "d".into() },
            EngineError::InvalidName { kind: NameKind::Collection, name: "1".into(), reason: "bad".into() },
            EngineError::DuplicateCollection { name: "c".into() },
            EngineError::IndexNotFound { collection: "c".into() },
            EngineError::AliasNotFound { db: "default".into(), alias: "a".into() },
            EngineError::Internal("no growing segment".into()),
            EngineError::Storage(quiver_engine::error::StorageError {
                op: "read",
                key: "insert_log/1/2/3/4.parquet".into(),
                kind: StorageErrorKind::NotFound,
                message: "not found".into(),
            }),
        ];
        for error in &samples {
            let status = status_of(error);
            assert_ne!(status.code, 0, "{error}");
            assert_ne!(status.error_code, 0, "{error}");
            assert_eq!(status.reason, error.to_string());
        }
        let missing = status_of(&samples[0]);
        assert_eq!((missing.code, missing.error_code), (100, ErrorCode::CollectionNotExists as i32));
        assert_eq!(status_of(&samples[4]).error_code, ErrorCode::IndexNotExist as i32);
        // Faults of Quiver itself are not the caller's invalid parameter; storage errors keep their kind.
        assert_eq!(status_of(&samples[6]).code, code::UNEXPECTED);
        assert_eq!(status_of(&samples[7]).code, code::IO_KEY_NOT_FOUND);
    }

    #[test]
    fn an_unserved_rpc_is_named_with_milvus_code_10() {
        let status = unserved("TruncateCollection");
        assert_eq!((status.code, status.error_code), (10, ErrorCode::UnexpectedError as i32));
        assert!(status.reason.starts_with("TruncateCollection ") && status.reason.ends_with("service unimplemented"), "{}", status.reason);
    }
}
