//! Named regression tests for the holes the engine rebuild closed. Each drives the race or
//! crash that once lost files or left something half-made, deterministically: a gate
//! holds one call of an operation while the test runs the other side of the race.

use crate::env::{DB, Env, vector_index};
use quiver_engine::EngineError;
use quiver_engine::restore::{JobState, RestoreMode};
use quiver_testkit::{Gate, MetaAction, MetaOp, MetaRule, ObjectAction, ObjectOp, ObjectRule, When};
use std::collections::BTreeMap;
use std::time::Duration;

/// GC with no grace at all: a file unreferenced in one pass is deleted by the next.
pub(crate) async fn gc_twice(env: &Env) {
    for _ in 0..2 {
        env.engine().collect_garbage(0).await.unwrap();
        env.advance(1);
    }
}

async fn collection_with_rows(env: &Env, name: &str, index: Option<&str>) -> BTreeMap<i64, i64> {
    env.create_collection(name, index).await;
    let rows: Vec<(i64, i64)> = (0..40).map(|pk| (pk, pk % 5)).collect();
    env.write(name, "_default", &rows[..20], false).await.unwrap();
    env.write(name, "p1", &rows[20..], false).await.unwrap();
    env.engine().flush(DB, name).await.unwrap();
    env.engine().build_indexes(1).await.unwrap();
    rows.into_iter().collect()
}

/// Restore `snapshot` of `source` into `target`, wait for it, load it, and return its rows.
pub(crate) async fn restored_rows(env: &mut Env, source: &str, snapshot: &str, target: &str) -> BTreeMap<i64, i64> {
    let job = env.engine().restore_snapshot(DB, source, snapshot, DB, target, None).await.unwrap();
    let (state, reason) = env.wait_restore(job.0).await;
    assert_eq!(state, JobState::Completed, "{reason}");
    env.engine().load_collection(DB, target).await.unwrap();
    env.rows(target).await.unwrap()
}

/// Hold collection `c`'s snapshot create `s` between its capture and its commit, run
/// `race` and GC (with no grace) meanwhile, then let it commit; GC runs again after.
async fn snapshot_create_racing(env: &Env, race: impl AsyncFnOnce(&Env)) {
    let gate = Gate::new();
    env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Hold(gate.clone())).prefix("snapshot/name/"));
    let create = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.create_snapshot(DB, "c", "s", "", 0).await })
    };
    gate.reached(1).await;
    race(env).await;
    gc_twice(env).await;
    gate.open();
    create.await.unwrap().unwrap();
    gc_twice(env).await;
    env.assert_no_referenced_file_lost("after the race").await;
}

/// Hole 1: a snapshot captured while its collection's index (or a partition) is dropped
/// and GC runs must never name a file GC deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_capture_racing_drop_index_and_gc_names_no_deleted_file() {
    let mut env = Env::new().await;
    let rows = collection_with_rows(&env, "c", Some("FLAT")).await;
    snapshot_create_racing(&env, async |env: &Env| {
        env.engine().release_collection(DB, "c").await.unwrap();
        env.engine().drop_index(DB, "c", "vec", "vec_idx").await.unwrap();
    })
    .await;
    assert_eq!(restored_rows(&mut env, "c", "s", "r").await, rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_capture_racing_drop_partition_and_gc_names_no_deleted_file() {
    let mut env = Env::new().await;
    let rows = collection_with_rows(&env, "c", None).await;
    snapshot_create_racing(&env, async |env: &Env| {
        env.engine().release_partitions(DB, "c", &["p1".to_string()]).await.unwrap();
        env.engine().drop_partition(DB, "c", "p1").await.unwrap();
    })
    .await;
    let left: BTreeMap<i64, i64> = rows.into_iter().filter(|(pk, _)| *pk < 20).collect();
    assert_eq!(restored_rows(&mut env, "c", "s", "r").await, left, "the snapshot holds what was there when it committed");
}

/// Hole 2: a restore whose copies race GC and compaction completes only when loadable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_racing_gc_and_compaction_completes_loadable() {
    let mut env = Env::new().await;
    let mut rows = collection_with_rows(&env, "c", Some("HNSW")).await;
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::Hold(gate.clone())).when(When::Nth(2)));
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", Some(RestoreMode::Copy)).await.unwrap();
    gate.reached(1).await;
    // Meanwhile the source is rewritten and GC runs with no grace.
    env.write("c", "_default", &[(100, 1), (101, 2)], false).await.unwrap();
    env.engine().delete(DB, "c", "", "pk in [1, 2, 3]", &Default::default()).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().compact(DB, "c").await.unwrap();
    gc_twice(&env).await;
    gate.open();
    let (state, reason) = env.wait_restore(job.0).await;
    assert_eq!(state, JobState::Completed, "{reason}");
    gc_twice(&env).await;
    env.engine().load_collection(DB, "r").await.unwrap();
    assert_eq!(env.rows("r").await.unwrap(), rows, "the restore holds the snapshot's rows");
    rows.extend([(100, 1), (101, 2)]);
    rows.retain(|pk, _| ![1, 2, 3].contains(pk));
    assert_eq!(env.rows("c").await.unwrap(), rows);
    env.assert_no_referenced_file_lost("after the restore").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_taken_while_compaction_runs_restores_loadable() {
    let mut env = Env::new().await;
    env.create_collection("c", Some("FLAT")).await;
    let mut rows = BTreeMap::new();
    for batch in 0..4 {
        let part: Vec<(i64, i64)> = (batch * 10..batch * 10 + 10).map(|pk| (pk, batch)).collect();
        env.write("c", "_default", &part, false).await.unwrap();
        env.engine().flush(DB, "c").await.unwrap();
        rows.extend(part);
    }
    env.engine().build_indexes(1).await.unwrap();
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Hold(gate.clone())).prefix("insert_log/"));
    let compaction = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.compact(DB, "c").await })
    };
    gate.reached(1).await;
    env.engine().create_snapshot(DB, "c", "during", "", 0).await.unwrap();
    gate.open();
    compaction.await.unwrap().unwrap();
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after compaction and GC").await;
    assert_eq!(restored_rows(&mut env, "c", "during", "r").await, rows);
}

