//! How a collection's rows look as Arrow columns: in memory, in the WAL and in the
//! Parquet insert logs.
//!
//! One column per schema field, in schema order, named after the field; then `$meta`
//! (the dynamic field, JSON text) when the collection has one; then `$ts` (the row's
//! hybrid insert timestamp, UInt64). Field names cannot start with `$`, so the system
//! columns never collide with user fields.
//!
//! | Milvus type | Arrow type |
//! | --- | --- |
//! | Bool, Int8, Int16, Int32, Int64, Float, Double | Boolean, Int8, Int16, Int32, Int64, Float32, Float64 |
//! | VarChar | Utf8 |
//! | JSON | Utf8 (JSON text) |
//! | Geometry | Utf8 (canonical WKT, see `geometry`) |
//! | Array of T | List of T |
//! | FloatVector(dim) | FixedSizeList(Float32, dim) |
//! | BinaryVector(dim) | FixedSizeBinary(dim / 8) |
//! | Float16Vector(dim), BFloat16Vector(dim) | FixedSizeBinary(2 × dim) |
//! | Int8Vector(dim) | FixedSizeList(Int8, dim) |
//! | SparseFloatVector | List of Struct { index: UInt32, value: Float32 }, indices ascending |
//!
//! Each Arrow field carries the Milvus field id in its metadata (`quiver:field_id`), so
//! a Parquet file read by Spark or pyarrow says which field each column is.

