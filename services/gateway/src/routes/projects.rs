//! `/api/projects` (and the legacy `/api/projects/{id}/tasks`).

use super::documents::{self, Query};
use super::resource;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/projects", vec![web::get().to(list), web::post().to(create)]))
        .service(resource(
            "/api/projects/{id}",
            vec![web::get().to(retrieve), web::patch().to(partial_update), web::delete().to(destroy)],
        ))
        .service(resource("/api/projects/{id}/tasks", vec![web::get().to(list_tasks)]));
}

#[utoipa::path(get, path = "/api/projects", operation_id = "projects_list", tag = "projects",
    responses((status = 200, description = "PaginatedProjectReadList")))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let request = documents::list(&req, auth, &params, &[])?;
    let query = request.query.clone().unwrap_or_default();
    let page = state.task().list_projects(request).await?.into_inner();
    Ok(documents::page(&req, &query, page))
}

#[utoipa::path(post, path = "/api/projects", request_body = crate::requests::ProjectWriteRequest,
    operation_id = "projects_create", tag = "projects", responses((status = 201, description = "ProjectRead")))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let project = state.task().create_project(documents::write(&req, auth, 0, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::CREATED, project))
}

#[utoipa::path(get, path = "/api/projects/{id}", operation_id = "projects_retrieve", tag = "projects",
    responses((status = 200, description = "ProjectRead")))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let project = state.task().get_project(documents::object(&req, auth, *id)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, project))
}

#[utoipa::path(patch, path = "/api/projects/{id}", request_body = crate::requests::PatchedProjectWriteRequest,
    operation_id = "projects_partial_update", tag = "projects", responses((status = 200, description = "ProjectRead")))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let project = state.task().update_project(documents::write(&req, auth, *id, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, project))
}

#[utoipa::path(delete, path = "/api/projects/{id}", operation_id = "projects_destroy", tag = "projects",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    state.task().delete_project(documents::object(&req, auth, *id)).await?;
    Ok(HttpResponse::NoContent().finish())
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
    let request = documents::list(&req, auth, &params, &[("project_id", *id)])?;
    let query = request.query.clone().unwrap_or_default();
    let page = state.task().list_tasks(request).await?.into_inner();
    Ok(documents::page(&req, &query, page))
}
