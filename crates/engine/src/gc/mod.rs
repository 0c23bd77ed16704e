//! Garbage collection of data files (insert logs, delete logs, index files).
//!
//! The rule: a file is deleted only if **no** live segment, snapshot (pending,
//! committed or being dropped, pinned or not), running restore job or staging intent of
//! a live session references it, **and** it has been seen unreferenced for longer than
//! the grace period. A file's age plays no part: a slow flush's files are staged before
//! they are written, and a restore's hard-linked copies are referenced by their job.
//!
//! One pass:
//! 1. *List* the swept prefixes, first: a file listed now was written (so staged or
//!    referenced) before the references below are read.
//! 2. *Read every reference in one view* of the metadata store ([`references`]): a
//!    reference that moves from one record to another (a segment captured by a snapshot,
//!    a job's copy registered as a segment) is seen in one place or the other, never
//!    in neither. Every commit that creates a reference to an existing file is
//!    conditioned on a record that already references it, so a file unreferenced in the
//!    view cannot be referenced again.
//! 3. *Decide* per file ([`decide`]): referenced files are kept; an unreferenced one is
//!    marked with the time it was first seen so (`gc/unreferenced/<key>`), and deleted
//!    by a later pass once the mark is older than the grace period.
//! 4. *Forget* records nothing needs any more (dead segment records, stale builds,
//!    intents of dead sessions) once their files are gone.
//!
//! Fail-closed: a record that cannot be decoded stops the pass before anything is
//! deleted.

mod references;
pub mod sessions;
pub mod staging;
pub mod usage;

pub use references::ReferenceSet;
pub use staging::{Intent, Staging};

use crate::context::Context;
use crate::error::Result;
use quiver_storage::Txn;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Object prefixes the collector sweeps.
const SWEPT_PREFIXES: &[&str] = &["insert_log/", "delta_log/", "index_files/"];
/// Marks of files first seen unreferenced: `gc/unreferenced/<object key>` → ms (u64 BE).
pub const MARK_PREFIX: &str = "gc/unreferenced/";
/// Metadata operations per commit when marks are written or records forgotten.
const OPS_PER_COMMIT: usize = 512;

/// What the collector does with one file, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Keep(&'static str),
    /// Unreferenced, seen so for the first time: note when.
    Mark,
    Delete(&'static str),
}

/// The whole GC rule for one file: whether it is referenced, and since when it has been
/// seen unreferenced (its mark), if it has.
pub fn decide(referenced: bool, unreferenced_since_ms: Option<u64>, now_ms: u64, grace_ms: u64) -> Decision {
    match (referenced, unreferenced_since_ms) {
        (true, _) => Decision::Keep("referenced"),
        (false, None) => Decision::Mark,
        (false, Some(since)) if now_ms.saturating_sub(since) < grace_ms => Decision::Keep("unreferenced for less than the grace period"),
        (false, Some(_)) => Decision::Delete("unreferenced for longer than the grace period"),
    }
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub deleted_files: usize,
    pub deleted_bytes: u64,
    pub kept_files: usize,
    pub marked_files: usize,
    pub forgotten_records: usize,
}

pub struct Gc {
    ctx: Arc<Context>,
}

impl Gc {
    pub fn new(ctx: Arc<Context>) -> Gc {
        Gc { ctx }
    }