use crate::schema::{CollectionSchema, DYNAMIC_FIELD_NAME, DataType, DefaultValue, FieldSchema};
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, RecordBatch, StringArray,
    new_null_array,
};
use arrow_schema::{ArrowError, DataType as ArrowType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::sync::Arc;

/// The dynamic field's column (JSON text per row).
pub const META_COLUMN: &str = DYNAMIC_FIELD_NAME;
/// The row timestamp column.
pub const TS_COLUMN: &str = "$ts";
/// Arrow field metadata key holding the Milvus field id.
pub const FIELD_ID_KEY: &str = "quiver:field_id";

/// The Arrow type of a scalar (non-array) Milvus type.
fn scalar_type(data_type: DataType) -> ArrowType {
    match data_type {
        DataType::Bool => ArrowType::Boolean,
        DataType::Int8 => ArrowType::Int8,
        DataType::Int16 => ArrowType::Int16,
        DataType::Int32 => ArrowType::Int32,
        DataType::Int64 => ArrowType::Int64,
        DataType::Float => ArrowType::Float32,
        DataType::Double => ArrowType::Float64,
        DataType::VarChar | DataType::Json | DataType::Geometry => ArrowType::Utf8,
        other => unreachable!("{} is not a scalar type", other.name()),
    }
}

/// The column of `field` for `rows` rows stored before the field existed: its default
/// value in every row, else null (an added field is nullable or defaulted).
pub fn absent_column(field: &FieldSchema, rows: usize) -> ArrayRef {
    match (&field.default_value, field.data_type) {
        (Some(DefaultValue::Bool(v)), _) => Arc::new(BooleanArray::from(vec![*v; rows])),
        (Some(DefaultValue::Int(v)), DataType::Int8) => Arc::new(Int8Array::from(vec![*v as i8; rows])),
        (Some(DefaultValue::Int(v)), DataType::Int16) => Arc::new(Int16Array::from(vec![*v as i16; rows])),
        (Some(DefaultValue::Int(v)), _) => Arc::new(Int32Array::from(vec![*v; rows])),
        (Some(DefaultValue::Long(v)), _) => Arc::new(Int64Array::from(vec![*v; rows])),
        (Some(DefaultValue::Float(v)), _) => Arc::new(Float32Array::from(vec![*v; rows])),
        (Some(DefaultValue::Double(v)), _) => Arc::new(Float64Array::from(vec![*v; rows])),
        (Some(DefaultValue::String(v)), _) => Arc::new(StringArray::from(vec![v.as_str(); rows])),
        (None, _) => new_null_array(&arrow_type(field), rows),
    }
}

/// A stored batch in the layout of `schema` as it is now: rows stored before a field was
/// added lack its column and read it as [`absent_column`]. Fields are only ever added,
/// so a batch with as many columns as the layout is already in it.
pub fn conform(schema: &CollectionSchema, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let layout = arrow_schema(schema);
    if batch.num_columns() == layout.fields().len() {
        return Ok(batch.clone());
    }
    let arrays = layout
        .fields()
        .iter()
        .map(|column| match (batch.column_by_name(column.name()), schema.field(column.name())) {
            (Some(array), _) => Ok(Arc::clone(array)),
            (None, Some(field)) => Ok(absent_column(field, batch.num_rows())),
            // Rows stored before the dynamic field was switched on have no dynamic keys.
            (None, None) if column.name() == META_COLUMN => {
                Ok(Arc::new(arrow_array::StringArray::from_iter_values(std::iter::repeat_n("{}", batch.num_rows()))) as ArrayRef)
            }
            (None, None) => Err(ArrowError::SchemaError(format!("stored rows lack the column {}", column.name()))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(layout, arrays)
}

/// The child names of a sparse row's (index, value) pairs.
pub const SPARSE_INDEX: &str = "index";
pub const SPARSE_VALUE: &str = "value";

/// The struct of one sparse pair: `index` (UInt32) and `value` (Float32).
pub fn sparse_pair_fields() -> arrow_schema::Fields {
    arrow_schema::Fields::from(vec![
        Field::new(SPARSE_INDEX, ArrowType::UInt32, false),
        Field::new(SPARSE_VALUE, ArrowType::Float32, false),
    ])
}

/// The Arrow type of one field's column.
pub fn arrow_type(field: &FieldSchema) -> ArrowType {
    let dim = field.dim().unwrap_or(0) as i32;
    match field.data_type {
        DataType::FloatVector => ArrowType::FixedSizeList(Arc::new(Field::new("item", ArrowType::Float32, false)), dim),
        DataType::Int8Vector => ArrowType::FixedSizeList(Arc::new(Field::new("item", ArrowType::Int8, false)), dim),
        DataType::SparseFloatVector => ArrowType::List(Arc::new(Field::new("item", ArrowType::Struct(sparse_pair_fields()), false))),
        DataType::BinaryVector => ArrowType::FixedSizeBinary(dim / 8),
        DataType::Float16Vector | DataType::BFloat16Vector => ArrowType::FixedSizeBinary(dim * 2),
        DataType::Array => {
            let element = field.element_type.expect("validated array field has an element type");
            ArrowType::List(Arc::new(Field::new("item", scalar_type(element), true)))
        }
        scalar => scalar_type(scalar),
    }
}

/// The Arrow field of one schema field (nullable when the field is nullable).
pub fn arrow_field(field: &FieldSchema) -> Field {
    Field::new(&field.name, arrow_type(field), field.nullable)
        .with_metadata(HashMap::from([(FIELD_ID_KEY.to_string(), field.id.0.to_string())]))
}

/// The Arrow schema of a collection's rows, system columns included.
pub fn arrow_schema(schema: &CollectionSchema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields.iter().map(arrow_field).collect();
    if schema.enable_dynamic_field {
        fields.push(Field::new(META_COLUMN, ArrowType::Utf8, false));
    }
    fields.push(Field::new(TS_COLUMN, ArrowType::UInt64, false));
    Arc::new(Schema::new(fields))
}

/// A sparse column's rows in CSR form, borrowed: list offsets (absolute positions into
/// the pair arrays), indices and values.
pub struct SparseParts<'a> {
    pub offsets: &'a [i32],
    pub indices: &'a [u32],
    pub values: &'a [f32],
}

/// The parts of a SparseFloatVector column (its layout: `arrow_type` of such a field).
pub fn sparse_parts(array: &dyn arrow_array::Array) -> Result<SparseParts<'_>, ArrowError> {
    use arrow_array::cast::AsArray;
    let list = array
        .as_list_opt::<i32>()
        .ok_or_else(|| ArrowError::SchemaError(format!("a sparse vector column is a List, not {}", array.data_type())))?;
    let pairs = list.values().as_struct_opt().ok_or_else(|| ArrowError::SchemaError("sparse vector items are not structs".into()))?;
    let indices = pairs
        .column_by_name(SPARSE_INDEX)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::UInt32Type>())
        .ok_or_else(|| ArrowError::SchemaError("sparse vector items lack a UInt32 index".into()))?;
    let values = pairs
        .column_by_name(SPARSE_VALUE)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::Float32Type>())
        .ok_or_else(|| ArrowError::SchemaError("sparse vector items lack a Float32 value".into()))?;
    Ok(SparseParts { offsets: list.value_offsets(), indices: indices.values(), values: values.values() })
}

