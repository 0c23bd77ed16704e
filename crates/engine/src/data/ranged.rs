//! An insert log read in parts: Parquet's async reader over object storage, fetching the
//! footer and then only the column chunks a projection needs (ranged GETs on S3, reads
//! at an offset locally).

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use std::ops::Range;
use std::sync::Arc;

/// Bytes fetched from a file's end in the first read: the footer and, usually, all the
/// metadata before it, so opening a log costs one read.
const FOOTER_PREFETCH_BYTES: usize = 64 * 1024;

/// One object of known size, read by ranges.
pub struct RangedLog {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    size: u64,
}

impl RangedLog {
    pub fn new(store: Arc<dyn ObjectStore>, key: &str, size: u64) -> Self {
        RangedLog { store, path: ObjectPath::from(key), size }
    }
}

fn storage_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for RangedLog {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        async move { self.store.get_range(&self.path, range).await.map_err(storage_error) }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move { self.store.get_ranges(&self.path, &ranges).await.map_err(storage_error) }.boxed()
    }

    fn get_metadata<'a>(&'a mut self, options: Option<&'a ArrowReaderOptions>) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let reader = ParquetMetaDataReader::new().with_arrow_reader_options(options).with_prefetch_hint(Some(FOOTER_PREFETCH_BYTES));
            Ok(Arc::new(reader.load_and_finish(self, size).await?))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use futures::TryStreamExt;
    use object_store::memory::InMemory;
    use parquet::arrow::ParquetRecordBatchStreamBuilder;
    use quiver_format::logs::{log_reader, read_parquet, write_parquet};

    #[tokio::test]
    async fn a_projected_ranged_read_returns_what_a_whole_file_read_does() {
        // More rows than one row group, so the projection spans several column chunks.
        let rows = 150_000;
        let pk = Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef;
        let ts = Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i * 7))) as ArrayRef;
        let text = Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("row {i}")))) as ArrayRef;
        let batch = RecordBatch::try_from_iter([("pk", pk), ("$ts", ts), ("text", text)]).unwrap();
        let bytes = write_parquet(&batch.schema(), &[batch]).unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        store.put(&ObjectPath::from("insert_log/1/2/3/4.parquet"), bytes.clone().into()).await.unwrap();

        let columns = ["pk", "$ts"];
        let log = RangedLog::new(Arc::clone(&store), "insert_log/1/2/3/4.parquet", bytes.len() as u64);
        let builder = ParquetRecordBatchStreamBuilder::new(log).await.unwrap();
        let ranged: Vec<RecordBatch> = log_reader(builder, Some(&columns)).build().unwrap().try_collect().await.unwrap();
        let whole = read_parquet(bytes.into(), Some(&columns)).unwrap();
        assert_eq!(ranged, whole);
        assert_eq!(ranged.iter().map(RecordBatch::num_rows).sum::<usize>(), rows as usize);
        assert_eq!(ranged[0].schema().fields().len(), 2);
    }
}
