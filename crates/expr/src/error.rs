//! The crate's one error type. Every message names what was wrong in the user's terms
//! (the token, the field, the two types), because it reaches pymilvus users verbatim.

/// Why an expression could not be parsed, planned or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// The text is not a well-formed expression. `position` is a 0-based character
    /// offset; `token` is the offending token as written (`<end>` at the end of input).
    #[error("invalid expression at position {position}: {message}")]
    Syntax { position: usize, token: String, message: String },

    /// An identifier names no schema field and the collection has no dynamic field.
    #[error("field {name} not exist")]
    UnknownField { name: String },

    /// Two operands (or an operand and a list element) whose types cannot be compared.
    #[error("cannot compare {left} with {right} in `{expression}`")]
    TypeMismatch { expression: String, left: String, right: String },

    /// An operator or function applied to an operand of the wrong type.
    #[error("{operator} expects {expected}, but {operand} is {found}")]
    InvalidOperand { operator: String, operand: String, expected: &'static str, found: String },

    /// The whole expression (or a side of `and`/`or`/`not`) does not yield true/false.
    #[error("`{expression}` is {found}, not a boolean expression")]
    NotBoolean { expression: String, found: String },

    #[error(
        "function {name} is not supported; supported functions are array_contains, array_contains_all, \
         array_contains_any, array_length, json_contains, json_contains_all, json_contains_any, ST_EQUALS, \
         ST_TOUCHES, ST_OVERLAPS, ST_CROSSES, ST_CONTAINS, ST_INTERSECTS, ST_WITHIN, ST_DWITHIN, ST_ISVALID"
    )]
    UnknownFunction { name: String },

    #[error("function {function} takes {expected} argument(s), but {found} were given")]
    ArgumentCount { function: String, expected: usize, found: usize },

    /// A function argument of the right type but an unusable value (a WKT string that is
    /// not a geometry, a negative distance).
    #[error("function {function}: {message}")]
    InvalidArgument { function: String, message: String },

    /// `field[...]` on a field that is neither JSON nor Array.
    #[error("field {field} of type {data_type} cannot be indexed; only JSON and Array fields can")]
    NotIndexable { field: String, data_type: String },

    /// An Array field indexed by a key, a nested index, or similar.
    #[error("array field {field} must be indexed by one non-negative integer, got `{index}`")]
    InvalidArrayIndex { field: String, index: String },

    /// `{name}` with no value in the request's template values.
    #[error("the value of expression template variable name {name} is not found")]
    UnknownTemplate { name: String },

    /// The expression (or a template value) nests deeper than [`crate::MAX_DEPTH`]
    /// levels; `what` says which.
    #[error("{what} nests deeper than {limit} levels: simplify the filter")]
    TooDeep { what: String, limit: usize },

    #[error("division by zero in `{expression}`")]
    DivisionByZero { expression: String },

    /// Constant arithmetic that leaves the Int64 range.
    #[error("integer overflow in `{expression}`")]
    Overflow { expression: String },

    /// Valid syntax that Quiver (or Milvus) does not implement.
    #[error("{what} is not supported")]
    Unsupported { what: String },

    /// The batch handed to `evaluate` lacks a column the expression reads.
    #[error("column {name} is referenced by the expression but missing from the batch")]
    MissingColumn { name: String },

    /// The batch's column does not have the Arrow layout of its schema field.
    #[error("column {name} has Arrow type {found}, expected {expected}")]
    ColumnType { name: String, expected: String, found: String },

    /// A JSON (or `$meta`) cell that is not valid JSON text.
    #[error("row {row} of column {column} holds invalid JSON: {message}")]
    InvalidJson { column: String, row: usize, message: String },

    /// A Geometry cell that is not canonical WKT (stored values always are).
    #[error("row {row} of column {column} holds an invalid geometry: {message}")]
    InvalidGeometry { column: String, row: usize, message: String },
}

pub type Result<T, E = ExprError> = std::result::Result<T, E>;