/// Hole 3: files a slow flush has written but not yet committed are never collected,
/// whatever the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_never_collects_the_files_of_a_flush_still_committing() {
    let mut env = Env::new().await;
    env.create_collection("c", None).await;
    let rows: Vec<(i64, i64)> = (0..30).map(|pk| (pk, 1)).collect();
    env.write("c", "_default", &rows, false).await.unwrap();
    let gate = Gate::new();
    env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Hold(gate.clone())).prefix("data/checkpoint/"));
    let flush = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.flush(DB, "c").await })
    };
    gate.reached(1).await;
    for _ in 0..3 {
        env.advance(3_600_000);
        env.engine().collect_garbage(1_000).await.unwrap();
    }
    let written = env.object_keys().await.into_iter().filter(|k| k.starts_with("insert_log/")).count();
    assert_eq!(written, 1, "the flush's insert log survives GC while it is staged");
    gate.open();
    flush.await.unwrap().unwrap();
    env.crash().await;
    env.engine().load_collection(DB, "c").await.unwrap();
    assert_eq!(env.rows("c").await.unwrap(), rows.into_iter().collect());
    env.assert_no_referenced_file_lost("after the flush").await;
}

/// Hole 3: the files of a flush that died before its commit are garbage once it is gone,
/// and only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_flush_leaves_garbage_that_gc_collects_after_the_restart() {
    let mut env = Env::new().await;
    env.create_collection("c", None).await;
    env.write("c", "_default", &[(1, 1), (2, 2)], false).await.unwrap();
    env.arm("flush.after_objects");
    assert!(matches!(env.engine().flush(DB, "c").await, Err(EngineError::Crashed { .. })));
    env.reopen().await;
    assert_eq!(env.object_keys().await.iter().filter(|k| k.starts_with("insert_log/")).count(), 1);
    gc_twice(&env).await;
    assert_eq!(env.object_keys().await.iter().filter(|k| k.starts_with("insert_log/")).count(), 0, "the dead flush's file is collected");
    env.engine().load_collection(DB, "c").await.unwrap();
    assert_eq!(env.rows("c").await.unwrap(), BTreeMap::from([(1, 1), (2, 2)]), "the rows come back from the WAL");
}

