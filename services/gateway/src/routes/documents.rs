//! What the projects, tasks, jobs and labels endpoints share: the caller as the task
//! service needs it, and responses made of the JSON documents it renders (passed
//! through unparsed).

use crate::error::HttpResult;
use crate::identity::Auth;
use crate::listing::{self, Page};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use cvat_proto::common::ListQuery;
use cvat_proto::task::{Caller, Document, DocumentPage, ListRequest, ObjectRef, WriteRequest};
use serde_json::Value;
use std::collections::HashMap;

pub type Query = actix_web::web::Query<HashMap<String, String>>;

pub fn caller(req: &HttpRequest, auth: Auth) -> Caller {
    Caller { principal: Some(auth.0), org: Some(crate::org::of_request(req)), base_url: listing::base_url(req) }
}

pub fn object(req: &HttpRequest, auth: Auth, id: i64) -> ObjectRef {
    ObjectRef { caller: Some(caller(req, auth)), id }
}

pub fn write(req: &HttpRequest, auth: Auth, id: i64, body: serde_json::Map<String, Value>) -> WriteRequest {
    WriteRequest {
        caller: Some(caller(req, auth)),
        id,
        body_json: Value::Object(body).to_string(),
        ..Default::default()
    }
}

/// A list request; `extra` adds equality filters a path implies (`/api/tasks/{id}/jobs`).
fn list(req: &HttpRequest, auth: Auth, params: &Query, extra: &[(&str, i64)]) -> HttpResult<ListRequest> {
    let mut query = listing::query_all(params)?;
    for (name, value) in extra {
        query.equals.insert(name.to_string(), value.to_string());
    }
    Ok(ListRequest { caller: Some(caller(req, auth)), query: Some(query) })
}

pub fn document(status: StatusCode, document: Document) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(document.json)
}

/// A document the task service sends in parts, passed on as they arrive.
pub fn streamed(status: StatusCode, parts: tonic::Streaming<cvat_proto::task::DocumentPart>) -> HttpResponse {
    use futures_util::StreamExt;
    let body = parts.map(|part| match part {
        Ok(part) => Ok(bytes::Bytes::from(part.json)),
        Err(status) => {
            tracing::warn!(error = %status, "document stream broken");
            Err(actix_web::error::ErrorServiceUnavailable("the document stream broke"))
        }
    });
    HttpResponse::build(status).content_type("application/json").streaming(body)
}

/// The `{count, next, previous, results}` page around already-rendered documents.
pub fn page(req: &HttpRequest, query: &ListQuery, page: DocumentPage) -> HttpResponse {
    let links = Page::<()>::new(req, query, page.count, Vec::new());
    let mut body = String::with_capacity(64 + page.results.iter().map(|r| r.len() + 1).sum::<usize>());
    body.push_str(&format!(
        "{{\"count\":{},\"next\":{},\"previous\":{},\"results\":[",
        page.count,
        Value::from(links.next),
        Value::from(links.previous)
    ));
    body.push_str(&page.results.join(","));
    body.push_str("]}");
    HttpResponse::Ok().content_type("application/json").body(body)
}

