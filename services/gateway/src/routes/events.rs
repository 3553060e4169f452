//! `/api/events`: the batches CVAT's UI and the SDK send, exports of events as CSV (a
//! background request, or the legacy `GET /api/events` by `query_id`), and the legacy
//! `POST /api/server/logs` and `/api/server/exception`, whose bodies are stored as
//! events (`debug:info` and `send:exception`).

use super::documents::{self, Query};
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::{ApiError, ErrorKind};
use cvat_proto::task::{EventsExport, TextRef, TextWrite};
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/events", vec![on(Method::GET, list), on(Method::POST, create)]))
        .service(resource("/api/events/export", vec![on(Method::POST, export)]))
        .service(resource("/api/server/logs", vec![on(Method::POST, logs)]))
        .service(resource("/api/server/exception", vec![on(Method::POST, exception)]));
}

/// The slug the request names its organization by, if it does (for `org_slug`).
fn org_slug(req: &HttpRequest, params: &Query) -> String {
    req.headers()
        .get("x-organization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| params.get("org").cloned())
        .unwrap_or_default()
}

async fn record(
    req: &HttpRequest,
    auth: Auth,
    state: &AppState,
    slug: String,
    batch: Value,
) -> HttpResult<HttpResponse> {
    let write = TextWrite { caller: Some(documents::caller(req, auth)), id: slug, body_json: batch.to_string() };
    let stored = state.task().record_events(write).await?;
    Ok(documents::document(StatusCode::CREATED, stored.into_inner()))
}

/// A batch of client events (`ClientEventsRequest`); 413 past the body limit or
/// 10,000 events.
#[utoipa::path(post, path = "/api/events", operation_id = "events_create", tag = "events",
    request_body = cvat_models::ClientEventsRequest, responses((status = 201, body = cvat_models::ClientEvents)))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    params: Query,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    record(&req, auth, &state, org_slug(&req, &params), Value::Object(body.0)).await
}

/// The export's filters from the query (`org_id` is also the organization context).
fn filter(params: &Query) -> HttpResult<String> {
    let mut filter = Map::new();
    for name in ["project_id", "task_id", "job_id", "user_id", "org_id"] {
        if let Some(text) = params.get(name) {
            let id: i64 = text.parse().map_err(|_| ApiError::field(name, "A valid integer is required."))?;
            filter.insert(name.to_string(), json!(id));
        }
    }
    for name in ["from", "to"] {
        if let Some(text) = params.get(name) {
            let moment = chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| ApiError::bad_request(format!("Cannot parse '{name}' datetime parameter: {text}")))?;
            filter.insert(name.to_string(), json!(moment.with_timezone(&chrono::Utc)));
        }
    }
    Ok(Value::Object(filter).to_string())
}

async fn start(req: &HttpRequest, auth: Auth, state: &AppState, params: &Query, query_id: &str) -> HttpResult<String> {
    if params.get("location").is_some_and(|l| l != "local") {
        return Err(ApiError::field("location", "Events are exported to this server only (location=local).").into());
    }
    let export = EventsExport {
        caller: Some(documents::caller(req, auth)),
        query_id: query_id.to_string(),
        filter_json: filter(params)?,
        filename: params.get("filename").cloned().unwrap_or_default(),
    };
    Ok(state.task().start_events_export(export).await?.into_inner().rq_id)
}

/// Starts a CSV export of events; follow it with `/api/requests/{rq_id}`.
#[utoipa::path(post, path = "/api/events/export", operation_id = "events_create_export", tag = "events",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("project_id" = Option<i64>, Query),
           ("task_id" = Option<i64>, Query), ("job_id" = Option<i64>, Query), ("user_id" = Option<i64>, Query),
           ("filename" = Option<String>, Query), ("location" = Option<String>, Query)),
    responses((status = 202, body = super::exports::RqId)))]
pub async fn export(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    params: Query,
) -> HttpResult<HttpResponse> {
    let query_id = uuid::Uuid::new_v4().to_string();
    let rq_id = start(&req, auth, &state, &params, &query_id).await?;
    Ok(HttpResponse::Accepted().json(json!({ "rq_id": rq_id })))
}

