//! The figures an operator is shown (the web console): a segment's stored bytes and the
//! index builds it waits for, a snapshot's size and what holds it, the bytes a restore
//! job copied. Each is checked against the object store, not against the records it is
//! computed from.

use crate::env::{DB, Env};
use futures::TryStreamExt;
use object_store::ObjectStore;
use quiver_engine::restore::{JobState, RestoreMode};
use quiver_testkit::{Gate, ObjectAction, ObjectOp, ObjectRule};

/// Bytes of the stored objects under `kinds` (key prefixes) that belong to `segment`.
async fn stored(env: &Env, kinds: &[&str], segment: i64) -> u64 {
    let objects: Vec<_> = env.objects.list(None).try_collect().await.unwrap();
    objects
        .iter()
        .filter(|o| {
            let key = o.location.to_string();
            kinds.iter().any(|k| key.starts_with(k)) && key.split('/').any(|part| part == segment.to_string())
        })
        .map(|o| o.size)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_snapshot_and_job_sizes_are_the_stored_bytes() {
    let mut env = Env::new().await;
    env.create_collection("c", Some("HNSW")).await;
    env.write("c", "p1", &[(1, 1), (2, 2), (3, 3)], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.write("c", "p1", &[(4, 4)], false).await.unwrap();
    let index = env.engine().resolve(DB, "c").unwrap().indexes[0].id;

    let segments = env.engine().segments(DB, "c").unwrap();
    let growing = segments.iter().find(|s| !s.sealed).unwrap();
    assert_eq!((growing.stored_bytes, growing.pending_indexes.len()), (0, 0), "a growing segment is neither stored nor indexed");
    let sealed = segments.iter().find(|s| s.sealed).unwrap().clone();
    assert_eq!(sealed.pending_indexes, vec![index], "no build yet");
    assert_eq!(sealed.stored_bytes, stored(&env, &["insert_log/", "delta_log/"], sealed.id.0).await);
    assert!(sealed.stored_bytes > 0);
    env.engine().build_indexes(1).await.unwrap();
    let built = env.engine().segments(DB, "c").unwrap().into_iter().find(|s| s.id == sealed.id).unwrap();
    assert!(built.pending_indexes.is_empty(), "{built:?}");

    env.engine().create_snapshot(DB, "c", "s", "first", 0).await.unwrap();
    let [summary] = <[_; 1]>::try_from(env.engine().snapshot_summaries(DB, "c").await.unwrap()).unwrap();
    assert_eq!((summary.name.as_str(), summary.description.as_str(), summary.segments, summary.rows), ("s", "first", 1, 3));
    let files = stored(&env, &["insert_log/", "delta_log/", "index_files/"], sealed.id.0).await;
    assert_eq!(summary.data_bytes, files, "data, delete and index files of the captured segment");
    assert_eq!((summary.active_pins, summary.restoring_job), (0, None));

    // A restore held at its first copy holds the snapshot, and has copied nothing yet.
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::Hold(gate.clone())));
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", Some(RestoreMode::Copy)).await.unwrap();
    gate.reached(1).await;
    let [held] = <[_; 1]>::try_from(env.engine().snapshot_summaries(DB, "c").await.unwrap()).unwrap();
    assert_eq!((held.active_pins, held.restoring_job), (1, Some(job)));
    let running = env.engine().restore_state(job.0).await.unwrap();
    assert_eq!((running.copied_bytes, running.total_bytes), (0, files));
    gate.open();
    assert_eq!(env.wait_restore(job.0).await.0, JobState::Completed);
    let done = env.engine().restore_state(job.0).await.unwrap();
    assert_eq!((done.copied_bytes, done.total_bytes), (files, files));
    let [released] = <[_; 1]>::try_from(env.engine().snapshot_summaries(DB, "c").await.unwrap()).unwrap();
    assert_eq!((released.active_pins, released.restoring_job), (0, None));
}
