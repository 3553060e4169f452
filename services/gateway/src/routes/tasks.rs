//! `/api/tasks` (and the legacy `/api/tasks/{id}/jobs`).

use super::documents::{self, Query};
use super::resource;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/tasks", vec![web::get().to(list), web::post().to(create)]))
        .service(resource(
            "/api/tasks/{id}",
            vec![web::get().to(retrieve), web::patch().to(partial_update), web::delete().to(destroy)],
        ))
        .service(resource("/api/tasks/{id}/jobs", vec![web::get().to(list_jobs)]));
}

#[utoipa::path(get, path = "/api/tasks", operation_id = "tasks_list", tag = "tasks",
    responses((status = 200, description = "PaginatedTaskReadList")))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let request = documents::list(&req, auth, &params, &[])?;
    let query = request.query.clone().unwrap_or_default();
    let page = state.task().list_tasks(request).await?.into_inner();
    Ok(documents::page(&req, &query, page))
}

#[utoipa::path(post, path = "/api/tasks", request_body = crate::requests::TaskWriteRequest,
    operation_id = "tasks_create", tag = "tasks", responses((status = 201, description = "TaskRead")))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let task = state.task().create_task(documents::write(&req, auth, 0, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::CREATED, task))
}

#[utoipa::path(get, path = "/api/tasks/{id}", operation_id = "tasks_retrieve", tag = "tasks",
    responses((status = 200, description = "TaskRead")))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let task = state.task().get_task(documents::object(&req, auth, *id)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, task))
}

#[utoipa::path(patch, path = "/api/tasks/{id}", request_body = crate::requests::PatchedTaskWriteRequest,
    operation_id = "tasks_partial_update", tag = "tasks", responses((status = 200, description = "TaskRead")))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let task = state.task().update_task(documents::write(&req, auth, *id, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, task))
}

#[utoipa::path(delete, path = "/api/tasks/{id}", operation_id = "tasks_destroy", tag = "tasks",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    state.task().delete_task(documents::object(&req, auth, *id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Legacy alias of `GET /api/jobs?task_id={id}`, after checking the task is visible.
pub async fn list_jobs(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    params: Query,
) -> HttpResult<HttpResponse> {
    state.task().get_task(documents::object(&req, auth.clone(), *id)).await?;
    let request = documents::list(&req, auth, &params, &[("task_id", *id)])?;
    let query = request.query.clone().unwrap_or_default();
    let page = state.task().list_jobs(request).await?.into_inner();
    Ok(documents::page(&req, &query, page))
}
