//! Object-storage latency as a Prometheus histogram (`cvat_blob_request_duration_seconds`
//! by operation and outcome) and each request as a span of the trace it serves, around
//! whichever store is configured.

use crate::{BlobError, BlobStore, ByteStream};
use bytes::Bytes;
use prometheus::{register_histogram_vec, HistogramVec};
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Instant;
use tracing::Instrument;

static REQUESTS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "cvat_blob_request_duration_seconds",
        "Object storage requests by operation and outcome (a stream: until it starts)",
        &["operation", "outcome"],
        vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]
    )
    .expect("metric registers once")
});

/// A store whose every request is timed.
pub struct Measured(pub Arc<dyn BlobStore>);

async fn timed<T>(operation: &str, request: impl Future<Output = Result<T, BlobError>>) -> Result<T, BlobError> {
    let started = Instant::now();
    let result = request.instrument(tracing::info_span!("blob", operation)).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(BlobError::NotFound(_)) => "not_found",
        Err(_) => "error",
    };
    REQUESTS.with_label_values(&[operation, outcome]).observe(started.elapsed().as_secs_f64());
    result
}

#[async_trait::async_trait]
impl BlobStore for Measured {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        timed("put", self.0.put(key, data)).await
    }

    async fn put_stream(&self, key: &str, data: ByteStream) -> Result<u64, BlobError> {
        timed("put_stream", self.0.put_stream(key, data)).await
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream, BlobError> {
        timed("get_stream", self.0.get_stream(key)).await
    }

    async fn get_range(&self, key: &str, offset: u64, length: u64) -> Result<Bytes, BlobError> {
        timed("get_range", self.0.get_range(key, offset, length)).await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        timed("delete", self.0.delete(key)).await
    }

    async fn delete_dir(&self, dir: &str) -> Result<(), BlobError> {
        timed("delete_dir", self.0.delete_dir(dir)).await
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        timed("exists", self.0.exists(key)).await
    }

    async fn ping(&self) -> Result<(), BlobError> {
        timed("ping", self.0.ping()).await
    }

    async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        timed("get", self.0.get(key)).await
    }
}
