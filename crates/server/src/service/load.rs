//! Load state RPCs (load and release are one-liners in `mod.rs`).

use quiver_engine::catalog::model::LoadState;
use quiver_engine::{Engine, Result};
use quiver_proto::common::LoadState as WireLoadState;
use quiver_proto::milvus::{GetLoadStateResponse, GetLoadingProgressResponse};

pub fn state(engine: &Engine, db_name: &str, collection: &str, partitions: &[String]) -> Result<GetLoadStateResponse> {
    let state = match engine.load_state(db_name, collection, partitions)? {
        LoadState::Loaded => WireLoadState::Loaded,
        LoadState::NotLoad => WireLoadState::NotLoad,
    };
    Ok(GetLoadStateResponse { state: state as i32, ..Default::default() })
}

pub fn progress(engine: &Engine, db_name: &str, collection: &str, partitions: &[String]) -> Result<GetLoadingProgressResponse> {
    let progress = engine.loading_progress(db_name, collection, partitions)?;
    Ok(GetLoadingProgressResponse { progress, refresh_progress: progress, ..Default::default() })
}