/// The handlers of a resource the task service renders, with their OpenAPI operations
/// and a `configure` that routes them: list, retrieve, partial update and destroy, and
/// optionally create, and with it a legacy list of children (`/api/tasks/{id}/jobs`). The
/// idents name the task-service calls.
macro_rules! document_handlers {
    (tag: $tag:literal, collection: $collection:literal, item: $item:literal, patch: $patch:ty,
     read: $read:ty, page: $page:ty,
     list: $list:ident, get: $get:ident, update: $update:ident, delete: $delete:ident) => {
        crate::routes::documents::document_handlers!(@common $tag, $collection, $item, $patch, $read, $page, $list, $get, $update, $delete);

        pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            configure_documents(cfg, None, Vec::new());
        }
    };
    (tag: $tag:literal, collection: $collection:literal, item: $item:literal, patch: $patch:ty,
     read: $read:ty, page: $page:ty,
     list: $list:ident, get: $get:ident, update: $update:ident, delete: $delete:ident,
     create: $create:ident($create_body:ty)) => {
        crate::routes::documents::document_handlers!(@common $tag, $collection, $item, $patch, $read, $page, $list, $get, $update, $delete);
        crate::routes::documents::document_handlers!(@create $tag, $collection, $read, $create, $create_body);

        pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            configure_documents(cfg, Some(crate::routes::on(actix_web::http::Method::POST, create)), Vec::new());
        }
    };
    (tag: $tag:literal, collection: $collection:literal, item: $item:literal, patch: $patch:ty,
     read: $read:ty, page: $page:ty,
     list: $list:ident, get: $get:ident, update: $update:ident, delete: $delete:ident,
     create: $create:ident($create_body:ty), children: $children:literal => $child_list:ident by $child_key:literal) => {
        crate::routes::documents::document_handlers!(@common $tag, $collection, $item, $patch, $read, $page, $list, $get, $update, $delete);
        crate::routes::documents::document_handlers!(@create $tag, $collection, $read, $create, $create_body);

        pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            configure_documents(cfg, Some(crate::routes::on(actix_web::http::Method::POST, create)), Vec::new());
            cfg.service(crate::routes::resource($children, vec![crate::routes::on(actix_web::http::Method::GET, list_children)]));
        }

        /// The legacy list of children, after checking the parent is visible.
        pub async fn list_children(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            id: actix_web::web::Path<i64>,
            params: crate::routes::documents::Query,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            state.task().$get(crate::routes::documents::object(&req, auth.clone(), *id)).await?;
            crate::routes::documents::list_of(&req, auth, &params, &[($child_key, *id)], |mut task, r| async move {
                task.$child_list(r).await
            })
            .await
        }
    };
    (tag: $tag:literal, collection: $collection:literal, item: $item:literal, patch: $patch:ty,
     read: $read:ty, page: $page:ty,
     list: $list:ident, get: $get:ident, update: $update:ident, delete: $delete:ident,
     create: $create:ident($create_body:ty), replace: $replace:ident) => {
        crate::routes::documents::document_handlers!(@common $tag, $collection, $item, $patch, $read, $page, $list, $get, $update, $delete);
        crate::routes::documents::document_handlers!(@create $tag, $collection, $read, $create, $create_body);

        /// PUT: the whole write model.
        #[utoipa::path(put, path = $item, request_body = $create_body, operation_id = concat!($tag, "_update"),
            tag = $tag, responses((status = 200, description = "The replaced document", body = $read)))]
        pub async fn update(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            id: actix_web::web::Path<i64>,
            body: crate::body::JsonBody,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            let replaced = state.task().$replace(crate::routes::documents::write(&req, auth, *id, body.0)).await?;
            Ok(crate::routes::documents::document(actix_web::http::StatusCode::OK, replaced.into_inner()))
        }

        pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            use actix_web::http::Method;
            configure_documents(cfg, Some(crate::routes::on(Method::POST, create)), vec![crate::routes::on(Method::PUT, update)]);
        }
    };
    (@create $tag:literal, $collection:literal, $read:ty, $create:ident, $create_body:ty) => {
        #[utoipa::path(post, path = $collection, request_body = $create_body, operation_id = concat!($tag, "_create"),
            tag = $tag, responses((status = 201, description = "The new document", body = $read)))]
        pub async fn create(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            body: crate::body::JsonBody,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            let created = state.task().$create(crate::routes::documents::write(&req, auth, 0, body.0)).await?;
            Ok(crate::routes::documents::document(actix_web::http::StatusCode::CREATED, created.into_inner()))
        }
    };
    (@common $tag:literal, $collection:literal, $item:literal, $patch:ty, $read:ty, $page:ty, $list:ident,
     $get:ident, $update:ident, $delete:ident) => {
        #[utoipa::path(get, path = $collection, operation_id = concat!($tag, "_list"), tag = $tag,
                                    responses((status = 200, description = "A page of documents", body = $page)))]
        pub async fn list(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            params: crate::routes::documents::Query,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            crate::routes::documents::list_of(
                &req,
                auth,
                &params,
                &[],
                |mut task, r| async move { task.$list(r).await },
            )
            .await
        }

        #[utoipa::path(get, path = $item, operation_id = concat!($tag, "_retrieve"), tag = $tag,
                                    responses((status = 200, description = "The document", body = $read)))]
        pub async fn retrieve(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            id: actix_web::web::Path<i64>,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            let found = state.task().$get(crate::routes::documents::object(&req, auth, *id)).await?;
            Ok(crate::routes::documents::document(actix_web::http::StatusCode::OK, found.into_inner()))
        }

        #[utoipa::path(patch, path = $item, request_body = $patch, operation_id = concat!($tag, "_partial_update"),
                                    tag = $tag, responses((status = 200, description = "The updated document", body = $read)))]
        pub async fn partial_update(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            id: actix_web::web::Path<i64>,
            body: crate::body::JsonBody,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            let updated = state.task().$update(crate::routes::documents::write(&req, auth, *id, body.0)).await?;
            Ok(crate::routes::documents::document(actix_web::http::StatusCode::OK, updated.into_inner()))
        }

        #[utoipa::path(delete, path = $item, operation_id = concat!($tag, "_destroy"), tag = $tag,
                                    responses((status = 204)))]
        pub async fn destroy(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            id: actix_web::web::Path<i64>,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            state.task().$delete(crate::routes::documents::object(&req, auth, *id)).await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }

        /// Routes of the collection and of one item (`more`: other methods of an item).
        fn configure_documents(
            cfg: &mut actix_web::web::ServiceConfig,
            create: Option<(actix_web::http::Method, actix_web::Route)>,
            more: Vec<(actix_web::http::Method, actix_web::Route)>,
        ) {
            use actix_web::http::Method;
            use crate::routes::on;
            let mut collection = vec![on(Method::GET, list)];
            collection.extend(create);
            let mut item = vec![on(Method::GET, retrieve), on(Method::PATCH, partial_update), on(Method::DELETE, destroy)];
            item.extend(more);
            cfg.service(crate::routes::resource($collection, collection))
                .service(crate::routes::resource($item, item));
        }
    };
}

pub(crate) use document_handlers;

/// Runs a list call and answers its page. `extra` adds equality filters a path implies.
pub async fn list_of<F, Fut>(
    req: &HttpRequest,
    auth: Auth,
    params: &Query,
    extra: &[(&str, i64)],
    call: F,
) -> HttpResult<HttpResponse>
where
    F: FnOnce(crate::state::TaskApi, ListRequest) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<DocumentPage>, tonic::Status>>,
{
    let request = list(req, auth, params, extra)?;
    let query = request.query.clone().unwrap_or_default();
    let state = req.app_data::<actix_web::web::Data<crate::state::AppState>>().expect("state is configured");
    let documents = call(state.task(), request).await?.into_inner();
    Ok(page(req, &query, documents))
}