/// A sparse column from rows of `(index, value)` pairs (as given, no checks).
pub fn sparse_column<I>(rows: I) -> ArrayRef
where
    I: IntoIterator,
    I::Item: IntoIterator<Item = (u32, f32)>,
{
    let (mut offsets, mut indices, mut values) = (vec![0i32], Vec::new(), Vec::new());
    for row in rows {
        for (index, value) in row {
            indices.push(index);
            values.push(value);
        }
        offsets.push(indices.len() as i32);
    }
    let pairs = arrow_array::StructArray::new(
        sparse_pair_fields(),
        vec![Arc::new(arrow_array::UInt32Array::from(indices)), Arc::new(Float32Array::from(values))],
        None,
    );
    let item = Arc::new(Field::new("item", ArrowType::Struct(sparse_pair_fields()), false));
    Arc::new(arrow_array::ListArray::new(item, arrow_buffer::OffsetBuffer::new(offsets.into()), Arc::new(pairs), None))
}

/// An IEEE 754 binary16 value (Float16Vector element, little-endian in storage) as f32.
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exponent = ((bits >> 10) & 0x1f) as u32;
    let mantissa = (bits & 0x3ff) as u32;
    let value = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise the mantissa.
            let shift = m.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(value)
}

/// A bfloat16 value (BFloat16Vector element) as f32: its bits are the f32's top half.
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
    }

    #[test]
    fn every_type_has_a_column_layout() {
        let mut pk = FieldSchema::new("pk", DataType::Int64);
        pk.is_primary_key = true;
        let mut tags = FieldSchema::new("tags", DataType::Array).with_param("max_capacity", 4).with_param("max_length", 8);
        tags.element_type = Some(DataType::VarChar);
        let schema = CollectionSchema {
            name: "c".into(),
            description: String::new(),
            auto_id: false,
            enable_dynamic_field: true,
            fields: vec![
                pk,
                FieldSchema::new("v", DataType::FloatVector).with_param("dim", 4),
                FieldSchema::new("b", DataType::BinaryVector).with_param("dim", 16),
                FieldSchema::new("h", DataType::Float16Vector).with_param("dim", 4),
                tags,
            ],
            version: 0,
        }
        .validated()
        .unwrap();
        let arrow = arrow_schema(&schema);
        let names: Vec<&str> = arrow.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["pk", "v", "b", "h", "tags", "$meta", "$ts"]);
        assert_eq!(arrow.field(1).data_type(), &ArrowType::FixedSizeList(Arc::new(Field::new("item", ArrowType::Float32, false)), 4));
        assert_eq!(arrow.field(2).data_type(), &ArrowType::FixedSizeBinary(2));
        assert_eq!(arrow.field(3).data_type(), &ArrowType::FixedSizeBinary(8));
        assert!(matches!(arrow.field(4).data_type(), ArrowType::List(_)));
        assert_eq!(arrow.field(0).metadata().get(FIELD_ID_KEY).map(String::as_str), Some("100"));
    }
}
