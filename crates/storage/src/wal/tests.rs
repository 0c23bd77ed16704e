//! Tests of the write-ahead log: framing, replay, torn-tail repair, rotation and
//! truncation, concurrency and group commit, and a `kill -9` crash of a child process.

use super::record::{self, HEADER_BYTES};
use super::{Corruption, Lsn, MAX_PAYLOAD_BYTES, Replay, Wal, WalError, WalOptions};
use std::fs::{self, OpenOptions};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

fn open(dir: &Path, after: u64) -> (Wal, Replay) {
    Wal::open(dir, WalOptions::default(), Lsn(after)).expect("open wal")
}

fn open_small(dir: &Path, segment_bytes: u64) -> (Wal, Replay) {
    Wal::open(dir, WalOptions { segment_bytes, sync: true }, Lsn::ZERO).expect("open wal")
}

fn payload(i: u64) -> Vec<u8> {
    format!("payload-{i:04}").into_bytes()
}

fn lsns(records: &[(Lsn, Vec<u8>)]) -> Vec<u64> {
    records.iter().map(|(lsn, _)| lsn.0).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wal"))
        .collect();
    files.sort();
    files
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x55;
    fs::write(path, bytes).unwrap();
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<WalError>();
}

#[test]
fn record_round_trips_and_detects_damage() {
    let mut buf = Vec::new();
    record::encode(7, b"hello", &mut buf);
    assert_eq!(buf.len(), HEADER_BYTES + 5);
    let decoded = record::decode(&buf).unwrap();
    assert_eq!((decoded.lsn, decoded.payload, decoded.size), (7, &b"hello"[..], buf.len()));

    assert_eq!(record::decode(&buf[..HEADER_BYTES - 1]), Err(Corruption::Incomplete));
    assert_eq!(record::decode(&buf[..buf.len() - 1]), Err(Corruption::Incomplete));
    let mut flipped = buf.clone();
    flipped[HEADER_BYTES] ^= 1;
    assert_eq!(record::decode(&flipped), Err(Corruption::ChecksumMismatch));
    // The lsn is covered by the checksum too.
    let mut moved = buf.clone();
    moved[8] ^= 1;
    assert_eq!(record::decode(&moved), Err(Corruption::ChecksumMismatch));
    let mut huge = buf.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(record::decode(&huge), Err(Corruption::LengthTooLarge(u32::MAX)));
}

#[tokio::test]
async fn append_then_reopen_replays_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, replay) = open(dir.path(), 0);
    assert!(replay.is_empty());
    assert_eq!(wal.last_lsn(), Lsn::ZERO);
    for i in 1..=20 {
        assert_eq!(wal.append(payload(i)).await.unwrap(), Lsn(i));
    }
    assert_eq!(wal.append_all(vec![payload(21), payload(22)]).await.unwrap(), [Lsn(21), Lsn(22)]);
    assert_eq!(wal.append_all(Vec::new()).await.unwrap(), []);
    assert_eq!(wal.append(Vec::new()).await.unwrap(), Lsn(23));
    assert_eq!(wal.last_lsn(), Lsn(23));
    drop(wal);

    let (wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), (1..=23).collect::<Vec<_>>());
    for (lsn, bytes) in &replay[..22] {
        assert_eq!(bytes, &payload(lsn.0));
    }
    assert!(replay[22].1.is_empty());
    assert_eq!(wal.last_lsn(), Lsn(23));
    assert_eq!(wal.append(payload(24)).await.unwrap(), Lsn(24));
}

#[tokio::test]
async fn replay_returns_only_records_after_the_given_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    for i in 1..=10 {
        wal.append(payload(i)).await.unwrap();
    }
    drop(wal);
    let (wal, replay) = open(dir.path(), 6);
    assert_eq!(lsns(&replay), [7, 8, 9, 10]);
    assert_eq!(replay[0].1, payload(7));
    assert_eq!(wal.last_lsn(), Lsn(10));
    drop(wal);
    let (_wal, replay) = open(dir.path(), 10);
    assert!(replay.is_empty());
}

