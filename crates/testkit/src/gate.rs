//! Gates: a place where a test stops calls until it opens it. A call that fires a `Hold`
//! rule waits at the gate, so a test knows exactly where an operation is (say, between
//! staging a file and writing it) while it runs something else against the same engine,
//! and then lets it go. Deterministic where a stall would be a guess about timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, watch};

/// A gate calls wait at (see the module doc); clones are the same gate.
#[derive(Clone, Debug)]
pub struct Gate(Arc<State>);

#[derive(Debug)]
struct State {
    open: watch::Sender<bool>,
    arrived: AtomicU64,
    arrival: Notify,
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate(Arc::new(State { open: watch::channel(false).0, arrived: AtomicU64::new(0), arrival: Notify::new() }))
    }

    /// Wait until at least `calls` calls have arrived at the gate.
    pub async fn reached(&self, calls: u64) {
        loop {
            let notified = self.0.arrival.notified();
            if self.arrived() >= calls {
                return;
            }
            notified.await;
        }
    }

    /// How many calls have arrived at the gate so far.
    pub fn arrived(&self) -> u64 {
        self.0.arrived.load(Ordering::SeqCst)
    }

    /// Let every held call, and every later one, through.
    pub fn open(&self) {
        self.0.open.send_replace(true);
    }

    pub(crate) async fn pass(&self) {
        let mut open = self.0.open.subscribe();
        self.0.arrived.fetch_add(1, Ordering::SeqCst);
        self.0.arrival.notify_waiters();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = open.wait_for(|open| *open).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FaultyObjectStore, ObjectAction, ObjectOp, ObjectRule, Power};
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use object_store::path::Path;

    #[tokio::test]
    async fn a_held_put_lands_only_once_the_gate_opens() {
        let inner = Arc::new(InMemory::new());
        let store = Arc::new(FaultyObjectStore::new(inner.clone(), Power::new()));
        let gate = Gate::new();
        store.add_rule(ObjectRule::new(ObjectOp::Put, ObjectAction::Hold(gate.clone())).prefix("held/"));
        let put = {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.put(&Path::from("held/a"), b"x".to_vec().into()).await })
        };
        gate.reached(1).await;
        assert!(inner.head(&Path::from("held/a")).await.is_err(), "nothing lands while the call is held");
        store.put(&Path::from("free/b"), b"y".to_vec().into()).await.unwrap();
        gate.open();
        put.await.unwrap().unwrap();
        assert!(inner.head(&Path::from("held/a")).await.is_ok());
        assert_eq!(gate.arrived(), 1);
    }
}
