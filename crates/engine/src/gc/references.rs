//! The one reference set: every record that can keep a data file alive, read in one
//! view of the metadata store, and the one place that answers "is this file referenced?".

use super::MARK_PREFIX;
use super::sessions::{SESSION_PREFIX, SessionRecord};
use super::staging::{INTENT_PREFIX, IntentRecord};
use crate::catalog::keys::COLLECTION_PREFIX;
use crate::catalog::model::Collection;
use crate::context::Context;
use crate::data::{SegmentMeta, keys as data_keys};
use crate::error::{Result, decode};
use crate::indexing::{IndexBuild, keys as build_keys};
use crate::restore::{RestoreJob, keys as job_keys};
use crate::snapshots::{SnapshotRecord, keys as snapshot_keys};
use quiver_base::CollectionId;
use quiver_storage::Txn;
use std::collections::{HashMap, HashSet};

/// Every object key something still needs.
#[derive(Debug, Default)]
pub struct ReferenceSet {
    keys: HashSet<String>,
}

impl ReferenceSet {
    pub fn insert(&mut self, key: &str) {
        self.keys.insert(key.to_string());
    }

    pub fn is_referenced(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

/// The records of one view, decoded, with their stored bytes (for conditional deletes).
pub(super) struct ReferenceView {
    collections: HashMap<CollectionId, Collection>,
    segments: Vec<(String, Vec<u8>, SegmentMeta)>,
    builds: Vec<(String, Vec<u8>, IndexBuild)>,
    snapshots: Vec<SnapshotRecord>,
    jobs: Vec<RestoreJob>,
    intents: Vec<(String, Vec<u8>, IntentRecord)>,
    sessions: HashMap<i64, (String, Vec<u8>, SessionRecord)>,
    /// Files first seen unreferenced, by object key: when.
    pub marks: HashMap<String, u64>,
}

/// Read every reference in one view (fail-closed: any undecodable record is an error).
pub(super) async fn read(ctx: &Context) -> Result<ReferenceView> {
    let prefixes = [
        COLLECTION_PREFIX,
        data_keys::SEGMENT_PREFIX,
        build_keys::BUILD_PREFIX,
        snapshot_keys::RECORD_PREFIX,
        job_keys::JOB_PREFIX,
        INTENT_PREFIX,
        SESSION_PREFIX,
        MARK_PREFIX,
    ];
    let mut view = ctx.meta.scan_prefixes(&prefixes).await?.into_iter();
    let mut next = || view.next().unwrap_or_default();
    let collections =
        next().into_iter().map(|(key, value)| decode::<Collection>(&key, &value).map(|c| (c.id, c))).collect::<Result<HashMap<_, _>>>()?;
    let segments = next().into_iter().map(|(k, v)| decode(&k, &v).map(|m| (k, v, m))).collect::<Result<Vec<_>>>()?;
    let builds = next().into_iter().map(|(k, v)| decode(&k, &v).map(|b| (k, v, b))).collect::<Result<Vec<_>>>()?;
    let snapshots = next().into_iter().map(|(k, v)| decode(&k, &v)).collect::<Result<Vec<_>>>()?;
    let jobs = next().into_iter().map(|(k, v)| decode(&k, &v)).collect::<Result<Vec<_>>>()?;
    let intents = next().into_iter().map(|(k, v)| decode(&k, &v).map(|i| (k, v, i))).collect::<Result<Vec<_>>>()?;
    let sessions = next()
        .into_iter()
        .map(|(k, v)| {
            let id = k[SESSION_PREFIX.len()..].parse::<i64>().unwrap_or_default();
            decode::<SessionRecord>(&k, &v).map(|s| (id, (k, v, s)))
        })
        .collect::<Result<HashMap<_, _>>>()?;
    let marks = next().into_iter().map(|(k, v)| (k[MARK_PREFIX.len()..].to_string(), data_keys::decode_u64(&v))).collect();
    Ok(ReferenceView { collections, segments, builds, snapshots, jobs, intents, sessions, marks })
}

impl ReferenceView {
    fn live_segment(&self, meta: &SegmentMeta) -> bool {
        self.collections.get(&meta.collection).is_some_and(|c| meta.serves(c))
    }

    fn live_build(&self, build: &IndexBuild, live_segments: &HashSet<quiver_base::SegmentId>) -> bool {
        live_segments.contains(&build.segment)
            && self.collections.values().any(|c| c.indexes.iter().any(|d| d.id == build.index_id && d.field_id == build.field_id))
    }

    fn session_alive(&self, session: i64, own: i64, now_ms: u64) -> bool {
        session == own || self.sessions.get(&session).is_some_and(|(_, _, record)| record.alive(now_ms))
    }

    /// The files live collections reference (their live segments' and current builds'),
    /// with the collection referencing each.
    pub fn live_files(&self) -> Vec<(CollectionId, &quiver_format::FileRef)> {
        let mut files = Vec::new();
        let mut live_segments = HashSet::new();
        for (_, _, meta) in self.segments.iter().filter(|(_, _, m)| self.live_segment(m)) {
            files.extend(meta.files().map(|f| (meta.collection, f)));
            live_segments.insert(meta.id);
        }
        let collection_of: HashMap<quiver_base::SegmentId, CollectionId> =
            self.segments.iter().filter(|(_, _, m)| self.live_segment(m)).map(|(_, _, m)| (m.id, m.collection)).collect();
        for (_, _, build) in self.builds.iter().filter(|(_, _, b)| self.live_build(b, &live_segments)) {
            files.push((collection_of[&build.segment], &build.file));
        }
        files
    }

    /// Every snapshot record of the view.
    pub fn snapshots(&self) -> &[SnapshotRecord] {
        &self.snapshots
    }

    /// The files running restore jobs copy from, by job.
    pub fn running_job_files(&self) -> impl Iterator<Item = (quiver_base::JobId, &quiver_format::FileRef)> {
        self.jobs.iter().filter(|j| !j.state.is_terminal()).flat_map(|j| j.tasks.iter().map(move |t| (j.id, &t.source)))
    }

    /// What the view references: live segments' files, current builds' files, every
    /// snapshot's files, running jobs' sources and targets, and what live sessions staged.
    pub fn reference_set(&self, own_session: i64, now_ms: u64) -> ReferenceSet {
        let mut refs = ReferenceSet::default();
        for (_, file) in self.live_files() {
            refs.insert(&file.key);
        }
        for record in &self.snapshots {
            record.referenced_keys().for_each(|key| refs.insert(key));
        }
        for job in self.jobs.iter().filter(|j| !j.state.is_terminal()) {
            job.referenced_keys().for_each(|key| refs.insert(key));
        }
        for (_, _, intent) in self.intents.iter().filter(|(_, _, i)| self.session_alive(i.session, own_session, now_ms)) {
            intent.objects.iter().for_each(|key| refs.insert(key));
        }
        refs
    }

    /// Deletes of records nothing needs any more, each conditioned on the bytes seen: dead
    /// segment records and stale builds whose files are gone, intents of dead sessions
    /// whose files are gone, and dead sessions with no intent left.
    pub fn forgettable(&self, present: &HashSet<&str>, refs: &ReferenceSet, own_session: i64, now_ms: u64) -> Txn {
        let gone = |key: &str| !present.contains(key) && !refs.is_referenced(key);
        let mut txn = Txn::new();
        let mut forget = |key: &str, value: &[u8]| {
            txn = std::mem::take(&mut txn).when_equals(key, value.to_vec()).delete(key);
        };
        let mut live_segments = HashSet::new();
        for (key, value, meta) in &self.segments {
            if self.live_segment(meta) {
                live_segments.insert(meta.id);
            } else if meta.files().all(|f| gone(&f.key)) {
                forget(key, value);
            }
        }
        for (key, value, build) in &self.builds {
            if !self.live_build(build, &live_segments) && gone(&build.file.key) {
                forget(key, value);
            }
        }
        let mut sessions_with_intents = HashSet::new();
        for (key, value, intent) in &self.intents {
            if !self.session_alive(intent.session, own_session, now_ms) && intent.objects.iter().all(|o| gone(o)) {
                forget(key, value);
            } else {
                sessions_with_intents.insert(intent.session);
            }
        }
        for (id, (key, value, _)) in &self.sessions {
            if !self.session_alive(*id, own_session, now_ms) && !sessions_with_intents.contains(id) {
                forget(key, value);
            }
        }
        txn
    }
}
