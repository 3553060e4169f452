//! Dataset exports of tasks and jobs: `POST …/dataset/export` starts one (202 and its
//! request id; the export workers write the archive), `GET …/dataset/download?rq_id=`
//! streams the finished archive from the object store to the user who asked for it.

use super::documents;
use super::resource;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::task::{ExportQuery, ExportStart};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    for target in ["tasks", "jobs"] {
        cfg.service(resource(&format!("/api/{target}/{{id}}/dataset/export"), vec![on(Method::POST, start)]))
            .service(resource(&format!("/api/{target}/{{id}}/dataset/download"), vec![on(Method::GET, download)]));
    }
}

/// CVAT's `RqId`.
#[derive(Serialize, ToSchema)]
pub struct RqId {
    pub rq_id: String,
}

/// `task` or `job`, from the path the request came on.
fn target(req: &HttpRequest) -> &'static str {
    if req.path().starts_with("/api/jobs/") {
        "job"
    } else {
        "task"
    }
}

/// Python-style booleans as the client sends them (`True`, `False`), or JSON's.
fn flag(query: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match query.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::field(name, "Must be a valid boolean.")),
    }
}

#[utoipa::path(post, path = "/api/tasks/{id}/dataset/export", operation_id = "tasks_create_dataset_export",
    tag = "tasks",
    params(("id" = i64, Path), ("format" = String, Query, description = "An exporter's name, e.g. `CVAT for images 1.1`"),
        ("save_images" = Option<bool>, Query), ("location" = Option<String>, Query, description = "local or cloud_storage"),
        ("cloud_storage_id" = Option<i64>, Query), ("filename" = Option<String>, Query)),
    responses((status = 202, description = "The export's request", body = RqId)))]
pub async fn start(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    let format = query.get("format").cloned().unwrap_or_default();
    if format.is_empty() {
        return Err(ApiError::field("format", "This field is required.").into());
    }
    let start = ExportStart {
        caller: Some(documents::caller(&req, auth)),
        target: target(&req).to_string(),
        id: *id,
        format,
        save_images: flag(&query, "save_images")?,
        location: query.get("location").cloned().unwrap_or_default(),
    };
    let started = state.task().start_export(start).await?.into_inner();
    Ok(HttpResponse::Accepted().json(RqId { rq_id: started.rq_id }))
}

#[utoipa::path(get, path = "/api/tasks/{id}/dataset/download", operation_id = "tasks_retrieve_dataset_download",
    tag = "tasks", params(("id" = i64, Path), ("rq_id" = String, Query)),
    responses((status = 200, description = "The export's zip archive", content_type = "application/zip")))]
pub async fn download(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    let rq_id = query.get("rq_id").cloned().ok_or_else(|| ApiError::field("rq_id", "This field is required."))?;
    let located = state
        .task()
        .locate_export(ExportQuery {
            caller: Some(documents::caller(&req, auth)),
            target: target(&req).to_string(),
            id: *id,
            rq_id,
        })
        .await?
        .into_inner();
    let stream = state.blobs.get_stream(&located.key).await.map_err(super::data::blob_error)?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", located.file_name)))
        .streaming(stream.map(|r| r.map_err(|e| actix_web::error::ErrorServiceUnavailable(e.to_string())))))
}
