//! `/api/cloudstorages`: CRUD through the task service, and the bucket's status,
//! actions, content (one page of a listing) and preview, which the task service reads
//! from the bucket after checking the caller may view the storage.

use super::documents::{self, document_handlers, Query};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::task::CloudContentQuery;

document_handlers! {
    tag: "cloudstorages", collection: "/api/cloudstorages", item: "/api/cloudstorages/{id}",
    patch: cvat_models::PatchedCloudStorageWriteRequest,
    read: cvat_models::CloudStorageRead, page: cvat_models::PaginatedCloudStorageReadList,
    list: list_cloud_storages, get: get_cloud_storage, update: update_cloud_storage, delete: delete_cloud_storage,
    create: create_cloud_storage(cvat_models::CloudStorageWriteRequest)
}

pub fn configure_bucket(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/api/cloudstorages/{id}/status", vec![on(Method::GET, status)]))
        .service(super::resource("/api/cloudstorages/{id}/actions", vec![on(Method::GET, actions)]))
        .service(super::resource("/api/cloudstorages/{id}/content-v2", vec![on(Method::GET, content)]))
        .service(super::resource("/api/cloudstorages/{id}/content", vec![on(Method::GET, legacy_content)]))
        .service(super::resource("/api/cloudstorages/{id}/preview", vec![on(Method::GET, preview)]));
}

#[utoipa::path(get, path = "/api/cloudstorages/{id}/status", operation_id = "cloudstorages_retrieve_status",
    tag = "cloudstorages", responses((status = 200, description = "AVAILABLE, NOT_FOUND or FORBIDDEN")))]
pub async fn status(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let answer = state.task().get_cloud_storage_status(documents::object(&req, auth, *id)).await?;
    Ok(documents::document(StatusCode::OK, answer.into_inner()))
}

#[utoipa::path(get, path = "/api/cloudstorages/{id}/actions", operation_id = "cloudstorages_retrieve_actions",
    tag = "cloudstorages", responses((status = 200, description = "The actions the storage allows")))]
pub async fn actions(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let answer = state.task().get_cloud_storage_actions(documents::object(&req, auth, *id)).await?;
    Ok(documents::document(StatusCode::OK, answer.into_inner()))
}

#[utoipa::path(get, path = "/api/cloudstorages/{id}/content-v2", operation_id = "cloudstorages_retrieve_content_v2",
    tag = "cloudstorages",
    params(("prefix" = Option<String>, Query), ("next_token" = Option<String>, Query), ("page_size" = Option<i32>, Query),
           ("manifest_path" = Option<String>, Query)),
    responses((status = 200, description = "CloudStorageContent")))]
pub async fn content(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    params: Query,
) -> HttpResult<HttpResponse> {
    let page_size = match params.get("page_size") {
        Some(text) => Some(text.parse().map_err(|_| ApiError::field("page_size", "A valid integer is required."))?),
        None => None,
    };
    let text = |name: &str| params.get(name).cloned().unwrap_or_default();
    let query = CloudContentQuery {
        caller: Some(documents::caller(&req, auth)),
        id: *id,
        prefix: text("prefix"),
        next_token: text("next_token"),
        page_size,
        flat: false,
    };
    let answer = state.task().list_cloud_storage_content(query).await?;
    Ok(documents::document(StatusCode::OK, answer.into_inner()))
}

/// CVAT's older listing: every file's path below the storage's prefix, in one list.
#[utoipa::path(get, path = "/api/cloudstorages/{id}/content", operation_id = "cloudstorages_retrieve_content",
    tag = "cloudstorages", params(("manifest_path" = Option<String>, Query)),
    responses((status = 200, description = "The files' paths", body = [String])))]
pub async fn legacy_content(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let query =
        CloudContentQuery { caller: Some(documents::caller(&req, auth)), id: *id, flat: true, ..Default::default() };
    let answer = state.task().list_cloud_storage_content(query).await?;
    Ok(documents::document(StatusCode::OK, answer.into_inner()))
}

#[utoipa::path(get, path = "/api/cloudstorages/{id}/preview", operation_id = "cloudstorages_retrieve_preview",
    tag = "cloudstorages", responses((status = 200, description = "A JPEG preview of the storage's first image")))]
pub async fn preview(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let image = state.task().get_cloud_storage_preview(documents::object(&req, auth, *id)).await?.into_inner();
    Ok(HttpResponse::Ok()
        .content_type(image.content_type)
        .insert_header(("Cache-Control", "private, max-age=60"))
        .body(image.data))
}
