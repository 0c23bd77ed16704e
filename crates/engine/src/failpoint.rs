//! Crash injection at named points between durable steps.
//!
//! A point is armed one of two ways:
//! - `QUIVER_FAILPOINTS=a,b` in the environment (read once): the process aborts at the
//!   point, as abruptly as `kill -9`. The end-to-end fault tests use this. A point
//!   written `a=sleep(MS)` instead stalls the thread that reaches it for MS milliseconds
//!   and goes on: end-to-end tests use it to catch an operation in the middle.
//! - [`Failpoints::arm`] on one engine instance (Rust tests): the hook runs (the test
//!   environment cuts the power of that instance's stores) and the operation stops with
//!   [`EngineError::Crashed`], so nothing after the point reaches storage.
//!
//! With nothing armed a point costs one atomic load.

use crate::error::{EngineError, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Every point, each between two durable steps of the operation it names.
pub const POINTS: &[&str] = &[
    "flush.after_objects",
    "flush.after_commit",
    "compaction.after_objects",
    "compaction.after_commit",
    "truncate.after_commit",
    "rollback.after_commit",
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
        match from_environment().get(point) {
            Some(EnvAction::Abort) => {
                eprintln!("failpoint {point} reached: aborting");
                std::process::abort();
            }
            Some(EnvAction::Sleep(duration)) => stall(*duration),
            None => {}
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

/// Sleeps on this thread; on a multi-thread tokio worker, first hands the worker's other
/// tasks to another thread, so the stall holds up only the operation at the point.
fn stall(duration: std::time::Duration) {
    let on_worker = tokio::runtime::Handle::try_current().is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_worker {
        tokio::task::block_in_place(|| std::thread::sleep(duration));
    } else {
        std::thread::sleep(duration);
    }
}

/// What a point armed through the environment does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EnvAction {
    Abort,
    Sleep(std::time::Duration),
}

/// `a,b=sleep(100)` → {a: Abort, b: Sleep(100 ms)}. A malformed action aborts too: a
/// fault test that misspells its stall should fail loudly, not pass unstalled.
fn parse_env(spec: &str) -> HashMap<String, EnvAction> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| match item.split_once('=') {
            Some((point, action)) => {
                let ms = action.trim().strip_prefix("sleep(").and_then(|a| a.strip_suffix(')')).and_then(|ms| ms.parse().ok());
                let action = ms.map_or(EnvAction::Abort, |ms| EnvAction::Sleep(std::time::Duration::from_millis(ms)));
                (point.trim().to_string(), action)
            }
            None => (item.to_string(), EnvAction::Abort),
        })
        .collect()
}

fn from_environment() -> &'static HashMap<String, EnvAction> {
    static ARMED: OnceLock<HashMap<String, EnvAction>> = OnceLock::new();
    ARMED.get_or_init(|| std::env::var("QUIVER_FAILPOINTS").map(|v| parse_env(&v)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_points_abort_or_sleep() {
        let parsed = parse_env(" a , b=sleep(250),c=sleep(x) ,");
        assert_eq!(parsed.get("a"), Some(&EnvAction::Abort));
        assert_eq!(parsed.get("b"), Some(&EnvAction::Sleep(std::time::Duration::from_millis(250))));
        assert_eq!(parsed.get("c"), Some(&EnvAction::Abort));
        assert_eq!(parsed.len(), 3);
    }
}
