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
    WriteRequest { caller: Some(caller(req, auth)), id, body_json: Value::Object(body).to_string() }
}

/// A list request; `extra` adds equality filters a path implies (`/api/tasks/{id}/jobs`).
pub fn list(req: &HttpRequest, auth: Auth, params: &Query, extra: &[(&str, i64)]) -> HttpResult<ListRequest> {
    let mut query = listing::query_all(params)?;
    for (name, value) in extra {
        query.equals.insert(name.to_string(), value.to_string());
    }
    Ok(ListRequest { caller: Some(caller(req, auth)), query: Some(query) })
}

pub fn document(status: StatusCode, document: Document) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(document.json)
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
