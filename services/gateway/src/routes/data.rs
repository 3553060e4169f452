//! Task data: uploads (`POST /api/tasks/{id}/data/` in CVAT's Upload-Start /
//! Upload-Multiple / Upload-Finish protocol, or one plain multipart request), and reading
//! it back (`GET .../data` chunks, frames and previews, `.../data/meta`, `.../preview`).
//! Files go straight to the blob store; the task service keeps the record and the rules.

use super::documents::{self, Query};
use super::resource;
use crate::data_cache::Cached;
use crate::error::{HttpError, HttpResult};
use crate::identity::Auth;
use crate::routes::on;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_blob::{keys, BlobError};
use cvat_error::{ApiError, ErrorKind};
use cvat_proto::task::{DataLocation, DataQuery, ObjectRef, RecordUploadsRequest, UploadedFile, WriteRequest};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/tasks/{id}/data", vec![on(Method::POST, upload), on(Method::GET, task_data)]))
        .service(resource(
            "/api/tasks/{id}/data/meta",
            vec![on(Method::GET, task_meta), on(Method::PATCH, update_task_meta)],
        ))
        .service(resource("/api/tasks/{id}/preview", vec![on(Method::GET, task_preview)]))
        .service(resource(
            "/api/tasks/{id}/data/{file_id}",
            vec![on(Method::HEAD, tus_offset), on(Method::PATCH, tus_append)],
        ))
        .service(resource("/api/jobs/{id}/data", vec![on(Method::GET, job_data)]))
        .service(resource(
            "/api/jobs/{id}/data/meta",
            vec![on(Method::GET, job_meta), on(Method::PATCH, update_job_meta)],
        ))
        .service(resource("/api/jobs/{id}/preview", vec![on(Method::GET, job_preview)]))
        .service(resource("/api/projects/{id}/preview", vec![on(Method::GET, project_preview)]));
}

pub(super) fn header(req: &HttpRequest, name: &str) -> bool {
    req.headers().contains_key(name)
}

pub(super) fn is_multipart(req: &HttpRequest) -> bool {
    req.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/"))
}

/// The base name of a client's file name (the SDK sends full local paths).
pub(super) fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

pub(super) fn blob_error(err: BlobError) -> HttpError {
    match err {
        BlobError::NotFound(_) => HttpError(ApiError::not_found()),
        other => {
            tracing::warn!(error = %other, "blob store failed");
            HttpError(ApiError::unavailable("The object storage"))
        }
    }
}

#[utoipa::path(post, path = "/api/tasks/{id}/data", operation_id = "tasks_create_data", tag = "tasks",
    request_body = cvat_models::DataRequest,
    responses((status = 202, description = "Processing started: {\"rq_id\"}"), (status = 200, description = "Files received")))]
pub async fn upload(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let task = *id;
    let object = || ObjectRef { caller: Some(documents::caller(&req, auth.clone())), id: task };
    if header(&req, "Upload-Length") {
        return tus_create(&req, &auth, &state, TusTarget::of(&req, task)).await;
    }
    if header(&req, "Upload-Start") {
        forget_uploads(&state, object()).await?;
        return Ok(HttpResponse::Accepted().finish());
    }
    if header(&req, "Upload-Multiple") {
        state.task().check_upload(object()).await?;
        receive_files(&req, &auth, &state, task, payload, "").await?;
        return Ok(HttpResponse::Ok().finish());
    }
    let is_multipart = is_multipart(&req);
    // One plain request (files and parameters together) is a batch of its own: a
    // concurrent request's files can neither join nor replace it.
    let one_request = !header(&req, "Upload-Finish") && is_multipart;
    let batch = if one_request { uuid::Uuid::new_v4().simple().to_string() } else { String::new() };
    let params = if one_request {
        state.task().check_upload(object()).await?;
        receive_files(&req, &auth, &state, task, payload, &batch).await?
    } else {
        crate::body::read_json(&req, payload).await?
    };
    let request = WriteRequest {
        caller: Some(documents::caller(&req, auth)),
        id: task,
        body_json: Value::Object(params).to_string(),
        upload_batch: batch,
    };
    let started = state.task().start_data(request).await?.into_inner();
    Ok(HttpResponse::Accepted().json(json!({"rq_id": started.rq_id})))
}

/// The largest piece a TUS PATCH may carry (the client sends 10 MiB).
const MAX_TUS_PIECE: usize = 64 << 20;

