//! Isolation benchmark (issue 11): does one piece of work slow down another?
//!
//! 1. Insert latency while a 100,000-row flush, then a compaction, of the same collection
//!    run: the engine on its embedded stores (redb, local files with fsync, WAL with
//!    fsync), 10-row inserts back to back, p50/p99 idle and during each, and the ratio.
//! 2. Snapshot create and describe latency on one collection while another collection's
//!    object store answers every call with 200 ms of injected latency (and that
//!    collection's snapshot creates and flushes run in a loop): p50 idle and under load.
//!
//! `cargo bench -p quiver-engine --bench isolation` prints a Markdown report for
//! `bench/RESULTS.md`. Timing is measured here, never asserted.

use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int64Array};
use quiver_base::{Clock, SystemClock};
use quiver_engine::catalog::model::ConsistencyLevel;
use quiver_engine::schema::{CollectionSchema, DataType, FieldSchema};
use quiver_engine::{DataConfig, Engine, EngineConfig, InsertColumns, NewCollection};
use quiver_storage::objects::{ObjectStoreConfig, build};
use quiver_storage::{MemMetaStore, MetaStore, RedbMetaStore};
use quiver_testkit::{FaultyObjectStore, Power};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DB: &str = "default";
const DIM: usize = 128;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        println!("### Insert latency while a flush and a compaction run\n");
        insert_under_maintenance().await;
        println!("\n### Snapshot calls on one collection while another's object store is slow\n");
        snapshots_beside_a_slow_collection().await;
    });
}

fn columns(first: i64, rows: usize) -> InsertColumns {
    let pks: ArrayRef = Arc::new(Int64Array::from_iter_values(first..first + rows as i64));
    let values = Float32Array::from_iter_values((0..rows * DIM).map(|i| ((first as usize * DIM + i) % 1013) as f32 / 1013.0));
    let item = Arc::new(arrow_schema::Field::new("item", arrow_schema::DataType::Float32, false));
    let vectors: ArrayRef = Arc::new(FixedSizeListArray::try_new(item, DIM as i32, Arc::new(values), None).unwrap());
    InsertColumns { num_rows: rows, fields: vec![("pk".into(), pks), ("vec".into(), vectors)], dynamic: None }
}

