//! The expression language end to end: text → plan → evaluation over a batch holding
//! every field type, nulls and a dynamic field, checked against hand-computed rows;
//! error messages; and a seeded property test against a row-by-row reference.
//! [`depth`] runs the worst-case shapes on a small stack; [`fuzz`] throws random input
//! at the whole pipeline; [`spatial`] covers the `ST_*` functions on Geometry fields.

#[path = "expr/depth.rs"]
mod depth;
#[path = "expr/fuzz.rs"]
mod fuzz;
#[path = "expr/spatial.rs"]
mod spatial;

use arrow_array::Array;
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::Int64Type;
use arrow_array::{
    ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray,
    RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use quiver_expr::{ExprError, Pks, Plan, TemplateValue, parse};
use quiver_format::columns::arrow_schema;
use quiver_format::schema::{CollectionSchema, DataType, FieldSchema};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

fn field(name: &str, data_type: DataType, nullable: bool) -> FieldSchema {
    let mut f = FieldSchema::new(name, data_type);
    f.nullable = nullable;
    f
}

fn array_field(name: &str, element: DataType, nullable: bool) -> FieldSchema {
    let mut f = field(name, DataType::Array, nullable).with_param("max_capacity", 8).with_param("max_length", 16);
    f.element_type = Some(element);
    f
}

fn schema(dynamic: bool) -> CollectionSchema {
    let mut id = field("id", DataType::Int64, false);
    id.is_primary_key = true;
    CollectionSchema {
        name: "c".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: dynamic,
        fields: vec![
            id,
            field("age", DataType::Int32, true),
            field("small", DataType::Int8, false),
            field("mid", DataType::Int16, false),
            field("score", DataType::Float, false),
            field("ratio", DataType::Double, false),
            field("flag", DataType::Bool, true),
            field("name", DataType::VarChar, true).with_param("max_length", 16),
            field("info", DataType::Json, true),
            array_field("tags", DataType::VarChar, false),
            array_field("nums", DataType::Int64, true),
            field("vec", DataType::FloatVector, false).with_param("dim", 2),
        ],
        version: 0,
    }
    .validated()
    .unwrap()
}

/// Six rows; ids 1..=6. See each column for the values the expectations rely on.
fn batch() -> RecordBatch {
    let schema = schema(true);
    let mut tags = ListBuilder::new(StringBuilder::new());
    for row in [&["red", "blue"][..], &["green"], &[], &["red"], &["blue", "green", "red"], &["x"]] {
        for tag in row {
            tags.values().append_value(tag);
        }
        tags.append(true);
    }
    let nums = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), Some(2), Some(3)]),
        Some(vec![Some(4), Some(5)]),
        None,
        Some(vec![]),
        Some(vec![Some(3), Some(3)]),
        Some(vec![Some(10)]),
    ]);
    let vectors = FixedSizeListArray::new(
        Arc::new(Field::new("item", ArrowType::Float32, false)),
        2,
        Arc::new(Float32Array::from(vec![0.0; 12])),
        None,
    );
    let info = [
        Some(r#"{"a": {"b": 1}, "arr": [1, 2, 3], "s": "x"}"#),
        Some(r#"{"a": {"b": 2}, "arr": [4], "s": "y"}"#),
        None,
        Some(r#"{"a": {"b": "str"}, "arr": []}"#),
        Some(r#"{"a": {}}"#),
        Some(r#"{"a": {"b": 2.5}, "arr": [1, "two", [3]], "s": "xyz"}"#),
    ];
    let meta = [
        r#"{"color": "red", "size": 10}"#,
        r#"{"color": "blue", "size": 20, "extra": true}"#,
        r#"{"size": 30.5}"#,
        r#"{"color": "red", "nested": {"k": [1, 2]}}"#,
        r#"{}"#,
        r#"{"color": null, "size": "big"}"#,
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6])),
        Arc::new(Int32Array::from(vec![Some(10), None, Some(30), Some(40), None, Some(60)])),
        Arc::new(Int8Array::from(vec![-1, 0, 1, 2, 3, 127])),
        Arc::new(Int16Array::from(vec![100, 200, 300, 400, 500, 600])),
        Arc::new(Float32Array::from(vec![0.1, 0.5, 1.5, 2.5, -1.0, 3.0])),
        Arc::new(Float64Array::from(vec![0.25, 1.0, 2.0, 3.5, 1e10, -2.0])),
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None, Some(true), Some(false), Some(true)])),
        Arc::new(StringArray::from(vec![Some("apple"), Some("banana"), None, Some("apricot"), Some("cherry"), Some("a_b%c")])),
        Arc::new(StringArray::from(info.to_vec())),
        Arc::new(tags.finish()),
        Arc::new(nums),
        Arc::new(vectors),
        Arc::new(StringArray::from(meta.to_vec())),
        Arc::new(UInt64Array::from(vec![1u64; 6])),
    ];
    RecordBatch::try_new(arrow_schema(&schema), columns).unwrap()
}

