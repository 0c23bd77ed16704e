//! Index definitions on collection fields. The per-segment builds arrive with the data
//! path; until a collection holds rows, every definition is trivially up to date.

use super::Catalog;
use super::collection::Stamp;
use super::model::IndexDefinition;
use crate::error::{EngineError, NameKind, Result, invalid};
use crate::index_spec::IndexSpec;
use crate::names;
use quiver_base::IndexId;
use std::collections::BTreeMap;

/// An index definition with the name of the field it covers.
#[derive(Clone, Debug)]
pub struct IndexInfo {
    pub definition: IndexDefinition,
    pub field_name: String,
}

impl Catalog {
    /// Define an index. The same definition again succeeds; a different one on the
    /// same field or under the same name is refused.
    pub async fn create_index(
        &self,
        db_name: &str,
        collection: &str,
        field_name: &str,
        index_name: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<()> {
        let index_name = if index_name.is_empty() { field_name } else { index_name };
        names::validate(NameKind::Index, index_name)?;
        let id = IndexId(self.next_id().await?);
        let created_ts = self.next_ts().await?;
        self.update_collection(db_name, collection, Stamp::Updated, |c| {
            let field = c
                .schema
                .field(field_name)
                .ok_or_else(|| EngineError::FieldNotFound { collection: c.name.clone(), field: field_name.to_string() })?;
            let spec = IndexSpec::parse(field, params)?;
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
            if let Some(existing) = c.indexes.iter().find(|d| d.field_id == definition.field_id) {
                return if same(existing) {
                    Ok(())
                } else {
                    Err(invalid("CreateIndex failed: at most one distinct index is allowed per field"))
                };
            }
            if c.indexes.iter().any(|d| d.name == definition.name) {
                return Err(invalid(format!(
                    "CreateIndex failed: index already exist, but parameters are inconsistent, index name: {index_name}"
                )));
            }
            c.indexes.push(definition);
            Ok(())
        })
        .await
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
