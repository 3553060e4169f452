//! `/api/projects` (and the legacy `/api/projects/{id}/tasks`).

use super::documents::{self, document_handlers, Query};
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

document_handlers! {
    tag: "projects", collection: "/api/projects", item: "/api/projects/{id}", patch: crate::requests::PatchedProjectWriteRequest,
    list: list_projects, get: get_project, update: update_project, delete: delete_project
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_documents(cfg, Some(web::post().to(create)));
    cfg.service(super::resource("/api/projects/{id}/tasks", vec![web::get().to(list_tasks)]));
}

#[utoipa::path(post, path = "/api/projects", request_body = crate::requests::ProjectWriteRequest,
    operation_id = "projects_create", tag = "projects", responses((status = 201, description = "The new document")))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let created = state.task().create_project(documents::write(&req, auth, 0, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::CREATED, created))
}

/// Legacy alias of `GET /api/tasks?project_id={id}`, after checking the project is visible.
pub async fn list_tasks(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    params: Query,
) -> HttpResult<HttpResponse> {
    state.task().get_project(documents::object(&req, auth.clone(), *id)).await?;
    documents::list_of(
        &req,
        auth,
        &params,
        &[("project_id", *id)],
        |mut task, r| async move { task.list_tasks(r).await },
    )
    .await
}
