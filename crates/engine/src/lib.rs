//! Quiver's engine: everything stateful, behind plain Rust types (no protobuf), as
//! components that own their state and records:
//!
//! | module | owns |
//! | --- | --- |
//! | `catalog` | databases, collections, partitions, aliases, index definitions, load state |
//! | `data` | the WAL, growing and sealed segments, flush, segment records |
//! | `read` | query and search over a collection view (stateless) |
//! | `indexing` | index builds: records and index files |
//! | `compaction` | merge plans and rewritten segments |
//! | `gc` | the reference set and the delete decision; staging intents; sessions |
//! | `snapshots` | snapshot records, manifests, pins, the sweeper |
//! | `restore` | restore jobs: planning, the bounded executor queue |
//! | `security` | users, roles, grants, privilege groups; password checks |
//!
//! `engine` is the thin front the server calls; `context` holds what every component
//! shares (stores, clock, timestamps, ids, failpoints). `docs/ARCHITECTURE.md` lists
//! each invariant and the commit that enforces it.

pub mod catalog;
pub mod compaction;
mod context;
pub mod data;
mod engine;
pub mod error;
pub mod failpoint;
pub mod gc;
pub mod ids;
pub mod indexing;
pub mod read;
pub mod restore;
pub mod security;
pub mod snapshots;
pub mod tso;

pub use quiver_format::{names, schema};

pub use catalog::index_spec;
pub use catalog::{CollectionInfo, IndexInfo, NewCollection, NewIndex};
pub use compaction::CompactionPlan;
pub use data::{DataConfig, FlushOutcome, InsertColumns, MemoryUsage, MutationOutcome, SegmentInfo};
pub use engine::{Engine, EngineConfig, RollbackOutcome};
pub use error::{EngineError, NameKind, Result};
pub use gc::GcReport;
pub use indexing::IndexProgress;
pub use read::{GroupScorer, HybridRequest, QueryOutput, QueryRequest, QueryVectors, Ranker, SearchOutput, SearchRequest};
