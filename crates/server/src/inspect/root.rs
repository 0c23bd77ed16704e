//! The storage root `quiver inspect` reads: a local directory or an S3 bucket (and key
//! prefix), opened through the same `quiver_storage::objects::build` the server uses, so
//! there is one code path for both backends.
//!
//! Nothing here writes: every operation is a list or a get.

use super::InspectError;
use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use quiver_format::FileRef;
use quiver_storage::objects::{self, ObjectStoreConfig, S3Config};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the snapshots are: global flags of every `inspect` subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct RootArgs {
    /// Storage root: a local directory (for a local server, `<data_dir>/objects`) or
    /// `s3://bucket[/prefix]` (the prefix is the server's `root_path`).
    #[arg(long, global = true, env = "QUIVER_INSPECT_ROOT", value_name = "DIR|s3://BUCKET/PREFIX")]
    pub root: Option<String>,
    /// S3 endpoint, e.g. `http://127.0.0.1:9000` for MinIO (default: AWS).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// S3 region.
    #[arg(long, global = true, default_value = "us-east-1")]
    pub region: String,
    /// S3 access key id.
    #[arg(long, global = true, env = "QUIVER_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key_id: Option<String>,
    /// S3 secret access key.
    #[arg(long, global = true, env = "QUIVER_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// Allow a plain `http://` endpoint.
    #[arg(long, global = true)]
    pub allow_http: bool,
}

/// An opened storage root.
pub struct StorageRoot {
    store: Arc<dyn ObjectStore>,
    /// How the root is shown to people and scripts: an absolute directory or `s3://…`.
    pub display: String,
}

/// What `--root` names.
#[derive(Debug, PartialEq)]
enum RootLocation {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

fn parse_root(root: &str) -> Result<RootLocation, InspectError> {
    if let Some(rest) = root.strip_prefix("s3://").or_else(|| root.strip_prefix("s3a://")) {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(InspectError::InvalidRoot { root: root.to_string(), reason: "the URL names no bucket".into() });
        }
        return Ok(RootLocation::S3 { bucket: bucket.to_string(), prefix: prefix.trim_matches('/').to_string() });
    }
    if root.contains("://") {
        return Err(InspectError::InvalidRoot {
            root: root.to_string(),
            reason: "only local directories and s3:// URLs are supported".into(),
        });
    }
    Ok(RootLocation::Local(PathBuf::from(root)))
}

impl StorageRoot {
    /// Open the root the flags name. A local root must already exist (nothing is
    /// created); an S3 root is contacted only by the first read.
    pub fn open(args: &RootArgs) -> Result<StorageRoot, InspectError> {
        let root = args.root.as_deref().filter(|r| !r.is_empty()).ok_or(InspectError::NoRoot)?;
        let (config, display) = match parse_root(root)? {
            RootLocation::Local(path) => {
                if !path.is_dir() {
                    return Err(InspectError::RootMissing(path));
                }
                if path.join("objects").is_dir() && path.join("meta").is_dir() {
                    return Err(InspectError::DataDirGiven(path));
                }
                let path = path.canonicalize().map_err(|source| InspectError::Io { path: path.clone(), source })?;
                let display = path.display().to_string();
                (ObjectStoreConfig::Local { root: path }, display)
            }
            RootLocation::S3 { bucket, prefix } => {
                let endpoint = args.endpoint.clone().unwrap_or_default();
                if endpoint.starts_with("http://") && !args.allow_http {
                    return Err(InspectError::InvalidRoot {
                        root: root.to_string(),
                        reason: format!("endpoint {endpoint} is plain HTTP; pass --allow-http to use it"),
                    });
                }
                let display = if prefix.is_empty() { format!("s3://{bucket}") } else { format!("s3://{bucket}/{prefix}") };
                let s3 = S3Config {
                    bucket,
                    endpoint,
                    region: args.region.clone(),
                    access_key_id: args.access_key_id.clone().unwrap_or_default(),
                    secret_access_key: args.secret_access_key.clone().unwrap_or_default(),
                    root_path: prefix,
                    path_style: true,
                    allow_http: args.allow_http,
                };
                (ObjectStoreConfig::S3(s3), display)
            }
        };
        let store = objects::build(&config).map_err(|source| InspectError::Open { root: display.clone(), source })?;
        Ok(StorageRoot { store, display })
    }

    #[cfg(test)]
    pub fn local(path: &std::path::Path) -> StorageRoot {
        let store = objects::build(&ObjectStoreConfig::Local { root: path.to_path_buf() }).expect("local store");
        StorageRoot { store, display: path.display().to_string() }
    }

    /// Every key under `prefix` (a directory-like prefix such as `snapshots/`), sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, InspectError> {
        let location = ObjectPath::from(prefix.trim_end_matches('/'));
        let mut stream = self.store.list(Some(&location));
        let mut keys = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|source| InspectError::List { prefix: prefix.to_string(), source: Box::new(source) })?;
            keys.push(meta.location.to_string());
        }
        keys.sort();
        Ok(keys)
    }

    /// The bytes of one object.
    pub async fn get(&self, key: &str) -> Result<Bytes, InspectError> {
        let result = self.store.get(&ObjectPath::from(key)).await.map_err(|e| read_error(key, e))?;
        result.bytes().await.map_err(|e| read_error(key, e))
    }

    /// The bytes of one referenced file, refused unless they match its size and CRC-32C.
    pub async fn get_verified(&self, file: &FileRef) -> Result<Bytes, InspectError> {
        let bytes = self.get(&file.key).await?;
        if !file.matches(&bytes) {
            return Err(InspectError::Mismatch {
                key: file.key.clone(),
                expected_size: file.size,
                expected_crc: file.crc32c,
                found_size: bytes.len() as u64,
                found_crc: crc32c::crc32c(&bytes),
            });
        }
        Ok(bytes)
    }

    /// Stream one object, calling `on_chunk` with each chunk's length, and return its
    /// size and CRC-32C (for `verify`, which never holds a whole file in memory).
    pub async fn checksum(&self, key: &str, mut on_chunk: impl FnMut(u64)) -> Result<(u64, u32), InspectError> {
        let result = self.store.get(&ObjectPath::from(key)).await.map_err(|e| read_error(key, e))?;
        let mut stream = result.into_stream();
        let (mut size, mut crc) = (0u64, 0u32);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| read_error(key, e))?;
            crc = crc32c::crc32c_append(crc, &chunk);
            size += chunk.len() as u64;
            on_chunk(chunk.len() as u64);
        }
        Ok((size, crc))
    }
}

fn read_error(key: &str, error: object_store::Error) -> InspectError {
    match error {
        object_store::Error::NotFound { .. } => InspectError::Missing { key: key.to_string() },
        source => InspectError::Read { key: key.to_string(), source: Box::new(source) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_parsed() {
        assert_eq!(parse_root("/data/objects").unwrap(), RootLocation::Local(PathBuf::from("/data/objects")));
        assert_eq!(
            parse_root("s3://bucket/some/prefix/").unwrap(),
            RootLocation::S3 { bucket: "bucket".into(), prefix: "some/prefix".into() }
        );
        assert_eq!(parse_root("s3://bucket").unwrap(), RootLocation::S3 { bucket: "bucket".into(), prefix: String::new() });
        assert!(parse_root("s3:///x").is_err());
        assert!(parse_root("gs://bucket").is_err());
    }

    #[test]
    fn a_missing_local_root_is_refused_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let args = RootArgs {
            root: Some(missing.display().to_string()),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
        };
        assert!(matches!(StorageRoot::open(&args), Err(InspectError::RootMissing(_))));
        assert!(!missing.exists());
    }
}
