//! `/api/tasks` (and the legacy `/api/tasks/{id}/jobs`).

use super::documents::{self, document_handlers, Query};
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

document_handlers! {
    tag: "tasks", collection: "/api/tasks", item: "/api/tasks/{id}", patch: crate::requests::PatchedTaskWriteRequest,
    list: list_tasks, get: get_task, update: update_task, delete: delete_task
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_documents(cfg, Some(web::post().to(create)));
    cfg.service(super::resource("/api/tasks/{id}/jobs", vec![web::get().to(list_jobs)]));
}

#[utoipa::path(post, path = "/api/tasks", request_body = crate::requests::TaskWriteRequest,
    operation_id = "tasks_create", tag = "tasks", responses((status = 201, description = "The new document")))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let created = state.task().create_task(documents::write(&req, auth, 0, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::CREATED, created))
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
    documents::list_of(&req, auth, &params, &[("task_id", *id)], |mut task, r| async move { task.list_jobs(r).await })
        .await
}
