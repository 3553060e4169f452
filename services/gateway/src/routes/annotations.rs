//! Annotations of jobs and tasks: `GET`, `PUT`, `PATCH ?action=` and `DELETE` on
//! `/api/{jobs,tasks}/{id}/annotations/`. Bodies pass through in parts both ways, so
//! the gateway never holds a whole document: a PUT streams its payload to the task
//! service as it arrives (refused with 413 past `CVAT_MAX_ANNOTATION_BYTES`, and then
//! nothing is saved), and the answer streams back.
//!
//! Annotation files are imported with `POST` (`routes/imports.rs`) and exported as
//! datasets (`routes/exports.rs`); a GET naming a `format` is CVAT 2.x's legacy export of
//! annotations, and a PUT naming one or carrying a file is refused with a 400 saying so.

use super::documents::{self, Query};
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::task::{AnnotationsPart, AnnotationsQuery};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(
        "/api/jobs/{id}/annotations",
        vec![
            on(Method::GET, get_job),
            on(Method::PUT, put_job),
            on(Method::PATCH, patch_job),
            on(Method::DELETE, delete_job),
            on(Method::POST, super::imports::import),
        ],
    ))
    .service(resource(
        "/api/jobs/{id}/annotations/{file_id}",
        vec![on(Method::HEAD, super::data::tus_offset), on(Method::PATCH, super::data::tus_append)],
    ))
    .service(resource(
        "/api/tasks/{id}/annotations/{file_id}",
        vec![on(Method::HEAD, super::data::tus_offset), on(Method::PATCH, super::data::tus_append)],
    ))
    .service(resource(
        "/api/tasks/{id}/annotations",
        vec![
            on(Method::GET, get_task),
            on(Method::PUT, put_task),
            on(Method::PATCH, patch_task),
            on(Method::DELETE, delete_task),
            on(Method::POST, super::imports::import),
        ],
    ));
}

fn query(req: &HttpRequest, auth: Auth, target: &str, id: i64) -> AnnotationsQuery {
    AnnotationsQuery { caller: Some(documents::caller(req, auth)), target: target.to_string(), id }
}

/// Files in and out come with the export service; asking for one here must not be
/// mistaken for a JSON document.
fn refuse_files(req: &HttpRequest, params: &Query) -> HttpResult<()> {
    let multipart =
        req.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/"));
    if params.contains_key("format") || multipart {
        return Err(ApiError::invalid(
            "Annotation files go through POST …/annotations/?format= (import) and …/dataset/export (export); \
             here send or ask for the JSON document.",
        )
        .into());
    }
    Ok(())
}

async fn get(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
    params: Query,
) -> HttpResult<HttpResponse> {
    if params.contains_key("format") {
        return super::exports::legacy(req, auth, &state, id, &params, false).await;
    }
    refuse_files(&req, &params)?;
    let parts = state.task().get_annotations(query(&req, auth, target, id)).await?.into_inner();
    Ok(documents::streamed(StatusCode::OK, parts))
}

async fn delete(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
) -> HttpResult<HttpResponse> {
    state.task().delete_annotations(query(&req, auth, target, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// PUT (`action` "put") or PATCH: the payload goes on in parts while it arrives.
async fn save(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    target: &str,
    id: i64,
    action: String,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let mut first = Some((query(&req, auth, target, id), action));
    let part = move |json| match first.take() {
        Some((query, action)) => AnnotationsPart { query: Some(query), action, json },
        None => AnnotationsPart { json, ..Default::default() },
    };
    let mut task = state.task();
    let answer = crate::body::forward_parts(&req, payload, state.max_annotation_bytes, part, |parts| async move {
        task.save_annotations(parts).await
    })
    .await?;
    Ok(documents::streamed(StatusCode::OK, answer.into_inner()))
}

fn patch_action(params: &Query) -> HttpResult<String> {
    match params.get("action").map(String::as_str) {
        Some(action @ ("create" | "update" | "delete")) => Ok(action.to_string()),
        _ => Err(ApiError::invalid("Please specify a correct 'action' for the request").into()),
    }
}

/// The handlers of one target (job or task) with their OpenAPI operations.
macro_rules! annotation_handlers {
    ($target:literal, $tag:literal, $path:literal, $get:ident, $put:ident, $patch:ident, $delete:ident,
     $get_op:literal, $put_op:literal, $patch_op:literal, $delete_op:literal) => {
        #[utoipa::path(get, path = $path, operation_id = $get_op, tag = $tag,
            responses((status = 200, description = "The annotations", body = cvat_annotations::LabeledData)))]
        pub async fn $get(req: HttpRequest, auth: Auth, state: web::Data<AppState>, id: web::Path<i64>, params: Query) -> HttpResult<HttpResponse> {
            get(req, auth, state, $target, *id, params).await
        }

        #[utoipa::path(put, path = $path, operation_id = $put_op, tag = $tag,
            request_body = cvat_annotations::LabeledData,
            responses((status = 200, description = "The saved annotations with their ids", body = cvat_annotations::LabeledData)))]
        pub async fn $put(req: HttpRequest, auth: Auth, state: web::Data<AppState>, id: web::Path<i64>, params: Query, payload: web::Payload) -> HttpResult<HttpResponse> {
            refuse_files(&req, &params)?;
            save(req, auth, state, $target, *id, "put".into(), payload).await
        }

        #[utoipa::path(patch, path = $path, operation_id = $patch_op, tag = $tag,
            params(("action" = String, Query, description = "create, update or delete")),
            request_body = cvat_annotations::LabeledData,
            responses((status = 200, description = "The created or updated annotations with their ids; a delete echoes its body", body = cvat_annotations::LabeledData)))]
        pub async fn $patch(req: HttpRequest, auth: Auth, state: web::Data<AppState>, id: web::Path<i64>, params: Query, payload: web::Payload) -> HttpResult<HttpResponse> {
            refuse_files(&req, &params)?;
            let action = patch_action(&params)?;
            save(req, auth, state, $target, *id, action, payload).await
        }

        #[utoipa::path(delete, path = $path, operation_id = $delete_op, tag = $tag,
            responses((status = 204, description = "Every annotation removed")))]
        pub async fn $delete(req: HttpRequest, auth: Auth, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResult<HttpResponse> {
            delete(req, auth, state, $target, *id).await
        }
    };
}

annotation_handlers!(
    "job",
    "jobs",
    "/api/jobs/{id}/annotations",
    get_job,
    put_job,
    patch_job,
    delete_job,
    "jobs_retrieve_annotations",
    "jobs_update_annotations",
    "jobs_partial_update_annotations",
    "jobs_destroy_annotations"
);
annotation_handlers!(
    "task",
    "tasks",
    "/api/tasks/{id}/annotations",
    get_task,
    put_task,
    patch_task,
    delete_task,
    "tasks_retrieve_annotations",
    "tasks_update_annotations",
    "tasks_partial_update_annotations",
    "tasks_destroy_annotations"
);