/// Hole 3: one missing file stops neither the server nor the other collections; the
/// collection it belongs to is served again once the file is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_stops_neither_startup_nor_other_collections() {
    let mut env = Env::new().await;
    let broken = collection_with_rows(&env, "broken", None).await;
    let healthy = collection_with_rows(&env, "healthy", None).await;
    let broken_id = env.engine().resolve(DB, "broken").unwrap().id.0;
    let lost = env.object_keys().await.into_iter().find(|k| k.starts_with(&format!("insert_log/{broken_id}/"))).unwrap();
    let path = object_store::path::Path::from(lost.as_str());
    let bytes = object_store::ObjectStoreExt::get(&*env.objects, &path).await.unwrap().bytes().await.unwrap();
    object_store::ObjectStoreExt::delete(&*env.objects, &path).await.unwrap();
    env.crash().await;
    assert!(matches!(env.rows("broken").await, Err(EngineError::CollectionUnavailable { .. })));
    assert_eq!(env.rows("healthy").await.unwrap(), healthy);
    env.engine().release_collection(DB, "healthy").await.unwrap();
    env.engine().create_index(DB, "healthy", &vector_index("FLAT")).await.unwrap();
    env.engine().build_indexes(1).await.unwrap();
    let (_, progress) = env.engine().describe_indexes(DB, "healthy", "", "").unwrap().remove(0);
    assert_eq!(progress.pending_rows, 0, "the healthy collection's index is built");
    object_store::ObjectStoreExt::put(&*env.objects, &path, bytes.into()).await.unwrap();
    env.engine().seal_due().await.unwrap();
    assert_eq!(env.rows("broken").await.unwrap(), broken, "served again once the file is back");
}

/// Hole 3: a crash between a job's end and its unpin cannot leak the pin (they commit
/// together).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_a_restore_completes_leaves_no_pin() {
    let mut env = Env::new().await;
    collection_with_rows(&env, "c", None).await;
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
    env.arm("restore.after_register");
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", None).await.unwrap();
    let (state, _) = env.wait_restore(job.0).await;
    assert_eq!(state, JobState::Completed);
    env.engine().drop_snapshot(DB, "c", "s").await.expect("no pin is left behind");
}

/// Hole 4: a crash anywhere in RestoreSnapshot leaves the target with its job and pin,
/// or none of them; a job it leaves completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_restore_planning_leaves_target_and_job_together_or_neither() {
    for crash in ["before", "after", "failpoint"] {
        let mut env = Env::new().await;
        let rows = collection_with_rows(&env, "c", None).await;
        env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
        match crash {
            "before" => {
                env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::CrashBefore).prefix("snapshot/job/"));
            }
            "after" => {
                env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::CrashAfter).prefix("snapshot/job/"));
            }
            _ => env.arm("restore.after_job_saved"),
        }
        assert!(env.engine().restore_snapshot(DB, "c", "s", DB, "r", None).await.is_err(), "{crash}");
        env.reopen().await;
        let jobs = env.engine().list_restore_jobs(DB, "").await.unwrap();
        let present = env.engine().resolve(DB, "r").is_ok();
        assert_eq!(present, crash != "before", "{crash}: the restore's one commit landed or not");
        match present {
            true => {
                assert_eq!(jobs.len(), 1, "{crash}: a visible target has its job");
                let (state, reason) = env.wait_restore(jobs[0].id.0).await;
                assert_eq!(state, JobState::Completed, "{crash}: {reason}");
                env.engine().load_collection(DB, "r").await.unwrap();
                assert_eq!(env.rows("r").await.unwrap(), rows, "{crash}");
            }
            false => {
                assert!(jobs.is_empty(), "{crash}: no job without its target");
                env.engine().drop_snapshot(DB, "c", "s").await.expect("no pin without a job");
                env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
                assert_eq!(restored_rows(&mut env, "c", "s", "r").await, rows, "{crash}: the name is free for a retry");
            }
        }
    }
}

/// Hole 6: an insert does not wait for a flush writing its files, nor for a compaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_on_while_a_flush_or_a_compaction_writes_files() {
    let env = Env::new().await;
    env.create_collection("c", None).await;
    env.write("c", "_default", &[(1, 1)], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.write("c", "_default", &[(2, 2)], false).await.unwrap();
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Hold(gate.clone())).prefix("insert_log/"));
    let flush = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.flush(DB, "c").await })
    };
    gate.reached(1).await;
    tokio::time::timeout(Duration::from_secs(30), env.write("c", "_default", &[(3, 3)], false))
        .await
        .expect("an insert is not held up by a flush writing its files")
        .unwrap();
    assert_eq!(env.rows("c").await.unwrap().len(), 3, "reads go on too");
    let compaction = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.compact(DB, "c").await })
    };
    tokio::time::timeout(Duration::from_secs(30), env.write("c", "_default", &[(4, 4)], false))
        .await
        .expect("an insert is not held up by a waiting compaction")
        .unwrap();
    gate.open();
    flush.await.unwrap().unwrap();
    compaction.await.unwrap().unwrap();
    assert_eq!(env.rows("c").await.unwrap(), BTreeMap::from([(1, 1), (2, 2), (3, 3), (4, 4)]));
}

