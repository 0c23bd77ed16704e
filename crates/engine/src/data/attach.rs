//! What the index builder changes in memory: which segments have a recorded build of an
//! index, the built vector indexes of loaded segments, and scalar indexes (built in
//! memory from loaded columns). Index records and files are the index builder's.

use super::Data;
use super::segment::SegmentIndex;
use crate::catalog::model::Collection;
use crate::error::{Result, internal};
use crate::read::scalar_index::ScalarIndex;
use quiver_base::{FieldId, IndexId, SegmentId};
use quiver_index::VectorIndex;
use std::sync::Arc;

impl Data {
    /// Note that `segment` has a recorded build of `index_id`, and hold the built index
    /// (for field `field`) if one is given and the segment is loaded.
    pub fn attach_index(
        &self,
        collection: &Collection,
        segment: SegmentId,
        field: FieldId,
        index_id: IndexId,
        index: Option<Arc<dyn VectorIndex>>,
    ) {
        let data = self.collection_data(collection.id);
        let mut state = data.write();
        if let Some(slot) = state.segments.get_mut(&segment) {
            let slot = Arc::make_mut(slot);
            slot.built.insert(index_id);
            if let Some(index) = index.filter(|_| slot.loaded) {
                slot.indexes.insert(field, SegmentIndex { index_id, index });
            }
        }
    }

    /// Forget the in-memory builds of a dropped index definition.
    pub fn forget_index(&self, collection: &Collection, index_id: IndexId) {
        let data = self.collection_data(collection.id);
        let mut state = data.write();
        for segment in state.segments.values_mut().filter(|s| s.built.contains(&index_id)) {
            let segment = Arc::make_mut(segment);
            segment.indexes.retain(|_, built| built.index_id != index_id);
            segment.built.remove(&index_id);
        }
    }

    /// Build the scalar indexes of loaded sealed segments that lack one (off the runtime),
    /// and drop those whose definition is gone. Returns how many were built.
    pub async fn build_scalar_indexes(&self, collection: &Collection) -> Result<usize> {
        let fields: Vec<String> = collection
            .indexes
            .iter()
            .filter_map(|d| collection.schema.fields.iter().find(|f| f.id == d.field_id))
            .filter(|f| !f.data_type.is_vector())
            .map(|f| f.name.clone())
            .collect();
        let data = self.collection_data(collection.id);
        let todo: Vec<_> = data
            .read()
            .segments
            .values()
            .filter(|s| s.meta.is_some() && s.loaded)
            .filter(|s| s.scalar.keys().any(|f| !fields.contains(f)) || fields.iter().any(|f| !s.scalar.contains_key(f)))
            .cloned()
            .collect();
        if todo.is_empty() {
            return Ok(0);
        }
        let wanted = fields.clone();
        let built = tokio::task::spawn_blocking(move || {
            todo.into_iter()
                .map(|segment| {
                    let indexes: Vec<(String, Arc<ScalarIndex>)> = wanted
                        .iter()
                        .filter(|f| !segment.scalar.contains_key(*f))
                        .filter_map(|f| ScalarIndex::build(&segment, f).map(|index| (f.clone(), Arc::new(index))))
                        .collect();
                    (segment.id, indexes)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| internal(format!("scalar index task failed: {e}")))?;
        let mut count = 0;
        let mut state = data.write();
        for (id, indexes) in built {
            if let Some(slot) = state.segments.get_mut(&id).filter(|s| s.loaded) {
                let slot = Arc::make_mut(slot);
                slot.scalar.retain(|field, _| fields.contains(field));
                count += indexes.len();
                slot.scalar.extend(indexes);
            }
        }
        Ok(count)
    }
}
