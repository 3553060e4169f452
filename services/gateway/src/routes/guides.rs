//! `/api/guides` (annotation guides of projects and tasks) and `/api/assets` (the files
//! uploaded for them: images and PDFs of at most 10 MB, 30 per guide, as CVAT allows).
//! The gateway keeps the files' bytes in the object store; the task service keeps the
//! records and decides who may do what.

use super::documents;
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::{ApiError, ErrorKind};
use cvat_proto::task::{TextRef, TextWrite};
use futures_util::StreamExt;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/guides", vec![on(Method::POST, create)]))
        .service(resource(
            "/api/guides/{id}",
            vec![on(Method::GET, retrieve), on(Method::PATCH, partial_update), on(Method::DELETE, destroy)],
        ))
        .service(resource("/api/assets", vec![on(Method::POST, upload)]))
        .service(resource("/api/assets/{uuid}", vec![on(Method::GET, download), on(Method::DELETE, remove)]));
}

#[utoipa::path(post, path = "/api/guides", operation_id = "guides_create", tag = "guides",
    request_body = cvat_models::AnnotationGuideWriteRequest, responses((status = 201, body = cvat_models::AnnotationGuideRead)))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    let created = state.task().create_guide(documents::write(&req, auth, 0, body.0)).await?;
    Ok(documents::document(StatusCode::CREATED, created.into_inner()))
}

#[utoipa::path(get, path = "/api/guides/{id}", operation_id = "guides_retrieve", tag = "guides",
    responses((status = 200, body = cvat_models::AnnotationGuideRead)))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let found = state.task().get_guide(documents::object(&req, auth, *id)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

#[utoipa::path(patch, path = "/api/guides/{id}", operation_id = "guides_partial_update", tag = "guides",
    request_body = cvat_models::PatchedAnnotationGuideWriteRequest,
    responses((status = 200, body = cvat_models::AnnotationGuideRead)))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    let updated = state.task().update_guide(documents::write(&req, auth, *id, body.0)).await?;
    Ok(documents::document(StatusCode::OK, updated.into_inner()))
}

/// Removes a guide with its files.
#[utoipa::path(delete, path = "/api/guides/{id}", operation_id = "guides_destroy", tag = "guides",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let keys = state.task().delete_guide(documents::object(&req, auth, *id)).await?.into_inner().keys;
    forget(&state, &keys).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes stored files; one that stays behind is logged (its record is gone already).
async fn forget(state: &AppState, keys: &[String]) {
    for key in keys {
        if let Err(err) = state.blobs.delete(key).await {
            tracing::warn!(error = %err, key, "a guide's file stays in the object store");
        }
    }
}

/// The largest file taken (CVAT's `ASSET_MAX_SIZE_MB`).
const MAX_ASSET_BYTES: usize = 10 << 20;

/// What a file is, by its first bytes: the types CVAT takes for guides.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'%', b'P', b'D', b'F', ..] => Some("application/pdf"),
        _ => None,
    }
}

/// A multipart form of `guide_id` and `file`: the file is checked (size, type by its
/// content, a plain name), stored, then recorded; a record refused removes the bytes.
#[utoipa::path(post, path = "/api/assets", operation_id = "assets_create", tag = "assets",
    request_body(content_type = "multipart/form-data", description = "guide_id and file"),
    responses((status = 201, body = cvat_models::AssetRead)))]
pub async fn upload(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    if !super::data::is_multipart(&req) {
        return Err(ApiError::detail(ErrorKind::UnsupportedMediaType, "Send the file as multipart/form-data.").into());
    }
    let mut form = Multipart::new(req.headers(), payload);
    let (mut guide, mut file) = (None, None);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request(format!("Broken multipart body: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (cd.get_name().unwrap_or_default().to_string(), cd.get_filename().map(str::to_string)),
            None => (String::new(), None),
        };
        let too_large = || {
            ApiError::detail(
                ErrorKind::PayloadTooLarge,
                format!("Maximum size of asset is {} MB", MAX_ASSET_BYTES >> 20),
            )
        };
        match (name.as_str(), filename) {
            ("file", Some(filename)) => {
                let bytes = crate::body::read_capped(&mut field, MAX_ASSET_BYTES, state.body_idle, too_large).await?;
                file = Some((filename, bytes));
            }
            ("guide_id", None) => {
                let refused = || ApiError::field("guide_id", "A valid integer is required.");
                let text = crate::body::read_capped(&mut field, 32, state.body_idle, refused).await?;
                let id: i64 =
                    std::str::from_utf8(&text).ok().and_then(|t| t.trim().parse().ok()).ok_or_else(refused)?;
                guide = Some(id);
            }
            _ => while field.next().await.is_some() {},
        }
    }
    let guide = guide.ok_or_else(|| ApiError::field("guide_id", "This field is required."))?;
    let (filename, bytes) = file.ok_or_else(|| ApiError::field("file", "No file was submitted."))?;
    let filename = super::data::base_name(&filename).to_string();
    if filename.is_empty() || filename.len() > 1024 || filename.chars().any(char::is_control) {
        return Err(ApiError::field("file", "The file needs a plain name of at most 1024 characters.").into());
    }
    let content_type = sniff(&bytes).ok_or_else(|| {
        ApiError::field(
            "file",
            "File is not supported as an asset. Supported are image/jpeg, image/png, image/gif, image/webp, application/pdf",
        )
    })?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let key = format!("assets/{uuid}");
    let size = bytes.len() as i64;
    state.blobs.put(&key, bytes.freeze()).await.map_err(super::data::blob_error)?;
    let record = json!({
        "guide_id": guide, "uuid": uuid, "filename": filename, "content_type": content_type, "size": size, "key": key,
    });
    let write =
        TextWrite { caller: Some(documents::caller(&req, auth)), id: String::new(), body_json: record.to_string() };
    match state.task().create_asset(write).await {
        Ok(created) => Ok(documents::document(StatusCode::CREATED, created.into_inner())),
        Err(status) => {
            forget(&state, &[key]).await;
            Err(status.into())
        }
    }
}

/// The file, as it was uploaded.
#[utoipa::path(get, path = "/api/assets/{uuid}", operation_id = "assets_retrieve", tag = "assets",
    responses((status = 200, description = "The file")))]
pub async fn download(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    uuid: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let asked = TextRef { caller: Some(documents::caller(&req, auth)), id: uuid.into_inner() };
    let found = state.task().get_asset(asked).await?.into_inner();
    let stream = state.blobs.get_stream(&found.key).await.map_err(super::data::blob_error)?;
    Ok(HttpResponse::Ok()
        .content_type(found.content_type)
        .insert_header(("Cache-Control", "private, max-age=3600"))
        .streaming(stream.map(|r| r.map_err(|e| actix_web::error::ErrorServiceUnavailable(e.to_string())))))
}

#[utoipa::path(delete, path = "/api/assets/{uuid}", operation_id = "assets_destroy", tag = "assets",
    responses((status = 204)))]
pub async fn remove(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    uuid: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let asked = TextRef { caller: Some(documents::caller(&req, auth)), id: uuid.into_inner() };
    let keys = state.task().delete_asset(asked).await?.into_inner().keys;
    forget(&state, &keys).await;
    Ok(HttpResponse::NoContent().finish())
}
