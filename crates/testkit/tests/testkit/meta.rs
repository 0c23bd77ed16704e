//! `FaultyMetaStore`: each action, matching, the power switch, counters.

use quiver_storage::meta::MetaError;
use quiver_storage::{MemMetaStore, MetaStore, Txn};
use quiver_testkit::{FaultyMetaStore, MetaAction, MetaCounters, MetaOp, MetaRule, Power, When};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn memory() -> Arc<dyn MetaStore> {
    Arc::new(MemMetaStore::new())
}

fn wrap(inner: &Arc<dyn MetaStore>) -> FaultyMetaStore {
    FaultyMetaStore::new(Arc::clone(inner), Power::new())
}

/// The message of an injected (or power-off) error (panics on any other outcome).
fn unavailable<T: std::fmt::Debug>(result: Result<T, MetaError>) -> String {
    match result {
        Err(MetaError::Unavailable(message)) => message,
        other => panic!("expected MetaError::Unavailable, got {other:?}"),
    }
}

async fn value(store: &dyn MetaStore, key: &str) -> Option<String> {
    store.get(key).await.unwrap().map(|v| String::from_utf8(v).unwrap())
}

#[tokio::test]
async fn fail_on_a_commit_touching_a_prefix() {
    let inner = memory();
    let store = wrap(&inner);
    let rule = store.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Fail).prefix("catalog/"));
    let message = unavailable(store.commit(Txn::new().put("other/1", b"a".to_vec()).put("catalog/db/1", b"b".to_vec())).await);
    assert_eq!(message, format!("injected fault: fail commit touching catalog/db/1 ({rule})"));
    assert_eq!(value(&*inner, "other/1").await, None);
    // A condition key matches too.
    unavailable(store.commit(Txn::new().when_absent("catalog/db/2").put("other/2", b"c".to_vec())).await);
    // put and delete are one-op commits.
    unavailable(store.put("catalog/x", b"x".to_vec()).await);
    unavailable(store.delete("catalog/x").await);
    // Reads and other keys are not affected.
    store.commit(Txn::new().put("other/3", b"d".to_vec())).await.unwrap();
    assert_eq!(store.get("catalog/db/1").await.unwrap(), None);
    assert_eq!(store.fired(rule), 4);
    assert_eq!(value(&*inner, "other/3").await.as_deref(), Some("d"));
}

#[tokio::test]
async fn nth_first_and_every() {
    let inner = memory();
    let store = wrap(&inner);
    store.put("k", b"v".to_vec()).await.unwrap();
    let nth = store.add_rule(MetaRule::new(MetaOp::Get, MetaAction::Fail).prefix("k").when(When::Nth(3)));
    for i in 1..=4 {
        assert_eq!(store.get("k").await.is_err(), i == 3, "get {i}");
    }
    store.get("other").await.unwrap(); // not counted
    assert_eq!(store.fired(nth), 1);
    let first = store.add_rule(MetaRule::any_op(MetaAction::Fail).when(When::FirstN(2)));
    unavailable(store.scan_prefix("k").await);
    unavailable(store.put("k", b"w".to_vec()).await);
    store.put("k", b"w".to_vec()).await.unwrap();
    assert_eq!(store.fired(first), 2);
    store.clear_rules();
    let every = store.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Fail).when(When::Every));
    for _ in 0..3 {
        unavailable(store.put("k", b"z".to_vec()).await);
    }
    assert_eq!(store.fired(every), 3);
    assert!(store.remove_rule(every));
    assert_eq!(value(&store, "k").await.as_deref(), Some("w"));
}

#[tokio::test]
async fn scan_rules_match_overlapping_prefixes() {
    let inner = memory();
    let store = wrap(&inner);
    for key in ["coll/1/a", "coll/2/b"] {
        inner.put(key, b"x".to_vec()).await.unwrap();
    }
    let rule = store.add_rule(MetaRule::new(MetaOp::Scan, MetaAction::Fail).prefix("coll/1/"));
    assert_eq!(unavailable(store.scan_prefix("coll/").await), format!("injected fault: fail scan of coll/ ({rule})"));
    unavailable(store.scan_prefix("coll/1/a").await);
    assert_eq!(store.scan_prefix("coll/2/").await.unwrap().len(), 1);
    unavailable(store.scan_prefixes(&["other/", "coll/1/"]).await);
    assert_eq!(store.scan_prefixes(&["other/", "coll/2/"]).await.unwrap().len(), 2);
    assert_eq!(store.fired(rule), 3);
}

#[tokio::test(start_paused = true)]
async fn stall_sleeps_on_the_tokio_clock_then_proceeds() {
    let inner = memory();
    let store = wrap(&inner);
    store.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Stall(Duration::from_secs(5))).prefix("snapshot/"));
    let start = Instant::now();
    store.put("snapshot/1", b"pending".to_vec()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(value(&*inner, "snapshot/1").await.as_deref(), Some("pending"));
    let start = Instant::now();
    store.put("other", b"x".to_vec()).await.unwrap();
    store.get("snapshot/1").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    // A latency on everything under a prefix, combined with a failure.
    store.add_latency("snapshot/", Duration::from_secs(1));
    store.add_rule(MetaRule::new(MetaOp::Get, MetaAction::Fail).prefix("snapshot/"));
    let start = Instant::now();
    unavailable(store.get("snapshot/1").await);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test]
