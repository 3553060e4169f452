//! Restoring task backups: `POST /api/tasks/backup/?filename=` in CVAT's upload protocol
//! (Upload-Start, the TUS upload of the archive — `HEAD`/`PATCH /api/tasks/backup/{file_id}`
//! — and Upload-Finish, answered 202 with the request's id) or one multipart request
//! carrying `task_file`. An export worker restores the task; the request then names it
//! (`result_id`).

use super::data::{blob_error, store_part, tus_append_of, tus_create, tus_offset_of, TusTarget};
use super::documents;
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_blob::keys;
use cvat_error::ApiError;
use cvat_proto::task::ImportStart;
use futures_util::StreamExt;
use std::collections::HashMap;

/// Registered before `/api/tasks/{id}`, which would take `backup` for an id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/tasks/backup", vec![on(Method::POST, restore)])).service(resource(
        "/api/tasks/backup/{file_id}",
        vec![on(Method::HEAD, tus_offset), on(Method::PATCH, tus_append)],
    ));
}

fn header(req: &HttpRequest, name: &str) -> bool {
    req.headers().contains_key(name)
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
    let is_multipart =
        req.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/"));
    let mut start = ImportStart {
        caller: Some(documents::caller(&req, auth)),
        filename: query.get("filename").cloned().unwrap_or_default(),
        ..Default::default()
    };
    if header(&req, "Upload-Finish") {
        if start.filename.is_empty() {
            return Err(ApiError::field("filename", "This field is required.").into());
        }
    } else if is_multipart {
        start.file_key = receive_file(&req, &state, payload).await?;
    } else {
        return Err(ApiError::bad_request(
            "Send the backup: as multipart `task_file`, or with Upload-Start, a resumable upload and Upload-Finish",
        )
        .into());
    }
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

/// Stores the `task_file` part of a multipart body; answers its key.
async fn receive_file(req: &HttpRequest, state: &AppState, payload: web::Payload) -> HttpResult<String> {
    let mut form = Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request(format!("Broken multipart body: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (cd.get_name().unwrap_or_default().to_string(), cd.get_filename().map(str::to_string)),
            None => (String::new(), None),
        };
        match filename {
            Some(filename) if name == "task_file" => {
                let base = filename.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
                if !keys::valid_file_name(&base) {
                    return Err(ApiError::field("task_file", format!("Invalid file name: {filename:?}")).into());
                }
                let key = keys::import_file(&base);
                store_part(state, &key, &mut field, &base).await?;
                return Ok(key);
            }
            _ => while field.next().await.is_some() {},
        }
    }
    Err(ApiError::field("task_file", "No file was submitted.").into())
}