fn ids_of(batch: &RecordBatch, matches: &BooleanArray) -> Vec<i64> {
    assert_eq!(matches.null_count(), 0, "evaluate never returns nulls");
    let ids = batch.column_by_name("id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
    (0..matches.len()).filter(|&i| matches.value(i)).map(|i| ids.value(i)).collect()
}

fn rows_with(text: &str, templates: &HashMap<String, TemplateValue>) -> Vec<i64> {
    let plan = Plan::compile(text, &schema(true), templates).unwrap_or_else(|e| panic!("{text}: {e}"));
    let batch = batch();
    ids_of(&batch, &plan.evaluate(&batch).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn rows(text: &str) -> Vec<i64> {
    rows_with(text, &HashMap::new())
}

fn check(cases: &[(&str, &[i64])]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(text, expected)| {
            let got = rows(text);
            (got != *expected).then(|| format!("{text}: expected {expected:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn error(text: &str, schema: &CollectionSchema) -> ExprError {
    Plan::compile(text, schema, &HashMap::new()).expect_err(text)
}

fn message(text: &str) -> String {
    error(text, &schema(true)).to_string()
}

#[test]
fn comparisons_on_every_type() {
    check(&[
        ("id == 3", &[3]),
        ("3 == id", &[3]),
        ("id != 3", &[1, 2, 4, 5, 6]),
        ("id >= 5", &[5, 6]),
        ("2 > id", &[1]),
        ("age > 20", &[3, 4, 6]),
        ("age != 30", &[1, 4, 6]),
        ("age <= 30", &[1, 3]),
        ("small < 1", &[1, 2]),
        ("small == 127", &[6]),
        ("small > 200", &[]),
        ("mid >= 400", &[4, 5, 6]),
        ("score == 0.1", &[1]),
        ("score > 1", &[3, 4, 6]),
        ("score < 0", &[5]),
        ("ratio <= 1", &[1, 2, 6]),
        ("ratio > 1e9", &[5]),
        ("flag == true", &[1, 4, 6]),
        ("flag != true", &[2, 5]),
        ("flag == False", &[2, 5]),
        ("flag", &[1, 4, 6]),
        ("not flag", &[2, 5]),
        ("name == 'apple'", &[1]),
        ("name == \"apple\"", &[1]),
        ("name > 'b'", &[2, 5]),
        ("name <= 'apricot'", &[1, 4, 6]),
        // Integers against floats compare exactly.
        ("age > 29.5", &[3, 4, 6]),
        ("age == 30.0", &[3]),
        ("age == 30.5", &[]),
        ("age < 30.5", &[1, 3]),
        ("age >= 30.5", &[4, 6]),
        ("id < 1e30", &[1, 2, 3, 4, 5, 6]),
        ("id > -1e30", &[1, 2, 3, 4, 5, 6]),
        // Two fields.
        ("age < mid", &[1, 3, 4, 6]),
        ("score < ratio", &[1, 2, 3, 4, 5]),
        ("id == small + 2", &[1, 2, 3, 4, 5]),
        ("id < age", &[1, 3, 4, 6]),
        // Constants.
        ("true", &[1, 2, 3, 4, 5, 6]),
        ("false", &[]),
        ("", &[1, 2, 3, 4, 5, 6]),
        ("1 < 2", &[1, 2, 3, 4, 5, 6]),
    ]);
}

#[test]
fn logic_precedence_and_ranges() {
    check(&[
        ("id == 1 or id == 2 and id == 3", &[1]),
        ("(id == 1 or id == 2) and id == 2", &[2]),
        ("id == 1 || id == 2 && id == 2", &[1, 2]),
        ("not id == 1 and id < 3", &[2]),
        ("!(id == 1) && id < 3", &[2]),
        ("NOT (id > 2) AND id != 1", &[2]),
        ("id < 2 OR id > 5", &[1, 6]),
        ("1 < id < 4", &[2, 3]),
        ("1 <= id < 4", &[1, 2, 3]),
        ("5 >= id > 2", &[3, 4, 5]),
        ("10 >= mid / 100 > 2", &[3, 4, 5, 6]),
        ("1 <= age <= 40", &[1, 3, 4]),
        ("0 < size < 25", &[1, 2]),
    ]);
}

#[test]
fn in_and_not_in() {
    check(&[
        ("id in [1, 3, 9]", &[1, 3]),
        ("id IN [1, 3, 9,]", &[1, 3]),
        ("id not in [1, 3]", &[2, 4, 5, 6]),
        ("id in []", &[]),
        ("id not in []", &[1, 2, 3, 4, 5, 6]),
        ("name in ['apple', \"cherry\"]", &[1, 5]),
        ("name not in ['apple']", &[2, 4, 5, 6]),
        ("age in [10, 30.0, 40.5]", &[1, 3]),
        ("age not in [10]", &[3, 4, 6]),
        ("score in [0.1, 3]", &[1, 6]),
        ("flag in [false]", &[2, 5]),
        ("color in ['red', 'green']", &[1, 4]),
        ("color not in ['red']", &[2]),
        ("size in [10, 30.5, 'big']", &[1, 3, 6]),
        ("info['s'] in ['x', 'y']", &[1, 2]),
    ]);
}

#[test]
fn like_patterns() {
    check(&[
        ("name like 'ap%'", &[1, 4]),
        ("name LIKE '%y'", &[5]),
        ("name like '%an%'", &[2]),
        ("name like '_pple'", &[1]),
        ("name like 'a%t'", &[4]),
        ("name like 'a\\_b\\%c'", &[6]),
        ("name like 'a_b%'", &[6]),
        ("name like '%'", &[1, 2, 4, 5, 6]),
        ("name like 'apple'", &[1]),
        ("name not like 'a%'", &[2, 5]),
        ("info['s'] like 'x%'", &[1, 6]),
        ("color like 'r%'", &[1, 4]),
        ("size like '%'", &[6]),
    ]);
}

#[test]
fn nulls_are_unknown() {
    check(&[
        ("age is null", &[2, 5]),
        ("age IS NULL", &[2, 5]),
        ("age is not null", &[1, 3, 4, 6]),
        ("age IS NOT NULL", &[1, 3, 4, 6]),
        ("not (age > 20)", &[1]),
        ("not (age > 20) or age is null", &[1, 2, 5]),
        ("not not (age > 20)", &[3, 4, 6]),
        ("age > 20 or id == 2", &[2, 3, 4, 6]),
        ("not (age > 20 and id == 2)", &[1, 3, 4, 5, 6]),
        ("name is null", &[3]),
        ("name != 'apple'", &[2, 4, 5, 6]),
        ("flag is null", &[3]),
        ("info is null", &[3]),
        ("info['s'] is null", &[3, 4, 5]),
        ("info['s'] is not null", &[1, 2, 6]),
        ("color is null", &[3, 5, 6]),
        ("color != 'red'", &[2]),
        ("not (color == 'red')", &[2]),
        ("nums is null", &[3]),
        ("id is null", &[]),
        ("id is not null", &[1, 2, 3, 4, 5, 6]),
        ("age + 1 is null", &[2, 5]),
        ("exists color", &[1, 2, 4, 6]),
        ("exists $meta['nested']['k']", &[4]),
        ("exists info['s']", &[1, 2, 6]),
    ]);
}

#[test]
fn json_paths_and_dynamic_keys() {
    check(&[
        ("info['a']['b'] == 2", &[2]),
        ("info[\"a\"][\"b\"] >= 2", &[2, 6]),
        ("info['a']['b'] == 'str'", &[4]),
        ("info['a']['b'] > 'a'", &[4]),
        ("info['a']['b'] != 2", &[1, 4, 6]),
        ("info['arr'][0] == 1", &[1, 6]),
        ("info['arr'][1] == 'two'", &[6]),
        ("info['arr'][2][0] == 3", &[6]),
        ("info['arr'] == [1, 2, 3]", &[1]),
        ("info['arr'] == [1, 2, 3.0]", &[1]),
        ("info['arr'] != [1, 2, 3]", &[2, 4, 6]),
        ("$meta['size'] > 15", &[2, 3]),
        ("size > 15", &[2, 3]),
        ("size == 'big'", &[6]),
        ("size < 'c'", &[6]),
        ("nested['k'][1] == 2", &[4]),
        ("$meta['nested']['k'][0] == 1", &[4]),
        ("extra", &[2]),
        ("extra == true", &[2]),
        ("color == 'red' and size == 10", &[1]),
        ("missing_key == 1", &[]),
        ("not (missing_key == 1)", &[]),
        ("size > age", &[3]),
        ("color == name", &[]),
    ]);
}

#[test]
fn array_functions() {
    check(&[
        ("array_contains(tags, 'red')", &[1, 4, 5]),
        ("ARRAY_CONTAINS(tags, \"red\")", &[1, 4, 5]),
        ("array_contains_all(tags, ['red', 'blue'])", &[1, 5]),
        ("array_contains_any(tags, ['green', 'x'])", &[2, 5, 6]),
        ("not array_contains(tags, 'red')", &[2, 3, 6]),
        ("array_contains(nums, 3)", &[1, 5]),
        ("array_contains(nums, 3.0)", &[1, 5]),
        ("array_contains(nums, 1.5)", &[]),
        ("not array_contains(nums, 3)", &[2, 4, 6]),
        ("array_contains_all(nums, [])", &[1, 2, 4, 5, 6]),
        ("array_contains_any(nums, [])", &[]),
        ("array_contains_all(nums, [3, 3.5])", &[]),
        ("array_contains_any(nums, [5, 10])", &[2, 6]),
        ("array_length(tags) == 1", &[2, 4, 6]),
        ("array_length(tags) == 0", &[3]),
        ("array_length(nums) >= 2", &[1, 2, 5]),
        ("array_length(nums) is null", &[3]),
        ("tags[0] == 'red'", &[1, 4]),
        ("tags[2] == 'red'", &[5]),
        ("nums[1] > 3", &[2]),
        ("nums[5] is null", &[1, 2, 3, 4, 5, 6]),
        ("tags == ['red', 'blue']", &[1]),
        ("tags != ['red', 'blue']", &[2, 3, 4, 5, 6]),
        ("nums == []", &[4]),
        ("json_contains(info['arr'], 1)", &[1, 6]),
        ("json_contains_any(info['arr'], [4, 'two'])", &[2, 6]),
        ("json_contains_all(info['arr'], [1, 2])", &[1]),
        ("array_contains(info['arr'], [3])", &[6]),
        ("array_length(info['arr']) == 0", &[4]),
        ("array_length(nested['k']) == 2", &[4]),
        ("json_contains(nested['k'], 2)", &[4]),
        ("not json_contains(info['s'], 1)", &[]),
    ]);
}

#[test]
fn arithmetic() {
    check(&[
        ("age + 1 == 31", &[3]),
        ("mid * 2 > 1000", &[6]),
        ("mid % 200 == 0", &[2, 4, 6]),
        ("mid / 100 == 3", &[3]),
        // Integer division truncates.
        ("mid / 7 == 42", &[3]),
        ("mid / 7 == 57", &[4]),
        ("id - 1 == 0", &[1]),
        ("score * 2 > 4", &[4, 6]),
        ("ratio / 2 == 0.125", &[1]),
        ("size * 2 > 40", &[3]),
        ("size + 1 > 11", &[2, 3]),
        ("size % 3 == 1", &[1]),
        ("-id < -4", &[5, 6]),
        ("-(id) == -2", &[2]),
        ("id ** 2 == 16", &[4]),
        ("2 * (id + 1) == 8", &[3]),
        ("id + 2 * 3 == 9", &[3]),
        ("id > 2 * 2", &[5, 6]),
        ("id == 10 - 7", &[3]),
        // Overflow makes the row unknown instead of wrapping.
        ("small * 9223372036854775807 > 0", &[3]),
        ("small * 9223372036854775807 is null", &[4, 5, 6]),
        ("info['a']['b'] * 2 == 5", &[6]),
        ("id in [1 + 1, -(-3)]", &[2, 3]),
    ]);
}

/// Sliced batches carry offsets in every buffer (values, validity, list offsets); the
/// result must not depend on them.
#[test]
fn sliced_batches_match_the_whole() {
    let full = batch();
    let texts = [
        "age > 20",
        "not (age > 20)",
        "score == 0.1",
        "flag",
        "name like 'a%'",
        "name in ['banana', 'cherry']",
        "small in [1, 2, 3]",
        "age is null",
        "array_contains(tags, 'red')",
        "array_length(nums) >= 2",
        "nums[1] > 3",
        "tags == ['red']",
        "size > 15 or color == 'red'",
        "info['a']['b'] >= 2",
        "age + 1 > 11",
        "age < mid",
    ];
    for text in texts {
        let plan = Plan::compile(text, &schema(true), &HashMap::new()).unwrap();
        let whole = plan.evaluate(&full).unwrap();
        for (offset, len) in [(0, 0), (1, 4), (2, 3), (5, 1)] {
            let part = plan.evaluate(&full.slice(offset, len)).unwrap();
            let expected: Vec<bool> = (offset..offset + len).map(|i| whole.value(i)).collect();
            let got: Vec<bool> = (0..len).map(|i| part.value(i)).collect();
            assert_eq!(got, expected, "{text} on rows {offset}..{}", offset + len);
        }
    }
}

#[test]
fn plans_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Plan>();
    assert_send_sync::<ExprError>();
}

#[test]
fn templates() {
    let templates: HashMap<String, TemplateValue> = HashMap::from([
        ("ids".into(), TemplateValue::Array(vec![TemplateValue::Int(2), TemplateValue::Int(4)])),
        ("n".into(), TemplateValue::String("cherry".into())),
        ("x".into(), TemplateValue::Float(25.5)),
        ("t".into(), TemplateValue::Array(vec![TemplateValue::String("x".into()), TemplateValue::String("green".into())])),
        ("j".into(), TemplateValue::Json(serde_json::json!(2))),
        ("arr".into(), TemplateValue::Json(serde_json::json!([1, 2, 3]))),
        ("yes".into(), TemplateValue::Bool(true)),
        ("p".into(), TemplateValue::String("ap%".into())),
    ]);
    let cases: [(&str, &[i64]); 9] = [
        ("id in {ids}", &[2, 4]),
        ("id in { ids }", &[2, 4]),
        ("name == {n}", &[5]),
        ("age > {x}", &[3, 4, 6]),
        ("array_contains_any(tags, {t})", &[2, 5, 6]),
        ("info['a']['b'] == {j}", &[2]),
        ("info['arr'] == {arr}", &[1]),
        ("flag == {yes}", &[1, 4, 6]),
        ("name like {p}", &[1, 4]),
    ];
    for (text, expected) in cases {
        assert_eq!(rows_with(text, &templates), expected, "{text}");
    }
    let err = Plan::compile("id in {missing}", &schema(true), &templates).unwrap_err();
    assert_eq!(err, ExprError::UnknownTemplate { name: "missing".into() });
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn primary_keys() {
    let pks = |text: &str| Plan::compile(text, &schema(true), &HashMap::new()).unwrap().primary_keys();
    assert_eq!(pks("id in [3, 1, 3]"), Some(Pks::Int(vec![1, 3])));
    assert_eq!(pks("id == 5 or id in [2]"), Some(Pks::Int(vec![2, 5])));
    assert_eq!(pks("2 == id"), Some(Pks::Int(vec![2])));
    assert_eq!(pks("(id == 1) || (id == 7)"), Some(Pks::Int(vec![1, 7])));
    assert_eq!(pks("id in []"), Some(Pks::Int(vec![])));
    assert_eq!(pks("id == 1 and age > 3"), None);
    assert_eq!(pks("id == 1 or age > 3"), None);
    assert_eq!(pks("id > 1"), None);
    assert_eq!(pks("id not in [1]"), None);
    assert_eq!(pks("age == 1"), None);
    assert_eq!(pks(""), None);

    let mut pk = field("pk", DataType::VarChar, false).with_param("max_length", 8);
    pk.is_primary_key = true;
    let varchar = CollectionSchema {
        name: "s".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: false,
        fields: vec![pk, field("v", DataType::FloatVector, false).with_param("dim", 2)],
        version: 0,
    }
    .validated()
    .unwrap();
    let plan = Plan::compile("pk in ['b', 'a'] or pk == 'c'", &varchar, &HashMap::new()).unwrap();
    assert_eq!(plan.primary_keys(), Some(Pks::Str(vec!["a".into(), "b".into(), "c".into()])));
}

#[test]
fn columns_and_projection() {
    let plan = Plan::compile("age > 1 and color == 'red' or array_contains(tags, 'x')", &schema(true), &HashMap::new()).unwrap();
    assert_eq!(plan.columns(), BTreeSet::from(["$meta".to_string(), "age".into(), "tags".into()]));
    assert!(Plan::compile("", &schema(true), &HashMap::new()).unwrap().columns().is_empty());

    // A batch holding only the referenced columns is enough.
    let full = batch();
    let wanted = ["age", "$meta"];
    let fields: Vec<Field> = wanted.iter().map(|n| full.schema().field_with_name(n).unwrap().clone()).collect();
    let columns: Vec<ArrayRef> = wanted.iter().map(|n| full.column_by_name(n).unwrap().clone()).collect();
    let projected = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let plan = Plan::compile("age > 1 and color == 'red'", &schema(true), &HashMap::new()).unwrap();
    let matches = plan.evaluate(&projected).unwrap();
    assert_eq!((0..6).filter(|&i| matches.value(i)).collect::<Vec<_>>(), [0, 3]);

    let plan = Plan::compile("name == 'x'", &schema(true), &HashMap::new()).unwrap();
    assert_eq!(plan.evaluate(&projected).unwrap_err(), ExprError::MissingColumn { name: "name".into() });
}

#[test]
fn syntax_errors_name_the_token_and_position() {
    assert_eq!(message("(id > 1"), "invalid expression at position 7: expected ')' to close '(' at position 0, found end of expression");
    assert_eq!(message("id > 1)"), "invalid expression at position 6: unexpected token ')' without a matching '('");
    assert_eq!(message("id > 1 2"), "invalid expression at position 7: unexpected token '2' after a complete expression");
    assert_eq!(message("id > 1 and"), "invalid expression at position 10: unexpected end of expression");
    assert_eq!(
        message("id in [1, 2"),
        "invalid expression at position 11: expected ',' or ']' to close the list opened at position 6, found end of expression"
    );
    let err = parse("((a == 1) or (b == 2)").unwrap_err();
    assert!(matches!(&err, ExprError::Syntax { position: 21, token, .. } if token == "<end>"), "{err:?}");
    let err = parse("a > )").unwrap_err();
    assert!(matches!(&err, ExprError::Syntax { position: 4, token, .. } if token == ")"), "{err:?}");
    assert!(message("a == 'unterminated").contains("unterminated string literal starting at position 5"));
    assert!(message("a =! 1").contains("'=='"));
    assert!(message("a[x] == 1").contains("a path index must be a string or a non-negative integer"));
}

#[test]
fn planning_errors_say_what_was_wrong() {
    let strict = schema(false);
    assert_eq!(error("foo > 1", &strict), ExprError::UnknownField { name: "foo".into() });
    assert_eq!(error("foo > 1", &strict).to_string(), "field foo not exist");
    assert_eq!(error("$meta['k'] == 1", &strict).to_string(), "field $meta not exist");
    assert_eq!(message("$ts > 1"), "field $ts not exist");

    assert_eq!(message("name == 5"), "cannot compare `name` (VarChar) with `5` (Int64) in `name == 5`");
    assert_eq!(message("5 < name"), "cannot compare `5` (Int64) with `name` (VarChar) in `5 < name`");
    assert_eq!(message("age == 'x'"), "cannot compare `age` (Int32) with `\"x\"` (VarChar) in `age == \"x\"`");
    assert_eq!(message("name in ['a', 1]"), "cannot compare `name` (VarChar) with `1` (Int64) in `name in [\"a\", 1]`");
    assert!(matches!(error("tags == 'red'", &strict), ExprError::TypeMismatch { .. }));
    assert!(matches!(error("array_contains(nums, 'x')", &strict), ExprError::TypeMismatch { .. }));
    assert!(matches!(error("flag > true", &strict), ExprError::InvalidOperand { .. }));

    assert_eq!(message("age like 'a%'"), "like expects a VarChar field or a JSON path, but `age` is Int32");
    assert_eq!(message("name + 1 > 2"), "operator + expects numbers, but `name` is VarChar");
    assert_eq!(message("score % 2 == 1"), "operator % expects integers, but `score` is Float");
    assert_eq!(message("array_contains(age, 1)"), "function array_contains expects an Array field or a JSON path, but `age` is Int32");
    assert_eq!(message("array_length(age) == 1"), "function array_length expects an Array field or a JSON path, but `age` is Int32");
    assert!(message("foo(id)").starts_with("function foo is not supported; supported functions are array_contains"));
    assert_eq!(message("array_contains(tags)"), "function array_contains takes 2 argument(s), but 1 were given");
    assert_eq!(message("age"), "`age` is Int32, not a boolean expression");
    assert_eq!(message("id + 1"), "`id + 1` is Int64, not a boolean expression");
    assert_eq!(message("array_length(tags)"), "`array_length(tags)` is Int64, not a boolean expression");
    assert_eq!(message("id in 5"), "in expects a list of values, but `5` is Int64");
    assert_eq!(message("id / 0 > 1"), "division by zero in `id / 0`");
    assert_eq!(message("id > 9223372036854775807 + 1"), "integer overflow in `9223372036854775807 + 1`");
    assert_eq!(message("age['k'] == 1"), "field age of type Int32 cannot be indexed; only JSON and Array fields can");
    assert_eq!(message("tags['k'] == 1"), "array field tags must be indexed by one non-negative integer, got `[\"k\"]`");
    assert_eq!(message("vec == 1"), "filtering on vector field vec is not supported");
    assert_eq!(message("(id > 1) == true"), "using the boolean expression `id > 1` as a value is not supported");
    assert_eq!(message("id in [age]"), "a list expects literal values, but `age` is Int32");
    assert_eq!(message("id & 1 == 1"), "bitwise operator '&' is not supported");
    assert_eq!(message("1 is null"), "`is null` on the literal `1` is not supported");
}

#[test]
fn evaluation_errors() {
    let schema = schema(true);
    let plan = Plan::compile("color == 'red'", &schema, &HashMap::new()).unwrap();
    let bad = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("$meta", ArrowType::Utf8, false)])),
        vec![Arc::new(StringArray::from(vec!["{\"color\": \"red\"}", "{oops"]))],
    )
    .unwrap();
    let err = plan.evaluate(&bad).unwrap_err();
    assert!(matches!(&err, ExprError::InvalidJson { row: 1, .. }), "{err:?}");

    let plan = Plan::compile("age > 1", &schema, &HashMap::new()).unwrap();
    let wrong = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("age", ArrowType::Utf8, false)])),
        vec![Arc::new(StringArray::from(vec!["1"]))],
    )
    .unwrap();
    assert!(matches!(plan.evaluate(&wrong), Err(ExprError::ColumnType { .. })));
}

