//! Restoring task and project backups: `POST /api/{tasks,projects}/backup/?filename=` in
//! CVAT's upload protocol (Upload-Start, the TUS upload of the archive —
//! `HEAD`/`PATCH …/backup/{file_id}` — and Upload-Finish, answered 202 with the request's
//! id) or one multipart request carrying `task_file` / `project_file`. An export worker
//! restores the task or the project with its tasks; the request then names it
//! (`result_id`).

use super::data::{
    blob_error, header, is_multipart, receive_file, tus_append_of, tus_create, tus_offset_of, TusTarget,
};
use super::documents;
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::task::ImportStart;
use std::collections::HashMap;

/// Registered before `/api/tasks/{id}` and `/api/projects/{id}`, which would take
/// `backup` for an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for target in ["tasks", "projects"] {
        cfg.service(resource(&format!("/api/{target}/backup"), vec![on(Method::POST, restore)])).service(resource(
            &format!("/api/{target}/backup/{{file_id}}"),
            vec![on(Method::HEAD, tus_offset), on(Method::PATCH, tus_append)],
        ));
    }
}

#[utoipa::path(post, path = "/api/tasks/backup", operation_id = "tasks_create_backup", tag = "tasks",
    params(("filename" = Option<String>, Query)),
    responses((status = 202, description = "Upload-Start accepted, or the restore's request", body = super::exports::RqId),
        (status = 201, description = "A resumable upload was created")))]
pub async fn restore(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    if header(&req, "Upload-Length") {
        return tus_create(&req, &auth, &state, TusTarget::of(&req, 0)).await;
    }
    if header(&req, "Upload-Start") {
        return Ok(HttpResponse::Accepted().finish());
    }
    let target = super::exports::target(&req);
    let mut start = ImportStart {
        caller: Some(documents::caller(&req, auth)),
        target: target.to_string(),
        filename: query.get("filename").cloned().unwrap_or_default(),
        location: query.get("location").cloned().unwrap_or_default(),
        cloud_storage_id: super::exports::cloud_storage_id(&query)?,
        ..Default::default()
    };
    if header(&req, "Upload-Finish") {
        if start.filename.is_empty() {
            return Err(ApiError::field("filename", "This field is required.").into());
        }
    } else if is_multipart(&req) {
        start.file_key = receive_file(&req, &state, payload, &format!("{target}_file")).await?;
    }
    // Otherwise the backup is in a cloud storage (or missing: the task service says so).
    let file_key = start.file_key.clone();
    match state.task().start_restore(start).await {
        Ok(started) => Ok(HttpResponse::Accepted().json(super::exports::RqId { rq_id: started.into_inner().rq_id })),
        Err(err) => {
            if !file_key.is_empty() {
                state.blobs.delete(&file_key).await.map_err(blob_error)?;
            }
            Err(err.into())
        }
    }
}

async fn tus_offset(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let target = TusTarget::of(&req, 0);
    tus_offset_of(req, auth, state, target, id.into_inner()).await
}

async fn tus_append(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let target = TusTarget::of(&req, 0);
    tus_append_of(req, auth, state, target, id.into_inner(), payload).await
}
