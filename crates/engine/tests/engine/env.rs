//! The test environment: an engine over in-memory metadata and objects wrapped in
//! fault-injecting stores, a WAL in a temp dir, and a manual clock. A *crash* cuts the
//! power of the instance's stores (nothing more of it reaches storage), stops it, and
//! opens a new instance over the same inner stores and WAL, as a restart after
//! `kill -9` would.

use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Int64Array};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use quiver_base::ManualClock;
use quiver_engine::catalog::model::ConsistencyLevel;
use quiver_engine::data::SegmentMeta;
use quiver_engine::restore::JobState;
use quiver_engine::schema::{CollectionSchema, DataType, FieldSchema};
use quiver_engine::snapshots::{SnapshotRecord, SnapshotState};
use quiver_engine::{DataConfig, Engine, EngineConfig, InsertColumns, NewCollection, NewIndex, QueryRequest};
use quiver_storage::{MemMetaStore, MetaStore};
use quiver_testkit::{FaultyMetaStore, FaultyObjectStore, Power};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

pub const DB: &str = "default";
pub const DIM: usize = 4;

pub struct Env {
    pub meta: Arc<MemMetaStore>,
    pub objects: Arc<InMemory>,
    pub clock: Arc<ManualClock>,
    wal: tempfile::TempDir,
    pub power: Power,
    pub faulty_meta: Arc<FaultyMetaStore>,
    pub faulty_objects: Arc<FaultyObjectStore>,
    /// The running instance (none only while one is replaced by the next).
    instance: Option<Arc<Engine>>,
}

impl Env {
    pub async fn new() -> Env {
        let meta = Arc::new(MemMetaStore::new());
        let objects = Arc::new(InMemory::new());
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let wal = tempfile::tempdir().unwrap();
        let (power, faulty_meta, faulty_objects, engine) = open(&meta, &objects, &clock, wal.path()).await;
        Env { meta, objects, clock, wal, power, faulty_meta, faulty_objects, instance: Some(engine) }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        self.instance.as_ref().expect("an instance is running")
    }

    /// Cut the power and open a new instance over the same stores and WAL.
    pub async fn crash(&mut self) {
        self.power.cut();
        self.reopen().await;
    }

    /// Stop the instance (its power already off, or a clean stop) and open a new one over
    /// the same stores and WAL once every handle of the old one is gone.
    pub async fn reopen(&mut self) {
        let old = self.instance.take().expect("an instance is running");
        old.shutdown(Duration::from_secs(5)).await;
        while Arc::strong_count(&old) > 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(old);
        let (power, faulty_meta, faulty_objects, engine) = open(&self.meta, &self.objects, &self.clock, self.wal.path()).await;
        self.instance = Some(engine);
        self.power = power;
        self.faulty_meta = faulty_meta;
        self.faulty_objects = faulty_objects;
    }

    /// Arm `point` of the current instance to crash it there.
    pub fn arm(&self, point: &str) {
        let power = self.power.clone();
        self.engine().failpoints().arm(point, move || power.cut());
    }

    pub fn advance(&self, ms: u64) {
        self.clock.advance(ms);
    }

    /// Every object key in the store.
    pub async fn object_keys(&self) -> HashSet<String> {
        use futures::TryStreamExt;
        self.objects.list(None).map_ok(|m| m.location.to_string()).try_collect().await.unwrap()
    }

