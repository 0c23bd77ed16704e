//! Pure layouts and codecs: bytes in, values out, no I/O.
//!
//! This is the only place object keys are spelled (`keys`), so a reader such as
//! `quiver inspect` or a Spark job finds files exactly where the writer put them.

pub mod columns;
pub mod error;
pub mod file_ref;
pub mod geometry;
pub mod keys;
pub mod logs;
pub mod names;
pub mod schema;
pub mod snapshot;

pub use error::{NameKind, SchemaError};
pub use file_ref::FileRef;
