//! Functions and their agents: `/api/functions` (native functions, as `cvat-cli function
//! create-native` and `delete` call it), the agent protocol of `cvat-cli function
//! run-agent` under `/api/functions/queues/function:{id}/…`, and the lambda view of the
//! same functions and requests (`/api/lambda/…`, which CVAT's UI and the generated client
//! use). The task service keeps the functions and the queue; the gateway turns a queue
//! watch into Server-Sent Events.

use super::documents::{self, Query};
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_models::parse_queue;
use cvat_proto::task::{AgentCall, TextRef, TextWrite};
use serde_json::Value;
use std::time::Duration;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/functions", vec![on(Method::GET, list), on(Method::POST, create)]))
        .service(resource("/api/functions/{id}", vec![on(Method::GET, retrieve), on(Method::DELETE, destroy)]))
        .service(resource("/api/functions/queues/{queue}/watch", vec![on(Method::GET, watch)]))
        .service(resource("/api/functions/queues/{queue}/requests/acquire", vec![on(Method::POST, acquire)]))
        .service(resource("/api/functions/queues/{queue}/requests/{request}/update", vec![on(Method::POST, update)]))
        .service(resource(
            "/api/functions/queues/{queue}/requests/{request}/complete",
            vec![on(Method::POST, complete)],
        ))
        .service(resource("/api/functions/queues/{queue}/requests/{request}/fail", vec![on(Method::POST, fail)]))
        .service(resource(
            "/api/lambda/functions",
            vec![on(Method::GET, lambda_functions), on(Method::HEAD, lambda_functions_head)],
        ))
        .service(resource(
            "/api/lambda/functions/{func_id}",
            vec![on(Method::GET, lambda_function), on(Method::POST, call_function)],
        ))
        .service(resource(
            "/api/lambda/requests",
            vec![on(Method::GET, lambda_requests), on(Method::POST, create_request)],
        ))
        .service(resource(
            "/api/lambda/requests/{id}",
            vec![on(Method::GET, lambda_request), on(Method::DELETE, cancel_request)],
        ));
}

#[utoipa::path(get, path = "/api/functions", operation_id = "functions_list", tag = "functions",
    responses((status = 200, description = "A page of functions (FunctionRead)")))]
pub async fn list(req: HttpRequest, auth: Auth, params: Query) -> HttpResult<HttpResponse> {
    documents::list_of(&req, auth, &params, &[], |mut task, r| async move { task.list_functions(r).await }).await
}

#[utoipa::path(post, path = "/api/functions", operation_id = "functions_create", tag = "functions",
    request_body = cvat_models::FunctionWriteRequest, responses((status = 201, body = cvat_models::FunctionRead)))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    let created = state.task().create_function(documents::write(&req, auth, 0, body.0)).await?;
    Ok(documents::document(StatusCode::CREATED, created.into_inner()))
}

#[utoipa::path(get, path = "/api/functions/{id}", operation_id = "functions_retrieve", tag = "functions",
    responses((status = 200, body = cvat_models::FunctionRead)))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let found = state.task().get_function(documents::object(&req, auth, *id)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

#[utoipa::path(delete, path = "/api/functions/{id}", operation_id = "functions_destroy", tag = "functions",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    state.task().delete_function(documents::object(&req, auth, *id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn agent_call(req: &HttpRequest, auth: Auth, queue: &str, request: &str, json: Vec<u8>) -> HttpResult<AgentCall> {
    Ok(AgentCall {
        caller: Some(documents::caller(req, auth)),
        function_id: parse_queue(queue)?,
        request_id: request.to_string(),
        json,
    })
}

/// The reconnection delay the event stream gives agents, in milliseconds.
const RECONNECT_MS: u64 = 5_000;
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEPALIVE: Duration = Duration::from_secs(20);
/// A stream ends after this long (the agent polls, then reconnects): no connection is
/// held for ever, and one that lost its notices meanwhile starts afresh.
const STREAM_LIFETIME: Duration = Duration::from_secs(600);

