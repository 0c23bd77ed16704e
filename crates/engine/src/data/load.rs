//! Reading a collection's sealed segments back from object storage: their rows (all
//! columns when loaded, else only the primary key and `$ts`), and their delete logs into
//! the collection's delete index; loading and releasing columns.

use super::keys;
use super::ranged::RangedLog;
use super::segment::{Segment, SegmentMeta};
use super::{Data, DataState};
use crate::catalog::model::Collection;
use crate::error::{Result, StorageError, decode, internal};
use arrow_array::RecordBatch;
use futures::TryStreamExt;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::errors::ParquetError;
use quiver_format::FileRef;
use quiver_format::logs::{log_reader, read_delete_log, read_parquet};
use quiver_format::schema::CollectionSchema;
use std::sync::Arc;

impl Data {
    /// Every live segment of `collection` and its segment revision, read from storage.
    pub(super) async fn load_sealed(&self, collection: &Collection) -> Result<DataState> {
        let mut view = self.ctx.meta.scan_prefixes(&[&keys::segments_of(collection.id), &keys::revision(collection.id)]).await?.into_iter();
        let records = view.next().unwrap_or_default();
        let revision = view.next().unwrap_or_default().first().map(|(_, v)| keys::decode_u64(v)).unwrap_or(0);
        let mut state = DataState { revision, ..Default::default() };
        for (key, value) in records {
            let meta: SegmentMeta = decode(&key, &value)?;
            if !meta.serves(collection) {
                continue;
            }
            state.deletes.merge(self.logged_deletes(&meta).await?);
            let segment = self.read_segment(meta, &collection.schema, collection.loaded).await?;
            state.segments.insert(segment.id, Arc::new(segment));
        }
        Ok(state)
    }

    /// The deletes in a sealed segment's delete logs (what a flush persisted for it).
    pub(crate) async fn logged_deletes(&self, meta: &SegmentMeta) -> Result<super::DeleteIndex> {
        let mut deletes = super::DeleteIndex::default();
        for file in &meta.delta_logs {
            let (pks, timestamps) = read_delete_log(self.ctx.read_verified(file).await?)?;
            deletes.add_timestamped(&pks, &timestamps, Some(meta.partition));
        }
        Ok(deletes)
    }

    /// A sealed segment's rows: all columns (every file verified, in the layout of
    /// `schema` as it is now), or only the primary key and `$ts`.
    pub(crate) async fn read_segment(&self, meta: SegmentMeta, schema: &CollectionSchema, all_columns: bool) -> Result<Segment> {
        let pk_name = schema.primary_field().name.as_str();
        let mut batches = Vec::new();
        for file in &meta.insert_logs {
            if all_columns {
                let bytes = self.ctx.read_verified(file).await?;
                let stored = tokio::task::spawn_blocking(move || read_parquet(bytes, None))
                    .await
                    .map_err(|e| internal(format!("parquet decoding task failed: {e}")))??;
                for batch in stored {
                    batches.push(quiver_format::columns::conform(schema, &batch)?);
                }
            } else {
                batches.extend(self.read_columns(file, &[pk_name, quiver_format::columns::TS_COLUMN]).await?);
            }
        }
        Ok(Segment::sealed(meta, batches, pk_name, all_columns))
    }

    /// Load every column of a collection's released segments (their indexes are the
    /// index builder's to attach).
    ///
    /// # Cancel safety
    /// Cancel safe: nothing durable changes; a cancelled load leaves segments released.
    pub async fn load(&self, collection: &Collection) -> Result<()> {
        let data = self.collection_data(collection.id);
        data.check_available(collection)?;
        let released: Vec<SegmentMeta> = data.read().segments.values().filter(|s| !s.loaded).filter_map(|s| s.meta.clone()).collect();
        for meta in released {
            let loaded = self.read_segment(meta, &collection.schema, true).await?;
            let mut state = data.write();
            if let Some(slot) = state.segments.get_mut(&loaded.id)
                && !slot.loaded
            {
                let slot = Arc::make_mut(slot);
                slot.batches = loaded.batches;
                slot.bytes = loaded.bytes;
                slot.loaded = true;
            }
        }
        Ok(())
    }

    /// Free the columns and indexes of a collection's sealed segments.
    pub fn release(&self, collection: &Collection) {
        let data = self.collection_data(collection.id);
        let pk_name = collection.schema.primary_field().name.clone();
        let mut state = data.write();
        for segment in state.segments.values_mut().filter(|s| s.meta.is_some() && s.loaded) {
            Arc::make_mut(segment).release(&pk_name);
        }
    }

    /// Only the named columns of a sealed segment's insert logs.
    pub(crate) async fn read_segment_columns(&self, meta: &SegmentMeta, columns: &[&str]) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        for file in &meta.insert_logs {
            let bytes = self.ctx.read_verified(file).await?;
            let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
            batches.extend(
                tokio::task::spawn_blocking(move || {
                    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
                    read_parquet(bytes, Some(&names))
                })
                .await
                .map_err(|e| internal(format!("parquet decoding task failed: {e}")))??,
            );
        }
        Ok(batches)
    }

    /// Only the named columns of an insert log, fetched as ranged reads of the footer and
    /// their column chunks (a small part of a file whose vectors make up most of it). Not
    /// checked against the file's CRC-32C, which needs every byte: the whole file is read
    /// and verified when its segment is loaded, and a restore verifies every copy before
    /// it registers it.
    async fn read_columns(&self, file: &FileRef, columns: &[&str]) -> Result<Vec<RecordBatch>> {
        let unreadable = |e: ParquetError| match &e {
            ParquetError::External(inner) if inner.downcast_ref::<object_store::Error>().is_some() => {
                StorageError::new("read", &file.key, inner.downcast_ref::<object_store::Error>().expect("checked"))
            }
            _ => StorageError::corrupt(&file.key, e.to_string()),
        };
        let log = RangedLog::new(Arc::clone(&self.ctx.objects), &file.key, file.size);
        let builder = ParquetRecordBatchStreamBuilder::new(log).await.map_err(unreadable)?;
        Ok(log_reader(builder, Some(columns)).build().map_err(unreadable)?.try_collect().await.map_err(unreadable)?)
    }
}
