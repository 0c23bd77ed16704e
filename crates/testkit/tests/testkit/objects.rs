//! `FaultyObjectStore`: each action, matching, the power switch, counters.

use futures::{StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use quiver_testkit::{FaultyMetaStore, FaultyObjectStore, ObjectAction, ObjectOp, ObjectRule, Power, When};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const LOG: &str = "insert_log/1/2/3/4.parquet";

fn memory() -> Arc<dyn ObjectStore> {
    Arc::new(InMemory::new())
}

fn wrap(inner: &Arc<dyn ObjectStore>) -> Arc<FaultyObjectStore> {
    Arc::new(FaultyObjectStore::new(Arc::clone(inner), Power::new()))
}

fn path(key: &str) -> Path {
    Path::from(key)
}

async fn put(store: &dyn ObjectStore, key: &str, bytes: &[u8]) -> object_store::Result<()> {
    store.put(&path(key), PutPayload::from(bytes.to_vec())).await.map(drop)
}

/// The object at `key`, or `None` if it is missing.
async fn object(store: &dyn ObjectStore, key: &str) -> Option<Vec<u8>> {
    match store.get(&path(key)).await {
        Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
        Err(Error::NotFound { .. }) => None,
        Err(e) => panic!("get {key}: {e}"),
    }
}

/// The message of an error injected by the wrapper (panics on any other error).
fn injected<T: std::fmt::Debug>(result: object_store::Result<T>) -> String {
    match result {
        Err(Error::Generic { store: "FaultyObjectStore", source }) => source.to_string(),
        other => panic!("expected an injected error, got {other:?}"),
    }
}

async fn keys(store: &dyn ObjectStore, prefix: Option<&str>) -> object_store::Result<Vec<String>> {
    let prefix = prefix.map(Path::from);
    let mut keys: Vec<String> = store.list(prefix.as_ref()).map_ok(|m| m.location.to_string()).try_collect().await?;
    keys.sort();
    Ok(keys)
}

#[tokio::test]
async fn fail_returns_an_error_naming_the_rule_and_has_no_effect() {
    let inner = memory();
    let store = wrap(&inner);
    let _other = store.add_rule(ObjectRule::new(ObjectOp::Get, ObjectAction::Fail));
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Fail).prefix("insert_log/"));
    let message = injected(put(&*store, LOG, b"rows").await);
    assert_eq!(message, format!("injected fault: fail put of {LOG} ({rule})"));
    assert_eq!(rule.to_string(), "rule 2");
    assert_eq!(object(&*inner, LOG).await, None);
    assert!(store.power().is_on());
    // Other locations are untouched by the rule.
    put(&*store, "delta_log/1", b"x").await.unwrap();
    assert_eq!(store.fired(rule), 1);
}

#[tokio::test]
async fn nth_applies_to_that_matching_call_only() {
    let inner = memory();
    let store = wrap(&inner);
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Fail).prefix("insert_log/").when(When::Nth(2)));
    put(&*store, "insert_log/a", b"1").await.unwrap();
    put(&*store, "index_files/a", b"1").await.unwrap(); // does not match: not counted
    store.get(&path("insert_log/a")).await.unwrap(); // another op: not counted
    injected(put(&*store, "insert_log/b", b"2").await);
    put(&*store, "insert_log/c", b"3").await.unwrap();
    put(&*store, "insert_log/b", b"2").await.unwrap();
    assert_eq!(store.fired(rule), 1);
    assert_eq!(keys(&*inner, None).await.unwrap(), ["index_files/a", "insert_log/a", "insert_log/b", "insert_log/c"]);
}

#[tokio::test]
async fn first_n_and_every_and_contains() {
    let store = wrap(&memory());
    let first = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Fail).contains(".avro").when(When::FirstN(2)));
    for i in 0..4 {
        let result = put(&*store, &format!("snapshots/1/manifests/{i}.avro"), b"m").await;
        assert_eq!(result.is_err(), i < 2, "put {i}");
    }
    assert_eq!(store.fired(first), 2);
    let every = store.add_rule(ObjectRule::new(ObjectOp::Head, ObjectAction::Fail).when(When::Every));
    for _ in 0..3 {
        injected(store.head(&path("snapshots/1/manifests/3.avro")).await);
    }
    assert_eq!(store.fired(every), 3);
    assert!(store.remove_rule(every));
    assert!(!store.remove_rule(every));
    store.head(&path("snapshots/1/manifests/3.avro")).await.unwrap();
}

