//! A snapshot's visible rows: delete logs applied per segment, system columns dropped,
//! and the two output shapes of `export` (Arrow batches for Parquet, JSON objects for
//! JSON lines).
//!
//! Visibility (`docs/FORMAT.md`): a row `(pk, t)` of a segment is visible at the
//! snapshot's `create_ts` when `t <= create_ts` and no delete of `pk` in that segment's
//! delete logs has `t < d <= create_ts`. Only the latest such `d` per key matters, so
//! [`SegmentDeletes`] keeps one timestamp per key.
//!
//! Output columns: every schema field in schema order, then `$meta` (Parquet only: the
//! dynamic keys as JSON text; JSON lines merge its keys into each object). `$ts` is
//! dropped. Float vectors become lists of floats, Float16/BFloat16 vectors lists of
//! floats (decoded), binary vectors stay bytes in Parquet and become lists of byte
//! values in JSON; JSON fields are JSON values in JSON lines and JSON text in Parquet.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Float32Array, ListArray, RecordBatch};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef};
use quiver_format::columns::{META_COLUMN, TS_COLUMN, arrow_schema, bf16_to_f32, f16_to_f32};
use quiver_format::logs::PkColumn;
use quiver_format::schema::{CollectionSchema, DataType, FieldSchema};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The deletes of one segment that count at the snapshot: the latest delete timestamp
/// `<= create_ts` of each primary key.
#[derive(Debug, Default)]
pub struct SegmentDeletes {
    ints: HashMap<i64, u64>,
    strs: HashMap<String, u64>,
}

impl SegmentDeletes {
    /// Add one delete log's `(pk, ts)` pairs; deletes after `create_ts` are ignored.
    pub fn add(&mut self, pks: &PkColumn, timestamps: &[u64], create_ts: u64) {
        let keep = |slot: &mut u64, ts: u64| *slot = (*slot).max(ts);
        match pks {
            PkColumn::Int(values) => {
                for (pk, &ts) in values.iter().zip(timestamps).filter(|(_, ts)| **ts <= create_ts) {
                    keep(self.ints.entry(*pk).or_default(), ts);
                }
            }
            PkColumn::Str(values) => {
                for (pk, &ts) in values.iter().zip(timestamps).filter(|(_, ts)| **ts <= create_ts) {
                    keep(self.strs.entry(pk.clone()).or_default(), ts);
                }
            }
        }
    }

    fn hides_int(&self, pk: i64, row_ts: u64) -> bool {
        self.ints.get(&pk).is_some_and(|&d| row_ts < d)
    }

    fn hides_str(&self, pk: &str, row_ts: u64) -> bool {
        self.strs.get(pk).is_some_and(|&d| row_ts < d)
    }
}

/// What filtering one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    /// Rows in the insert logs.
    pub stored: u64,
    /// Rows hidden by a delete.
    pub deleted: u64,
    /// Rows inserted after the snapshot (none, for files a snapshot lists).
    pub later: u64,
    /// Rows kept.
    pub visible: u64,
}

impl std::ops::AddAssign for RowCounts {
    fn add_assign(&mut self, other: RowCounts) {
        self.stored += other.stored;
        self.deleted += other.deleted;
        self.later += other.later;
        self.visible += other.visible;
    }
}

