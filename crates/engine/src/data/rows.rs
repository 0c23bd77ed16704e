//! Turning a client's columns into rows Quiver stores: every rule is checked before
//! anything is applied, so a rejected batch leaves no row behind.
//!
//! This module is the one place the value rules of inserted rows live; front ends
//! (the Milvus wire converter in `quiver-server`, tests, any future API) only build
//! Arrow columns in the layout of [`quiver_format::columns`] and leave nulls as nulls.
//! [`assemble`] then, for every schema field:
//!
//! * refuses a column whose Arrow type is not the field's layout;
//! * checks the field's default value against its type (an Int8 or Int16 default must
//!   fit the narrower type) and puts it in every null row, nullable field or not, as in
//!   Milvus; a missing nullable or defaulted field is a column of nulls;
//! * refuses a null row in a field that is neither nullable nor defaulted, and in the
//!   primary key;
//! * checks `max_length` (in UTF-8 bytes) of VarChar values and of the VarChar elements
//!   of arrays, `max_capacity` of arrays, and that JSON fields hold valid JSON text;
//! * checks that every `$meta` row is a JSON object (a null row becomes `{}`);
//! * checks that Geometry values are WKT and stores them as canonical WKT;
//! * checks sparse vector rows as Milvus does: indices strictly ascending and below
//!   `u32::MAX`, values finite and not negative (empty rows are allowed).
//!
//! Every error names the field and, for a value, the row (0-based, in request order).

use crate::error::{EngineError, Result};
use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array, new_null_array};
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
    /// Generate `num_rows` ids starting here; keys in the request name the rows an
    /// upsert replaces (auto_id upsert), they are not stored.
    Replacing(i64),
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
            return Err(bad(format!(
                "the num_rows ({n}) of field data does not match the length ({}) of field {}",
                array.len(),
                field.name
            )));
        }
        if input.fields.iter().filter(|(other, _)| other == name).count() > 1 {
            return Err(bad(format!("duplicated field {name} in the insert data")));
        }
        let expected = columns::arrow_type(field);
        if array.data_type() != &expected {
            return Err(bad(format!("field {name}: expected a column of Arrow type {expected}, got {}", array.data_type())));
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
                None if field.nullable || field.default_value.is_some() => {
                    fill_defaults(field, new_null_array(&columns::arrow_type(field), n))?
                }
                None => return Err(bad(format!("field {} is missing from the insert data", field.name))),
            }
        };
        let array = canonical_geometries(field, array)?;
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
        // Generated keys of a VarChar primary key are the decimal digits of the ids, as in Milvus.
        (PkSource::Generated(start), None) | (PkSource::Replacing(start), _) if field.data_type == DataType::VarChar => {
            Ok(Arc::new(StringArray::from_iter_values((start..start + n as i64).map(|id| id.to_string()))))
        }
        (PkSource::Generated(start), None) | (PkSource::Replacing(start), _) => {
            Ok(Arc::new(Int64Array::from_iter_values(start..start + n as i64)))
        }
        (PkSource::Generated(_), Some(_)) => Err(bad(format!(
            "more fieldData has pass in: invalid parameter[expected=no values for the auto-generated (auto_id) primary key {}][actual=values given]",
            field.name
        ))),
        (PkSource::Client, None) => Err(bad(format!("the primary key field {} is missing from the insert data", field.name))),
        (PkSource::Client, Some(array)) => match first_null(&array) {
            Some(row) => Err(bad(format!("field {}: row {row} is null, but a primary key cannot be null", field.name))),
            None => Ok(array),
        },
    }
}

fn first_null(array: &ArrayRef) -> Option<usize> {
    if array.null_count() == 0 { None } else { (0..array.len()).find(|&row| array.is_null(row)) }
}