#[tokio::test]
async fn tear_writes_the_first_half_then_fails() {
    let inner = memory();
    let store = wrap(&inner);
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Tear).when(When::Nth(1)));
    let message = injected(put(&*store, LOG, b"0123456789").await);
    assert_eq!(message, format!("injected fault: tear put of {LOG} ({rule}): wrote 5 of 10 bytes"));
    assert_eq!(object(&*inner, LOG).await.as_deref(), Some(&b"01234"[..]));
    assert_eq!(store.counters().bytes_put, 5);
    assert!(store.power().is_on());
    // A payload in several chunks is cut across them.
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Tear).prefix("chunks"));
    let payload: PutPayload = [bytes::Bytes::from_static(b"abc"), bytes::Bytes::from_static(b"defgh")].into_iter().collect();
    injected(store.put(&path("chunks"), payload).await);
    assert_eq!(object(&*inner, "chunks").await.as_deref(), Some(&b"abcd"[..]));
    assert_eq!(store.fired(rule), 1);
}

#[tokio::test]
async fn a_torn_create_keeps_the_callers_put_mode() {
    let inner = memory();
    let store = wrap(&inner);
    put(&*inner, LOG, b"old").await.unwrap();
    store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Tear));
    let result = store.put_opts(&path(LOG), b"0123456789".to_vec().into(), PutOptions::from(PutMode::Create)).await;
    assert!(matches!(result, Err(Error::AlreadyExists { .. })), "{result:?}");
    assert_eq!(object(&*inner, LOG).await.as_deref(), Some(&b"old"[..]));
}

#[tokio::test]
#[should_panic(expected = "Tear applies only to ObjectOp::Put and ObjectOp::Multipart")]
async fn tear_is_refused_for_other_calls() {
    wrap(&memory()).add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::Tear));
}

#[tokio::test(start_paused = true)]
async fn stall_sleeps_on_the_tokio_clock_then_proceeds() {
    let inner = memory();
    let store = wrap(&inner);
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Stall(Duration::from_secs(30))).prefix("insert_log/"));
    let start = Instant::now();
    put(&*store, LOG, b"rows").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(object(&*inner, LOG).await.as_deref(), Some(&b"rows"[..]));
    let start = Instant::now();
    put(&*store, "delta_log/1", b"x").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(store.fired(rule), 1);
}

#[tokio::test(start_paused = true)]
async fn a_latency_applies_to_every_call_and_combines_with_a_failure() {
    let store = wrap(&memory());
    store.add_latency("insert_log/", Duration::from_millis(250));
    store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Fail).when(When::Nth(2)));
    let start = Instant::now();
    put(&*store, LOG, b"rows").await.unwrap();
    store.get(&path(LOG)).await.unwrap();
    store.head(&path(LOG)).await.unwrap();
    keys(&*store, Some("insert_log/1")).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(1000));
    // The 2nd put both waits and fails.
    let start = Instant::now();
    injected(put(&*store, LOG, b"rows").await);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    // Outside the prefix: no latency.
    let start = Instant::now();
    put(&*store, "other", b"x").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_call_stalled_while_the_power_goes_off_fails() {
    let inner = memory();
    let store = wrap(&inner);
    store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Stall(Duration::from_secs(10))));
    let stalled = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { put(&*store, LOG, b"rows").await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    store.power().cut();
    let message = injected(stalled.await.unwrap());
    assert!(message.starts_with("power is off"), "{message}");
    assert_eq!(object(&*inner, LOG).await, None);
}

#[tokio::test]
async fn crash_before_cuts_the_power_and_has_no_effect() {
    let inner = memory();
    let power = Power::new();
    let store = Arc::new(FaultyObjectStore::new(Arc::clone(&inner), power.clone()));
    let meta = FaultyMetaStore::new(Arc::new(quiver_storage::MemMetaStore::new()), power.clone());
    put(&*store, "kept", b"k").await.unwrap();
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::CrashBefore).prefix("insert_log/"));
    let message = injected(put(&*store, LOG, b"rows").await);
    assert_eq!(message, format!("injected fault: crash before put of {LOG} ({rule}); power is now off"));
    assert!(!power.is_on());
    assert_eq!(object(&*inner, LOG).await, None);
    // Every call of every seam holding the power now fails, and changes nothing.
    let refused = injected(put(&*store, "other", b"x").await);
    assert_eq!(refused, "power is off (simulated crash): put of other refused");
    injected(store.get(&path("kept")).await);
    injected(store.head(&path("kept")).await);
    injected(store.delete(&path("kept")).await);
    injected(store.copy(&path("kept"), &path("copy")).await);
    injected(store.rename(&path("kept"), &path("moved")).await);
    injected(store.get_ranges(&path("kept"), &[0..1, 1..2]).await);
    injected(keys(&*store, None).await);
    injected(store.list_with_delimiter(None).await);
    injected(store.list_with_offset(None, &path("a")).try_collect::<Vec<_>>().await);
    injected(store.put_multipart(&path("big")).await);
    let meta_error = quiver_storage::MetaStore::get(&meta, "k").await.unwrap_err();
    assert!(meta_error.to_string().contains("power is off"), "{meta_error}");
    assert_eq!(keys(&*inner, None).await.unwrap(), ["kept"]);
    // A power cut is final.
    assert!(!store.power().is_on());
    assert!(store.power().same_switch(&power));
}