    /// Every file a live segment, a current index build or a snapshot references, read
    /// from the store directly, with what references it.
    pub async fn referenced_files(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        let collections: BTreeMap<i64, quiver_engine::catalog::model::Collection> = scan(&*self.meta, "catalog/collection/")
            .await
            .into_iter()
            .map(|(_, c): (_, quiver_engine::catalog::model::Collection)| (c.id.0, c))
            .collect();
        let mut live = HashSet::new();
        for (key, meta) in scan::<SegmentMeta>(&*self.meta, "data/segment/").await {
            if collections.get(&meta.collection.0).is_some_and(|c| meta.serves(c)) {
                live.insert(meta.id);
                meta.files().for_each(|f| {
                    files.insert(f.key.clone(), key.clone());
                });
            }
        }
        for (key, build) in scan::<quiver_engine::indexing::IndexBuild>(&*self.meta, "data/index_build/").await {
            let current = collections.values().any(|c| c.indexes.iter().any(|d| d.id == build.index_id));
            if live.contains(&build.segment) && current {
                files.insert(build.file.key.clone(), key);
            }
        }
        for (key, record) in scan::<SnapshotRecord>(&*self.meta, "snapshot/record/").await {
            let own = |k: &str| record.manifests.iter().any(|m| m == k) || record.s3_location == k;
            for file in record.referenced_keys() {
                // A pending or deleting snapshot's own files come and go with it.
                if record.state == SnapshotState::Committed || !own(file) {
                    files.insert(file.to_string(), key.clone());
                }
            }
        }
        files
    }

    /// GC's promise: every referenced file exists.
    pub async fn assert_no_referenced_file_lost(&self, context: &str) {
        let present = self.object_keys().await;
        let missing: Vec<_> = self.referenced_files().await.into_iter().filter(|(file, _)| !present.contains(file)).collect();
        assert!(missing.is_empty(), "{context}: referenced files are gone: {missing:?}");
    }

    /// What the store and the engine hold of a collection's segments and of one of its
    /// snapshots (for a failure report).
    pub async fn segment_evidence(&self, name: &str, snapshot: &str) -> String {
        let Ok(collection) = self.engine().resolve(DB, name) else { return format!("{name} is gone") };
        let records: Vec<String> = scan::<SegmentMeta>(&*self.meta, &format!("data/segment/{:020}/", collection.id.0))
            .await
            .into_iter()
            .map(|(_, m)| {
                format!("{}:{:?}:p{}:{}rows:{}dl:serves={}", m.id, m.state, m.partition, m.rows, m.delta_logs.len(), m.serves(&collection))
            })
            .collect();
        let memory: Vec<String> = self
            .engine()
            .segments(DB, name)
            .map(|s| s.into_iter().map(|i| format!("{}:p{}:{}rows:sealed={}", i.id, i.partition, i.rows, i.sealed)).collect())
            .unwrap_or_default();
        let captured: Vec<String> = scan::<SnapshotRecord>(&*self.meta, &format!("snapshot/record/{:020}/", collection.id.0))
            .await
            .into_iter()
            .filter(|(_, r)| r.name == snapshot)
            .flat_map(|(_, r)| {
                r.segments.into_iter().map(|s| format!("{}:p{}:{}rows:{}dl", s.segment, s.partition, s.rows, s.delta_logs.len()))
            })
            .collect();
        let partitions: Vec<String> = collection.partitions.iter().map(|p| format!("{}={}", p.name, p.id)).collect();
        format!("partitions {partitions:?}\nsegment records {records:?}\nin memory {memory:?}\ncaptured by {snapshot}: {captured:?}")
    }

    pub async fn create_collection(&self, name: &str, index: Option<&str>) {
        let mut pk = FieldSchema::new("pk", DataType::Int64);
        pk.is_primary_key = true;
        let fields =
            vec![pk, FieldSchema::new("tag", DataType::Int64), FieldSchema::new("vec", DataType::FloatVector).with_param("dim", DIM)];
        let schema = CollectionSchema {
            name: name.into(),
            description: String::new(),
            auto_id: false,
            enable_dynamic_field: false,
            fields,
            version: 0,
        };
        let request = NewCollection {
            name: name.into(),
            schema,
            shards_num: 0,
            consistency_level: ConsistencyLevel::Strong,
            properties: Default::default(),
            num_partitions: 0,
            partitions: vec!["p1".into()],
            indexes: index.map(|kind| vec![vector_index(kind)]).unwrap_or_default(),
        };
        self.engine().create_collection(DB, request).await.unwrap();
        self.engine().load_collection(DB, name).await.unwrap();
    }

