//! Entities as Milvus's REST carries them (one JSON object per row) <-> the column-wise
//! `FieldData` of the gRPC messages.
//!
//! Inserted rows become one `FieldData` per schema field in the layout pymilvus sends
//! (see `convert::field_data`): a null or missing scalar is a `false` in `valid_data` and
//! no entry in the value list. Keys outside the schema go to the dynamic `$meta` column;
//! whether the collection allows them is the gRPC path's decision. Only the shape is
//! checked here (a number where a number belongs, a vector of `dim` values); the value
//! rules (nullability, defaults, lengths) are the engine's.
//!
//! Result columns (values aligned with rows) become row objects: `null` for null cells,
//! JSON fields as JSON values, the keys of `$meta` spread into the row.

use super::int64;
use super::schema::{is_vector, type_param};
use quiver_format::columns::{bf16_to_f32, f16_to_f32};
use quiver_proto::schema::field_data::Field;
use quiver_proto::schema::scalar_field::Data as Scalar;
use quiver_proto::schema::vector_field::Data as Vector;
use quiver_proto::schema::{
    ArrayArray, BoolArray, CollectionSchema, DataType, DoubleArray, FieldData, FieldSchema, FloatArray, GeometryWktArray, IntArray,
    JsonArray, LongArray, ScalarField, SparseFloatArray, StringArray, VectorField,
};
use serde_json::{Map, Value};

/// Name of the dynamic column on the wire.
const DYNAMIC_FIELD: &str = "$meta";

/// Which write the rows are for: an insert leaves out an auto-id primary key (the server
/// assigns it), an upsert carries it.
#[derive(Clone, Copy, PartialEq)]
pub enum Write {
    Insert,
    Upsert,
}

/// The columns of `rows` for a write into a collection of `schema`.
pub fn columns(schema: &CollectionSchema, rows: &[Map<String, Value>], write: Write) -> Result<Vec<FieldData>, String> {
    let mut columns = Vec::new();
    for field in &schema.fields {
        if field.is_function_output || (write == Write::Insert && field.is_primary_key && field.auto_id) {
            continue;
        }
        let cells: Vec<Option<&Value>> = rows.iter().map(|row| row.get(&field.name).filter(|v| !v.is_null())).collect();
        columns.push(column(field, &cells)?);
    }
    let extra: Vec<Map<String, Value>> = rows
        .iter()
        .map(|row| {
            row.iter().filter(|(key, _)| !schema.fields.iter().any(|f| &f.name == *key)).map(|(k, v)| (k.clone(), v.clone())).collect()
        })
        .collect();
    if extra.iter().any(|keys| !keys.is_empty()) {
        let data = extra.into_iter().map(|keys| Value::Object(keys).to_string().into_bytes()).collect();
        columns.push(FieldData {
            r#type: DataType::Json as i32,
            field_name: DYNAMIC_FIELD.to_string(),
            is_dynamic: true,
            field: Some(Field::Scalars(ScalarField { data: Some(Scalar::JsonData(JsonArray { data })) })),
            ..Default::default()
        });
    }
    Ok(columns)
}

fn data_type(field: &FieldSchema) -> DataType {
    DataType::try_from(field.data_type).unwrap_or(DataType::None)
}

fn column(field: &FieldSchema, cells: &[Option<&Value>]) -> Result<FieldData, String> {
    let kind = data_type(field);
    let name = &field.name;
    let data = if is_vector(field.data_type) {
        let rows = cells
            .iter()
            .enumerate()
            .map(|(row, cell)| cell.ok_or_else(|| format!("row {row} has no value for vector field {name}")))
            .collect::<Result<Vec<_>, _>>()?;
        Field::Vectors(vectors(field, kind, &rows)?)
    } else {
        let present: Vec<(usize, &Value)> = cells.iter().enumerate().filter_map(|(row, cell)| cell.map(|v| (row, v))).collect();
        Field::Scalars(ScalarField { data: Some(scalars(name, kind, field.element_type, &present)?) })
    };
    // `valid_data` only when a row is null, so a column without nulls reads the same
    // whether or not the field is nullable.
    let valid_data = if cells.iter().any(Option::is_none) { cells.iter().map(Option::is_some).collect() } else { Vec::new() };
    Ok(FieldData { r#type: field.data_type, field_name: name.clone(), field: Some(data), valid_data, ..Default::default() })
}

fn number_list<'a>(name: &str, row: usize, value: &'a Value) -> Result<&'a Vec<Value>, String> {
    value.as_array().ok_or_else(|| format!("row {row}: field {name} must be a list of numbers, got {value}"))
}

