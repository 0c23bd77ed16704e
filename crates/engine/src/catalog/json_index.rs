//! Index definitions on JSON paths: an index on a JSON field, or on a key of the dynamic
//! field (`$meta`, field id [`DYNAMIC_FIELD_ID`]), covers the values at one path
//! (`json_path`) of one type (`json_cast_type`), as Milvus's JSON path indexes do.
//!
//! Terms: the *target* is the resolved column and path, fixed when the index is defined
//! (so a later schema change cannot move it); the *cast* says which values are indexed.
//! A row whose value at the path is not of the cast type is simply not indexed: a filter
//! whose literals are all of that type is answered by the index, any other filter by
//! evaluation, so results never depend on the index.
//!
//! The client's `json_path` and `json_cast_type` are kept as given (DescribeIndex shows
//! them back); a missing `json_path` means the whole field, written as its name.

use super::index_spec::{AUTOINDEX, params_error};
use crate::error::{EngineError, Result, invalid};
use crate::schema::{CollectionSchema, DYNAMIC_FIELD_ID, FieldSchema};
use quiver_expr::{PathStep, TermMatch, TermValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Index parameter naming the type values are cast to.
pub const JSON_CAST_TYPE: &str = "json_cast_type";
/// Index parameter naming the path, as a filter would (`field["a"][0]`).
pub const JSON_PATH: &str = "json_path";

/// The type a JSON path index holds (Milvus's `json_cast_type`, case-insensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JsonCast {
    Bool,
    Double,
    Varchar,
    /// Every scalar: bools, numbers and strings.
    Json,
    /// Arrays, by their elements of one type (for `json_contains*`).
    ArrayBool,
    ArrayDouble,
    ArrayVarchar,
}

impl JsonCast {
    fn parse(text: &str) -> Option<JsonCast> {
        Some(match text.to_ascii_uppercase().as_str() {
            "BOOL" => JsonCast::Bool,
            "DOUBLE" => JsonCast::Double,
            "VARCHAR" => JsonCast::Varchar,
            "JSON" => JsonCast::Json,
            "ARRAY_BOOL" => JsonCast::ArrayBool,
            "ARRAY_DOUBLE" => JsonCast::ArrayDouble,
            "ARRAY_VARCHAR" => JsonCast::ArrayVarchar,
            _ => return None,
        })
    }

    /// Whether the index holds arrays by their elements rather than scalar values.
    pub fn is_array(self) -> bool {
        matches!(self, JsonCast::ArrayBool | JsonCast::ArrayDouble | JsonCast::ArrayVarchar)
    }

    /// Whether the index holds `value` (a scalar, or an array element for array casts)
    /// wherever it occurs at the path.
    pub fn holds(self, value: &TermValue) -> bool {
        matches!(
            (self, value),
            (JsonCast::Json, _)
                | (JsonCast::Bool | JsonCast::ArrayBool, TermValue::Bool(_))
                | (JsonCast::Double | JsonCast::ArrayDouble, TermValue::Num(_))
                | (JsonCast::Varchar | JsonCast::ArrayVarchar, TermValue::Str(_))
        )
    }

    /// Whether an index of this cast selects exactly the rows `matches` does: every
    /// literal is of a type it holds, and the test is on values (scalar casts) or on
    /// array elements (array casts).
    pub fn answers(self, matches: &TermMatch) -> bool {
        let on_elements = matches!(matches, TermMatch::Contains { .. });
        on_elements == self.is_array() && matches.values().into_iter().all(|v| self.holds(v))
    }
}

/// What a JSON path index covers, resolved against the schema when it is defined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonPathTarget {
    /// The path inside the field (for `$meta`, starting with the dynamic key).
    pub path: Vec<PathStep>,
    pub cast: JsonCast,
}