#[tokio::test]
async fn opening_after_every_stored_lsn_continues_from_there_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    // An empty log told that 100 lsns are already accounted for elsewhere.
    let (wal, _) = open(dir.path(), 100);
    assert_eq!(wal.last_lsn(), Lsn(100));
    drop(wal);
    // The floor survives a reopen that does not repeat it: the file name keeps it.
    let (wal, replay) = open(dir.path(), 0);
    assert!(replay.is_empty());
    assert_eq!(wal.last_lsn(), Lsn(100));
    assert_eq!(wal.append(payload(1)).await.unwrap(), Lsn(101));
    drop(wal);

    // A log with records, reopened with `after` beyond them: a gap, never a reuse.
    let (wal, _) = open(dir.path(), 200);
    assert_eq!(wal.append(payload(2)).await.unwrap(), Lsn(201));
    drop(wal);
    let (wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), [101, 201]);
    assert_eq!(wal.last_lsn(), Lsn(201));
}

#[tokio::test]
async fn truncated_tail_is_dropped_and_the_log_stays_appendable() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    for i in 1..=10 {
        wal.append(payload(i)).await.unwrap();
    }
    drop(wal);
    let file = &segment_files(dir.path())[0];
    let len = fs::metadata(file).unwrap().len();
    OpenOptions::new().write(true).open(file).unwrap().set_len(len - 3).unwrap();

    let (wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), (1..=9).collect::<Vec<_>>());
    assert_eq!(wal.last_lsn(), Lsn(9));
    assert_eq!(wal.append(b"new ten".to_vec()).await.unwrap(), Lsn(10));
    assert_eq!(wal.append(payload(11)).await.unwrap(), Lsn(11));
    drop(wal);

    let (_wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), (1..=11).collect::<Vec<_>>());
    assert_eq!(replay[9].1, b"new ten");
}

#[tokio::test]
async fn corrupt_last_record_is_dropped_and_the_log_stays_appendable() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    for i in 1..=10 {
        wal.append(payload(i)).await.unwrap();
    }
    drop(wal);
    let file = &segment_files(dir.path())[0];
    let len = fs::metadata(file).unwrap().len();
    flip_byte(file, len - 1);

    let (wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), (1..=9).collect::<Vec<_>>());
    assert_eq!(fs::metadata(file).unwrap().len(), len - (HEADER_BYTES + payload(10).len()) as u64);
    assert_eq!(wal.append(b"new ten".to_vec()).await.unwrap(), Lsn(10));
    drop(wal);

    let (_wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), (1..=10).collect::<Vec<_>>());
    assert_eq!(replay[9].1, b"new ten");
}

#[tokio::test]
async fn well_formed_record_with_a_wrong_lsn_is_an_error_even_at_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    wal.append(payload(1)).await.unwrap();
    drop(wal);
    let file = &segment_files(dir.path())[0];
    let mut bytes = fs::read(file).unwrap();
    let offset = bytes.len() as u64;
    record::encode(5, b"stray", &mut bytes);
    fs::write(file, bytes).unwrap();

    match Wal::open(dir.path(), WalOptions::default(), Lsn::ZERO) {
        Err(WalError::Corrupt { path, offset: at, damage }) => {
            assert_eq!(&path, file);
            assert_eq!(at, offset);
            assert_eq!(damage, Corruption::UnexpectedLsn { expected: 2, found: 5 });
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, replay)| replay.len())),
    }
}