/// CVAT's older export: a first GET starts it (202 with `query_id`); GETs with the
/// `query_id` answer 202 while it runs, 201 when done, and the CSV with
/// `action=download`.
#[utoipa::path(get, path = "/api/events", operation_id = "events_list", tag = "events",
    params(("query_id" = Option<String>, Query), ("action" = Option<String>, Query, description = "download"),
           ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("filename" = Option<String>, Query)),
    responses((status = 200, description = "The CSV"), (status = 201, description = "Finished"),
              (status = 202, description = "Started or running")))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let download = match params.get("action").map(String::as_str) {
        None => false,
        Some("download") => true,
        Some(_) => return Err(ApiError::bad_request("Unexpected action specified for the request").into()),
    };
    let running = |query_id: &str| HttpResponse::Accepted().json(json!({ "query_id": query_id }));
    let Some(query_id) = params.get("query_id").cloned() else {
        let query_id = uuid::Uuid::new_v4().to_string();
        start(&req, auth, &state, &params, &query_id).await?;
        return Ok(running(&query_id));
    };
    let asked = TextRef { caller: Some(documents::caller(&req, auth.clone())), id: query_id.clone() };
    let status = match state.task().get_events_export(asked.clone()).await {
        Ok(found) => found.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => {
            start(&req, auth, &state, &params, &query_id).await?;
            return Ok(running(&query_id));
        }
        Err(status) => return Err(status.into()),
    };
    let status: Value = serde_json::from_str(&status.json).map_err(|_| ApiError::internal())?;
    match status["status"].as_str() {
        Some("finished") if download => {
            let located = state.task().locate_events_export(asked).await?.into_inner();
            super::exports::attachment(&state, located, "text/csv").await
        }
        Some("finished") => Ok(HttpResponse::Created().finish()),
        Some("failed") => Err(ApiError::detail(
            ErrorKind::Internal,
            status["message"].as_str().unwrap_or("The export failed").to_string(),
        )
        .into()),
        _ => Ok(running(&query_id)),
    }
}

/// A JSON body of any kind (the legacy endpoints take lists and objects).
async fn any_json(req: &HttpRequest, payload: web::Payload, state: &AppState) -> HttpResult<Value> {
    let limit = state.max_json_bytes;
    let refused =
        || ApiError::detail(ErrorKind::PayloadTooLarge, format!("Request body is larger than {limit} bytes."));
    let bytes = crate::body::read_capped(payload, limit, crate::body::idle_of(req), refused).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}")).into())
}

/// One stored event per record: `scope`, the record as its payload, and the ids it names.
fn legacy_batch(scope: &str, records: Vec<Value>) -> Value {
    let now = chrono::Utc::now();
    let events: Vec<Value> = records
        .into_iter()
        .map(|record| {
            let id = |name: &str| record.get(name).and_then(Value::as_i64);
            json!({
                "scope": scope,
                "timestamp": now,
                "task_id": id("task_id"),
                "job_id": id("job_id"),
                "project_id": id("proj_id").or(id("project_id")),
                "payload": record.to_string(),
            })
        })
        .collect();
    json!({ "timestamp": now, "events": events })
}

/// CVAT's older client logs: a list of log records (or one), each stored as a
/// `debug:info` event.
#[utoipa::path(post, path = "/api/server/logs", operation_id = "server_create_logs", tag = "server",
    responses((status = 201, body = cvat_models::ClientEvents)))]
pub async fn logs(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    params: Query,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let records = match any_json(&req, payload, &state).await? {
        Value::Array(records) => records,
        record @ Value::Object(_) => vec![record],
        _ => return Err(ApiError::bad_request("Expected a log record or a list of them.").into()),
    };
    record(&req, auth, &state, org_slug(&req, &params), legacy_batch("debug:info", records)).await
}

/// CVAT's older exception report, stored as a `send:exception` event.
#[utoipa::path(post, path = "/api/server/exception", operation_id = "server_create_exception", tag = "server",
    responses((status = 201, body = cvat_models::ClientEvents)))]
pub async fn exception(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    params: Query,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let report = any_json(&req, payload, &state).await?;
    if !report.is_object() {
        return Err(ApiError::bad_request("Expected an exception report (an object).").into());
    }
    record(&req, auth, &state, org_slug(&req, &params), legacy_batch("send:exception", vec![report])).await
}
