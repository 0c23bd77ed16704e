//! Sessions: one per running engine instance. What a session stages (see `staging`) is
//! alive while the session is: a process's own session always, another's while its
//! heartbeat is younger than [`SESSION_TIMEOUT_MS`]. A session that stops heartbeating
//! (its process died) takes its staged files with it: they become garbage.
//!
//! | key | value |
//! | --- | --- |
//! | `gc/session/<session>` | [`SessionRecord`] JSON |

use crate::context::Context;
use crate::error::{Result, encode};
use quiver_storage::Txn;
use serde::{Deserialize, Serialize};

pub const SESSION_PREFIX: &str = "gc/session/";
/// A session whose heartbeat is older than this is dead.
pub const SESSION_TIMEOUT_MS: u64 = 60_000;
/// How often a live session renews its heartbeat (well inside the timeout).
pub const HEARTBEAT_INTERVAL_MS: u64 = 10_000;

pub fn key(session: i64) -> String {
    format!("{SESSION_PREFIX}{session:020}")
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub started_ms: u64,
    pub heartbeat_ms: u64,
}

impl SessionRecord {
    pub fn alive(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.heartbeat_ms) < SESSION_TIMEOUT_MS
    }
}

/// Record (or renew) this process's session.
pub async fn heartbeat(ctx: &Context, started_ms: u64) -> Result<()> {
    let record = SessionRecord { started_ms, heartbeat_ms: ctx.now_ms() };
    ctx.meta.put(&key(ctx.session), encode(&record)).await?;
    Ok(())
}

/// Start this process's session. In a store only one process can use at a time, every
/// other session belongs to a process that is gone: they end now, so what they staged is
/// garbage and their pending snapshots are swept at once.
pub async fn start(ctx: &Context, started_ms: u64) -> Result<()> {
    if ctx.meta.single_process() {
        let mut ended = Txn::new();
        for (key, _) in ctx.meta.scan_prefix(SESSION_PREFIX).await? {
            ended = ended.delete(key);
        }
        if !ended.is_empty() {
            ctx.meta.commit(ended).await?;
        }
    }
    heartbeat(ctx, started_ms).await
}

/// End this process's session (clean shutdown): what it staged and never released is
/// garbage from now on.
pub async fn end(ctx: &Context) -> Result<()> {
    ctx.meta.delete(&key(ctx.session)).await?;
    Ok(())
}
