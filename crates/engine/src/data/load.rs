//! Reading a collection's sealed segments back from object storage: their rows, and
//! their delete logs into the collection's delete index.

use super::segment::{Segment, SegmentMeta};
use super::{DataPath, DataState, keys};
use crate::catalog::model::Collection;
use crate::error::{EngineError, Result};
use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use quiver_format::FileRef;
use quiver_format::logs::{read_delete_log, read_parquet};

impl DataPath {
    /// Every live segment of `collection`, read from object storage and verified.
    pub(crate) async fn load_sealed(&self, collection: &Collection) -> Result<DataState> {
        let prefix = format!("{}{:020}/", keys::SEGMENT_PREFIX, collection.id.0);
        let pk_name = collection.schema.primary_field().name.clone();
        let mut state = DataState::default();
        for (key, value) in self.meta.scan_prefix(&prefix).await? {
            let meta: SegmentMeta = serde_json::from_slice(&value)
                .map_err(|e| EngineError::CorruptMetadata { key: key.clone(), reason: e.to_string() })?;
            if !meta.is_live() {
                continue;
            }
            let mut segment = Segment::growing(meta.id, meta.partition, meta.shard);
            for file in &meta.insert_logs {
                for batch in read_parquet(self.read_verified(file).await?, None)? {
                    segment.append(batch, &pk_name, meta.max_ts.0);
                }
            }
            for file in &meta.delta_logs {
                let (pks, timestamps) = read_delete_log(self.read_verified(file).await?)?;
                state.deletes.add_timestamped(&pks, &timestamps, Some(meta.partition));
            }
            segment.meta = Some(meta);
            state.segments.insert(segment.id, segment);
        }
        self.load_index_builds(collection, &mut state).await?;
        Ok(state)
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
