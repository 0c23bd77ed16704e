//! Staging intents: a durable note, committed before a file is written, that this
//! session is about to write it. GC keeps a staged file while the intent exists and its
//! session is alive, so a write that takes longer than any grace period is never
//! collected half-way. The commit that makes the file referenced (a segment or build
//! record) deletes the intent in the same transaction ([`Intent::release`]); an
//! operation that fails abandons it, and its files become garbage.
//!
//! | key | value |
//! | --- | --- |
//! | `gc/intent/<session>/<intent>` | [`IntentRecord`] JSON |

use crate::context::Context;
use crate::error::{Result, encode};
use quiver_storage::Txn;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const INTENT_PREFIX: &str = "gc/intent/";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentRecord {
    pub session: i64,
    pub created_ms: u64,
    /// Object keys about to be written.
    pub objects: Vec<String>,
}

/// A committed intent, to be released by the commit that references its objects.
#[derive(Debug)]
#[must_use = "an intent is released by a commit or abandoned"]
pub struct Intent {
    key: String,
}

impl Intent {
    /// Add the intent's removal to the commit that makes its objects referenced.
    pub fn release(&self, txn: Txn) -> Txn {
        txn.delete(&self.key)
    }
}

pub struct Staging {
    ctx: Arc<Context>,
}

impl Staging {
    pub fn new(ctx: Arc<Context>) -> Staging {
        Staging { ctx }
    }

    /// Record that this session is about to write `objects`.
    pub async fn stage(&self, objects: Vec<String>) -> Result<Intent> {
        let key = format!("{INTENT_PREFIX}{:020}/{:020}", self.ctx.session, self.ctx.next_id().await?);
        let record = IntentRecord { session: self.ctx.session, created_ms: self.ctx.now_ms(), objects };
        self.ctx.meta.put(&key, encode(&record)).await?;
        Ok(Intent { key })
    }

    /// Drop an intent whose objects will never be referenced: they become garbage. Best
    /// effort: an intent left behind dies with its session.
    pub async fn abandon(&self, intent: Intent) {
        if let Err(error) = self.ctx.meta.delete(&intent.key).await {
            tracing::warn!(intent = %intent.key, %error, "cannot abandon a staging intent; it ends with this session");
        }
    }
}