async fn create(engine: &Engine, name: &str) {
    let mut pk = FieldSchema::new("pk", DataType::Int64);
    pk.is_primary_key = true;
    let fields = vec![pk, FieldSchema::new("vec", DataType::FloatVector).with_param("dim", DIM)];
    let schema =
        CollectionSchema { name: name.into(), description: String::new(), auto_id: false, enable_dynamic_field: false, fields, version: 0 };
    let request = NewCollection {
        name: name.into(),
        schema,
        shards_num: 0,
        consistency_level: ConsistencyLevel::Strong,
        properties: Default::default(),
        num_partitions: 0,
        partitions: Vec::new(),
        indexes: Vec::new(),
    };
    engine.create_collection(DB, request).await.unwrap();
    engine.load_collection(DB, name).await.unwrap();
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// 10-row inserts back to back until `busy` is cleared (or `count` of them when idle).
async fn insert_latencies(engine: &Engine, name: &str, next_pk: &mut i64, busy: Option<&AtomicBool>, count: usize) -> Vec<Duration> {
    let mut samples = Vec::new();
    while busy.map_or(samples.len() < count, |b| b.load(Ordering::SeqCst)) {
        let started = Instant::now();
        engine.insert(DB, name, "", columns(*next_pk, 10)).await.unwrap();
        samples.push(started.elapsed());
        *next_pk += 10;
    }
    samples
}

/// Rounds of each measured phase: the disk's fsync latency wanders, so every phase is
/// compared with an idle run measured just before it, and the median ratio reported.
const ROUNDS: usize = 3;

async fn insert_under_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetaStore> = Arc::new(RedbMetaStore::open(&dir.path().join("meta.redb")).unwrap());
    let objects = build(&ObjectStoreConfig::Local { root: dir.path().join("objects") }).unwrap();
    let config = EngineConfig {
        data: DataConfig { seal_bytes: 1 << 40, seal_idle: Duration::from_secs(1 << 30), wal_sync: true },
        ..EngineConfig::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Arc::new(Engine::open(meta, objects, &dir.path().join("wal"), clock, config).await.unwrap());
    engine.start().await.unwrap();
    create(&engine, "c").await;
    let mut next = 0i64;
    let mut bulk = 10_000_000i64;
    println!("| round | phase | its duration | inserts measured (idle / during) | p50 idle / during | p99 idle / during | p99 ratio |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut ratios: Vec<(&str, f64)> = Vec::new();
    for round in 1..=ROUNDS {
        for phase in ["flush of 100,000 rows", "compaction of 2 segments"] {
            let compaction = phase.starts_with("compaction");
            // 100,000 rows to flush (for a compaction: flushed, next to the previous ones).
            for _ in 0..100 {
                engine.insert(DB, "c", "", columns(bulk, 1_000)).await.unwrap();
                bulk += 1_000;
            }
            if compaction {
                engine.flush(DB, "c").await.unwrap();
            }
            let mut idle = insert_latencies(&engine, "c", &mut next, None, 300).await;
            let busy = Arc::new(AtomicBool::new(true));
            let work = {
                let (engine, busy) = (Arc::clone(&engine), Arc::clone(&busy));
                tokio::spawn(async move {
                    let started = Instant::now();
                    if compaction {
                        engine.compact(DB, "c").await.unwrap();
                    } else {
                        engine.flush(DB, "c").await.unwrap();
                    }
                    busy.store(false, Ordering::SeqCst);
                    started.elapsed()
                })
            };
            let mut during = insert_latencies(&engine, "c", &mut next, Some(&busy), 0).await;
            let took = work.await.unwrap();
            let (idle_p50, idle_p99) = (percentile(&mut idle, 0.5), percentile(&mut idle, 0.99));
            let (p50, p99) = (percentile(&mut during, 0.5), percentile(&mut during, 0.99));
            let ratio = p99.as_secs_f64() / idle_p99.as_secs_f64();
            ratios.push((phase, ratio));
            println!(
                "| {round} | {phase} | {} | {} / {} | {} / {} | {} / {} | {ratio:.2} |",
                ms(took),
                idle.len(),
                during.len(),
                ms(idle_p50),
                ms(p50),
                ms(idle_p99),
                ms(p99)
            );
        }
    }
    for phase in ["flush of 100,000 rows", "compaction of 2 segments"] {
        let mut of_phase: Vec<f64> = ratios.iter().filter(|(p, _)| *p == phase).map(|(_, r)| *r).collect();
        of_phase.sort_by(f64::total_cmp);
        println!("\nMedian insert p99 ratio during the {phase}: {:.2}", of_phase[of_phase.len() / 2]);
    }
    engine.shutdown(Duration::from_secs(10)).await;
}

async fn snapshot_latencies(engine: &Engine, name: &str, rounds: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut creates, mut describes) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let snapshot = format!("s{round}_{}", rand_suffix());
        let started = Instant::now();
        engine.create_snapshot(DB, name, &snapshot, "", 0).await.unwrap();
        creates.push(started.elapsed());
        let started = Instant::now();
        engine.describe_snapshot(DB, name, &snapshot).await.unwrap();
        describes.push(started.elapsed());
        engine.drop_snapshot(DB, name, &snapshot).await.unwrap();
    }
    (creates, describes)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

async fn snapshots_beside_a_slow_collection() {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetaStore> = Arc::new(MemMetaStore::new());
    let local = build(&ObjectStoreConfig::Local { root: dir.path().join("objects") }).unwrap();
    let objects = Arc::new(FaultyObjectStore::new(local, Power::new()));
    let config = EngineConfig {
        data: DataConfig { seal_bytes: 1 << 40, seal_idle: Duration::from_secs(1 << 30), wal_sync: true },
        ..EngineConfig::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Arc::new(Engine::open(meta, objects.clone(), &dir.path().join("wal"), clock, config).await.unwrap());
    engine.start().await.unwrap();
    for name in ["fast", "slow"] {
        create(&engine, name).await;
        for segment in 0..20 {
            engine.insert(DB, name, "", columns(segment * 100, 100)).await.unwrap();
            engine.flush(DB, name).await.unwrap();
        }
    }
    let rounds = 100;
    let (mut idle_creates, mut idle_describes) = snapshot_latencies(&engine, "fast", rounds).await;
    let slow = engine.resolve(DB, "slow").unwrap().id.0;
    for prefix in [format!("snapshots/{slow}/"), format!("insert_log/{slow}/"), format!("delta_log/{slow}/")] {
        objects.add_latency(&prefix, Duration::from_millis(200));
    }
    let busy = Arc::new(AtomicBool::new(true));
    let background = {
        let (engine, busy) = (Arc::clone(&engine), Arc::clone(&busy));
        tokio::spawn(async move {
            let mut round = 0i64;
            while busy.load(Ordering::SeqCst) {
                let name = format!("b{round}");
                engine.create_snapshot(DB, "slow", &name, "", 0).await.unwrap();
                engine.insert(DB, "slow", "", columns(10_000 + round * 10, 10)).await.unwrap();
                engine.flush(DB, "slow").await.unwrap();
                engine.drop_snapshot(DB, "slow", &name).await.unwrap();
                round += 1;
            }
            round
        })
    };
    let (mut loaded_creates, mut loaded_describes) = snapshot_latencies(&engine, "fast", rounds).await;
    busy.store(false, Ordering::SeqCst);
    let slow_rounds = background.await.unwrap();
    println!("| call on `fast` (20 segments, {rounds} each) | idle p50 | p50 while `slow` answers in 200 ms | ratio |");
    println!("| --- | --- | --- | --- |");
    for (call, idle, loaded) in
        [("create_snapshot", &mut idle_creates, &mut loaded_creates), ("describe_snapshot", &mut idle_describes, &mut loaded_describes)]
    {
        let (a, b) = (percentile(idle, 0.5), percentile(loaded, 0.5));
        println!("| {call} | {} | {} | {:.2} |", ms(a), ms(b), b.as_secs_f64() / a.as_secs_f64());
    }
    println!("\nMeanwhile `slow` ran {slow_rounds} rounds of create snapshot + insert + flush + drop snapshot.");
    engine.shutdown(Duration::from_secs(10)).await;
}