#[tokio::test]
async fn corruption_in_an_earlier_segment_is_an_error_naming_the_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let record_size = (HEADER_BYTES + payload(1).len()) as u64;
    let (wal, _) = open_small(dir.path(), 4 * record_size);
    for i in 1..=10 {
        wal.append(payload(i)).await.unwrap();
    }
    drop(wal);
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 3, "4 records per segment: {files:?}");
    // Damage the payload of the third record (lsn 3) of the first segment.
    flip_byte(&files[0], 2 * record_size + HEADER_BYTES as u64 + 2);

    let error = Wal::open(dir.path(), WalOptions::default(), Lsn::ZERO).err().expect("an error");
    match &error {
        WalError::Corrupt { path, offset, damage } => {
            assert_eq!(path, &files[0]);
            assert_eq!(*offset, 2 * record_size);
            assert_eq!(*damage, Corruption::ChecksumMismatch);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("00000000000000000001.wal"), "{message}");
    assert!(message.contains(&format!("offset {}", 2 * record_size)), "{message}");
    // Nothing was repaired: the damage is still there for a human to look at.
    assert!(Wal::open(dir.path(), WalOptions::default(), Lsn::ZERO).is_err());

    // A caller that checkpointed past the damaged segment does not need it.
    let (_wal, replay) = open(dir.path(), 4);
    assert_eq!(lsns(&replay), (5..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn rotation_makes_segments_and_truncation_deletes_only_covered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let record_size = (HEADER_BYTES + payload(1).len()) as u64;
    // Room for 8 records; the 9th starts a new segment.
    let (wal, _) = open_small(dir.path(), 8 * record_size + record_size / 2);
    for i in 1..=50 {
        wal.append(payload(i)).await.unwrap();
    }
    let first_lsns = |dir: &Path| -> Vec<String> {
        segment_files(dir).iter().map(|path| path.file_stem().unwrap().to_str().unwrap().trim_start_matches('0').to_string()).collect()
    };
    assert_eq!(first_lsns(dir.path()), ["1", "9", "17", "25", "33", "41", "49"]);
    assert_eq!(wal.segment_paths(), segment_files(dir.path()));
    assert_eq!(fs::metadata(&segment_files(dir.path())[0]).unwrap().len(), 8 * record_size);

    // Segment 9..=16 still holds lsn 16 > 15: it stays.
    wal.truncate_through(Lsn(15)).unwrap();
    assert_eq!(first_lsns(dir.path()), ["9", "17", "25", "33", "41", "49"]);
    wal.truncate_through(Lsn(16)).unwrap();
    assert_eq!(first_lsns(dir.path()), ["17", "25", "33", "41", "49"]);
    // Everything is covered, but the active segment is never deleted.
    wal.truncate_through(Lsn(1_000)).unwrap();
    assert_eq!(first_lsns(dir.path()), ["49"]);
    assert_eq!(wal.segment_paths(), segment_files(dir.path()));
    assert_eq!(wal.append(payload(51)).await.unwrap(), Lsn(51));
    drop(wal);

    let (wal, replay) = open(dir.path(), 48);
    assert_eq!(lsns(&replay), [49, 50, 51]);
    assert_eq!(wal.last_lsn(), Lsn(51));
}

#[tokio::test]
async fn a_record_larger_than_a_segment_gets_a_segment_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open_small(dir.path(), 64);
    wal.append(vec![1; 10]).await.unwrap();
    wal.append(vec![2; 500]).await.unwrap();
    wal.append(vec![3; 10]).await.unwrap();
    assert_eq!(segment_files(dir.path()).len(), 3);
    drop(wal);
    let (_wal, replay) = open(dir.path(), 0);
    assert_eq!(replay.iter().map(|(_, p)| p.len()).collect::<Vec<_>>(), [10, 500, 10]);
}

#[tokio::test]
async fn oversized_payload_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    // Zeroed allocations are lazy, so this does not touch 256 MiB of memory.
    let huge = vec![0u8; MAX_PAYLOAD_BYTES + 1];
    let error = wal.append_all(vec![payload(1), huge]).await.unwrap_err();
    assert!(matches!(error, WalError::PayloadTooLarge { len, max } if len == MAX_PAYLOAD_BYTES + 1 && max == MAX_PAYLOAD_BYTES));
    assert_eq!(wal.last_lsn(), Lsn::ZERO);
    assert_eq!(wal.append(payload(1)).await.unwrap(), Lsn(1));
}