/// The visible rows of one insert-log batch, with every column it had.
pub fn visible(batch: &RecordBatch, pk: &str, deletes: &SegmentDeletes, create_ts: u64) -> Result<(RecordBatch, RowCounts), String> {
    let ts = batch
        .column_by_name(TS_COLUMN)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| format!("no UInt64 {TS_COLUMN} column"))?;
    let pk_column = batch.column_by_name(pk).ok_or_else(|| format!("no primary key column {pk:?}"))?;
    let mut counts = RowCounts { stored: batch.num_rows() as u64, ..RowCounts::default() };
    let mut keep = Vec::with_capacity(batch.num_rows());
    let mut decide = |row_ts: u64, deleted: bool| {
        let visible = if row_ts > create_ts {
            counts.later += 1;
            false
        } else if deleted {
            counts.deleted += 1;
            false
        } else {
            counts.visible += 1;
            true
        };
        keep.push(visible);
    };
    if let Some(ints) = pk_column.as_primitive_opt::<Int64Type>() {
        for (i, &row_ts) in ts.values().iter().enumerate() {
            decide(row_ts, deletes.hides_int(ints.value(i), row_ts));
        }
    } else if let Some(strs) = pk_column.as_string_opt::<i32>() {
        for (i, &row_ts) in ts.values().iter().enumerate() {
            decide(row_ts, deletes.hides_str(strs.value(i), row_ts));
        }
    } else {
        return Err(format!("primary key column {pk:?} is {}, not Int64 or Utf8", pk_column.data_type()));
    }
    let mask = BooleanArray::from(keep);
    let filtered = arrow_select::filter::filter_record_batch(batch, &mask).map_err(|e| e.to_string())?;
    Ok((filtered, counts))
}

/// The Arrow type a vector column is exported as, if it changes.
fn exported_vector_type(field: &FieldSchema) -> Option<ArrowType> {
    match field.data_type {
        DataType::FloatVector | DataType::Float16Vector | DataType::BFloat16Vector => {
            Some(ArrowType::List(Arc::new(Field::new("item", ArrowType::Float32, false))))
        }
        _ => None,
    }
}

/// The schema of exported Parquet files: the stored columns less `$ts`, vectors as lists.
pub fn export_schema(schema: &CollectionSchema) -> SchemaRef {
    let stored = arrow_schema(schema);
    let fields: Vec<Field> = stored
        .fields()
        .iter()
        .filter(|f| f.name() != TS_COLUMN)
        .map(|f| match schema.field(f.name()).and_then(exported_vector_type) {
            Some(data_type) => f.as_ref().clone().with_data_type(data_type),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A visible batch in the exported layout ([`export_schema`]).
pub fn to_export_batch(batch: &RecordBatch, schema: &CollectionSchema, out: &SchemaRef) -> Result<RecordBatch, String> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(out.fields().len());
    for field in out.fields() {
        let column = batch.column_by_name(field.name()).ok_or_else(|| format!("insert log has no column {:?}", field.name()))?;
        let converted = match schema.field(field.name()).map(|f| f.data_type) {
            Some(DataType::FloatVector) => float_vector_as_list(column)?,
            Some(kind @ (DataType::Float16Vector | DataType::BFloat16Vector)) => half_vector_as_list(column, kind)?,
            _ => Arc::clone(column),
        };
        columns.push(converted);
    }
    // Take the stored column types where they differ in detail (nested field names,
    // nullability) from what the schema alone would say.
    let fields: Vec<Field> =
        out.fields().iter().zip(&columns).map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone())).collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, out.metadata().clone()));
    RecordBatch::try_new(schema, columns).map_err(|e| e.to_string())
}

fn float_vector_as_list(column: &ArrayRef) -> Result<ArrayRef, String> {
    let vectors = column.as_fixed_size_list_opt().ok_or("float vector column is not a fixed-size list")?;
    let offsets: Vec<i32> = (0..=vectors.len()).map(|i| vectors.value_offset_at(i) as i32).collect();
    let values = Arc::clone(vectors.values());
    let item = Arc::new(Field::new("item", values.data_type().clone(), false));
    let list = ListArray::try_new(item, OffsetBuffer::new(ScalarBuffer::from(offsets)), values, vectors.nulls().cloned())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(list))
}

fn half_vector_as_list(column: &ArrayRef, kind: DataType) -> Result<ArrayRef, String> {
    let vectors = column.as_fixed_size_binary_opt().ok_or("half-precision vector column is not fixed-size binary")?;
    let mut offsets = Vec::with_capacity(vectors.len() + 1);
    let mut values = Vec::new();
    offsets.push(0i32);
    for i in 0..vectors.len() {
        values.extend(decode_halves(vectors.value(i), kind));
        offsets.push(values.len() as i32);
    }
    let item = Arc::new(Field::new("item", ArrowType::Float32, false));
    let values: ArrayRef = Arc::new(Float32Array::from(values));
    let list = ListArray::try_new(item, OffsetBuffer::new(ScalarBuffer::from(offsets)), values, vectors.nulls().cloned())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(list))
}

