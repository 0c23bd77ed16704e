//! `schema.FieldData` (one column on the wire) <-> one Arrow column in the layout of
//! [`quiver_format::columns`].
//!
//! Inserted rows arrive as one `FieldData` per field ([`to_arrow`]) plus the dynamic
//! `$meta` column ([`dynamic_to_arrow`]). Query and search results leave the same way
//! ([`from_arrow`], [`dynamic_from_arrow`], [`count_field`]). Errors are `String`s meant
//! for the user: each names the field and says what was wrong.
//!
//! # Structure only
//!
//! The converter checks what it needs to build the Arrow column: the wire type and the
//! oneof slot match the schema type, vectors have the schema's `dim` and one vector per
//! row, value lists have one entry per row (or per non-null row, see below), Int8 and
//! Int16 values (sent widened to int32) fit their type, and JSON bytes are UTF-8
//! (protobuf strings already are).
//! The value rules are the engine's (`quiver_engine::data::rows`), which every front
//! end shares: default values, nullability, `max_length`, `max_capacity`, JSON
//! validity, `$meta` rows being objects. A null row therefore stays null here, even in
//! a field with a default value or one that is not nullable, and JSON text is not
//! parsed.
//!
//! # Nulls: two conventions on one wire
//!
//! `valid_data` (one bool per row) marks which rows hold a value. pymilvus 3.0.2 sends it
//! for nullable fields and for fields with a default value, and the value list means
//! different things in the two directions:
//!
//! * **Insert (client → server): compressed.** The value list holds only the present
//!   values. Row inserts (`Prepare._parse_row_request` in `client/prepare.py`) append
//!   `v is not None` to `valid_data`, and `_pack_scalar_row` (`client/entity_helper.py`)
//!   appends nothing for `None`; column inserts (`entity_to_field_data`) filter the `None`s
//!   out the same way. Rows `[10, None, None, 40]` arrive as `long_data [10, 40]`,
//!   `valid_data [t, f, f, t]`. When every row is `None` the value list is empty (its oneof
//!   is set, but we also accept it unset). The tests decode requests serialized by
//!   pymilvus's own `Prepare.row_insert_param` (`field_data/testdata/`).
//! * **Results (server → client): aligned.** The value list holds one entry per row, with
//!   a placeholder at null rows: `extract_row_data_from_fields_data_v2` reads `data[i]` for
//!   row `i`, `decode_cell` (`client/field_data_extractors.py`) checks `valid_data[i]`
//!   first and then indexes by row, and `utils.get_field_data_count` takes the row count
//!   from the value list's length. A compressed result would put values on the wrong
//!   rows. (pymilvus reads nullable dense vectors compressed, but Quiver's schemas forbid
//!   nullable vectors.)
//!
//! [`to_arrow`] and [`dynamic_to_arrow`] accept both: a value list as long as the number
//! of `true`s is compressed, one as long as the row count is aligned (the two coincide
//! when no row is null). Either way, a `false` in `valid_data` becomes a null in the
//! Arrow column's null bitmap. Vector columns are the exception: Quiver's schemas forbid
//! nullable vectors, so a vector column with a null row is refused rather than read in a
//! layout no field can have.
//!
//! Placeholders written by [`from_arrow`]: `false`, `0`, `""`, the JSON text `null`, and
//! an empty element list for arrays.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, FixedSizeBinaryArray, FixedSizeListArray, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, ListArray, StringArray,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer};
use arrow_schema::DataType as ArrowType;
use quiver_format::columns::{META_COLUMN, SparseParts, arrow_type};
use quiver_format::schema::{DataType, FieldSchema};
use quiver_proto::schema::{
    self as wire, ArrayArray, BoolArray, DoubleArray, FieldData, FloatArray, GeometryWktArray, IntArray, JsonArray, LongArray, ScalarField,
    SparseFloatArray, VectorField, field_data::Field, scalar_field::Data as Scalar, vector_field::Data as Vector,
};

use super::schema::data_type_to_wire;

/// Name of the column `count(*)` returns.
pub const COUNT_FIELD_NAME: &str = "count(*)";

/// Placeholder at a null row of a JSON result column: parses to `None` even for a reader
/// that ignores `valid_data`.
const JSON_NULL: &[u8] = b"null";

/// `half::f16` (Arrow's Float16 native type), without depending on `half` directly.
type F16 = <Float16Type as ArrowPrimitiveType>::Native;

