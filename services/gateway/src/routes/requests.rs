//! `/api/requests`: background requests of the caller, and the legacy task status.

use super::documents::{self, Query};
use super::resource;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_proto::task::RequestQuery;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/requests", vec![on(Method::GET, list)]))
        .service(resource("/api/requests/{id}", vec![on(Method::GET, retrieve)]))
        .service(resource("/api/requests/{id}/cancel", vec![on(Method::POST, cancel)]))
        .service(resource("/api/tasks/{id}/status", vec![on(Method::GET, task_status)]));
}

#[utoipa::path(get, path = "/api/requests", operation_id = "requests_list", tag = "requests",
    responses((status = 200, description = "A page of the caller's requests", body = cvat_models::PaginatedRequestList)))]
pub async fn list(req: HttpRequest, auth: Auth, params: Query) -> HttpResult<HttpResponse> {
    documents::list_of(&req, auth, &params, &[], |mut task, r| async move { task.list_requests(r).await }).await
}

#[utoipa::path(get, path = "/api/requests/{id}", operation_id = "requests_retrieve", tag = "requests",
    responses((status = 200, description = "The request", body = cvat_models::Request)))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let query = RequestQuery { caller: Some(documents::caller(&req, auth)), id: id.into_inner() };
    let request = state.task().get_request(query).await?.into_inner();
    Ok(documents::document(StatusCode::OK, request))
}

#[utoipa::path(post, path = "/api/requests/{id}/cancel", operation_id = "requests_create_cancel", tag = "requests",
    responses((status = 200)))]
pub async fn cancel(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let query = RequestQuery { caller: Some(documents::caller(&req, auth)), id: id.into_inner() };
    state.task().cancel_request(query).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Legacy `RqStatus` of a task's data processing (capitalized states).
#[utoipa::path(get, path = "/api/tasks/{id}/status", operation_id = "tasks_retrieve_status", tag = "tasks",
    responses((status = 200, description = "RqStatus")))]
pub async fn task_status(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    state.task().get_task(documents::object(&req, auth.clone(), *id)).await?;
    let query = RequestQuery {
        caller: Some(documents::caller(&req, auth)),
        id: format!("action=create&target=task&target_id={}", *id),
    };
    let body = match state.task().get_request(query).await {
        Ok(found) => {
            let request: Value = serde_json::from_str(&found.into_inner().json).unwrap_or_default();
            let state = match request["status"].as_str() {
                Some("started") => "Started",
                Some("finished") => "Finished",
                Some("failed") => "Failed",
                _ => "Queued",
            };
            json!({"state": state, "message": request["message"], "progress": request["progress"].as_f64().unwrap_or(0.0) * 100.0})
        }
        // No processing was ever started (or it was someone else's): nothing to report.
        Err(_) => json!({"state": "Finished", "message": "", "progress": 0.0}),
    };
    Ok(HttpResponse::Ok().json(body))
}
