//! Dataset exports of tasks, jobs and projects and backups of tasks and projects:
//! `POST …/dataset/export` or `…/backup/export` starts one (202 and its request id; the
//! export workers write the archive), `GET …/download?rq_id=` streams the finished
//! archive from the object store to the user who asked for it.

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
    for target in ["tasks", "jobs", "projects"] {
        let mut dataset = vec![on(Method::GET, legacy_dataset)];
        if target == "projects" {
            // A project imports a dataset as new tasks, one per subset.
            dataset.push(on(Method::POST, super::imports::import));
        }
        cfg.service(resource(&format!("/api/{target}/{{id}}/dataset/export"), vec![on(Method::POST, start)]))
            .service(resource(&format!("/api/{target}/{{id}}/dataset/download"), vec![on(Method::GET, download)]))
            .service(resource(&format!("/api/{target}/{{id}}/dataset"), dataset));
    }
    // After `…/export` and `…/download`, which it would take for a file id.
    cfg.service(resource(
        "/api/projects/{id}/dataset/{file_id}",
        vec![on(Method::HEAD, super::data::tus_offset), on(Method::PATCH, super::data::tus_append)],
    ));
    // A project has no annotation document of its own: this is only CVAT 2.x's export.
    cfg.service(resource("/api/projects/{id}/annotations", vec![on(Method::GET, legacy_annotations)]));
    for target in ["tasks", "projects"] {
        cfg.service(resource(&format!("/api/{target}/{{id}}/backup/export"), vec![on(Method::POST, start_backup)]))
            .service(resource(&format!("/api/{target}/{{id}}/backup/download"), vec![on(Method::GET, download)]))
            .service(resource(&format!("/api/{target}/{{id}}/backup"), vec![on(Method::GET, legacy_backup)]));
    }
}

/// CVAT's `RqId`.
#[derive(Serialize, ToSchema)]
pub struct RqId {
    pub rq_id: String,
}

/// `task`, `job` or `project`, from the path the request came on.
pub(super) fn target(req: &HttpRequest) -> &'static str {
    if req.path().starts_with("/api/jobs/") {
        "job"
    } else if req.path().starts_with("/api/projects/") {
        "project"
    } else {
        "task"
    }
}

/// The `cloud_storage_id` of an export or import, when given.
pub(super) fn cloud_storage_id(query: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    query
        .get("cloud_storage_id")
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().map_err(|_| ApiError::field("cloud_storage_id", "A valid integer is required.")))
        .transpose()
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
    let what = What::Dataset { save_images: flag(&query, "save_images")? };
    let rq_id = start_export(&req, auth, &state, *id, &query, what).await?;
    Ok(HttpResponse::Accepted().json(RqId { rq_id }))
}

#[utoipa::path(post, path = "/api/tasks/{id}/backup/export", operation_id = "tasks_create_backup_export",
    tag = "tasks",
    params(("id" = i64, Path), ("lightweight" = Option<bool>, Query), ("location" = Option<String>, Query),
        ("cloud_storage_id" = Option<i64>, Query), ("filename" = Option<String>, Query)),
    responses((status = 202, description = "The backup's request", body = RqId)))]
pub async fn start_backup(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    let what = What::Backup { lightweight: flag(&query, "lightweight")? };
    let rq_id = start_export(&req, auth, &state, *id, &query, what).await?;
    Ok(HttpResponse::Accepted().json(RqId { rq_id }))
}

/// What an export writes: a dataset in `format` (with or without images), or a backup.
#[derive(Clone, Copy)]
enum What {
    Dataset { save_images: bool },
    Backup { lightweight: bool },
}

async fn start_export(
    req: &HttpRequest,
    auth: Auth,
    state: &AppState,
    id: i64,
    query: &HashMap<String, String>,
    what: What,
) -> HttpResult<String> {
    let format = query.get("format").cloned().unwrap_or_default();
    if format.is_empty() && matches!(what, What::Dataset { .. }) {
        return Err(ApiError::field("format", "This field is required.").into());
    }
    let start = ExportStart {
        caller: Some(documents::caller(req, auth)),
        target: target(req).to_string(),
        id,
        format,
        save_images: matches!(what, What::Dataset { save_images: true }),
        location: query.get("location").cloned().unwrap_or_default(),
        backup: matches!(what, What::Backup { .. }),
        lightweight: matches!(what, What::Backup { lightweight: true }),
        cloud_storage_id: cloud_storage_id(query)?,
        filename: query.get("filename").cloned().unwrap_or_default(),
    };
    Ok(state.task().start_export(start).await?.into_inner().rq_id)
}