/// Put the field's default value in every null row (checking the default against the
/// field's type even when no row is null), and refuse null rows in a field that is
/// neither nullable nor defaulted.
fn fill_defaults(field: &FieldSchema, array: ArrayRef) -> Result<ArrayRef> {
    let name = &field.name;
    let Some(default) = &field.default_value else {
        return match first_null(&array) {
            Some(row) if !field.nullable => {
                Err(bad(format!("field {name}: row {row} is null, but the field is not nullable and has no default value")))
            }
            _ => Ok(array),
        };
    };
    let out_of_range = |v: i32| bad(format!("field {name}: the default value {v} is out of range for {}", field.data_type.name()));
    macro_rules! fill {
        ($builder:ty, $typed:expr, $value:expr) => {{
            let value = $value;
            if array.null_count() == 0 {
                return Ok(array);
            }
            let typed = $typed;
            let mut builder = <$builder>::with_capacity(typed.len());
            for v in typed.iter() {
                builder.append_value(v.unwrap_or(value));
            }
            Arc::new(builder.finish()) as ArrayRef
        }};
    }
    use arrow_array::types::*;
    Ok(match (default, field.data_type) {
        (DefaultValue::Bool(v), DataType::Bool) => fill!(BooleanBuilder, array.as_boolean(), *v),
        (DefaultValue::Int(v), DataType::Int8) => {
            fill!(Int8Builder, array.as_primitive::<Int8Type>(), i8::try_from(*v).map_err(|_| out_of_range(*v))?)
        }
        (DefaultValue::Int(v), DataType::Int16) => {
            fill!(Int16Builder, array.as_primitive::<Int16Type>(), i16::try_from(*v).map_err(|_| out_of_range(*v))?)
        }
        (DefaultValue::Int(v), DataType::Int32) => fill!(Int32Builder, array.as_primitive::<Int32Type>(), *v),
        (DefaultValue::Long(v), DataType::Int64) => fill!(Int64Builder, array.as_primitive::<Int64Type>(), *v),
        (DefaultValue::Float(v), DataType::Float) => fill!(Float32Builder, array.as_primitive::<Float32Type>(), *v),
        (DefaultValue::Double(v), DataType::Double) => fill!(Float64Builder, array.as_primitive::<Float64Type>(), *v),
        (DefaultValue::String(v), DataType::VarChar | DataType::Geometry) => {
            if array.null_count() == 0 {
                return Ok(array);
            }
            let typed = array.as_string::<i32>();
            let mut builder = StringBuilder::with_capacity(typed.len(), typed.len() * v.len());
            for s in typed.iter() {
                builder.append_value(s.unwrap_or(v));
            }
            Arc::new(builder.finish())
        }
        _ => return Err(bad(format!("field {name}: the default value {default:?} does not fit {}", field.data_type.name()))),
    })
}

/// A Geometry column with every value rewritten as canonical WKT (what queries return),
/// refusing text that is not a geometry; other columns as they are.
fn canonical_geometries(field: &FieldSchema, array: ArrayRef) -> Result<ArrayRef> {
    if field.data_type != DataType::Geometry {
        return Ok(array);
    }
    let texts = array.as_string::<i32>();
    let mut builder = StringBuilder::with_capacity(texts.len(), texts.value_data().len());
    for (row, text) in texts.iter().enumerate() {
        match text {
            Some(text) => builder.append_value(
                quiver_format::geometry::canonical_wkt(text)
                    .map_err(|e| bad(format!("field {}: row {row} is not a valid geometry: {e}", field.name)))?,
            ),
            None => builder.append_null(),
        }
    }
    Ok(Arc::new(builder.finish()))
}

