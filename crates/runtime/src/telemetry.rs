//! Logging and tracing set-up. Spans always carry OpenTelemetry ids (so a trace id can be
//! followed across services in logs and tests); they are exported over OTLP only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::TracerProvider;
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Flushes pending spans when dropped at shutdown.
pub struct TelemetryGuard(TracerProvider);

impl Drop for TelemetryGuard {
    /// Flushes on another thread and waits at most [`FLUSH_TIMEOUT`]: a flush that
    /// cannot finish (collector gone, or its runtime already stopping) must not keep
    /// the process from exiting.
    fn drop(&mut self) {
        let provider = self.0.clone();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for result in provider.force_flush() {
                if let Err(err) = result {
                    eprintln!("telemetry flush failed: {err}");
                }
            }
            let _ = done.send(());
        });
        let _ = finished.recv_timeout(FLUSH_TIMEOUT);
    }
}

const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

pub fn init(service: &'static str, otlp_endpoint: Option<&str>) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = TracerProvider::builder()
        .with_resource(Resource::new([KeyValue::new("service.name", format!("cvat-{service}"))]));
    if let Some(endpoint) = otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()?;
        builder = builder.with_batch_exporter(exporter, opentelemetry_sdk::runtime::Tokio);
    }
    let provider = builder.build();
    let tracer = provider.tracer(service);
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,h2=warn,tower=warn,lapin=warn"));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()?;
    Ok(TelemetryGuard(provider))
}

/// The trace id of the current span as 32 hex digits (all zeros outside any span).
pub fn current_trace_id() -> String {
    tracing::Span::current().context().span().span_context().trace_id().to_string()
}