/// One sparse row from JSON: `{"index": value, ...}` or `{"indices": [...], "values": [...]}`,
/// as wire bytes (`(u32 index, f32 value)` pairs by index; the engine checks Milvus's rules).
fn sparse_row(name: &str, row: usize, value: &Value) -> Result<Vec<u8>, String> {
    let wrong = || format!("row {row}: field {name} must be an object of index: value pairs, got {value}");
    let object = value.as_object().ok_or_else(wrong)?;
    let mut pairs: Vec<(u32, f32)> = match (object.get("indices"), object.get("values")) {
        (Some(Value::Array(indices)), Some(Value::Array(values))) if indices.len() == values.len() => indices
            .iter()
            .zip(values)
            .map(|(i, v)| Some((u32::try_from(i.as_u64()?).ok()?, v.as_f64()? as f32)))
            .collect::<Option<_>>()
            .ok_or_else(wrong)?,
        _ => object.iter().map(|(i, v)| Some((i.trim().parse().ok()?, v.as_f64()? as f32))).collect::<Option<_>>().ok_or_else(wrong)?,
    };
    pairs.sort_by_key(|p| p.0);
    Ok(pairs.iter().flat_map(|(i, v)| i.to_le_bytes().into_iter().chain(v.to_le_bytes())).collect())
}

fn vectors(field: &FieldSchema, kind: DataType, rows: &[&Value]) -> Result<VectorField, String> {
    let name = &field.name;
    if kind == DataType::SparseFloatVector {
        let contents = rows.iter().enumerate().map(|(row, value)| sparse_row(name, row, value)).collect::<Result<Vec<_>, _>>()?;
        return Ok(VectorField { dim: 0, data: Some(Vector::SparseFloatVector(SparseFloatArray { contents, dim: 0 })) });
    }
    let dim = type_param(field, "dim").ok_or_else(|| format!("vector field {name} has no dim"))?;
    let data = match kind {
        DataType::FloatVector => {
            let mut floats = Vec::with_capacity(rows.len() * dim);
            for (row, value) in rows.iter().enumerate() {
                let values = number_list(name, row, value)?;
                if values.len() != dim {
                    return Err(format!("row {row}: field {name} has {} values, its dim is {dim}", values.len()));
                }
                for v in values {
                    floats.push(v.as_f64().ok_or_else(|| format!("row {row}: field {name} holds {v}, not a number"))? as f32);
                }
            }
            Vector::FloatVector(FloatArray { data: floats })
        }
        DataType::BinaryVector => {
            let mut bytes = Vec::with_capacity(rows.len() * dim / 8);
            for (row, value) in rows.iter().enumerate() {
                let values = number_list(name, row, value)?;
                if values.len() * 8 != dim {
                    return Err(format!("row {row}: field {name} has {} bytes, its dim {dim} needs {}", values.len(), dim / 8));
                }
                for v in values {
                    bytes.push(
                        v.as_u64()
                            .and_then(|b| u8::try_from(b).ok())
                            .ok_or_else(|| format!("row {row}: field {name} holds {v}, not a byte"))?,
                    );
                }
            }
            Vector::BinaryVector(bytes)
        }
        DataType::Int8Vector => {
            let mut bytes = Vec::with_capacity(rows.len() * dim);
            for (row, value) in rows.iter().enumerate() {
                let values = number_list(name, row, value)?;
                if values.len() != dim {
                    return Err(format!("row {row}: field {name} has {} values, its dim is {dim}", values.len()));
                }
                for v in values {
                    let byte = v.as_i64().and_then(|b| i8::try_from(b).ok());
                    bytes.push(byte.ok_or_else(|| format!("row {row}: field {name} holds {v}, not an int8"))? as u8);
                }
            }
            Vector::Int8Vector(bytes)
        }
        other => return Err(format!("inserting {} values over REST is not supported by Quiver; use the gRPC API", other.as_str_name())),
    };
    Ok(VectorField { dim: dim as i64, data: Some(data) })
}

