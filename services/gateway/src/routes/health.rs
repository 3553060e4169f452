//! `/healthz` and `/readyz` (the auth and task services answer), and the same readiness
//! as django-health-check's JSON at `/api/server/health/`, where CVAT's UI asks before
//! its first screen. Metrics are served on the gateway's health port
//! (`CVAT_HEALTH_LISTEN`), not to API clients.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cvat_proto::common::OrgContext;
use cvat_proto::task::TraceProbeRef;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/api/server/health", web::get().to(server_health));
}

/// The backends this gateway depends on, and whether they answer.
const BACKENDS: &[&str] = &["auth", "task"];

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// A backend is down when a call to it fails at the transport level.
fn down(status: &tonic::Status) -> bool {
    matches!(status.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown)
}

/// The backends that do not answer.
async fn failing(state: &AppState) -> Vec<&'static str> {
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
    failing
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (status, content_type, body) = cvat_runtime::health::readiness_body(failing(&state).await);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status.as_u16()).expect("valid status"))
        .content_type(content_type)
        .body(body)
}

/// django-health-check's JSON (`?format=json`): each check `working` or what is wrong;
/// 500 when one fails, as django-health-check answers.
async fn server_health(state: web::Data<AppState>) -> HttpResponse {
    let failing = failing(&state).await;
    let checks: serde_json::Map<String, serde_json::Value> = BACKENDS
        .iter()
        .map(|name| {
            let state = if failing.contains(name) { "unavailable: the service does not answer" } else { "working" };
            (format!("{name} service"), serde_json::Value::from(state))
        })
        .collect();
    let status = if failing.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
    };
    HttpResponse::build(status).json(checks)
}
