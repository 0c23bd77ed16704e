//! Spatial predicates over a Geometry column (canonical WKT text), row by row, with
//! `geo` (georust) doing the geometry: DE-9IM `relate` for the OGC relations, haversine
//! distance for `ST_DWITHIN`, OGC validity for `ST_ISVALID`. A null cell is unknown.
//!
//! Every relation but disjointness implies the two bounding boxes meet, so rows whose
//! box misses the literal's are false without building the intersection matrix, the
//! costly part. An empty geometry has no box and relates to nothing.

use super::Ctx;
use super::tri::Tri;
use crate::error::{ExprError, Result};
use crate::plan::{Relation, SpatialTest};
use arrow_array::{Array, StringArray};
use geo::{BoundingRect, Distance, Haversine, HaversineClosestPoint, Intersects, Relate, Validation};
use quiver_format::geometry;

pub(crate) fn spatial(ctx: &Ctx<'_>, column: &str, test: &SpatialTest) -> Result<Tri> {
    let array = ctx.column(column)?;
    let cells = array.as_any().downcast_ref::<StringArray>().ok_or_else(|| ExprError::ColumnType {
        name: column.to_string(),
        expected: "Utf8 (WKT)".into(),
        found: array.data_type().to_string(),
    })?;
    let query_box = match test {
        SpatialTest::Relate { query, .. } => Some(query.bounding_rect()),
        _ => None,
    };
    let mut out = Vec::with_capacity(cells.len());
    for row in 0..cells.len() {
        if cells.is_null(row) {
            out.push(None);
            continue;
        }
        let value = geometry::to_geo(cells.value(row)).map_err(|e| ExprError::InvalidGeometry {
            column: column.to_string(),
            row,
            message: e.to_string(),
        })?;
        let result = match test {
            SpatialTest::Relate { relation, query } => {
                let boxes_meet = match (query_box.flatten(), value.bounding_rect()) {
                    (Some(a), Some(b)) => a.intersects(&b),
                    _ => false,
                };
                boxes_meet && relate(&value, *relation, query)
            }
            SpatialTest::WithinMeters { point, meters } => meters_to(&value, point).is_some_and(|d| d <= *meters),
            SpatialTest::Valid => value.is_valid(),
        };
        out.push(Some(result));
    }
    Ok(Tri::from_fn(out.len(), |i| out[i]))
}

fn relate(value: &geo::Geometry<f64>, relation: Relation, query: &geo::Geometry<f64>) -> bool {
    let matrix = value.relate(query);
    match relation {
        Relation::Equals => matrix.is_equal_topo(),
        Relation::Touches => matrix.is_touches(),
        Relation::Overlaps => matrix.is_overlaps(),
        Relation::Crosses => matrix.is_crosses(),
        Relation::Contains => matrix.is_contains(),
        Relation::Intersects => matrix.is_intersects(),
        Relation::Within => matrix.is_within(),
    }
}

/// The great-circle distance in meters from `point` to the nearest point of `value`
/// (0 when they meet); `None` for an empty geometry.
fn meters_to(value: &geo::Geometry<f64>, point: &geo::Point<f64>) -> Option<f64> {
    if let geo::Geometry::Point(p) = value {
        return Some(Haversine.distance(*p, *point));
    }
    if value.intersects(point) {
        return Some(0.0);
    }
    match value.haversine_closest_point(point) {
        geo::Closest::Intersection(_) => Some(0.0),
        geo::Closest::SinglePoint(p) => Some(Haversine.distance(p, *point)),
        geo::Closest::Indeterminate => None,
    }
}
