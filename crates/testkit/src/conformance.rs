//! The behaviour the engine relies on from every object store backend it runs on (local,
//! S3, memory, and any of them behind a [`FaultyObjectStore`](crate::FaultyObjectStore)).
//! Each backend runs this whole suite, so no backend has a code path tested only on
//! another one.
//!
//! # Where backends differ (and the engine must not care)
//! - Deleting a missing key: `InMemory` and S3 answer `Ok`; `LocalFileSystem` (and so
//!   quiver-storage's local store) answers `NotFound`. The engine treats `NotFound` on
//!   delete as done; the suite accepts both.
//! - Listing order: not specified (local listings follow the directory walk). The suite
//!   sorts before comparing, and so must every caller.
//! - Copy: a hard link on the local filesystem, a server-side copy elsewhere. Either way
//!   the copy must not change when its source is later overwritten, which the suite checks.

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{Error, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use std::sync::Arc;

/// Everything under this prefix belongs to the suite; it must be empty when the suite
/// starts, and is empty again when it returns.
pub const CONFORMANCE_PREFIX: &str = "conformance";

fn key(name: &str) -> Path {
    Path::from(format!("{CONFORMANCE_PREFIX}/{name}"))
}

async fn read(store: &dyn ObjectStore, location: &Path) -> Bytes {
    let got = store.get(location).await.unwrap_or_else(|e| panic!("{store}: get {location}: {e}"));
    got.bytes().await.unwrap_or_else(|e| panic!("{store}: read {location}: {e}"))
}

async fn put(store: &dyn ObjectStore, location: &Path, bytes: &'static [u8]) {
    store.put(location, PutPayload::from_static(bytes)).await.unwrap_or_else(|e| panic!("{store}: put {location}: {e}"));
}

async fn listed(store: &dyn ObjectStore, prefix: &str) -> Vec<String> {
    let prefix = Path::from(prefix);
    let mut keys: Vec<String> = store
        .list(Some(&prefix))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{store}: list {prefix}: {e}"));
    keys.sort();
    keys
}

fn assert_not_found<T: std::fmt::Debug>(store: &dyn ObjectStore, what: &str, result: object_store::Result<T>) {
    match result {
        Err(Error::NotFound { .. }) => {}
        other => panic!("{store}: {what}: expected NotFound, got {other:?}"),
    }
}

fn assert_already_exists<T: std::fmt::Debug>(store: &dyn ObjectStore, what: &str, result: object_store::Result<T>) {
    match result {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("{store}: {what}: expected AlreadyExists, got {other:?}"),
    }
}

/// Run the suite against `store`, panicking (with the store's name) at the first
/// behaviour the engine could not rely on. Uses only keys under [`CONFORMANCE_PREFIX`].
pub async fn object_store_conformance(store: Arc<dyn ObjectStore>) {
    let store = &*store;
    assert!(listed(store, CONFORMANCE_PREFIX).await.is_empty(), "{store}: {CONFORMANCE_PREFIX}/ must start empty");

    // Put, then get returns the bytes; head gives the size.
    let a = key("a.bin");
    put(store, &a, b"0123456789").await;
    assert_eq!(&read(store, &a).await[..], b"0123456789", "{store}: get after put");
    let meta = store.head(&a).await.unwrap_or_else(|e| panic!("{store}: head {a}: {e}"));
    assert_eq!((meta.location.clone(), meta.size), (a.clone(), 10), "{store}: head");

    // Missing keys are NotFound, for get and head alike.
    let missing = key("missing.bin");
    assert_not_found(store, "get of a missing key", store.get(&missing).await);
    assert_not_found(store, "head of a missing key", store.head(&missing).await);

    // Ranged reads: one range, several ranges, a range in the options.
    assert_eq!(&store.get_range(&a, 2..5).await.unwrap()[..], b"234", "{store}: get_range");
    let ranges = store.get_ranges(&a, &[0..1, 8..10, 3..4]).await.unwrap();
    assert_eq!(ranges.iter().map(|b| &b[..]).collect::<Vec<_>>(), [&b"0"[..], b"89", b"3"], "{store}: get_ranges");
    let ranged = store.get_opts(&a, GetOptions::new().with_range(Some(4..7u64))).await.unwrap();
    assert_eq!(ranged.range, 4..7, "{store}: range of a ranged get");
    assert_eq!(ranged.meta.size, 10, "{store}: size reported by a ranged get");
    assert_eq!(&ranged.bytes().await.unwrap()[..], b"456", "{store}: ranged get_opts");

    // Overwrite replaces the bytes and the size.
    put(store, &a, b"abc").await;
    assert_eq!(&read(store, &a).await[..], b"abc", "{store}: get after overwrite");
    assert_eq!(store.head(&a).await.unwrap().size, 3, "{store}: size after overwrite");

    // Create-if-absent: refuses an existing key (leaving it alone), writes a new one.
    let create = PutOptions::from(PutMode::Create);
    assert_already_exists(store, "PutMode::Create on an existing key", store.put_opts(&a, b"new".to_vec().into(), create.clone()).await);
    assert_eq!(&read(store, &a).await[..], b"abc", "{store}: a refused create changed the object");
    let created = key("created.bin");
    store.put_opts(&created, b"first".to_vec().into(), create).await.unwrap_or_else(|e| panic!("{store}: create {created}: {e}"));
    assert_eq!(&read(store, &created).await[..], b"first", "{store}: get after create");

    // Copy makes an identical object that later writes to the source do not change
    // (a hard link on the local filesystem must not share the new bytes).
    let copied = key("copied.bin");
    store.copy(&a, &copied).await.unwrap_or_else(|e| panic!("{store}: copy: {e}"));
    assert_eq!(&read(store, &copied).await[..], b"abc", "{store}: copy");
    put(store, &a, b"changed").await;
    assert_eq!(&read(store, &copied).await[..], b"abc", "{store}: overwriting the source changed its copy");
    assert_eq!(&read(store, &a).await[..], b"changed", "{store}: source after overwrite");
    assert_not_found(store, "copy of a missing key", store.copy(&missing, &key("nowhere.bin")).await);

    // Copy-if-absent refuses an existing target, copies onto a new one.
    assert_already_exists(store, "copy_if_not_exists onto an existing key", store.copy_if_not_exists(&a, &copied).await);
    assert_eq!(&read(store, &copied).await[..], b"abc", "{store}: a refused copy changed the target");
    let fresh = key("fresh.bin");
    store.copy_if_not_exists(&a, &fresh).await.unwrap_or_else(|e| panic!("{store}: copy_if_not_exists: {e}"));
    assert_eq!(&read(store, &fresh).await[..], b"changed", "{store}: copy_if_not_exists");

    // Rename moves the object.
    let moved = key("moved.bin");
    store.rename(&fresh, &moved).await.unwrap_or_else(|e| panic!("{store}: rename: {e}"));
    assert_eq!(&read(store, &moved).await[..], b"changed", "{store}: rename target");
    assert_not_found(store, "get of a renamed source", store.get(&fresh).await);

    // Listing a prefix returns exactly the keys under it, at any depth, split by path
    // segment (`list/a` holds `list/a/…`, not `list/ab`); order is not relied on.
    for name in ["list/a/1", "list/a/2", "list/a/deep/3", "list/ab/4", "list/b/5"] {
        put(store, &key(name), b"x").await;
    }
    let under = |names: &[&str]| names.iter().map(|name| key(name).to_string()).collect::<Vec<_>>();
    assert_eq!(listed(store, "conformance/list/a").await, under(&["list/a/1", "list/a/2", "list/a/deep/3"]), "{store}: list");
    assert_eq!(listed(store, "conformance/list/nothing").await, Vec::<String>::new(), "{store}: list of an empty prefix");
    let offset = key("list/a/1");
    let mut after: Vec<String> =
        store.list_with_offset(Some(&key("list/a")), &offset).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
    after.sort();
    assert_eq!(after, under(&["list/a/2", "list/a/deep/3"]), "{store}: list_with_offset");
    let level = store.list_with_delimiter(Some(&key("list/a"))).await.unwrap();
    let mut objects: Vec<String> = level.objects.iter().map(|m| m.location.to_string()).collect();
    objects.sort();
    assert_eq!(objects, under(&["list/a/1", "list/a/2"]), "{store}: list_with_delimiter objects");
    assert_eq!(level.common_prefixes, vec![key("list/a/deep")], "{store}: list_with_delimiter prefixes");

    // Delete removes; deleting a missing key is Ok or NotFound (both mean "gone").
    store.delete(&created).await.unwrap_or_else(|e| panic!("{store}: delete: {e}"));
    assert_not_found(store, "get after delete", store.get(&created).await);
    match store.delete(&missing).await {
        Ok(()) | Err(Error::NotFound { .. }) => {}
        Err(e) => panic!("{store}: delete of a missing key: {e}"),
    }

    // Leave the prefix as we found it.
    let everything: Vec<Path> = store.list(Some(&Path::from(CONFORMANCE_PREFIX))).map_ok(|m| m.location).try_collect().await.unwrap();
    for location in everything {
        store.delete(&location).await.unwrap_or_else(|e| panic!("{store}: cleanup delete {location}: {e}"));
    }
    assert!(listed(store, CONFORMANCE_PREFIX).await.is_empty(), "{store}: cleanup left objects behind");
}