fn tus_headers(builder: &mut actix_web::HttpResponseBuilder, offset: i64) -> &mut actix_web::HttpResponseBuilder {
    builder
        .insert_header(("Tus-Resumable", "1.0.0"))
        .insert_header(("Upload-Offset", offset.to_string()))
        .insert_header(("Cache-Control", "no-store"))
}

/// What a resumable upload goes to, from the URL it came on: a task's data
/// (`/api/tasks/{id}/data/`) or an annotation file of a task or job
/// (`/api/{tasks,jobs}/{id}/annotations/`).
pub(super) struct TusTarget {
    task_id: i64,
    job_id: i64,
    purpose: &'static str,
    /// The collection URL path the upload lives under.
    path: String,
}

impl TusTarget {
    pub(super) fn of(req: &HttpRequest, id: i64) -> Self {
        let path = req.path();
        for collection in ["/api/tasks/backup", "/api/projects/backup"] {
            if path.starts_with(collection) {
                return Self { task_id: 0, job_id: 0, purpose: "backup", path: collection.into() };
            }
        }
        if path.starts_with("/api/projects/") {
            // A dataset for a project: `task_id` carries the project.
            return Self { task_id: id, job_id: 0, purpose: "dataset", path: format!("/api/projects/{id}/dataset") };
        }
        let (collection, purpose) =
            if path.contains("/annotations") { ("annotations", "annotations") } else { ("data", "") };
        let job = path.starts_with("/api/jobs/");
        let kind = if job { "jobs" } else { "tasks" };
        Self {
            task_id: if job { 0 } else { id },
            job_id: if job { id } else { 0 },
            purpose,
            path: format!("/api/{kind}/{id}/{collection}"),
        }
    }
}

/// TUS create: `Upload-Length` and `Upload-Metadata: filename <base64>`; answers 201
/// with the absolute `Location` of the upload and the `Upload-Filename` it will have.
pub(super) async fn tus_create(
    req: &HttpRequest,
    auth: &Auth,
    state: &AppState,
    target: TusTarget,
) -> HttpResult<HttpResponse> {
    use base64::Engine as _;
    let text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let length: i64 = text("Upload-Length")
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request("Upload-Length must be a whole number."))?;
    if length as u64 > state.max_tus_bytes {
        return Err(ApiError::detail(
            ErrorKind::PayloadTooLarge,
            format!("Files of up to {} bytes are accepted.", state.max_tus_bytes),
        )
        .into());
    }
    let metadata = text("Upload-Metadata");
    let encoded = metadata
        .split(',')
        .filter_map(|pair| pair.trim().split_once(' '))
        .find(|(key, _)| *key == "filename")
        .map(|(_, value)| value.trim().to_string())
        .ok_or_else(|| ApiError::bad_request("Upload-Metadata must name the file: filename <base64>."))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_request("The filename in Upload-Metadata is not base64 of UTF-8."))?;
    let name = base_name(&decoded).to_string();
    let request = cvat_proto::task::TusCreate {
        caller: Some(documents::caller(req, auth.clone())),
        task_id: target.task_id,
        name,
        length,
        job_id: target.job_id,
        purpose: target.purpose.to_string(),
    };
    let upload = state.task().create_tus_upload(request).await?.into_inner();
    let location = format!("{}{}/{}", crate::listing::base_url(req), target.path, upload.id);
    let mut builder = HttpResponse::Created();
    builder.insert_header(("Location", location)).insert_header(("Upload-Filename", upload.name));
    Ok(tus_headers(&mut builder, 0).finish())
}

/// TUS HEAD: the upload's offset.
pub async fn tus_offset(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
) -> HttpResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let target = TusTarget::of(&req, object);
    tus_offset_of(req, auth, state, target, id).await
}

pub(super) async fn tus_offset_of(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: TusTarget,
    id: String,
) -> HttpResult<HttpResponse> {
    let query = cvat_proto::task::TusRef {
        caller: Some(documents::caller(&req, auth)),
        task_id: target.task_id,
        id,
        job_id: target.job_id,
        purpose: target.purpose.to_string(),
    };
    let upload = state.task().get_tus_upload(query).await?.into_inner();
    let mut builder = HttpResponse::Ok();
    builder.insert_header(("Upload-Length", upload.length.to_string()));
    Ok(tus_headers(&mut builder, upload.offset).finish())
}

/// TUS PATCH: one piece at `Upload-Offset`, stored as its own blob, then reported.
pub async fn tus_append(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let target = TusTarget::of(&req, object);
    tus_append_of(req, auth, state, target, id, payload).await
}

