//! Parses a JSON column's cells once per batch, keeping only the top-level keys the
//! plan reads.
//!
//! Parsing dominates JSON filtering, and `$meta` documents often carry many keys a
//! filter never looks at; those are skipped without allocating (`IgnoredAny`). Lookups
//! see the same values either way, since every path starts with a kept key.

use crate::error::{ExprError, Result};
use arrow_array::{Array, StringArray};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

/// Each row's document (`None` for a null or empty cell). `keys`: the top-level keys
/// to keep, or `None` for whole documents.
pub(crate) fn parse_column(name: &str, cells: &StringArray, keys: Option<&BTreeSet<String>>) -> Result<Vec<Option<Value>>> {
    (0..cells.len())
        .map(|row| {
            // An empty cell is treated like a null one rather than as an error.
            if cells.is_null(row) || cells.value(row).is_empty() {
                return Ok(None);
            }
            parse(cells.value(row), keys).map(Some).map_err(|e| ExprError::InvalidJson {
                column: name.to_string(),
                row,
                message: e.to_string(),
            })
        })
        .collect()
}

fn parse(text: &str, keys: Option<&BTreeSet<String>>) -> serde_json::Result<Value> {
    let Some(keys) = keys else { return serde_json::from_str(text) };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Selective { keys }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Deserializes a document keeping only `keys` of a top-level object; any other
/// top-level value is kept whole.
struct Selective<'k> {
    keys: &'k BTreeSet<String>,
}

impl<'de> DeserializeSeed<'de> for Selective<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Selective<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if self.keys.contains(key.as_ref()) {
                out.insert(key.into_owned(), map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_wanted_keys() {
        let keys = BTreeSet::from(["a".to_string(), "q\"uote".to_string()]);
        let doc = parse(r#"{"a": {"x": [1, 2]}, "b": {"deep": [1, {"c": 2}]}, "q\"uote": 1.5}"#, Some(&keys)).unwrap();
        assert_eq!(doc, json!({"a": {"x": [1, 2]}, "q\"uote": 1.5}));
        assert_eq!(parse("[1, {\"b\": 2}]", Some(&keys)).unwrap(), json!([1, {"b": 2}]));
        assert_eq!(parse("3", Some(&keys)).unwrap(), json!(3));
        assert!(parse(r#"{"a": 1} x"#, Some(&keys)).is_err());
        assert!(parse(r#"{"a": 1, "b": }"#, Some(&keys)).is_err());
    }
}
