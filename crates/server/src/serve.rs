//! `quiver serve`: open the storage, serve gRPC, the RESTful API and the web console on
//! one port, stop cleanly on a signal.

use crate::access::{Access, Authenticated};
use crate::audit::AuditLog;
use crate::background;
use crate::config::Config;
use crate::console;
use crate::observe;
use crate::rest;
use crate::service::{MilvusApi, QuiverApi, WithUnserved};
use crate::tls;
use quiver_base::{Clock, SystemClock};
use quiver_engine::{DataConfig, Engine, EngineConfig};
use quiver_proto::milvus::milvus_service_server::MilvusServiceServer;
use quiver_proto::quiver::quiver_service_server::QuiverServiceServer;
use quiver_storage::{MetaStore, RedbMetaStore};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::Routes;

/// pymilvus sends 5 MB insert batches and allows unlimited sizes; Milvus allows 256 MB.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

pub fn run(config: Config) -> ExitCode {
    let filter = match config.log_filter() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("quiver: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // A closed stderr (`quiver serve | tee log`, then Ctrl-C) must not panic the
        // server while it shuts down: lines that cannot be written are dropped.
        .log_internal_errors(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    // Before the engine opens, so the WAL replay and startup work are measured too.
    let metrics = if config.metrics.enabled { Some(observe::install()?) } else { None };
    let meta_dir = config.data_dir.join("meta");
    std::fs::create_dir_all(&meta_dir).map_err(|e| format!("cannot create data directory {}: {e}", meta_dir.display()))?;
    let meta_path = meta_dir.join("catalog.redb");
    let store: Arc<dyn MetaStore> =
        Arc::new(RedbMetaStore::open(&meta_path).map_err(|e| format!("cannot open metadata store {}: {e}", meta_path.display()))?);
    let objects = quiver_storage::objects::build(&config.object_store()).map_err(|e| e.to_string())?;
    quiver_storage::objects::check_writable(&*objects, &config.object_store()).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let identifier = clock.now_ms() as i64;
    let engine_config = EngineConfig {
        data: DataConfig {
            seal_bytes: (config.data.seal_mb * 1024 * 1024) as usize,
            seal_idle: Duration::from_secs(config.data.seal_idle_seconds),
            ..DataConfig::default()
        },
        restore_workers: config.data.restore_workers.max(1),
        snapshot_index_wait: Duration::from_secs(config.data.snapshot_index_wait_seconds),
        restore_mode: config.data.restore_mode.into(),
        verify_clones: config.data.verify_clones,
    };
    let wal_dir = config.data_dir.join("wal");
    let engine = Arc::new(
        Engine::open(store, objects, &wal_dir, Arc::clone(&clock), engine_config)
            .await
            .map_err(|e| format!("cannot open the engine: {e}"))?,
    );
    // Finish what a crash interrupted (dead creates, half-done drops) before serving, so
    // no half-made snapshot holds a name; then resume restore jobs.
    engine.start().await.map_err(|e| format!("cannot start the engine: {e}"))?;
    let loops = background::start(Arc::clone(&engine), &config.data);

    let addr = resolve(&config.host, config.port).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let tls_acceptor = tls::acceptor(&config.security)?;
    let audit = if config.security.audit_enabled() { Some(Arc::new(AuditLog::open(&config.data_dir, Arc::clone(&clock))?)) } else { None };
    let access = Arc::new(Access::new(Arc::clone(&engine), config.security.authorization, audit));
    if config.security.authorization && engine.security().root_password_is_initial().await {
        tracing::warn!("user root still has the initial password; change it (pymilvus: client.update_password)");
    }
    let api = Arc::new(MilvusApi::new(Arc::clone(&engine), Arc::clone(&access), identifier));
    let metrics_http = match metrics {
        Some(handle) => {
            let addr = resolve(&config.host, config.metrics.port).await?;
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                format!("cannot listen on {addr} for metrics: {e} (set [metrics] port or --metrics-port, or [metrics] enabled = false)")
            })?;
            // The console is on the metrics port too, where Milvus serves its WebUI.
            let router = observe::router(Arc::clone(&engine), handle).merge(console::router(
                Arc::clone(&api),
                Arc::clone(&engine),
                Arc::clone(&access),
            ));
            Some(observe::HttpServer::start(listener, router)?)
        }
        None => None,
    };
    let metrics_url = metrics_http.as_ref().map_or("off".to_string(), |http| format!("http://{}/metrics", http.addr));
    let served = MilvusServiceServer::from_arc(Arc::clone(&api))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    // gRPC (HTTP/2), Milvus's RESTful API and the web console (HTTP/1.1) share the port, as
    // in Milvus: one router, served by tonic's server with HTTP/1 accepted (hyper-util's
    // automatic HTTP/1 + HTTP/2 connections), so all keep its keepalive, nodelay and
    // shutdown.
    let grpc = Authenticated::new(WithUnserved::new(served, MAX_MESSAGE_BYTES), Arc::clone(&access));
    let quiver =
        Authenticated::new(QuiverServiceServer::new(QuiverApi::new(Arc::clone(&engine), Arc::clone(&access))), Arc::clone(&access));
    let routes = Routes::new(grpc)
        .add_service(quiver)
        .into_axum_router()
        .merge(rest::router(Arc::clone(&api), Arc::clone(&access), MAX_MESSAGE_BYTES))
        .merge(console::router(api, Arc::clone(&engine), access));
    let shutdown = shutdown_signal()?;
    let (authorization, audit) = (config.security.authorization, config.security.audit_enabled());
    let tls = tls::mode(&config.security);
    tracing::info!(address = %addr, metrics = %metrics_url, data_dir = %config.data_dir.display(), authorization, audit, tls, "quiver ready");
    let router = tonic::transport::Server::builder()
        .accept_http1(true)
        .layer(observe::RpcLayer)
        // pymilvus pings every 10 s even when idle; answer them and keep the connection.
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .add_routes(Routes::from(routes));
    match tls_acceptor {
        Some(acceptor) => router.serve_with_incoming_shutdown(tls::incoming(listener, acceptor), shutdown).await,
        None => router.serve_with_incoming_shutdown(tokio_stream_listener(listener), shutdown).await,
    }
    .map_err(|e| format!("server failed: {e}"))?;
    if let Some(http) = metrics_http {
        http.stop().await;
    }
    // Requests in flight have been answered; let background work and restore jobs finish
    // or checkpoint, each within the deadline.
    let deadline = Duration::from_secs(config.data.shutdown_timeout_seconds);
    loops.stop(deadline).await;
    engine.shutdown(deadline).await;
    tracing::info!("quiver stopped");
    Ok(())
}

/// The address to listen on: `host` may be a name (`localhost`) or an IP address.
async fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("invalid listen address {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("invalid listen address {host}:{port}: the name has no address"))
}

fn tokio_stream_listener(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Resolves on SIGINT or SIGTERM. The signals are caught from the moment this returns, so
/// it is made before `quiver ready` is logged: a signal right after that line shuts down
/// cleanly instead of killing the process.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("cannot catch SIGINT: {e}"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("cannot catch SIGTERM: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}
