//! Annotation imports: `POST /api/{tasks,jobs}/{id}/annotations/?format=&filename=` in
//! CVAT's upload protocol — Upload-Start, the TUS upload of the file (create here, then
//! `HEAD`/`PATCH …/annotations/{file_id}`), Upload-Finish starting the import (202 and
//! its request id) — or one multipart request carrying `annotation_file`; and dataset
//! imports into a project, `POST /api/projects/{id}/dataset/` the same way (multipart
//! `dataset_file`). The export workers read the file; the task service saves what they
//! read.

use super::data::{blob_error, header, is_multipart, receive_file, tus_create, TusTarget};
use super::documents;
use super::exports::target;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::task::ImportStart;
use std::collections::HashMap;

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
    let mut start = ImportStart {
        caller: Some(documents::caller(&req, auth)),
        target: target(&req).to_string(),
        id,
        format,
        filename: query.get("filename").cloned().unwrap_or_default(),
        file_key: String::new(),
        import_mode: query.get("import_mode").cloned().unwrap_or_default(),
        location: query.get("location").cloned().unwrap_or_default(),
        cloud_storage_id: super::exports::cloud_storage_id(&query)?,
        // Only an explicit no turns it off, as CVAT's default is on.
        conv_mask_to_poly: !query.get("conv_mask_to_poly").is_some_and(|v| v.eq_ignore_ascii_case("false") || v == "0"),
    };
    if header(&req, "Upload-Finish") {
        if start.filename.is_empty() {
            return Err(ApiError::field("filename", "This field is required.").into());
        }
    } else if is_multipart(&req) {
        let field = if start.target == "project" { "dataset_file" } else { "annotation_file" };
        start.file_key = receive_file(&req, &state, payload, field).await?;
    }
    // Otherwise the file is in a cloud storage (or missing: the task service says so).
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