    /// One pass over every data file.
    ///
    /// # Cancel safety
    /// Cancel safe: every deletion is of a file the rule allows to delete, and marks and
    /// forgotten records are written only after what they describe is true.
    pub async fn collect(&self, grace_ms: u64) -> Result<GcReport> {
        let mut listed: Vec<String> = Vec::new();
        let mut sizes: HashMap<String, u64> = HashMap::new();
        for prefix in SWEPT_PREFIXES {
            for object in self.ctx.list(prefix).await? {
                sizes.insert(object.location.to_string(), object.size);
                listed.push(object.location.to_string());
            }
        }
        let view = references::read(&self.ctx).await?;
        let now = self.ctx.now_ms();
        let refs = view.reference_set(self.ctx.session, now);
        let mut report = GcReport::default();
        let mut marks = Txn::new();
        let mut present: HashSet<&str> = HashSet::new();
        for key in &listed {
            match decide(refs.is_referenced(key), view.marks.get(key).copied(), now, grace_ms) {
                Decision::Keep(_) => {
                    report.kept_files += 1;
                    present.insert(key);
                    if refs.is_referenced(key) && view.marks.contains_key(key) {
                        marks = marks.delete(mark_key(key));
                    }
                }
                Decision::Mark => {
                    report.kept_files += 1;
                    report.marked_files += 1;
                    present.insert(key);
                    marks = marks.put(mark_key(key), now.to_be_bytes().to_vec());
                }
                Decision::Delete(reason) => match self.ctx.delete_object(key).await {
                    Ok(()) => {
                        tracing::info!(file = %key, reason, "gc deleted file");
                        report.deleted_files += 1;
                        report.deleted_bytes += sizes.get(key).copied().unwrap_or(0);
                        marks = marks.delete(mark_key(key));
                        self.ctx.failpoint("gc.after_delete")?;
                    }
                    Err(error) => {
                        tracing::warn!(file = %key, %error, "gc could not delete file");
                        present.insert(key);
                    }
                },
            }
        }
        // Marks of files that are gone (deleted, or removed by someone else).
        let listed_keys: HashSet<&str> = listed.iter().map(String::as_str).collect();
        for key in view.marks.keys().filter(|k| !listed_keys.contains(k.as_str())) {
            marks = marks.delete(mark_key(key));
        }
        self.commit_in_chunks(marks).await?;
        let forget = view.forgettable(&present, &refs, self.ctx.session, now);
        report.forgotten_records = forget.ops.len();
        self.commit_in_chunks(forget).await?;
        quiver_base::metrics::gc_pass(report.deleted_files, report.deleted_bytes);
        Ok(report)
    }

    /// Commit `txn`'s operations in bounded chunks (each chunk keeps the conditions on its
    /// own keys).
    async fn commit_in_chunks(&self, txn: Txn) -> Result<()> {
        let conditions: HashMap<String, quiver_storage::meta::Condition> =
            txn.conditions.into_iter().map(|c| (c.key().to_string(), c)).collect();
        for chunk in txn.ops.chunks(OPS_PER_COMMIT) {
            let mut part = Txn::new();
            for op in chunk {
                let key = match op {
                    quiver_storage::meta::Op::Put(key, _) | quiver_storage::meta::Op::Delete(key) => key,
                };
                if let Some(condition) = conditions.get(key) {
                    part.conditions.push(condition.clone());
                }
                part.ops.push(op.clone());
            }
            match self.ctx.meta.commit(part).await {
                // A record that changed since the view is not ours to forget.
                Ok(()) | Err(quiver_storage::MetaError::ConditionFailed { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

fn mark_key(object: &str) -> String {
    format!("{MARK_PREFIX}{object}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_deleted_only_after_a_grace_period_unreferenced() {
        assert_eq!(decide(true, Some(0), 10_000_000, 1_000), Decision::Keep("referenced"));
        assert_eq!(decide(false, None, 10_000_000, 1_000), Decision::Mark);
        assert_eq!(decide(false, Some(9_999_500), 10_000_000, 1_000), Decision::Keep("unreferenced for less than the grace period"));
        assert!(matches!(decide(false, Some(9_999_000), 10_000_000, 1_000), Decision::Delete(_)));
        // With no grace period a file is still marked once before it is deleted.
        assert_eq!(decide(false, None, 5, 0), Decision::Mark);
        assert!(matches!(decide(false, Some(5), 5, 0), Decision::Delete(_)));
    }
}
