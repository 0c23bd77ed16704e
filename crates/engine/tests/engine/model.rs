//! The seeded, deterministic model-based test: random sequences of inserts, upserts,
//! deletes, flushes, compactions, truncations, index and partition changes, snapshots
//! (create, drop, pin, unpin, restore), collection drops, GC passes and crashes (at failpoints, at
//! random store calls, or between operations), each followed by a check of the engine
//! against a simple model:
//!
//! - every acknowledged write is visible (and nothing else);
//! - the collections and snapshots listed are exactly the model's (nothing half-made);
//! - no file that a live segment, a current index build or a snapshot references is
//!   missing (GC never deletes a referenced file);
//! - every committed snapshot restores to exactly its rows.
//!
//! An operation that crashed or failed may or may not have happened: the model keeps the
//! possible outcomes and settles on the one the engine shows. Every failure prints its
//! seed and the operations that led to it; `QUIVER_TEST_SEED=<seed>` replays one run,
//! `QUIVER_MODEL_STEPS` sets its length.

use crate::env::{DB, Env, vector_index};
use futures::FutureExt;
use quiver_engine::EngineError;
use quiver_engine::failpoint::POINTS;
use quiver_engine::restore::{JobState, RestoreMode};
use quiver_testkit::{MetaAction, MetaOp, MetaRule, ObjectAction, ObjectOp, ObjectRule, TestRng, When};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;

/// Seeds run in CI, each for [`DEFAULT_STEPS`] steps.
const SEEDS: &[u64] = &[1, 2, 3, 4, 5, 6];
const DEFAULT_STEPS: usize = 400;
/// Keep collections small: every step reads every row of every collection.
const MAX_ROWS: usize = 300;
const MAX_COLLECTIONS: usize = 4;

