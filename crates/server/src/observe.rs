//! What an operator watches: Prometheus metrics and a health check on their own HTTP port
//! (Milvus uses 9091 for both), and the per-RPC counts and latencies behind them.
//!
//! Components record through `quiver_base::metrics`; this module installs the recorder,
//! measures every gRPC call in a tower layer, sets the state gauges from the engine when
//! scraped, and serves the text.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use quiver_base::metrics;
use quiver_engine::Engine;
use quiver_engine::restore::JobState;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::codegen::Service;
use tonic::codegen::http;

tokio::task_local! {
    /// The Milvus code of the reply being built in this RPC's task (unset: success).
    static REPLY_CODE: Cell<Option<i32>>;
}

/// Note the code of a failure Status built for the current RPC (`status.rs` calls this
/// for every failure, so no handler can forget it). Outside an RPC it does nothing.
pub fn note_failure(code: i32) {
    let _ = REPLY_CODE.try_with(|cell| cell.set(Some(code)));
}

/// Install the process's metrics recorder; returns the handle that renders it.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets(metrics::SECONDS_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(metrics::WAL_GROUP_RECORDS.to_string()), metrics::GROUP_BUCKETS))
        .map_err(|e| format!("cannot configure metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    metrics::describe();
    Ok(handle)
}

/// The tower layer that counts and times every gRPC and REST call by method (or REST
/// path) and Milvus code; the web console's requests pass uncounted.
#[derive(Clone, Copy)]
pub struct RpcLayer;

impl<S> tower_layer::Layer<S> for RpcLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for RpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The console's page, assets and polling are not RPCs: counting them would only
        // add series (one per asset) and drown the calls operators watch.
        if request.uri().path().starts_with("/webui") {
            return Box::pin(self.inner.call(request));
        }
        // A gRPC path is `/milvus.proto.milvus.MilvusService/<Method>`: the method names it.
        // A REST path (`/v2/vectordb/collections/create`) is named whole, since its last
        // part (`create`) is shared by many endpoints.
        let path = request.uri().path();
        let rest = path.starts_with("/v2/vectordb/");
        let method = if rest { path.to_string() } else { path.rsplit('/').next().unwrap_or_default().to_string() };
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(REPLY_CODE.scope(Cell::new(None), async move {
            let response = call.await?;
            // Unserved REST paths share one name, so stray requests cannot add series.
            let method =
                if rest && response.status() == http::StatusCode::NOT_FOUND { "/v2/vectordb/unserved".to_string() } else { method };
            let code = match REPLY_CODE.with(Cell::get) {
                Some(code) => code.to_string(),
                // No Milvus failure: success, unless gRPC itself refused (unknown method).
                None => match response.headers().get("grpc-status").and_then(|v| v.to_str().ok()) {
                    Some(grpc) if grpc != "0" => format!("grpc_{grpc}"),
                    _ => "0".to_string(),
                },
            };
            metrics::rpc_answered(method, code, started.elapsed());
            Ok(response)
        }))
    }
}

/// An HTTP server on its own task, stopped gracefully (requests in flight finish).
pub struct HttpServer {
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    pub fn start(listener: tokio::net::TcpListener, router: Router) -> Result<HttpServer, String> {
        let addr = listener.local_addr().map_err(|e| format!("HTTP listener: {e}"))?;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, %addr, "HTTP server failed");
            }
        });
        Ok(HttpServer { addr, stop, task })
    }

    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// `/metrics` and `/healthz`.
pub fn router(engine: Arc<Engine>, handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(scrape)).route("/healthz", get(healthz)).with_state(Arc::new(Scrape { engine, handle }))
}

struct Scrape {
    engine: Arc<Engine>,
    handle: PrometheusHandle,
}

async fn scrape(State(scrape): State<Arc<Scrape>>) -> impl IntoResponse {
    let memory = scrape.engine.memory();
    metrics::set_loaded(memory.growing_segments, memory.loaded_sealed_segments, memory.segment_bytes);
    if let Some(bytes) = resident_bytes() {
        metrics::set_resident(bytes);
    }
    match scrape.engine.restore_job_states().await {
        Ok(states) => {
            for state in JobState::ALL {
                metrics::set_restore_jobs(state.name(), states.iter().filter(|s| **s == state).count());
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read restore jobs"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], scrape.handle.render())
}

/// Milvus's health check answers `OK` while the server serves.
async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "OK")
}

/// The process's resident set, from `/proc/self/status` (Linux; elsewhere not reported).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
