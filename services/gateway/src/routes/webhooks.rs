//! `/api/webhooks`: webhooks of organizations and projects, the events they may listen
//! to, pings and deliveries. The task service keeps them and queues deliveries; the
//! export service's webhook consumers post them.

use super::documents::{self, document_handlers, Query};
use super::{on, resource};
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_models::{EventGroup, WebhookEvents, WebhooksEvent};
use cvat_proto::task::DeliveryRef;

document_handlers! {
    tag: "webhooks", collection: "/api/webhooks", item: "/api/webhooks/{id}", patch: cvat_models::PatchedWebhookWriteRequest,
    read: cvat_models::WebhookRead, page: cvat_models::PaginatedWebhookReadList,
    list: list_webhooks, get: get_webhook, update: update_webhook, delete: delete_webhook,
    create: create_webhook(cvat_models::WebhookWriteRequest), replace: replace_webhook
}

/// The events catalogue: registered before the webhooks, whose `{id}` it is not.
pub fn configure_catalogue(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/webhooks/events", vec![on(Method::GET, events)]));
}

/// A webhook's ping and deliveries.
pub fn configure_deliveries(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/webhooks/{id}/ping", vec![on(Method::POST, ping)]))
        .service(resource("/api/webhooks/{id}/deliveries", vec![on(Method::GET, deliveries)]))
        .service(resource("/api/webhooks/{id}/deliveries/{delivery_id}", vec![on(Method::GET, delivery)]))
        .service(resource(
            "/api/webhooks/{id}/deliveries/{delivery_id}/redelivery",
            vec![on(Method::POST, redelivery)],
        ));
}

/// The events a webhook of `type` (all, organization, project or server) may listen to.
#[utoipa::path(get, path = "/api/webhooks/events", operation_id = "webhooks_retrieve_events", tag = "webhooks",
    params(("type" = Option<String>, Query, description = "all, organization, project or server")),
    responses((status = 200, body = WebhookEvents)))]
pub async fn events(_: Auth, params: Query) -> HttpResult<HttpResponse> {
    let kind = params.get("type").map_or("all", String::as_str);
    if !["all", "organization", "project", "server"].contains(&kind) {
        return Err(ApiError::field("type", format!("\"{kind}\" is not a valid choice.")).into());
    }
    let events = cvat_models::webhook_events(kind)
        .into_iter()
        .map(|key| {
            let resource = key.split(':').nth(1).unwrap_or_default();
            let mut display_name = resource.to_string();
            if let Some(first) = display_name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            WebhooksEvent { key, group: EventGroup { display_name } }
        })
        .collect();
    Ok(HttpResponse::Ok().json(WebhookEvents { webhook_type: kind.to_string(), events }))
}

/// Queues a `ping` delivery and answers it (its status shows once it is sent).
#[utoipa::path(post, path = "/api/webhooks/{id}/ping", operation_id = "webhooks_create_ping", tag = "webhooks",
    responses((status = 200, body = cvat_models::WebhookDeliveryRead)))]
pub async fn ping(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let delivery = state.task().ping_webhook(documents::object(&req, auth, *id)).await?;
    Ok(documents::document(StatusCode::OK, delivery.into_inner()))
}

#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", operation_id = "webhooks_list_deliveries",
    tag = "webhooks", responses((status = 200, description = "A page of deliveries",
                                 body = cvat_models::PaginatedWebhookDeliveryReadList)))]
pub async fn deliveries(req: HttpRequest, auth: Auth, id: web::Path<i64>, params: Query) -> HttpResult<HttpResponse> {
    documents::list_of(&req, auth, &params, &[("webhook_id", *id)], |mut task, r| async move {
        task.list_webhook_deliveries(r).await
    })
    .await
}

fn delivery_ref(req: &HttpRequest, auth: Auth, path: (i64, i64)) -> DeliveryRef {
    DeliveryRef { caller: Some(documents::caller(req, auth)), webhook_id: path.0, id: path.1 }
}

#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries/{delivery_id}",
    operation_id = "webhooks_retrieve_deliveries", tag = "webhooks",
    responses((status = 200, body = cvat_models::WebhookDeliveryRead)))]
pub async fn delivery(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> HttpResult<HttpResponse> {
    let found = state.task().get_webhook_delivery(delivery_ref(&req, auth, *path)).await?;
    Ok(documents::document(StatusCode::OK, found.into_inner()))
}

#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/redelivery",
    operation_id = "webhooks_create_deliveries_redelivery", tag = "webhooks", responses((status = 200)))]
pub async fn redelivery(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> HttpResult<HttpResponse> {
    state.task().redeliver_webhook(delivery_ref(&req, auth, *path)).await?;
    Ok(HttpResponse::Ok().finish())
}
