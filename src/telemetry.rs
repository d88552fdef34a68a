//! The metrics and health endpoint of `fanout run`: `/metrics` (Prometheus text format, from
//! the engine's `metrics` events), `/healthz` (the process is alive), `/readyz` (partitions
//! are assigned and the consumer loop runs) and `/status` (JSON: targets up or down with their
//! last error, lanes whose DLQ write fails, partitions' confirmed commits; see
//! [`EngineStats::status`]).

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use fanout_engine::EngineStats;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Installs the process-wide Prometheus recorder (call before building the engine).
pub fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            100.0, 1000.0, 10000.0,
        ])?
        .install_recorder()?;
    Ok(handle)
}

/// Serves the endpoints until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    stats: EngineStats,
) -> anyhow::Result<()> {
    let ready_stats = stats.clone();
    let app = Router::new()
        .route(
            "/status",
            get(move || {
                let body = stats.status().to_string();
                std::future::ready(([(CONTENT_TYPE, "application/json")], body))
            }),
        )
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/healthz", get(|| std::future::ready("ok\n")))
        .route(
            "/readyz",
            get(move || {
                let ready = ready_stats.consuming() && ready_stats.assigned_partitions() > 0;
                std::future::ready(if ready {
                    (StatusCode::OK, "ready\n")
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "not ready: no partitions assigned\n",
                    )
                })
            }),
        );
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving /metrics, /healthz, /readyz, /status");
    }
    axum::serve(listener, app).await?;
    Ok(())
}
