//! `/api/labels`: labels of projects and tasks, changed through their parent's rules.

use super::documents::{self, Query};
use super::resource;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/labels", vec![web::get().to(list)])).service(resource(
        "/api/labels/{id}",
        vec![web::get().to(retrieve), web::patch().to(partial_update), web::delete().to(destroy)],
    ));
}

#[utoipa::path(get, path = "/api/labels", operation_id = "labels_list", tag = "labels",
    responses((status = 200, description = "PaginatedLabelList")))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let request = documents::list(&req, auth, &params, &[])?;
    let query = request.query.clone().unwrap_or_default();
    let page = state.task().list_labels(request).await?.into_inner();
    Ok(documents::page(&req, &query, page))
}

#[utoipa::path(get, path = "/api/labels/{id}", operation_id = "labels_retrieve", tag = "labels",
    responses((status = 200, description = "Label")))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let label = state.task().get_label(documents::object(&req, auth, *id)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, label))
}

#[utoipa::path(patch, path = "/api/labels/{id}", request_body = crate::requests::PatchedLabelRequest,
    operation_id = "labels_partial_update", tag = "labels", responses((status = 200, description = "Label")))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let label = state.task().update_label(documents::write(&req, auth, *id, body.0)).await?.into_inner();
    Ok(documents::document(StatusCode::OK, label))
}

#[utoipa::path(delete, path = "/api/labels/{id}", operation_id = "labels_destroy", tag = "labels",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    state.task().delete_label(documents::object(&req, auth, *id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
