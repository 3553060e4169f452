//! What every service process needs before it does its own work: configuration read once
//! from `CVAT_*` variables, telemetry (`tracing`, OpenTelemetry export over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set), trace-context propagation across gRPC and the
//! queue, and the `/healthz`, `/readyz`, `/metrics` endpoints.

pub mod config;
pub mod credentials;
pub mod grpc;
pub mod health;
pub mod propagation;
pub mod telemetry;

pub use config::{Secret, Settings};

/// Whether the process was started as `<service> migrate`: apply the service's database
/// migrations and exit (the Kubernetes migration Job), instead of serving.
pub fn migrate_only() -> bool {
    std::env::args().nth(1).as_deref() == Some("migrate")
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends), so services stop cleanly.
pub async fn shutdown_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