/// pk -> tag, as reads return them.
type Rows = BTreeMap<i64, i64>;
/// pk -> (tag, partition).
type Placed = BTreeMap<i64, (i64, &'static str)>;

fn visible(rows: &Placed) -> Rows {
    rows.iter().map(|(pk, (tag, _))| (*pk, *tag)).collect()
}

#[derive(Clone, Debug, Default)]
struct Collection {
    rows: Placed,
    /// What a snapshot taken now captures: the rows as of the last flush (several
    /// candidates after a flush whose outcome is unknown).
    sealed: Vec<Placed>,
    /// Committed snapshots and their possible contents.
    snapshots: BTreeMap<String, Vec<Placed>>,
    /// Pins by id, with the snapshot they hold; `maybe_pinned` snapshots may hold a pin
    /// whose id was lost with a crash.
    pins: BTreeMap<i64, String>,
    maybe_pinned: BTreeSet<String>,
    has_p1: bool,
    /// Whether deletes (or upserts) were applied since the last flush (a client's
    /// compaction then flushes first); `None` after a flush that may have happened.
    pending_deletes: Option<bool>,
}

impl Collection {
    fn pinned(&self, snapshot: &str) -> bool {
        self.pins.values().any(|s| s == snapshot)
    }

    fn restored(rows: Placed) -> Collection {
        Collection { sealed: vec![rows.clone()], rows, has_p1: true, pending_deletes: Some(false), ..Default::default() }
    }
}

#[derive(Default)]
struct Model {
    collections: BTreeMap<String, Collection>,
    next_pk: i64,
    next_name: u64,
}

impl Model {
    fn name(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }
}

/// One run: `steps` random operations from `seed`.
async fn run(seed: u64, steps: usize) {
    let mut rng = TestRng::new(seed);
    let mut env = Env::new().await;
    let mut model = Model::default();
    let mut log: Vec<String> = Vec::new();
    for step in 0..steps {
        let failure = match AssertUnwindSafe(step_once(&mut env, &mut model, &mut rng)).catch_unwind().await {
            Ok(op) => {
                log.push(format!("{step}: {op}"));
                verify(&mut env, &model).await.err()
            }
            Err(panic) => {
                Some(panic.downcast_ref::<String>().cloned().or(panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default())
            }
        };
        if let Some(failure) = failure {
            let tail = log.iter().rev().take(25).rev().cloned().collect::<Vec<_>>().join("\n  ");
            panic!("seed {seed}, step {step}: {failure}\nlast operations:\n  {tail}\n(replay with QUIVER_TEST_SEED={seed})");
        }
    }
    // Every committed snapshot restores to exactly its rows.
    let names: Vec<(String, String)> =
        model.collections.iter().flat_map(|(c, m)| m.snapshots.keys().map(move |s| (c.clone(), s.clone()))).collect();
    for (collection, snapshot) in names {
        let target = model.name("final");
        let mode = *rng.pick(&[RestoreMode::Clone, RestoreMode::Copy]);
        if let Err(failure) = restore(&mut env, &mut model, &collection, &snapshot, &target, mode).await {
            let related = log.iter().filter(|l| l.contains(&collection)).cloned().collect::<Vec<_>>().join("\n  ");
            panic!("seed {seed}: {failure}\noperations on {collection}:\n  {related}");
        }
    }
    if let Err(failure) = verify(&mut env, &model).await {
        panic!("seed {seed}, after the final restores: {failure}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_operations_and_crashes_keep_every_promise() {
    let steps = std::env::var("QUIVER_MODEL_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_STEPS);
    let seeds: Vec<u64> =
        if std::env::var(quiver_testkit::seed::SEED_VAR).is_ok() { vec![quiver_testkit::seed("model", 0)] } else { SEEDS.to_vec() };
    for seed in seeds {
        eprintln!("model: seed {seed}, {steps} steps");
        run(seed, steps).await;
    }
}

/// Pick and run one operation; returns what it was, for the log.
async fn step_once(env: &mut Env, model: &mut Model, rng: &mut TestRng) -> String {
    env.advance(1 + rng.below(50));
    if model.collections.is_empty() || (model.collections.len() < MAX_COLLECTIONS && rng.chance(0.03)) {
        let name = model.name("c");
        let index = *rng.pick(&[None, Some("FLAT"), Some("HNSW"), Some("IVF_FLAT")]);
        env.create_collection(&name, index).await;
        model.collections.insert(
            name.clone(),
            Collection { sealed: vec![Placed::new()], has_p1: true, pending_deletes: Some(false), ..Default::default() },
        );
        return format!("create collection {name} ({index:?})");
    }
    let names: Vec<String> = model.collections.keys().cloned().collect();
    let name = rng.pick(&names).clone();
    // Now and then the next operation meets a failing or crashing store call.
    let fault = if rng.chance(0.08) { Some(inject_fault(env, rng)) } else { None };
    let armed = if fault.is_none() && rng.chance(0.06) {
        let point = *rng.pick(POINTS);
        env.arm(point);
        Some(point)
    } else {
        None
    };
    let roll = rng.below(100);
    let op = match roll {
        0..=21 => insert(env, model, rng, &name, false).await,
        22..=29 => insert(env, model, rng, &name, true).await,
        30..=37 => delete(env, model, rng, &name).await,
        38..=47 => flush(env, model, &name).await,
        48..=52 => compact(env, model, &name).await,
        53..=57 => create_snapshot(env, model, &name).await,
        58..=61 => drop_snapshot(env, model, rng, &name).await,
        62..=64 => pin(env, model, rng, &name).await,
        65..=68 => {
            let snapshots: Vec<String> = model.collections[&name].snapshots.keys().cloned().collect();
            if snapshots.is_empty() || model.collections.len() >= MAX_COLLECTIONS {
                flush(env, model, &name).await
            } else {
                let snapshot = rng.pick(&snapshots).clone();
                let target = model.name("r");
                let mode = *rng.pick(&[RestoreMode::Clone, RestoreMode::Copy]);
                match restore(env, model, &name, &snapshot, &target, mode).await {
                    Ok(()) => format!("restore ({}) {name}/{snapshot} -> {target}", mode.name()),
                    Err(e) => panic!("restore {name}/{snapshot}: {e}"),
                }
            }
        }
        69..=72 => index_change(env, model, rng, &name).await,
        73..=75 => drop_partition(env, model, &name).await,
        76..=78 if model.collections.len() > 1 => drop_collection(env, model, &name).await,
        79..=86 => {
            let grace = *rng.pick(&[0, 0, 5, 1_000]);
            let outcome = env.engine().collect_garbage(grace).await;
            settle(env, model, None).await;
            format!("gc grace {grace}: {outcome:?}")
        }
        87..=88 => truncate(env, model, &name).await,
        89..=91 => {
            let outcome = env.engine().build_indexes(1).await;
            settle(env, model, None).await;
            format!("build indexes: {outcome:?}")
        }
        92..=93 => {
            let outcome = env.engine().sweep(0).await;
            settle(env, model, None).await;
            format!("sweep: {outcome:?}")
        }
        _ => {
            env.crash().await;
            "crash".to_string()
        }
    };
    // A fault that did not fire goes with the operation.
    env.faulty_meta.clear_rules();
    env.faulty_objects.clear_rules();
    env.engine().failpoints().disarm_all();
    match (fault, armed) {
        (Some(fault), _) => format!("{op} [fault: {fault}]"),
        (_, Some(point)) => format!("{op} [armed {point}]"),
        _ => op,
    }
}

fn inject_fault(env: &Env, rng: &mut TestRng) -> String {
    let nth = When::Nth(1 + rng.below(6));
    if rng.chance(0.5) {
        let action = rng.pick(&[MetaAction::Fail, MetaAction::CrashBefore, MetaAction::CrashAfter]).clone();
        let op = *rng.pick(&[MetaOp::Commit, MetaOp::Commit, MetaOp::Get, MetaOp::Scan]);
        env.faulty_meta.add_rule(MetaRule::new(op, action.clone()).when(nth));
        format!("meta {op:?} {action:?} {nth:?}")
    } else {
        let action = rng.pick(&[ObjectAction::Fail, ObjectAction::Tear, ObjectAction::CrashBefore, ObjectAction::CrashAfter]).clone();
        let op = if action == ObjectAction::Tear {
            ObjectOp::Put
        } else {
            *rng.pick(&[ObjectOp::Put, ObjectOp::Get, ObjectOp::Copy, ObjectOp::Delete])
        };
        env.faulty_objects.add_rule(ObjectRule::new(op, action.clone()).when(nth));
        format!("objects {op:?} {action:?} {nth:?}")
    }
}

/// After an operation: if its instance lost power, reopen (a restart after a crash).
/// Returns whether it did.
async fn settle(env: &mut Env, _model: &mut Model, _: Option<()>) -> bool {
    if env.power.is_on() {
        return false;
    }
    env.reopen().await;
    true
}

async fn insert(env: &mut Env, model: &mut Model, rng: &mut TestRng, name: &str, upsert: bool) -> String {
    let collection = &model.collections[name];
    if collection.rows.len() >= MAX_ROWS {
        return delete(env, model, rng, name).await;
    }
    let partition = if collection.has_p1 && rng.chance(0.4) { "p1" } else { "_default" };
    let count = 1 + rng.below(15) as usize;
    let existing: Vec<i64> = collection.rows.keys().copied().collect();
    let mut rows = Vec::new();
    for _ in 0..count {
        let pk = if upsert && !existing.is_empty() && rng.chance(0.6) {
            *rng.pick(&existing)
        } else {
            model.next_pk += 1;
            model.next_pk
        };
        if !rows.iter().any(|(p, _)| *p == pk) {
            rows.push((pk, rng.below(10) as i64));
        }
    }
    let outcome = env.write(name, partition, &rows, upsert).await;
    // A write is applied only once it is in the WAL, after every store call it makes:
    // one that failed did not happen.
    if outcome.is_ok() {
        let collection = model.collections.get_mut(name).expect("picked");
        for (pk, tag) in &rows {
            collection.rows.insert(*pk, (*tag, partition));
        }
        if upsert {
            collection.pending_deletes = Some(true);
        }
    }
    settle(env, model, None).await;
    format!("{} {} rows into {name}/{partition}: {}", if upsert { "upsert" } else { "insert" }, rows.len(), ok(&outcome))
}

async fn delete(env: &mut Env, model: &mut Model, rng: &mut TestRng, name: &str) -> String {
    let collection = &model.collections[name];
    let (filter, doomed): (String, Vec<i64>) = if rng.chance(0.5) || collection.rows.is_empty() {
        let tag = rng.below(10) as i64;
        (format!("tag == {tag}"), collection.rows.iter().filter(|(_, (t, _))| *t == tag).map(|(pk, _)| *pk).collect())
    } else {
        let pks: Vec<i64> = collection.rows.keys().copied().collect();
        let doomed: BTreeSet<i64> = (0..1 + rng.below(5)).map(|_| *rng.pick(&pks)).collect();
        let list = doomed.iter().map(|pk| pk.to_string()).collect::<Vec<_>>().join(", ");
        (format!("pk in [{list}]"), doomed.into_iter().collect())
    };
    let outcome = env.engine().delete(DB, name, "", &filter, &Default::default()).await;
    if outcome.is_ok() {
        let collection = model.collections.get_mut(name).expect("picked");
        doomed.iter().for_each(|pk| {
            collection.rows.remove(pk);
        });
        // A pk list is logged whether or not it matched; a filter only with matches.
        if !doomed.is_empty() || filter.starts_with("pk in") {
            collection.pending_deletes = Some(true);
        }
    }
    settle(env, model, None).await;
    format!("delete {filter} from {name}: {}", ok(&outcome.map(|_| ())))
}

async fn flush(env: &mut Env, model: &mut Model, name: &str) -> String {
    let outcome = env.engine().flush(DB, name).await;
    let collection = model.collections.get_mut(name).expect("picked");
    sealed_now(collection, outcome.is_ok());
    settle(env, model, None).await;
    format!("flush {name}: {}", ok(&outcome.map(|_| ())))
}

/// The collection was flushed (`certain`), or may have been.
fn sealed_now(collection: &mut Collection, certain: bool) {
    let now = collection.rows.clone();
    if certain {
        collection.sealed = vec![now];
        collection.pending_deletes = Some(false);
    } else {
        // It may have committed before it failed.
        if !collection.sealed.contains(&now) {
            collection.sealed.push(now);
        }
        if collection.pending_deletes == Some(true) {
            collection.pending_deletes = None;
        }
    }
}

async fn truncate(env: &mut Env, model: &mut Model, name: &str) -> String {
    let outcome = env.engine().truncate_collection(DB, name).await;
    settle(env, model, None).await;
    let landed = match &outcome {
        Ok(()) => true,
        // It failed before or after its commit: an empty collection with no segment left
        // tells (when it held nothing to begin with, either outcome is the same).
        Err(_) => {
            env.faulty_meta.clear_rules();
            env.faulty_objects.clear_rules();
            env.engine().failpoints().disarm_all();
            reload(env, name).await;
            env.rows(name).await.is_ok_and(|rows| rows.is_empty()) && env.engine().segments(DB, name).is_ok_and(|s| s.is_empty())
        }
    };
    if landed {
        let collection = model.collections.get_mut(name).expect("picked");
        collection.rows.clear();
        collection.sealed = vec![Placed::new()];
        collection.pending_deletes = Some(false);
    }
    format!("truncate {name}: {} (landed: {landed})", ok(&outcome))
}

async fn compact(env: &mut Env, model: &mut Model, name: &str) -> String {
    let outcome = env.engine().compact(DB, name).await;
    let collection = model.collections.get_mut(name).expect("picked");
    match collection.pending_deletes {
        Some(false) => {}
        Some(true) => sealed_now(collection, outcome.is_ok()),
        // It flushed or not: either way, not certainly.
        None => sealed_now(collection, false),
    }
    settle(env, model, None).await;
    format!("compact {name}: {}", ok(&outcome.map(|_| ())))
}

async fn create_snapshot(env: &mut Env, model: &mut Model, name: &str) -> String {
    let snapshot = model.name("s");
    let outcome = env.engine().create_snapshot(DB, name, &snapshot, "", 0).await;
    let sealed = model.collections[name].sealed.clone();
    let crashed = settle(env, model, None).await;
    let exists = match &outcome {
        Ok(()) => true,
        Err(_) if crashed => env.engine().list_snapshots(DB, name).await.unwrap().contains(&snapshot),
        Err(_) => false,
    };
    if exists {
        model.collections.get_mut(name).expect("picked").snapshots.insert(snapshot.clone(), sealed);
    }
    format!("create snapshot {name}/{snapshot}: {}", ok(&outcome))
}

async fn drop_snapshot(env: &mut Env, model: &mut Model, rng: &mut TestRng, name: &str) -> String {
    let collection = &model.collections[name];
    let Some(snapshot) = collection.snapshots.keys().nth(rng.below(collection.snapshots.len().max(1) as u64) as usize).cloned() else {
        return flush(env, model, name).await;
    };
    // Unpin first now and then, so drops also succeed.
    if rng.chance(0.5) {
        let pins: Vec<i64> = collection.pins.iter().filter(|(_, s)| **s == snapshot).map(|(id, _)| *id).collect();
        for pin in pins {
            let unpinned = env.engine().unpin_snapshot(pin).await;
            let crashed = settle(env, model, None).await;
            let collection = model.collections.get_mut(name).expect("picked");
            if unpinned.is_ok() {
                collection.pins.remove(&pin);
            } else if crashed {
                // Unknown: the unpin may have landed before the crash.
                collection.pins.remove(&pin);
                collection.maybe_pinned.insert(snapshot.clone());
            }
        }
    }
    let pinned = model.collections[name].pinned(&snapshot);
    let maybe = model.collections[name].maybe_pinned.contains(&snapshot);
    let outcome = env.engine().drop_snapshot(DB, name, &snapshot).await;
    let crashed = settle(env, model, None).await;
    if let Err(EngineError::SnapshotPinned { .. }) = &outcome {
        assert!(pinned || maybe, "drop of {snapshot} refused as pinned, but it holds no pin");
    } else if outcome.is_ok() {
        assert!(!pinned, "drop of {snapshot} succeeded while pinned");
    }
    let gone = match &outcome {
        Ok(()) => true,
        Err(_) if crashed || !matches!(outcome, Err(EngineError::SnapshotPinned { .. })) => {
            !env.engine().list_snapshots(DB, name).await.unwrap().contains(&snapshot)
        }
        Err(_) => false,
    };
    if gone {
        let collection = model.collections.get_mut(name).expect("picked");
        collection.snapshots.remove(&snapshot);
        collection.maybe_pinned.remove(&snapshot);
    }
    format!("drop snapshot {name}/{snapshot} (pinned: {pinned}): {}", ok(&outcome))
}

async fn pin(env: &mut Env, model: &mut Model, rng: &mut TestRng, name: &str) -> String {
    let collection = &model.collections[name];
    if let Some((&pin, _)) = collection.pins.iter().next().filter(|_| rng.chance(0.5)) {
        let outcome = env.engine().unpin_snapshot(pin).await;
        let crashed = settle(env, model, None).await;
        if outcome.is_ok() {
            model.collections.get_mut(name).expect("picked").pins.remove(&pin);
        } else if crashed {
            // Unknown: it may still hold; treat the snapshot as maybe pinned.
            let collection = model.collections.get_mut(name).expect("picked");
            if let Some(snapshot) = collection.pins.remove(&pin) {
                collection.maybe_pinned.insert(snapshot);
            }
        }
        return format!("unpin {pin}: {}", ok(&outcome));
    }
    let Some(snapshot) = collection.snapshots.keys().next().cloned() else { return flush(env, model, name).await };
    let outcome = env.engine().pin_snapshot(DB, name, &snapshot, 0).await;
    let crashed = settle(env, model, None).await;
    let collection = model.collections.get_mut(name).expect("picked");
    match &outcome {
        Ok(pin) => {
            collection.pins.insert(*pin, snapshot.clone());
        }
        Err(_) if crashed => {
            collection.maybe_pinned.insert(snapshot.clone());
        }
        Err(_) => {}
    }
    format!("pin {name}/{snapshot}: {}", ok(&outcome.map(|_| ())))
}

/// Restore and check the target holds exactly one of the snapshot's possible contents.
async fn restore(env: &mut Env, model: &mut Model, name: &str, snapshot: &str, target: &str, mode: RestoreMode) -> Result<(), String> {
    let outcome = env.engine().restore_snapshot(DB, name, snapshot, DB, target, Some(mode)).await;
    let crashed = settle(env, model, None).await;
    let job = match outcome {
        Ok(job) => job.0,
        Err(_) if crashed && env.engine().resolve(DB, target).is_ok() => {
            let jobs = env.engine().list_restore_jobs(DB, target).await.map_err(|e| e.to_string())?;
            let [job] = jobs.as_slice() else { return Err(format!("restore target {target} is visible with {} jobs", jobs.len())) };
            job.id.0
        }
        Err(error) => {
            if env.engine().resolve(DB, target).is_ok() {
                return Err(format!("a failed restore ({error}) left its target {target} visible"));
            }
            return Ok(());
        }
    };
    let (state, reason) = env.wait_restore(job).await;
    let candidates = model.collections[name].snapshots[snapshot].clone();
    reload(env, target).await;
    let rows = env.rows(target).await.map_err(|e| format!("query of restored {target} ({state:?}): {e}"))?;
    match state {
        JobState::Completed => match candidates.iter().find(|c| visible(c) == rows).cloned() {
            Some(placed) => {
                model.collections.insert(target.to_string(), Collection::restored(placed));
                Ok(())
            }
            None => {
                let diffs: Vec<String> = candidates
                    .iter()
                    .map(|c| {
                        let want = visible(c);
                        let missing: Vec<_> = want.iter().filter(|(pk, tag)| rows.get(pk) != Some(tag)).collect();
                        let extra: Vec<_> = rows.iter().filter(|(pk, tag)| want.get(pk) != Some(tag)).collect();
                        format!("missing {missing:?}, extra {extra:?}")
                    })
                    .collect();
                let evidence = env.segment_evidence(name, snapshot).await;
                Err(format!("{target} restored from {name}/{snapshot} is none of the snapshot's contents: {diffs:?}\n{evidence}"))
            }
        },
        // A job that failed (an injected copy failure) leaves its empty target.
        _ if rows.is_empty() => {
            model.collections.insert(target.to_string(), Collection::restored(Placed::new()));
            Ok(())
        }
        _ => Err(format!("failed restore {target} ({reason}) holds rows")),
    }
}

async fn index_change(env: &mut Env, model: &mut Model, rng: &mut TestRng, name: &str) -> String {
    let create = rng.chance(0.5);
    let kind = *rng.pick(&["FLAT", "HNSW", "IVF_FLAT"]);
    let mut outcome = env.engine().release_collection(DB, name).await;
    if outcome.is_ok() {
        outcome = if create {
            env.engine().create_index(DB, name, &vector_index(kind)).await
        } else {
            env.engine().drop_index(DB, name, "vec", "").await
        };
    }
    settle(env, model, None).await;
    reload(env, name).await;
    format!("{} index on {name}: {}", if create { format!("create {kind}") } else { "drop".into() }, ok(&outcome))
}

async fn drop_partition(env: &mut Env, model: &mut Model, name: &str) -> String {
    let mut outcome = env.engine().release_partitions(DB, name, &["p1".to_string()]).await;
    if outcome.is_ok() {
        outcome = env.engine().drop_partition(DB, name, "p1").await;
    }
    settle(env, model, None).await;
    let gone = !env.engine().list_partitions(DB, name).unwrap().iter().any(|p| p.name == "p1");
    if gone {
        let collection = model.collections.get_mut(name).expect("picked");
        collection.rows.retain(|_, (_, p)| *p != "p1");
        // Sealed rows of p1 are gone with it too.
        for sealed in &mut collection.sealed {
            sealed.retain(|_, (_, p)| *p != "p1");
        }
        collection.has_p1 = false;
        let created = env.engine().create_partition(DB, name, "p1").await;
        settle(env, model, None).await;
        if created.is_ok() || env.engine().list_partitions(DB, name).unwrap().iter().any(|p| p.name == "p1") {
            model.collections.get_mut(name).expect("picked").has_p1 = true;
        }
    }
    reload(env, name).await;
    format!("drop partition {name}/p1: {} (gone: {gone})", ok(&outcome))
}

async fn drop_collection(env: &mut Env, model: &mut Model, name: &str) -> String {
    for pin in model.collections[name].pins.keys().copied().collect::<Vec<_>>() {
        let unpinned = env.engine().unpin_snapshot(pin).await;
        let crashed = settle(env, model, None).await;
        let collection = model.collections.get_mut(name).expect("picked");
        match collection.pins.remove(&pin) {
            Some(_) if unpinned.is_ok() => {}
            // Unknown: it may still hold.
            Some(snapshot) if crashed => {
                collection.maybe_pinned.insert(snapshot);
            }
            Some(snapshot) => {
                collection.pins.insert(pin, snapshot);
            }
            None => {}
        }
    }
    let outcome = env.engine().drop_collection(DB, name).await;
    settle(env, model, None).await;
    if env.engine().resolve(DB, name).is_err() {
        model.collections.remove(name);
    }
    format!("drop collection {name}: {}", ok(&outcome))
}

/// Load a collection again after an operation that released it (idempotent), through
/// any crash the operation's fault still causes.
async fn reload(env: &mut Env, name: &str) {
    for _ in 0..3 {
        if env.engine().resolve(DB, name).is_err() {
            return;
        }
        match env.engine().load_collection(DB, name).await {
            Ok(()) => return,
            // A crash: restart. A failed store call: the fault fired once; try again.
            Err(_) if !env.power.is_on() => env.reopen().await,
            Err(_) => {}
        }
    }
    env.engine().load_collection(DB, name).await.unwrap_or_else(|e| panic!("reload {name}: {e}"));
}

/// The engine agrees with the model.
async fn verify(env: &mut Env, model: &Model) -> Result<(), String> {
    let mut listed: Vec<String> = env.engine().list_collections(DB).map_err(|e| e.to_string())?.into_iter().map(|c| c.name).collect();
    listed.sort();
    let expected: Vec<String> = model.collections.keys().cloned().collect();
    if listed != expected {
        return Err(format!("collections {listed:?}, expected {expected:?}"));
    }
    for (name, collection) in &model.collections {
        if !env.engine().load_state(DB, name, &[]).is_ok_and(|s| s == quiver_engine::catalog::model::LoadState::Loaded) {
            env.engine().load_collection(DB, name).await.map_err(|e| format!("load {name}: {e}"))?;
        }
        let rows = env.rows(name).await.map_err(|e| format!("query {name}: {e}"))?;
        let visible = visible(&collection.rows);
        if rows != visible {
            let missing: Vec<_> = visible.iter().filter(|(pk, tag)| rows.get(pk) != Some(tag)).collect();
            let extra: Vec<_> = rows.iter().filter(|(pk, tag)| visible.get(pk) != Some(tag)).collect();
            return Err(format!("{name}: missing or changed {missing:?}, unexpected {extra:?}"));
        }
        let snapshots: BTreeSet<String> = env.engine().list_snapshots(DB, name).await.map_err(|e| e.to_string())?.into_iter().collect();
        let expected: BTreeSet<String> = collection.snapshots.keys().cloned().collect();
        if snapshots != expected {
            return Err(format!("{name}: snapshots {snapshots:?}, expected {expected:?}"));
        }
    }
    let present = env.object_keys().await;
    let missing: Vec<_> = env.referenced_files().await.into_iter().filter(|(file, _)| !present.contains(file)).collect();
    if !missing.is_empty() {
        return Err(format!("referenced files are gone: {missing:?}"));
    }
    Ok(())
}

fn ok<T, E: std::fmt::Display>(outcome: &Result<T, E>) -> String {
    match outcome {
        Ok(_) => "ok".into(),
        Err(e) => format!("error: {e}"),
    }
}
