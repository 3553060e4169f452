//! `/healthz` and `/readyz` (the auth and task services answer). Metrics are served on
//! the gateway's health port (`CVAT_HEALTH_LISTEN`), not to API clients.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cvat_proto::common::OrgContext;
use cvat_proto::task::TraceProbeRef;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz)).route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// A backend is down when a call to it fails at the transport level.
fn down(status: &tonic::Status) -> bool {
    matches!(status.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown)
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut failing = Vec::new();
    if let Err(status) = state.auth().resolve_organization(OrgContext::default()).await {
        if down(&status) {
            failing.push("auth");
        }
    }
    if let Err(status) = state.task().get_trace_probe(TraceProbeRef { id: String::new() }).await {
        if down(&status) || status.code() == tonic::Code::Internal {
            failing.push("task");
        }
    }
    let (status, content_type, body) = cvat_runtime::health::readiness_body(failing);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status.as_u16()).expect("valid status"))
        .content_type(content_type)
        .body(body)
}