#[test]
fn category_equality_over_100k_rows_is_fast() {
    let mut pk = field("pk", DataType::Int64, false);
    pk.is_primary_key = true;
    let schema = CollectionSchema {
        name: "big".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: false,
        fields: vec![pk, field("category", DataType::Int64, false), field("v", DataType::FloatVector, false).with_param("dim", 2)],
        version: 0,
    }
    .validated()
    .unwrap();
    let n = 100_000;
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("category", ArrowType::Int64, false)])),
        vec![Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 10)))],
    )
    .unwrap();
    let plan = Plan::compile("category == 3", &schema, &HashMap::new()).unwrap();
    let start = std::time::Instant::now();
    let matches = plan.evaluate(&batch).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(matches.true_count(), (n / 10) as usize);
    // Generous so unoptimised test builds pass; release builds take tens of µs.
    assert!(elapsed < std::time::Duration::from_millis(200), "took {elapsed:?}");
}

/// A small deterministic generator (PCG-style LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

#[derive(Clone, Copy)]
struct Row {
    a: Option<i64>,
    b: f64,
    c: Option<&'static str>,
}

const WORDS: [&str; 5] = ["ant", "bee", "cat", "dog", "eel"];
const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

fn apply(op: &str, ordering: Option<std::cmp::Ordering>) -> Option<bool> {
    use std::cmp::Ordering::*;
    let o = ordering?;
    Some(match op {
        "==" => o == Equal,
        "!=" => o != Equal,
        "<" => o == Less,
        "<=" => o != Greater,
        ">" => o == Greater,
        _ => o != Less,
    })
}

