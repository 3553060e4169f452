//! Annotation imports: `POST /api/{tasks,jobs}/{id}/annotations/?format=&filename=` in
//! CVAT's upload protocol — Upload-Start, the TUS upload of the file (create here, then
//! `HEAD`/`PATCH …/annotations/{file_id}`), Upload-Finish starting the import (202 and
//! its request id) — or one multipart request carrying `annotation_file`. The export
//! workers read the file; the task service saves what they read.

use super::data::{blob_error, store_part, tus_create, TusTarget};
use super::documents;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_blob::keys;
use cvat_error::ApiError;
use cvat_proto::task::ImportStart;
use futures_util::StreamExt;
use std::collections::HashMap;

fn header(req: &HttpRequest, name: &str) -> bool {
    req.headers().contains_key(name)
}

/// `task` or `job`, from the path the request came on.
fn target(req: &HttpRequest) -> &'static str {
    if req.path().starts_with("/api/jobs/") {
        "job"
    } else {
        "task"
    }
}

#[utoipa::path(post, path = "/api/tasks/{id}/annotations", operation_id = "tasks_create_annotations", tag = "tasks",
    params(("id" = i64, Path), ("format" = Option<String>, Query, description = "An importer's name, e.g. `CVAT 1.1`"),
        ("filename" = Option<String>, Query), ("conv_mask_to_poly" = Option<bool>, Query),
        ("import_mode" = Option<String>, Query, description = "replace (default) or append")),
    responses((status = 202, description = "Upload-Start accepted, or the import's request", body = super::exports::RqId),
        (status = 201, description = "A resumable upload was created")))]
pub async fn import(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let id = *id;
    if header(&req, "Upload-Length") {
        return tus_create(&req, &auth, &state, TusTarget::of(&req, id)).await;
    }
    if header(&req, "Upload-Start") {
        return Ok(HttpResponse::Accepted().finish());
    }
    let format = query.get("format").cloned().unwrap_or_default();
    if format.is_empty() {
        return Err(ApiError::field("format", "This field is required.").into());
    }
    let is_multipart =
        req.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/"));
    let mut start = ImportStart {
        caller: Some(documents::caller(&req, auth)),
        target: target(&req).to_string(),
        id,
        format,
        filename: query.get("filename").cloned().unwrap_or_default(),
        file_key: String::new(),
        import_mode: query.get("import_mode").cloned().unwrap_or_default(),
    };
    if header(&req, "Upload-Finish") {
        if start.filename.is_empty() {
            return Err(ApiError::field("filename", "This field is required.").into());
        }
    } else if is_multipart {
        start.file_key = receive_file(&req, &state, payload).await?;
    } else {
        return Err(ApiError::bad_request(
            "Send the annotation file: as multipart `annotation_file`, or with Upload-Start, a resumable upload \
             and Upload-Finish",
        )
        .into());
    }
    let file_key = start.file_key.clone();
    match state.task().start_import(start).await {
        Ok(started) => Ok(HttpResponse::Accepted().json(super::exports::RqId { rq_id: started.into_inner().rq_id })),
        Err(err) => {
            // A refused import leaves no file behind.
            if !file_key.is_empty() {
                state.blobs.delete(&file_key).await.map_err(blob_error)?;
            }
            Err(err.into())
        }
    }
}

/// Stores the `annotation_file` part of a multipart body; answers its key.
async fn receive_file(req: &HttpRequest, state: &AppState, payload: web::Payload) -> HttpResult<String> {
    let mut form = Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request(format!("Broken multipart body: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (cd.get_name().unwrap_or_default().to_string(), cd.get_filename().map(str::to_string)),
            None => (String::new(), None),
        };
        match filename {
            Some(filename) if name == "annotation_file" => {
                let base = filename.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
                if !keys::valid_file_name(&base) {
                    return Err(ApiError::field("annotation_file", format!("Invalid file name: {filename:?}")).into());
                }
                let key = keys::import_file(&base);
                store_part(state, &key, &mut field, &base).await?;
                return Ok(key);
            }
            _ => while field.next().await.is_some() {},
        }
    }
    Err(ApiError::field("annotation_file", "No file was submitted.").into())
}
