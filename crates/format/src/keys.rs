//! Object keys under the storage root, as laid out in ARCHITECTURE.md §5:
//!
//! ```text
//! insert_log/<collection_id>/<partition_id>/<segment_id>/<log_id>.parquet
//! delta_log/<collection_id>/<partition_id>/<segment_id>/<log_id>.parquet
//! index_files/<build_id>/<index_version>/<partition_id>/<segment_id>/<file>
//! snapshots/<collection_id>/metadata/<snapshot_id>.json
//! snapshots/<collection_id>/manifests/<snapshot_id>/<segment_id>.avro
//! ```

use quiver_base::{BuildId, CollectionId, PartitionId, SegmentId, SnapshotId};

pub fn insert_log(collection: CollectionId, partition: PartitionId, segment: SegmentId, log: i64) -> String {
    format!("insert_log/{collection}/{partition}/{segment}/{log}.parquet")
}

pub fn delta_log(collection: CollectionId, partition: PartitionId, segment: SegmentId, log: i64) -> String {
    format!("delta_log/{collection}/{partition}/{segment}/{log}.parquet")
}

pub fn index_file(build: BuildId, version: i64, partition: PartitionId, segment: SegmentId, file: &str) -> String {
    format!("index_files/{build}/{version}/{partition}/{segment}/{file}")
}

pub fn snapshot_metadata(collection: CollectionId, snapshot: SnapshotId) -> String {
    format!("snapshots/{collection}/metadata/{snapshot}.json")
}

/// The directory holding one snapshot's manifests (with a trailing slash).
pub fn snapshot_manifest_dir(collection: CollectionId, snapshot: SnapshotId) -> String {
    format!("snapshots/{collection}/manifests/{snapshot}/")
}

pub fn snapshot_manifest(collection: CollectionId, snapshot: SnapshotId, segment: SegmentId) -> String {
    format!("snapshots/{collection}/manifests/{snapshot}/{segment}.avro")
}

/// The collection a data or snapshot key belongs to, if the key is one of ours.
pub fn collection_of(key: &str) -> Option<CollectionId> {
    let mut parts = key.split('/');
    match parts.next()? {
        "insert_log" | "delta_log" | "snapshots" => parts.next()?.parse().ok().map(CollectionId),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_as_documented() {
        assert_eq!(insert_log(CollectionId(1), PartitionId(2), SegmentId(3), 4), "insert_log/1/2/3/4.parquet");
        assert_eq!(delta_log(CollectionId(1), PartitionId(2), SegmentId(3), 4), "delta_log/1/2/3/4.parquet");
        assert_eq!(index_file(BuildId(9), 1, PartitionId(2), SegmentId(3), "hnsw"), "index_files/9/1/2/3/hnsw");
        assert_eq!(snapshot_metadata(CollectionId(1), SnapshotId(5)), "snapshots/1/metadata/5.json");
        assert_eq!(snapshot_manifest(CollectionId(1), SnapshotId(5), SegmentId(3)), "snapshots/1/manifests/5/3.avro");
    }

    #[test]
    fn collection_is_read_back_from_keys() {
        assert_eq!(collection_of("insert_log/7/2/3/4.parquet"), Some(CollectionId(7)));
        assert_eq!(collection_of("snapshots/8/metadata/5.json"), Some(CollectionId(8)));
        assert_eq!(collection_of("index_files/9/1/2/3/hnsw"), None);
        assert_eq!(collection_of("other"), None);
    }
}
