//! Index definitions on collection fields. The per-segment builds arrive with the data
//! path; until a collection holds rows, every definition is trivially up to date.

use super::Catalog;
use super::collection::Stamp;
use super::index_spec::IndexSpec;
use super::json_index;
use super::model::{Collection, IndexDefinition, Properties};
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

/// Add `index` to `collection` as definition `id`, with Milvus's rules: the same
/// definition again (same name, field and parameters) changes nothing; another one under
/// a taken name, or a second index on one field, is refused, except that a JSON field
/// (or `$meta`) takes one index per path.
pub(crate) fn define(collection: &mut Collection, index: &NewIndex, id: IndexId, created_ts: Timestamp) -> Result<()> {
    let schema = &collection.schema;
    let field = match schema.field(&index.field_name) {
        Some(field) => field.clone(),
        // Milvus takes a name the schema lacks for a key of the dynamic field.
        None => schema.dynamic_field().ok_or_else(|| EngineError::IndexFieldNotFound { field: index.field_name.clone() })?,
    };
    let mut spec = IndexSpec::parse(&field, &index.params)?;
    let json = match spec.json_cast {
        Some(cast) => Some(json_index::target(schema, &field, &index.field_name, cast, &mut spec.params)?),
        None => None,
    };
    let default_name = match &json {
        Some(json) => json_index::default_name(&field, &json.path),
        None => index.field_name.clone(),
    };
    // The default name of a JSON path index (`j/a/0`) is no valid name to give, but a
    // restore re-creates indexes by their stored names, so it is taken as given.
    let index_name = match index.index_name.as_str() {
        "" => default_name,
        given if given == default_name => default_name,
        given => {
            names::validate(NameKind::Index, given)?;
            given.to_string()
        }
    };
    let definition = IndexDefinition {
        id,
        name: index_name,
        field_id: field.id,
        index_type: spec.index_type,
        metric_type: spec.metric_type,
        params: spec.params,
        created_ts,
        json,
    };
    for existing in &collection.indexes {
        if existing.name == definition.name {
            let same = (existing.field_id, &existing.index_type, &existing.metric_type, &existing.params, &existing.json)
                == (definition.field_id, &definition.index_type, &definition.metric_type, &definition.params, &definition.json);
            return if same { Ok(()) } else { Err(EngineError::IndexNameTaken { name: definition.name }) };
        }
        let other_path = matches!((&existing.json, &definition.json), (Some(a), Some(b)) if a.path != b.path);
        if existing.field_id == definition.field_id && !other_path {
            return Err(EngineError::FieldAlreadyIndexed { field: index.field_name.clone() });
        }
    }
    collection.indexes.push(definition);
    Ok(())
}

/// An index property AlterIndex may set (`value` given) or remove, in Milvus's words.
fn check_index_property(key: &str, value: Option<&str>) -> Result<()> {
    match (key, value) {
        ("warmup", Some(policy)) => Ok(crate::schema::check_warmup(policy)?),
        ("mmap.enabled", Some(v)) if !matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "false") => {
            Err(invalid(format!("invalid mmap.enabled value: {v}, expected: true, false")))
        }
        ("warmup" | "mmap.enabled", _) => Ok(()),
        (other, _) => Err(invalid(format!("{other} is not a configable index property"))),
    }
}

impl Catalog {
    /// Define an index (see [`define`]).
    pub async fn create_index(&self, db_name: &str, collection: &str, index: &NewIndex) -> Result<()> {
        let id = IndexId(self.next_id().await?);
        let created_ts = self.next_ts().await?;
        self.update_collection(db_name, collection, Stamp::Updated, |c| define(c, index, id, created_ts)).await
    }

    /// Index definitions of a collection, optionally narrowed to one index name and/or
    /// field; `IndexNotFound` when none match.
    pub fn describe_indexes(&self, db_name: &str, collection: &str, field_name: &str, index_name: &str) -> Result<Vec<IndexInfo>> {
        let c = self.describe_collection(db_name, collection)?.collection;
        let found: Vec<IndexInfo> = c
            .indexes
            .iter()
            .map(|d| IndexInfo { definition: d.clone(), field_name: json_index::field_name(&c.schema, d.field_id, &d.params) })
            .filter(|i| index_name.is_empty() || i.definition.name == index_name)
            .filter(|i| field_name.is_empty() || i.field_name == field_name)
            .collect();
        if found.is_empty() {
            return Err(EngineError::IndexNotFound { collection: c.name });
        }
        Ok(found)
    }

    /// Set or remove an index's configurable properties (AlterIndex): `mmap.enabled`
    /// (true/false) and `warmup` (sync/async/disable), only while the collection is
    /// released, as in Milvus. They are kept with the definition's parameters, so
    /// DescribeIndex shows them.
    pub async fn alter_index(
        &self,
        db_name: &str,
        collection: &str,
        index_name: &str,
        properties: &Properties,
        delete_keys: &[String],
    ) -> Result<()> {
        for (key, value) in properties {
            check_index_property(key, Some(value))?;
        }
        for key in delete_keys {
            check_index_property(key, None)?;
        }
        self.update_collection(db_name, collection, Stamp::Updated, |c| {
            if c.loaded {
                return Err(EngineError::CollectionLoaded { name: c.name.clone() });
            }
            let definition = c
                .indexes
                .iter_mut()
                .find(|d| d.name == index_name)
                .ok_or_else(|| EngineError::IndexNotFound { collection: c.name.clone() })?;
            definition.params.extend(properties.iter().map(|(k, v)| (k.clone(), v.clone())));
            delete_keys.iter().for_each(|key| {
                definition.params.remove(key);
            });
            Ok(())
        })
        .await
    }

    /// Drop an index definition. Dropping one that does not exist succeeds, as in Milvus.
    pub async fn drop_index(&self, db_name: &str, collection: &str, field_name: &str, index_name: &str) -> Result<()> {
        self.update_collection(db_name, collection, Stamp::Updated, |c| {
            let schema = c.schema.clone();
            let matches = |d: &IndexDefinition| {
                (index_name.is_empty() || d.name == index_name)
                    && (field_name.is_empty() || json_index::field_name(&schema, d.field_id, &d.params) == field_name)
            };
            // As in Milvus, scalar and JSON path indexes may go while the collection is
            // loaded (filters fall back to evaluation), vector indexes may not.
            let vector = |d: &IndexDefinition| schema.index_field(d.field_id).is_some_and(|f| f.data_type.is_vector());
            if c.loaded && c.indexes.iter().any(|d| matches(d) && vector(d)) {
                return Err(invalid(format!("vector index cannot be dropped on loaded collection: {}", c.id.0)));
            }
            c.indexes.retain(|d| !matches(d));
            Ok(())
        })
        .await
    }
}
