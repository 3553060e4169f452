//! Per-request observability: a span parented on an incoming `traceparent`, and
//! Prometheus counters and latency histograms per route.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{register_histogram_vec, HistogramVec};
use std::sync::LazyLock;
use std::time::Instant;
use tracing::Instrument;

static REQUESTS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "cvat_http_request_duration_seconds",
        "HTTP requests by method, route and status",
        &["method", "route", "status"],
        vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]
    )
    .expect("metric registers once")
});

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("http", %method, path = %req.path());
    let headers = req.headers();
    cvat_runtime::propagation::adopt_parent(&span, |key| headers.get(key).and_then(|v| v.to_str().ok()));
    let response = next.call(req).instrument(span).await?;
    let status = response.status().as_u16().to_string();
    REQUESTS.with_label_values(&[&method, &route, &status]).observe(started.elapsed().as_secs_f64());
    Ok(response)
}
