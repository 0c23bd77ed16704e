//! Crash injection at named points between durable steps.
//!
//! A point is armed one of two ways:
//! - `QUIVER_FAILPOINTS=a,b` in the environment (read once): the process aborts at the
//!   point, as abruptly as `kill -9`. The end-to-end fault tests use this.
//! - [`Failpoints::arm`] on one engine instance (Rust tests): the hook runs (the test
//!   environment cuts the power of that instance's stores) and the operation stops with
//!   [`EngineError::Crashed`], so nothing after the point reaches storage.
//!
//! With nothing armed a point costs one atomic load.

use crate::error::{EngineError, Result};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Every point, each between two durable steps of the operation it names.
pub const POINTS: &[&str] = &[
    "flush.after_objects",
    "flush.after_commit",
    "compaction.after_objects",
    "compaction.after_commit",
    "truncate.after_commit",
    "index.after_file",
    "snapshot.create.after_pending",
    "snapshot.create.after_manifests",
    "snapshot.create.before_commit",
    "snapshot.drop.after_deleting",
    "snapshot.drop.after_files",
    "restore.after_job_saved",
    "restore.after_first_copy",
    "restore.before_register",
    "restore.after_register",
    "gc.after_delete",
];

type Hook = Arc<dyn Fn() + Send + Sync>;

/// The failpoints of one engine instance.
#[derive(Default)]
pub struct Failpoints {
    any_armed: AtomicBool,
    armed: Mutex<HashMap<String, Hook>>,
}

impl Failpoints {
    /// Make `point` run `hook` and stop its operation with [`EngineError::Crashed`].
    pub fn arm(&self, point: &str, hook: impl Fn() + Send + Sync + 'static) {
        self.armed.lock().expect("failpoints poisoned").insert(point.to_string(), Arc::new(hook));
        self.any_armed.store(true, Ordering::SeqCst);
    }

    pub fn disarm_all(&self) {
        self.armed.lock().expect("failpoints poisoned").clear();
        self.any_armed.store(false, Ordering::SeqCst);
    }

    /// Pass `point`: abort the process if the environment armed it, crash the operation
    /// if this instance armed it, else go on.
    pub fn hit(&self, point: &'static str) -> Result<()> {
        if from_environment().contains(point) {
            eprintln!("failpoint {point} reached: aborting");
            std::process::abort();
        }
        if !self.any_armed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let hook = self.armed.lock().expect("failpoints poisoned").get(point).cloned();
        match hook {
            Some(hook) => {
                hook();
                Err(EngineError::Crashed { point })
            }
            None => Ok(()),
        }
    }
}

fn from_environment() -> &'static HashSet<String> {
    static ARMED: OnceLock<HashSet<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var("QUIVER_FAILPOINTS")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    })
}