/// Hole 6: snapshot calls on one collection never wait for another's object I/O.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_calls_on_different_collections_do_not_wait_for_each_other() {
    let env = Env::new().await;
    collection_with_rows(&env, "a", None).await;
    collection_with_rows(&env, "b", None).await;
    let a = env.engine().resolve(DB, "a").unwrap().id.0;
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Hold(gate.clone())).prefix(format!("snapshots/{a}/")));
    let slow = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.create_snapshot(DB, "a", "s", "", 0).await })
    };
    gate.reached(1).await;
    tokio::time::timeout(Duration::from_secs(30), async {
        env.engine().create_snapshot(DB, "b", "s", "", 0).await.unwrap();
        assert_eq!(env.engine().list_snapshots(DB, "b").await.unwrap(), ["s"]);
        env.engine().describe_snapshot(DB, "b", "s").await.unwrap();
        env.engine().sweep(0).await.unwrap();
    })
    .await
    .expect("collection b's snapshot calls do not wait for collection a's");
    assert!(env.engine().list_snapshots(DB, "a").await.unwrap().is_empty(), "a's snapshot is not visible before it commits");
    gate.open();
    slow.await.unwrap().unwrap();
    assert_eq!(env.engine().list_snapshots(DB, "a").await.unwrap(), ["s"]);
}

/// Hole 7: restore jobs run from a bounded queue, and a job stopped by a shutdown saves
/// its progress and resumes at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_queue_behind_the_workers_and_resume_after_a_shutdown() {
    let mut env = Env::new().await;
    let rows = collection_with_rows(&env, "c", None).await;
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::Hold(gate.clone())));
    let jobs: Vec<i64> = {
        let mut jobs = Vec::new();
        for target in ["r1", "r2", "r3"] {
            jobs.push(env.engine().restore_snapshot(DB, "c", "s", DB, target, Some(RestoreMode::Copy)).await.unwrap().0);
        }
        jobs
    };
    // Both workers take a job and are held at its copies (up to four in flight per job, so
    // the gate alone cannot tell two jobs from one): wait until two jobs execute.
    gate.reached(1).await;
    let mut states: Vec<JobState> = Vec::new();
    for _ in 0..2_000 {
        states.clear();
        for job in &jobs {
            states.push(env.engine().restore_state(*job).await.unwrap().state);
        }
        if states.iter().filter(|s| **s == JobState::Executing).count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(states.iter().filter(|s| **s == JobState::Executing).count(), 2, "two workers run two jobs: {states:?}");
    assert_eq!(states.iter().filter(|s| **s == JobState::Pending).count(), 1, "the third job waits in the queue: {states:?}");
    let shutdown = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.shutdown(Duration::from_secs(30)).await })
    };
    gate.open();
    shutdown.await.unwrap();
    env.reopen().await;
    for (job, target) in jobs.into_iter().zip(["r1", "r2", "r3"]) {
        let (state, reason) = env.wait_restore(job).await;
        assert_eq!(state, JobState::Completed, "{reason}");
        env.engine().load_collection(DB, target).await.unwrap();
        assert_eq!(env.rows(target).await.unwrap(), rows);
    }
}

/// Found by the model test: a partition drop whose cleanup fails after the catalog commit
/// (its commit point) leaves none of the partition's rows visible, now or after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_drop_whose_cleanup_fails_hides_its_rows_anyway() {
    let mut env = Env::new().await;
    let rows = collection_with_rows(&env, "c", None).await;
    env.write("c", "p1", &[(1_000, 1)], false).await.unwrap();
    env.engine().release_partitions(DB, "c", &["p1".to_string()]).await.unwrap();
    env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Fail).prefix("data/revision/"));
    assert!(env.engine().drop_partition(DB, "c", "p1").await.is_err(), "the cleanup's commit fails");
    env.faulty_meta.clear_rules();
    let left: BTreeMap<i64, i64> = rows.into_iter().filter(|(pk, _)| *pk < 20).collect();
    assert_eq!(env.rows("c").await.unwrap(), left);
    env.crash().await;
    assert_eq!(env.rows("c").await.unwrap(), left, "and after a restart");
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after GC").await;
}