/// Little-endian IEEE half (Float16) or bfloat16 values as f32.
fn decode_halves(bytes: &[u8], kind: DataType) -> impl Iterator<Item = f32> + '_ {
    bytes.chunks_exact(2).map(move |pair| {
        let bits = u16::from_le_bytes([pair[0], pair[1]]);
        if kind == DataType::BFloat16Vector { bf16_to_f32(bits) } else { f16_to_f32(bits) }
    })
}

/// The rows of a visible batch as JSON objects: field names → values, dynamic keys from
/// `$meta` merged in (a dynamic key never overrides a field), no `$ts`.
pub fn to_json_rows(batch: &RecordBatch, schema: &CollectionSchema) -> Result<Vec<Map<String, Value>>, String> {
    let fields: Vec<(&FieldSchema, &ArrayRef)> = schema
        .fields
        .iter()
        .map(|f| batch.column_by_name(&f.name).map(|c| (f, c)).ok_or_else(|| format!("insert log has no column {:?}", f.name)))
        .collect::<Result<_, _>>()?;
    let meta = batch.column_by_name(META_COLUMN).and_then(|c| c.as_string_opt::<i32>());
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let mut object = Map::new();
        for (field, column) in &fields {
            object.insert(field.name.clone(), field_value(field, column.as_ref(), row));
        }
        if let Some(meta) = meta
            && meta.is_valid(row)
            && let Ok(Value::Object(dynamic)) = serde_json::from_str::<Value>(meta.value(row))
        {
            for (key, value) in dynamic {
                object.entry(key).or_insert(value);
            }
        }
        rows.push(object);
    }
    Ok(rows)
}

fn field_value(field: &FieldSchema, column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    match field.data_type {
        DataType::Json => {
            let text = column.as_string_opt::<i32>().map(|s| s.value(row)).unwrap_or_default();
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        }
        DataType::BinaryVector => match column.as_fixed_size_binary_opt() {
            Some(bytes) => Value::Array(bytes.value(row).iter().map(|&b| Value::from(b)).collect()),
            None => arrow_value(column, row),
        },
        kind @ (DataType::Float16Vector | DataType::BFloat16Vector) => match column.as_fixed_size_binary_opt() {
            Some(bytes) => Value::Array(decode_halves(bytes.value(row), kind).map(float).collect()),
            None => arrow_value(column, row),
        },
        // As pymilvus shows a sparse row: index -> value.
        DataType::SparseFloatVector => match quiver_format::columns::sparse_parts(column) {
            Ok(parts) => {
                let range = parts.offsets[row] as usize..parts.offsets[row + 1] as usize;
                let pairs = parts.indices[range.clone()].iter().zip(&parts.values[range]);
                Value::Object(pairs.map(|(index, &value)| (index.to_string(), float(value))).collect())
            }
            Err(_) => arrow_value(column, row),
        },
        _ => arrow_value(column, row),
    }
}

fn float(value: impl Into<f64>) -> Value {
    Number::from_f64(value.into()).map_or(Value::Null, Value::Number)
}

