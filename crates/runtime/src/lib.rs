//! What every service process needs before it does its own work: configuration read once
//! from `CVAT_*` variables, telemetry (`tracing`, OpenTelemetry export over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set), trace-context propagation across gRPC and the
//! queue, and the `/healthz`, `/readyz`, `/metrics` endpoints.

pub mod config;
pub mod grpc;
pub mod health;
pub mod propagation;
pub mod telemetry;

pub use config::{Secret, Settings};
