//! Adding a field to an existing collection: rows stored before it (sealed, growing, in
//! the WAL) read it as null or its default, rows written after carry it, and it survives
//! flush, compaction, a restart, and a snapshot and its restore.

use crate::env::{DB, Env};
use arrow_array::{Array, ArrayRef, Int64Array};
use quiver_engine::restore::JobState;
use quiver_engine::schema::{DataType, DefaultValue, FieldSchema};
use quiver_engine::{EngineError, QueryRequest};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `pk -> score` (None for null) of every row.
async fn scores(env: &Env, name: &str) -> BTreeMap<i64, Option<i64>> {
    let request = QueryRequest { output_fields: vec!["pk".into(), "score".into()], limit: Some(16_384), ..Default::default() };
    let out = env.engine().query(DB, name, &[], request).await.unwrap();
    let column = |name: &str| out.columns.iter().find(|c| c.field.as_ref().is_some_and(|f| f.name == name)).unwrap().array.clone();
    let (pks, scores) = (column("pk"), column("score"));
    let pks = pks.as_any().downcast_ref::<Int64Array>().unwrap();
    let scores = scores.as_any().downcast_ref::<Int64Array>().unwrap();
    (0..pks.len()).map(|i| (pks.value(i), scores.is_valid(i).then(|| scores.value(i)))).collect()
}

fn score_field(default: Option<i64>) -> FieldSchema {
    let mut field = FieldSchema::new("score", DataType::Int64);
    field.nullable = true;
    field.default_value = default.map(DefaultValue::Long);
    field
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_field_reads_null_or_its_default_in_older_rows() {
    let mut env = Env::new().await;
    env.create_collection("c", None).await;
    env.write("c", "_default", &[(1, 1), (2, 2)], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.write("c", "p1", &[(3, 3)], false).await.unwrap(); // growing when the field comes
    let before = env.engine().describe_collection(DB, "c").unwrap().collection.schema.version;
    let mut not_nullable = score_field(None);
    not_nullable.nullable = false;
    let refused = env.engine().add_collection_field(DB, "c", not_nullable).await.unwrap_err();
    assert!(matches!(&refused, EngineError::InvalidParameter(m) if m.contains("added field must be nullable")), "{refused}");
    env.engine().add_collection_field(DB, "c", score_field(Some(7))).await.unwrap();
    assert_eq!(env.engine().describe_collection(DB, "c").unwrap().collection.schema.version, before + 1);
    // Rows written after the change carry it (or leave it to its default).
    let mut columns = crate::env::columns(&[(4, 4), (5, 5)]);
    columns.fields.push(("score".into(), Arc::new(Int64Array::from(vec![Some(40), None])) as ArrayRef));
    env.engine().insert(DB, "c", "", columns).await.unwrap();
    let expected = BTreeMap::from([(1, Some(7)), (2, Some(7)), (3, Some(7)), (4, Some(40)), (5, Some(7))]);
    assert_eq!(scores(&env, "c").await, expected);
    let filtered = QueryRequest { filter: "score == 7".into(), output_fields: vec!["pk".into()], limit: Some(100), ..Default::default() };
    assert_eq!(env.engine().query(DB, "c", &[], filtered).await.unwrap().columns[0].array.len(), 4);

    // Through flush, compaction, a crash (the WAL still holds pre-change rows), and back.
    env.write("c", "_default", &[(6, 6)], false).await.unwrap();
    env.crash().await;
    assert_eq!(scores(&env, "c").await.get(&6), Some(&Some(7)));
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().compact(DB, "c").await.unwrap();
    env.crash().await;
    let expected: BTreeMap<i64, Option<i64>> = expected.into_iter().chain([(6, Some(7))]).collect();
    assert_eq!(scores(&env, "c").await, expected);

    // A snapshot carries the schema version; its restore reads the same rows.
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", None).await.unwrap();
    assert_eq!(env.wait_restore(job.0).await.0, JobState::Completed);
    let restored = env.engine().describe_collection(DB, "r").unwrap().collection.schema;
    assert_eq!(restored.version, before + 1);
    env.engine().load_collection(DB, "r").await.unwrap();
    assert_eq!(scores(&env, "r").await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_field_with_no_default_reads_null() {
    let env = Env::new().await;
    env.create_collection("c", None).await;
    env.write("c", "_default", &[(1, 1)], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().add_collection_field(DB, "c", score_field(None)).await.unwrap();
    assert_eq!(scores(&env, "c").await, BTreeMap::from([(1, None)]));
    let duplicate = env.engine().add_collection_field(DB, "c", score_field(None)).await.unwrap_err();
    assert!(duplicate.to_string().contains("duplicated field name score"), "{duplicate}");
}