/// Index types Milvus knows (whatever the field). Others are not index types at all,
/// which Milvus reports before looking at the field.
pub(crate) const MILVUS_INDEX_TYPES: &[&str] = &[
    "FLAT",
    "IVF_FLAT",
    "IVF_SQ8",
    "IVF_PQ",
    "IVF_RABITQ",
    "HNSW",
    "HNSW_SQ",
    "HNSW_PQ",
    "HNSW_PRQ",
    "DISKANN",
    "SCANN",
    "AUTOINDEX",
    "BIN_FLAT",
    "BIN_IVF_FLAT",
    "MINHASH_LSH",
    "SPARSE_INVERTED_INDEX",
    "SPARSE_WAND",
    "GPU_IVF_FLAT",
    "GPU_IVF_PQ",
    "GPU_CAGRA",
    "GPU_BRUTE_FORCE",
    "INVERTED",
    "STL_SORT",
    "TRIE",
    "BITMAP",
    "NGRAM",
    "RTREE",
];

/// Check an index request on a JSON field (or `$meta`) as Milvus does, in its order:
/// the index type, then the cast type. Returns the cast.
pub(crate) fn check(index_type: &str, params: &BTreeMap<String, String>) -> Result<JsonCast> {
    match index_type {
        "INVERTED" | AUTOINDEX => {}
        "STL_SORT" => return Err(params_error("STL_SORT are only supported on numeric, varchar or timestamptz field, got JSON")),
        "TRIE" => return Err(params_error("TRIE are only supported on varchar field")),
        "BITMAP" => return Err(params_error("bitmap index are only supported on bool, int, string and array field")),
        other => return Err(params_error(format!("data type JSON can't build with this index {other}"))),
    }
    let cast = params
        .get(JSON_CAST_TYPE)
        .ok_or_else(|| params_error(format!("json index must specify cast type: missing parameter[missing_param={JSON_CAST_TYPE}]")))?;
    let cast = JsonCast::parse(cast).ok_or_else(|| params_error(format!("{JSON_CAST_TYPE} {cast} is not supported")))?;
    // Milvus's STRING_TO_DOUBLE would index strings as numbers, which a filter on the
    // path never compares as equal: results would change with the index.
    if let Some(function) = params.get("json_cast_function") {
        return Err(params_error(format!("json_cast_function {function} is not supported by Quiver")));
    }
    Ok(cast)
}

/// Resolve the path of an index on `field` (a JSON field or `$meta`) that the client
/// asked for on `requested` (the field's name, or a dynamic key's), filling in a missing
/// `json_path` in `params`.
pub(crate) fn target(
    schema: &CollectionSchema,
    field: &FieldSchema,
    requested: &str,
    cast: JsonCast,
    params: &mut BTreeMap<String, String>,
) -> Result<JsonPathTarget> {
    let text = params.entry(JSON_PATH.to_string()).or_insert_with(|| requested.to_string()).clone();
    let unparsable = |detail: Option<String>| EngineError::JsonPathUnparsable { path: text.clone(), detail };
    let (column, path) =
        quiver_expr::json_path_of(&text, schema).map_err(|e| unparsable(Some(e.to_string())))?.ok_or_else(|| unparsable(None))?;
    if column != field.name {
        return Err(invalid(format!("json_path {text} is not a path of field {requested}")));
    }
    Ok(JsonPathTarget { path, cast })
}

/// The name Milvus gives an index on a JSON path when the client gives none: the
/// field's name and the path as a JSON pointer (`my_json/a/0`, `$meta/key/b`).
pub(crate) fn default_name(field: &FieldSchema, path: &[PathStep]) -> String {
    let mut name = field.name.clone();
    for step in path {
        name.push('/');
        match step {
            PathStep::Key(key) => name.push_str(&key.replace('~', "~0").replace('/', "~1")),
            PathStep::Index(i) => name.push_str(&i.to_string()),
        }
    }
    name
}

