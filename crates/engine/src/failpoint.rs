//! Crash injection for fault tests. `QUIVER_FAILPOINTS=a,b` makes the process abort —
//! as abruptly as `kill -9` — when it reaches a point named `a` or `b`. With the
//! variable unset (always, outside tests) a point costs one atomic load.
//!
//! Points (each sits between two durable steps):
//! `flush.after_objects`, `compaction.after_objects`,
//! `snapshot.create.after_pending`, `snapshot.create.after_manifests`,
//! `snapshot.create.before_commit`, `snapshot.drop.after_deleting`,
//! `snapshot.drop.after_files`, `restore.after_job_saved`, `restore.after_first_copy`,
//! `restore.before_register`, `restore.after_register`.

use std::collections::HashSet;
use std::sync::OnceLock;

fn armed() -> &'static HashSet<String> {
    static ARMED: OnceLock<HashSet<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var("QUIVER_FAILPOINTS")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    })
}

/// Abort the process here if the point is armed.
pub fn hit(name: &str) {
    if armed().contains(name) {
        eprintln!("failpoint {name} reached: aborting");
        std::process::abort();
    }
}
