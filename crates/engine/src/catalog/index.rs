//! Index definitions on collection fields. The per-segment builds arrive with the data
//! path; until a collection holds rows, every definition is trivially up to date.

use super::Catalog;
use super::collection::Stamp;
use super::index_spec::IndexSpec;
use super::model::{Collection, IndexDefinition};
use crate::error::{EngineError, NameKind, Result, invalid};
use crate::names;
use quiver_base::{IndexId, Timestamp};
use std::collections::BTreeMap;

/// An index definition with the name of the field it covers.
#[derive(Clone, Debug)]
pub struct IndexInfo {
    pub definition: IndexDefinition,
    pub field_name: String,
}

/// An index a client asks for: CreateIndex's arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct NewIndex {
    pub field_name: String,
    /// Empty: named after the field.
    pub index_name: String,
    /// Key-value parameters as the client sends them (`index_type`, `metric_type`, ...).
    pub params: BTreeMap<String, String>,
}

/// Add `index` to `collection` as definition `id`. The same definition again changes
/// nothing; a different one on the same field or under the same name is refused.
pub(crate) fn define(collection: &mut Collection, index: &NewIndex, id: IndexId, created_ts: Timestamp) -> Result<()> {
    let index_name = if index.index_name.is_empty() { index.field_name.as_str() } else { index.index_name.as_str() };
    names::validate(NameKind::Index, index_name)?;
    let field = collection
        .schema
        .field(&index.field_name)
        .ok_or_else(|| EngineError::FieldNotFound { collection: collection.name.clone(), field: index.field_name.clone() })?;
    let spec = IndexSpec::parse(field, &index.params)?;
    let definition = IndexDefinition {
        id,
        name: index_name.to_string(),
        field_id: field.id,
        index_type: spec.index_type,
        metric_type: spec.metric_type,
        params: spec.params,
        created_ts,
    };
    let same = |d: &IndexDefinition| {
        (&d.name, &d.index_type, &d.metric_type, &d.params)
            == (&definition.name, &definition.index_type, &definition.metric_type, &definition.params)
    };
    if let Some(existing) = collection.indexes.iter().find(|d| d.field_id == definition.field_id) {
        return if same(existing) { Ok(()) } else { Err(invalid("CreateIndex failed: at most one distinct index is allowed per field")) };
    }
    if collection.indexes.iter().any(|d| d.name == definition.name) {
        return Err(invalid(format!("CreateIndex failed: index already exist, but parameters are inconsistent, index name: {index_name}")));
    }
    collection.indexes.push(definition);
    Ok(())
}

impl Catalog {
    /// Define an index (see [`define`]).
    pub async fn create_index(&self, db_name: &str, collection: &str, index: &NewIndex) -> Result<()> {
        names::validate(NameKind::Index, if index.index_name.is_empty() { &index.field_name } else { &index.index_name })?;
        let id = IndexId(self.next_id().await?);
        let created_ts = self.next_ts().await?;
        self.update_collection(db_name, collection, Stamp::Updated, |c| define(c, index, id, created_ts)).await
    }

    /// Index definitions of a collection, optionally narrowed to one index name and/or
    /// field; `IndexNotFound` when none match.
    pub fn describe_indexes(&self, db_name: &str, collection: &str, field_name: &str, index_name: &str) -> Result<Vec<IndexInfo>> {
        let c = self.describe_collection(db_name, collection)?.collection;
        let field_of =
            |d: &IndexDefinition| c.schema.fields.iter().find(|f| f.id == d.field_id).map(|f| f.name.clone()).unwrap_or_default();
        let found: Vec<IndexInfo> = c
            .indexes
            .iter()
            .map(|d| IndexInfo { definition: d.clone(), field_name: field_of(d) })
            .filter(|i| index_name.is_empty() || i.definition.name == index_name)
            .filter(|i| field_name.is_empty() || i.field_name == field_name)
            .collect();
        if found.is_empty() {
            return Err(EngineError::IndexNotFound { collection: c.name });
        }
        Ok(found)
    }

    /// Drop an index definition. Dropping one that does not exist succeeds, as in Milvus.
    pub async fn drop_index(&self, db_name: &str, collection: &str, field_name: &str, index_name: &str) -> Result<()> {
        self.update_collection(db_name, collection, Stamp::Updated, |c| {
            let field_id = c.schema.field(field_name).map(|f| f.id);
            let matches = |d: &IndexDefinition| {
                (index_name.is_empty() || d.name == index_name) && (field_name.is_empty() || Some(d.field_id) == field_id)
            };
            if c.loaded && c.indexes.iter().any(matches) {
                return Err(invalid(format!(
                    "index cannot be dropped, collection is loaded, please release it first, collection: {}",
                    c.name
                )));
            }
            c.indexes.retain(|d| !matches(d));
            Ok(())
        })
        .await
    }
}