/// The field name DescribeIndex reports for an index on `field_id`: the field's name, or
/// for an index on `$meta` the name its `json_path` starts with (the dynamic key, or
/// `$meta`), which is what the client named when creating it.
pub fn field_name(schema: &CollectionSchema, field_id: quiver_base::FieldId, params: &BTreeMap<String, String>) -> String {
    if field_id != DYNAMIC_FIELD_ID {
        return schema.fields.iter().find(|f| f.id == field_id).map(|f| f.name.clone()).unwrap_or_default();
    }
    let path = params.get(JSON_PATH).map(String::as_str).unwrap_or_default();
    match quiver_expr::parse(path) {
        Ok(quiver_expr::Ast::Field(root) | quiver_expr::Ast::Path { root, .. }) => root,
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DataType;
    use quiver_expr::NumKey;

    fn schema(dynamic: bool) -> CollectionSchema {
        CollectionSchema {
            name: "c".into(),
            description: String::new(),
            auto_id: false,
            enable_dynamic_field: dynamic,
            version: 0,
            fields: vec![
                FieldSchema { id: quiver_base::FieldId(100), ..FieldSchema::new("id", DataType::Int64) },
                FieldSchema { id: quiver_base::FieldId(101), ..FieldSchema::new("j", DataType::Json) },
            ],
        }
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn checks_index_and_cast_types_in_milvus_order_and_words() {
        let err = |t: &str, p: &[(&str, &str)]| check(t, &params(p)).unwrap_err().to_string();
        assert_eq!(
            err("INVERTED", &[]),
            "json index must specify cast type: missing parameter[missing_param=json_cast_type]: \
             invalid parameter[expected=valid index params][actual=invalid index params]"
        );
        assert!(err("INVERTED", &[("json_cast_type", "INT64")]).starts_with("json_cast_type INT64 is not supported: invalid parameter"));
        assert!(
            err("STL_SORT", &[("json_cast_type", "double")])
                .starts_with("STL_SORT are only supported on numeric, varchar or timestamptz field, got JSON")
        );
        assert!(
            err("BITMAP", &[("json_cast_type", "bool")])
                .starts_with("bitmap index are only supported on bool, int, string and array field")
        );
        assert_eq!(check("AUTOINDEX", &params(&[("json_cast_type", "Double")])).unwrap(), JsonCast::Double);
        assert_eq!(check("INVERTED", &params(&[("json_cast_type", "array_varchar")])).unwrap(), JsonCast::ArrayVarchar);
    }

    #[test]
    fn resolves_paths_of_json_fields_and_dynamic_keys_and_names_them_as_milvus() {
        let s = schema(true);
        let j = s.fields[1].clone();
        let mut p = params(&[("json_path", "j['a'][0]")]);
        let t = target(&s, &j, "j", JsonCast::Double, &mut p).unwrap();
        assert_eq!(t.path, [PathStep::Key("a".into()), PathStep::Index(0)]);
        assert_eq!(default_name(&j, &t.path), "j/a/0");
        let meta = s.dynamic_field().unwrap();
        let mut p = params(&[]);
        let t = target(&s, &meta, "k/x", JsonCast::Json, &mut p).unwrap_err();
        assert!(t.to_string().starts_with("cannot parse identifier: k/x"), "{t}");
        let mut p = params(&[("json_path", "key['b']")]);
        let t = target(&s, &meta, "key", JsonCast::Varchar, &mut p).unwrap();
        assert_eq!(default_name(&meta, &t.path), "$meta/key/b");
        assert_eq!(field_name(&s, DYNAMIC_FIELD_ID, &p), "key");
        let mut p = params(&[]);
        target(&s, &meta, "key", JsonCast::Varchar, &mut p).unwrap();
        assert_eq!(p["json_path"], "key", "a missing path is the whole field, written as its name");
        assert!(
            target(&s, &j, "j", JsonCast::Bool, &mut params(&[("json_path", "1")]))
                .unwrap_err()
                .to_string()
                .contains("cannot parse identifier: 1")
        );
        assert!(target(&s, &j, "j", JsonCast::Bool, &mut params(&[("json_path", "key['a']")])).is_err(), "a path of another field");
    }

    #[test]
    fn a_cast_answers_only_tests_on_values_it_holds() {
        let one = TermValue::Num(NumKey::from(1));
        let text = TermValue::Str("1".into());
        assert!(JsonCast::Double.answers(&TermMatch::NoneOf(vec![one.clone()])));
        assert!(!JsonCast::Double.answers(&TermMatch::AnyOf(vec![one.clone(), text.clone()])));
        assert!(JsonCast::Json.answers(&TermMatch::AnyOf(vec![one.clone(), text])));
        assert!(!JsonCast::Double.answers(&TermMatch::Contains { all: false, values: vec![one.clone()] }));
        assert!(JsonCast::ArrayDouble.answers(&TermMatch::Contains { all: true, values: vec![one.clone()] }));
        assert!(!JsonCast::ArrayDouble.answers(&TermMatch::AnyOf(vec![one])));
    }
}
