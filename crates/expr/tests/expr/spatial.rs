//! The spatial functions over a Geometry column: planning (names, arity, argument
//! checks) and evaluation against hand-checked rows, nulls unknown.

use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType as ArrowType, Field};
use quiver_expr::{ExprError, Plan};
use quiver_format::columns::arrow_schema;
use quiver_format::schema::{CollectionSchema, DataType, FieldSchema};
use std::collections::HashMap;
use std::sync::Arc;

/// Rows by id: 1 a point inside the unit-2 square, 2 a point on its edge, 3 a line
/// crossing it, 4 the square itself, 5 null, 6 a bow-tie (invalid) polygon far away,
/// 7 an empty point.
const ROWS: [Option<&str>; 7] = [
    Some("POINT (1 1)"),
    Some("POINT (2 1)"),
    Some("LINESTRING (-1 1, 3 1)"),
    Some("POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))"),
    None,
    Some("POLYGON ((10 10, 12 12, 12 10, 10 12, 10 10))"),
    Some("POINT EMPTY"),
];
const SQUARE: &str = "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))";

fn schema() -> CollectionSchema {
    let mut id = FieldSchema::new("id", DataType::Int64);
    id.is_primary_key = true;
    let mut geo = FieldSchema::new("geo", DataType::Geometry);
    geo.nullable = true;
    CollectionSchema {
        name: "g".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: false,
        fields: vec![id, FieldSchema::new("vec", DataType::FloatVector).with_param("dim", 2), geo],
        version: 0,
    }
    .validated()
    .unwrap()
}

fn batch() -> RecordBatch {
    let n = ROWS.len();
    let item = Arc::new(Field::new("item", ArrowType::Float32, false));
    let vectors = FixedSizeListArray::new(item, 2, Arc::new(Float32Array::from(vec![0.0; 2 * n])), None);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(1..=n as i64)),
        Arc::new(vectors),
        Arc::new(StringArray::from(ROWS.to_vec())),
        Arc::new(UInt64Array::from(vec![1u64; n])),
    ];
    RecordBatch::try_new(arrow_schema(&schema()), columns).unwrap()
}

fn ids(filter: &str) -> Vec<i64> {
    let plan = Plan::compile(filter, &schema(), &HashMap::new()).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let matches = plan.evaluate(&batch()).unwrap();
    (0..matches.len()).filter(|&i| matches.value(i)).map(|i| i as i64 + 1).collect()
}

fn error(filter: &str) -> ExprError {
    Plan::compile(filter, &schema(), &HashMap::new()).expect_err(filter)
}

#[test]
fn relations_follow_de9im() {
    assert_eq!(ids(&format!("ST_WITHIN(geo, '{SQUARE}')")), [1, 4]);
    // The line runs through (1 1) too.
    assert_eq!(ids("ST_CONTAINS(geo, 'POINT (1 1)')"), [1, 3, 4]);
    assert_eq!(ids(&format!("ST_INTERSECTS(geo, '{SQUARE}')")), [1, 2, 3, 4]);
    assert_eq!(ids(&format!("ST_TOUCHES(geo, '{SQUARE}')")), [2]);
    assert_eq!(ids(&format!("ST_CROSSES(geo, '{SQUARE}')")), [3]);
    assert_eq!(ids(&format!("ST_EQUALS(geo, '{SQUARE}')")), [4]);
    assert_eq!(ids("ST_OVERLAPS(geo, 'POLYGON ((1 1, 3 1, 3 3, 1 3, 1 1))')"), [4]);
    // Case-insensitive names; the null row is unknown under `not`.
    assert_eq!(ids(&format!("not st_intersects(geo, '{SQUARE}')")), [6, 7]);
}

#[test]
fn validity_and_distance() {
    assert_eq!(ids("ST_ISVALID(geo)"), [1, 2, 3, 4, 7]);
    assert_eq!(ids("not ST_ISVALID(geo)"), [6]);
    // One degree of longitude at the equator is about 111 km.
    assert_eq!(ids("ST_DWITHIN(geo, 'POINT (0 1)', 112000)"), [1, 3, 4]);
    assert_eq!(ids("ST_DWITHIN(geo, 'POINT (0 1)', 110000)"), [3, 4]);
    assert_eq!(ids("ST_DWITHIN(geo, 'POINT (0 1)', 0)"), [3, 4]);
}

#[test]
fn refusals_name_the_problem() {
    assert!(matches!(error("ST_CONTAINS(geo)"), ExprError::ArgumentCount { expected: 2, found: 1, .. }));
    assert!(matches!(error("ST_ISVALID(geo, 1)"), ExprError::ArgumentCount { expected: 1, found: 2, .. }));
    assert!(error("ST_WITHIN(id, 'POINT (1 1)')").to_string().contains("expects a Geometry field"));
    assert!(error("ST_WITHIN(geo, 'POINT ()')").to_string().contains("syntax error"));
    assert!(error("ST_DWITHIN(geo, 'POINT (0 95)', 10)").to_string().contains("invalid coordinate"));
    assert!(error("ST_DWITHIN(geo, 'POINT (0 0)', -1)").to_string().contains("non-negative"));
    assert!(error("ST_DWITHIN(geo, 'LINESTRING (0 0, 1 1)', 1)").to_string().contains("POINT"));
    assert!(matches!(error("ST_WITHINS(geo, 'POINT (1 1)')"), ExprError::UnknownFunction { .. }));
    // No operator but the spatial functions reads a geometry.
    assert!(matches!(error("geo == 'POINT (1 1)'"), ExprError::TypeMismatch { .. }));
    assert!(ids("geo is null") == [5]);
}
