//! Instant restores (clones): a restored collection references its snapshot's files.
//! Nothing is copied, every referenced file outlives whatever is dropped first (source,
//! snapshot, clone), a clone's own writes and compactions never touch the shared files,
//! and the full check after Completed names a file that does not match.

use crate::env::{DB, Env};
use crate::holes::gc_twice;
use object_store::{ObjectStoreExt, PutPayload};
use quiver_engine::EngineError;
use quiver_engine::restore::{JobState, RestoreMode, Verification};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// A loaded, indexed collection `c` with rows in two segments and two partitions, and
/// its snapshot `s`.
async fn source_with_snapshot(env: &Env) -> BTreeMap<i64, i64> {
    env.create_collection("c", Some("HNSW")).await;
    let rows: Vec<(i64, i64)> = (0..60).map(|pk| (pk, pk % 7)).collect();
    env.write("c", "_default", &rows[..30], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.write("c", "p1", &rows[30..], false).await.unwrap();
    env.engine().delete(DB, "c", "", "pk in [3, 33]", &Default::default()).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().build_indexes(1).await.unwrap();
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
    rows.into_iter().filter(|(pk, _)| ![3, 33].contains(pk)).collect()
}

/// Clone snapshot `s` of `c` into `target`, wait for Completed, load it.
async fn clone(env: &mut Env, target: &str) -> i64 {
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, target, Some(RestoreMode::Clone)).await.unwrap();
    let (state, reason) = env.wait_restore(job.0).await;
    assert_eq!(state, JobState::Completed, "{reason}");
    env.engine().load_collection(DB, target).await.unwrap();
    job.0
}