    /// Insert (or upsert) rows `pk -> tag` into `partition`.
    pub async fn write(&self, name: &str, partition: &str, rows: &[(i64, i64)], upsert: bool) -> quiver_engine::Result<()> {
        let columns = columns(rows);
        if upsert {
            self.engine().upsert(DB, name, partition, columns, false).await.map(|_| ())
        } else {
            self.engine().insert(DB, name, partition, columns).await.map(|_| ())
        }
    }

    /// Every visible row of a loaded collection, `pk -> tag`.
    pub async fn rows(&self, name: &str) -> quiver_engine::Result<BTreeMap<i64, i64>> {
        let request = QueryRequest { output_fields: vec!["pk".into(), "tag".into()], limit: Some(16_384), ..Default::default() };
        let out = self.engine().query(DB, name, &[], request).await?;
        let column = |name: &str| {
            let array = &out.columns.iter().find(|c| c.field.as_ref().is_some_and(|f| f.name == name)).unwrap().array;
            array.as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()
        };
        Ok(column("pk").into_iter().zip(column("tag")).collect())
    }

    /// Wait for a restore job to end (as the worker runs it), crashing and reopening if
    /// its instance lost power meanwhile. Returns its final state and reason.
    pub async fn wait_restore(&mut self, job: i64) -> (JobState, String) {
        for _ in 0..2_000 {
            if !self.power.is_on() {
                self.reopen().await;
            }
            match self.engine().restore_state(job).await {
                Ok(info) if matches!(info.state, JobState::Completed | JobState::Failed) => return (info.state, info.reason),
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        panic!("restore job {job} did not end");
    }
}

pub fn vector_index(kind: &str) -> NewIndex {
    let params = [("index_type", kind), ("metric_type", "L2"), ("M", "8"), ("efConstruction", "32"), ("nlist", "4")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    NewIndex { field_name: "vec".into(), index_name: "vec_idx".into(), params }
}

/// Columns of rows `pk -> tag`, each vector derived from its row.
pub fn columns(rows: &[(i64, i64)]) -> InsertColumns {
    let pks: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0)));
    let tags: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1)));
    let values = Float32Array::from_iter_values(
        rows.iter().flat_map(|(pk, tag)| (0..DIM).map(move |d| (*pk * 7 + *tag * 3 + d as i64) as f32 % 97.0)),
    );
    let item = Arc::new(arrow_schema::Field::new("item", arrow_schema::DataType::Float32, false));
    let vectors: ArrayRef = Arc::new(FixedSizeListArray::try_new(item, DIM as i32, Arc::new(values), None).unwrap());
    InsertColumns { num_rows: rows.len(), fields: vec![("pk".into(), pks), ("tag".into(), tags), ("vec".into(), vectors)], dynamic: None }
}

async fn scan<T: serde::de::DeserializeOwned>(meta: &dyn MetaStore, prefix: &str) -> Vec<(String, T)> {
    meta.scan_prefix(prefix).await.unwrap().into_iter().map(|(k, v)| (k, serde_json::from_slice(&v).unwrap())).collect()
}

async fn open(
    meta: &Arc<MemMetaStore>,
    objects: &Arc<InMemory>,
    clock: &Arc<ManualClock>,
    wal: &std::path::Path,
) -> (Power, Arc<FaultyMetaStore>, Arc<FaultyObjectStore>, Arc<Engine>) {
    let power = Power::new();
    let faulty_meta = Arc::new(FaultyMetaStore::new(meta.clone(), power.clone()));
    let faulty_objects = Arc::new(FaultyObjectStore::new(objects.clone(), power.clone()));
    let config = EngineConfig {
        data: DataConfig { seal_bytes: 1 << 30, seal_idle: Duration::from_secs(1 << 30), wal_sync: false },
        restore_workers: 2,
        // Index builds run only when a test calls for them.
        snapshot_index_wait: Duration::ZERO,
        ..EngineConfig::default()
    };
    let engine = Engine::open(faulty_meta.clone(), faulty_objects.clone(), wal, clock.clone(), config).await.unwrap();
    engine.start().await.unwrap();
    (power, faulty_meta, faulty_objects, Arc::new(engine))
}
