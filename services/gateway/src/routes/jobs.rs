//! `/api/jobs`. Jobs are created with their task's segments when its media is processed.

use super::documents::{self, Query};
use super::resource;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/jobs", vec![web::get().to(list)])).service(resource(
        "/api/jobs/{id}",
        vec![web::get().to(retrieve), web::patch().to(partial_update), web::delete().to(destroy)],
    ));
}

#[utoipa::path(get, path = "/api/jobs", operation_id = "jobs_list", tag = "jobs",
    responses((status = 200, description = "PaginatedJobReadList")))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let request = documents::list(&req, auth, &params, &[])?;
    let query = request.query.clone().unwrap_or_default();
    let page = state.task().list_jobs(request).await?.into_inner();
    Ok(documents::page(&req, &query, page))
}

#[utoipa::path(get, path = "/api/jobs/{id}", operation_id = "jobs_retrieve", tag = "jobs",
    responses((status = 200, description = "JobRead")))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let job = state.task().get_job(documents::object(&req, auth, *id)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, job))
}

#[utoipa::path(patch, path = "/api/jobs/{id}", request_body = crate::requests::PatchedJobWriteRequest,
    operation_id = "jobs_partial_update", tag = "jobs", responses((status = 200, description = "JobRead")))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let job = state.task().update_job(documents::write(&req, auth, *id, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, job))
}

#[utoipa::path(delete, path = "/api/jobs/{id}", operation_id = "jobs_destroy", tag = "jobs",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    state.task().delete_job(documents::object(&req, auth, *id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
