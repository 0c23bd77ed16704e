//! Pins: a pin keeps a committed snapshot from being dropped until it is unpinned or
//! expires. A pin lives in its snapshot's record (so a drop's compare-and-set sees it)
//! and is indexed by `snapshot/pin/<pin_id>` (so an unpin finds its record).

use super::model::keys;
use super::{CONFLICT_RETRIES, MAX_PIN_TTL_SECONDS, Snapshots, Stored};
use crate::catalog::model::Collection;
use crate::error::{EngineError, NameKind, Result, decode, encode};
use crate::names;
use quiver_storage::{MetaError, Txn};

impl Snapshots {
    /// Pin a committed snapshot; `ttl_seconds` 0 means until unpinned.
    pub async fn pin(&self, collection: &Collection, name: &str, ttl_seconds: i64) -> Result<i64> {
        names::validate(NameKind::Snapshot, name)?;
        if ttl_seconds < 0 {
            return Err(EngineError::InvalidParameter("ttl_seconds must be non-negative".to_string()));
        }
        if ttl_seconds > MAX_PIN_TTL_SECONDS {
            return Err(EngineError::InvalidParameter(format!("ttl_seconds exceeds maximum of {MAX_PIN_TTL_SECONDS} (30 days)")));
        }
        let pin_id = self.ctx.next_id().await?;
        let expiry = if ttl_seconds == 0 { 0 } else { self.ctx.now_ms() + ttl_seconds as u64 * 1000 };
        for _ in 0..CONFLICT_RETRIES {
            let stored = self.committed(collection, name).await?;
            match self.ctx.meta.commit(Self::pin_txn(&stored, pin_id, expiry)).await {
                Ok(()) => return Ok(pin_id),
                Err(MetaError::ConditionFailed { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(EngineError::Conflict { what: format!("snapshot {name}") })
    }

    /// The commit that adds pin `pin_id` (expiring at `expiry_ms`, 0: never) to a record
    /// read as `stored`; a restore commits it together with its job.
    pub fn pin_txn(stored: &Stored, pin_id: i64, expiry_ms: u64) -> Txn {
        let mut record = stored.record.clone();
        record.pins.insert(pin_id, expiry_ms);
        let key = stored.key();
        Txn::new().when_equals(&key, stored.bytes.clone()).put(&key, encode(&record)).put(keys::pin(pin_id), key.into_bytes())
    }

    /// Remove a pin; an unknown pin id is not an error (as in Milvus).
    pub async fn unpin(&self, pin_id: i64) -> Result<()> {
        if pin_id <= 0 {
            return Err(EngineError::InvalidParameter("pin_id is required for unpin snapshot data".to_string()));
        }
        for _ in 0..CONFLICT_RETRIES {
            let Some(txn) = self.unpin_txn(pin_id).await? else { return Ok(()) };
            match self.ctx.meta.commit(txn).await {
                Ok(()) => return Ok(()),
                Err(MetaError::ConditionFailed { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(EngineError::Conflict { what: format!("the snapshot pinned by {pin_id}") })
    }

    /// The commit that removes pin `pin_id` from its record as it is now, if the pin
    /// exists; a finishing restore commits it together with its job's end.
    pub async fn unpin_txn(&self, pin_id: i64) -> Result<Option<Txn>> {
        let record_key = match self.ctx.meta.get(&keys::pin(pin_id)).await? {
            Some(key) => String::from_utf8_lossy(&key).into_owned(),
            // Pins made before the index existed are found by their records.
            None => match self.records(None).await?.into_iter().find(|s| s.record.pins.contains_key(&pin_id)) {
                Some(stored) => stored.key(),
                None => return Ok(None),
            },
        };
        let Some(bytes) = self.ctx.meta.get(&record_key).await? else {
            return Ok(Some(Txn::new().delete(keys::pin(pin_id))));
        };
        let mut record: super::SnapshotRecord = decode(&record_key, &bytes)?;
        if record.pins.remove(&pin_id).is_none() {
            return Ok(Some(Txn::new().delete(keys::pin(pin_id))));
        }
        Ok(Some(Txn::new().when_equals(&record_key, bytes).put(&record_key, encode(&record)).delete(keys::pin(pin_id))))
    }
}