/// The value list of a scalar column from its present cells (`(row, value)`).
fn scalars(name: &str, kind: DataType, element: i32, cells: &[(usize, &Value)]) -> Result<Scalar, String> {
    let wrong = |row: usize, value: &Value, what: &str| format!("row {row}: field {name} holds {value}, not {what}");
    Ok(match kind {
        DataType::Bool => Scalar::BoolData(BoolArray {
            data: cells.iter().map(|(row, v)| v.as_bool().ok_or_else(|| wrong(*row, v, "a boolean"))).collect::<Result<_, _>>()?,
        }),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => Scalar::IntData(IntArray {
            data: cells
                .iter()
                .map(|(row, v)| v.as_i64().and_then(|i| i32::try_from(i).ok()).ok_or_else(|| wrong(*row, v, "a 32-bit integer")))
                .collect::<Result<_, _>>()?,
        }),
        DataType::Int64 => Scalar::LongData(LongArray {
            // Clients that cannot hold 64-bit numbers send them as text.
            data: cells
                .iter()
                .map(|(row, v)| {
                    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).ok_or_else(|| wrong(*row, v, "an integer"))
                })
                .collect::<Result<_, _>>()?,
        }),
        DataType::Float => Scalar::FloatData(FloatArray {
            data: cells
                .iter()
                .map(|(row, v)| v.as_f64().map(|f| f as f32).ok_or_else(|| wrong(*row, v, "a number")))
                .collect::<Result<_, _>>()?,
        }),
        DataType::Double => Scalar::DoubleData(DoubleArray {
            data: cells.iter().map(|(row, v)| v.as_f64().ok_or_else(|| wrong(*row, v, "a number"))).collect::<Result<_, _>>()?,
        }),
        DataType::VarChar | DataType::String => Scalar::StringData(StringArray {
            data: cells
                .iter()
                .map(|(row, v)| v.as_str().map(str::to_string).ok_or_else(|| wrong(*row, v, "a string")))
                .collect::<Result<_, _>>()?,
        }),
        DataType::Json => Scalar::JsonData(JsonArray { data: cells.iter().map(|(_, v)| v.to_string().into_bytes()).collect() }),
        DataType::Geometry => Scalar::GeometryWktData(GeometryWktArray {
            data: cells
                .iter()
                .map(|(row, v)| v.as_str().map(str::to_string).ok_or_else(|| wrong(*row, v, "a WKT string")))
                .collect::<Result<_, _>>()?,
        }),
        DataType::Array => {
            let element_kind = DataType::try_from(element).unwrap_or(DataType::None);
            let mut data = Vec::with_capacity(cells.len());
            for (row, value) in cells {
                let items = value.as_array().ok_or_else(|| wrong(*row, value, "a list"))?;
                let items: Vec<(usize, &Value)> = items.iter().map(|item| (*row, item)).collect();
                data.push(ScalarField { data: Some(scalars(name, element_kind, 0, &items)?) });
            }
            Scalar::ArrayData(ArrayArray { data, element_type: element })
        }
        other => return Err(format!("field {name}: {} values are not supported over REST", other.as_str_name())),
    })
}

/// A float32 as JSON with its shortest text (0.1, not 0.10000000149011612).
pub fn float32(value: f32) -> Value {
    value.to_string().parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)).unwrap_or(Value::Null)
}

/// How many values a scalar value list holds.
fn scalar_len(data: &Scalar) -> usize {
    match data {
        Scalar::BoolData(v) => v.data.len(),
        Scalar::IntData(v) => v.data.len(),
        Scalar::LongData(v) => v.data.len(),
        Scalar::FloatData(v) => v.data.len(),
        Scalar::DoubleData(v) => v.data.len(),
        Scalar::StringData(v) => v.data.len(),
        Scalar::JsonData(v) => v.data.len(),
        Scalar::GeometryWktData(v) => v.data.len(),
        Scalar::ArrayData(v) => v.data.len(),
        _ => 0,
    }
}

