//! The writer thread: the only code that writes or syncs the active segment.
//!
//! It is a plain std thread, not a tokio task, because `write` and `fdatasync` block.
//! Appenders send a [`Command::Append`] over a channel and await a oneshot reply.
//!
//! Group commit: the thread blocks for one command, then drains every command already
//! queued (up to [`MAX_GROUP_BYTES`]), frames all their records into one buffer with
//! consecutive lsns, writes it with one `write_all` and syncs once, and only then
//! answers each request. Appends that arrive during a sync queue up and form the next
//! group, so under concurrency there is one sync per group rather than per append.
//!
//! Invariants:
//! - lsns are assigned here, in channel order, and only here.
//! - A reply of `Ok` is sent only after the bytes were written and (with `sync`) synced.
//! - After any I/O error the writer is poisoned: that group and every later one fail, and
//!   nothing more is written (the file's state after a failed write is unknown).

use super::record::{self, HEADER_BYTES};
use super::{Lsn, Result, WalError, WalOptions, segment};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// Stop draining the queue into one group beyond this many payload bytes, which bounds
/// the write buffer; the rest waits for the next group.
const MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// What appenders send to the writer.
pub(crate) enum Command {
    /// Write these payloads as consecutive records; reply with the first one's lsn.
    Append { payloads: Vec<Vec<u8>>, reply: oneshot::Sender<Result<Lsn>> },
    /// Finish the commands queued before this one, then stop.
    Close,
}

/// State the writer shares with the [`Wal`](super::Wal) handle.
pub(crate) struct Shared {
    pub dir: PathBuf,
    /// First lsns of every segment on disk, ascending; the last is the active one. The
    /// writer pushes on rotation, `truncate_through` removes from the front.
    pub segments: Mutex<Vec<u64>>,
    /// The lsn of the last acknowledged record (0 if none).
    pub last_lsn: AtomicU64,
    pub appends: AtomicU64,
    pub records: AtomicU64,
    pub syncs: AtomicU64,
    /// Held by a test to stop the writer between taking a group's first command and
    /// draining the rest, which makes group commit observable deterministically.
    #[cfg(test)]
    pub gate: Mutex<()>,
    /// Set by a test to make every segment sync fail, as a dying disk would.
    #[cfg(test)]
    pub fail_syncs: std::sync::atomic::AtomicBool,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    options: WalOptions,
    file: File,
    /// First lsn (and so the name) of the active segment.
    file_first: u64,
    file_len: u64,
    next_lsn: u64,
    buf: Vec<u8>,
    /// The failure that poisoned the log, if any.
    poisoned: Option<Arc<WalError>>,
}

/// One append request taken into the current group.
struct Pending {
    payloads: Vec<Vec<u8>>,
    reply: oneshot::Sender<Result<Lsn>>,
}

impl Writer {
    pub fn new(shared: Arc<Shared>, options: WalOptions, file: File, file_first: u64, file_len: u64, next_lsn: u64) -> Self {
        Writer { shared, options, file, file_first, file_len, next_lsn, buf: Vec::new(), poisoned: None }
    }

