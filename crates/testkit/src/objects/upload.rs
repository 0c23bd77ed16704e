//! A multipart upload through a [`FaultyObjectStore`](super::FaultyObjectStore): parts go
//! to the inner upload (checking the power only); `complete`, the moment the object
//! appears, is the `ObjectOp::Multipart` call the rules judge. A copy of every part is kept
//! so that a torn completion can write the first half of the whole object.

use super::{Shared, describe, fault, first_half};
use crate::objects::ObjectOp;
use crate::power::power_off_message;
use crate::rules::{self, Proceed};
use async_trait::async_trait;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, PutOptions, PutPayload, PutResult, Result, UploadPart};
use std::sync::Arc;

#[derive(Debug)]
pub(super) struct FaultyUpload {
    location: Path,
    inner: Box<dyn MultipartUpload>,
    store: Arc<dyn ObjectStore>,
    shared: Arc<Shared>,
    parts: Vec<PutPayload>,
}

impl FaultyUpload {
    pub(super) fn new(location: Path, inner: Box<dyn MultipartUpload>, store: Arc<dyn ObjectStore>, shared: Arc<Shared>) -> Self {
        FaultyUpload { location, inner, store, shared, parts: Vec::new() }
    }

    fn size(&self) -> usize {
        self.parts.iter().map(PutPayload::content_length).sum()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl MultipartUpload for FaultyUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let what = format!("part {} of {}", self.parts.len() + 1, describe(ObjectOp::Multipart, &[&self.location]));
        let power = self.shared.power.clone();
        if !power.is_on() {
            return Box::pin(futures::future::ready(Err(fault(power_off_message(&what)))));
        }
        self.parts.push(data.clone());
        let part = self.inner.put_part(data);
        Box::pin(async move {
            if !power.is_on() {
                return Err(fault(power_off_message(&what)));
            }
            let result = part.await;
            if power.is_on() { result } else { Err(fault(power_off_message(&what))) }
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let admitted = self.shared.admit(ObjectOp::Multipart, &[&self.location]).await?;
        let size = self.size();
        if let Proceed::Tear(id) = admitted.proceed {
            // The parts never become an object; half of their bytes do.
            let _ = self.inner.abort().await;
            let half = first_half(self.parts.iter().flatten(), size);
            let written = half.content_length();
            self.store.put_opts(&self.location, half, PutOptions::default()).await?;
            self.shared.lock().counters.bytes_put += written as u64;
            return Err(fault(format!("{}: wrote {written} of {size} bytes", rules::injected("tear", &admitted.what, id))));
        }
        let result = self.inner.complete().await;
        if result.is_ok() {
            self.shared.lock().counters.bytes_put += size as u64;
        }
        admitted.finish(&self.shared.power, result)
    }

    async fn abort(&mut self) -> Result<()> {
        let what = format!("abort of {}", describe(ObjectOp::Multipart, &[&self.location]));
        self.shared.check_power(&what)?;
        self.inner.abort().await
    }
}
