//! What refusals say: each names the thing the user knows (a collection by name, the job
//! holding a pin), keeping Milvus's words where clients match on them.

use crate::env::{DB, Env};
use quiver_engine::EngineError;
use quiver_engine::restore::RestoreMode;
use quiver_testkit::{Gate, ObjectAction, ObjectOp, ObjectRule};

async fn snapshotted(env: &Env) {
    env.create_collection("c", None).await;
    env.write("c", "_default", &[(1, 1), (2, 2)], false).await.unwrap();
    env.engine().flush(DB, "c").await.unwrap();
    env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_held_by_a_restore_names_the_job() {
    let mut env = Env::new().await;
    snapshotted(&env).await;
    let gate = Gate::new();
    env.faulty_objects.add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::Hold(gate.clone())));
    let job = env.engine().restore_snapshot(DB, "c", "s", DB, "r", Some(RestoreMode::Copy)).await.unwrap();
    gate.reached(1).await;
    let refused = env.engine().drop_snapshot(DB, "c", "s").await.unwrap_err();
    assert!(matches!(refused, EngineError::SnapshotPinned { .. }), "{refused}");
    assert_eq!(
        refused.to_string(),
        format!(
            "active pins exist, unpin before dropping: snapshot is pinned[snapshot=s] (restore job {} into r holds it until it ends)",
            job.0
        )
    );
    gate.open();
    env.wait_restore(job.0).await;
    // An explicit pin is not a job's: Milvus's words alone.
    let pin = env.engine().pin_snapshot(DB, "c", "s", 0).await.unwrap();
    let refused = env.engine().drop_snapshot(DB, "c", "s").await.unwrap_err();
    assert_eq!(refused.to_string(), "active pins exist, unpin before dropping: snapshot is pinned[snapshot=s]");
    env.engine().unpin_snapshot(pin).await.unwrap();
    env.engine().drop_snapshot(DB, "c", "s").await.unwrap();
}

#[tokio::test]
async fn refusals_name_collections_targets_and_jobs() {
    let env = Env::new().await;
    snapshotted(&env).await;
    env.create_collection("taken", None).await;
    let exists = env.engine().restore_snapshot(DB, "c", "s", DB, "taken", None).await.unwrap_err();
    assert_eq!(
        exists.to_string(),
        "create duplicate collection with different parameters, collection: taken (the restore target already exists; restore into a new name)"
    );
    let missing = env.engine().describe_snapshot(DB, "c", "nope").await.unwrap_err();
    assert_eq!(missing.to_string(), "collection c: snapshot not found[snapshot=nope]");
    let twice = env.engine().create_snapshot(DB, "c", "s", "", 0).await.unwrap_err();
    assert_eq!(twice.to_string(), "snapshot name s already exists in collection c: invalid parameter");
    let job = env.engine().restore_state(424242).await.unwrap_err();
    assert_eq!(job.to_string(), "restore job not found: jobID=424242 (unknown, or finished longer ago than restore_job_retention_seconds)");
}