    /// The thread body: group, write, sync, answer, until `Close` or every sender is gone.
    pub fn run(mut self, commands: Receiver<Command>) {
        let mut group = Vec::new();
        while let Ok(first) = commands.recv() {
            #[cfg(test)]
            drop(self.shared.gate.lock());
            let mut closing = false;
            let mut bytes = 0;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append { payloads, reply } => {
                        bytes += payloads.iter().map(Vec::len).sum::<usize>();
                        group.push(Pending { payloads, reply });
                    }
                    Command::Close => closing = true,
                }
                if !closing && bytes < MAX_GROUP_BYTES {
                    next = commands.try_recv().ok();
                }
            }
            self.commit(&mut group);
            if closing {
                break;
            }
        }
        self.finish();
        // Dropping `commands` here fails appends queued after `Close` with `Closed`.
    }

    /// Write and sync one group, then answer every request in it.
    fn commit(&mut self, group: &mut Vec<Pending>) {
        let result = match &self.poisoned {
            Some(cause) => Err(WalError::Poisoned { cause: Arc::clone(cause) }),
            None => self.write_group(group),
        };
        match result {
            Ok(first_lsns) => {
                let shared = &self.shared;
                shared.last_lsn.store(self.next_lsn - 1, Ordering::Release);
                shared.appends.fetch_add(group.len() as u64, Ordering::Relaxed);
                let records: usize = group.iter().map(|pending| pending.payloads.len()).sum();
                shared.records.fetch_add(records as u64, Ordering::Relaxed);
                for (pending, first) in group.drain(..).zip(first_lsns) {
                    // The appender may have stopped waiting; the records are durable anyway.
                    let _ = pending.reply.send(Ok(Lsn(first)));
                }
            }
            Err(error) => {
                if self.poisoned.is_none() {
                    tracing::error!(%error, "write-ahead log write failed; refusing further appends");
                    self.poisoned = Some(Arc::new(error.clone()));
                }
                for pending in group.drain(..) {
                    let _ = pending.reply.send(Err(error.clone()));
                }
            }
        }
        // A burst of large payloads should not pin a large buffer for the log's lifetime.
        self.buf.shrink_to(MAX_GROUP_BYTES);
    }

    /// Frame, write and sync every record of `group`; return each request's first lsn.
    fn write_group(&mut self, group: &[Pending]) -> Result<Vec<u64>> {
        self.buf.clear();
        let mut first_lsns = Vec::with_capacity(group.len());
        for pending in group {
            first_lsns.push(self.next_lsn);
            for payload in &pending.payloads {
                let size = (HEADER_BYTES + payload.len()) as u64;
                let pending_len = self.file_len + self.buf.len() as u64;
                // Rotate before a record that would overflow the segment, unless the
                // segment is empty: an oversized record then gets a file of its own.
                if pending_len > 0 && pending_len + size > self.options.segment_bytes {
                    self.write_buf()?;
                    self.rotate()?;
                }
                record::encode(self.next_lsn, payload, &mut self.buf);
                self.next_lsn += 1;
            }
        }
        self.write_buf()?;
        if self.options.sync {
            let started = std::time::Instant::now();
            self.sync()?;
            let records = group.iter().map(|pending| pending.payloads.len()).sum();
            quiver_base::metrics::wal_synced(records, started.elapsed());
        }
        Ok(first_lsns)
    }

    /// Append the buffer to the active segment (no sync).
    fn write_buf(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.buf).map_err(|e| WalError::io("write", self.active_path(), e))?;
        self.file_len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        #[cfg(test)]
        if self.shared.fail_syncs.load(Ordering::Relaxed) {
            let injected = std::io::Error::other("injected by a test");
            return Err(WalError::io("fdatasync", self.active_path(), injected));
        }
        self.file.sync_data().map_err(|e| WalError::io("fdatasync", self.active_path(), e))?;
        self.shared.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Close the active segment and start a new one named after the next lsn.
    fn rotate(&mut self) -> Result<()> {
        // Synced even when `sync` is off: recovery relies on only the last segment ever
        // having a torn tail, so an older one must be complete before a newer one exists.
        self.sync()?;
        self.file = segment::create(&self.shared.dir, self.next_lsn)?;
        self.file_first = self.next_lsn;
        self.file_len = 0;
        let mut segments = self.shared.segments.lock().unwrap_or_else(PoisonError::into_inner);
        segments.push(self.next_lsn);
        Ok(())
    }

    /// On shutdown, make everything written durable even when appends did not sync.
    fn finish(&mut self) {
        if self.poisoned.is_none()
            && !self.options.sync
            && let Err(error) = self.sync()
        {
            tracing::error!(%error, "write-ahead log sync on close failed");
        }
    }

    fn active_path(&self) -> PathBuf {
        segment::path(&self.shared.dir, self.file_first)
    }
}