#[tokio::test]
async fn crash_after_lands_the_call_then_cuts_the_power() {
    let inner = memory();
    let store = wrap(&inner);
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::CrashAfter).prefix("insert_log/"));
    let message = injected(put(&*store, LOG, b"rows").await);
    assert_eq!(message, format!("injected fault: crash after put of {LOG} ({rule}); the call reached the store, power is now off"));
    assert!(!store.power().is_on());
    assert_eq!(object(&*inner, LOG).await.as_deref(), Some(&b"rows"[..]));
    assert_eq!(store.counters().bytes_put, 4);
    injected(put(&*store, "later", b"x").await);
    assert_eq!(object(&*inner, "later").await, None);

    // A new instance: new wrapper, fresh power, same inner store.
    let reopened = wrap(&inner);
    assert_eq!(object(&*reopened, LOG).await.as_deref(), Some(&b"rows"[..]));
    put(&*reopened, "later", b"x").await.unwrap();
    assert_eq!(object(&*inner, "later").await.as_deref(), Some(&b"x"[..]));
}

#[tokio::test]
async fn crash_after_a_copy_and_a_rename() {
    let inner = memory();
    let store = wrap(&inner);
    put(&*inner, "src", b"s").await.unwrap();
    // Matched on the target location.
    store.add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::CrashAfter).prefix("restored/"));
    let message = injected(store.copy(&path("src"), &path("restored/a")).await);
    assert!(message.contains("crash after copy of src to restored/a"), "{message}");
    assert_eq!(object(&*inner, "restored/a").await.as_deref(), Some(&b"s"[..]));

    let store = wrap(&inner);
    store.add_rule(ObjectRule::new(ObjectOp::Rename, ObjectAction::Fail).prefix("src"));
    injected(store.rename(&path("src"), &path("dst")).await);
    assert_eq!(keys(&*inner, None).await.unwrap(), ["restored/a", "src"]);
    store.clear_rules();
    store.add_rule(ObjectRule::new(ObjectOp::Rename, ObjectAction::CrashAfter));
    injected(store.rename(&path("src"), &path("dst")).await);
    assert_eq!(keys(&*inner, None).await.unwrap(), ["dst", "restored/a"]);
}

#[tokio::test]
async fn deletes_are_judged_one_location_at_a_time() {
    let inner = memory();
    let store = wrap(&inner);
    for key in ["gc/1", "gc/2", "gc/3", "gc/4"] {
        put(&*inner, key, b"x").await.unwrap();
    }
    store.add_rule(ObjectRule::new(ObjectOp::Delete, ObjectAction::Fail).when(When::Nth(2)));
    let locations = futures::stream::iter(["gc/1", "gc/2", "gc/3"].map(|k| Ok(path(k)))).boxed();
    let results: Vec<_> = store.delete_stream(locations).collect().await;
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(injected(results.into_iter().nth(1).unwrap()).contains("fail delete of gc/2"));
    assert_eq!(keys(&*inner, None).await.unwrap(), ["gc/2", "gc/4"]);
    assert_eq!(store.counters().deleted, [path("gc/1"), path("gc/3")]);

    // A crash after the 2nd delete: it lands, the rest of the stream is refused.
    let store = wrap(&inner);
    store.add_rule(ObjectRule::new(ObjectOp::Delete, ObjectAction::CrashAfter).when(When::Nth(2)));
    let locations = futures::stream::iter(["gc/missing", "gc/2", "gc/4"].map(|k| Ok(path(k)))).boxed();
    let results: Vec<_> = store.delete_stream(locations).collect().await;
    assert!(results[0].is_ok(), "InMemory deletes a missing key without error");
    assert!(injected(results.into_iter().nth(2).unwrap()).starts_with("power is off"));
    assert_eq!(keys(&*inner, None).await.unwrap(), ["gc/4"]);
    assert_eq!(store.counters().deleted, [path("gc/missing"), path("gc/2")]);
}

