//! Every metadata key the catalog writes. Values are JSON of the `model.rs` records.
//!
//! | key | value |
//! | --- | --- |
//! | `catalog/database/<db_id>` | [`Database`](super::model::Database) |
//! | `catalog/collection/<collection_id>` | [`Collection`](super::model::Collection), partitions, index definitions and load state included |
//! | `catalog/alias/<db_id>/<alias>` | [`Alias`](super::model::Alias) |
//! | `catalog/name/<db_id>/<name>` | [`NameClaim`](super::model::NameClaim): who holds a collection or alias name |
//! | `catalog/dbname/<name>` | the id of the database holding the name (JSON number) |
//! | `tso/window_end_ms` | timestamp oracle window end, big-endian u64 (`tso.rs`) |
//! | `ids/reserved_end` | id allocator block end, big-endian u64 (`ids.rs`) |
//!
//! Ids are zero-padded to 20 digits so that prefix scans return them in id order.

use quiver_base::{CollectionId, DatabaseId};

pub const DATABASE_PREFIX: &str = "catalog/database/";
pub const COLLECTION_PREFIX: &str = "catalog/collection/";
pub const ALIAS_PREFIX: &str = "catalog/alias/";
pub const NAME_PREFIX: &str = "catalog/name/";
pub const DATABASE_NAME_PREFIX: &str = "catalog/dbname/";

pub fn database(id: DatabaseId) -> String {
    format!("{DATABASE_PREFIX}{:020}", id.0)
}

pub fn collection(id: CollectionId) -> String {
    format!("{COLLECTION_PREFIX}{:020}", id.0)
}

pub fn alias(db: DatabaseId, name: &str) -> String {
    format!("{ALIAS_PREFIX}{:020}/{name}", db.0)
}

pub fn name(db: DatabaseId, name: &str) -> String {
    format!("{NAME_PREFIX}{:020}/{name}", db.0)
}

pub fn database_name(name: &str) -> String {
    format!("{DATABASE_NAME_PREFIX}{name}")
}
