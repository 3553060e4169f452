//! W3C trace context carried in gRPC metadata and in queue message headers, so one trace
//! id follows a request from the gateway through gRPC and RabbitMQ to a worker.

use opentelemetry::propagation::Injector;
use std::collections::HashMap;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's context as `traceparent`/`tracestate` pairs.
pub fn current_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let context = Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut headers));
    headers
}

/// Makes `span` a child of the context found in `headers` (no-op when there is none).
pub fn adopt_parent<'a>(span: &Span, headers: impl Fn(&str) -> Option<&'a str>) {
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|key| headers(key).map(|value| (key.to_string(), value.to_string())))
        .collect();
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    span.set_parent(parent);
}

/// Adds the current trace context to outgoing gRPC metadata.
pub(crate) fn inject_metadata(metadata: &mut MetadataMap) {
    struct Meta<'a>(&'a mut MetadataMap);
    impl Injector for Meta<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value)) {
                self.0.insert(key, value);
            }
        }
    }
    let context = Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut Meta(metadata)));
}

/// A server-side span for a gRPC method, parented on the caller's trace context.
pub fn grpc_span<T>(request: &tonic::Request<T>, method: &'static str) -> Span {
    let span = tracing::info_span!("grpc", method);
    let metadata = request.metadata();
    adopt_parent(&span, |key| metadata.get(key).and_then(|v| v.to_str().ok()));
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry;

    #[tokio::test]
    async fn context_round_trips_through_headers() {
        let _guard = telemetry::init("test", None).ok();
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let span = tracing::info_span!("incoming");
        adopt_parent(&span, |key| (key == "traceparent").then_some(incoming));
        let headers = span.in_scope(current_headers);
        assert!(headers["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        let trace_id = span.in_scope(telemetry::current_trace_id);
        assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
