//! Rollback in place: a collection goes back to one of its snapshots in one commit,
//! keeping its name and indexes; the state it replaced is saved as a snapshot, so the
//! rollback can be undone; a crash after the commit keeps it; nothing referenced is lost.

use crate::env::{DB, Env};
use crate::holes::gc_twice;
use std::collections::BTreeMap;

async fn collection_with_snapshot(env: &Env) -> BTreeMap<i64, i64> {
    env.create_collection("c", Some("HNSW")).await;
    let rows: Vec<(i64, i64)> = (0..40).map(|pk| (pk, pk % 3)).collect();
    env.write("c", "_default", &rows[..20], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.write("c", "p1", &rows[20..], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().build_indexes(1).await.unwrap();
    env.engine().create_snapshot(DB, "c", "good", "", 0).await.unwrap();
    rows.into_iter().collect()
}

/// A bad batch after the snapshot: overwrites, deletes, new rows, some still growing.
async fn bad_batch(env: &Env) -> BTreeMap<i64, i64> {
    env.write("c", "_default", &[(1, 100), (2, 100), (500, 100)], true).await.unwrap();
    env.engine().delete(DB, "c", "", "pk in [30, 31]", &Default::default()).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().compact(DB, "c").await.unwrap();
    env.write("c", "p1", &[(600, 100)], false).await.unwrap();
    env.rows("c").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_snapshot_in_place_and_can_be_undone() {
    let mut env = Env::new().await;
    let good = collection_with_snapshot(&env).await;
    let bad = bad_batch(&env).await;
    let outcome = env.engine().rollback_collection(DB, "c", "good").await.unwrap();
    assert_eq!((outcome.rows_before, outcome.rows_after), (bad.len() as u64, good.len() as u64));
    assert_eq!(env.rows("c").await.unwrap(), good, "the collection, still loaded, reads the snapshot");
    assert_eq!(env.engine().build_indexes(1).await.unwrap(), 0, "the snapshot's index files came back with it");
    // Writes after the rollback are kept; a restart replays none of the undone ones.
    env.write("c", "_default", &[(700, 7)], false).await.unwrap();
    let mut after = good.clone();
    after.insert(700, 7);
    env.crash().await;
    env.reopen().await;
    env.engine().load_collection(DB, "c").await.unwrap();
    assert_eq!(env.rows("c").await.unwrap(), after);
    // Undo: back to the state the rollback replaced (the write after it goes too).
    env.engine().rollback_collection(DB, "c", &outcome.saved_as).await.unwrap();
    assert_eq!(env.rows("c").await.unwrap(), bad);
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after two rollbacks").await;
    env.engine().rollback_collection(DB, "c", "good").await.unwrap();
    gc_twice(&env).await;
    env.engine().release_collection(DB, "c").await.unwrap();
    env.engine().load_collection(DB, "c").await.unwrap();
    assert_eq!(env.rows("c").await.unwrap(), good, "read back from storage after GC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_the_rollback_commit_keeps_it() {
    let mut env = Env::new().await;
    let good = collection_with_snapshot(&env).await;
    bad_batch(&env).await;
    env.arm("rollback.after_commit");
    assert!(env.engine().rollback_collection(DB, "c", "good").await.is_err());
    env.reopen().await;
    env.engine().load_collection(DB, "c").await.unwrap();
    assert_eq!(env.rows("c").await.unwrap(), good);
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after the crash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_cannot_be_rolled_back_and_an_unknown_snapshot_is_named() {
    let env = Env::new().await;
    collection_with_snapshot(&env).await;
    env.engine().mount_snapshot(DB, "c", "good", "m").await.unwrap();
    assert!(env.engine().rollback_collection(DB, "m", "good").await.is_err());
    let missing = env.engine().rollback_collection(DB, "c", "nope").await.unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
}