// ---------------------------------------------------------------------------------------
// Wire -> Arrow (insert)
// ---------------------------------------------------------------------------------------

/// One inserted column, checked against its schema field, as an Arrow array of
/// `num_rows` rows with the type `arrow_type(field)`.
pub fn to_arrow(field: &FieldSchema, data: &FieldData, num_rows: usize) -> Result<ArrayRef, String> {
    let expected = data_type_to_wire(field.data_type);
    if data.r#type != expected {
        return Err(format!("field {}: expected {} data, got {}", field.name, field.data_type.name(), wire_type_name(data.r#type)));
    }
    if field.data_type.is_vector() {
        return vector_to_arrow(field, data, num_rows);
    }
    let scalar = match &data.field {
        Some(Field::Scalars(scalars)) => scalars.data.as_ref(),
        None => None,
        Some(Field::Vectors(_)) => {
            return Err(format!("field {}: {} data must be in scalars, got vectors", field.name, field.data_type.name()));
        }
        Some(Field::StructArrays(_)) => {
            return Err(format!("field {}: {} data must be in scalars, got struct_arrays", field.name, field.data_type.name()));
        }
    };
    let values = Values::of(&field.name, field.data_type, scalar)?;
    let slots = row_slots(&field.name, &data.valid_data, num_rows, values.len())?;
    if field.data_type == DataType::Array {
        return array_to_arrow(field, values, &slots);
    }
    scalar_to_arrow(&field.name, field.data_type, values, &slots)
}

/// The dynamic `$meta` column (JSON text per row, which the engine requires to be
/// objects) as a Utf8 array. A null row stays null: the engine reads it as `{}`.
pub fn dynamic_to_arrow(data: &FieldData, num_rows: usize) -> Result<ArrayRef, String> {
    let name = META_COLUMN;
    if data.r#type != wire::DataType::Json as i32 {
        return Err(format!("field {name}: expected JSON data, got {}", wire_type_name(data.r#type)));
    }
    let scalar = match &data.field {
        Some(Field::Scalars(scalars)) => scalars.data.as_ref(),
        None => None,
        Some(_) => return Err(format!("field {name}: JSON data must be in scalars")),
    };
    let values = Values::of(name, DataType::Json, scalar)?;
    let slots = row_slots(name, &data.valid_data, num_rows, values.len())?;
    scalar_to_arrow(name, DataType::Json, values, &slots)
}

/// A typed view of the value list a scalar `FieldData` carries.
#[derive(Clone, Copy)]
enum Values<'a> {
    Bool(&'a [bool]),
    Int(&'a [i32]),
    Long(&'a [i64]),
    Float(&'a [f32]),
    Double(&'a [f64]),
    Str(&'a [String]),
    Json(&'a [Vec<u8>]),
    Array(&'a [ScalarField]),
}

impl<'a> Values<'a> {
    /// The values of a `data_type` column; an unset oneof reads as an empty list.
    fn of(name: &str, data_type: DataType, scalar: Option<&'a Scalar>) -> Result<Values<'a>, String> {
        Ok(match (data_type, scalar) {
            (DataType::Bool, Some(Scalar::BoolData(a))) => Values::Bool(&a.data),
            (DataType::Int8 | DataType::Int16 | DataType::Int32, Some(Scalar::IntData(a))) => Values::Int(&a.data),
            (DataType::Int64, Some(Scalar::LongData(a))) => Values::Long(&a.data),
            (DataType::Float, Some(Scalar::FloatData(a))) => Values::Float(&a.data),
            (DataType::Double, Some(Scalar::DoubleData(a))) => Values::Double(&a.data),
            (DataType::VarChar, Some(Scalar::StringData(a))) => Values::Str(&a.data),
            (DataType::Geometry, Some(Scalar::GeometryWktData(a))) => Values::Str(&a.data),
            (DataType::Json, Some(Scalar::JsonData(a))) => Values::Json(&a.data),
            (DataType::Array, Some(Scalar::ArrayData(a))) => Values::Array(&a.data),
            (DataType::Bool, None) => Values::Bool(&[]),
            (DataType::Int8 | DataType::Int16 | DataType::Int32, None) => Values::Int(&[]),
            (DataType::Int64, None) => Values::Long(&[]),
            (DataType::Float, None) => Values::Float(&[]),
            (DataType::Double, None) => Values::Double(&[]),
            (DataType::VarChar | DataType::Geometry, None) => Values::Str(&[]),
            (DataType::Json, None) => Values::Json(&[]),
            (DataType::Array, None) => Values::Array(&[]),
            (_, Some(other)) => {
                return Err(format!(
                    "field {name}: {} data must be in {}, got {}",
                    data_type.name(),
                    slot_name(data_type),
                    scalar_slot_name(other)
                ));
            }
            (_, None) => return Err(format!("field {name}: {} is not a scalar type", data_type.name())),
        })
    }

    fn len(self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Long(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Double(v) => v.len(),
            Values::Str(v) => v.len(),
            Values::Json(v) => v.len(),
            Values::Array(v) => v.len(),
        }
    }
}

/// For each row, where its value sits in the wire value list (`None`: the row is null).
/// See the module doc for the compressed and aligned conventions.
fn row_slots(name: &str, valid: &[bool], num_rows: usize, values: usize) -> Result<Vec<Option<usize>>, String> {
    if valid.is_empty() {
        if values != num_rows {
            return Err(format!("field {name}: got {values} values for {num_rows} rows"));
        }
        return Ok((0..num_rows).map(Some).collect());
    }
    if valid.len() != num_rows {
        return Err(format!("field {name}: valid_data has {} entries for {num_rows} rows", valid.len()));
    }
    let present = valid.iter().filter(|valid| **valid).count();
    if values == present {
        let mut next = 0;
        Ok(valid
            .iter()
            .map(|&valid| {
                valid.then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect())
    } else if values == num_rows {
        Ok(valid.iter().enumerate().map(|(row, &valid)| valid.then_some(row)).collect())
    } else {
        Err(format!("field {name}: got {values} values for {present} non-null rows of {num_rows}"))
    }
}

/// Row values (`None`: null).
fn gather<T>(slots: &[Option<usize>], value: impl Fn(usize) -> T) -> Vec<Option<T>> {
    slots.iter().map(|slot| slot.map(&value)).collect()
}

/// A scalar column (`data_type` is the field's type, or an Array's element type).
fn scalar_to_arrow(name: &str, data_type: DataType, values: Values, slots: &[Option<usize>]) -> Result<ArrayRef, String> {
    Ok(match (data_type, values) {
        (DataType::Bool, Values::Bool(v)) => Arc::new(BooleanArray::from(gather(slots, |i| v[i]))),
        (DataType::Int8, Values::Int(v)) => {
            let v = narrow::<i8>(name, data_type, v)?;
            Arc::new(Int8Array::from(gather(slots, |i| v[i])))
        }
        (DataType::Int16, Values::Int(v)) => {
            let v = narrow::<i16>(name, data_type, v)?;
            Arc::new(Int16Array::from(gather(slots, |i| v[i])))
        }
        (DataType::Int32, Values::Int(v)) => Arc::new(Int32Array::from(gather(slots, |i| v[i]))),
        (DataType::Int64, Values::Long(v)) => Arc::new(Int64Array::from(gather(slots, |i| v[i]))),
        (DataType::Float, Values::Float(v)) => Arc::new(Float32Array::from(gather(slots, |i| v[i]))),
        (DataType::Double, Values::Double(v)) => Arc::new(Float64Array::from(gather(slots, |i| v[i]))),
        // Geometry WKT is checked and made canonical by the engine's row rules.
        (DataType::VarChar | DataType::Geometry, Values::Str(v)) => Arc::new(StringArray::from(gather(slots, |i| v[i].as_str()))),
        (DataType::Json, Values::Json(v)) => {
            let mut texts = Vec::with_capacity(slots.len());
            for (row, slot) in slots.iter().enumerate() {
                texts.push(match *slot {
                    Some(i) => Some(json_text(name, row, &v[i])?),
                    None => None,
                });
            }
            Arc::new(StringArray::from(texts))
        }
        (data_type, _) => unreachable!("Values::of returned a list that does not match {}", data_type.name()),
    })
}

/// An Array column: one wire `ScalarField` per row becomes one list entry.
fn array_to_arrow(field: &FieldSchema, values: Values, slots: &[Option<usize>]) -> Result<ArrayRef, String> {
    let name = &field.name;
    let Values::Array(cells) = values else { unreachable!("Values::of returns the Array variant for Array fields") };
    let ArrowType::List(item) = arrow_type(field) else { unreachable!("an Array field's Arrow type is a List") };
    let element = field.element_type.ok_or_else(|| format!("field {name}: the array field has no element type"))?;
    let mut flat = empty_scalar(element);
    let mut offsets = Vec::with_capacity(slots.len() + 1);
    offsets.push(0i32);
    let mut total = 0usize;
    for (row, slot) in slots.iter().enumerate() {
        if let Some(i) = *slot {
            let cell = Values::of(name, element, cells[i].data.as_ref()).map_err(|e| format!("{e} (array row {row})"))?;
            total += cell.len();
            append(&mut flat, cell);
        }
        offsets.push(i32::try_from(total).map_err(|_| format!("field {name}: too many array elements in one insert"))?);
    }
    let flat_values = Values::of(name, element, Some(&flat))?;
    let all: Vec<Option<usize>> = (0..flat_values.len()).map(Some).collect();
    let elements = scalar_to_arrow(name, element, flat_values, &all)?;
    let nulls = slots.iter().any(Option::is_none).then(|| NullBuffer::from(slots.iter().map(Option::is_some).collect::<Vec<bool>>()));
    let list = ListArray::try_new(item, OffsetBuffer::new(offsets.into()), elements, nulls).map_err(|e| format!("field {name}: {e}"))?;
    Ok(Arc::new(list))
}

/// A vector column. `vectors.dim` must equal the schema's dim and the data must hold
/// exactly `num_rows` vectors.
fn vector_to_arrow(field: &FieldSchema, data: &FieldData, num_rows: usize) -> Result<ArrayRef, String> {
    let name = &field.name;
    let type_name = field.data_type.name();
    if !data.valid_data.is_empty() && (data.valid_data.len() != num_rows || data.valid_data.iter().any(|valid| !valid)) {
        return Err(format!("field {name}: {type_name} fields cannot hold null rows"));
    }
    let vectors = match &data.field {
        Some(Field::Vectors(vectors)) => vectors,
        None if num_rows == 0 => return Ok(arrow_array::new_empty_array(&arrow_type(field))),
        _ => return Err(format!("field {name}: {type_name} data must be in vectors")),
    };
    if field.data_type == DataType::SparseFloatVector {
        return sparse_to_arrow(field, &vectors.data, num_rows);
    }
    let dim = field.dim().unwrap_or(0);
    // Milvus's checks, in its order and words: float data must split into whole rows of
    // the schema's dim, byte vectors must have the schema's dim per row.
    let width_of_rows = |bytes: usize| (bytes * 8).checked_div(num_rows).unwrap_or(0);
    match &vectors.data {
        Some(Vector::FloatVector(floats)) if dim > 0 && floats.data.len() % dim as usize != 0 => {
            return Err(format!("the length({}) of float data should divide the dim({dim}) of field data({name})", floats.data.len()));
        }
        Some(Vector::BinaryVector(bytes)) if field.data_type == DataType::BinaryVector && bytes.len() * 8 != num_rows * dim as usize => {
            return Err(format!("the dim ({}) of field data({name}) is not equal to schema dim ({dim})", width_of_rows(bytes.len())));
        }
        _ => {}
    }
    if vectors.dim != dim {
        return Err(format!("the dim ({}) of field data({name}) is not equal to schema dim ({dim})", vectors.dim));
    }
    let dim = dim as usize;
    let wrong_length =
        |got: usize, unit: &str| format!("the num_rows ({num_rows}) of field data({name}) does not match: got {got} {unit} for dim {dim}");
    match (field.data_type, &vectors.data) {
        (DataType::FloatVector, Some(Vector::FloatVector(floats))) => {
            if floats.data.len() != num_rows * dim {
                return Err(wrong_length(floats.data.len(), "values"));
            }
            let ArrowType::FixedSizeList(item, size) = arrow_type(field) else {
                unreachable!("a FloatVector's Arrow type is a FixedSizeList")
            };
            let values = Arc::new(Float32Array::from(floats.data.clone()));
            let list = FixedSizeListArray::try_new(item, size, values, None).map_err(|e| format!("field {name}: {e}"))?;
            Ok(Arc::new(list))
        }
        // pymilvus packs Python float lists for half-precision fields as float32 values.
        (DataType::Float16Vector | DataType::BFloat16Vector, Some(Vector::FloatVector(floats))) => {
            if floats.data.len() != num_rows * dim {
                return Err(wrong_length(floats.data.len(), "values"));
            }
            let narrow: fn(f32) -> u16 =
                if field.data_type == DataType::Float16Vector { |x: f32| F16::from_f32(x).to_bits() } else { f32_to_bf16_bits };
            let bytes: Vec<u8> = floats.data.iter().flat_map(|&x| narrow(x).to_le_bytes()).collect();
            fixed_size_binary(field, bytes, num_rows)
        }
        (DataType::Int8Vector, Some(Vector::Int8Vector(bytes))) => {
            if bytes.len() != num_rows * dim {
                return Err(wrong_length(bytes.len(), "bytes"));
            }
            let ArrowType::FixedSizeList(item, size) = arrow_type(field) else {
                unreachable!("an Int8Vector's Arrow type is a FixedSizeList")
            };
            let values = Arc::new(Int8Array::from(bytes.iter().map(|&b| b as i8).collect::<Vec<i8>>()));
            let list = FixedSizeListArray::try_new(item, size, values, None).map_err(|e| format!("field {name}: {e}"))?;
            Ok(Arc::new(list))
        }
        (DataType::BinaryVector, Some(Vector::BinaryVector(bytes)))
        | (DataType::Float16Vector, Some(Vector::Float16Vector(bytes)))
        | (DataType::BFloat16Vector, Some(Vector::Bfloat16Vector(bytes))) => {
            let ArrowType::FixedSizeBinary(width) = arrow_type(field) else {
                unreachable!("a byte vector's Arrow type is FixedSizeBinary")
            };
            if bytes.len() != num_rows * width as usize {
                return Err(wrong_length(bytes.len(), "bytes"));
            }
            fixed_size_binary(field, bytes.clone(), num_rows)
        }
        (_, None) if num_rows == 0 => Ok(arrow_array::new_empty_array(&arrow_type(field))),
        (data_type, other) => Err(format!(
            "field {name}: {} data must be in vectors.{}, got {}",
            data_type.name(),
            slot_name(data_type),
            other.as_ref().map_or("nothing", vector_slot_name)
        )),
    }
}

/// A sparse column: one wire row is little-endian `(u32 index, f32 value)` pairs. Only
/// the layout is checked here; the value rules are the engine's.
fn sparse_to_arrow(field: &FieldSchema, data: &Option<Vector>, num_rows: usize) -> Result<ArrayRef, String> {
    let name = &field.name;
    let rows = match data {
        Some(Vector::SparseFloatVector(sparse)) => &sparse.contents,
        None if num_rows == 0 => return Ok(arrow_array::new_empty_array(&arrow_type(field))),
        other => {
            return Err(format!(
                "field {name}: SparseFloatVector data must be in vectors.sparse_float_vector, got {}",
                other.as_ref().map_or("nothing", vector_slot_name)
            ));
        }
    };
    if rows.len() != num_rows {
        return Err(format!("the num_rows ({num_rows}) of field data({name}) does not match: got {} sparse rows", rows.len()));
    }
    if let Some(row) = rows.iter().find(|row| row.len() % SPARSE_PAIR_BYTES != 0) {
        return Err(format!("invalid data length in sparse float vector: {}", row.len()));
    }
    Ok(quiver_format::columns::sparse_column(rows.iter().map(|row| row.chunks_exact(SPARSE_PAIR_BYTES).map(sparse_pair))))
}

/// Bytes of one `(u32 index, f32 value)` pair of a sparse row on the wire.
const SPARSE_PAIR_BYTES: usize = 8;

fn sparse_pair(bytes: &[u8]) -> (u32, f32) {
    let (index, value) = bytes.split_at(4);
    (u32::from_le_bytes(index.try_into().expect("4 bytes")), f32::from_le_bytes(value.try_into().expect("4 bytes")))
}

/// The wire form of sparse rows: each row's pairs as bytes, `dim` the largest index + 1.
pub fn sparse_to_wire(parts: &SparseParts) -> SparseFloatArray {
    let contents = parts
        .offsets
        .windows(2)
        .map(|w| {
            let range = w[0] as usize..w[1] as usize;
            parts.indices[range.clone()]
                .iter()
                .zip(&parts.values[range])
                .flat_map(|(index, value)| index.to_le_bytes().into_iter().chain(value.to_le_bytes()))
                .collect()
        })
        .collect();
    let (start, end) = (parts.offsets[0] as usize, *parts.offsets.last().expect("list offsets") as usize);
    let dim = parts.indices[start..end].iter().max().map_or(0, |&i| i as i64 + 1);
    SparseFloatArray { contents, dim }
}

/// Sparse query rows from the wire (a search's placeholder values), in CSR form.
pub fn sparse_rows_from_wire(rows: &[Vec<u8>]) -> Result<quiver_engine::QueryVectors, String> {
    let mut offsets = vec![0i32];
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    for row in rows {
        if row.len() % SPARSE_PAIR_BYTES != 0 {
            return Err(format!("invalid data length in sparse float vector: {}", row.len()));
        }
        for (index, value) in row.chunks_exact(SPARSE_PAIR_BYTES).map(sparse_pair) {
            indices.push(index);
            values.push(value);
        }
        offsets.push(i32::try_from(indices.len()).map_err(|_| "too many sparse query values".to_string())?);
    }
    Ok(quiver_engine::QueryVectors::Sparse { offsets, indices, values })
}

fn fixed_size_binary(field: &FieldSchema, bytes: Vec<u8>, num_rows: usize) -> Result<ArrayRef, String> {
    let ArrowType::FixedSizeBinary(width) = arrow_type(field) else { unreachable!("a byte vector's Arrow type is FixedSizeBinary") };
    let array = FixedSizeBinaryArray::try_new_with_len(width, Buffer::from(bytes), None, num_rows)
        .map_err(|e| format!("field {}: {e}", field.name))?;
    Ok(Arc::new(array))
}

/// Round to nearest even, as `half::bf16::from_f32` does.
fn f32_to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if bits & 0x7FFF_FFFF > 0x7F80_0000 {
        return ((bits >> 16) | 0x0040) as u16; // quiet NaN, sign kept
    }
    let round_bit = 0x0000_8000;
    if bits & round_bit != 0 && bits & (3 * round_bit - 1) != 0 { ((bits >> 16) + 1) as u16 } else { (bits >> 16) as u16 }
}

/// Int8/Int16 values arrive widened to int32.
fn narrow<T: TryFrom<i32>>(name: &str, data_type: DataType, values: &[i32]) -> Result<Vec<T>, String> {
    values
        .iter()
        .map(|&v| T::try_from(v).map_err(|_| format!("field {name}: value {v} is out of range for {}", data_type.name())))
        .collect()
}

/// JSON text of one row: UTF-8 (the engine parses it).
fn json_text<'a>(name: &str, row: usize, bytes: &'a [u8]) -> Result<&'a str, String> {
    std::str::from_utf8(bytes).map_err(|_| format!("field {name}: the JSON in row {row} is not valid UTF-8"))
}

/// An empty value list of an Array's element type.
fn empty_scalar(element: DataType) -> Scalar {
    match element {
        DataType::Bool => Scalar::BoolData(BoolArray::default()),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => Scalar::IntData(IntArray::default()),
        DataType::Int64 => Scalar::LongData(LongArray::default()),
        DataType::Float => Scalar::FloatData(FloatArray::default()),
        DataType::Double => Scalar::DoubleData(DoubleArray::default()),
        DataType::VarChar => Scalar::StringData(wire::StringArray::default()),
        other => unreachable!("{} is not an array element type", other.name()),
    }
}

/// Appends `values` to `flat`, a list of the same element type.
fn append(flat: &mut Scalar, values: Values) {
    match (flat, values) {
        (Scalar::BoolData(a), Values::Bool(v)) => a.data.extend_from_slice(v),
        (Scalar::IntData(a), Values::Int(v)) => a.data.extend_from_slice(v),
        (Scalar::LongData(a), Values::Long(v)) => a.data.extend_from_slice(v),
        (Scalar::FloatData(a), Values::Float(v)) => a.data.extend_from_slice(v),
        (Scalar::DoubleData(a), Values::Double(v)) => a.data.extend_from_slice(v),
        (Scalar::StringData(a), Values::Str(v)) => a.data.extend_from_slice(v),
        _ => unreachable!("array elements of one field share one type"),
    }
}

/// The wire slot a type's values go in (`long_data`, `float_vector`, …).
fn slot_name(data_type: DataType) -> &'static str {
    match data_type {
        DataType::Bool => "bool_data",
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "int_data",
        DataType::Int64 => "long_data",
        DataType::Float => "float_data",
        DataType::Double => "double_data",
        DataType::VarChar => "string_data",
        DataType::Json => "json_data",
        DataType::Geometry => "geometry_wkt_data",
        DataType::Array => "array_data",
        DataType::FloatVector => "float_vector",
        DataType::BinaryVector => "binary_vector",
        DataType::Float16Vector => "float16_vector",
        DataType::BFloat16Vector => "bfloat16_vector",
        DataType::SparseFloatVector => "sparse_float_vector",
        DataType::Int8Vector => "int8_vector",
    }
}

fn scalar_slot_name(scalar: &Scalar) -> &'static str {
    match scalar {
        Scalar::BoolData(_) => "bool_data",
        Scalar::IntData(_) => "int_data",
        Scalar::LongData(_) => "long_data",
        Scalar::FloatData(_) => "float_data",
        Scalar::DoubleData(_) => "double_data",
        Scalar::StringData(_) => "string_data",
        Scalar::BytesData(_) => "bytes_data",
        Scalar::ArrayData(_) => "array_data",
        Scalar::JsonData(_) => "json_data",
        Scalar::GeometryData(_) => "geometry_data",
        Scalar::GeometryWktData(_) => "geometry_wkt_data",
        _ => "an unsupported slot",
    }
}

fn vector_slot_name(vector: &Vector) -> &'static str {
    match vector {
        Vector::FloatVector(_) => "float_vector",
        Vector::BinaryVector(_) => "binary_vector",
        Vector::Float16Vector(_) => "float16_vector",
        Vector::Bfloat16Vector(_) => "bfloat16_vector",
        Vector::SparseFloatVector(_) => "sparse_float_vector",
        Vector::Int8Vector(_) => "int8_vector",
        Vector::VectorArray(_) => "vector_array",
    }
}

/// A wire type code's name, for messages (`Int64`, `JSON`, …).
fn wire_type_name(code: i32) -> String {
    wire::DataType::try_from(code).map_or_else(|_| format!("unknown type {code}"), |t| t.as_str_name().to_string())
}

// ---------------------------------------------------------------------------------------
// Arrow -> wire (query and search results)
// ---------------------------------------------------------------------------------------

/// One result column: values aligned with rows (placeholders at nulls), `valid_data` for
/// nullable fields, vectors with their `dim`.
///
/// # Panics
/// If `array` does not have the layout of `arrow_type(field)`: the engine only hands out
/// columns in that layout.
pub fn from_arrow(field: &FieldSchema, array: &ArrayRef) -> FieldData {
    let valid_data =
        if field.nullable || array.null_count() > 0 { (0..array.len()).map(|row| array.is_valid(row)).collect() } else { Vec::new() };
    let data = match field.data_type {
        DataType::FloatVector => {
            let list = array.as_fixed_size_list();
            let dim = list.value_length() as usize;
            let values = list.values().slice(list.value_offset_at(0), list.len() * dim);
            let floats = values.as_primitive::<Float32Type>().iter().map(Option::unwrap_or_default).collect();
            Field::Vectors(VectorField { dim: dim as i64, data: Some(Vector::FloatVector(FloatArray { data: floats })) })
        }
        DataType::Int8Vector => {
            let list = array.as_fixed_size_list();
            let dim = list.value_length() as usize;
            let values = list.values().slice(list.value_offset_at(0), list.len() * dim);
            let bytes = values.as_primitive::<Int8Type>().values().iter().map(|&v| v as u8).collect();
            Field::Vectors(VectorField { dim: dim as i64, data: Some(Vector::Int8Vector(bytes)) })
        }
        DataType::SparseFloatVector => {
            let parts = quiver_format::columns::sparse_parts(array.as_ref()).expect("a sparse column in the sparse layout");
            let sparse = sparse_to_wire(&parts);
            Field::Vectors(VectorField { dim: sparse.dim, data: Some(Vector::SparseFloatVector(sparse)) })
        }
        DataType::BinaryVector | DataType::Float16Vector | DataType::BFloat16Vector => {
            let binary = array.as_fixed_size_binary();
            let width = binary.value_length() as usize;
            let mut bytes = Vec::with_capacity(binary.len() * width);
            (0..binary.len()).for_each(|row| bytes.extend_from_slice(binary.value(row)));
            let (dim, data) = match field.data_type {
                DataType::BinaryVector => (width * 8, Vector::BinaryVector(bytes)),
                DataType::Float16Vector => (width / 2, Vector::Float16Vector(bytes)),
                _ => (width / 2, Vector::Bfloat16Vector(bytes)),
            };
            Field::Vectors(VectorField { dim: dim as i64, data: Some(data) })
        }
        DataType::Array => {
            let element = field.element_type.expect("an Array field has an element type");
            let list = array.as_list::<i32>();
            let cells = (0..list.len())
                .map(|row| ScalarField {
                    data: Some(if list.is_valid(row) { scalar_from_arrow(element, &list.value(row)) } else { empty_scalar(element) }),
                })
                .collect();
            let data = ArrayArray { data: cells, element_type: data_type_to_wire(element) };
            Field::Scalars(ScalarField { data: Some(Scalar::ArrayData(data)) })
        }
        scalar => Field::Scalars(ScalarField { data: Some(scalar_from_arrow(scalar, array)) }),
    };
    FieldData {
        r#type: data_type_to_wire(field.data_type),
        field_name: field.name.clone(),
        field_id: field.id.0,
        is_dynamic: false,
        valid_data,
        field: Some(data),
    }
}

/// The `$meta` result column: JSON text per row, `is_dynamic` set. A null row (which the
/// engine should not produce) becomes `{}`.
pub fn dynamic_from_arrow(array: &ArrayRef) -> FieldData {
    let rows = array.as_string::<i32>().iter().map(|text| text.unwrap_or("{}").as_bytes().to_vec()).collect();
    FieldData {
        r#type: wire::DataType::Json as i32,
        field_name: META_COLUMN.to_string(),
        field_id: 0,
        is_dynamic: true,
        valid_data: Vec::new(),
        field: Some(Field::Scalars(ScalarField { data: Some(Scalar::JsonData(JsonArray { data: rows })) })),
    }
}

/// The single-value Int64 column a `count(*)` query returns.
pub fn count_field(count: u64) -> FieldData {
    FieldData {
        r#type: wire::DataType::Int64 as i32,
        field_name: COUNT_FIELD_NAME.to_string(),
        field_id: 0,
        is_dynamic: false,
        valid_data: Vec::new(),
        field: Some(Field::Scalars(ScalarField { data: Some(Scalar::LongData(LongArray { data: vec![count as i64] })) })),
    }
}

/// The wire value list of a scalar column, with placeholders at null rows.
fn scalar_from_arrow(data_type: DataType, array: &ArrayRef) -> Scalar {
    match data_type {
        DataType::Bool => Scalar::BoolData(BoolArray { data: array.as_boolean().iter().map(Option::unwrap_or_default).collect() }),
        DataType::Int8 => {
            Scalar::IntData(IntArray { data: array.as_primitive::<Int8Type>().iter().map(|v| v.unwrap_or_default().into()).collect() })
        }
        DataType::Int16 => {
            Scalar::IntData(IntArray { data: array.as_primitive::<Int16Type>().iter().map(|v| v.unwrap_or_default().into()).collect() })
        }
        DataType::Int32 => {
            Scalar::IntData(IntArray { data: array.as_primitive::<Int32Type>().iter().map(Option::unwrap_or_default).collect() })
        }
        DataType::Int64 => {
            Scalar::LongData(LongArray { data: array.as_primitive::<Int64Type>().iter().map(Option::unwrap_or_default).collect() })
        }
        DataType::Float => {
            Scalar::FloatData(FloatArray { data: array.as_primitive::<Float32Type>().iter().map(Option::unwrap_or_default).collect() })
        }
        DataType::Double => {
            Scalar::DoubleData(DoubleArray { data: array.as_primitive::<Float64Type>().iter().map(Option::unwrap_or_default).collect() })
        }
        DataType::VarChar => Scalar::StringData(wire::StringArray {
            data: array.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect(),
        }),
        DataType::Json => Scalar::JsonData(JsonArray {
            data: array.as_string::<i32>().iter().map(|s| s.map_or(JSON_NULL, str::as_bytes).to_vec()).collect(),
        }),
        DataType::Geometry => Scalar::GeometryWktData(GeometryWktArray {
            data: array.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect(),
        }),
        other => unreachable!("{} is not a scalar type", other.name()),
    }
}

#[cfg(test)]
#[path = "field_data/tests.rs"]
mod tests;
