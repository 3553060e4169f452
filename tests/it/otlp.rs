//! Spans reach an OTLP collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: tests/run.sh
//! points the stack at a port of its block, where this test runs a small collector.

use crate::common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// (service.name, trace id in hex, span name) of every span received.
#[derive(Default, Clone)]
struct Collector(Arc<Mutex<HashSet<(String, String, String)>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut seen = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref()?.value.clone())
                .map(|v| match v {
                    Value::StringValue(s) => s,
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    let trace_id: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                    seen.insert((service.clone(), trace_id, span.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// Where the stack sends its spans (`OTEL_EXPORTER_OTLP_ENDPOINT`, set by tests/run.sh).
fn collector_address() -> std::net::SocketAddr {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").expect("set by tests/run.sh");
    endpoint.trim_start_matches("http://").parse().expect("the endpoint is host:port")
}

#[tokio::test]
async fn spans_are_exported_over_otlp() {
    let collector = Collector::default();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve(collector_address());
    tokio::spawn(server);

    let key = admin_key().await;
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    // The credential may be cached in the gateway; a login always reaches auth's
    // repository, and the task list the task service's.
    let (username, password, _) = new_user().await;
    let traced = |request: reqwest::RequestBuilder| {
        request.header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01")).send()
    };
    let login = traced(http().post(url("/api/auth/login")).json(&serde_json::json!({
        "username": username, "password": password
    })))
    .await
    .unwrap();
    assert!(login.status().is_success());
    let tasks = traced(http().get(url("/api/tasks")).header("Authorization", token(&key))).await.unwrap();
    assert!(tasks.status().is_success());
    // A change a webhook listens to: its delivery, handed out later by the dispatcher and
    // posted by an export worker (to a closed port), stays in the change's trace.
    let admin = |request: reqwest::RequestBuilder| request.header("Authorization", token(&key));
    let project = admin(http().post(url("/api/projects"))).json(&serde_json::json!({"name": "traced"})).send();
    let project = expect(project.await.unwrap(), reqwest::StatusCode::CREATED).await;
    let webhook = serde_json::json!({
        "target_url": "http://127.0.0.2:9/hook", "type": "project", "project_id": project["id"],
        "events": ["create:task"]
    });
    let created = admin(http().post(url("/api/webhooks"))).json(&webhook).send().await.unwrap();
    expect(created, reqwest::StatusCode::CREATED).await;
    let task = serde_json::json!({"name": "traced", "project_id": project["id"]});
    let task = traced(admin(http().post(url("/api/tasks"))).json(&task)).await.unwrap();
    expect(task, reqwest::StatusCode::CREATED).await;

    // Each service's spans of the trace, and the repository calls among them (their
    // SQL runs inside).
    let wanted = [
        ("cvat-gateway", "http"),
        ("cvat-auth", "login"),
        ("cvat-task", "list_tasks"),
        ("cvat-task", "dispatch_webhook"),
        ("cvat-export", "job"),
    ];
    // Spans leave each service in batches every few seconds; a busy machine adds more.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spans: HashSet<(String, String)> = {
            let seen = collector.0.lock().unwrap();
            seen.iter().filter(|(_, t, _)| *t == trace_id).map(|(s, _, n)| (s.clone(), n.clone())).collect()
        };
        if wanted.iter().all(|(service, name)| spans.contains(&(service.to_string(), name.to_string()))) {
            return;
        }
        assert!(Instant::now() < deadline, "spans of trace {trace_id}: {spans:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