pub(super) async fn tus_append_of(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: TusTarget,
    id: String,
    mut payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let offset: i64 = req
        .headers()
        .get("Upload-Offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::bad_request("Upload-Offset must be a whole number."))?;
    let reference = cvat_proto::task::TusRef {
        caller: Some(documents::caller(&req, auth.clone())),
        task_id: target.task_id,
        id: id.clone(),
        job_id: target.job_id,
        purpose: target.purpose.to_string(),
    };
    let upload = state.task().get_tus_upload(reference).await?.into_inner();
    if upload.offset != offset {
        let detail = format!("Upload-Offset {offset} does not match the upload's offset {}.", upload.offset);
        return Ok(tus_headers(&mut HttpResponse::Conflict(), upload.offset).json(json!({ "detail": detail })));
    }
    let room = (upload.length - offset).clamp(0, MAX_TUS_PIECE as i64) as usize;
    let refused = || ApiError::detail(ErrorKind::PayloadTooLarge, "The piece is too large.");
    let piece = crate::body::read_capped(&mut payload, room, state.body_idle, refused).await?;
    let collection = target.path.trim_start_matches("/api/");
    let key = keys::upload_part(collection, &id, offset, &uuid::Uuid::new_v4().simple().to_string());
    let size = piece.len() as i64;
    state.blobs.put(&key, piece.freeze()).await.map_err(blob_error)?;
    let append = cvat_proto::task::TusAppend {
        caller: Some(documents::caller(&req, auth)),
        task_id: target.task_id,
        id,
        offset,
        part_key: key,
        size,
        job_id: target.job_id,
        purpose: target.purpose.to_string(),
    };
    let upload = state.task().append_tus_upload(append).await?.into_inner();
    Ok(tus_headers(&mut HttpResponse::NoContent(), upload.offset).finish())
}

/// Upload-Start: the task service forgets earlier uploads; their files are deleted.
async fn forget_uploads(state: &AppState, object: ObjectRef) -> HttpResult<()> {
    let old = state.task().begin_upload(object).await?.into_inner();
    for key in old.keys {
        state.blobs.delete(&key).await.map_err(blob_error)?;
    }
    Ok(())
}

/// Stores every `client_files[N]` part and records them with the task service; answers
/// the other form fields as data parameters. With a `batch` (one plain request), the
/// files go under keys of their own and are recorded as that batch's.
async fn receive_files(
    req: &HttpRequest,
    auth: &Auth,
    state: &AppState,
    task: i64,
    payload: web::Payload,
    batch: &str,
) -> HttpResult<Map<String, Value>> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut files = Vec::new();
    let mut params = Map::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request(format!("Broken multipart body: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (cd.get_name().unwrap_or_default().to_string(), cd.get_filename().map(str::to_string)),
            None => (String::new(), None),
        };
        match filename {
            Some(filename) if name.starts_with("client_files") => {
                let base = base_name(&filename).to_string();
                if !keys::valid_file_name(&base) {
                    return Err(ApiError::field("client_files", format!("Invalid file name: {filename:?}")).into());
                }
                let key =
                    if batch.is_empty() { keys::upload(task, &base) } else { keys::batch_upload(task, batch, &base) };
                let size = store_part(state, &key, &mut field, &base).await?;
                let key = if batch.is_empty() { String::new() } else { key };
                files.push(UploadedFile { name: base, size, key });
            }
            Some(_) => while field.next().await.is_some() {},
            None => {
                let refused = || ApiError::detail(ErrorKind::PayloadTooLarge, format!("{name} is too large."));
                let bytes =
                    crate::body::read_capped(&mut field, state.max_json_bytes, state.body_idle, refused).await?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                params.insert(name, form_value(&text));
            }
        }
    }
    if !files.is_empty() {
        let caller = Some(documents::caller(req, auth.clone()));
        let record = RecordUploadsRequest { caller, task_id: task, files, batch: batch.to_string() };
        state.task().record_uploads(record).await?;
    }
    Ok(params)
}

/// Stores the file part `field_name` of a multipart body for a worker to read (under
/// `imports/`); answers its key. Other parts are skipped.
pub(super) async fn receive_file(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    field_name: &str,
) -> HttpResult<String> {
    let mut form = Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request(format!("Broken multipart body: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (cd.get_name().unwrap_or_default().to_string(), cd.get_filename().map(str::to_string)),
            None => (String::new(), None),
        };
        match filename {
            Some(filename) if name == field_name => {
                let base = base_name(&filename).to_string();
                if !keys::valid_file_name(&base) {
                    return Err(ApiError::field(field_name, format!("Invalid file name: {filename:?}")).into());
                }
                let key = keys::import_file(&base);
                store_part(state, &key, &mut field, &base).await?;
                return Ok(key);
            }
            _ => while field.next().await.is_some() {},
        }
    }
    Err(ApiError::field(field_name, "No file was submitted.").into())
}

