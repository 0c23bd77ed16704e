//! Every object store request, counted, timed and (when it fails unexpectedly) logged.
//!
//! A decorator around the configured store, so both backends and every caller are
//! observed the same way without a line of their own. Failures that callers expect and
//! handle (a missing object, a create that lost a race) are counted but not logged.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result,
};
use quiver_base::metrics;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct ObservedStore {
    inner: Arc<dyn ObjectStore>,
}

impl ObservedStore {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Self {
        ObservedStore { inner }
    }
}

impl std::fmt::Display for ObservedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// The error's kind as a metric label.
fn kind(error: &object_store::Error) -> &'static str {
    use object_store::Error::*;
    match error {
        NotFound { .. } => "not_found",
        AlreadyExists { .. } => "already_exists",
        Precondition { .. } => "precondition",
        NotModified { .. } => "not_modified",
        PermissionDenied { .. } => "permission_denied",
        Unauthenticated { .. } => "unauthenticated",
        NotSupported { .. } | NotImplemented { .. } => "not_supported",
        _ => "other",
    }
}

/// Failures a caller expects and handles: counted, not logged.
fn expected(kind: &str) -> bool {
    matches!(kind, "not_found" | "already_exists" | "precondition" | "not_modified")
}

fn failed(op: &'static str, error: &object_store::Error) {
    let kind = kind(error);
    metrics::object_failure(op, kind);
    if !expected(kind) {
        tracing::warn!(op, kind, %error, "object store request failed");
    }
}

async fn timed<T>(op: &'static str, request: impl Future<Output = Result<T>>) -> Result<T> {
    let started = Instant::now();
    let result = request.await;
    metrics::object_request(op, Some(started.elapsed()));
    if let Err(error) = &result {
        failed(op, error);
    }
    result
}

/// A listing or batch delete: one request counted when it starts, each failed item when
/// it arrives (a stream has no single duration).
fn streamed<T: Send + 'static>(op: &'static str, stream: BoxStream<'static, Result<T>>) -> BoxStream<'static, Result<T>> {
    metrics::object_request(op, None);
    stream
        .inspect(move |item| {
            if let Err(error) = item {
                failed(op, error);
            }
        })
        .boxed()
}

#[async_trait]
impl ObjectStore for ObservedStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        timed("put", self.inner.put_opts(location, payload, opts)).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        timed("put_multipart", self.inner.put_multipart_opts(location, opts)).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let op = if options.head { "head" } else { "get" };
        timed(op, self.inner.get_opts(location, options)).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[std::ops::Range<u64>]) -> Result<Vec<bytes::Bytes>> {
        timed("get_ranges", self.inner.get_ranges(location, ranges)).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        streamed("delete", self.inner.delete_stream(locations))
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        streamed("list", self.inner.list(prefix))
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        streamed("list", self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        timed("list", self.inner.list_with_delimiter(prefix)).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        timed("copy", self.inner.copy_opts(from, to, options)).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        timed("rename", self.inner.rename_opts(from, to, options)).await
    }
}