#[tokio::test]
async fn list_rules_match_overlapping_prefixes() {
    let inner = memory();
    let store = wrap(&inner);
    for key in ["a/b/1", "a/c/2", "b/3"] {
        put(&*inner, key, b"x").await.unwrap();
    }
    let rule = store.add_rule(ObjectRule::new(ObjectOp::List, ObjectAction::Fail).prefix("a/b"));
    assert!(injected(keys(&*store, Some("a/b")).await).contains("fail list of a/b"));
    injected(keys(&*store, Some("a")).await); // sees a/b/…
    assert!(injected(keys(&*store, None).await).contains("list of (everything)"));
    injected(store.list_with_delimiter(Some(&path("a/b/1"))).await);
    assert_eq!(keys(&*store, Some("b")).await.unwrap(), ["b/3"]);
    assert_eq!(store.fired(rule), 4);
    // The rule judges the call when `list` is called, not when the stream is polled.
    let stream = store.list(Some(&path("a")));
    store.clear_rules();
    injected(stream.try_collect::<Vec<_>>().await);
}

#[tokio::test]
async fn a_listing_stops_when_the_power_goes_off() {
    let inner = memory();
    let store = wrap(&inner);
    for key in ["k/1", "k/2", "k/3"] {
        put(&*inner, key, b"x").await.unwrap();
    }
    let mut listing = store.list(Some(&path("k")));
    listing.next().await.unwrap().unwrap();
    store.power().cut();
    injected(listing.next().await.unwrap());
    assert!(listing.next().await.is_none());
}

#[tokio::test]
async fn crash_after_a_list_or_a_get_cuts_the_power() {
    let inner = memory();
    put(&*inner, "k/1", b"x").await.unwrap();
    let store = wrap(&inner);
    store.add_rule(ObjectRule::new(ObjectOp::List, ObjectAction::CrashAfter));
    injected(keys(&*store, Some("k")).await);
    assert!(!store.power().is_on());
    let store = wrap(&inner);
    store.add_rule(ObjectRule::new(ObjectOp::Get, ObjectAction::CrashAfter));
    injected(store.get(&path("k/1")).await);
    assert!(!store.power().is_on());
}

#[tokio::test]
async fn provided_methods_go_through_the_rules() {
    let inner = memory();
    put(&*inner, LOG, b"0123456789").await.unwrap();
    let store = wrap(&inner);
    let rule = store.add_rule(ObjectRule::new(ObjectOp::Get, ObjectAction::Fail));
    injected(store.get_ranges(&path(LOG), &[0..2, 4..6]).await);
    injected(store.get_range(&path(LOG), 0..2).await);
    injected(store.get(&path(LOG)).await);
    store.head(&path(LOG)).await.unwrap(); // a head is not a get
    assert_eq!(store.fired(rule), 3);
    store.clear_rules();
    store.add_rule(ObjectRule::new(ObjectOp::List, ObjectAction::Fail));
    injected(store.list_with_offset(Some(&path("insert_log")), &path("insert_log/0")).try_collect::<Vec<_>>().await);
    store.add_rule(ObjectRule::new(ObjectOp::Copy, ObjectAction::Fail));
    injected(store.copy_if_not_exists(&path(LOG), &path("copy")).await);
    store.add_rule(ObjectRule::new(ObjectOp::Rename, ObjectAction::Fail));
    injected(store.rename_if_not_exists(&path(LOG), &path("moved")).await);
    assert_eq!(keys(&*inner, None).await.unwrap(), [LOG]);
}

#[tokio::test]
async fn errors_of_the_inner_store_pass_through_untouched() {
    let store = wrap(&memory());
    assert!(matches!(store.get(&path("missing")).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.head(&path("missing")).await, Err(Error::NotFound { .. })));
    put(&*store, "k", b"x").await.unwrap();
    let create = store.put_opts(&path("k"), b"y".to_vec().into(), PutOptions::from(PutMode::Create)).await;
    assert!(matches!(create, Err(Error::AlreadyExists { .. })), "{create:?}");
}

