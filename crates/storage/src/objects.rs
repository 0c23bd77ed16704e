//! Object storage: one `Arc<dyn ObjectStore>` built from configuration, used for every
//! data file (insert logs, delete logs, index files, snapshot manifests). The local
//! filesystem is the default; S3 (or any S3-protocol server) by configuration. There is
//! exactly one code path above this point for both backends.

mod checksum;
mod local;
mod observed;

pub use checksum::checksum;

use futures::{StreamExt, TryStreamExt};
use local::{DirSyncs, LocalStore};
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutOptions, PutPayload};
use observed::ObservedStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Where objects live.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ObjectStoreConfig {
    /// A directory on the local filesystem (created if missing).
    Local { root: PathBuf },
    /// An S3 bucket (AWS, MinIO, moto, …).
    S3(S3Config),
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000`; empty for AWS.
    #[serde(default)]
    pub endpoint: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub secret_access_key: String,
    /// Key prefix under which Quiver keeps everything (may be empty).
    #[serde(default)]
    pub root_path: String,
    /// Path-style requests (`endpoint/bucket/key`), needed by most S3-compatible servers.
    #[serde(default = "default_true")]
    pub path_style: bool,
    /// Allow plain `http://` endpoints.
    #[serde(default = "default_true")]
    pub allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectConfigError {
    #[error("cannot create object directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("invalid object storage configuration: {0}")]
    Store(#[from] object_store::Error),
}

/// Install the TLS crypto provider (ring) that the S3 client needs; later calls are
/// harmless no-ops.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Build the configured store, every request of it observed (`observed.rs`).
pub fn build(config: &ObjectStoreConfig) -> Result<Arc<dyn ObjectStore>, ObjectConfigError> {
    Ok(Arc::new(ObservedStore::new(build_backend(config)?)))
}

fn build_backend(config: &ObjectStoreConfig) -> Result<Arc<dyn ObjectStore>, ObjectConfigError> {
    match config {
        ObjectStoreConfig::Local { root } => {
            std::fs::create_dir_all(root).map_err(|source| ObjectConfigError::CreateDir { path: root.clone(), source })?;
            // fsync every written file (and its directory) so a sealed segment survives power loss,
            // not only a process crash, before its metadata is committed.
            Ok(Arc::new(LocalStore::new(root)?))
        }
        ObjectStoreConfig::S3(s3) => {
            install_crypto_provider();
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(&s3.bucket)
                .with_region(&s3.region)
                .with_allow_http(s3.allow_http)
                .with_virtual_hosted_style_request(!s3.path_style)
                // Server-side copy that refuses to overwrite: restores never clobber a file.
                .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
            if !s3.endpoint.is_empty() {
                builder = builder.with_endpoint(&s3.endpoint);
            }
            if !s3.access_key_id.is_empty() {
                builder = builder.with_access_key_id(&s3.access_key_id).with_secret_access_key(&s3.secret_access_key);
            }
            let store: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
            let root = s3.root_path.trim_matches('/');
            if root.is_empty() { Ok(store) } else { Ok(Arc::new(PrefixStore::new(store, root))) }
        }
    }
}

/// Where `config` points, in words for an operator.
pub fn describe(config: &ObjectStoreConfig) -> String {
    match config {
        ObjectStoreConfig::Local { root } => format!("directory {}", root.display()),
        ObjectStoreConfig::S3(s3) => {
            let endpoint = if s3.endpoint.is_empty() { "AWS S3" } else { s3.endpoint.as_str() };
            format!("bucket {:?} at {endpoint}", s3.bucket)
        }
    }
}

/// Object the startup check writes and deletes again.
const WRITE_CHECK_KEY: &str = "_quiver/write-check";

/// Check at startup that the store exists and takes writes, so a wrong bucket, endpoint or
/// key is reported before the server says it is ready, not at the first flush.
pub async fn check_writable(store: &dyn ObjectStore, config: &ObjectStoreConfig) -> Result<(), String> {
    let key = Path::from(WRITE_CHECK_KEY);
    let checked = async {
        store.put(&key, PutPayload::from_static(b"quiver")).await?;
        store.delete(&key).await
    };
    checked.await.map_err(|error| {
        let reason = match &error {
            object_store::Error::NotFound { .. } => "it does not exist".to_string(),
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                "the credentials are refused".to_string()
            }
            other => other.to_string(),
        };
        format!("object storage ({}) cannot be written: {reason}", describe(config))
    })
}

/// Write new objects, `in_flight` at a time; every one of them is durable when this
/// returns `Ok`. Same outcome as one put per object, but on local storage each directory
/// is synced once for the whole batch rather than once per object (`local.rs`).
///
/// # Cancel safety
/// Cancelling (or an error) may leave some of the objects written and not yet durable;
/// nothing may refer to them before this returned `Ok`.
pub async fn put_all(store: &dyn ObjectStore, objects: Vec<(Path, PutPayload)>, in_flight: usize) -> object_store::Result<()> {
    let dirs = DirSyncs::default();
    futures::stream::iter(objects.into_iter().map(|(path, payload)| {
        let mut opts = PutOptions::default();
        opts.extensions.insert(dirs.clone());
        async move { store.put_opts(&path, payload, opts).await.map(drop) }
    }))
    .buffer_unordered(in_flight)
    .try_collect::<Vec<()>>()
    .await?;
    dirs.sync().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn local_store_round_trips_under_its_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("objects");
        let store = build(&ObjectStoreConfig::Local { root: root.clone() }).unwrap();
        store.put(&Path::from("insert_log/1/2/3/4.parquet"), b"abc".to_vec().into()).await.unwrap();
        let bytes = store.get(&Path::from("insert_log/1/2/3/4.parquet")).await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], b"abc");
        assert!(root.join("insert_log/1/2/3/4.parquet").exists());
    }

    #[tokio::test]
    async fn put_all_writes_every_object_on_each_backend() {
        let dir = tempfile::tempdir().unwrap();
        let local = build(&ObjectStoreConfig::Local { root: dir.path().join("objects") }).unwrap();
        let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        for store in [local, memory] {
            let objects = (0..20).map(|i| (Path::from(format!("snapshots/1/manifests/2/{i}.avro")), vec![i as u8; 100].into())).collect();
            put_all(&*store, objects, 4).await.unwrap();
            for i in 0..20 {
                let bytes = store.get(&Path::from(format!("snapshots/1/manifests/2/{i}.avro"))).await.unwrap().bytes().await.unwrap();
                assert_eq!(&bytes[..], &[i as u8; 100][..], "{store}");
            }
        }
    }

    #[test]
    fn s3_config_parses_with_defaults() {
        #[derive(Deserialize)]
        struct Wrapper {
            storage: ObjectStoreConfig,
        }
        let parsed: Wrapper = toml_like(r#"{"storage": {"kind": "s3", "bucket": "b", "endpoint": "http://127.0.0.1:9000"}}"#);
        let ObjectStoreConfig::S3(s3) = parsed.storage else { panic!("expected s3") };
        assert_eq!((s3.region.as_str(), s3.path_style, s3.allow_http), ("us-east-1", true, true));
        assert!(build(&ObjectStoreConfig::S3(s3)).is_ok());
    }

    fn toml_like<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }
}