/// The verification a job ends with (it runs after Completed).
async fn verification(env: &Env, job: i64) -> Verification {
    for _ in 0..2_000 {
        let info = env.engine().restore_state(job).await.unwrap();
        if info.verification != Verification::Pending {
            return info.verification;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the clone of job {job} was never verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_copies_nothing_and_holds_the_snapshot_rows() {
    let mut env = Env::new().await;
    let rows = source_with_snapshot(&env).await;
    let before = env.object_keys().await;
    let job = clone(&mut env, "r").await;
    let written: Vec<String> = env.object_keys().await.difference(&before).cloned().collect();
    assert!(written.is_empty(), "a clone writes no object: {written:?}");
    assert_eq!(env.rows("r").await.unwrap(), rows);
    let info = env.engine().restore_state(job).await.unwrap();
    assert_eq!((info.mode, info.total_bytes > 0), (RestoreMode::Clone, true));
    assert!(matches!(verification(&env, job).await, Verification::Verified { .. }));
    // Its indexes came with it: nothing is left to build.
    assert_eq!(env.engine().build_indexes(1).await.unwrap(), 0, "a clone rebuilds no index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_files_outlive_the_source_the_snapshot_and_the_clone_in_any_order() {
    let mut env = Env::new().await;
    let rows = source_with_snapshot(&env).await;
    clone(&mut env, "r1").await;
    clone(&mut env, "r2").await;
    // The clone's own writes and compaction write new files and leave the shared ones.
    env.write("r1", "_default", &[(1000, 1)], false).await.unwrap();
    env.engine().delete(DB, "r1", "", "pk in [0, 1, 2, 30, 31]", &Default::default()).await.unwrap();
    env.engine().flush(DB, "r1").await.unwrap();
    env.engine().compact(DB, "r1").await.unwrap();
    let mut r1 = rows.clone();
    r1.retain(|pk, _| ![0, 1, 2, 30, 31].contains(pk));
    r1.insert(1000, 1);
    // Drop the source (its snapshot goes with it), collecting garbage with no grace.
    env.engine().drop_collection(DB, "c").await.unwrap();
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after the source and its snapshot were dropped").await;
    // Both clones read exactly, from storage again.
    for name in ["r1", "r2"] {
        env.engine().release_collection(DB, name).await.unwrap();
        env.engine().load_collection(DB, name).await.unwrap();
    }
    assert_eq!(env.rows("r1").await.unwrap(), r1);
    assert_eq!(env.rows("r2").await.unwrap(), rows);
    // A clone of a clone's snapshot outlives the clone it came from.
    env.engine().create_snapshot(DB, "r2", "s2", "", 0).await.unwrap();
    let job = env.engine().restore_snapshot(DB, "r2", "s2", DB, "r3", None).await.unwrap();
    assert_eq!(env.wait_restore(job.0).await.0, JobState::Completed);
    env.engine().drop_collection(DB, "r2").await.unwrap();
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after the first clone was dropped").await;
    env.engine().load_collection(DB, "r3").await.unwrap();
    assert_eq!(env.rows("r3").await.unwrap(), rows);
    assert_eq!(env.rows("r1").await.unwrap(), r1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_survives_a_restart_and_its_snapshot_is_droppable() {
    let mut env = Env::new().await;
    let rows = source_with_snapshot(&env).await;
    clone(&mut env, "r").await;
    env.engine().drop_snapshot(DB, "c", "s").await.unwrap();
    gc_twice(&env).await;
    env.crash().await;
    env.reopen().await;
    env.engine().load_collection(DB, "r").await.unwrap();
    assert_eq!(env.rows("r").await.unwrap(), rows);
    env.assert_no_referenced_file_lost("after the restart").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_after_completed_names_a_corrupt_shared_file() {
    let mut env = Env::new().await;
    source_with_snapshot(&env).await;
    // Corrupt one insert log in place, keeping its size: only the full check can see it.
    let keys: HashSet<String> = env.object_keys().await;
    let victim = keys.iter().find(|k| k.starts_with("insert_log/")).expect("an insert log").clone();
    let path = object_store::path::Path::from(victim.as_str());
    let mut bytes = env.objects.get(&path).await.unwrap().bytes().await.unwrap().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    env.objects.put(&path, PutPayload::from(bytes)).await.unwrap();
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", Some(RestoreMode::Clone)).await.unwrap();
    let (state, reason) = env.wait_restore(job.0).await;
    assert_eq!(state, JobState::Completed, "the size check passes: {reason}");
    match verification(&env, job.0).await {
        Verification::Failed { reason } => assert!(reason.contains(&victim) && reason.contains("corrupt"), "{reason}"),
        other => panic!("the corrupt file went unnoticed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_missing_a_file_fails_before_completed() {
    let mut env = Env::new().await;
    source_with_snapshot(&env).await;
    let keys: HashSet<String> = env.object_keys().await;
    let victim = keys.iter().find(|k| k.starts_with("insert_log/")).expect("an insert log").clone();
    env.objects.delete(&object_store::path::Path::from(victim.as_str())).await.unwrap();
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", Some(RestoreMode::Clone)).await.unwrap();
    let (state, reason) = env.wait_restore(job.0).await;
    assert_eq!(state, JobState::Failed);
    assert!(reason.contains(&victim), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_reads_the_snapshot_refuses_changes_and_unmounts() {
    let env = Env::new().await;
    let rows = source_with_snapshot(&env).await;
    env.write("c", "_default", &[(5_000, 1)], false).await.unwrap();
    env.engine().mount_snapshot(DB, "c", "s", "m").await.unwrap();
    env.engine().load_collection(DB, "m").await.unwrap();
    assert_eq!(env.rows("m").await.unwrap(), rows, "the mount shows the snapshot, not the source now");
    let read_only = |error: EngineError| assert!(matches!(error, EngineError::MountedReadOnly { .. }), "{error}");
    read_only(env.write("m", "_default", &[(5_001, 1)], false).await.unwrap_err());
    read_only(env.write("m", "_default", &[(5, 1)], true).await.unwrap_err());
    read_only(env.engine().delete(DB, "m", "", "pk in [5]", &Default::default()).await.unwrap_err());
    read_only(env.engine().truncate_collection(DB, "m").await.unwrap_err());
    read_only(env.engine().compact(DB, "m").await.unwrap_err());
    read_only(env.engine().create_partition(DB, "m", "p2").await.unwrap_err());
    read_only(env.engine().drop_index(DB, "m", "vec", "vec_idx").await.unwrap_err());
    assert_eq!(env.rows("m").await.unwrap(), rows);
    assert!(matches!(env.engine().unmount_snapshot(DB, "c").await.unwrap_err(), EngineError::NotMounted { .. }));
    env.engine().unmount_snapshot(DB, "m").await.unwrap();
    assert!(env.engine().resolve(DB, "m").is_err());
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after the unmount").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_says_what_dropping_a_snapshot_frees() {
    let mut env = Env::new().await;
    source_with_snapshot(&env).await;
    let usage = env.engine().snapshot_usage(DB, "c").await.unwrap();
    let [s] = usage.snapshots.as_slice() else { panic!("{usage:?}") };
    assert!(s.total_bytes > 0 && s.exclusive_bytes == 0, "everything is shared with the live collection: {s:?}");
    assert_eq!(usage.snapshot_only_bytes, 0);
    // Rewrite the collection: the snapshot alone holds its old files now.
    env.engine().delete(DB, "c", "", "pk in [0, 1, 2, 40, 41]", &Default::default()).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().compact(DB, "c").await.unwrap();
    gc_twice(&env).await;
    let usage = env.engine().snapshot_usage(DB, "c").await.unwrap();
    let s = &usage.snapshots[0];
    assert!(s.exclusive_bytes > 0 && s.exclusive_bytes + s.shared_bytes == s.total_bytes, "{s:?}");
    assert_eq!(usage.snapshot_only_bytes, s.exclusive_bytes);
    // A clone shares them again: dropping the snapshot would free nothing.
    clone(&mut env, "r").await;
    let shared = env.engine().snapshot_usage(DB, "c").await.unwrap();
    assert_eq!(shared.snapshots[0].exclusive_bytes, 0, "{shared:?}");
    env.engine().drop_collection(DB, "r").await.unwrap();
    gc_twice(&env).await;
    // Dropping it frees exactly its exclusive bytes.
    let exclusive = env.engine().snapshot_usage(DB, "c").await.unwrap().snapshots[0].exclusive_bytes;
    env.engine().drop_snapshot(DB, "c", "s").await.unwrap();
    let mut freed = 0;
    for _ in 0..2 {
        freed += env.engine().collect_garbage(0).await.unwrap().deleted_bytes;
        env.advance(1);
    }
    assert!(freed >= exclusive, "GC freed {freed} bytes, the snapshot held {exclusive} alone (plus its own files)");
    assert!(freed < exclusive + 64 * 1024, "GC freed {freed} bytes, far more than the {exclusive} the snapshot held alone");
}