/// The reference meaning of a predicate: true, false or unknown for one row.
type Reference = Box<dyn Fn(&Row) -> Option<bool>>;

/// Kleene `and`: false if any is false, else unknown if any is unknown.
fn kleene_and(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for value in values {
        match value {
            Some(false) => return Some(false),
            Some(true) => {}
            None => unknown = true,
        }
    }
    if unknown { None } else { Some(true) }
}

/// Kleene `or`: true if any is true, else unknown if any is unknown.
fn kleene_or(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    kleene_and(values.into_iter().map(|v| v.map(|b| !b))).map(|b| !b)
}

/// A random predicate as (text, reference evaluation per row).
fn random_predicate(rng: &mut Lcg, depth: u32) -> (String, Reference) {
    let choice = if depth == 0 { rng.below(6) } else { rng.below(10) };
    match choice {
        0 => {
            let (op, k) = (OPS[rng.below(6) as usize], rng.int(-12, 12));
            (format!("a {op} {k}"), Box::new(move |r: &Row| apply(op, r.a.map(|a| a.cmp(&k)))))
        }
        1 => {
            let (op, k) = (OPS[rng.below(6) as usize], rng.int(-24, 24) as f64 / 2.0);
            let k_text = if k.fract() == 0.0 { format!("{k:.1}") } else { format!("{k}") };
            (format!("a {op} {k_text}"), Box::new(move |r: &Row| apply(op, r.a.and_then(|a| (a as f64).partial_cmp(&k)))))
        }
        2 => {
            let (op, k) = (OPS[rng.below(6) as usize], rng.int(-10, 10));
            (format!("{k} {op} b"), Box::new(move |r: &Row| apply(op, (k as f64).partial_cmp(&r.b))))
        }
        3 => {
            let (op, word) = (OPS[rng.below(6) as usize], WORDS[rng.below(5) as usize]);
            (format!("c {op} '{word}'"), Box::new(move |r: &Row| apply(op, r.c.map(|c| c.cmp(word)))))
        }
        4 => {
            let list: Vec<i64> = (0..rng.below(4)).map(|_| rng.int(-5, 5)).collect();
            let negated = rng.below(2) == 0;
            let text = format!("a {}in {:?}", if negated { "not " } else { "" }, list);
            (text, Box::new(move |r: &Row| r.a.map(|a| list.contains(&a) != negated)))
        }
        5 => {
            let (op, k, m) = (OPS[rng.below(6) as usize], rng.int(-6, 6), rng.int(1, 4));
            (format!("a * {m} + 1 {op} {k}"), Box::new(move |r: &Row| apply(op, r.a.map(|a| (a * m + 1).cmp(&k)))))
        }
        6 | 7 => {
            let or = choice == 7;
            let (l, lf) = random_predicate(rng, depth - 1);
            let (r, rf) = random_predicate(rng, depth - 1);
            let text = format!("({l}) {} ({r})", if or { "or" } else { "and" });
            let junction = if or { kleene_or } else { kleene_and };
            (text, Box::new(move |row: &Row| junction([lf(row), rf(row)])))
        }
        8 => {
            // A long flat chain mixing `and` and `or` without parentheses: `and` binds
            // tighter, so the chain is an `or` of `and` groups.
            let mut text = String::new();
            let mut groups: Vec<Vec<Reference>> = vec![Vec::new()];
            for i in 0..rng.int(2, 40) {
                if i > 0 {
                    let or = rng.below(3) == 0;
                    text.push_str([[" and ", " && "], [" or ", " || "]][usize::from(or)][rng.below(2) as usize]);
                    if or {
                        groups.push(Vec::new());
                    }
                }
                let (term, f) = random_predicate(rng, 0);
                text.push_str(&term);
                groups.last_mut().unwrap().push(f);
            }
            (text, Box::new(move |row: &Row| kleene_or(groups.iter().map(|group| kleene_and(group.iter().map(|f| f(row)))))))
        }
        _ => {
            let (inner, f) = random_predicate(rng, depth - 1);
            (format!("not ({inner})"), Box::new(move |row: &Row| f(row).map(|v| !v)))
        }
    }
}

