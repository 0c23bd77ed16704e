//! Connect, GetVersion, CheckHealth, AllocTimestamp.

use quiver_engine::{Engine, Result};
use quiver_proto::common::ServerInfo;
use quiver_proto::milvus::{AllocTimestampResponse, CheckHealthResponse, ConnectRequest, ConnectResponse, GetVersionResponse};

/// What GetVersion reports.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"), "-quiver");

pub fn connect(identifier: i64, request: ConnectRequest) -> ConnectResponse {
    if let Some(client) = request.client_info {
        tracing::debug!(sdk = %client.sdk_type, version = %client.sdk_version, host = %client.host, "client connected");
    }
    ConnectResponse {
        server_info: Some(ServerInfo { build_tags: VERSION.to_string(), deploy_mode: "standalone".to_string(), ..Default::default() }),
        identifier,
        ..Default::default()
    }
}

pub fn version() -> GetVersionResponse {
    GetVersionResponse { version: VERSION.to_string(), ..Default::default() }
}

pub fn health() -> CheckHealthResponse {
    CheckHealthResponse { is_healthy: true, ..Default::default() }
}

pub async fn alloc_timestamp(engine: &Engine) -> Result<AllocTimestampResponse> {
    let ts = engine.allocate_timestamp().await?;
    Ok(AllocTimestampResponse { timestamp: ts.0, ..Default::default() })
}
