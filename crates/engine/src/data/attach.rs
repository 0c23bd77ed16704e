//! What the index builder changes in memory: which segments have a recorded build of an
//! index, the built vector indexes of loaded segments, and scalar indexes on fields and
//! JSON paths (built in memory from loaded columns). Index records and files are the index builder's.

use super::Data;
use super::Segment;
use super::segment::SegmentIndex;
use crate::catalog::json_index::JsonCast;
use crate::catalog::model::Collection;
use crate::error::{Result, internal};
use crate::read::scalar_index::{ScalarIndex, ScalarTarget};
use quiver_base::{FieldId, IndexId, SegmentId};
use quiver_expr::PathStep;
use quiver_format::schema::DataType;
use quiver_index::VectorIndex;
use std::collections::BTreeMap;
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

    /// Build the scalar indexes (fields and JSON paths) of loaded sealed segments that
    /// lack one (off the runtime), and drop those whose definition is gone. Returns how
    /// many were built.
    pub async fn build_scalar_indexes(&self, collection: &Collection) -> Result<usize> {
        let targets = scalar_targets(collection);
        let data = self.collection_data(collection.id);
        let todo: Vec<_> = data
            .read()
            .segments
            .values()
            .filter(|s| s.meta.is_some() && s.loaded)
            .filter(|s| s.scalar.keys().any(|t| !targets.contains(t)) || targets.iter().any(|t| !s.scalar.contains_key(t)))
            .cloned()
            .collect();
        if todo.is_empty() {
            return Ok(0);
        }
        let wanted = targets.clone();
        let built = tokio::task::spawn_blocking(move || {
            todo.into_iter().map(|segment| (segment.id, build_missing(&segment, &wanted))).collect::<Vec<_>>()
        })
        .await
        .map_err(|e| internal(format!("scalar index task failed: {e}")))?;
        let mut count = 0;
        let mut state = data.write();
        for (id, indexes) in built {
            if let Some(slot) = state.segments.get_mut(&id).filter(|s| s.loaded) {
                let slot = Arc::make_mut(slot);
                slot.scalar.retain(|target, _| targets.contains(target));
                count += indexes.len();
                slot.scalar.extend(indexes);
            }
        }
        Ok(count)
    }
}

/// What the collection's scalar index definitions cover.
fn scalar_targets(collection: &Collection) -> Vec<ScalarTarget> {
    collection
        .indexes
        .iter()
        .filter_map(|d| {
            let field = collection
                .schema
                .index_field(d.field_id)
                // Geometry indexes (RTREE) are served by evaluation: nothing to build.
                .filter(|f| !f.data_type.is_vector() && f.data_type != DataType::Geometry)?;
            Some(match &d.json {
                Some(json) => ScalarTarget::JsonPath { column: field.name, path: json.path.clone(), cast: json.cast },
                None => ScalarTarget::Field(field.name),
            })
        })
        .collect()
}

/// The indexes of `wanted` that `segment` lacks. The paths of one JSON column are built
/// together, parsing each document once.
fn build_missing(segment: &Segment, wanted: &[ScalarTarget]) -> Vec<(ScalarTarget, Arc<ScalarIndex>)> {
    let missing = wanted.iter().filter(|t| !segment.scalar.contains_key(*t));
    let mut built = Vec::new();
    let mut by_column: BTreeMap<&str, Vec<(Vec<PathStep>, JsonCast)>> = BTreeMap::new();
    for target in missing {
        match target {
            ScalarTarget::Field(_) => {
                built.extend(ScalarIndex::build(segment, target).map(|index| (target.clone(), Arc::new(index))));
            }
            ScalarTarget::JsonPath { column, path, cast } => by_column.entry(column).or_default().push((path.clone(), *cast)),
        }
    }
    for (column, paths) in by_column {
        let Some(indexes) = ScalarIndex::build_json(segment, column, &paths) else { continue };
        built.extend(
            paths
                .into_iter()
                .zip(indexes)
                .map(|((path, cast), index)| (ScalarTarget::JsonPath { column: column.to_string(), path, cast }, Arc::new(index))),
        );
    }
    built
}