/// Length limits and JSON well-formedness.
fn check_values(field: &FieldSchema, array: &ArrayRef) -> Result<()> {
    let name = &field.name;
    let max_length = field.int_param("max_length").unwrap_or(i64::MAX) as usize;
    match field.data_type {
        DataType::FloatVector => {
            let dim = field.dim().unwrap_or(1).max(1) as usize;
            let list = array.as_fixed_size_list();
            let values = list.values().as_primitive::<arrow_array::types::Float32Type>();
            if let Some(position) = values.values().iter().position(|v| !v.is_finite()) {
                let value = values.value(position);
                // Go's spelling, as Milvus prints it.
                let spelled = if value.is_nan() {
                    "NaN"
                } else if value > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                return Err(bad(format!(
                    "float vector field '{name}' is illegal, value '{spelled}' is not a number or infinity (row {})",
                    position / dim
                )));
            }
        }
        DataType::SparseFloatVector => check_sparse(name, array)?,
        DataType::VarChar => {
            for (row, s) in array.as_string::<i32>().iter().enumerate() {
                if let Some(s) = s
                    && s.len() > max_length
                {
                    return Err(bad(format!(
                        "length of varchar field {name} exceeds max length, row number: {row}, length: {}, max length: {max_length}",
                        s.len()
                    )));
                }
            }
        }
        DataType::Json => {
            for (row, text) in array.as_string::<i32>().iter().enumerate() {
                if let Some(text) = text
                    && let Err(e) = serde_json::from_str::<serde_json::Value>(text)
                {
                    return Err(bad(format!("field {name}: row {row} is not valid JSON ({e}): {}", excerpt(text))));
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
                        "field {name}: the length ({}) of {row}th array exceeds max capacity ({capacity})",
                        values.len()
                    )));
                }
                if field.element_type != Some(DataType::VarChar) {
                    continue;
                }
                for (element, s) in values.as_string::<i32>().iter().enumerate() {
                    if let Some(s) = s
                        && s.len() > max_length
                    {
                        return Err(bad(format!(
                            "length of Array array field \"{name}\" exceeds max length, row number: {row}, array index: \
                             {element}, length: {}, max length: {max_length}",
                            s.len()
                        )));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Milvus's rules for sparse rows, in its words (with the field and row added).
fn check_sparse(name: &str, array: &ArrayRef) -> Result<()> {
    let parts = columns::sparse_parts(array.as_ref()).map_err(|e| bad(format!("field {name}: {e}")))?;
    for (row, bounds) in parts.offsets.windows(2).enumerate() {
        let range = bounds[0] as usize..bounds[1] as usize;
        let (indices, values) = (&parts.indices[range.clone()], &parts.values[range]);
        let problem = if indices.windows(2).any(|w| w[0] >= w[1]) {
            Some("unsorted or same indices in sparse float vector".to_string())
        } else if let Some(index) = indices.iter().find(|&&i| i == u32::MAX) {
            Some(format!("invalid index in sparse float vector: {index}"))
        } else if let Some(value) = values.iter().find(|v| !v.is_finite()) {
            Some(format!("invalid value in sparse float vector: {value}"))
        } else {
            values.iter().find(|&&v| v < 0.0).map(|value| format!("negative value in sparse float vector: {value}"))
        };
        if let Some(problem) = problem {
            return Err(bad(format!("{problem} (field {name}, row {row})")));
        }
    }
    Ok(())
}

/// Every `$meta` row must be a JSON object; a null row holds no dynamic keys (`{}`).
fn check_dynamic(array: ArrayRef, n: usize) -> Result<ArrayRef> {
    let name = META_COLUMN;
    if array.len() != n {
        return Err(bad(format!("field {name}: the column holds {} rows, expected {n}", array.len())));
    }
    let strings = array
        .as_string_opt::<i32>()
        .ok_or_else(|| bad(format!("field {name}: expected a column of JSON text (Utf8), got {}", array.data_type())))?;
    for (row, text) in strings.iter().enumerate() {
        let Some(text) = text else { continue };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("field {name}: row {row} is not valid JSON ({e}): {}", excerpt(text))))?;
        if !value.is_object() {
            return Err(bad(format!("field {name}: row {row} is not a JSON object: {}", excerpt(text))));
        }
    }
    if strings.null_count() > 0 {
        let filled: StringArray = strings.iter().map(|s| Some(s.unwrap_or("{}"))).collect();
        return Ok(Arc::new(filled));
    }
    Ok(array)
}

/// The start of a value, for messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The name of the column that holds dynamic keys, for callers that build requests.
pub const DYNAMIC_COLUMN: &str = META_COLUMN;

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::ListBuilder;
    use arrow_array::types::{Int8Type, Int16Type, Int32Type, Int64Type};
    use arrow_array::{BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, ListArray};

    fn field(name: &str, data_type: DataType) -> FieldSchema {
        FieldSchema::new(name, data_type)
    }

    fn nullable(mut field: FieldSchema) -> FieldSchema {
        field.nullable = true;
        field
    }

    fn with_default(mut field: FieldSchema, default: DefaultValue) -> FieldSchema {
        field.default_value = Some(default);
        field
    }

    fn array_field(name: &str, element: DataType) -> FieldSchema {
        let mut field = field(name, DataType::Array).with_param("max_capacity", 4).with_param("max_length", 8);
        field.element_type = Some(element);
        field
    }

    /// An auto-id Int64 primary key `pk`, then `fields`.
    fn schema(fields: Vec<FieldSchema>, dynamic: bool) -> CollectionSchema {
        let mut pk = field("pk", DataType::Int64);
        pk.is_primary_key = true;
        pk.auto_id = true;
        CollectionSchema {
            name: "c".into(),
            description: String::new(),
            auto_id: true,
            enable_dynamic_field: dynamic,
            fields: std::iter::once(pk).chain(fields).collect(),
            version: 0,
        }
    }

    fn columns(num_rows: usize, fields: Vec<(&str, ArrayRef)>) -> InsertColumns {
        InsertColumns { num_rows, fields: fields.into_iter().map(|(name, array)| (name.to_string(), array)).collect(), dynamic: None }
    }

    fn insert(schema: &CollectionSchema, input: InsertColumns) -> Result<RecordBatch> {
        assemble(schema, input, PkSource::Generated(1), 7)
    }

    /// The message of a rejected insert of one column `name`.
    fn error_of(f: FieldSchema, array: ArrayRef) -> String {
        let name = f.name.clone();
        let n = array.len();
        let input = columns(n, vec![(&name, array)]);
        let error = insert(&schema(vec![f], false), input).expect_err("the insert should be refused").to_string();
        assert!(
            error.contains(&format!("field {name}")) || error.contains(&format!("field \"{name}\"")),
            "the error names the field: {error}"
        );
        error
    }

    fn strings(rows: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(rows.to_vec()))
    }

    fn string_lists(rows: &[&[&str]]) -> ArrayRef {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for row in rows {
            builder.append_value(row.iter().map(|s| Some(*s)));
        }
        Arc::new(builder.finish())
    }

    #[test]
    fn null_rows_take_the_default_value_of_every_scalar_type() {
        let fields = vec![
            with_default(field("b", DataType::Bool), DefaultValue::Bool(true)),
            with_default(nullable(field("i8", DataType::Int8)), DefaultValue::Int(-3)),
            with_default(field("i16", DataType::Int16), DefaultValue::Int(-300)),
            with_default(field("i32", DataType::Int32), DefaultValue::Int(70_000)),
            with_default(field("i64", DataType::Int64), DefaultValue::Long(1 << 40)),
            with_default(field("f", DataType::Float), DefaultValue::Float(0.5)),
            with_default(field("d", DataType::Double), DefaultValue::Double(1.5)),
            with_default(field("s", DataType::VarChar).with_param("max_length", 8), DefaultValue::String("dflt".into())),
            // Left out of the request: every row takes the default.
            with_default(field("absent", DataType::Int64), DefaultValue::Long(9)),
        ];
        let input = columns(
            3,
            vec![
                ("b", Arc::new(BooleanArray::from(vec![Some(false), None, None]))),
                ("i8", Arc::new(Int8Array::from(vec![Some(1), None, Some(3)]))),
                ("i16", Arc::new(Int16Array::from(vec![None, Some(2), Some(3)]))),
                ("i32", Arc::new(Int32Array::from(vec![Some(1), Some(2), None]))),
                ("i64", Arc::new(Int64Array::from(vec![None, None, Some(3)]))),
                ("f", Arc::new(Float32Array::from(vec![Some(2.5), None, Some(3.5)]))),
                ("d", Arc::new(Float64Array::from(vec![None, Some(2.5), None]))),
                ("s", strings(&[Some("a"), None, Some("c")])),
            ],
        );
        let batch = insert(&schema(fields, false), input).unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
        for name in ["b", "i8", "i16", "i32", "i64", "f", "d", "s", "absent"] {
            assert_eq!(column(name).null_count(), 0, "{name}");
        }
        assert_eq!(column("b").as_boolean().iter().collect::<Vec<_>>(), vec![Some(false), Some(true), Some(true)]);
        assert_eq!(column("i8").as_primitive::<Int8Type>().values().to_vec(), vec![1, -3, 3]);
        assert_eq!(column("i16").as_primitive::<Int16Type>().values().to_vec(), vec![-300, 2, 3]);
        assert_eq!(column("i32").as_primitive::<Int32Type>().values().to_vec(), vec![1, 2, 70_000]);
        assert_eq!(column("i64").as_primitive::<Int64Type>().values().to_vec(), vec![1 << 40, 1 << 40, 3]);
        assert_eq!(column("f").as_primitive::<arrow_array::types::Float32Type>().values().to_vec(), vec![2.5, 0.5, 3.5]);
        assert_eq!(column("d").as_primitive::<arrow_array::types::Float64Type>().values().to_vec(), vec![1.5, 2.5, 1.5]);
        assert_eq!(column("s").as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("a"), Some("dflt"), Some("c")]);
        assert_eq!(column("absent").as_primitive::<Int64Type>().values().to_vec(), vec![9, 9, 9]);
    }

    #[test]
    fn default_values_must_fit_the_field() {
        // Checked even when no row needs the default.
        let f = with_default(field("small", DataType::Int8), DefaultValue::Int(128));
        assert_eq!(error_of(f, Arc::new(Int8Array::from(vec![1]))), "field small: the default value 128 is out of range for Int8");
        let f = with_default(field("medium", DataType::Int16), DefaultValue::Int(-40_000));
        assert_eq!(
            error_of(f, Arc::new(Int16Array::from(vec![None, Some(1)]))),
            "field medium: the default value -40000 is out of range for Int16"
        );
        let f = with_default(field("n", DataType::Int32), DefaultValue::Long(5));
        assert_eq!(error_of(f, Arc::new(Int32Array::from(vec![None]))), "field n: the default value Long(5) does not fit Int32");
        let f = with_default(nullable(field("j", DataType::Json)), DefaultValue::String("{}".into()));
        assert!(error_of(f, strings(&[Some("{}")])).ends_with("does not fit JSON"));
    }

    #[test]
    fn null_rows_need_a_nullable_field_or_a_default() {
        let f = field("n", DataType::Int64);
        assert_eq!(
            error_of(f, Arc::new(Int64Array::from(vec![Some(1), None]))),
            "field n: row 1 is null, but the field is not nullable and has no default value"
        );
        let f = array_field("tags", DataType::Int64);
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1)]), None]));
        assert_eq!(error_of(f, lists), "field tags: row 1 is null, but the field is not nullable and has no default value");

        let s = schema(vec![nullable(field("n", DataType::Int64)), nullable(field("j", DataType::Json))], false);
        let batch = insert(&s, columns(2, vec![("n", Arc::new(Int64Array::from(vec![None, Some(2)])))])).unwrap();
        assert_eq!(batch.column_by_name("n").unwrap().as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), vec![None, Some(2)]);
        assert_eq!(batch.column_by_name("j").unwrap().null_count(), 2, "a nullable field left out is null");

        let s = schema(vec![field("n", DataType::Int64)], false);
        let error = insert(&s, columns(1, vec![])).unwrap_err().to_string();
        assert_eq!(error, "field n is missing from the insert data");

        let mut pk = field("id", DataType::Int64);
        pk.is_primary_key = true;
        let s = CollectionSchema { fields: vec![pk], ..schema(vec![], false) };
        let input = columns(2, vec![("id", Arc::new(Int64Array::from(vec![Some(1), None])))]);
        let error = assemble(&s, input, PkSource::Client, 7).unwrap_err().to_string();
        assert_eq!(error, "field id: row 1 is null, but a primary key cannot be null");
    }

    #[test]
    fn varchar_max_length_counts_bytes() {
        let f = nullable(field("name", DataType::VarChar).with_param("max_length", 3));
        assert_eq!(
            error_of(f.clone(), strings(&[Some("abc"), None, Some("abcd")])),
            "length of varchar field name exceeds max length, row number: 2, length: 4, max length: 3"
        );
        // Two characters, three bytes.
        assert_eq!(
            error_of(f.clone(), strings(&[Some("hé"), Some("éé")])),
            "length of varchar field name exceeds max length, row number: 1, length: 4, max length: 3"
        );
        let s = schema(vec![f], false);
        assert!(insert(&s, columns(2, vec![("name", strings(&[Some("hé"), Some("abc")]))])).is_ok());
    }

    #[test]
    fn arrays_respect_max_capacity_and_element_max_length() {
        let f = array_field("tags", DataType::VarChar);
        assert_eq!(
            error_of(f.clone(), string_lists(&[&["a"], &["a", "b", "c", "d", "e"]])),
            "field tags: the length (5) of 1th array exceeds max capacity (4)"
        );
        assert_eq!(
            error_of(f.clone(), string_lists(&[&["ok", "far too long"]])),
            "length of Array array field \"tags\" exceeds max length, row number: 0, array index: 1, length: 12, max length: 8"
        );
        let s = schema(vec![f], false);
        assert!(insert(&s, columns(2, vec![("tags", string_lists(&[&["a", "b", "c", "d"], &["12345678"]]))])).is_ok());

        let f = array_field("ids", DataType::Int64);
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some((0..5).map(Some).collect::<Vec<_>>())]));
        assert_eq!(error_of(f, lists), "field ids: the length (5) of 0th array exceeds max capacity (4)");
    }

    #[test]
    fn json_fields_hold_valid_json() {
        let f = nullable(field("doc", DataType::Json));
        let error = error_of(f.clone(), strings(&[Some("{}"), None, Some("{")]));
        assert!(error.starts_with("field doc: row 2 is not valid JSON ("), "{error}");
        assert!(error.ends_with("): {"), "{error}");
        let s = schema(vec![f], false);
        let texts = strings(&[Some(r#"{"a":[1,2]}"#), Some("3"), Some(r#""text""#), None]);
        assert!(insert(&s, columns(4, vec![("doc", texts)])).is_ok());
    }

    #[test]
    fn dynamic_rows_are_json_objects() {
        let s = schema(vec![], true);
        let with_meta = |rows: &[Option<&str>]| InsertColumns { dynamic: Some(strings(rows)), ..columns(rows.len(), vec![]) };
        let error = insert(&s, with_meta(&[Some("{}"), Some("[1]")])).unwrap_err().to_string();
        assert_eq!(error, "field $meta: row 1 is not a JSON object: [1]");
        let error = insert(&s, with_meta(&[Some("{")])).unwrap_err().to_string();
        assert!(error.starts_with("field $meta: row 0 is not valid JSON ("), "{error}");
        let error = insert(&s, InsertColumns { dynamic: Some(strings(&[Some("{}")])), ..columns(2, vec![]) }).unwrap_err().to_string();
        assert_eq!(error, "field $meta: the column holds 1 rows, expected 2");

        let batch = insert(&s, with_meta(&[Some(r#"{"color":"red"}"#), None])).unwrap();
        let meta = batch.column_by_name(META_COLUMN).unwrap().as_string::<i32>().iter().collect::<Vec<_>>();
        assert_eq!(meta, vec![Some(r#"{"color":"red"}"#), Some("{}")]);
        let batch = insert(&s, columns(2, vec![])).unwrap();
        assert_eq!(batch.column_by_name(META_COLUMN).unwrap().as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("{}"); 2]);

        let error = insert(&schema(vec![], false), with_meta(&[Some("{}")])).unwrap_err().to_string();
        assert_eq!(error, "the collection has no dynamic field, but the insert data has dynamic keys");
    }

    #[test]
    fn sparse_rows_follow_milvus_rules() {
        let sparse = || field("s", DataType::SparseFloatVector);
        let column = |rows: Vec<Vec<(u32, f32)>>| columns::sparse_column(rows);
        let s = schema(vec![sparse()], false);
        let good = column(vec![vec![(1, 0.5), (9, 2.0)], vec![]]);
        assert_eq!(insert(&s, columns(2, vec![("s", good)])).unwrap().num_rows(), 2, "empty rows are allowed");
        let error = |rows| error_of(sparse(), column(rows));
        assert!(error(vec![vec![(9, 0.5), (1, 0.5)]]).starts_with("unsorted or same indices in sparse float vector"));
        assert!(error(vec![vec![(1, 0.5), (1, 0.5)]]).starts_with("unsorted or same indices"));
        assert!(error(vec![vec![(u32::MAX, 0.5)]]).starts_with("invalid index in sparse float vector: 4294967295"));
        assert!(error(vec![vec![(1, f32::NAN)]]).starts_with("invalid value in sparse float vector"));
        assert!(error(vec![vec![], vec![(1, -0.5)]]).ends_with("negative value in sparse float vector: -0.5 (field s, row 1)"));
    }

    #[test]
    fn columns_must_have_the_field_layout() {
        let f = field("n", DataType::Int64);
        assert_eq!(error_of(f, Arc::new(Int32Array::from(vec![1]))), "field n: expected a column of Arrow type Int64, got Int32");
    }

    #[test]
    fn an_auto_id_upsert_stores_new_keys_in_place_of_the_named_ones() {
        let s = schema(vec![field("n", DataType::Int64)], false);
        let named = || columns(2, vec![("pk", Arc::new(Int64Array::from(vec![7, 8]))), ("n", Arc::new(Int64Array::from(vec![1, 2])))]);
        assert!(insert(&s, named()).is_err(), "an insert must not name auto_id keys");
        let batch = assemble(&s, named(), PkSource::Replacing(100), 7).unwrap();
        assert_eq!(batch.column_by_name("pk").unwrap().as_primitive::<arrow_array::types::Int64Type>().values(), &[100, 101]);
        let wrong = columns(1, vec![("pk", Arc::new(Int32Array::from(vec![7]))), ("n", Arc::new(Int64Array::from(vec![1])))]);
        assert!(assemble(&s, wrong, PkSource::Replacing(100), 7).is_err(), "named keys still have the key's type");
    }
}
