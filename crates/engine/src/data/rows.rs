//! Turning a client's columns into rows Quiver stores: every rule is checked before
//! anything is applied, so a rejected batch leaves no row behind.

use crate::error::{EngineError, Result};
use arrow_array::builder::{BooleanBuilder, Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array, new_null_array};
use arrow_schema::DataType as ArrowType;
use quiver_format::columns::{self, META_COLUMN};
use quiver_format::schema::{CollectionSchema, DataType, DefaultValue, FieldSchema};
use std::sync::Arc;

/// Largest insert batch accepted, in bytes of column data.
pub const MAX_BATCH_BYTES: usize = 256 * 1024 * 1024;

/// Columns of one insert or upsert request, already in the Arrow layout of
/// `quiver_format::columns` (the server's converter builds them from the wire).
#[derive(Clone, Debug, Default)]
pub struct InsertColumns {
    pub num_rows: usize,
    /// Schema fields present in the request, by name.
    pub fields: Vec<(String, ArrayRef)>,
    /// The dynamic field: one JSON object per row.
    pub dynamic: Option<ArrayRef>,
}

fn bad(message: impl Into<String>) -> EngineError {
    EngineError::InvalidData(message.into())
}

/// Whether the primary key comes from the request or is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkSource {
    Client,
    /// Generate `num_rows` ids starting here.
    Generated(i64),
}

/// Check `input` against `schema` and build the stored batch (system columns included).
pub fn assemble(schema: &CollectionSchema, input: InsertColumns, pk: PkSource, ts: u64) -> Result<RecordBatch> {
    let n = input.num_rows;
    if n == 0 {
        return Err(bad("no rows to insert: the request holds 0 rows"));
    }
    let size: usize = input.fields.iter().map(|(_, a)| a.get_array_memory_size()).sum();
    if size > MAX_BATCH_BYTES {
        return Err(bad(format!(
            "insert batch of {size} bytes exceeds the limit of {MAX_BATCH_BYTES} bytes; split it into smaller batches"
        )));
    }
    for (name, array) in &input.fields {
        let field = schema.field(name).ok_or_else(|| bad(format!("field {name} does not exist in the collection schema")))?;
        if array.len() != n {
            return Err(bad(format!("the num_rows ({n}) of field data does not match the length ({}) of field {}", array.len(), field.name)));
        }
        if input.fields.iter().filter(|(other, _)| other == name).count() > 1 {
            return Err(bad(format!("duplicated field {name} in the insert data")));
        }
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields.len() + 2);
    for field in &schema.fields {
        let given = input.fields.iter().find(|(name, _)| name == &field.name).map(|(_, a)| Arc::clone(a));
        let array = if field.is_primary_key {
            primary_key(field, given, pk, n)?
        } else {
            match given {
                Some(array) => fill_defaults(field, array)?,
                None if field.nullable || field.default_value.is_some() => fill_defaults(field, new_null_array(&columns::arrow_type(field), n))?,
                None => return Err(bad(format!("field {} is missing from the insert data", field.name))),
            }
        };
        check_values(field, &array)?;
        arrays.push(array);
    }
    if schema.enable_dynamic_field {
        let meta = match input.dynamic {
            Some(array) => check_dynamic(array, n)?,
            None => Arc::new(StringArray::from(vec!["{}"; n])) as ArrayRef,
        };
        arrays.push(meta);
    } else if input.dynamic.is_some() {
        return Err(bad("the collection has no dynamic field, but the insert data has dynamic keys"));
    }
    arrays.push(Arc::new(UInt64Array::from(vec![ts; n])));
    Ok(RecordBatch::try_new(columns::arrow_schema(schema), arrays)?)
}

fn primary_key(field: &FieldSchema, given: Option<ArrayRef>, pk: PkSource, n: usize) -> Result<ArrayRef> {
    match (pk, given) {
        (PkSource::Generated(start), None) => Ok(Arc::new(Int64Array::from_iter_values(start..start + n as i64))),
        (PkSource::Generated(_), Some(_)) => Err(bad(format!(
            "the primary key {} is auto-generated (auto_id); do not provide its values",
            field.name
        ))),
        (PkSource::Client, None) => Err(bad(format!("the primary key field {} is missing from the insert data", field.name))),
        (PkSource::Client, Some(array)) if array.null_count() > 0 => {
            Err(bad(format!("the primary key field {} must not contain null values", field.name)))
        }
        (PkSource::Client, Some(array)) => Ok(array),
    }
}

