//! [`Wal`], the handle to an open log: hands appends to the writer thread, deletes
//! checkpointed segments, and owns the directory lock.
//!
//! Only one `Wal` may have a directory open at a time (two writers would interleave
//! records in one file); an OS file lock on `<dir>/LOCK` enforces that, across processes
//! too, and is released when the `Wal` is dropped or its process dies.

use super::record::MAX_PAYLOAD_BYTES;
use super::writer::{Command, Shared, Writer};
use super::{Lsn, Replay, Result, WalError, WalOptions, recovery, segment};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tokio::sync::oneshot;

/// An open write-ahead log. `Send + Sync`: share it through an `Arc`.
pub struct Wal {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Held, never read: the lock on `<dir>/LOCK` lives as long as this handle.
    _lock: File,
}

/// Counters since open, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Acknowledged append calls (`append` and `append_all` count one each).
    pub appends: u64,
    /// Acknowledged records.
    pub records: u64,
    /// `fdatasync` calls on segment files. Under concurrency this stays well below
    /// `appends`: that is group commit at work.
    pub syncs: u64,
}

impl Wal {
    /// Open the log in `dir`, creating the directory if needed. Returns the log and every
    /// intact record with lsn > `after`, in lsn order, for replay.
    ///
    /// A torn or corrupt tail of the last segment (a partial record or a bad checksum: a
    /// write that was never acknowledged) is truncated away. Damage in an earlier segment
    /// is [`WalError::Corrupt`], naming the file and offset. Segments whose records are all
    /// at or below `after` are not read. The next append gets lsn
    /// `max(last stored lsn, after) + 1`.
    ///
    /// Blocking (reads every segment after `after`): call it from a blocking context.
    pub fn open(dir: &Path, options: WalOptions, after: Lsn) -> Result<(Wal, Replay)> {
        recovery::create_dir(dir)?;
        // Before recovery, which may truncate the file another writer is appending to.
        let lock = lock_dir(dir)?;
        let recovered = recovery::recover(dir, after)?;
        let active_first = *recovered.segments.last().expect("recovery leaves an active segment");
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            segments: Mutex::new(recovered.segments),
            last_lsn: AtomicU64::new(recovered.next_lsn - 1),
            appends: AtomicU64::new(0),
            records: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            #[cfg(test)]
            gate: Mutex::new(()),
            #[cfg(test)]
            fail_syncs: Default::default(),
        });
        let writer = Writer::new(Arc::clone(&shared), options, recovered.active, active_first, recovered.active_len, recovered.next_lsn);
        let (commands, receiver) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("quiver-wal".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| WalError::io("spawn writer thread for", dir, e))?;
        let wal = Wal { shared, commands, writer: Mutex::new(Some(handle)), _lock: lock };
        Ok((wal, recovered.records))
    }

    /// Append one payload and return its lsn, once it is written and (with
    /// [`WalOptions::sync`]) synced. Concurrent appends share syncs (group commit).
    ///
    /// # Cancel safety
    /// Not cancel safe. Once polled, the request belongs to the writer thread: dropping
    /// the future does not withdraw it, and the record may still become durable and be
    /// replayed after a restart. Treat a cancelled append, like an `Err` one, as "outcome
    /// unknown", never as "not written".
    pub async fn append(&self, payload: Vec<u8>) -> Result<Lsn> {
        let lsns = self.append_all(vec![payload]).await?;
        Ok(lsns[0])
    }

    /// Append several payloads as consecutive records under one sync; return their lsns.
    /// Either every payload is acknowledged or the call fails. An empty batch returns at
    /// once. A payload over [`MAX_PAYLOAD_BYTES`] fails the whole call before anything is
    /// written.
    ///
    /// # Cancel safety
    /// As for [`Wal::append`]: a dropped call may still be written, wholly or (if the
    /// process then crashes mid-write) as a prefix of its records.
    pub async fn append_all(&self, payloads: Vec<Vec<u8>>) -> Result<Vec<Lsn>> {
        if let Some(len) = payloads.iter().map(Vec::len).find(|&len| len > MAX_PAYLOAD_BYTES) {
            return Err(WalError::PayloadTooLarge { len, max: MAX_PAYLOAD_BYTES });
        }
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        let count = payloads.len() as u64;
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Append { payloads, reply }).map_err(|_| WalError::Closed)?;
        // A dropped reply means the writer stopped before taking the request.
        let Lsn(first) = answer.await.map_err(|_| WalError::Closed)??;
        Ok((first..first + count).map(Lsn).collect())
    }

    /// Delete every segment whose records all have lsn <= `upto`, oldest first, after a
    /// checkpoint made them durable elsewhere. The active segment is never deleted. A
    /// segment is known to end just before the next one's first lsn, so that is what is
    /// compared.
    ///
    /// Blocking (file deletions and a directory sync). Safe to run concurrently with
    /// appends. If it fails part-way, the segments not yet deleted stay and are listed.
    pub fn truncate_through(&self, upto: Lsn) -> Result<()> {
        let mut segments = self.segments();
        let mut deleted = 0;
        // Oldest first, so that a crash part-way leaves a contiguous suffix of the log.
        while segments.len() > 1 && segments[1] <= upto.0.saturating_add(1) {
            let path = segment::path(&self.shared.dir, segments[0]);
            match fs::remove_file(&path) {
                Ok(()) => {}
                // Already gone (removed by hand, say): the goal is reached all the same.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WalError::io("remove", path, e)),
            }
            segments.remove(0);
            deleted += 1;
        }
        drop(segments);
        if deleted > 0 {
            segment::sync_dir(&self.shared.dir)?;
        }
        Ok(())
    }

    /// The lsn of the last acknowledged record, or of the lsn floor the log was opened
    /// with (`Lsn::ZERO` for a new, empty log).
    pub fn last_lsn(&self) -> Lsn {
        Lsn(self.shared.last_lsn.load(Ordering::Acquire))
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        let shared = &self.shared;
        WalStats {
            appends: shared.appends.load(Ordering::Relaxed),
            records: shared.records.load(Ordering::Relaxed),
            syncs: shared.syncs.load(Ordering::Relaxed),
        }
    }

    /// The directory this log lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Finish every append sent before this call, then stop the writer thread and wait
    /// for it. Appends after this fail with [`WalError::Closed`]. Idempotent; also run
    /// on drop. Blocking: it waits for the final write and sync.
    pub fn close(&self) {
        // Fails only if the writer already stopped, which is the goal.
        let _ = self.commands.send(Command::Close);
        let handle = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            tracing::error!("write-ahead log writer thread panicked");
        }
    }

    fn segments(&self) -> MutexGuard<'_, Vec<u64>> {
        // The list is only pushed to and drained from the front; a panic elsewhere
        // cannot leave it half-updated, so a poisoned lock is still good.
        self.shared.segments.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn test_gate(&self) -> MutexGuard<'_, ()> {
        self.shared.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn fail_syncs(&self, fail: bool) {
        self.shared.fail_syncs.store(fail, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn segment_paths(&self) -> Vec<std::path::PathBuf> {
        self.segments().iter().map(|&first| segment::path(&self.shared.dir, first)).collect()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.close();
    }
}

/// Take the exclusive lock on `<dir>/LOCK`, or fail if another log holds it.
///
/// Contention is retried for a short while: the lock belongs to the open file, and a
/// process being spawned (fork, then exec) holds a duplicate of every descriptor until its
/// exec closes them, so a lock just released by this process can look held for a moment.
fn lock_dir(dir: &Path) -> Result<File> {
    const RETRIES: u32 = 100;
    const PAUSE: Duration = Duration::from_millis(10);
    let path = dir.join("LOCK");
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| WalError::io("open", &path, e))?;
    let mut retries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if retries < RETRIES => {
                retries += 1;
                thread::sleep(PAUSE);
            }
            Err(TryLockError::WouldBlock) => return Err(WalError::Locked { path }),
            Err(TryLockError::Error(e)) => return Err(WalError::io("lock", path, e)),
        }
    }
}
