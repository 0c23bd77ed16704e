//! TruncateCollection: everything the collection held goes in one commit (sealed rows,
//! their delete logs, growing rows, pending deletes), the collection itself stays, and
//! nothing truncated comes back, from the WAL or after a crash at any point; snapshots
//! keep what they captured.

use crate::env::{DB, Env};
use crate::holes::{gc_twice, restored_rows};
use quiver_engine::EngineError;
use quiver_testkit::{Gate, MetaAction, MetaOp, MetaRule};
use std::collections::BTreeMap;

/// Collection `c` (partitions `_default` and `p1`, a FLAT index, loaded) with sealed rows
/// and a delete log, then growing rows and a pending delete; returns its visible rows.
async fn filled(env: &Env) -> BTreeMap<i64, i64> {
    env.create_collection("c", Some("FLAT")).await;
    let sealed: Vec<(i64, i64)> = (0..30).map(|pk| (pk, pk % 4)).collect();
    env.write("c", "_default", &sealed[..20], false).await.unwrap();
    env.write("c", "p1", &sealed[20..], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().build_indexes(1).await.unwrap();
    env.engine().delete(DB, "c", "", "pk in [1, 2]", &Default::default()).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.write("c", "_default", &[(100, 1), (101, 2)], false).await.unwrap();
    env.engine().delete(DB, "c", "", "pk in [3]", &Default::default()).await.unwrap();
    let rows = env.rows("c").await.unwrap();
    assert_eq!(rows.len(), 30 - 3 + 2);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_empties_the_collection_and_keeps_the_rest() {
    let mut env = Env::new().await;
    let before = filled(&env).await;
    env.engine().create_alias(DB, "c", "a").await.unwrap();
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
    let described = env.engine().describe_collection(DB, "c").unwrap().collection;

    env.engine().truncate_collection(DB, "a").await.unwrap();
    assert!(env.rows("c").await.unwrap().is_empty());
    assert!(env.engine().segments(DB, "c").unwrap().is_empty());
    assert_eq!(env.engine().row_count(DB, "c").await.unwrap(), 0);
    let after = env.engine().describe_collection(DB, "c").unwrap().collection;
    assert_eq!(after, described, "schema, partitions, indexes and load state stay");
    assert_eq!(env.engine().list_aliases(DB, Some("c")).unwrap(), ["a"]);

    // A key written before the truncation is new again: its old delete is gone too.
    env.write("c", "_default", &[(1, 9), (200, 2)], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    let kept = BTreeMap::from([(1, 9), (200, 2)]);
    assert_eq!(env.rows("c").await.unwrap(), kept);
    env.crash().await;
    assert_eq!(env.rows("c").await.unwrap(), kept, "no WAL entry from before the truncation is replayed");

    // The truncated files are GC's now, except those the snapshot holds.
    gc_twice(&env).await;
    env.assert_no_referenced_file_lost("after the truncation").await;
    // A snapshot holds sealed data: the rows flushed with their delete log, not pk 3's
    // pending delete nor the growing rows.
    let sealed: BTreeMap<i64, i64> = (0..30).filter(|pk| ![1, 2].contains(pk)).map(|pk| (pk, pk % 4)).collect();
    assert_eq!(before.keys().filter(|pk| **pk < 100).count(), sealed.len() - 1);
    assert_eq!(restored_rows(&mut env, "c", "s", "r").await, sealed, "the snapshot restores what it captured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_the_truncation_commits_keeps_it() {
    let mut env = Env::new().await;
    filled(&env).await;
    env.arm("truncate.after_commit");
    assert!(matches!(env.engine().truncate_collection(DB, "c").await, Err(EngineError::Crashed { .. })));
    env.reopen().await;
    assert!(env.rows("c").await.unwrap().is_empty(), "neither sealed rows nor the WAL's rows come back");
    env.write("c", "p1", &[(7, 7)], false).await.unwrap();
    env.crash().await;
    assert_eq!(env.rows("c").await.unwrap(), BTreeMap::from([(7, 7)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncation_whose_commit_does_not_land_truncates_nothing() {
    for (action, name) in [(MetaAction::Fail, "fail"), (MetaAction::CrashBefore, "crash before")] {
        let mut env = Env::new().await;
        let rows = filled(&env).await;
        env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, action).prefix("data/revision/"));
        assert!(env.engine().truncate_collection(DB, "c").await.is_err());
        env.faulty_meta.clear_rules();
        if !env.power.is_on() {
            env.reopen().await;
        }
        assert_eq!(env.rows("c").await.unwrap(), rows, "{name}: the rows stay");
        env.crash().await;
        assert_eq!(env.rows("c").await.unwrap(), rows, "{name}: and after a restart");
    }
}

/// A commit that lands although the store reports an error counts as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncation_that_lands_as_the_power_goes_is_kept() {
    let mut env = Env::new().await;
    filled(&env).await;
    env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::CrashAfter).prefix("data/revision/"));
    assert!(env.engine().truncate_collection(DB, "c").await.is_err());
    env.reopen().await;
    assert!(env.rows("c").await.unwrap().is_empty());
}

/// The cut is exact: a write that arrives while the truncation commits lands after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_racing_a_truncation_lands_after_it() {
    let mut env = Env::new().await;
    filled(&env).await;
    let gate = Gate::new();
    env.faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Hold(gate.clone())).prefix("data/revision/"));
    let truncate = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.truncate_collection(DB, "c").await })
    };
    gate.reached(1).await;
    let write = {
        let engine = env.engine().clone();
        tokio::spawn(async move { engine.insert(DB, "c", "", crate::env::columns(&[(500, 5)])).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!write.is_finished(), "the write waits for the truncation's commit");
    gate.open();
    truncate.await.unwrap().unwrap();
    write.await.unwrap().unwrap();
    assert_eq!(env.rows("c").await.unwrap(), BTreeMap::from([(500, 5)]));
    env.crash().await;
    assert_eq!(env.rows("c").await.unwrap(), BTreeMap::from([(500, 5)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncating_a_missing_collection_is_collection_not_found() {
    let env = Env::new().await;
    assert!(matches!(env.engine().truncate_collection(DB, "nope").await, Err(EngineError::CollectionNotFound { .. })));
}
