//! Parquet codecs for the files a segment is made of: insert logs (every column of the
//! rows, system columns included) and delete logs (`pk`, `$ts` of each delete).
//!
//! Vector columns are stored without dictionary encoding or compression: float data does
//! not compress, and skipping it keeps sealing fast. Other columns use zstd level 1.
//! Files are self-describing: Spark, DuckDB and pyarrow read them with no side schema.

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{ArrowError, DataType as ArrowType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderBuilder, ParquetRecordBatchReaderBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::sync::Arc;

use crate::columns::TS_COLUMN;

/// Column names of a delete log.
pub const DELETE_PK_COLUMN: &str = "pk";

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("delete log has unexpected layout: {0}")]
    DeleteLayout(String),
}

/// Rows per Parquet row group: large enough for sequential scans, small enough that a
/// reader can stream.
const ROW_GROUP_ROWS: usize = 64 * 1024;

fn writer_properties(schema: &Schema) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid")))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for field in schema.fields() {
        if matches!(field.data_type(), ArrowType::FixedSizeList(..) | ArrowType::FixedSizeBinary(_)) {
            let leaf = match field.data_type() {
                ArrowType::FixedSizeList(item, _) => ColumnPath::new(vec![field.name().clone(), "list".into(), item.name().clone()]),
                _ => ColumnPath::new(vec![field.name().clone()]),
            };
            builder = builder.set_column_compression(leaf.clone(), Compression::UNCOMPRESSED).set_column_dictionary_enabled(leaf, false);
        }
    }
    builder.build()
}

/// Encode `batches` (all with `schema`) as one Parquet file.
pub fn write_parquet(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, LogError> {
    let mut writer = ArrowWriter::try_new(Vec::new(), Arc::clone(schema), Some(writer_properties(schema)))?;
    for batch in batches {
        writer.write(batch)?;
    }
    Ok(writer.into_inner()?)
}

/// Decode a whole Parquet file, optionally only the named columns.
pub fn read_parquet(bytes: Bytes, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, LogError> {
    let builder = log_reader(ParquetRecordBatchReaderBuilder::try_new(bytes)?, columns);
    Ok(builder.build()?.collect::<Result<Vec<_>, ArrowError>>()?)
}

/// Set up a reader of a log file, in memory or fetching its parts from storage: a batch
/// per row group, optionally only the named columns.
pub fn log_reader<T>(builder: ArrowReaderBuilder<T>, columns: Option<&[&str]>) -> ArrowReaderBuilder<T> {
    let builder = builder.with_batch_size(ROW_GROUP_ROWS);
    match columns {
        Some(names) => {
            let schema = builder.parquet_schema();
            let roots: Vec<usize> =
                builder.schema().fields().iter().enumerate().filter(|(_, f)| names.contains(&f.name().as_str())).map(|(i, _)| i).collect();
            let mask = parquet::arrow::ProjectionMask::roots(schema, roots);
            builder.with_projection(mask)
        }
        None => builder,
    }
}

/// Primary keys of deletes: Int64 or VarChar, as the collection's pk.
#[derive(Clone, Debug, PartialEq)]
pub enum PkColumn {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl PkColumn {
    pub fn len(&self) -> usize {
        match self {
            PkColumn::Int(v) => v.len(),
            PkColumn::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_array(&self) -> ArrayRef {
        match self {
            PkColumn::Int(v) => Arc::new(Int64Array::from(v.clone())),
            PkColumn::Str(v) => Arc::new(StringArray::from(v.clone())),
        }
    }
}

/// Encode a delete log: one row per delete, `(pk, $ts)`.
pub fn write_delete_log(pks: &PkColumn, timestamps: &[u64]) -> Result<Vec<u8>, LogError> {
    let pk_type = match pks {
        PkColumn::Int(_) => ArrowType::Int64,
        PkColumn::Str(_) => ArrowType::Utf8,
    };
    let schema = Arc::new(Schema::new(vec![Field::new(DELETE_PK_COLUMN, pk_type, false), Field::new(TS_COLUMN, ArrowType::UInt64, false)]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![pks.to_array(), Arc::new(UInt64Array::from(timestamps.to_vec()))])?;
    write_parquet(&schema, &[batch])
}

/// Decode a delete log.
pub fn read_delete_log(bytes: Bytes) -> Result<(PkColumn, Vec<u64>), LogError> {
    let mut int_pks = Vec::new();
    let mut str_pks = Vec::new();
    let mut timestamps = Vec::new();
    for batch in read_parquet(bytes, None)? {
        let layout = || LogError::DeleteLayout(format!("{:?}", batch.schema()));
        let pk = batch.column_by_name(DELETE_PK_COLUMN).ok_or_else(layout)?;
        let ts = batch.column_by_name(TS_COLUMN).and_then(|c| c.as_any().downcast_ref::<UInt64Array>()).ok_or_else(layout)?;
        timestamps.extend(ts.values().iter().copied());
        if let Some(ints) = pk.as_any().downcast_ref::<Int64Array>() {
            int_pks.extend(ints.values().iter().copied());
        } else if let Some(strs) = pk.as_any().downcast_ref::<StringArray>() {
            str_pks.extend(strs.iter().map(|s| s.unwrap_or_default().to_string()));
        } else {
            return Err(layout());
        }
    }
    let pks = if str_pks.is_empty() { PkColumn::Int(int_pks) } else { PkColumn::Str(str_pks) };
    Ok((pks, timestamps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{FixedSizeListArray, Float32Array};

    #[test]
    fn insert_log_round_trips_with_projection() {
        let item = Arc::new(Field::new("item", ArrowType::Float32, false));
        let schema = Arc::new(Schema::new(vec![
            Field::new("pk", ArrowType::Int64, false),
            Field::new("v", ArrowType::FixedSizeList(item.clone(), 2), false),
            Field::new(TS_COLUMN, ArrowType::UInt64, false),
        ]));
        let vectors = FixedSizeListArray::try_new(item, 2, Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0, 4.0])), None).unwrap();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![7, 8])), Arc::new(vectors), Arc::new(UInt64Array::from(vec![1, 2]))],
        )
        .unwrap();
        let bytes = Bytes::from(write_parquet(&schema, std::slice::from_ref(&batch)).unwrap());
        let all = read_parquet(bytes.clone(), None).unwrap();
        assert_eq!(all, vec![batch]);
        let pks = read_parquet(bytes, Some(&["pk"])).unwrap();
        assert_eq!(pks[0].num_columns(), 1);
        assert_eq!(pks[0].schema().field(0).name(), "pk");
    }

    #[test]
    fn delete_log_round_trips_both_pk_types() {
        let ints = PkColumn::Int(vec![3, 1, 2]);
        let (pks, ts) = read_delete_log(Bytes::from(write_delete_log(&ints, &[10, 11, 12]).unwrap())).unwrap();
        assert_eq!((pks, ts), (ints, vec![10, 11, 12]));
        let strs = PkColumn::Str(vec!["a".into(), "b".into()]);
        let (pks, _) = read_delete_log(Bytes::from(write_delete_log(&strs, &[1, 2]).unwrap())).unwrap();
        assert_eq!(pks, strs);
    }
}