/// Replace nulls by the field's default value, and refuse nulls in non-nullable fields.
fn fill_defaults(field: &FieldSchema, array: ArrayRef) -> Result<ArrayRef> {
    if array.null_count() == 0 {
        return Ok(array);
    }
    let Some(default) = &field.default_value else {
        if field.nullable {
            return Ok(array);
        }
        return Err(bad(format!("field {} is not nullable, but the insert data holds {} null value(s)", field.name, array.null_count())));
    };
    macro_rules! fill {
        ($builder:ty, $typed:expr, $value:expr) => {{
            let typed = $typed;
            let mut builder = <$builder>::with_capacity(typed.len());
            for v in typed.iter() {
                builder.append_value(v.unwrap_or($value));
            }
            Arc::new(builder.finish()) as ArrayRef
        }};
    }
    use arrow_array::types::*;
    Ok(match (default, array.data_type()) {
        (DefaultValue::Bool(v), ArrowType::Boolean) => fill!(BooleanBuilder, array.as_boolean(), *v),
        (DefaultValue::Int(v), ArrowType::Int8) => fill!(Int8Builder, array.as_primitive::<Int8Type>(), *v as i8),
        (DefaultValue::Int(v), ArrowType::Int16) => fill!(Int16Builder, array.as_primitive::<Int16Type>(), *v as i16),
        (DefaultValue::Int(v), ArrowType::Int32) => fill!(Int32Builder, array.as_primitive::<Int32Type>(), *v),
        (DefaultValue::Long(v), ArrowType::Int64) => fill!(Int64Builder, array.as_primitive::<Int64Type>(), *v),
        (DefaultValue::Float(v), ArrowType::Float32) => fill!(Float32Builder, array.as_primitive::<Float32Type>(), *v),
        (DefaultValue::Double(v), ArrowType::Float64) => fill!(Float64Builder, array.as_primitive::<Float64Type>(), *v),
        (DefaultValue::String(v), ArrowType::Utf8) => {
            let typed = array.as_string::<i32>();
            let mut builder = StringBuilder::with_capacity(typed.len(), typed.len() * v.len());
            for s in typed.iter() {
                builder.append_value(s.unwrap_or(v));
            }
            Arc::new(builder.finish())
        }
        _ => return Err(bad(format!("default value of field {} does not match its type", field.name))),
    })
}

/// Length limits and JSON well-formedness.
fn check_values(field: &FieldSchema, array: &ArrayRef) -> Result<()> {
    let max_length = field.int_param("max_length").unwrap_or(i64::MAX) as usize;
    match field.data_type {
        DataType::VarChar => {
            if let Some((row, s)) = array.as_string::<i32>().iter().enumerate().find_map(|(i, s)| s.filter(|s| s.len() > max_length).map(|s| (i, s))) {
                return Err(bad(format!(
                    "the length ({}) of field {} at row {row} exceeds max_length ({max_length})",
                    s.len(),
                    field.name
                )));
            }
        }
        DataType::Json => {
            for (row, text) in array.as_string::<i32>().iter().enumerate() {
                if let Some(text) = text
                    && let Err(e) = serde_json::from_str::<serde_json::Value>(text)
                {
                    return Err(bad(format!("field {} at row {row} is not valid JSON: {e}", field.name)));
                }
            }
        }
        DataType::Array => {
            let capacity = field.int_param("max_capacity").unwrap_or(i64::MAX) as usize;
            let list = array.as_list::<i32>();
            for row in 0..list.len() {
                if list.is_null(row) {
                    continue;
                }
                let values = list.value(row);
                if values.len() > capacity {
                    return Err(bad(format!(
                        "the array of field {} at row {row} has {} elements, more than max_capacity ({capacity})",
                        field.name,
                        values.len()
                    )));
                }
                if field.element_type == Some(DataType::VarChar)
                    && values.as_string::<i32>().iter().flatten().any(|s| s.len() > max_length)
                {
                    return Err(bad(format!(
                        "a string in the array of field {} at row {row} exceeds max_length ({max_length})",
                        field.name
                    )));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_dynamic(array: ArrayRef, n: usize) -> Result<ArrayRef> {
    if array.len() != n {
        return Err(bad(format!("the dynamic field holds {} rows, expected {n}", array.len())));
    }
    let strings = array.as_string_opt::<i32>().ok_or_else(|| bad("the dynamic field must hold JSON text"))?;
    for (row, text) in strings.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(text.unwrap_or("{}"))
            .map_err(|e| bad(format!("dynamic field at row {row} is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(bad(format!("dynamic field at row {row} must be a JSON object, got {value}")));
        }
    }
    if strings.null_count() > 0 {
        let filled: StringArray = strings.iter().map(|s| Some(s.unwrap_or("{}"))).collect();
        return Ok(Arc::new(filled));
    }
    Ok(array)
}

/// The name of the column that holds dynamic keys, for callers that build requests.
pub const DYNAMIC_COLUMN: &str = META_COLUMN;