/// Server-Sent Events: `event: newrequest` with `{"request_category": …}` whenever a
/// request is queued for the function. No blank line follows `retry:` or comments, so
/// the agent's parser sees no empty event.
#[utoipa::path(get, path = "/api/functions/queues/{queue}/watch", operation_id = "functions_retrieve_queue_watch",
    tag = "functions", responses((status = 200, description = "text/event-stream")))]
pub async fn watch(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    queue: web::Path<String>,
) -> HttpResult<HttpResponse> {
    use futures_util::StreamExt;
    let call = agent_call(&req, auth, &queue, "", Vec::new())?;
    let events = state.task().watch_function_queue(call).await?.into_inner();
    let events = events.map(|event| match event {
        Ok(event) => {
            Some(format!("event: newrequest\ndata: {}\n\n", serde_json::json!({ "request_category": event.category })))
        }
        Err(status) => {
            tracing::info!(error = %status, "queue watch ended by the task service");
            None
        }
    });
    let keepalive = ticks(KEEPALIVE).map(|_| Some(": keepalive\n".to_string()));
    let body = futures_util::stream::select(events, keepalive)
        .take_while(|item| std::future::ready(item.is_some()))
        .filter_map(std::future::ready)
        .take_until(tokio::time::sleep(STREAM_LIFETIME));
    let body = futures_util::stream::once(std::future::ready(format!("retry: {RECONNECT_MS}\n")))
        .chain(body)
        .map(|text| Ok::<_, actix_web::Error>(bytes::Bytes::from(text)));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// Ticks every `period`, the first after one period.
fn ticks(period: Duration) -> impl futures_util::Stream<Item = ()> {
    futures_util::stream::unfold(
        tokio::time::interval_at(tokio::time::Instant::now() + period, period),
        |mut i| async move {
            i.tick().await;
            Some(((), i))
        },
    )
}

/// An agent's JSON body, as bytes (the task service parses and checks it).
async fn small_body(req: &HttpRequest, payload: web::Payload) -> HttpResult<Vec<u8>> {
    let body = crate::body::read_json(req, payload).await?;
    Ok(Value::Object(body).to_string().into_bytes())
}

#[utoipa::path(post, path = "/api/functions/queues/{queue}/requests/acquire",
    operation_id = "functions_create_queue_requests_acquire", tag = "functions",
    request_body = cvat_models::AgentAcquireRequest, responses((status = 200, body = cvat_models::AgentAcquireResponse)))]
pub async fn acquire(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    queue: web::Path<String>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let json = small_body(&req, payload).await?;
    let answer = state.task().acquire_function_request(agent_call(&req, auth, &queue, "", json)?).await?;
    Ok(documents::document(StatusCode::OK, answer.into_inner()))
}

#[utoipa::path(post, path = "/api/functions/queues/{queue}/requests/{request}/update",
    operation_id = "functions_create_queue_requests_update", tag = "functions",
    request_body = cvat_models::AgentUpdateRequest, responses((status = 200)))]
pub async fn update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let mut task = state.task();
    report(&req, auth, &path, payload, |call| async move { task.update_function_request(call).await }).await
}

#[utoipa::path(post, path = "/api/functions/queues/{queue}/requests/{request}/fail",
    operation_id = "functions_create_queue_requests_fail", tag = "functions",
    request_body = cvat_models::AgentFailRequest, responses((status = 200)))]
pub async fn fail(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let mut task = state.task();
    report(&req, auth, &path, payload, |call| async move { task.fail_function_request(call).await }).await
}

/// An agent's report on a request it holds (`update`, `fail`): a small JSON body.
async fn report<Fut>(
    req: &HttpRequest,
    auth: Auth,
    path: &(String, String),
    payload: web::Payload,
    send: impl FnOnce(AgentCall) -> Fut,
) -> HttpResult<HttpResponse>
where
    Fut: std::future::Future<Output = Result<tonic::Response<cvat_proto::common::Empty>, tonic::Status>>,
{
    let json = small_body(req, payload).await?;
    send(agent_call(req, auth, &path.0, &path.1, json)?).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

/// The result goes on in parts while it arrives (a task's annotations can be large),
/// limited as an annotation save is.
#[utoipa::path(post, path = "/api/functions/queues/{queue}/requests/{request}/complete",
    operation_id = "functions_create_queue_requests_complete", tag = "functions",
    request_body = cvat_models::AgentCompleteRequest, responses((status = 200)))]
