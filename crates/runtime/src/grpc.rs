//! The server side of every gRPC method: a span parented on the caller's trace, the
//! handler's [`ApiError`] encoded as a status, and a latency histogram per method.

use crate::propagation::grpc_span;
use cvat_error::ApiResult;
use prometheus::{register_histogram_vec, HistogramVec};
use std::future::Future;
use std::sync::LazyLock;
use std::time::Instant;
use tonic::{Request, Response, Status};
use tracing::Instrument;

static CALLS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "cvat_grpc_request_duration_seconds",
        "gRPC requests served, by method and status code",
        &["method", "code"],
        vec![0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0]
    )
    .expect("metric registers once")
});

pub type Reply<T> = Result<Response<T>, Status>;

/// Runs `body` on the request's message inside the method's span and records the call.
pub async fn handle<Req, T, F>(request: Request<Req>, method: &'static str, body: impl FnOnce(Req) -> F) -> Reply<T>
where
    F: Future<Output = ApiResult<T>>,
{
    let started = Instant::now();
    let span = grpc_span(&request, method);
    let result = body(request.into_inner()).instrument(span).await.map(Response::new).map_err(Status::from);
    let code = match &result {
        Ok(_) => "ok".to_string(),
        Err(status) => format!("{:?}", status.code()),
    };
    CALLS.with_label_values(&[method, &code]).observe(started.elapsed().as_secs_f64());
    result
}