/// CVAT 2.x's GET forms of an export (`GET …/dataset?format=` with images,
/// `GET …/annotations?format=` without): each call starts the export or finds it, and
/// answers 202 while it runs, 201 once it is ready, and the archive itself with
/// `action=download`; a failed export is a 400 with its reason.
pub async fn legacy(
    req: HttpRequest,
    auth: Auth,
    state: &AppState,
    id: i64,
    query: &HashMap<String, String>,
    save_images: bool,
) -> HttpResult<HttpResponse> {
    legacy_of(req, auth, state, id, query, What::Dataset { save_images }).await
}

async fn legacy_of(
    req: HttpRequest,
    auth: Auth,
    state: &AppState,
    id: i64,
    query: &HashMap<String, String>,
    what: What,
) -> HttpResult<HttpResponse> {
    let rq_id = start_export(&req, auth.clone(), state, id, query, what).await?;
    let request =
        cvat_proto::task::RequestQuery { caller: Some(documents::caller(&req, auth.clone())), id: rq_id.clone() };
    let request: serde_json::Value = serde_json::from_str(&state.task().get_request(request).await?.into_inner().json)
        .map_err(|_| ApiError::internal())?;
    match request["status"].as_str() {
        Some("finished") if query.get("action").map(String::as_str) == Some("download") => {
            serve(&req, auth, state, id, rq_id).await
        }
        Some("finished") => Ok(HttpResponse::Created().json(RqId { rq_id })),
        Some("failed") => Err(ApiError::bad_request(request["message"].as_str().unwrap_or("The export failed")).into()),
        _ => Ok(HttpResponse::Accepted().json(RqId { rq_id })),
    }
}

#[utoipa::path(get, path = "/api/tasks/{id}/dataset", operation_id = "tasks_retrieve_dataset", tag = "tasks",
    params(("id" = i64, Path), ("format" = String, Query), ("action" = Option<String>, Query, description = "download")),
    responses((status = 202, description = "The export runs", body = RqId), (status = 201, description = "Ready", body = RqId),
        (status = 200, description = "The archive (action=download)", content_type = "application/zip")))]
pub async fn legacy_dataset(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    legacy(req, auth, &state, *id, &query, true).await
}

#[utoipa::path(get, path = "/api/tasks/{id}/backup", operation_id = "tasks_retrieve_backup", tag = "tasks",
    params(("id" = i64, Path), ("action" = Option<String>, Query, description = "download")),
    responses((status = 202, description = "The backup runs", body = RqId), (status = 201, description = "Ready", body = RqId),
        (status = 200, description = "The archive (action=download)", content_type = "application/zip")))]
pub async fn legacy_backup(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    legacy_of(req, auth, &state, *id, &query, What::Backup { lightweight: false }).await
}

#[utoipa::path(get, path = "/api/projects/{id}/annotations", operation_id = "projects_retrieve_annotations",
    tag = "projects",
    params(("id" = i64, Path), ("format" = String, Query), ("action" = Option<String>, Query, description = "download")),
    responses((status = 202, description = "The export runs", body = RqId), (status = 201, description = "Ready", body = RqId),
        (status = 200, description = "The archive (action=download)", content_type = "application/zip")))]
pub async fn legacy_annotations(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    legacy(req, auth, &state, *id, &query, false).await
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
    serve(&req, auth, &state, *id, rq_id).await
}

/// The archive of a finished export, streamed from the object store.
async fn serve(req: &HttpRequest, auth: Auth, state: &AppState, id: i64, rq_id: String) -> HttpResult<HttpResponse> {
    let located = state
        .task()
        .locate_export(ExportQuery {
            caller: Some(documents::caller(req, auth)),
            target: target(req).to_string(),
            id,
            rq_id,
        })
        .await?
        .into_inner();
    attachment(state, located, "application/zip").await
}

/// A finished export's file, streamed from the object store as an attachment.
pub(super) async fn attachment(
    state: &AppState,
    located: cvat_proto::task::ExportLocation,
    content_type: &str,
) -> HttpResult<HttpResponse> {
    let stream = state.blobs.get_stream(&located.key).await.map_err(super::data::blob_error)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", located.file_name)))
        .streaming(stream.map(|r| r.map_err(|e| actix_web::error::ErrorServiceUnavailable(e.to_string())))))
}
