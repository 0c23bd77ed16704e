use super::*;
use crate::schema::{CollectionSchema, DataType, FieldSchema};
use arrow_array::{BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use quiver_base::{FieldId, PartitionId, SegmentId};
use quiver_expr::Plan;
use quiver_testkit::{TestRng, seed};
use std::collections::HashMap;
use std::sync::Arc;

fn num(i: i64) -> TermValue {
    TermValue::Num(NumKey::from(i))
}

fn segment() -> Segment {
    let schema = Arc::new(Schema::new(vec![Field::new("n", ArrowType::Int64, true), Field::new("s", ArrowType::Utf8, false)]));
    let batch = |n: Vec<Option<i64>>, s: Vec<&str>| {
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(n)), Arc::new(StringArray::from(s))]).unwrap()
    };
    let mut segment = Segment::growing(SegmentId(1), PartitionId(1), 0);
    segment.batches = vec![batch(vec![Some(3), None, Some(1)], vec!["a", "b", "c"]), batch(vec![Some(3), Some(7)], vec!["b", "z"])];
    segment
}

#[test]
fn answers_equality_sets_ranges_and_negation_without_nulls() {
    let segment = segment();
    let n = ScalarIndex::build(&segment, &ScalarTarget::Field("n".into())).unwrap();
    assert_eq!(n.select(&TermMatch::AnyOf(vec![num(3)]), 5), [true, false, false, true, false]);
    assert_eq!(n.select(&TermMatch::NoneOf(vec![num(3)]), 5), [false, false, true, false, true]);
    let range =
        TermMatch::Range { lower: Some(Bound { value: num(1), inclusive: false }), upper: Some(Bound { value: num(7), inclusive: true }) };
    assert_eq!(n.select(&range, 5), [true, false, false, true, true]);
    let s = ScalarIndex::build(&segment, &ScalarTarget::Field("s".into())).unwrap();
    let prefix = TermMatch::Range { lower: Some(Bound { value: TermValue::Str("b".into()), inclusive: true }), upper: None };
    assert_eq!(s.select(&prefix, 5), [false, true, true, true, true]);
    let empty =
        TermMatch::Range { lower: Some(Bound { value: num(5), inclusive: true }), upper: Some(Bound { value: num(5), inclusive: false }) };
    assert_eq!(n.select(&empty, 5), [false; 5]);
}

/// A collection with a nullable JSON field `j` and a dynamic field.
fn json_schema() -> CollectionSchema {
    CollectionSchema {
        name: "c".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: true,
        version: 0,
        fields: vec![
            FieldSchema { id: FieldId(100), is_primary_key: true, ..FieldSchema::new("id", DataType::Int64) },
            FieldSchema { id: FieldId(101), nullable: true, ..FieldSchema::new("j", DataType::Json) },
        ],
    }
}

/// One segment of JSON documents in `j` (and the same documents under key `k` of
/// `$meta`), split over batches of `batch` rows.
fn json_segment(docs: &[Option<String>], batch: usize) -> Segment {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", ArrowType::Int64, false),
        Field::new("j", ArrowType::Utf8, true),
        Field::new("$meta", ArrowType::Utf8, false),
    ]));
    let mut segment = Segment::growing(SegmentId(1), PartitionId(1), 0);
    for (at, chunk) in docs.chunks(batch).enumerate() {
        let ids = Int64Array::from_iter_values((0..chunk.len()).map(|i| (at * batch + i) as i64));
        let j = StringArray::from(chunk.to_vec());
        let meta = StringArray::from_iter_values(chunk.iter().map(|d| match d {
            Some(doc) => format!(r#"{{"k": {doc}}}"#),
            None => "{}".to_string(),
        }));
        let columns: Vec<ArrayRef> = vec![Arc::new(ids), Arc::new(j), Arc::new(meta)];
        segment.append(RecordBatch::try_new(schema.clone(), columns).unwrap(), 1);
    }
    segment
}

/// What the filter selects by evaluation, over the whole segment.
fn evaluated(segment: &Segment, plan: &Plan) -> Vec<bool> {
    segment
        .batches
        .iter()
        .flat_map(|b| {
            let mask: BooleanArray = plan.evaluate(b).unwrap();
            mask.iter().map(|v| v == Some(true)).collect::<Vec<_>>()
        })
        .collect()
}

/// What the segment's index on the filter's target selects, if one answers it.
fn indexed(segment: &Segment, indexes: &[(ScalarTarget, ScalarIndex)], plan: &Plan) -> Option<Vec<bool>> {
    let term = plan.index_term()?;
    let (_, index) = indexes.iter().find(|(target, _)| target.answers(&term.target, &term.matches))?;
    Some(index.select(&term.matches, segment.rows))
}

const CASTS: [JsonCast; 7] = [
    JsonCast::Bool,
    JsonCast::Double,
    JsonCast::Varchar,
    JsonCast::Json,
    JsonCast::ArrayBool,
    JsonCast::ArrayDouble,
    JsonCast::ArrayVarchar,
];

fn random_scalar(rng: &mut TestRng) -> String {
    match rng.below(9) {
        0 => "null".into(),
        1 => rng.pick(&["true", "false"]).to_string(),
        2 => format!("{}", rng.below(5) as i64 - 2),
        3 => format!("{}.0", rng.below(5) as i64 - 2),
        4 => format!("{}.5", rng.below(3) as i64 - 1),
        5 => rng.pick(&["9007199254740993", "9007199254740992.0", "-0.0", "1e300", "18446744073709551615"]).to_string(),
        6 => format!("\"{}\"", rng.pick(&["", "a", "b", "ab", "1", "é", "B"])),
        7 => "[]".into(),
        _ => r#"{"b": 1}"#.into(),
    }
}