/// Streams one file part into the blob store (never whole in memory), refusing it past
/// the upload limit; answers its size.
async fn store_part(state: &AppState, key: &str, field: &mut actix_multipart::Field, name: &str) -> HttpResult<i64> {
    let limit = state.max_upload_file_bytes;
    // The multipart stream lives on this thread; the store reads it through a channel.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, BlobError>>(4);
    let pieces = futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) });
    let idle = state.body_idle;
    let pump = async move {
        let mut received = 0usize;
        loop {
            let piece = match crate::body::next_piece(field, idle).await {
                Ok(None) => break,
                Ok(Some(chunk)) if received + chunk.len() > limit => {
                    Err(BlobError::TooLarge(format!("{name} is larger than {limit} bytes.")))
                }
                Ok(Some(chunk)) => {
                    received += chunk.len();
                    Ok(chunk)
                }
                Err(err) => {
                    Err(BlobError::Refused(err.body["detail"].as_str().unwrap_or("Broken multipart body.").to_string()))
                }
            };
            let failed = piece.is_err();
            if sender.send(piece).await.is_err() || failed {
                break;
            }
        }
    };
    let (_, stored) = futures_util::future::join(pump, state.blobs.put_stream(key, pieces.boxed())).await;
    match stored {
        Ok(size) => Ok(size as i64),
        Err(BlobError::TooLarge(reason)) => Err(ApiError::detail(ErrorKind::PayloadTooLarge, reason).into()),
        Err(BlobError::Refused(reason)) => Err(ApiError::bad_request(reason).into()),
        Err(other) => Err(blob_error(other)),
    }
}

/// Form fields arrive as text: numbers and booleans become JSON values again.
fn form_value(text: &str) -> Value {
    match text {
        "true" | "True" => Value::Bool(true),
        "false" | "False" => Value::Bool(false),
        _ => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(text.to_string())),
    }
}

fn data_query(
    req: &HttpRequest,
    auth: Auth,
    target: &str,
    id: i64,
    params: &HashMap<String, String>,
) -> HttpResult<DataQuery> {
    let number = |name: &str| -> HttpResult<Option<i64>> {
        match params.get(name) {
            None => Ok(None),
            Some(raw) => {
                raw.parse().map(Some).map_err(|_| ApiError::field(name, "A valid integer is required.").into())
            }
        }
    };
    Ok(DataQuery {
        caller: Some(documents::caller(req, auth)),
        target: target.to_string(),
        id,
        r#type: params.get("type").cloned().unwrap_or_default(),
        quality: params.get("quality").cloned().unwrap_or_default(),
        number: number("number")?,
        index: number("index")?,
    })
}

/// Serves what [`DataLocation`] names, with an ETag so repeated reads are cheap.
async fn serve(req: &HttpRequest, state: &AppState, location: DataLocation) -> HttpResult<HttpResponse> {
    let etag = format!("\"{}-{}-{}\"", location.version, location.key, location.member);
    if req.headers().get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Ok(HttpResponse::NotModified().finish());
    }
    let mut response = HttpResponse::Ok();
    response.insert_header(("ETag", etag)).insert_header(("Cache-Control", "private, max-age=3600"));
    // Frames and previews (one image each) are kept; chunk archives stream.
    if location.length > 0 || location.member >= 0 || location.content_type.starts_with("image/") {
        let frame = match state.frames.get(&location) {
            Some(frame) => frame,
            None => {
                let frame = read_frame(state, &location).await?;
                state.frames.insert(&location, frame.clone());
                frame
            }
        };
        return Ok(response.content_type(frame.content_type).body(frame.bytes));
    }
    if let Some(chunk) = state.chunks.get(&location) {
        return Ok(response.content_type(chunk.content_type).body(chunk.bytes));
    }
    let stream = state.blobs.get_stream(&location.key).await.map_err(blob_error)?;
    let content_type = location.content_type.clone();
    let passing = state.chunks.clone().keep_passing(location, stream);
    Ok(response
        .content_type(content_type)
        .streaming(passing.map(|r| r.map_err(|e| actix_web::error::ErrorServiceUnavailable(e.to_string())))))
}