#[tokio::test]
async fn multipart_uploads() {
    let inner = memory();
    let store = wrap(&inner);
    let upload = |key: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let mut upload = store.put_multipart(&path(key)).await?;
            upload.put_part(b"0123".to_vec().into()).await?;
            upload.put_part(b"456789".to_vec().into()).await?;
            upload.complete().await.map(drop)
        }
    };
    upload("plain").await.unwrap();
    assert_eq!(object(&*inner, "plain").await.as_deref(), Some(&b"0123456789"[..]));
    assert_eq!(store.counters().bytes_put, 10);
    assert_eq!(store.counters().count(ObjectOp::Multipart), 1);

    store.add_rule(ObjectRule::new(ObjectOp::Multipart, ObjectAction::Fail).prefix("failed"));
    assert!(injected(upload("failed").await).contains("fail multipart put of failed"));
    assert_eq!(object(&*inner, "failed").await, None);

    store.add_rule(ObjectRule::new(ObjectOp::Multipart, ObjectAction::Tear).prefix("torn"));
    assert!(injected(upload("torn").await).ends_with("wrote 5 of 10 bytes"));
    assert_eq!(object(&*inner, "torn").await.as_deref(), Some(&b"01234"[..]));

    store.add_rule(ObjectRule::new(ObjectOp::Multipart, ObjectAction::CrashAfter).prefix("crashed"));
    injected(upload("crashed").await);
    assert_eq!(object(&*inner, "crashed").await.as_deref(), Some(&b"0123456789"[..]));
    assert!(!store.power().is_on());
}

#[tokio::test]
async fn a_power_cut_during_a_multipart_upload_refuses_its_parts() {
    let inner = memory();
    let store = wrap(&inner);
    let mut upload = store.put_multipart(&path("big")).await.unwrap();
    upload.put_part(b"0123".to_vec().into()).await.unwrap();
    store.power().cut();
    injected(upload.put_part(b"4567".to_vec().into()).await);
    injected(upload.complete().await);
    injected(upload.abort().await);
    assert_eq!(object(&*inner, "big").await, None);
}

#[tokio::test]
async fn counters_count_calls_bytes_and_deletions() {
    let inner = memory();
    let store = wrap(&inner);
    put(&*store, "a", b"0123456789").await.unwrap();
    put(&*store, "b", b"xyz").await.unwrap();
    store.get(&path("a")).await.unwrap().bytes().await.unwrap();
    store.get_range(&path("a"), 2..5).await.unwrap();
    store.get_ranges(&path("a"), &[0..1, 5..7]).await.unwrap();
    store.head(&path("a")).await.unwrap();
    store.copy(&path("a"), &path("c")).await.unwrap();
    store.rename(&path("c"), &path("d")).await.unwrap();
    keys(&*store, None).await.unwrap();
    store.list_with_delimiter(None).await.unwrap();
    store.delete(&path("b")).await.unwrap();
    store.delete(&path("d")).await.unwrap();
    store.add_rule(ObjectRule::new(ObjectOp::Delete, ObjectAction::Fail));
    injected(store.delete(&path("a")).await);

    let counters = store.counters();
    let calls = |op| counters.count(op);
    assert_eq!(
        [ObjectOp::Put, ObjectOp::Get, ObjectOp::Head, ObjectOp::Copy, ObjectOp::Rename, ObjectOp::List, ObjectOp::Delete].map(calls),
        [2, 3, 1, 1, 1, 2, 3]
    );
    assert_eq!(calls(ObjectOp::Multipart), 0);
    assert_eq!(counters.bytes_put, 13);
    assert_eq!(counters.bytes_read, 10 + 3 + 3);
    assert_eq!(counters.deleted, [path("b"), path("d")]);
    assert_eq!(keys(&*inner, None).await.unwrap(), ["a"]);

    store.reset_counters();
    assert_eq!(store.counters(), Default::default());
    // Calls refused for lack of power are counted too.
    store.power().cut();
    injected(put(&*store, "e", b"e").await);
    assert_eq!(store.counters().count(ObjectOp::Put), 1);
}

#[tokio::test]
async fn the_earliest_firing_rule_decides_and_later_ones_do_not_fire() {
    let inner = memory();
    let store = wrap(&inner);
    let fail = store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Fail).when(When::Nth(2)));
    let crash = store.add_rule(ObjectRule::any_op(ObjectAction::CrashBefore).prefix("x").when(When::Nth(2)));
    put(&*store, "x", b"1").await.unwrap();
    assert!(injected(put(&*store, "x", b"2").await).contains("(rule 1)"));
    assert!(store.power().is_on());
    assert_eq!((store.fired(fail), store.fired(crash)), (1, 0));
    // The crash rule counted the 2nd call anyway, so its "2nd" has passed.
    put(&*store, "x", b"3").await.unwrap();
    assert!(store.power().is_on());
}

#[tokio::test]
async fn display_names_the_inner_store() {
    let store = wrap(&memory());
    assert_eq!(store.to_string(), "FaultyObjectStore(InMemory)");
}
