//! The local filesystem backend: object_store's `LocalFileSystem` with every write made
//! durable (the file, then its directory), plus puts whose directory sync is batched.
//!
//! `LocalFileSystem` fsyncs a put's directory after publishing each file, so n small
//! objects written into one directory cost n directory syncs, each one a journal commit
//! that its put waits for after the commit of its file. A put that carries a
//! [`DirSyncs`] collector (only [`super::put_all`] makes one) fsyncs and publishes its
//! file the same way but records its directory (and every directory it created, up to
//! the first that existed) instead of syncing it; `put_all` syncs each recorded
//! directory once after the whole batch and only then reports the objects written.
//! A plain put (no collector) is written the same way and syncs its directory at once.
//!
//! Large files are written behind: every [`WRITE_BEHIND_BYTES`] the data written so far is
//! synced, so the file's final sync (and any other file's sync queued behind it in the
//! filesystem's journal, such as a WAL append's) never waits for more than that much dirty
//! data. Without it a flush writing a 50 MB segment held every acknowledged insert's WAL
//! sync for the whole 50 MB.
//!
//! Every other call goes to `LocalFileSystem` unchanged.

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, RenameOptions, Result,
};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Directories whose entries changed during a batch of puts and are not synced yet.
#[derive(Clone, Debug, Default)]
pub(crate) struct DirSyncs(Arc<Mutex<BTreeSet<PathBuf>>>);

impl DirSyncs {
    fn record(&self, dir: &std::path::Path) {
        self.0.lock().expect("dir syncs poisoned").insert(dir.to_path_buf());
    }

    /// Fsync every recorded directory (none on a backend that ignored the collector).
    pub(crate) async fn sync(self) -> Result<()> {
        let dirs = std::mem::take(&mut *self.0.lock().expect("dir syncs poisoned"));
        if dirs.is_empty() {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || dirs.iter().try_for_each(|dir| File::open(dir).and_then(|d| d.sync_all()).map_err(io_error)))
            .await
            .map_err(|e| object_store::Error::Generic { store: STORE, source: Box::new(e) })?
    }
}

const STORE: &str = "LocalFileSystem";

/// Dirty bytes a large file may accumulate before they are synced (see the module doc).
const WRITE_BEHIND_BYTES: usize = 1024 * 1024;

fn io_error(source: std::io::Error) -> object_store::Error {
    object_store::Error::Generic { store: STORE, source: Box::new(source) }
}

/// `LocalFileSystem` with fsync on, and batched directory syncs for [`super::put_all`].
#[derive(Debug)]
pub(crate) struct LocalStore {
    inner: LocalFileSystem,
}

impl LocalStore {
    pub(crate) fn new(root: &std::path::Path) -> Result<Self> {
        Ok(LocalStore { inner: LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true).with_fsync(true) })
    }
}

impl std::fmt::Display for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// Write `payload` to `path` durably except for the directory entries, which are recorded
/// in `dirs`: stage it next to its destination (`<name>#<n>`, a name listings skip, as
/// `LocalFileSystem` does), fsync it, then rename it into place.
fn put_file(path: &std::path::Path, payload: &PutPayload, dirs: &DirSyncs) -> Result<()> {
    let parent = path.parent().ok_or_else(|| io_error(std::io::Error::new(ErrorKind::InvalidInput, "object path has no parent")))?;
    let (mut file, staged) = loop {
        match create_staged(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => create_dirs(parent, dirs)?,
            created => break created.map_err(io_error)?,
        }
    };
    dirs.record(parent);
    let mut unsynced = 0;
    let written = payload
        .iter()
        .flat_map(|chunk| chunk.chunks(WRITE_BEHIND_BYTES))
        .try_for_each(|part| {
            file.write_all(part)?;
            unsynced += part.len();
            if unsynced >= WRITE_BEHIND_BYTES {
                unsynced = 0;
                file.sync_data()?;
            }
            Ok(())
        })
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&staged, path)) {
        let _ = std::fs::remove_file(&staged);
        return Err(io_error(e));
    }
    Ok(())
}

/// A new, unused staging file for `path`.
fn create_staged(path: &std::path::Path) -> std::io::Result<(File, PathBuf)> {
    let mut n = 1;
    loop {
        let staged = PathBuf::from(format!("{}#{n}", path.display()));
        match OpenOptions::new().write(true).create_new(true).open(&staged) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            opened => return opened.map(|file| (file, staged)),
        }
    }
}

/// Create `dir` and its missing ancestors, recording each of them and the first ancestor
/// that existed (its entries changed too) so their entries become durable with the batch.
fn create_dirs(dir: &std::path::Path, dirs: &DirSyncs) -> Result<()> {
    let mut ancestor = dir;
    while !ancestor.exists() {
        dirs.record(ancestor);
        ancestor = ancestor.parent().unwrap_or(ancestor);
    }
    dirs.record(ancestor);
    std::fs::create_dir_all(dir).map_err(io_error)
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        if opts.mode != PutMode::Overwrite || !opts.attributes.is_empty() {
            return self.inner.put_opts(location, payload, opts).await;
        }
        // Batched: the caller syncs the directories after the batch; alone: now.
        let (dirs, alone) = match opts.extensions.get::<DirSyncs>() {
            Some(dirs) => (dirs.clone(), false),
            None => (DirSyncs::default(), true),
        };
        let path = self.inner.path_to_filesystem(location)?;
        let recorded = dirs.clone();
        tokio::task::spawn_blocking(move || put_file(&path, &payload, &recorded))
            .await
            .map_err(|e| object_store::Error::Generic { store: STORE, source: Box::new(e) })??;
        if alone {
            dirs.sync().await?;
        }
        Ok(PutResult { e_tag: None, version: None, extensions: Default::default() })
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[std::ops::Range<u64>]) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn a_batched_put_records_its_directory_and_every_directory_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        let dirs = DirSyncs::default();
        let mut opts = PutOptions::default();
        opts.extensions.insert(dirs.clone());
        store.put_opts(&Path::from("a/b/c/x.avro"), b"xyz".to_vec().into(), opts.clone()).await.unwrap();
        store.put_opts(&Path::from("a/b/c/y.avro"), b"uvw".to_vec().into(), opts).await.unwrap();
        let recorded: Vec<PathBuf> = dirs.0.lock().unwrap().iter().cloned().collect();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(recorded, vec![root.join("a"), root.join("a/b"), root.join("a/b/c")]);
        dirs.sync().await.unwrap();
        assert_eq!(&store.get(&Path::from("a/b/c/x.avro")).await.unwrap().bytes().await.unwrap()[..], b"xyz");
        // No staging file is left behind or listed.
        let listed: Vec<String> = store.list(None).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(std::fs::read_dir(root.join("a/b/c")).unwrap().count(), 2);
    }

    #[tokio::test]
    async fn a_batched_put_overwrites_like_a_plain_put() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let key = Path::from("k/v");
        store.put(&key, b"old".to_vec().into()).await.unwrap();
        let mut opts = PutOptions::default();
        opts.extensions.insert(DirSyncs::default());
        store.put_opts(&key, b"new".to_vec().into(), opts).await.unwrap();
        assert_eq!(&store.get(&key).await.unwrap().bytes().await.unwrap()[..], b"new");
    }
}