#[tokio::test]
async fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    let error = Wal::open(dir.path(), WalOptions::default(), Lsn::ZERO).err().expect("locked");
    assert!(matches!(error, WalError::Locked { .. }), "{error}");
    drop(wal);
    let _reopened = open(dir.path(), 0);
}

#[tokio::test]
async fn appends_after_close_fail_and_earlier_ones_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions { sync: false, ..WalOptions::default() }, Lsn::ZERO).unwrap();
    wal.append(payload(1)).await.unwrap();
    wal.close();
    wal.close();
    assert!(matches!(wal.append(payload(2)).await, Err(WalError::Closed)));
    drop(wal);
    let (_wal, replay) = open(dir.path(), 0);
    assert_eq!(lsns(&replay), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_distinct_lsns_and_all_replay() {
    const TASKS: u64 = 8;
    const PER_TASK: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    let wal = Arc::new(wal);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let wal = Arc::clone(&wal);
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..PER_TASK {
                    let lsn = wal.append(payload(task * 1_000 + i)).await.unwrap();
                    acked.push((lsn, payload(task * 1_000 + i)));
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        // One task's appends are ordered, so their lsns increase.
        assert!(mine.windows(2).all(|w| w[0].0 < w[1].0));
        acked.extend(mine);
    }
    acked.sort();
    assert_eq!(acked.iter().map(|(lsn, _)| lsn.0).collect::<Vec<_>>(), (1..=TASKS * PER_TASK).collect::<Vec<_>>());
    let stats = wal.stats();
    assert_eq!((stats.appends, stats.records), (TASKS * PER_TASK, TASKS * PER_TASK));
    assert!(stats.syncs <= stats.appends);
    Arc::into_inner(wal).expect("last handle").close();

    let (_wal, replay) = open(dir.path(), 0);
    assert_eq!(replay, acked);
}

/// Poll a future once with a waker that does nothing, so that it sends its request.
fn poll_once<F: Future>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
    future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test]
async fn appends_queued_during_a_write_share_one_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    // One at a time: one sync each.
    for i in 1..=3 {
        wal.append(payload(i)).await.unwrap();
    }
    assert_eq!(wal.stats().syncs, 3);

    // Hold the writer after it takes a command, queue eight appends, then let it go: it
    // drains all of them into one group, written with one write and one sync.
    let gate = wal.test_gate();
    let mut pending: Vec<_> = (4..=11).map(|i| Box::pin(wal.append(payload(i)))).collect();
    for future in &mut pending {
        assert!(poll_once(future).is_pending());
    }
    drop(gate);
    let mut lsns = Vec::new();
    for future in pending {
        lsns.push(future.await.unwrap().0);
    }
    // Channel order is lsn order.
    assert_eq!(lsns, (4..=11).collect::<Vec<_>>());
    let stats = wal.stats();
    assert_eq!((stats.appends, stats.syncs), (11, 4), "{stats:?}");
}

#[tokio::test]
async fn a_failed_sync_fails_its_whole_group_and_poisons_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    assert_eq!(wal.append(payload(1)).await.unwrap(), Lsn(1));

    wal.fail_syncs(true);
    let gate = wal.test_gate();
    let mut group: Vec<_> = (2..=4).map(|i| Box::pin(wal.append(payload(i)))).collect();
    for future in &mut group {
        assert!(poll_once(future).is_pending());
    }
    drop(gate);
    for future in group {
        let error = future.await.unwrap_err();
        assert!(matches!(&error, WalError::Io { op: "fdatasync", .. }), "{error}");
    }
    // The disk is fine again, but the log cannot know what the failed sync lost.
    wal.fail_syncs(false);
    let error = wal.append(payload(5)).await.unwrap_err();
    assert!(matches!(&error, WalError::Poisoned { cause } if matches!(**cause, WalError::Io { .. })), "{error}");
    assert!(error.to_string().contains("injected by a test"), "{error}");
    assert_eq!(wal.last_lsn(), Lsn(1));
    drop(wal);

    // Reopening recovers from the files. The failed records were written, only their
    // sync failed, so they may come back: their outcome was "unknown", not "lost".
    let (wal, replay) = open(dir.path(), 0);
    assert_eq!(replay[0], (Lsn(1), payload(1)));
    assert_eq!(lsns(&replay), (1..=replay.len() as u64).collect::<Vec<_>>());
    let next = wal.append(payload(6)).await.unwrap();
    assert_eq!(next, Lsn(replay.len() as u64 + 1));
}