pub async fn complete(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    let mut first = Some(agent_call(&req, auth, &path.0, &path.1, Vec::new())?);
    let part = move |json| match first.take() {
        Some(call) => AgentCall { json, ..call },
        None => AgentCall { json, ..Default::default() },
    };
    let mut task = state.task();
    crate::body::forward_parts(&req, payload, state.max_annotation_bytes, part, |parts| async move {
        task.complete_function_request(parts).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

fn text_ref(req: &HttpRequest, auth: Auth, id: &str) -> TextRef {
    TextRef { caller: Some(documents::caller(req, auth)), id: id.to_string() }
}

#[utoipa::path(get, path = "/api/lambda/functions", operation_id = "lambda_list_functions", tag = "lambda",
    responses((status = 200, body = [cvat_models::LambdaFunction])))]
pub async fn lambda_functions(req: HttpRequest, auth: Auth, state: web::Data<AppState>) -> HttpResult<HttpResponse> {
    let found = state.task().list_lambda_functions(documents::caller(&req, auth)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

/// What CVAT's UI asks before it shows AI tools: 503 means "no functions" (as CVAT
/// answers without serverless functions), 200 that there are some.
pub async fn lambda_functions_head(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
) -> HttpResult<HttpResponse> {
    let found = state.task().list_lambda_functions(documents::caller(&req, auth)).await?.into_inner();
    let none = serde_json::from_str::<Vec<Value>>(&found.json).map_or(true, |list| list.is_empty());
    Ok(if none { HttpResponse::ServiceUnavailable().finish() } else { HttpResponse::Ok().finish() })
}

#[utoipa::path(get, path = "/api/lambda/functions/{func_id}", operation_id = "lambda_retrieve_functions",
    tag = "lambda", responses((status = 200, body = cvat_models::LambdaFunction)))]
pub async fn lambda_function(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let found = state.task().get_lambda_function(text_ref(&req, auth, &id)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

/// An online call on one frame (`task` or `job`, `frame`, and the kind's inputs).
#[utoipa::path(post, path = "/api/lambda/functions/{func_id}", operation_id = "lambda_create_functions",
    tag = "lambda", responses((status = 200, description = "The function's answer")))]
pub async fn call_function(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    let call = TextWrite {
        caller: Some(documents::caller(&req, auth)),
        id: id.into_inner(),
        body_json: Value::Object(body.0).to_string(),
    };
    let answer = state.task().call_lambda_function(call).await?;
    Ok(documents::document(StatusCode::OK, answer.into_inner()))
}

#[utoipa::path(get, path = "/api/lambda/requests", operation_id = "lambda_list_requests", tag = "lambda",
    responses((status = 200, body = [cvat_models::FunctionCall])))]
pub async fn lambda_requests(req: HttpRequest, auth: Auth, state: web::Data<AppState>) -> HttpResult<HttpResponse> {
    let found = state.task().list_lambda_requests(documents::caller(&req, auth)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

#[utoipa::path(post, path = "/api/lambda/requests", operation_id = "lambda_create_requests", tag = "lambda",
    request_body = cvat_models::FunctionCallRequest, responses((status = 200, body = cvat_models::FunctionCall)))]
pub async fn create_request(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: crate::body::JsonBody,
) -> HttpResult<HttpResponse> {
    let created = state.task().create_lambda_request(documents::write(&req, auth, 0, body.0)).await?;
    Ok(documents::document(StatusCode::OK, created.into_inner()))
}

#[utoipa::path(get, path = "/api/lambda/requests/{id}", operation_id = "lambda_retrieve_requests", tag = "lambda",
    responses((status = 200, body = cvat_models::FunctionCall)))]
pub async fn lambda_request(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let found = state.task().get_lambda_request(text_ref(&req, auth, &id)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

#[utoipa::path(delete, path = "/api/lambda/requests/{id}", operation_id = "lambda_delete_requests", tag = "lambda",
    responses((status = 204)))]
pub async fn cancel_request(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResult<HttpResponse> {
    state.task().cancel_lambda_request(text_ref(&req, auth, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
