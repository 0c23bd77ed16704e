//! The object store conformance suite on every backend the engine uses, bare and behind a
//! `FaultyObjectStore` with no rules.

use object_store::ObjectStore;
use object_store::memory::InMemory;
use quiver_storage::ObjectStoreConfig;
use quiver_testkit::{FaultyObjectStore, ObjectOp, Power, object_store_conformance};
use std::sync::Arc;

fn local(dir: &tempfile::TempDir) -> Arc<dyn ObjectStore> {
    quiver_storage::objects::build(&ObjectStoreConfig::Local { root: dir.path().join("objects") }).unwrap()
}

#[tokio::test]
async fn in_memory() {
    object_store_conformance(Arc::new(InMemory::new())).await;
}

#[tokio::test]
async fn local_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    object_store_conformance(local(&dir)).await;
}

/// The suite through a wrapper with no rules, which must also show that the calls went
/// through the wrapper (and so that the wrapper served them, not some other path).
async fn through_the_wrapper(inner: Arc<dyn ObjectStore>) {
    let faulty = Arc::new(FaultyObjectStore::new(inner, Power::new()));
    object_store_conformance(Arc::clone(&faulty) as Arc<dyn ObjectStore>).await;
    let counters = faulty.counters();
    for op in [ObjectOp::Put, ObjectOp::Get, ObjectOp::Head, ObjectOp::Delete, ObjectOp::Copy, ObjectOp::Rename, ObjectOp::List] {
        assert!(counters.count(op) > 0, "{faulty}: no {op} went through the wrapper");
    }
    assert!(faulty.power().is_on());
}

#[tokio::test]
async fn faulty_in_memory() {
    through_the_wrapper(Arc::new(InMemory::new())).await;
}

#[tokio::test]
async fn faulty_local_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    through_the_wrapper(local(&dir)).await;
}

#[tokio::test]
async fn the_suite_can_run_twice_on_one_store() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    object_store_conformance(Arc::clone(&store)).await;
    object_store_conformance(store).await;
}

/// What the conformance module doc says about deleting a missing key, kept true.
#[tokio::test]
async fn deleting_a_missing_key_differs_by_backend() {
    use object_store::{Error, ObjectStoreExt, path::Path};
    let missing = Path::from("missing");
    let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    assert!(memory.delete(&missing).await.is_ok());
    let dir = tempfile::tempdir().unwrap();
    let result = local(&dir).delete(&missing).await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
}
