//! The behaviour every metadata backend must show. Each backend runs this whole suite.

use super::{MemMetaStore, MetaError, MetaStore, RedbMetaStore, Txn};

async fn suite(store: &dyn MetaStore) {
    // get / put / delete
    assert_eq!(store.get("a").await.unwrap(), None);
    store.put("a", b"1".to_vec()).await.unwrap();
    assert_eq!(store.get("a").await.unwrap(), Some(b"1".to_vec()));
    store.put("a", b"2".to_vec()).await.unwrap();
    assert_eq!(store.get("a").await.unwrap(), Some(b"2".to_vec()));
    store.delete("a").await.unwrap();
    assert_eq!(store.get("a").await.unwrap(), None);
    store.delete("a").await.unwrap();

    // prefix scan: ordered, bounded by the prefix
    for key in ["p/2", "p/1", "p/10", "q/1", "o/9", "p"] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let keys: Vec<String> = store.scan_prefix("p/").await.unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["p/1", "p/10", "p/2"]);
    assert!(store.scan_prefix("zz").await.unwrap().is_empty());
    let views = store.scan_prefixes(&["p/", "zz", "q/"]).await.unwrap();
    let keys: Vec<Vec<&str>> = views.iter().map(|v| v.iter().map(|(k, _)| k.as_str()).collect()).collect();
    assert_eq!(keys, [vec!["p/1", "p/10", "p/2"], vec![], vec!["q/1"]]);

    // atomic multi-key commit
    store.commit(Txn::new().put("t/1", b"x".to_vec()).put("t/2", b"y".to_vec()).delete("p/1")).await.unwrap();
    assert_eq!(store.get("t/1").await.unwrap(), Some(b"x".to_vec()));
    assert_eq!(store.get("t/2").await.unwrap(), Some(b"y".to_vec()));
    assert_eq!(store.get("p/1").await.unwrap(), None);

    // a failed condition writes nothing
    let err = store.commit(Txn::new().when_absent("t/1").put("t/3", b"z".to_vec()).delete("t/2")).await.unwrap_err();
    assert!(matches!(err, MetaError::ConditionFailed { ref key } if key == "t/1"));
    assert_eq!(store.get("t/3").await.unwrap(), None);
    assert_eq!(store.get("t/2").await.unwrap(), Some(b"y".to_vec()));

    // compare-and-swap
    let err = store.commit(Txn::new().when_equals("t/1", b"nope".to_vec()).put("t/1", b"w".to_vec())).await;
    assert!(matches!(err, Err(MetaError::ConditionFailed { .. })));
    store.commit(Txn::new().when_equals("t/1", b"x".to_vec()).put("t/1", b"w".to_vec())).await.unwrap();
    assert_eq!(store.get("t/1").await.unwrap(), Some(b"w".to_vec()));
    let err = store.commit(Txn::new().when_equals("missing", b"x".to_vec())).await;
    assert!(matches!(err, Err(MetaError::ConditionFailed { .. })));

    // create-if-absent succeeds once
    store.commit(Txn::new().when_absent("new").put("new", b"1".to_vec())).await.unwrap();
    assert!(store.commit(Txn::new().when_absent("new").put("new", b"2".to_vec())).await.is_err());
    assert_eq!(store.get("new").await.unwrap(), Some(b"1".to_vec()));
}

/// A key moved from one prefix to another by one commit is seen by a one-view read of
/// both prefixes in exactly one of them, however the reads and the moves interleave.
async fn one_view_never_misses_a_moving_key(store: std::sync::Arc<dyn MetaStore>) {
    store.put("from/k", b"v".to_vec()).await.unwrap();
    let mover = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..200 {
                let (from, to) = if i % 2 == 0 { ("from/k", "to/k") } else { ("to/k", "from/k") };
                store.commit(Txn::new().when_absent(to).delete(from).put(to, b"v".to_vec())).await.unwrap();
            }
        })
    };
    while !mover.is_finished() {
        let view = store.scan_prefixes(&["from/", "to/"]).await.unwrap();
        assert_eq!(view[0].len() + view[1].len(), 1, "{view:?}");
        tokio::task::yield_now().await;
    }
    mover.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_view_reads_are_consistent_on_every_backend() {
    one_view_never_misses_a_moving_key(std::sync::Arc::new(MemMetaStore::new())).await;
    let dir = tempfile::tempdir().unwrap();
    one_view_never_misses_a_moving_key(std::sync::Arc::new(RedbMetaStore::open(&dir.path().join("meta.redb")).unwrap())).await;
}

#[tokio::test]
async fn memory_backend_conforms() {
    suite(&MemMetaStore::new()).await;
}

#[tokio::test]
async fn redb_backend_conforms() {
    let dir = tempfile::tempdir().unwrap();
    suite(&RedbMetaStore::open(&dir.path().join("meta.redb")).unwrap()).await;
}

#[tokio::test]
async fn redb_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.redb");
    {
        let store = RedbMetaStore::open(&path).unwrap();
        store.commit(Txn::new().put("k", b"v".to_vec()).put("k2", b"v2".to_vec())).await.unwrap();
    }
    let store = RedbMetaStore::open(&path).unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(store.scan_prefix("k").await.unwrap().len(), 2);
}