/// How many rows a result column holds.
pub fn row_count(column: &FieldData) -> usize {
    match &column.field {
        Some(Field::Scalars(scalar)) => scalar.data.as_ref().map_or(0, scalar_len),
        Some(Field::Vectors(vectors)) => {
            let dim = vectors.dim.max(1) as usize;
            match &vectors.data {
                Some(Vector::FloatVector(v)) => v.data.len() / dim,
                Some(Vector::BinaryVector(v)) => v.len() / dim.div_ceil(8),
                Some(Vector::Float16Vector(v)) | Some(Vector::Bfloat16Vector(v)) => v.len() / (dim * 2),
                Some(Vector::Int8Vector(v)) => v.len() / dim,
                Some(Vector::SparseFloatVector(v)) => v.contents.len(),
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// Row `row` of a result column.
fn cell(column: &FieldData, row: usize, int64_as_text: bool) -> Value {
    if column.valid_data.get(row) == Some(&false) {
        return Value::Null;
    }
    match &column.field {
        Some(Field::Scalars(scalar)) => scalar.data.as_ref().map_or(Value::Null, |data| scalar_cell(data, row, int64_as_text)),
        Some(Field::Vectors(vectors)) => {
            let dim = vectors.dim.max(0) as usize;
            match &vectors.data {
                Some(Vector::FloatVector(v)) => v.data[row * dim..(row + 1) * dim].iter().map(|f| float32(*f)).collect(),
                Some(Vector::BinaryVector(v)) => {
                    let width = dim.div_ceil(8);
                    v[row * width..(row + 1) * width].iter().map(|b| Value::from(*b)).collect()
                }
                Some(Vector::Float16Vector(v)) => halves(&v[row * dim * 2..(row + 1) * dim * 2], f16_to_f32),
                Some(Vector::Bfloat16Vector(v)) => halves(&v[row * dim * 2..(row + 1) * dim * 2], bf16_to_f32),
                Some(Vector::Int8Vector(v)) => v[row * dim..(row + 1) * dim].iter().map(|b| Value::from(*b as i8)).collect(),
                // As Milvus's REST API shows a sparse row: index -> value.
                Some(Vector::SparseFloatVector(v)) => Value::Object(
                    v.contents[row]
                        .chunks_exact(8)
                        .map(|pair| {
                            let index = u32::from_le_bytes(pair[..4].try_into().expect("4 bytes"));
                            (index.to_string(), float32(f32::from_le_bytes(pair[4..].try_into().expect("4 bytes"))))
                        })
                        .collect(),
                ),
                _ => Value::Null,
            }
        }
        _ => Value::Null,
    }
}

fn halves(bytes: &[u8], to_f32: fn(u16) -> f32) -> Value {
    bytes.chunks_exact(2).map(|c| float32(to_f32(u16::from_le_bytes([c[0], c[1]])))).collect()
}

fn scalar_cell(data: &Scalar, row: usize, int64_as_text: bool) -> Value {
    match data {
        Scalar::BoolData(v) => Value::from(v.data[row]),
        Scalar::IntData(v) => Value::from(v.data[row]),
        Scalar::LongData(v) => int64(v.data[row], int64_as_text),
        Scalar::FloatData(v) => float32(v.data[row]),
        Scalar::DoubleData(v) => Value::from(v.data[row]),
        Scalar::StringData(v) => Value::from(v.data[row].clone()),
        Scalar::GeometryWktData(v) => Value::from(v.data[row].clone()),
        Scalar::JsonData(v) => {
            serde_json::from_slice(&v.data[row]).unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&v.data[row]).into_owned()))
        }
        Scalar::ArrayData(v) => v.data[row]
            .data
            .as_ref()
            .map_or(Value::Null, |items| (0..scalar_len(items)).map(|i| scalar_cell(items, i, int64_as_text)).collect()),
        _ => Value::Null,
    }
}

/// The row objects of result columns. `output_fields` says which keys of `$meta` a row
/// shows: all of them when it names `*` or `$meta`, else the ones it names.
pub fn rows(columns: &[FieldData], output_fields: &[String], int64_as_text: bool) -> Vec<Map<String, Value>> {
    let count = columns.iter().map(row_count).max().unwrap_or(0);
    let all_dynamic = output_fields.iter().any(|f| f == "*" || f == DYNAMIC_FIELD);
    (0..count)
        .map(|row| {
            let mut out = Map::new();
            for column in columns {
                if !column.is_dynamic {
                    out.insert(column.field_name.clone(), cell(column, row, int64_as_text));
                    continue;
                }
                if let Value::Object(keys) = cell(column, row, int64_as_text) {
                    for (key, value) in keys {
                        if all_dynamic || output_fields.contains(&key) {
                            out.insert(key, value);
                        }
                    }
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_proto::common::KeyValuePair;
    use serde_json::json;

    fn field(name: &str, kind: DataType, params: &[(&str, &str)]) -> FieldSchema {
        FieldSchema {
            name: name.to_string(),
            data_type: kind as i32,
            type_params: params.iter().map(|(k, v)| KeyValuePair { key: k.to_string(), value: v.to_string() }).collect(),
            ..Default::default()
        }
    }

    fn schema() -> CollectionSchema {
        let mut pk = field("pk", DataType::Int64, &[]);
        pk.is_primary_key = true;
        pk.auto_id = true;
        let mut tags = field("tags", DataType::Array, &[("max_capacity", "4")]);
        tags.element_type = DataType::VarChar as i32;
        CollectionSchema {
            fields: vec![pk, field("v", DataType::FloatVector, &[("dim", "2")]), field("n", DataType::Int32, &[]), tags],
            enable_dynamic_field: true,
            ..Default::default()
        }
    }

    fn objects(value: Value) -> Vec<Map<String, Value>> {
        value.as_array().unwrap().iter().map(|v| v.as_object().unwrap().clone()).collect()
    }

    #[test]
    fn rows_become_columns_with_nulls_compressed_and_extra_keys_dynamic() {
        let rows = objects(json!([
            {"pk": 9, "v": [0.5, 1], "n": 1, "tags": ["a"], "color": "red"},
            {"v": [2, 3], "n": null, "tags": []}
        ]));
        let columns = columns(&schema(), &rows, Write::Insert).unwrap();
        let names: Vec<&str> = columns.iter().map(|c| c.field_name.as_str()).collect();
        assert_eq!(names, ["v", "n", "tags", "$meta"], "an insert leaves the auto id out");
        assert_eq!(columns[1].valid_data, [true, false]);
        assert_eq!(row_count(&columns[1]), 1, "the null row has no entry");
        assert_eq!(row_count(&columns[0]), 2);
        let back = super::rows(&columns, &["*".to_string()], false);
        assert_eq!(Value::Object(back[0].clone()), json!({"v": [0.5, 1.0], "n": 1, "tags": ["a"], "color": "red"}));
        let upsert = super::columns(&schema(), &rows[..1], Write::Upsert).unwrap();
        assert_eq!(upsert[0].field_name, "pk");
    }

    #[test]
    fn misshapen_rows_name_the_field_and_row() {
        let error = columns(&schema(), &objects(json!([{"v": [1, 2, 3], "n": 1, "tags": []}])), Write::Insert).unwrap_err();
        assert!(error.contains("row 0") && error.contains("dim is 2"), "{error}");
        let error = columns(&schema(), &objects(json!([{"v": [1, 2], "n": "x", "tags": []}])), Write::Insert).unwrap_err();
        assert!(error.contains("field n"), "{error}");
        let error = columns(&schema(), &objects(json!([{"n": 1, "tags": []}])), Write::Insert).unwrap_err();
        assert!(error.contains("vector field v"), "{error}");
    }

    #[test]
    fn int64_cells_follow_the_client_s_wish_and_floats_read_short() {
        let column = FieldData {
            r#type: DataType::Int64 as i32,
            field_name: "pk".into(),
            field: Some(Field::Scalars(ScalarField { data: Some(Scalar::LongData(LongArray { data: vec![1 << 60] })) })),
            ..Default::default()
        };
        assert_eq!(super::rows(std::slice::from_ref(&column), &[], true)[0]["pk"], json!((1i64 << 60).to_string()));
        assert_eq!(super::rows(&[column], &[], false)[0]["pk"], json!(1i64 << 60));
        assert_eq!(float32(0.1), json!(0.1));
    }
}