const CRASH_CHILD_DIR: &str = "QUIVER_WAL_CRASH_CHILD_DIR";

fn crash_payload(task: u64, i: u64) -> Vec<u8> {
    // Varying sizes make it likely that the kill lands inside a record.
    let mut bytes = format!("{task}:{i}:").into_bytes();
    bytes.resize(bytes.len() + ((task * 7_919 + i * 104_729) % 6_000) as usize, b'x');
    bytes
}

/// The child half of the crash test: append from 4 tasks forever, printing each
/// acknowledged lsn. Does nothing unless started by the parent test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of crash_of_the_process_loses_no_acknowledged_append"]
async fn crash_child_appends_forever() {
    let Some(dir) = std::env::var_os(CRASH_CHILD_DIR) else { return };
    let (wal, _) = Wal::open(Path::new(&dir), WalOptions::default(), Lsn::ZERO).unwrap();
    let wal = Arc::new(wal);
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let wal = Arc::clone(&wal);
            tokio::spawn(async move {
                for i in 0.. {
                    let lsn = wal.append(crash_payload(task, i)).await.unwrap();
                    println!("ACK {task} {i} {lsn}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[test]
fn crash_of_the_process_loses_no_acknowledged_append() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "wal::tests::crash_child_appends_forever", "--ignored", "--nocapture"])
            .env(CRASH_CHILD_DIR, dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut acked = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let Some(ack) = line.strip_prefix("ACK ") else { continue };
            let fields: Vec<u64> = ack.split(' ').map(|f| f.parse().unwrap()).collect();
            acked.push((fields[2], crash_payload(fields[0], fields[1])));
            if acked.len() == 300 {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL: no destructors, no flush, maybe mid-write.
        child.wait().unwrap();
        assert_eq!(acked.len(), 300, "round {round}: the child stopped early");

        let (wal, replay) = open(dir.path(), 0);
        let replayed: std::collections::HashMap<u64, &Vec<u8>> = replay.iter().map(|(lsn, payload)| (lsn.0, payload)).collect();
        assert_eq!(lsns(&replay), (1..=replay.len() as u64).collect::<Vec<_>>(), "round {round}");
        for (lsn, payload) in &acked {
            assert_eq!(replayed.get(lsn), Some(&payload), "round {round}: acknowledged lsn {lsn} lost");
        }
        assert_eq!(wal.last_lsn(), Lsn(replay.len() as u64));
    }
}

/// `cargo test -p quiver-storage --release -- --ignored --nocapture wal_append_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints appends/sec"]
async fn wal_append_throughput() {
    const TASKS: usize = 4;
    const TOTAL: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open(dir.path(), 0);
    let wal = Arc::new(wal);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let wal = Arc::clone(&wal);
            tokio::spawn(async move {
                for _ in 0..TOTAL / TASKS {
                    wal.append(vec![0xAB; 5 * 1024]).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let stats = wal.stats();
    println!(
        "wal: {TOTAL} appends of 5 KiB from {TASKS} tasks in {elapsed:?}: {:.0} appends/s, {} syncs ({:.1} appends/sync)",
        TOTAL as f64 / elapsed.as_secs_f64(),
        stats.syncs,
        stats.appends as f64 / stats.syncs.max(1) as f64,
    );
}
