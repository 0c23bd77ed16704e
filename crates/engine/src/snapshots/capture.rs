//! A capture: what a snapshot of a collection references, read from the metadata store in
//! one view (the collection record, its live segments and their current index builds,
//! and its segment revision), with the conditions under which it may be committed: the
//! collection record and the segment revision must still be what was read. A capture
//! whose conditions fail is read again.

use crate::catalog::keys as catalog_keys;
use crate::catalog::model::Collection;
use crate::context::Context;
use crate::data::{SegmentMeta, keys as data_keys};
use crate::error::{EngineError, Result, decode};
use crate::indexing::{IndexBuild, keys as build_keys};
use quiver_base::{CollectionId, SegmentId};
use quiver_storage::Txn;
use std::collections::HashMap;

pub(super) struct Capture {
    pub collection: Collection,
    collection_bytes: Vec<u8>,
    revision: u64,
    /// Live segments, with their current index builds.
    pub segments: Vec<(SegmentMeta, Vec<IndexBuild>)>,
}

impl Capture {
    pub async fn read(ctx: &Context, collection: CollectionId, name: &str) -> Result<Capture> {
        let prefixes = [
            catalog_keys::collection(collection),
            data_keys::segments_of(collection),
            data_keys::revision(collection),
            build_keys::builds_of(collection),
        ];
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let mut view = ctx.meta.scan_prefixes(&prefixes).await?.into_iter();
        let mut next = || view.next().unwrap_or_default();
        let (key, collection_bytes) =
            next().into_iter().next().ok_or_else(|| EngineError::CollectionNotFound { db: String::new(), name: name.to_string() })?;
        let collection: Collection = decode(&key, &collection_bytes)?;
        let mut segments = Vec::new();
        for (key, value) in next() {
            let meta: SegmentMeta = decode(&key, &value)?;
            if meta.serves(&collection) {
                segments.push(meta);
            }
        }
        let revision = next().first().map(|(_, v)| data_keys::decode_u64(v)).unwrap_or(0);
        let mut builds: HashMap<SegmentId, Vec<IndexBuild>> = HashMap::new();
        for (key, value) in next() {
            let build: IndexBuild = decode(&key, &value)?;
            if collection.indexes.iter().any(|d| d.id == build.index_id && d.field_id == build.field_id) {
                builds.entry(build.segment).or_default().push(build);
            }
        }
        let segments = segments.into_iter().map(|meta| (builds.remove(&meta.id).unwrap_or_default(), meta)).map(|(b, m)| (m, b)).collect();
        Ok(Capture { collection, collection_bytes, revision, segments })
    }

    /// The conditions under which this capture is still true.
    pub fn still_true(&self, txn: Txn) -> Txn {
        let txn = txn.when_equals(catalog_keys::collection(self.collection.id), self.collection_bytes.clone());
        data_keys::revision_unchanged(txn, self.collection.id, self.revision)
    }

    /// Whether a failed condition was one of this capture's (the collection changed).
    pub fn is_stale(&self, key: &str) -> bool {
        key == catalog_keys::collection(self.collection.id) || key == data_keys::revision(self.collection.id)
    }
}
