//! Test-only seams for Quiver: fault-injecting object and metadata stores, a power switch
//! that simulates a crash, seeded randomness, and the object store conformance suite.
//!
//! Used only as a dev-dependency, and never depends on `quiver-engine`: the engine's tests
//! build an engine over these seams, not the other way round.
//!
//! | seam | simulates |
//! | --- | --- |
//! | [`Power`] | `kill -9` of one engine instance: once cut, every seam holding it refuses every call, so the instance makes no further durable change |
//! | [`FaultyObjectStore`] | object storage that refuses, stalls, tears a write, or is where the process dies before or after a call ([`objects`]) |
//! | [`FaultyMetaStore`] | a metadata store that refuses, stalls, or is where the process dies before or after a call, e.g. after a commit landed but before its reply ([`meta`]) |
//! | [`seed()`], [`TestRng`] | randomness a failing run can replay ([`mod@seed`]) |
//! | [`object_store_conformance`] | what the engine relies on from every object store backend ([`conformance`]) |
//! | [`ManualClock`] | time that moves only when the test says (re-exported from `quiver-base`) |
//!
//! Rules are added at run time and judged per call: which operation, which path or key,
//! which of the matching calls ([`When`]), and what happens; see [`rules`] for how several
//! matching rules combine.
//!
//! # Crash and reopen
//! One engine instance gets one [`Power`] shared by all its seams (and by the hooks of
//! its armed failpoints). The inner stores are what survives the process; after a crash
//! the test drops the instance and opens a new one over new seams, with a fresh `Power`,
//! around the same inner stores:
//!
//! ```
//! use object_store::memory::InMemory;
//! use object_store::{ObjectStore, ObjectStoreExt, path::Path};
//! use quiver_storage::{MemMetaStore, MetaStore};
//! use quiver_testkit::{FaultyMetaStore, FaultyObjectStore, MetaAction, MetaOp, MetaRule, Power};
//! use std::sync::Arc;
//! # struct Engine { objects: Arc<dyn ObjectStore>, meta: Arc<dyn MetaStore> }
//! # impl Engine {
//! #     async fn open(objects: Arc<dyn ObjectStore>, meta: Arc<dyn MetaStore>) -> Engine { Engine { objects, meta } }
//! #     async fn flush(&self) -> Result<(), String> {
//! #         self.objects.put(&Path::from("insert_log/1.parquet"), b"rows".to_vec().into()).await.map_err(|e| e.to_string())?;
//! #         self.meta.put("segment/1", b"insert_log/1.parquet".to_vec()).await.map_err(|e| e.to_string())
//! #     }
//! #     async fn segments(&self) -> usize { self.meta.scan_prefix("segment/").await.unwrap().len() }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // What survives the process.
//! let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
//! let meta: Arc<dyn MetaStore> = Arc::new(MemMetaStore::new());
//!
//! // Instance 1 dies right after the flush's commit lands, before it hears back.
//! let power = Power::new();
//! let faulty_meta = Arc::new(FaultyMetaStore::new(Arc::clone(&meta), power.clone()));
//! faulty_meta.add_rule(MetaRule::new(MetaOp::Commit, MetaAction::CrashAfter).prefix("segment/"));
//! let engine = Engine::open(Arc::new(FaultyObjectStore::new(Arc::clone(&objects), power.clone())), faulty_meta).await;
//! assert!(engine.flush().await.is_err());
//! assert!(!power.is_on());
//! drop(engine);
//!
//! // Instance 2: new seams, fresh power, same inner stores. The commit landed.
//! let power = Power::new();
//! let engine = Engine::open(
//!     Arc::new(FaultyObjectStore::new(Arc::clone(&objects), power.clone())),
//!     Arc::new(FaultyMetaStore::new(Arc::clone(&meta), power.clone())),
//! )
//! .await;
//! assert_eq!(engine.segments().await, 1);
//! # }
//! ```
//!
//! To crash at an engine failpoint instead of at a store call, arm the point with a hook
//! that cuts the instance's power (`failpoints.arm("flush.after_commit", move || power.cut())`):
//! the operation stops there and nothing after the point reaches storage.

#![warn(missing_docs)]

pub mod conformance;
pub mod gate;
pub mod meta;
pub mod objects;
pub mod power;
pub mod rules;
pub mod seed;

pub use conformance::object_store_conformance;
pub use gate::Gate;
pub use meta::{FaultyMetaStore, MetaAction, MetaCounters, MetaOp, MetaRule};
pub use objects::{FaultyObjectStore, ObjectAction, ObjectCounters, ObjectOp, ObjectRule, PathMatch};
pub use power::Power;
pub use quiver_base::{Clock, ManualClock};
/// The rand crate `TestRng` plugs into (its `Rng` trait and extension traits).
pub use rand;
pub use rules::{RuleId, When};
pub use seed::{TestRng, seed};