/// One frame or preview: its byte range when the task service knows it, its member of
/// the chunk archive, or the whole blob (a preview).
async fn read_frame(state: &AppState, location: &DataLocation) -> HttpResult<Cached> {
    if location.length > 0 {
        let bytes = state
            .blobs
            .get_range(&location.key, location.offset as u64, location.length as u64)
            .await
            .map_err(blob_error)?;
        return Ok(Cached { bytes, content_type: location.content_type.clone() });
    }
    let blob = state.blobs.get(&location.key).await.map_err(blob_error)?;
    if location.member < 0 {
        return Ok(Cached { bytes: blob, content_type: location.content_type.clone() });
    }
    let (bytes, extension) =
        cvat_codecs::chunk_member(&blob, location.member as usize).map_err(|_| ApiError::not_found())?;
    Ok(Cached { bytes: bytes.into(), content_type: cvat_codecs::content_type(&extension).to_string() })
}

async fn data(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
    params: Query,
) -> HttpResult<HttpResponse> {
    let query = data_query(&req, auth, target, id, &params)?;
    let location = state.task().locate_data(query).await?.into_inner();
    serve(&req, &state, location).await
}

async fn meta(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
) -> HttpResult<HttpResponse> {
    let query = data_query(&req, auth, target, id, &HashMap::new())?;
    let parts = state.task().get_data_meta(query).await?.into_inner();
    Ok(documents::streamed(StatusCode::OK, parts))
}

async fn update_meta(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    let query = data_query(&req, auth, target, id, &HashMap::new())?;
    let update = cvat_proto::task::DataMetaUpdate { query: Some(query), body_json: Value::Object(body.0).to_string() };
    let parts = state.task().update_data_meta(update).await?.into_inner();
    Ok(documents::streamed(StatusCode::OK, parts))
}

async fn preview(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
) -> HttpResult<HttpResponse> {
    let params: HashMap<String, String> = [("type".to_string(), "preview".to_string())].into();
    let query = data_query(&req, auth, target, id, &params)?;
    let location = state.task().locate_data(query).await?.into_inner();
    serve(&req, &state, location).await
}

/// A handler of `$path` for one target (task, job or project) over a shared body.
macro_rules! target_handler {
    ($method:ident $name:ident $(-> $answer:ty)?, $path:literal, $op:literal, $tag:literal, $what:literal, $target:literal, $body:ident $(, $extra:ident: $ty:ty)?) => {
        #[utoipa::path($method, path = $path, operation_id = $op, tag = $tag,
            responses((status = 200, description = $what $(, body = $answer)?)))]
        pub async fn $name(
            req: HttpRequest,
            auth: Auth,
            state: web::Data<AppState>,
            id: web::Path<i64>,
            $($extra: $ty,)?
        ) -> HttpResult<HttpResponse> {
            $body(req, auth, state, $target, *id $(, $extra)?).await
        }
    };
}

target_handler!(get task_data, "/api/tasks/{id}/data", "tasks_retrieve_data", "tasks", "A chunk (zip), a frame (image) or a preview", "task", data, params: Query);
target_handler!(get job_data, "/api/jobs/{id}/data", "jobs_retrieve_data", "jobs", "A chunk (zip), a frame (image) or a preview", "job", data, params: Query);
target_handler!(get task_meta -> cvat_models::DataMetaRead,
    "/api/tasks/{id}/data/meta",
    "tasks_retrieve_data_meta",
    "tasks",
    "DataMetaRead",
    "task",
    meta
);
target_handler!(get job_meta -> cvat_models::DataMetaRead, "/api/jobs/{id}/data/meta", "jobs_retrieve_data_meta", "jobs", "DataMetaRead", "job", meta);
target_handler!(get task_preview, "/api/tasks/{id}/preview", "tasks_retrieve_preview", "tasks", "JPEG", "task", preview);
target_handler!(get job_preview, "/api/jobs/{id}/preview", "jobs_retrieve_preview", "jobs", "JPEG", "job", preview);
target_handler!(get project_preview,
    "/api/projects/{id}/preview",
    "projects_retrieve_preview",
    "projects",
    "JPEG of the newest task with data",
    "project",
    preview
);
target_handler!(patch update_task_meta -> cvat_models::DataMetaRead, "/api/tasks/{id}/data/meta", "tasks_partial_update_data_meta", "tasks", "DataMetaRead", "task", update_meta, body: crate::body::JsonBody);
target_handler!(patch update_job_meta -> cvat_models::DataMetaRead, "/api/jobs/{id}/data/meta", "jobs_partial_update_data_meta", "jobs", "DataMetaRead", "job", update_meta, body: crate::body::JsonBody);