async fn crash_before_a_commit_applies_nothing_and_cuts_the_power() {
    let inner = memory();
    let power = Power::new();
    let store = FaultyMetaStore::new(Arc::clone(&inner), power.clone());
    store.put("kept", b"k".to_vec()).await.unwrap();
    let rule = store.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::CrashBefore).prefix("segment/"));
    let message = unavailable(store.put("segment/1", b"s".to_vec()).await);
    assert_eq!(message, format!("injected fault: crash before commit touching segment/1 ({rule}); power is now off"));
    assert!(!power.is_on());
    assert_eq!(value(&*inner, "segment/1").await, None);
    // Every later call fails and changes nothing.
    let refused = unavailable(store.put("other", b"o".to_vec()).await);
    assert_eq!(refused, "power is off (simulated crash): commit touching other refused");
    unavailable(store.delete("kept").await);
    unavailable(store.get("kept").await);
    unavailable(store.scan_prefix("").await);
    unavailable(store.scan_prefixes(&["a", "b"]).await);
    assert_eq!(inner.scan_prefix("").await.unwrap(), [("kept".to_string(), b"k".to_vec())]);
}

#[tokio::test]
async fn crash_after_a_commit_applies_it_then_cuts_the_power() {
    let inner = memory();
    let store = wrap(&inner);
    let rule = store.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::CrashAfter).prefix("segment/"));
    let txn = Txn::new().when_absent("segment/1").put("segment/1", b"flushed".to_vec()).put("checkpoint", b"7".to_vec());
    let message = unavailable(store.commit(txn).await);
    assert_eq!(
        message,
        format!("injected fault: crash after commit touching segment/1 ({rule}); the call reached the store, power is now off")
    );
    assert!(!store.power().is_on());
    assert_eq!(value(&*inner, "segment/1").await.as_deref(), Some("flushed"));
    assert_eq!(value(&*inner, "checkpoint").await.as_deref(), Some("7"));
    assert_eq!(store.counters().commits_applied, 1);

    // Reopen: new wrapper, fresh power, same inner store.
    let reopened = wrap(&inner);
    assert_eq!(value(&reopened, "segment/1").await.as_deref(), Some("flushed"));
}

#[tokio::test]
async fn crash_after_a_read_cuts_the_power() {
    let inner = memory();
    let store = wrap(&inner);
    store.add_rule(MetaRule::new(MetaOp::Scan, MetaAction::CrashAfter));
    unavailable(store.scan_prefix("a").await);
    assert!(!store.power().is_on());
}

#[tokio::test]
async fn errors_of_the_inner_store_pass_through_untouched() {
    let store = wrap(&memory());
    store.put("k", b"v".to_vec()).await.unwrap();
    let err = store.commit(Txn::new().when_absent("k").put("k", b"w".to_vec())).await.unwrap_err();
    assert!(matches!(err, MetaError::ConditionFailed { ref key } if key == "k"), "{err}");
    assert_eq!(store.counters().commits_applied, 1);
}

#[tokio::test]
async fn counters_count_every_call() {
    let store = wrap(&memory());
    store.put("a", b"1".to_vec()).await.unwrap();
    store.delete("a").await.unwrap();
    store.get("a").await.unwrap();
    store.scan_prefix("a").await.unwrap();
    store.scan_prefixes(&["a", "b"]).await.unwrap();
    store.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::Fail));
    unavailable(store.put("b", b"2".to_vec()).await);
    let counters = store.counters();
    assert_eq!(counters, MetaCounters { gets: 1, scans: 2, commits: 3, commits_applied: 2 });
    assert_eq!([MetaOp::Get, MetaOp::Scan, MetaOp::Commit].map(|op| counters.count(op)), [1, 2, 3]);
    store.reset_counters();
    assert_eq!(store.counters(), MetaCounters::default());
}

#[tokio::test]
async fn passes_the_metadata_behaviour_through_with_no_rules() {
    // The essentials of quiver-storage's metadata conformance suite, through the wrapper.
    let store = wrap(&memory());
    for key in ["p/2", "p/1", "q/1"] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let keys: Vec<String> = store.scan_prefix("p/").await.unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["p/1", "p/2"]);
    store.commit(Txn::new().when_equals("p/1", b"p/1".to_vec()).put("p/1", b"new".to_vec()).delete("q/1")).await.unwrap();
    assert_eq!(value(&store, "p/1").await.as_deref(), Some("new"));
    assert_eq!(value(&store, "q/1").await, None);
    let views = store.scan_prefixes(&["p/", "q/"]).await.unwrap();
    assert_eq!(views.iter().map(Vec::len).collect::<Vec<_>>(), [2, 0]);
}
