//! Errors of the pure layer: a name or schema that breaks the rules.

/// What kind of name failed validation (it appears in the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Database,
    Collection,
    Partition,
    Alias,
    Field,
    Index,
    Snapshot,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Database => "database",
            NameKind::Collection => "collection",
            NameKind::Partition => "partition",
            NameKind::Alias => "alias",
            NameKind::Field => "field",
            NameKind::Index => "index",
            NameKind::Snapshot => "snapshot",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    #[error("{reason}")]
    InvalidName { kind: NameKind, name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    /// A refusal Milvus reports without an error class (its code 65535), where clients
    /// and Milvus's own tests expect that code.
    #[error("{0}")]
    Unclassified(String),
}

pub type Result<T, E = SchemaError> = std::result::Result<T, E>;

/// Shorthand for a [`SchemaError::Unclassified`].
pub fn unclassified(message: impl Into<String>) -> SchemaError {
    SchemaError::Unclassified(message.into())
}

/// Shorthand for a [`SchemaError::Invalid`].
pub fn invalid(message: impl Into<String>) -> SchemaError {
    SchemaError::Invalid(message.into())
}