/// One Arrow value as JSON (the types insert logs use).
fn arrow_value(column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        ArrowType::Boolean => Value::Bool(column.as_boolean().value(row)),
        ArrowType::Int8 => Value::from(column.as_primitive::<Int8Type>().value(row)),
        ArrowType::Int16 => Value::from(column.as_primitive::<Int16Type>().value(row)),
        ArrowType::Int32 => Value::from(column.as_primitive::<Int32Type>().value(row)),
        ArrowType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
        ArrowType::UInt8 => Value::from(column.as_primitive::<UInt8Type>().value(row)),
        ArrowType::UInt64 => Value::from(column.as_primitive::<UInt64Type>().value(row)),
        ArrowType::Float32 => float(column.as_primitive::<Float32Type>().value(row)),
        ArrowType::Float64 => float(column.as_primitive::<Float64Type>().value(row)),
        ArrowType::Utf8 => Value::String(column.as_string::<i32>().value(row).to_string()),
        ArrowType::LargeUtf8 => Value::String(column.as_string::<i64>().value(row).to_string()),
        ArrowType::List(_) => list_value(column.as_list::<i32>().value(row).as_ref()),
        ArrowType::LargeList(_) => list_value(column.as_list::<i64>().value(row).as_ref()),
        ArrowType::FixedSizeList(..) => list_value(column.as_fixed_size_list().value(row).as_ref()),
        ArrowType::FixedSizeBinary(_) => Value::Array(column.as_fixed_size_binary().value(row).iter().map(|&b| Value::from(b)).collect()),
        ArrowType::Binary => Value::Array(column.as_binary::<i32>().value(row).iter().map(|&b| Value::from(b)).collect()),
        other => Value::String(format!("<unsupported {other}>")),
    }
}

fn list_value(values: &dyn Array) -> Value {
    Value::Array((0..values.len()).map(|i| arrow_value(values, i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray, UInt64Array};

    fn batch(pks: Vec<i64>, ts: Vec<u64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("pk", ArrowType::Int64, false),
            Field::new(META_COLUMN, ArrowType::Utf8, false),
            Field::new(TS_COLUMN, ArrowType::UInt64, false),
        ]));
        let meta: Vec<String> = pks.iter().map(|pk| format!("{{\"k\":{pk}}}")).collect();
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(pks)), Arc::new(StringArray::from(meta)), Arc::new(UInt64Array::from(ts))],
        )
        .unwrap()
    }

    #[test]
    fn a_delete_hides_only_older_rows_of_its_key_up_to_the_snapshot() {
        let mut deletes = SegmentDeletes::default();
        // pk 1 deleted at 20; pk 2 deleted at 5 (before its insert at 10: an upsert's new
        // row survives); pk 3 deleted at 40, after the snapshot at 30: ignored.
        deletes.add(&PkColumn::Int(vec![1, 2, 3]), &[20, 5, 40], 30);
        let (kept, counts) = visible(&batch(vec![1, 2, 3, 4, 5], vec![10, 10, 10, 10, 31]), "pk", &deletes, 30).unwrap();
        let pks: Vec<i64> = kept.column(0).as_primitive::<Int64Type>().values().to_vec();
        assert_eq!(pks, [2, 3, 4]);
        assert_eq!(counts, RowCounts { stored: 5, deleted: 1, later: 1, visible: 3 });
    }

    #[test]
    fn a_delete_at_the_rows_own_timestamp_keeps_it() {
        let mut deletes = SegmentDeletes::default();
        deletes.add(&PkColumn::Int(vec![1]), &[10], 30);
        let (kept, _) = visible(&batch(vec![1], vec![10]), "pk", &deletes, 30).unwrap();
        assert_eq!(kept.num_rows(), 1);
    }

    #[test]
    fn string_keys_are_deleted_too() {
        let schema = Arc::new(Schema::new(vec![Field::new("id", ArrowType::Utf8, false), Field::new(TS_COLUMN, ArrowType::UInt64, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["a", "b"])), Arc::new(UInt64Array::from(vec![1, 1]))])
                .unwrap();
        let mut deletes = SegmentDeletes::default();
        deletes.add(&PkColumn::Str(vec!["a".into()]), &[2], 9);
        let (kept, _) = visible(&batch, "id", &deletes, 9).unwrap();
        assert_eq!(kept.column(0).as_string::<i32>().value(0), "b");
        assert_eq!(kept.num_rows(), 1);
    }

    #[test]
    fn half_vectors_decode_little_endian() {
        let bytes = [0x00, 0x3c, 0x00, 0xc0];
        assert_eq!(decode_halves(&bytes, DataType::Float16Vector).collect::<Vec<_>>(), [1.0, -2.0]);
        let bf16 = (1.5f32.to_bits() >> 16) as u16;
        assert_eq!(decode_halves(&bf16.to_le_bytes(), DataType::BFloat16Vector).collect::<Vec<_>>(), [1.5]);
    }
}