fn random_value(rng: &mut TestRng, depth: u32) -> String {
    match rng.below(if depth == 0 { 4 } else { 2 }) {
        0 | 1 => random_scalar(rng),
        2 => {
            let items: Vec<String> = (0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect();
            format!("[{}]", items.join(", "))
        }
        _ => {
            let keys = ["a", "b", "0"];
            let fields: Vec<String> =
                (0..rng.below(3)).map(|_| format!("\"{}\": {}", rng.pick(&keys), random_value(rng, depth - 1))).collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

fn random_literal(rng: &mut TestRng) -> String {
    match rng.below(7) {
        0 => rng.pick(&["true", "false"]).to_string(),
        1 => format!("{}", rng.below(5) as i64 - 2),
        2 => format!("{}.0", rng.below(5) as i64 - 2),
        3 => rng.pick(&["0.5", "-0.5", "9007199254740993", "9007199254740992.0", "1e300", "-0.0"]).to_string(),
        _ => format!("\"{}\"", rng.pick(&["", "a", "b", "ab", "1", "é", "B"])),
    }
}

fn random_filter(rng: &mut TestRng, path: &str) -> String {
    let list = |rng: &mut TestRng| (0..rng.below(4)).map(|_| random_literal(rng)).collect::<Vec<_>>().join(", ");
    match rng.below(8) {
        0..=2 => format!("{path} {} {}", rng.pick(&["==", "!=", "<", "<=", ">", ">="]), random_literal(rng)),
        3 => format!("{} {} {path} {} {}", random_literal(rng), rng.pick(&["<", "<="]), rng.pick(&["<", "<="]), random_literal(rng)),
        4 => format!("{path} {} [{}]", rng.pick(&["in", "not in"]), list(rng)),
        5 => format!("{}({path}, {})", rng.pick(&["json_contains", "array_contains"]), random_literal(rng)),
        _ => format!("{}({path}, [{}])", rng.pick(&["json_contains_all", "json_contains_any", "array_contains_all"]), list(rng)),
    }
}

/// Results with and without an index are identical: for random documents (nulls,
/// missing keys, arrays, objects, every JSON type, numbers past 2^53) and random tests
/// on an indexed path of every cast, the index either declines or selects exactly the
/// rows evaluation does.
#[test]
fn json_path_indexes_select_exactly_what_evaluation_selects() {
    let mut rng = TestRng::new(seed("json_path_index_equivalence", 12));
    let schema = json_schema();
    let mut answered = 0;
    for _round in 0..60 {
        let docs: Vec<Option<String>> = (0..40)
            .map(|_| match rng.below(10) {
                0 => None,
                1 => Some("{}".into()),
                _ => Some(format!(r#"{{"a": {}}}"#, random_value(&mut rng, 2))),
            })
            .collect();
        let segment = json_segment(&docs, 1 + rng.below(25) as usize);
        for (column, path_text) in [("j", "j['a']"), ("$meta", "k['a']"), ("j", "j['a'][0]"), ("$meta", "$meta['k']['a']['b']")] {
            let (resolved, path) = quiver_expr::json_path_of(path_text, &schema).unwrap().unwrap();
            assert_eq!(resolved, column);
            let targets: Vec<(Vec<PathStep>, JsonCast)> = CASTS.iter().map(|c| (path.clone(), *c)).collect();
            let built = ScalarIndex::build_json(&segment, column, &targets).unwrap();
            let indexes: Vec<(ScalarTarget, ScalarIndex)> = targets
                .into_iter()
                .zip(built)
                .map(|((path, cast), index)| (ScalarTarget::JsonPath { column: column.into(), path, cast }, index))
                .collect();
            for _ in 0..40 {
                let filter = random_filter(&mut rng, path_text);
                let Ok(plan) = Plan::compile(&filter, &schema, &HashMap::new()) else { continue };
                let Some(by_index) = indexed(&segment, &indexes, &plan) else { continue };
                answered += 1;
                assert_eq!(by_index, evaluated(&segment, &plan), "filter {filter} over {docs:?}");
            }
        }
    }
    assert!(answered > 2_000, "the index answered only {answered} filters");
}

#[test]
fn json_casts_index_only_their_type_and_count_other_values_as_present() {
    let docs: Vec<Option<String>> = [r#"{"a": 1}"#, r#"{"a": "1"}"#, r#"{"a": null}"#, "{}", r#"{"a": [1, "x", 1]}"#, r#"{"a": 1.0}"#]
        .iter()
        .map(|d| Some(d.to_string()))
        .chain([None])
        .collect();
    let segment = json_segment(&docs, 4);
    let path = vec![PathStep::Key("a".into())];
    let built = ScalarIndex::build_json(&segment, "j", &[(path.clone(), JsonCast::Double), (path, JsonCast::ArrayVarchar)]).unwrap();
    let (double, strings) = (&built[0], &built[1]);
    assert_eq!(double.select(&TermMatch::AnyOf(vec![num(1)]), 7), [true, false, false, false, false, true, false]);
    // `!=` holds for present values of other types, never for nulls or missing keys.
    assert_eq!(double.select(&TermMatch::NoneOf(vec![num(1)]), 7), [false, true, false, false, true, false, false]);
    let x = TermValue::Str("x".into());
    assert_eq!(
        strings.select(&TermMatch::Contains { all: false, values: vec![x.clone()] }, 7),
        [false, false, false, false, true, false, false]
    );
    assert_eq!(strings.select(&TermMatch::Contains { all: true, values: vec![] }, 7), [false, false, false, false, true, false, false]);
}
