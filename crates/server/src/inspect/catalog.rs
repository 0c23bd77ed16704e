//! Finding snapshots under a storage root: every `snapshots/<collection_id>/metadata/
//! <snapshot_id>.json`, decoded with `quiver_format`, and the manifests it lists.
//!
//! There is no metadata store here, so "a snapshot" is a metadata file. The server
//! writes it after every manifest and before it commits, and removes it first when it
//! drops a snapshot; a snapshot being created or dropped at this very moment may show
//! up, or a crashed create whose leftovers the server's sweeper has not yet removed.
//! The server's `list_snapshots` stays the authority on which snapshots exist.

use super::InspectError;
use super::root::StorageRoot;
use quiver_format::snapshot::{ManifestEntry, SnapshotMetadata, decode_manifest};

/// Where every snapshot's metadata file lives.
pub const SNAPSHOTS_PREFIX: &str = "snapshots/";

/// One metadata file: decoded, or why not.
pub struct MetadataFile {
    pub key: String,
    pub metadata: Result<SnapshotMetadata, InspectError>,
}

/// A snapshot with its manifests read.
pub struct Snapshot {
    pub metadata_key: String,
    pub metadata: SnapshotMetadata,
    /// `(key, manifest)` in `manifest_list` order.
    pub manifests: Vec<(String, ManifestEntry)>,
}

fn label(metadata: &SnapshotMetadata) -> String {
    format!("{} (id {})", metadata.collection.collection_name, metadata.snapshot_info.collection_id)
}

/// Whether `key` is a snapshot metadata file: `snapshots/<digits>/metadata/<digits>.json`.
fn is_metadata_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(parts.as_slice(), ["snapshots", collection, "metadata", file]
        if digits(collection) && file.strip_suffix(".json").is_some_and(digits))
}

/// Every metadata file under the root, decoded (a file this version cannot read is kept
/// with its error), ordered by collection id, then creation time.
pub async fn metadata_files(root: &StorageRoot) -> Result<Vec<MetadataFile>, InspectError> {
    let mut files = Vec::new();
    for key in root.list(SNAPSHOTS_PREFIX).await?.into_iter().filter(|k| is_metadata_key(k)) {
        let metadata = match root.get(&key).await {
            Ok(bytes) => SnapshotMetadata::decode(&bytes).map_err(|source| InspectError::Format { key: key.clone(), source }),
            Err(error) => Err(error),
        };
        files.push(MetadataFile { key, metadata });
    }
    files.sort_by_key(|f| match &f.metadata {
        Ok(m) => (m.snapshot_info.collection_id.0, m.snapshot_info.create_ts.0, m.snapshot_info.id.0),
        Err(_) => (i64::MAX, 0, 0),
    });
    Ok(files)
}

/// Read and decode every manifest a metadata file lists.
pub async fn read_manifests(root: &StorageRoot, metadata: &SnapshotMetadata) -> Result<Vec<(String, ManifestEntry)>, InspectError> {
    let mut manifests = Vec::with_capacity(metadata.manifest_list.len());
    for key in &metadata.manifest_list {
        let bytes = root.get(key).await?;
        let manifest = decode_manifest(&bytes).map_err(|source| InspectError::Format { key: key.clone(), source })?;
        manifests.push((key.clone(), manifest));
    }
    Ok(manifests)
}

/// The snapshot `snapshot` of the collection `collection` (its name or id), with its
/// manifests. An unknown name lists what there is; a file this version cannot read
/// (a newer format version) is reported with its own message when it could be the one
/// asked for.
pub async fn resolve(root: &StorageRoot, collection: &str, snapshot: &str) -> Result<Snapshot, InspectError> {
    let (metadata_key, metadata) = locate(root, collection, snapshot).await?;
    let manifests = read_manifests(root, &metadata).await?;
    Ok(Snapshot { metadata_key, metadata, manifests })
}

/// The metadata file (key and contents) of one snapshot, as [`resolve`] finds it.
pub async fn locate(root: &StorageRoot, collection: &str, snapshot: &str) -> Result<(String, SnapshotMetadata), InspectError> {
    let files = metadata_files(root).await?;
    find(&files, collection, snapshot, &root.display).map(|(metadata, key)| (key, metadata))
}

fn find(files: &[MetadataFile], collection: &str, snapshot: &str, root: &str) -> Result<(SnapshotMetadata, String), InspectError> {
    let readable: Vec<(&str, &SnapshotMetadata)> =
        files.iter().filter_map(|f| f.metadata.as_ref().ok().map(|m| (f.key.as_str(), m))).collect();
    let names_collection =
        |m: &SnapshotMetadata| m.collection.collection_name == collection || m.snapshot_info.collection_id.0.to_string() == collection;
    let in_collection: Vec<&(&str, &SnapshotMetadata)> = readable.iter().filter(|(_, m)| names_collection(m)).collect();
    let matches: Vec<&&(&str, &SnapshotMetadata)> = in_collection.iter().filter(|(_, m)| m.snapshot_info.name == snapshot).collect();
    match matches.as_slice() {
        [(key, metadata)] => return Ok(((*metadata).clone(), key.to_string())),
        [] => {}
        several => {
            let candidates: Vec<String> = several.iter().map(|(_, m)| label(m)).collect();
            return Err(InspectError::Ambiguous { wanted: collection.to_string(), candidates: candidates.join(", ") });
        }
    }
    // Not found among the readable files: an unreadable one may be it. Its key names the
    // collection id, so report it if the collection was given by id, or if nothing else fits.
    let unreadable: Vec<&MetadataFile> = files
        .iter()
        .filter(|f| f.metadata.is_err())
        .filter(|f| in_collection.is_empty() || f.key.split('/').nth(1) == Some(collection))
        .collect();
    if let Some(file) = unreadable.first()
        && let Err(error) = &file.metadata
    {
        return Err(InspectError::Unreadable { key: file.key.clone(), reason: error.to_string() });
    }
    if in_collection.is_empty() {
        let mut collections: Vec<String> = readable.iter().map(|(_, m)| label(m)).collect();
        collections.dedup();
        return Err(InspectError::CollectionNotFound {
            wanted: collection.to_string(),
            root: root.to_string(),
            available: if collections.is_empty() { "none".into() } else { collections.join(", ") },
        });
    }
    let available: Vec<String> = in_collection.iter().map(|(_, m)| m.snapshot_info.name.clone()).collect();
    Err(InspectError::SnapshotNotFound {
        collection: label(in_collection[0].1),
        wanted: snapshot.to_string(),
        available: available.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_metadata_files_are_snapshots() {
        assert!(is_metadata_key("snapshots/12/metadata/34.json"));
        assert!(!is_metadata_key("snapshots/12/manifests/34/5.avro"));
        assert!(!is_metadata_key("snapshots/12/metadata/34.json.tmp"));
        assert!(!is_metadata_key("snapshots/x/metadata/34.json"));
        assert!(!is_metadata_key("other/12/metadata/34.json"));
    }
}