#[test]
fn random_predicates_match_a_row_by_row_reference() {
    let mut pk = field("pk", DataType::Int64, false);
    pk.is_primary_key = true;
    let schema = CollectionSchema {
        name: "p".into(),
        description: String::new(),
        auto_id: false,
        enable_dynamic_field: false,
        fields: vec![
            pk,
            field("a", DataType::Int64, true),
            field("b", DataType::Double, false),
            field("c", DataType::VarChar, true).with_param("max_length", 8),
            field("v", DataType::FloatVector, false).with_param("dim", 2),
        ],
        version: 0,
    }
    .validated()
    .unwrap();
    let mut rng = Lcg(0x5eed_2024);
    let rows: Vec<Row> = (0..300)
        .map(|_| Row {
            a: (rng.below(8) != 0).then(|| rng.int(-10, 10)),
            b: rng.int(-20, 20) as f64 / 2.0,
            c: (rng.below(6) != 0).then(|| WORDS[rng.below(5) as usize]),
        })
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("a", ArrowType::Int64, true),
            Field::new("b", ArrowType::Float64, false),
            Field::new("c", ArrowType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(rows.iter().map(|r| r.a).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.b).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.c).collect::<Vec<_>>())),
        ],
    )
    .unwrap();
    for case in 0..400 {
        let (text, reference) = random_predicate(&mut rng, 2);
        let plan = Plan::compile(&text, &schema, &HashMap::new()).unwrap_or_else(|e| panic!("case {case} `{text}`: {e}"));
        let matches = plan.evaluate(&batch).unwrap();
        for (i, row) in rows.iter().enumerate() {
            let expected = reference(row) == Some(true);
            assert_eq!(matches.value(i), expected, "case {case} `{text}` row {i} (a={:?}, b={}, c={:?})", row.a, row.b, row.c);
        }
    }
}
