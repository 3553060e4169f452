//! `/healthz` (the process is up), `/readyz` (its dependencies answer) and `/metrics`
//! (Prometheus text) for services whose main protocol is not HTTP.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, TextEncoder};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Names of the dependencies that do not answer; empty = ready.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Vec<&'static str>> + Send>> + Send + Sync>;

/// One named dependency check: true when the dependency answers.
pub type Probe = (&'static str, Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>);

pub fn check<F, Fut>(name: &'static str, probe: F) -> Probe
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    (name, Arc::new(move || Box::pin(probe())))
}

/// A readiness check that runs every probe and names the ones that fail.
pub fn readiness(probes: Vec<Probe>) -> ReadinessCheck {
    let probes = Arc::new(probes);
    Arc::new(move || {
        let probes = probes.clone();
        Box::pin(async move {
            let mut failing = Vec::new();
            for (name, probe) in probes.iter() {
                if !probe().await {
                    failing.push(*name);
                }
            }
            failing
        })
    })
}

/// Serves the three endpoints until the task is dropped.
pub async fn serve(addr: SocketAddr, ready: ReadinessCheck) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(%addr, "health and metrics listening");
    loop {
        let (stream, _) = listener.accept().await?;
        let ready = ready.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| respond(req, ready.clone()));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn respond(
    req: Request<Incoming>,
    ready: ReadinessCheck,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (status, content_type, body) = match req.uri().path() {
        "/healthz" => (StatusCode::OK, "application/json", r#"{"status":"ok"}"#.to_string()),
        "/readyz" => readiness_body(ready().await),
        "/metrics" => (StatusCode::OK, "text/plain; version=0.0.4", metrics_text()),
        _ => (StatusCode::NOT_FOUND, "application/json", r#"{"detail":"Not found."}"#.to_string()),
    };
    let response = Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid");
    Ok(response)
}

/// The `/readyz` answer for a list of failing dependencies; shared with the gateway.
pub fn readiness_body(failing: Vec<&'static str>) -> (StatusCode, &'static str, String) {
    let body = serde_json::json!({
        "status": if failing.is_empty() { "ready" } else { "unavailable" },
        "failing": failing,
    });
    let status = if failing.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, "application/json", body.to_string())
}

/// Everything registered in the default Prometheus registry.
pub fn metrics_text() -> String {
    let mut buffer = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(err) = encoder.encode(&prometheus::gather(), &mut buffer) {
        tracing::warn!(error = %err, "metrics encoding failed");
    }
    String::from_utf8(buffer).unwrap_or_default()
}
