//! Reading a collection's sealed segments back from object storage: their rows, and
//! their delete logs into the collection's delete index.

use super::ranged::RangedLog;
use super::segment::{Segment, SegmentMeta};
use super::{DataPath, DataState, keys};
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result};
use arrow_array::RecordBatch;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::errors::ParquetError;
use quiver_format::FileRef;
use quiver_format::logs::{log_reader, read_delete_log, read_parquet};
use std::sync::Arc;

impl DataPath {
    /// Every live segment of `collection`, read from object storage: every column (each
    /// file verified) when the collection is loaded, else only the primary key and `$ts`.
    pub(crate) async fn load_sealed(&self, collection: &Collection) -> Result<DataState> {
        let prefix = format!("{}{:020}/", keys::SEGMENT_PREFIX, collection.id.0);
        let pk_name = collection.schema.primary_field().name.clone();
        let mut state = DataState::default();
        for (key, value) in self.meta.scan_prefix(&prefix).await? {
            let meta: SegmentMeta =
                serde_json::from_slice(&value).map_err(|e| EngineError::CorruptMetadata { key: key.clone(), reason: e.to_string() })?;
            if !meta.is_live() {
                continue;
            }
            let mut segment = self.read_segment(&meta, &pk_name, collection.loaded).await?;
            for file in &meta.delta_logs {
                let (pks, timestamps) = read_delete_log(self.read_verified(file).await?)?;
                state.deletes.add_timestamped(&pks, &timestamps, Some(meta.partition));
            }
            segment.meta = Some(meta);
            state.segments.insert(segment.id, segment);
        }
        self.load_index_builds(collection, &mut state, collection.loaded).await?;
        Ok(state)
    }

    /// A sealed segment's rows: all columns, or only the primary key and `$ts`.
    pub(crate) async fn read_segment(&self, meta: &SegmentMeta, pk_name: &str, all_columns: bool) -> Result<Segment> {
        let mut segment = Segment::growing(meta.id, meta.partition, meta.shard);
        let keys = [pk_name, quiver_format::columns::TS_COLUMN];
        for file in &meta.insert_logs {
            let batches =
                if all_columns { read_parquet(self.read_verified(file).await?, None)? } else { self.read_columns(file, &keys).await? };
            for batch in batches {
                segment.append(batch, pk_name, meta.max_ts.0);
            }
        }
        segment.loaded = all_columns;
        segment.meta = Some(meta.clone());
        Ok(segment)
    }

    /// Load every column and index of a collection's released segments.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing durable changes; a cancelled load leaves segments released.
    pub async fn load(&self, collection: &Collection) -> Result<()> {
        let data = self.collection_data(collection.id);
        let pk_name = collection.schema.primary_field().name.clone();
        let released: Vec<SegmentMeta> = {
            let state = data.state.read().expect("data state poisoned");
            state.segments.values().filter(|s| !s.loaded).filter_map(|s| s.meta.clone()).collect()
        };
        for meta in released {
            let segment = self.read_segment(&meta, &pk_name, true).await?;
            let mut state = data.state.write().expect("data state poisoned");
            if let Some(slot) = state.segments.get_mut(&meta.id)
                && !slot.loaded
            {
                slot.batches = segment.batches;
                slot.bytes = segment.bytes;
                slot.loaded = true;
            }
        }
        let mut builds = DataState::default();
        {
            let state = data.state.read().expect("data state poisoned");
            for segment in state.segments.values().filter(|s| s.is_sealed() && s.indexes.is_empty()) {
                builds.segments.insert(segment.id, Segment::growing(segment.id, segment.partition, segment.shard));
            }
        }
        self.load_index_builds(collection, &mut builds, true).await?;
        let mut state = data.state.write().expect("data state poisoned");
        for (id, loaded) in builds.segments {
            if let Some(segment) = state.segments.get_mut(&id)
                && segment.loaded
            {
                segment.indexes.extend(loaded.indexes);
                segment.built.extend(loaded.built);
            }
        }
        Ok(())
    }

    /// Free the columns and indexes of a collection's sealed segments.
    pub fn release(&self, collection: &Collection) {
        let data = self.collection_data(collection.id);
        let pk_name = collection.schema.primary_field().name.clone();
        let mut state = data.state.write().expect("data state poisoned");
        for segment in state.segments.values_mut() {
            segment.release(&pk_name);
        }
    }

    /// Only the named columns of an insert log, fetched as ranged reads of the footer and
    /// their column chunks (a small part of a file whose vectors make up most of it). Not
    /// checked against the file's CRC-32C, which needs every byte: the whole file is read
    /// and verified when its segment is loaded, and a restore verifies every copy before
    /// it registers it.
    async fn read_columns(&self, file: &FileRef, columns: &[&str]) -> Result<Vec<RecordBatch>> {
        let unreadable = |e: ParquetError| EngineError::Storage(format!("cannot read {}: {e}", file.key));
        let log = RangedLog::new(Arc::clone(&self.objects), &file.key, file.size);
        let builder = ParquetRecordBatchStreamBuilder::new(log).await.map_err(unreadable)?;
        log_reader(builder, Some(columns)).build().map_err(unreadable)?.try_collect().await.map_err(unreadable)
    }

    /// Read an object and check it is exactly the file that was recorded.
    pub(crate) async fn read_verified(&self, file: &FileRef) -> Result<Bytes> {
        let bytes = self
            .objects
            .get(&ObjectPath::from(file.key.as_str()))
            .await
            .map_err(|e| EngineError::Storage(format!("cannot read {}: {e}", file.key)))?
            .bytes()
            .await
            .map_err(|e| EngineError::Storage(format!("cannot read {}: {e}", file.key)))?;
        if !file.matches(&bytes) {
            return Err(EngineError::Storage(format!(
                "{} is corrupt: expected {} bytes with crc32c {:08x}, found {} bytes",
                file.key,
                file.size,
                file.crc32c,
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}
